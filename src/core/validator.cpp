// The Validator: its public surface (validator.h) and the acquisition path, fast path first: a
// lock on a seen chain costs an instance-cache probe, a push, one multiply for the chain key and a
// chain-cache probe; everything else (new chains, usage, findings) is out of line in the rooms
// engine.h lists.
#include <stdexcept>

#include "core/engine.h"
#include "core/voice.h"

namespace lockhound {

// ---------------------------------------------------------------- acquire
void Validator::Impl::acquire(ContextState* ctx, uint64_t lock, const AcquireFlags& fl, const Site& site) {
  st.acquisitions++;
  Instance& inst = cached_instance(ctx, lock);
  ClassId cls = fl.subclass ? subclass_of(inst.cls, fl.subclass) : inst.cls;
  uint8_t irqc = ctx->irq_ctx();
  // The chain key first, and its chain-cache slot asked for: in a large program both that slot
  // and the class record miss the cache, and this way they load at once, not one after the other.
  bool chain_head = ctx->held.empty() || ctx->held.back().irq_ctx != irqc;
  uint64_t key = chain_head ? kInitialChainKey : ctx->held.back().chain_key;
  bool per_instance = !chain_head && ctx->held.back().per_instance;
  key = extend_key(ctx->held, key, cls, fl.mode, fl.trylock, lock, inst.id, per_instance);
  if (!chain_head && !fl.front_cached && !fl.front_caches) chains.prefetch(key);
  ClassInfo* c = &classes[cls];

  if (__builtin_expect(fl.nest_lock != 0, 0) && !holds(ctx, fl.nest_lock)) report_nest_not_held(ctx, cls, fl, site);
  if (c->wait == WaitType::sleep && !fl.trylock && !may_sleep(ctx)) check_wait_context(ctx, cls, site);

  // Push the held entry.
  HeldEntry& e = ctx->held.emplace_back();
  e.lock = lock;
  e.instance_id = inst.id;
  e.cls = cls;
  e.mode = fl.mode;
  e.trylock = fl.trylock;
  e.check = fl.check;
  e.irq_ctx = irqc;
  e.chain_key = key;
  e.per_instance = per_instance;
  e.nest_lock = fl.nest_lock;
  e.site = site;
  e.irqs_enabled = ctx->enabled_mask();
  e.outer_asked = false;
  size_t at = ctx->held.size() - 1;
  e.run_lo = at > 0 && ctx->held[at - 1].cls == cls ? ctx->held[at - 1].run_lo : uint32_t(at);
  inst.holds++;
  if (c->wait == WaitType::spin) ctx->spin_held++;
  // From here on the top entry is the lock being taken (participant()).
  struct Acquiring {
    const ContextState*& slot;
    ~Acquiring() { slot = nullptr; }
  } acquiring{acquiring_ctx = ctx};

  if (!fl.check) return;
  uint32_t want = ctx->want[fl.mode != Mode::write];
  if (fl.trylock) want &= kEnabledAll;  // a trylock in irq context is no irq use (lockdep)
  if (__builtin_expect((want & ~c->usage) | (want & c->conflict), 0)) mark_usage(ctx, ctx->held.back(), want);
  if (fl.trylock) return;  // a trylock never waits: no chain validation (lockdep's rule)
  // A chain that names lock instances is not kept: objects made and destroyed under a parent
  // would add one per object, forever. It is validated each time it comes here (the pair's
  // order is known then, and its edges: no stack is taken); front ends skip its repeats.
  if (__builtin_expect(per_instance, 0)) return validate_chain(ctx, chain_head);
  if (chain_head) {  // its key names only the class and mode: the class record is its cache
    uint8_t bit = uint8_t(1u << unsigned(fl.mode));
    if (__builtin_expect(c->heads & bit, 1)) return;
    c->heads |= bit;
    return new_chain(ctx, true);
  }
  if (fl.front_cached) return;
  size_t depth = ctx->held.size();
  if (depth < ctx->seen_key.size()) {
    if (ctx->seen_key[depth] == key) return;
    ctx->seen_key[depth] = key;
  }
  if (fl.front_caches) return new_front_chain(ctx, key);
  if (__builtin_expect(chains.insert(key), 0)) new_chain(ctx, chain_head);
}

// A chain the front end caches itself when it validates silently (AcquireFlags::front_caches):
// the engine's cache has it only if it reported.
[[gnu::noinline]] void Validator::Impl::new_front_chain(ContextState* ctx, uint64_t key) {
  if (chains.contains(key)) return;
  uint64_t reports = report_events;
  st.chains++;
  validate_chain(ctx, false);
  if (report_events != reports) {
    chains.insert(key);
    st.memory_bytes += 16;
  }
}

// Everything below runs off the fast path; kept out of line so the fast path stays small.
[[gnu::noinline]] void Validator::Impl::new_chain(ContextState* ctx, bool chain_head) {
  st.chains++;
  if (!chain_head) st.memory_bytes += 16;  // a chain-cache slot (a head is a bit in its class)
  // The first time a class is taken with nothing held in this context (at most once per class):
  // its stack, so that when a later lock is taken under it the report shows where this one was
  // taken, not only the lock call's own frame (std::mutex::lock in a build without inlining).
  if (chain_head) capture_held(ctx, ctx->held.back());
  validate_chain(ctx, chain_head);
}

void Validator::Impl::validate_chain(ContextState* ctx, bool chain_head) {
  int ret = check_recursion(ctx);  // 3 (instance pairs checked) goes on to the edges
  if (ret == 1 || ret == 2 || chain_head) return;
  // lockdep's check_prevs_add: the nearest held lock in the same irq context, plus the trylocks
  // directly above it; transitivity covers everything below.
  size_t top = ctx->held.size() - 1;
  uint8_t irqc = ctx->held[top].irq_ctx;
  for (size_t i = top; i-- > 0;) {
    const HeldEntry& h = ctx->held[i];
    if (h.irq_ctx != irqc) break;
    if (h.check) check_prev_add(ctx, i, top);
    if (!h.trylock) break;
  }
}

// 0: fine, 1: recursive locking reported, 2: allowed by a held nest lock, 3: another lock of
// an inferred class held, and the pair checked per instance.
//
// lockdep reports any two locks of one class nested, because its classes are declared (one
// per lock_class_key) and such nesting has no order the validator could check. A class a
// front end inferred (the runtime's: the place a lock was created) often holds many locks
// nested on purpose, in an order the program keeps (a parent's lock before a child's, a
// table's buckets in address order): reporting those would be false alarms. For such a
// class each pair of locks is remembered in the order it was nested, and two locks nested
// in both orders are reported as the circular dependency they are. The same lock taken
// twice is still recursive locking.
int Validator::Impl::check_recursion(ContextState* ctx) {
  const HeldEntry& next = ctx->held.back();
  size_t top = ctx->held.size() - 1;
  bool nest_held = false;
  if (next.nest_lock)
    for (size_t i = 0; i < top; ++i)
      if (ctx->held[i].lock == next.nest_lock) nest_held = true;
  bool inferred = classes[next.cls].inferred;
  // Another lock of an inferred class: paired with the nearest few of its class (engine.h,
  // kPairWindow), checked in the order they were taken, before anything is reported below.
  size_t lo = top > kPairScan ? top - kPairScan : 0;
  absl::InlinedVector<size_t, kPairWindow> pairs;
  size_t first_pair = 0;  // pairs[first_pair..] are the nearest kPairWindow (a ring once full)
  int ret = 0;
  int recursion_at = -1;
  // Below the window, an inferred class's entries are only ever paired or skipped, except the
  // lock itself held again (recursion): when no other hold of this lock exists anywhere (holds
  // counts every context's), the walk starts at the window, so that taking the N-th lock of a
  // table costs kPairScan steps, not N. (A nest lock is looked for in the whole stack above.)
  const Instance* next_in = inferred && !next.nest_lock ? find_cached(ctx, next.lock) : nullptr;
  size_t start = next_in && next_in->id == next.instance_id && next_in->holds <= 1 ? lo : 0;
  for (size_t i = start; i < top; ++i) {
    const HeldEntry& prev = ctx->held[i];
    if (prev.cls != next.cls) continue;
    if (next.mode == Mode::recursive_read && prev.mode != Mode::write) continue;
    if (nest_held && prev.lock != next.lock) return 2;
    if (prev.lock != next.lock && inferred) {
      ret = 3;
      if (i < lo) continue;
      if (pairs.size() < kPairWindow) {
        pairs.push_back(i);
      } else {
        pairs[first_pair] = i;
        first_pair = (first_pair + 1) % kPairWindow;
      }
      continue;
    }
    recursion_at = int(i);
    break;
  }
  if (!pairs.empty()) {
    std::vector<uint64_t> gates = instance_gates(ctx, top);
    for (size_t k = 0; k < pairs.size(); ++k) check_instance_order(ctx, pairs[(first_pair + k) % pairs.size()], gates);
  }
  if (recursion_at >= 0) {
    report_recursion(ctx, size_t(recursion_at));
    return 1;
  }
  return ret;
}

// ---------------------------------------------------------------- release, destroy, exit
// A release of anything but the most recently taken lock (release() handles that one inline).
void Validator::Impl::release_inner(ContextState* ctx, uint64_t lock, const Site& site) {
  auto& held = ctx->held;
  size_t i = held.size();
  while (i > 0 && held[i - 1].lock != lock) --i;
  if (i == 0) {
    if (freed_while_held.erase(lock)) return;
    if (opt.report_unknown_release) report_bad_unlock(ctx, lock, site);
    return;
  }
  remove_held(ctx, i - 1);
}

// Removes held entry i (released, or its lock destroyed) and rebuilds the chain keys above it.
void Validator::Impl::remove_held(ContextState* ctx, size_t i) {
  size_t one[1] = {i};
  remove_held_many(ctx, one);
}

void Validator::Impl::remove_held_many(ContextState* ctx, std::span<const size_t> idx) {
  auto& held = ctx->held;
  if (idx.empty()) return;
  ctx->held_generation++;
  size_t out = idx[0], k = 0;
  for (size_t j = idx[0]; j < held.size(); ++j) {
    if (k < idx.size() && idx[k] == j) {
      ++k;
      HeldEntry& h = held[j];
      drop_hold(ctx, h);
      if (classes[h.cls].wait == WaitType::spin && ctx->spin_held) ctx->spin_held--;
      continue;
    }
    if (out != j) held[out] = held[j];
    ++out;
  }
  held.resize(out);
  rebuild_keys(ctx, idx[0]);
}

// Locks released out of order: the chain keys above the hole are rebuilt (no validation; the
// dependencies they stand for were validated when taken).
void Validator::Impl::rebuild_keys(ContextState* ctx, size_t from) {
  auto& held = ctx->held;
  for (size_t j = from; j < held.size(); ++j) {
    bool head = j == 0 || held[j - 1].irq_ctx != held[j].irq_ctx;
    uint64_t key = head ? kInitialChainKey : held[j - 1].chain_key;
    bool per_instance = !head && held[j - 1].per_instance;
    held[j].chain_key = extend_key(std::span(held.data(), j), key, held[j].cls, held[j].mode,
                                   held[j].trylock, held[j].lock, held[j].instance_id, per_instance);
    held[j].per_instance = per_instance;
    held[j].run_lo = j > 0 && held[j - 1].cls == held[j].cls ? held[j - 1].run_lo : uint32_t(j);
  }
}

void Validator::Impl::lock_destroy(ContextState* ctx, uint64_t lock, const Site& site, bool unloaded) {
  Instance* in = instances.find(lock);
  if (!in) return;
  uint64_t id = in->id;
  ClassId cls = in->cls;  // (the slot may move while held entries are dropped below)
  if (in->holds) {
    for (auto& [cid, c] : contexts) {
      for (size_t i = 0; i < c->held.size(); ++i) {
        if (c->held[i].lock != lock || c->held[i].instance_id != id) continue;
        report_freed(ctx ? ctx : c.get(), c.get(), i, site, unloaded);
        remove_held(c.get(), i);
        freed_while_held.insert(lock);
        break;
      }
    }
  }
  end_pairs(id, cls);
  instances.erase(lock);  // moves slots: the contexts' caches are emptied at their next use
}

void Validator::Impl::end_context(ContextState* ctx, const Site& site, bool to_user) {
  if (!ctx->held.empty())
    report_still_held(ctx, site, to_user ? FindingType::lock_held_returning_to_user
                                         : FindingType::still_has_locks_held);
  if (to_user) return;
  for (const auto& h : ctx->held) drop_hold(nullptr, h);
  contexts.erase(ctx->id);
}


// ==================================================================== public surface
Validator::Validator(ValidatorOptions options, ValidatorHooks hooks) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->hooks = std::move(hooks);
}
Validator::~Validator() = default;

