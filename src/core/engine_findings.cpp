// Evidence turned into a finding's facts: which locks, which contexts, which stacks, what was
// held. The words of every finding come from the finding layer (voice.h), called by publish().
#include "core/engine.h"
#include "core/facts.h"
#include "core/voice.h"

namespace lockhound {

Evidence Validator::Impl::evidence(ContextState* ctx, const Site& s, Mode mode, bool trylock, bool capture_now) {
  Evidence e;
  e.stack = capture_now ? capture(ctx, s) : s.stack;
  e.ip = s.ip;
  e.ctx_name = ctx ? ctx->name : 0;
  e.irq_ctx = ctx ? ctx->irq_ctx() : 0;
  e.irqs_enabled = ctx ? ctx->enabled_mask() : 7;
  e.mode = mode;
  e.trylock = trylock;
  return e;
}

Evidence Validator::Impl::held_evidence(ContextState* ctx, const HeldEntry& h) {
  Evidence e;
  e.stack = h.site.stack;
  e.ip = h.site.ip;
  e.ctx_name = ctx->name;
  e.irq_ctx = h.irq_ctx;
  e.irqs_enabled = h.irqs_enabled;
  e.mode = h.mode;
  e.trylock = h.trylock;
  return e;
}

Stack Validator::Impl::frames_of(const Evidence& e) const {
  if (e.stack != kNoStack && e.stack < stacks.size()) return stacks[e.stack];
  if (e.ip) {
    Frame f;
    f.pc = e.ip;
    return {f};
  }
  return {};
}

std::string Validator::Impl::irq_ctx_name(uint8_t c) {
  if (c & 2) return "hardirq";
  if (c & 1) return "softirq";
  if (c & 4) return "signal";
  return "";
}

Acquisition Validator::Impl::acquisition(const Evidence& e, ClassId cls, std::vector<HeldLock> held) const {
  Acquisition a;
  if (cls < classes.size()) a.lock = name_of(cls);
  a.mode = mode_name(e.mode, e.trylock);
  a.context = ctx_names[e.ctx_name];
  a.irq = irq_ctx_name(e.irq_ctx);
  a.irqs_enabled = e.irqs_enabled != 0;
  a.stack = frames_of(e);
  a.held = std::move(held);
  return a;
}

std::vector<HeldLock> Validator::Impl::held_list(const ContextState* ctx, size_t upto) const {
  std::vector<HeldLock> out;
  for (size_t i = 0; i < upto && i < ctx->held.size(); ++i) {
    const auto& h = ctx->held[i];
    HeldLock hl;
    hl.name = name_of(h.cls);
    if (opt.show_addresses) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%" PRIx64, h.lock);
      hl.address = buf;
    }
    hl.mode = mode_name(h.mode, h.trylock);
    Stack s = frames_of(Evidence{h.site.stack, h.site.ip});
    if (!s.empty()) hl.site = s.front();
    if (s.size() > 1) hl.stack = std::move(s);
    out.push_back(std::move(hl));
  }
  return out;
}

// A new finding: the engine states the facts; the finding layer words them and signs them.
// `key` is the engine's own dedup key (class ids, code sites), finer than or equal to the
// finding's public signature.
uint32_t Validator::Impl::publish(Finding&& f, std::string key) {
  f.source = opt.source;
  // Classes that stand for a callback's run (scan's waits): the finding layer words them as waits.
  std::vector<std::string_view> seen;
  std::string callbacks;
  for (const auto& name : f.classes) {
    auto it = class_by_name.find(name);
    if (it == class_by_name.end() || classes[it->second].kind != LockKind::callback ||
        std::find(seen.begin(), seen.end(), name) != seen.end())
      continue;
    seen.push_back(name);
    callbacks += (callbacks.empty() ? "" : ",") + name;
  }
  if (!callbacks.empty()) fact::set(f, fact::kCallbacks, callbacks);
  complete_finding(f);
  std::string& sig = key;
  uint32_t idx = uint32_t(findings.size());
  findings.push_back(std::move(f));
  superseded.push_back(false);
  finding_by_sig.emplace(std::move(sig), idx);
  counted_paths.insert({idx, first_path});
  st.findings++;
  if (hooks.on_finding) hooks.on_finding(findings.back());
  return idx;
}

