// Replay: every root (a function nobody calls, a registered callback in its own context) walked
// through its summary, each event fed to the engine in a context of its own.
#include "scan/analyze_internal.h"

#include "core/facts.h"
#include "core/voice.h"

namespace lockhound::scan::detail {

uint64_t Analyzer::instance(const LockRef& l) {
  std::string k = lock_key(l);
  auto it = instances_.find(k);
  if (it != instances_.end()) return it->second;
  uint64_t id = instances_.size() + 1;
  instances_.emplace(k, id);
  ClassId cls = v_.lock_class(display(l.cls), l.kind);
  v_.lock_init(id, cls);
  return id;
}

namespace {
std::string stack_key(const Stack& s) {
  std::string k;
  for (const auto& fr : s) k += fr.function + "@" + fr.file + ":" + std::to_string(fr.line) + ";";
  return k;
}
}  // namespace

Site Analyzer::site(const Path& p, std::string_view call) {
  Stack s = materialize(p);
  std::string k = stack_key(s);
  if (!call.empty()) {
    if (call.substr(0, 5) == "_raw_") call.remove_prefix(5);  // the kernel's expansion of spin_lock_bh()
    auto [c, first] = calls_.emplace(k, std::string(call));
    if (!first && c->second != call) c->second.clear();
  }
  auto [it, fresh] = ips_.emplace(k, next_ip_);
  if (fresh) next_ip_ += 4;
  return Site{it->second, v_.intern_stack(s)};
}

void Analyzer::set_irq(Context ctx, const Base& b, IrqD d, bool all_off) {
  bool hard = d.hard == 0 || d.hard == 3 ? b.hard_en : d.hard == 2;
  bool soft = b.soft_en ? d.soft <= 0 : d.soft < 0;
  if (all_off) hard = soft = false;
  v_.set_irq_state(ctx, b.in_hard, b.in_soft, hard, soft);
}

AcquireFlags Analyzer::flags(const Held& h, const Base& b) {
  AcquireFlags f;
  f.mode = h.mode;
  if (h.read_irq_recursive && (b.in_hard || b.in_soft)) f.mode = Mode::recursive_read;
  f.trylock = h.trylock;
  f.subclass = h.subclass;
  if (!h.nest.cls.empty()) f.nest_lock = instance(h.nest);
  return f;
}

// An unlock on a path that does not hold the lock, in a function that takes it on others: the
// engine's bad_unlock_balance, from a context that releases it holding nothing.
void Analyzer::replay_unbalanced() {
  for (const auto& [key, list] : unbalanced_)
    for (const auto& [lock, path] : list) {
      const auto& ft = p_.fns.at(key);
      Context ctx = v_.context(next_ctx_++, ft.first->name);
      Site here = site(path);
      v_.release(ctx, instance(lock), here);
      v_.end_context(ctx, here);
    }
}

void Analyzer::replay_roots() {
  // Roots: functions no one calls (process context), and each registered callback.
  std::vector<Root> roots;
  std::set<std::pair<std::string, std::string>> seen;
  auto how = [](RunContext c, EntryIrq i, const LockRef& h) {
    return std::to_string(int(c)) + std::to_string(int(i)) + lock_key(h);
  };
  for (size_t t = 0; t < p_.tus.size(); ++t)
    for (const auto& r : p_.tus[t]->registrations) {
      if (!p_.fns.count(r.fn)) continue;
      if (!seen.insert({r.fn, how(r.context, r.irqs, r.held)}).second) continue;
      Root root{r.fn, r.context, r.object, nullptr, r.irqs, r.held};
      if (!r.registrar.empty()) {
        const auto& files = p_.tus[t]->files;
        root.reg = leaf(r.registrar + " (" + r.via + ")", r.loc.file < files.size() ? files[r.loc.file] : "?", r.loc.line);
      }
      roots.push_back(std::move(root));
      st_.callbacks++;
    }
  std::vector<std::string> keys;
  for (const auto& [k, ft] : p_.fns)
    if (ft.first->file_scope && !callers_.count(k)) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  std::set<std::string> registered;
  for (const auto& [fn, ctx] : seen) registered.insert(fn);
  // A registered callback runs where it is registered, not also as a plain process entry.
  for (const auto& k : keys)
    if (!registered.count(k) && seen.insert({k, how(RunContext::process, EntryIrq::on, LockRef{})}).second)
      roots.push_back({k, RunContext::process, "", nullptr, EntryIrq::on, LockRef{}});
  st_.roots = roots.size();
  for (const auto& r : roots) replay(r);
}

void Analyzer::replay(const Root& root) {
  const auto& [f, tu] = p_.fns.at(root.fn);
  const Summary& s = p_.summaries[root.fn];
  const std::string& object = root.object;
  const Path& reg = root.reg;
  Base base;
  if (root.ctx == RunContext::hardirq) base = {true, false, false, false, false};
  if (root.ctx == RunContext::softirq) base = {false, true, true, false, false};
  if (root.ctx == RunContext::signal) base.signal = true;
  if (root.irqs == EntryIrq::hardirqs_off) base.hard_en = base.soft_en = false;
  if (root.irqs == EntryIrq::softirqs_off) base.soft_en = false;
  bool pseudo = !object.empty() && p_.waited_objects.count(object);
  const auto& files = p_.tus[tu]->files;
  Path entry = leaf(f->name, f->loc.file < files.size() ? files[f->loc.file] : "?", f->loc.line);
  if (reg) {
    auto n = std::make_shared<PathNode>(*reg);
    n->inner = entry;
    entry = n;
  }
  // A callback's paths end at its registration ("fpga_probe_part (tasklet_init)").
  auto outer = [&](const Path& p) {
    if (!reg) return p;
    return extend(p, reg->frame.function, reg->frame.file, reg->frame.line);
  };
  for (const Event& e : s.events) {
    if (e.what.lock.cls.empty() && e.kind != EvKind::sleep) continue;
    if (e.kind == EvKind::sleep && e.gfp_param >= 0) continue;  // depends on an unknown caller
    bool named = true;
    for (const auto& h : e.held) named &= !h.lock.cls.empty();
    if (!named) continue;
    Context ctx = v_.context(next_ctx_++, f->name);
    if (base.signal) v_.irq_enter(ctx, Irq::signal);
    std::vector<uint64_t> taken;
    // The run of a callback someone waits for, as a pseudo-lock held around the callback.
    auto hold_run = [&](const std::string& obj) {
      set_irq(ctx, base, IrqD{});
      uint64_t id = instance(LockRef{obj, "g:" + obj, LockKind::callback});
      v_.acquire(ctx, id, AcquireFlags{}, site(entry));
      taken.push_back(id);
    };
    // A work item runs inside its workqueue's run, as lockdep's process_one_work takes the
    // queue's map before the item's: a flush of the queue waits for it.
    if (auto q = p_.queues_of.find(object); q != p_.queues_of.end())
      for (const auto& queue : q->second)
        if (p_.waited_objects.count(queue)) hold_run(queue);
    if (pseudo) hold_run(object);
    // The lock the caller holds around the call, unless the callee has let go of it by now.
    bool let_go = false;
    for (const auto& r : e.released) let_go |= same_lock(r, root.held);
    if (!root.held.cls.empty() && !let_go) {
      set_irq(ctx, base, IrqD{});
      uint64_t id = instance(root.held);
      v_.acquire(ctx, id, AcquireFlags{}, site(entry));
      taken.push_back(id);
    }
    for (const Held& h : e.held) {
      set_irq(ctx, base, h.irq);
      uint64_t id = instance(h.lock);
      v_.acquire(ctx, id, flags(h, base), site(outer(h.path), h.api));
      taken.push_back(id);
    }
    Site here = site(outer(e.what.path), e.kind == EvKind::acquire ? std::string_view(e.what.api) : std::string_view());
    switch (e.kind) {
      case EvKind::acquire: {
        set_irq(ctx, base, e.what.irq);
        uint64_t id = instance(e.what.lock);
        v_.acquire(ctx, id, flags(e.what, base), here);
        taken.push_back(id);
        break;
      }
      case EvKind::sleep:
        set_irq(ctx, base, e.what.irq);
        v_.might_sleep(ctx, here, e.text);
        break;
      case EvKind::wait: {
        // lockdep's way: the waiter takes the callback's map with interrupts off, so the map
        // itself is never irq-unsafe.
        set_irq(ctx, base, e.what.irq, true);
        LockRef pl{e.what.lock.cls, "g:" + e.what.lock.cls, LockKind::callback};
        uint64_t id = instance(pl);
        v_.acquire(ctx, id, AcquireFlags{}, here);
        v_.release(ctx, id, here);
        break;
      }
    }
    for (auto it = taken.rbegin(); it != taken.rend(); ++it) v_.release(ctx, *it, here);
    if (base.signal) v_.irq_exit(ctx, Irq::signal);
    v_.end_context(ctx, here);
    st_.events++;
  }
}

void Analyzer::add_scan_facts() {
  std::set<std::string> queues;
  for (const auto& [work, qs] : p_.queues_of)
    for (const auto& q : qs) queues.insert(display(q));
  v_.for_each_finding([&](Finding& f) {
    bool named = false;
    std::string are_queues;
    for (const auto& c : fact::get_list(f, fact::kCallbacks))
      if (queues.count(c)) are_queues += (are_queues.empty() ? "" : ",") + c;
    if (!are_queues.empty()) {
      fact::set(f, fact::kQueues, are_queues);
      named = true;
    }
    for (auto& a : f.acquisitions) {
      if (!a.call.empty()) continue;
      auto it = calls_.find(stack_key(a.stack));
      if (it == calls_.end() || it->second.empty()) continue;
      a.call = it->second;
      named = true;
    }
    if (named) complete_finding(f);
  });
}

}  // namespace lockhound::scan::detail