ClassId Validator::lock_class(std::string_view name, LockKind kind, WaitType wait) {
  auto it = impl_->class_by_name.find(std::string(name));
  if (it != impl_->class_by_name.end()) return it->second;
  ClassId id = impl_->new_class(std::string(name), kind, wait, kNoClass, 0);
  impl_->class_by_name.emplace(std::string(name), id);
  return id;
}
ClassId Validator::unique_class(std::string name, LockKind kind, WaitType wait) {
  return impl_->new_class(std::move(name), kind, wait, kNoClass, 0);
}
void Validator::set_class_kind(ClassId cls, LockKind kind, WaitType wait) {
  if (cls >= impl_->classes.size()) return;
  auto& ci = impl_->classes[cls];
  ci.kind = kind;
  ci.wait = wait == WaitType::none ? default_wait_type(kind) : wait;
  // Subclasses share the base class's nature.
  for (uint8_t k = 1; k < 8; ++k) {
    auto it = impl_->subclass_ids.find(uint64_t(cls) << 3 | k);
    if (it == impl_->subclass_ids.end()) continue;
    impl_->classes[it->second].kind = ci.kind;
    impl_->classes[it->second].wait = ci.wait;
  }
}
void Validator::set_class_inferred(ClassId cls) {
  if (cls < impl_->classes.size()) impl_->classes[cls].inferred = true;
}
std::string_view Validator::class_name(ClassId cls) const {
  (void)impl_->classes.at(cls);  // out of range throws
  impl_->name_of(cls);  // named now if it was not: the view is of the arena, not of a copy
  return std::string_view(&impl_->name_chars[impl_->classes[cls].name]);
}
StackId Validator::first_use_stack(ClassId cls) const {
  (void)impl_->classes.at(cls);  // out of range throws
  auto records = impl_->usage_records(cls);
  return records.empty() ? kNoStack : impl_->evidence_pool[records.front().ev].stack;
}
void Validator::set_class_name(ClassId cls, std::string name) {
  (void)impl_->classes.at(cls);  // out of range throws
  ClassInfo& c = impl_->classes[cls];
  impl_->unnamed_classes -= c.name == 0 && !name.empty();
  if (uint32_t at = impl_->store_name(name)) c.name = at;
}
LockKind Validator::class_kind(ClassId cls) const { return impl_->classes.at(cls).kind; }