// Two locks of one inferred class, each taken while the other was held: the current nesting
// (outer_i, then the top entry) closes the earlier one `rev` (inner then outer).
void Validator::Impl::report_instance_cycle(ContextState* ctx, size_t outer_i, const InstancePair& rev,
                             const std::vector<uint64_t>& common) {
  const HeldEntry& outer = ctx->held[outer_i];
  HeldEntry& inner = ctx->held.back();
  ClassId cls = inner.cls;
  bool guarded = !common.empty();
  // One finding per class and pair of code places, however many pairs of locks invert there.
  uint64_t s1 = evidence_pool[rev.inner].ip, s2 = inner.site.ip;
  std::string sig = std::string(guarded ? "instance-guarded|" : "instance-cycle|") +
                    name_of(cls) + "|" + std::to_string(std::min(s1, s2)) + "|" +
                    std::to_string(std::max(s1, s2));
  if (repeat(sig, path_of(ctx))) return;
  capture_held(ctx, inner);
  capture_outer(ctx, ctx->held[outer_i]);
  std::string a = instance_name(cls, outer.lock), b = instance_name(cls, inner.lock);
  Finding f;
  f.type = guarded ? FindingType::guarded_cycle : FindingType::circular_dependency;
  Edge earlier;  // b was held when a was taken
  earlier.from = b;
  earlier.to = a;
  earlier.dep = dep_name(rev.dep);
  earlier.from_site = acquisition(evidence_pool[rev.outer], cls);
  std::vector<HeldLock> held;
  auto kept = rev.held();
  const uint64_t outer_only = cls;  // kept as nothing: the outer lock alone was held
  for (uint64_t c : kept.empty() ? std::span<const uint64_t>(&outer_only, 1) : kept) {
    HeldLock hl;
    hl.name = name_of(ClassId(c));
    held.push_back(std::move(hl));
  }
  earlier.to_site = acquisition(evidence_pool[rev.inner], cls, std::move(held));
  earlier.from_site.lock = b;
  earlier.to_site.lock = a;
  Edge now;      // and now a is held while b is taken
  now.from = a;
  now.to = b;
  now.dep = dep_name(dep_of(outer.mode, inner.mode));
  now.from_site = acquisition(held_evidence(ctx, outer), cls);
  now.to_site = acquisition(held_evidence(ctx, inner), cls, held_list(ctx, ctx->held.size() - 1));
  now.from_site.lock = a;
  now.to_site.lock = b;
  f.chain = {std::move(earlier), std::move(now)};
  f.classes = {name_of(cls)};
  fact::set(f, fact::kInstances, "two locks of class " + name_of(cls) + ", each taken while the other was held");
  if (guarded) {
    std::string g;
    for (uint64_t id : common)
      for (const HeldEntry& h : ctx->held)
        if (h.instance_id == id) g += (g.empty() ? "" : ", ") + instance_name(h.cls, h.lock);
    fact::set(f, fact::kGuardedBy, g);
  }
  f.participants.push_back(participant(ctx));
  publish(std::move(f), std::move(sig));
}

// ---------------------------------------------------------------- reports
std::string Validator::Impl::sig_of_classes(std::string_view kind, const std::vector<ClassId>& cs) const {
  std::string s(kind);
  for (ClassId c : cs) s += "|" + name_of(c);
  return s;
}

Edge Validator::Impl::edge_report(uint32_t ei) const {
  const EdgeInfo& e = edges[ei];
  const ClassId from = edge_from(ei), to = edge_to(ei);
  Edge out;
  out.from = name_of(from);
  out.to = name_of(to);
  out.dep = dep_name(e.dep);
  for (ClassId g : gate_sets[e.gates]) out.gates.push_back(name_of(g));
  std::vector<HeldLock> held;
  auto add = [&](ClassId c) {
    HeldLock hl;
    hl.name = name_of(c);
    held.push_back(std::move(hl));
  };
  if (!e.held_run) {
    add(from);
    add(to);
  } else {
    uint32_t run = held_runs.at(ei);
    for (uint32_t i = 0; i < held_pool[run]; ++i) add(held_pool[run + 1 + i]);
  }
  out.from_site = acquisition(evidence_pool[e.from_ev], from);
  out.to_site = acquisition(evidence_pool[e.to_ev], to, std::move(held));
  return out;
}

