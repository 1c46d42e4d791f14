// The class table, lock instances (one per lifetime of an address) and interned stacks.
#include <stdexcept>

#include "core/engine.h"

namespace lockhound {

// ---------------------------------------------------------------- classes & instances
ClassId Validator::Impl::new_class(std::string name, LockKind kind, WaitType wait, ClassId base, uint8_t sub) {
  // Class ids stay below kPkBack (2^31 classes: far past any memory budget).
  if (classes.size() >= kPkBack) throw std::length_error("lockhound: more than 2^31 lock classes");
  ClassId id = ClassId(classes.size());
  ClassInfo c;
  c.name = std::move(name);
  class_name_bytes += c.name.capacity();
  unnamed_classes += c.name.empty();
  c.kind = kind;
  c.wait = wait == WaitType::none ? default_wait_type(kind) : wait;
  c.base = base == kNoClass ? id : base;
  c.subclass = sub;
  c.rank = top_rank += kRankGap;
  c.lower = highest;
  classes.push_back(std::move(c));
  if (highest != kNoClass) classes[highest].higher = id;
  else lowest = id;
  highest = id;
  return id;
}

// A class made without a name (Validator::unique_class("")) is named by the front end when a
// name is first needed: a finding, a report, the class table. Naming can be costly (the runtime
// reads debug information for it) and most classes never need it.
const std::string& Validator::Impl::name_of(ClassId c) const {
  const std::string& n = classes[c].name;
  if (n.empty() && hooks.name_classes) hooks.name_classes(c);
  return n;
}

[[gnu::noinline]] ClassId Validator::Impl::subclass_of(ClassId base, uint8_t sub) {
  if (sub == 0) return base;
  ClassId b = classes[base].base;
  if (sub >= 8) sub = 7;  // lockdep allows 8 subclasses; clamp rather than fail
  auto found = subclass_ids.find(uint64_t(b) << 3 | sub);
  if (found != subclass_ids.end()) return found->second;
  ClassId s = new_class(name_of(b) + "/" + std::to_string(sub), classes[b].kind, classes[b].wait, b, sub);
  subclass_ids[uint64_t(b) << 3 | sub] = s;
  class_by_name.emplace(classes[s].name, s);
  return s;
}

[[gnu::noinline]] Instance& Validator::Impl::instance_of(uint64_t lock) {
  auto it = instances.find(lock);
  if (it != instances.end()) return *it->second;
  char buf[40];
  std::snprintf(buf, sizeof buf, "lock@0x%" PRIx64, lock);
  ClassId cls;
  auto c = class_by_name.find(buf);
  if (c != class_by_name.end()) {
    cls = c->second;
  } else {
    cls = new_class(buf, LockKind::other, WaitType::none, kNoClass, 0);
    class_by_name.emplace(buf, cls);
  }
  return init_instance(lock, cls);
}

Instance& Validator::Impl::init_instance(uint64_t lock, ClassId cls) { return init_slot(instances[lock], cls); }

// A new lifetime in the instance table's slot for its address. The contexts' caches stay valid:
// an address keeps its Instance object across lifetimes (only a destroy frees the object for
// another address, and that bumps instance_epoch), so no flush here. Flushing on every init
// emptied every cache each time a program made a lock.
Instance& Validator::Impl::init_slot(Instance*& slot, ClassId cls) {
  if (!slot) {
    if (!free_instances.empty()) {
      slot = free_instances.back();
      free_instances.pop_back();
    } else {
      slot = &instance_pool.emplace_back();
    }
  }
  Instance& in = *slot;
  if (in.id) end_pairs(in.id);  // the address's previous lifetime
  in.cls = cls;
  in.id = next_instance_id++;
  in.holds = 0;
  ClassInfo& c = classes[cls];
  if (++c.instances > 1 && c.gate_candidate) drop_gate_class(cls);
  return in;
}

// ---------------------------------------------------------------- stacks & evidence
StackId Validator::Impl::intern(std::span<const Frame> frames) {
  if (frames.empty()) return kNoStack;
  uint64_t h = 1469598103934665603ull;
  for (const auto& f : frames) {
    h = mix_chain(h, uint32_t(f.pc) ^ uint32_t(f.pc >> 32) ^ f.line);
    for (char ch : f.function) h = (h ^ uint8_t(ch)) * 1099511628211ull;
    for (char ch : f.file) h = (h ^ uint8_t(ch)) * 1099511628211ull;
  }
  auto& bucket = stack_by_hash[h];
  for (StackId id : bucket) {
    const auto& s = stacks[id];
    if (s.size() == frames.size() &&
        std::equal(s.begin(), s.end(), frames.begin(), [](const Frame& a, const Frame& b) {
          return a.pc == b.pc && a.line == b.line && a.function == b.function && a.file == b.file &&
                 a.offset == b.offset && a.object == b.object;
        }))
      return id;
  }
  StackId id = StackId(stacks.size());
  stacks.emplace_back(frames.begin(), frames.end());
  bucket.push_back(id);
  st.memory_bytes += frames.size() * sizeof(Frame);
  return id;
}

}  // namespace lockhound