void Validator::lock_init(uint64_t lock, ClassId cls) {
  if (cls >= impl_->classes.size()) return;
  const Instance* in = impl_->instances.find(lock);
  // Re-initialising a held lock frees the old one while held.
  if (in && in->holds) impl_->lock_destroy(nullptr, lock, Site{});
  impl_->init_instance(lock, cls);
}
bool Validator::acquire_if_known(Context ctx, uint64_t lock, AcquireFlags flags, Site site) {
  if (!impl_->known_cached(ctx, lock)) return false;
  impl_->acquire(ctx, lock, flags, site);
  return true;
}
void Validator::lock_destroy(Context ctx, uint64_t lock, Site site, bool unloaded) {
  impl_->lock_destroy(ctx, lock, site, unloaded);
}
bool Validator::lock_known(uint64_t lock) const { return impl_->instances.contains(lock); }

Context Validator::context(uint64_t id, std::string_view name) {
  auto& slot = impl_->contexts[id];
  if (!slot) {
    slot = std::make_unique<ContextState>();
    slot->id = id;
    slot->name = uint32_t(impl_->ctx_names.size());
    impl_->ctx_names.emplace_back(name);
    impl_->st.contexts++;
  }
  return slot.get();
}
void Validator::rename_context(Context ctx, std::string_view name) {
  impl_->ctx_names[ctx->name] = std::string(name);
}
void Validator::end_context(Context ctx, Site site) { impl_->end_context(ctx, site, false); }
void Validator::return_to_user(Context ctx, Site site) {
  if (!ctx->held.empty()) impl_->report_still_held(ctx, site, FindingType::lock_held_returning_to_user);
}
std::string_view Validator::context_name(Context ctx) const { return impl_->ctx_names[ctx->name]; }
size_t Validator::held_count(Context ctx) const { return ctx->held.size(); }
Validator::HeldInfo Validator::held_at(Context ctx, size_t i) const {
  const HeldEntry& h = ctx->held[i];
  return {h.lock, h.mode, h.trylock, h.per_instance, h.site.ip};
}
void Validator::drop_held(Context ctx, size_t i) {
  if (i < ctx->held.size()) impl_->remove_held(ctx, i);
}
void Validator::drop_held_many(Context ctx, std::span<const size_t> indices) {
  size_t n = 0;
  while (n < indices.size() && indices[n] < ctx->held.size() && (n == 0 || indices[n] > indices[n - 1])) ++n;
  impl_->remove_held_many(ctx, indices.first(n));
}
uint64_t Validator::held_generation(Context ctx) const { return ctx->held_generation; }
bool Validator::lock_held(uint64_t lock) const {
  const Instance* in = impl_->instances.find(lock);
  return in && in->holds > 0;
}
uint32_t Validator::usage_wanted(Context ctx, Mode mode) const { return ctx->want[mode != Mode::write]; }
uint64_t Validator::irq_generation(Context ctx) const { return ctx->irq_generation; }
bool Validator::may_sleep_holding_nothing(Context ctx) const {
  return !ctx->depth[0] && !ctx->depth[1] && ctx->enabled[0];
}
uint32_t Validator::class_usage(ClassId cls) const {
  const ClassInfo& c = impl_->classes.at(cls);
  return c.conflict ? 0 : c.usage;
}
uint32_t Validator::irq_state(Context ctx) const {
  return uint32_t(ctx->irq_ctx()) << 8 | ctx->enabled_mask();
}