void Validator::Impl::report_cycle(ContextState* ctx, const std::vector<uint32_t>& path, FindingType type,
                    const std::vector<ClassId>& common) {
  // Signature: the set of edges, rotation-independent.
  std::vector<uint64_t> keys;
  for (uint32_t ei : path) keys.push_back((uint64_t(edge_from(ei)) << 32) | edge_to(ei));
  std::sort(keys.begin(), keys.end());
  std::string sig = type == FindingType::guarded_cycle ? "guarded" : "cycle";
  for (uint64_t k : keys) sig += "|" + name_of(k >> 32) + ">" + name_of(uint32_t(k));
  uint32_t closing = path.back();
  if (repeat(sig, path_of(ctx))) return;
  Finding f;
  f.type = type;
  for (uint32_t ei : path) {
    f.chain.push_back(edge_report(ei));
    f.classes.push_back(name_of(edge_from(ei)));
  }
  if (type == FindingType::guarded_cycle) {
    std::string g;
    for (ClassId c : common) g += (g.empty() ? "" : ", ") + name_of(c);
    fact::set(f, fact::kGuardedBy, g);
  }
  // A class the front end inferred (locks made at one place) may hold locks of different
  // roles: say where the cycle enters and leaves such a class through two different locks,
  // so the reader can tell whether one lock can really play both parts.
  // When the evidence shows two different locks at such a class, no lock seen plays both parts and
  // the cycle cannot close as seen: a note (fact::kSeverity), not a deadlock. Judged on each
  // edge's first evidence (later acquisitions on known chains do not reach the engine).
  bool split = false;
  auto locks_of = [&](uint32_t ei) {
    auto it = edge_locks.find(ei);
    return it == edge_locks.end() ? std::pair<uint64_t, uint64_t>{0, 0} : it->second;
  };
  for (size_t i = 0; i < path.size(); ++i) {
    uint32_t in = path[i], out = path[(i + 1) % path.size()];
    uint64_t in_to_lock = locks_of(in).second, out_from_lock = locks_of(out).first;
    if (!classes[edge_to(in)].inferred || in_to_lock == out_from_lock || !in_to_lock || !out_from_lock) continue;
    split = true;
    f.details.emplace_back("different locks of " + name_of(edge_to(in)),
                           hex_of(in_to_lock) + " taken after " + name_of(edge_from(in)) + ", " +
                               hex_of(out_from_lock) + " held before " + name_of(edge_to(out)) +
                               ": a deadlock only if one lock of this class can play both parts");
  }
  if (split && type == FindingType::circular_dependency) fact::set(f, fact::kSeverity, "note");
  if (ctx) f.participants.push_back(participant(ctx));
  uint32_t idx = publish(std::move(f), std::move(sig));
  if (type == FindingType::guarded_cycle) {
    for (uint32_t ei : path) {
      edges[ei].guarded = true;
      guarded_edge_finding[ei] = idx;
    }
  } else {
    closing_edge_finding[closing] = idx;
    // A guarded report on any edge of this cycle is superseded by the real one.
    for (uint32_t ei : path) {
      if (!edges[ei].guarded) continue;
      auto g = guarded_edge_finding.find(ei);
      superseded[g->second] = true;
      guarded_edge_finding.erase(g);
      edges[ei].guarded = false;
    }
  }
}

Participant Validator::Impl::participant(const ContextState* ctx) const {
  Participant p;
  p.name = ctx_names[ctx->name];
  p.held = held_list(ctx, ctx->held.size() - (ctx == acquiring_ctx && !ctx->held.empty() ? 1 : 0));
  return p;
}

