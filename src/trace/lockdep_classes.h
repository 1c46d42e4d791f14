// /proc/lockdep's class list, read for the subclasses lockdep registered.
//
// A lock trace (lock_acquire events) names a lock's class but not the subclass it was taken
// with, so two locks of one class nested look the same whether the code said so
// (spin_lock_nested, mutex_lock_nested: subclass 1 or more) or not (lockdep's recursive locking).
// The same boot's /proc/lockdep lists every class lockdep registered, a subclass as its own
// entry: "&pool->lock" and "&pool->lock/1"; several keys of one name as "&x->wait", "&x->wait#2".
// No trace-free part of lockhound needs more than the names.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace lockhound::trace {

struct LockdepClasses {
  // Class name as a trace event prints it (no "#N" version, no "/N" subclass) -> the subclasses
  // registered for it, 0 included when the plain class was.
  std::map<std::string, std::set<int>, std::less<>> subclasses;
  size_t entries = 0;  // class lines read

  bool knows(std::string_view name) const { return subclasses.find(name) != subclasses.end(); }
  // A subclass above 0 was registered for the class: its nesting is annotated somewhere.
  bool nests(std::string_view name) const {
    auto it = subclasses.find(name);
    return it != subclasses.end() && !it->second.empty() && *it->second.rbegin() > 0;
  }
};

// Reads /proc/lockdep text (the "all lock classes:" list with its " -> [addr] name" lines).
// Lines it cannot read are reported in `diags` (file, line, what was expected) and skipped.
// Returns false when no class line was found at all (not a /proc/lockdep file).
bool parse_lockdep_classes(std::string_view text, const std::string& input_name, LockdepClasses& out,
                           std::vector<Diagnostic>& diags, size_t max_diagnostics = 50);

// "&pool->lock/1" -> ("&pool->lock", 1); "&x->wait#2" -> ("&x->wait", 0); "a#3/2" -> ("a", 2).
void split_class_name(std::string_view full, std::string& base, int& subclass);

}  // namespace lockhound::trace