void Validator::irq_enter(Context ctx, Irq irq) {
  ctx->saved.push_back(ctx->enabled);
  ctx->depth[int(irq)]++;
  ctx->enabled[int(irq)] = false;
  if (irq == Irq::hardirq) ctx->enabled[int(Irq::softirq)] = false;
  ctx->update_want();
}
void Validator::irq_exit(Context ctx, Irq irq) {
  if (ctx->depth[int(irq)]) ctx->depth[int(irq)]--;
  if (!ctx->saved.empty()) {
    ctx->enabled = ctx->saved.back();
    ctx->saved.pop_back();
  }
  ctx->update_want();
}
void Validator::irq_enable(Context ctx, Irq irq) {
  ctx->enabled[int(irq)] = true;
  ctx->update_want();
}
void Validator::irq_disable(Context ctx, Irq irq) {
  ctx->enabled[int(irq)] = false;
  ctx->update_want();
}
bool Validator::in_irq(Context ctx, Irq irq) const { return ctx->depth[int(irq)] > 0; }
bool Validator::irq_enabled(Context ctx, Irq irq) const { return ctx->enabled[int(irq)]; }
void Validator::set_irq_state(Context ctx, bool in_hardirq, bool in_softirq, bool hardirqs_enabled,
                              bool softirqs_enabled) {
  ctx->depth[0] = in_hardirq;
  ctx->depth[1] = in_softirq;
  ctx->enabled[0] = hardirqs_enabled;
  ctx->enabled[1] = softirqs_enabled;
  ctx->update_want();
}