void Validator::Impl::report_recursion(ContextState* ctx, size_t prev_i) {
  const HeldEntry& prev = ctx->held[prev_i];
  const HeldEntry& next = ctx->held.back();
  bool same = prev.lock == next.lock;
  std::string sig = std::string("recursive|") + name_of(next.cls) + (same ? "|same" : "|other");
  if (repeat(sig, path_of(ctx))) return;
  Finding f;
  f.type = FindingType::recursive_locking;
  f.classes = {name_of(next.cls)};
  f.acquisitions.push_back(acquisition(held_evidence(ctx, prev), prev.cls));
  f.acquisitions.push_back(acquisition(evidence(ctx, next.site, next.mode, next.trylock, true),
                                       next.cls, held_list(ctx, ctx->held.size() - 1)));
  // Two read locks of one instance hang only when a writer starts waiting between them (the
  // lock does not let readers recurse past a waiting writer); any other pair always does.
  bool reads = prev.mode == Mode::read && next.mode == Mode::read;
  fact::set(f, fact::kInstance, !same ? "another instance of the same class"
                                : reads ? "same lock instance, read twice: a self-deadlock as soon as "
                                          "another thread asks for it for writing in between"
                                        : "same lock instance: a certain self-deadlock");
  f.participants.push_back(participant(ctx));
  publish(std::move(f), std::move(sig));
}

// A failed trylock of a lock the context holds (the runtime tells it from the lock's owner): the
// trylock can never succeed while the context holds the lock. Not a hang: a note.
void Validator::Impl::report_trylock_held(ContextState* ctx, uint64_t lock, Mode mode, const Site& site) {
  size_t i = ctx->held.size();
  while (i > 0 && ctx->held[i - 1].lock != lock) --i;
  if (i == 0) return;
  const HeldEntry& prev = ctx->held[i - 1];
  std::string sig = "trylock-held|" + name_of(prev.cls) + "|" + std::to_string(site.ip);
  if (repeat(sig, path_of(ctx))) return;
  Finding f;
  f.type = FindingType::recursive_locking;
  f.classes = {name_of(prev.cls)};
  f.acquisitions.push_back(acquisition(held_evidence(ctx, prev), prev.cls));
  f.acquisitions.push_back(acquisition(evidence(ctx, site, mode, true, true), prev.cls,
                                       held_list(ctx, ctx->held.size())));
  fact::set(f, fact::kInstance, "same lock instance, tried: the trylock fails for as long as the thread holds it");
  fact::set(f, fact::kSeverity, "note");
  f.participants.push_back(participant(ctx));
  publish(std::move(f), std::move(sig));
}

void Validator::trylock_held(Context ctx, uint64_t lock, Mode mode, const Site& site) {
  if (ctx) impl_->report_trylock_held(ctx, lock, mode, site);
}

[[gnu::noinline]] void Validator::Impl::report_nest_not_held(ContextState* ctx, ClassId cls, const AcquireFlags& fl, const Site& site) {
  std::string nest = "lock@?";
  if (const Instance* in = instances.find(fl.nest_lock)) nest = name_of(in->cls);
  std::string sig = "nest|" + name_of(cls) + "|" + nest;
  if (repeat(sig, path_of(ctx))) return;
  Finding f;
  f.type = FindingType::nested_lock_not_taken;
  f.classes = {name_of(cls), nest};
  f.acquisitions.push_back(acquisition(evidence(ctx, site, fl.mode, fl.trylock, true), cls,
                                       held_list(ctx, ctx->held.size())));
  f.participants.push_back(participant(ctx));
  publish(std::move(f), std::move(sig));
}

void Validator::Impl::report_inconsistent(ContextState* ctx, const HeldEntry& h, unsigned prev_bit, unsigned new_bit) {
  const std::string& name = name_of(h.cls);
  ClassInfo& c = classes[h.cls];
  std::string usage = "{" + usage_name(prev_bit) + "} -> {" + usage_name(new_bit) + "}";
  std::string sig = "inconsistent|" + name + "|" + usage_name(std::min(prev_bit, new_bit)) + "|" +
                    usage_name(std::max(prev_bit, new_bit));
  c.conflict |= 1u << new_bit;
  if (auto it = unsafe_order_findings.find(h.cls); it != unsafe_order_findings.end())
    for (auto [k, idx] : it->second)
      if (k == new_bit / 4) superseded[idx] = true;
  if (repeat(sig, path_of(ctx))) {
    conflict_findings[h.cls].emplace_back(uint8_t(new_bit), finding_by_sig[sig]);
    return;
  }
  Finding f;
  f.type = FindingType::inconsistent_lock_state;
  f.classes = {name};
  fact::set(f, fact::kUsage, usage);
  fact::set(f, fact::kInterrupt, std::string(irq_name(Irq(new_bit / 4))));
  const Evidence* first = nullptr;
  for (const auto& u : usage_records(h.cls))
    if (u.bit == prev_bit) first = &evidence_pool[u.ev];
  if (first) f.acquisitions.push_back(acquisition(*first, h.cls));
  f.acquisitions.push_back(acquisition(evidence(ctx, h.site, h.mode, h.trylock, true), h.cls,
                                       held_list(ctx, ctx->held.size() - 1)));
  f.participants.push_back(participant(ctx));
  uint32_t idx = publish(std::move(f), sig);
  conflict_findings[h.cls].emplace_back(uint8_t(new_bit), idx);
}

