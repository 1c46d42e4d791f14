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
  if (name.empty()) ++unnamed_classes;
  else c.name = store_name(name);
  c.kind = kind;
  c.wait = wait == WaitType::none ? default_wait_type(kind) : wait;
  if (base != kNoClass && sub != 0) subclass_base.emplace(id, base);
  // New classes go on top; ranks spread out near the top of the range (respace) can leave too
  // little room above for the next one: then the whole order moves back to the middle.
  if (top_rank > ~uint64_t(0) - kRankGap) renumber(kRankGap);
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
std::string Validator::Impl::name_of(ClassId c) const {
  if (classes[c].name == 0 && hooks.name_classes) hooks.name_classes(c);
  return std::string(&name_chars[classes[c].name]);
}

uint32_t Validator::Impl::store_name(std::string_view name) {
  if (name.empty() || name_chars.size() + name.size() + 1 > UINT32_MAX) return 0;
  uint32_t at = uint32_t(name_chars.size());
  name_chars.insert(name_chars.end(), name.begin(), name.end());
  name_chars.push_back('\0');
  return at;
}

[[gnu::noinline]] ClassId Validator::Impl::subclass_of(ClassId base, uint8_t sub) {
  if (sub == 0) return base;
  auto sb = subclass_base.find(base);
  ClassId b = sb == subclass_base.end() ? base : sb->second;
  if (sub >= 8) sub = 7;  // lockdep allows 8 subclasses; clamp rather than fail
  auto found = subclass_ids.find(uint64_t(b) << 3 | sub);
  if (found != subclass_ids.end()) return found->second;
  std::string name = name_of(b) + "/" + std::to_string(sub);
  ClassId s = new_class(name, classes[b].kind, classes[b].wait, b, sub);
  subclass_ids[uint64_t(b) << 3 | sub] = s;
  class_by_name.emplace(std::move(name), s);
  return s;
}

[[gnu::noinline]] Instance& Validator::Impl::instance_of(uint64_t lock) {
  if (Instance* in = instances.find(lock)) return *in;
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

Instance& Validator::Impl::init_instance(uint64_t lock, ClassId cls) {
  bool fresh;
  Instance& in = instances.emplace(lock, fresh);
  if (in.id) end_pairs(in.id, in.cls);  // the address's previous lifetime
  in.cls = cls;
  in.id = next_instance_id++;
  in.holds = 0;
  ClassInfo& c = classes[cls];
  if (c.instances < 2 && ++c.instances > 1 && c.gate_candidate) drop_gate_class(cls);
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