void Validator::acquire(Context ctx, uint64_t lock, AcquireFlags flags, Site site) {
  impl_->acquire(ctx, lock, flags, site);
}
void Validator::release(Context ctx, uint64_t lock, Site site) { impl_->release(ctx, lock, site); }
void Validator::might_sleep(Context ctx, Site site, std::string_view what) {
  impl_->might_sleep(ctx, site, what);
}

StackId Validator::intern_stack(std::span<const Frame> frames) { return impl_->intern(frames); }
std::span<const Frame> Validator::stack(StackId id) const {
  if (id >= impl_->stacks.size()) return {};
  return impl_->stacks[id];
}
size_t Validator::stack_count() const { return impl_->stacks.size(); }
void Validator::replace_stack(StackId id, std::vector<Frame> frames) {
  if (id < impl_->stacks.size()) impl_->stacks[id] = std::move(frames);
}
void Validator::for_each_finding(const std::function<void(Finding&)>& fn) {
  for (auto& f : impl_->findings) fn(f);
}
void Validator::report(Finding facts) {
  complete_finding(facts);
  std::string sig = facts.signature;
  if (impl_->repeat(sig, std::hash<std::string>{}(facts.location))) return;
  impl_->publish(std::move(facts), std::move(sig));
}

std::vector<Finding> Validator::findings() const {
  std::vector<Finding> out;
  for (size_t i = 0; i < impl_->findings.size(); ++i)
    if (!impl_->superseded[i]) out.push_back(impl_->findings[i]);
  return out;
}
std::vector<Edge> Validator::dependency_edges() const {
  std::vector<Edge> out;
  out.reserve(impl_->edges.size());
  for (uint32_t i = 0; i < impl_->edges.size(); ++i) out.push_back(impl_->edge_report(i));
  return out;
}
uint64_t Validator::report_events() const { return impl_->report_events; }
size_t Validator::finding_count() const {
  size_t n = 0;
  for (bool s : impl_->superseded) n += !s;
  return n;
}
ValidatorStats Validator::stats() const {
  ValidatorStats s = impl_->st;
  s.classes = impl_->classes.size();
  s.instances = impl_->instances.size();
  s.edges = impl_->edges.size();
  s.unnamed_classes = impl_->unnamed_classes;
  s.class_bytes = impl_->classes.bytes() +
                  impl_->name_chars.capacity() + impl_->usage_pool.capacity() * sizeof(UsageLink) +
                  impl_->subclass_base.capacity() * (sizeof(ClassId) * 2 + 1) +
                  impl_->instances.capacity() * InstanceTable::kSlotBytes;
  // Edges: records, index, the order's copy of their ends, held sets, adjacency past the two
  // inline entries per class and direction, the evidence table and the side tables.
  s.edge_bytes = impl_->edges.bytes() +
                 impl_->edge_index.capacity() * EdgeIndex::kSlotBytes +
                 impl_->held_pool.capacity() * sizeof(ClassId) +
                 impl_->held_runs.capacity() * (2 * sizeof(uint32_t) + 1) +
                 impl_->pk_edges.bytes() + impl_->adjacency_heap_bytes +
                 impl_->evidence_pool.capacity() * sizeof(Evidence) +
                 impl_->evidence_ids.capacity() * (sizeof(Evidence) + sizeof(EvidenceId) + 1) +
                 impl_->edge_locks.capacity() * (sizeof(uint32_t) + 2 * sizeof(uint64_t) + 1) +
                 impl_->guarded_edge_finding.capacity() * (2 * sizeof(uint32_t) + 1);
  s.memory_bytes += s.class_bytes + s.edge_bytes + impl_->chains.capacity() * sizeof(uint64_t) +
                    impl_->instance_pairs.capacity() * 16;
  return s;
}
const ValidatorOptions& Validator::options() const { return impl_->opt; }
bool Validator::order_consistent() const {
  const Impl& m = *impl_;
  size_t linked = 0;
  ClassId below = kNoClass;
  for (ClassId c = m.lowest; c != kNoClass; below = c, c = m.classes[c].higher) {
    if (++linked > m.classes.size() || m.classes[c].lower != below) return false;
    if (below != kNoClass && m.classes[below].rank >= m.classes[c].rank) return false;
  }
  if (linked != m.classes.size() || below != m.highest) return false;
  for (uint32_t ei = 0; ei < m.edges.size(); ++ei)
    if (!m.edges[ei].back && m.classes[m.edge_from(ei)].rank >= m.classes[m.edge_to(ei)].rank) return false;
  return true;
}

}  // namespace lockhound