void Validator::Impl::report_irq_inversion(ContextState* ctx, const HeldEntry& h, unsigned bit, uint32_t hit, bool forward) {
  std::vector<uint32_t> path = path_edges(hit);
  ClassId other = nodes[hit].cls;
  Irq k = Irq(bit / 4);
  ClassId safe = forward ? h.cls : other, unsafe = forward ? other : h.cls;
  if (!forward) std::reverse(path.begin(), path.end());
  if (inconsistent_in(unsafe, k)) return;  // its inconsistent state is the report (see engine.h)
  std::string sig = "irqinv|" + std::string(irq_name(k)) + "|" + name_of(safe) + "|" +
                    name_of(unsafe);
  if (repeat(sig, path_of(ctx))) return;
  Finding f;
  f.type = FindingType::irq_lock_inversion;
  for (uint32_t ei : path) f.chain.push_back(edge_report(ei));
  f.classes.push_back(name_of(safe));
  for (uint32_t ei : path) f.classes.push_back(name_of(edge_to(ei)));
  fact::set(f, fact::kInterrupt, std::string(irq_name(k)));
  fact::set(f, fact::kIrqSafe, name_of(safe));
  fact::set(f, fact::kIrqUnsafe, name_of(unsafe));
  add_usage_evidence(f, safe, k, false);
  add_usage_evidence(f, unsafe, k, true);
  f.participants.push_back(participant(ctx));
  unsafe_order_findings[unsafe].emplace_back(uint8_t(k), publish(std::move(f), std::move(sig)));
}

void Validator::Impl::add_usage_evidence(Finding& f, ClassId cls, Irq k, bool enabled_dir) {
  for (const auto& u : usage_records(cls)) {
    if (int(u.bit / 4) != int(k) || bool(u.bit & kDirBit) != enabled_dir) continue;
    f.acquisitions.push_back(acquisition(evidence_pool[u.ev], cls));
    return;
  }
}

void Validator::Impl::report_safe_unsafe(ContextState* ctx, Irq k, ClassId safe, ClassId unsafe,
                          const std::vector<uint32_t>& chain, const HeldEntry& prev, const HeldEntry& next) {
  if (inconsistent_in(unsafe, k)) return;  // its inconsistent state is the report (see engine.h)
  std::string sig = "safeunsafe|" + std::string(irq_name(k)) + "|" + name_of(safe) + "|" +
                    name_of(unsafe);
  if (repeat(sig, path_of(ctx))) return;
  Finding f;
  f.type = FindingType::irq_safe_unsafe_order;
  for (uint32_t ei : chain) f.chain.push_back(edge_report(ei));
  f.classes.push_back(name_of(safe));
  for (uint32_t ei : chain) f.classes.push_back(name_of(edge_to(ei)));
  fact::set(f, fact::kInterrupt, std::string(irq_name(k)));
  fact::set(f, fact::kIrqSafe, name_of(safe));
  fact::set(f, fact::kIrqUnsafe, name_of(unsafe));
  fact::set(f, fact::kNewDependency, name_of(prev.cls) + " -> " + name_of(next.cls));
  add_usage_evidence(f, safe, k, false);
  add_usage_evidence(f, unsafe, k, true);
  if (ctx) f.participants.push_back(participant(ctx));
  unsafe_order_findings[unsafe].emplace_back(uint8_t(k), publish(std::move(f), std::move(sig)));
}

