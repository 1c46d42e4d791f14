// Parsers of lockdep's /proc files: /proc/lockdep (every lock class with its direct
// dependencies: "-> [key] name" lines) and /proc/lockdep_stats (counters against their limits).
//
// /proc/lockdep is a class graph: an edge A -> B means B was taken while A was held. lockdep
// never adds the edge that closes a cycle (it reports instead), so a dump from a kernel is
// normally acyclic; a cycle here means the dump was edited, merged or came from a kernel whose
// lockdep had already been switched off. find_cycles reports them all the same.
//
// Classes are named as lockdep prints them ("&rq->__lock", "&x->wait#2", "cpu_hotplug_lock/1"):
// the key address is shared by the subclasses of one key, so the printed name identifies a
// class, the key does not. Malformed lines become error diagnostics naming their line; the rest
// is still parsed. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace lockhound::sys {

struct LockdepClass {
  size_t line = 0;
  std::string key;                  // "ffffffff81abe100" (hashed unless no_hash_pointers)
  std::string name;                 // "console_lock"
  std::optional<uint64_t> ops;      // OPS: (CONFIG_DEBUG_LOCKDEP)
  std::optional<uint64_t> forward;  // FD: forward dependencies, transitive
  std::optional<uint64_t> backward; // BD: backward dependencies, transitive
  std::string usage;                // "+.+." (hardirq W R, softirq W R): . + - ?
  struct Dep {
    size_t line = 0;
    std::string key;
    std::string name;
  };
  std::vector<Dep> after;           // direct dependencies: classes taken while this one is held
};

struct LockdepDump {
  std::vector<LockdepClass> classes;
  std::vector<Diagnostic> diagnostics;
  size_t edges() const;
};

LockdepDump parse_lockdep(std::string_view text, std::string_view file = "/proc/lockdep");
bool looks_like_lockdep(std::string_view text);

// Elementary cycles of the dependency graph, each as the class names in order (the last one
// depends back on the first), each once, starting from its smallest name. `limit` bounds the
// number reported (the count of cycles of a dense graph can be exponential).
std::vector<std::vector<std::string>> find_cycles(const LockdepDump& dump, size_t limit = 1000);

// /proc/lockdep_stats: " name:  value" or " name:  value [max: limit]".
struct LockdepStat {
  size_t line = 0;
  std::string name;
  uint64_t value = 0;
  std::optional<uint64_t> max;
};

struct LockdepStats {
  std::vector<LockdepStat> stats;
  std::vector<Diagnostic> diagnostics;
  const LockdepStat* find(std::string_view name) const;
};

LockdepStats parse_lockdep_stats(std::string_view text, std::string_view file = "/proc/lockdep_stats");
bool looks_like_lockdep_stats(std::string_view text);

}  // namespace lockhound::sys