void Validator::Impl::report_wait(ContextState* ctx, FindingType type, ClassId cls, ClassId spinning,
                   const std::string& reason, const Site& site, const std::string& what) {
  uint64_t path = path_of(ctx) ^ std::hash<std::string>{}(what);
  std::string sig = std::string(type_name(type)) + "|" + what + "|" +
                    (spinning != kNoClass ? name_of(spinning) : reason);
  if (repeat(sig, path)) return;
  Finding f;
  f.type = type;
  if (cls != kNoClass) f.classes.push_back(name_of(cls));
  if (spinning != kNoClass) f.classes.push_back(name_of(spinning));
  fact::set(f, fact::kReason, reason);
  fact::set(f, fact::kOperation, what);
  if (spinning != kNoClass && classes[spinning].kind == LockKind::pthread_spinlock)
    fact::set(f, fact::kSpinKind, std::string(kind_name(classes[spinning].kind)));
  Evidence ev = evidence(ctx, site, Mode::write, false, true);
  Acquisition a = acquisition(ev, cls != kNoClass ? cls : spinning, held_list(ctx, ctx->held.size()));
  if (cls == kNoClass) a.lock = what;
  f.acquisitions.push_back(std::move(a));
  if (spinning != kNoClass)
    for (const auto& h : ctx->held)
      if (h.cls == spinning) {
        f.acquisitions.push_back(acquisition(held_evidence(ctx, h), spinning));
        break;
      }
  f.participants.push_back(participant(ctx));
  publish(std::move(f), std::move(sig));
}

void Validator::Impl::report_bad_unlock(ContextState* ctx, uint64_t lock, const Site& site) {
  const Instance* in = instances.find(lock);
  std::string name;
  ClassId cls = kNoClass;
  if (in) {
    cls = in->cls;
    name = name_of(cls);
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "lock@0x%" PRIx64, lock);
    name = buf;
  }
  std::string sig = "unlock|" + name + "|" + std::to_string(site.ip);
  uint64_t path = path_of(ctx) ^ site.ip;
  if (repeat(sig, path)) return;
  Finding f;
  f.type = FindingType::bad_unlock_balance;
  f.classes = {name};
  Acquisition a = acquisition(evidence(ctx, site, Mode::write, false, true), cls, held_list(ctx, ctx->held.size()));
  a.lock = name;
  a.mode = "release";
  f.acquisitions.push_back(std::move(a));
  f.participants.push_back(participant(ctx));
  // Another context holds it: the lock is handed over between threads (unlocked by a thread
  // that did not lock it), which POSIX leaves undefined for mutexes and spinlocks.
  for (const auto& [id, c] : contexts)
    if (c.get() != ctx && holds(c.get(), lock)) {
      fact::set(f, fact::kHeldBy, ctx_names[c->name]);
      f.participants.push_back(participant(c.get()));
      break;
    }
  publish(std::move(f), std::move(sig));
}

void Validator::Impl::report_freed(ContextState* by, ContextState* holder, size_t i, const Site& site, bool unloaded) {
  uint64_t path = path_of(holder) ^ site.ip;
  const HeldEntry& h = holder->held[i];
  std::string sig = "freed|" + name_of(h.cls) + "|" + std::to_string(site.ip);
  if (repeat(sig, path)) return;
  Finding f;
  f.type = FindingType::held_lock_freed;
  f.classes = {name_of(h.cls)};
  f.acquisitions.push_back(acquisition(held_evidence(holder, h), h.cls));
  Acquisition d = acquisition(evidence(by, site, Mode::write, false, true), h.cls);
  d.mode = unloaded ? "unload" : "destroy";  // advice words the fix for each
  f.acquisitions.push_back(std::move(d));
  f.participants.push_back(participant(holder));
  publish(std::move(f), std::move(sig));
}

void Validator::Impl::report_still_held(ContextState* ctx, const Site& site, FindingType type) {
  std::vector<ClassId> cs;
  for (const auto& h : ctx->held) cs.push_back(h.cls);
  std::string sig = sig_of_classes(type_name(type), cs);
  if (repeat(sig, path_of(ctx))) return;
  Finding f;
  f.type = type;
  for (ClassId c : cs) f.classes.push_back(name_of(c));
  for (const auto& h : ctx->held) f.acquisitions.push_back(acquisition(held_evidence(ctx, h), h.cls));
  Participant p = participant(ctx);
  Stack s = frames_of(evidence(ctx, site, Mode::write, false, true));
  p.stack = s;
  f.participants.push_back(std::move(p));
  publish(std::move(f), std::move(sig));
}

}  // namespace lockhound
