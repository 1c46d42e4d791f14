// A report's facts: the chain, the acquisitions, the tasks and the details a Finding carries,
// from what the reader parsed. The words come from the finding layer (core/voice.h).
#include "explain/report_reader.h"

#include <algorithm>

#include "core/facts.h"
#include "core/sites.h"

namespace lockhound::explain {

// ---- building the finding --------------------------------------------------------------------

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

void add_class(std::vector<std::string>& classes, const std::string& name) {
  if (name.empty()) return;
  if (std::find(classes.begin(), classes.end(), name) == classes.end()) classes.push_back(name);
}

const LockRef* lock_of(const Parsed& p, Slot s) {
  auto it = p.locks.find(s);
  return it == p.locks.end() ? nullptr : &it->second;
}

std::string state_irq(const std::string& state) {
  if (contains(state, "SOFTIRQ")) return "softirq";
  if (contains(state, "HARDIRQ")) return "hardirq";
  if (contains(state, "RECLAIM")) return "reclaim";
  if (contains(state, "NMI")) return "nmi";
  return "interrupt";
}

const Stack* usage_stack(const Parsed& p, const std::string& lock, bool in_irq, const std::string& irq_state) {
  for (const auto& d : p.deps) {
    if (d.name != lock) continue;
    for (const auto& [u, st] : d.usages) {
      bool is_in = starts_with(u, "IN-");
      if (is_in == in_irq && contains(u, irq_state) && !st.empty()) return &st;
    }
  }
  return nullptr;
}

const Stack* acquired_stack(const Parsed& p, const std::string& lock) {
  for (const auto& d : p.deps)
    if (d.name == lock && !d.acquired.empty()) return &d.acquired;
  return nullptr;
}

Participant reporting_task(const Parsed& p) {
  Participant who;
  who.name = p.task.comm;
  who.pid = p.task.pid;
  who.state = "running";
  for (const auto& h : p.held)
    if (h.task.comm == p.task.comm && h.task.pid == p.task.pid) who.held = h.locks;
  if (who.held.empty() && p.held.size() == 1) who.held = p.held[0].locks;
  who.stack = p.backtrace;
  return who;
}

std::vector<HeldLock> own_held(const Parsed& p) { return reporting_task(p).held; }

// The frame a report printed after a lock's ", at:": the lock call itself.
Frame site_of_lock(const LockRef* lock) { return lock && lock->has_site ? lock->site : Frame{}; }

void build_circular(const Parsed& p, Finding& f) {
  const LockRef* trying = lock_of(p, Slot::trying);
  const LockRef* holding = lock_of(p, Slot::holding);
  std::vector<const ChainEntry*> cyc;
  for (const auto& [k, e] : p.entries) cyc.push_back(&e);
  std::vector<std::string> names;
  std::vector<const Stack*> stacks;
  if (!cyc.empty()) {
    // A chain cut off before its end still starts at the lock being acquired (#0).
    if (p.entries.find(0) == p.entries.end() && trying) {
      names.push_back(trying->name);
      stacks.push_back(nullptr);
    }
    for (const auto* e : cyc) {
      names.push_back(e->name);
      stacks.push_back(&e->stack);
    }
    if (holding && names.back() != holding->name &&
        std::find(names.begin(), names.end(), holding->name) == names.end()) {
      names.push_back(holding->name);
      stacks.push_back(nullptr);
    }
  } else if (p.chain_line.size() >= 2) {
    names = p.chain_line;
  } else {
    if (trying) names.push_back(trying->name);
    if (holding && (!trying || holding->name != trying->name)) names.push_back(holding->name);
  }
  stacks.resize(names.size(), nullptr);
  std::string task = task_label(p.task);
  auto held = own_held(p);
  // Edge i: names[i] held, names[i+1] taken. The last one (back to #0) is the dependency the
  // reporting task is adding now; lockdep's chain lists the others in reverse order.
  for (size_t i = 0; i < names.size() && names.size() >= 2; ++i) {
    size_t j = (i + 1) % names.size();
    Edge e;
    e.from = names[i];
    e.to = names[j];
    e.from_site.lock = names[i];
    e.to_site.lock = names[j];
    if (stacks[j]) e.to_site.stack = *stacks[j];
    if (j == 0) {
      e.to_site.context = task;
      if (e.to_site.stack.empty()) e.to_site.stack = p.backtrace;
      e.to_site.site = site_of_lock(trying);
      e.to_site.held = held;
      e.from_site.site = site_of_lock(holding);
      e.from_site.context = task;
    }
    f.chain.push_back(std::move(e));
  }
  // The cycle's own order, starting at the lock being acquired.
  for (const auto& n : names) add_class(f.classes, n);
}

void build_recursive(const Parsed& p, Finding& f) {
  const LockRef* trying = lock_of(p, Slot::trying);
  const LockRef* holding = lock_of(p, Slot::holding);
  std::string name = trying ? trying->name : holding ? holding->name : "";
  if (name.empty() && !p.wit.empty()) name = p.wit.front().witness;
  add_class(f.classes, name);
  auto held = own_held(p);
  std::vector<std::string> others;
  for (const auto& h : held)
    if (h.name != name) others.push_back(h.name);
  if (!others.empty()) fact::set(f, fact::kAlsoHeld, join(others, ", "));
  // One edge from the lock to itself: where it is held, and where it is taken again.
  Edge e;
  e.from = e.to = name;
  e.from_site.lock = e.to_site.lock = name;
  e.from_site.site = site_of_lock(holding);
  e.from_site.context = task_label(p.task);
  e.to_site.stack = p.backtrace;
  e.to_site.site = site_of_lock(trying);
  e.to_site.context = task_label(p.task);
  e.to_site.held = held;
  f.chain.push_back(std::move(e));
  bool same = trying && holding && !trying->address.empty() && trying->address == holding->address;
  bool different = trying && holding && !trying->address.empty() && !holding->address.empty() &&
                   trying->address != holding->address;
  if (same) fact::set(f, fact::kInstance, "same lock instance (" + trying->address + "): a certain self-deadlock");
  else if (different)
    fact::set(f, fact::kInstance, "another instance of the same class (" + trying->address + ", holding " +
                                      holding->address + ")");
}

void build_inconsistent(const Parsed& p, Finding& f) {
  const LockRef* lock = lock_of(p, Slot::this_lock);
  std::string name = lock ? lock->name : "";
  add_class(f.classes, name);
  fact::set(f, fact::kUsage, "{" + p.prev_usage + "} -> {" + p.new_usage + "}");
  if (!p.irq_ctx.empty()) fact::set(f, fact::kIrqContext, p.irq_ctx);
  bool prev_in = starts_with(p.prev_usage, "IN-");
  const std::string& in_usage = prev_in ? p.prev_usage : p.new_usage;
  std::string irq = state_irq(in_usage);
  fact::set(f, fact::kInterrupt, irq);
  // `registered` is where the earlier usage was recorded; the backtrace, with the lock's own
  // "at:" site, is the usage happening now.
  Acquisition reg, cur;
  reg.lock = cur.lock = name;
  reg.stack = p.registered;
  cur.stack = p.backtrace;
  cur.site = site_of_lock(lock);
  cur.context = task_label(p.task);
  cur.held = own_held(p);
  (prev_in ? reg : cur).irq = irq;
  (prev_in ? cur : reg).irqs_enabled = true;
  (prev_in ? reg : cur).irqs_enabled = false;
  f.acquisitions = {reg, cur};
}

void build_irq(const Parsed& p, Finding& f) {
  bool inversion = p.type == FindingType::irq_lock_inversion;
  std::string safe, unsafe;
  std::vector<std::string> path;
  const LockRef* next = lock_of(p, Slot::next);
  const LockRef* prev = lock_of(p, Slot::prev);
  if (inversion) {
    const LockRef* self = lock_of(p, Slot::this_lock);
    const LockRef* other = lock_of(p, Slot::other);
    std::string a = self ? self->name : "", b = other ? other->name : "";
    safe = p.forwards ? a : b;
    unsafe = p.forwards ? b : a;
  } else {
    const LockRef* s = lock_of(p, Slot::safe);
    const LockRef* u = lock_of(p, Slot::unsafe);
    safe = s ? s->name : (prev ? prev->name : "");
    unsafe = u ? u->name : (next ? next->name : "");
  }
  if (p.chain_line.size() >= 2) {
    path = p.chain_line;
  } else {
    add_class(path, safe);
    if (!inversion) {
      if (prev) add_class(path, prev->name);
      if (next) add_class(path, next->name);
    }
    add_class(path, unsafe);
  }
  for (const auto& n : path) add_class(f.classes, n);
  add_class(f.classes, safe);
  add_class(f.classes, unsafe);
  std::string state = p.state.empty() ? "HARDIRQ" : p.state;
  std::string irq_word = state_irq(state);
  std::string base_state = state.substr(0, state.find('-'));
  fact::set(f, fact::kState, state);
  fact::set(f, fact::kInterrupt, irq_word);
  fact::set(f, fact::kIrqSafe, safe);
  fact::set(f, fact::kIrqUnsafe, unsafe);
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    Edge e;
    e.from = path[i];
    e.to = path[i + 1];
    e.from_site.lock = path[i];
    e.to_site.lock = path[i + 1];
    if (const Stack* acq = acquired_stack(p, path[i + 1])) e.to_site.stack = *acq;
    if (!inversion && next && path[i + 1] == next->name && prev && path[i] == prev->name) {
      e.to_site.stack = p.backtrace;
      e.to_site.site = site_of_lock(next);
      e.to_site.context = task_label(p.task);
      e.to_site.held = own_held(p);
    }
    f.chain.push_back(std::move(e));
  }
  // Where `safe` is used in the interrupt and where `unsafe` is taken with it enabled.
  const Stack* in_stack = usage_stack(p, safe, true, base_state);
  if (!in_stack && !p.safe_stack.empty()) in_stack = &p.safe_stack;
  if (!in_stack && inversion && p.forwards) in_stack = &p.backtrace;
  const Stack* on_stack = usage_stack(p, unsafe, false, base_state);
  if (!on_stack && !p.unsafe_stack.empty()) on_stack = &p.unsafe_stack;
  if (!on_stack && inversion && !p.forwards) on_stack = &p.backtrace;
  Acquisition a_in, a_on;
  a_in.lock = safe;
  a_in.irq = irq_word;
  a_in.irqs_enabled = false;
  if (in_stack) a_in.stack = *in_stack;
  a_on.lock = unsafe;
  a_on.irqs_enabled = true;
  if (on_stack) a_on.stack = *on_stack;
  f.acquisitions = {a_in, a_on};
}

void build_held_kind(const Parsed& p, Finding& f) {
  using FT = FindingType;
  auto held = own_held(p);
  std::string task = task_label(p.task);
  Acquisition a;
  a.context = task;
  a.stack = p.backtrace;
  a.held = held;
  // The most recently taken held lock, as the acquisition the report is about.
  auto last_held = [&]() {
    Acquisition h;
    if (held.empty()) return h;
    h.lock = held.back().name;
    h.context = task;
    h.site = held.back().site;
    return h;
  };
  switch (p.type) {
    case FT::bad_unlock_balance:
      add_class(f.classes, p.released);
      for (const auto& h : held) add_class(f.classes, h.name);
      a.lock = p.released;
      a.mode = "release";
      if (p.has_release_site) a.site = p.release_site;
      f.acquisitions.push_back(std::move(a));
      break;
    case FT::lock_held_returning_to_user:
    case FT::still_has_locks_held:
      for (const auto& h : held) add_class(f.classes, h.name);
      if (!held.empty()) f.acquisitions.push_back(last_held());
      break;
    case FT::held_lock_freed: {
      const LockRef* lock = lock_of(p, Slot::freed);
      std::string name = lock ? lock->name : "";
      add_class(f.classes, name);
      for (const auto& h : held) add_class(f.classes, h.name);
      Acquisition taken;
      taken.lock = name;
      taken.context = task;
      taken.site = site_of_lock(lock);
      a.lock = name;
      a.mode = "free";
      f.acquisitions = {taken, a};
      break;
    }
    case FT::workqueue_leaked_lock:
      for (const auto& h : held) add_class(f.classes, h.name);
      if (!p.last_function.empty()) fact::set(f, fact::kFunction, p.last_function);
      if (!p.preempt_count.empty()) fact::set(f, fact::kPreemptCount, p.preempt_count);
      f.acquisitions.push_back(std::move(a));
      break;
    default:
      break;
  }
}

void build_wait_kind(const Parsed& p, Finding& f) {
  using FT = FindingType;
  auto held = own_held(p);
  const LockRef* lock = lock_of(p, Slot::trying);
  std::string name = lock ? lock->name : "";
  Acquisition a;
  a.lock = name;
  a.context = task_label(p.task);
  a.stack = p.backtrace;
  a.site = site_of_lock(lock);
  a.held = held;
  add_class(f.classes, name);
  if (p.type == FT::nested_lock_not_taken) {
    add_class(f.classes, p.nest_lock);  // not printed when lockdep could not read it
  } else {
    for (const auto& h : held) add_class(f.classes, h.name);
    fact::set(f, fact::kIrqContext, "context-" + p.context_wait);
    if (lock && !lock->wait.empty()) fact::set(f, "wait type", lock->wait);
  }
  f.acquisitions.push_back(std::move(a));
}

void build_atomic(const Parsed& p, Finding& f) {
  using FT = FindingType;
  auto held = own_held(p);
  for (const auto& h : held) add_class(f.classes, h.name);
  Acquisition a;
  a.context = task_label(p.task);
  a.stack = p.backtrace;
  a.held = held;
  f.acquisitions.push_back(a);
  if (p.has_preempt_site) fact::set(f, fact::kPreemptDisabledAt, describe_frame(p.preempt_site));
  if (p.type == FT::sleeping_in_invalid_context) fact::set(f, fact::kAt, p.at_file);
  else fact::set(f, fact::kPreemptCount, p.preempt_count);
}

void build_misc(const Parsed& p, Finding& f) {
  using FT = FindingType;
  const Stack& st = p.type == FT::hung_task ? p.task_stack : p.backtrace;
  Participant who;
  who.name = p.task.comm;
  who.pid = p.task.pid;
  who.stack = st;
  if (p.seconds >= 0) fact::set(f, fact::kSeconds, std::to_string(p.seconds));
  if (p.cpu >= 0) fact::set(f, fact::kCpu, std::to_string(p.cpu));
  switch (p.type) {
    case FT::max_too_low:
      fact::set(f, fact::kLimit, p.title.substr(0, p.title.find(' ')));
      break;
    case FT::spinlock_lockup_suspected:
    case FT::spinlock_recursion:
    case FT::spinlock_bad_magic:
    case FT::spinlock_already_unlocked: {
      add_class(f.classes, p.spin_lock_name);
      fact::set(f, fact::kMessage, p.title.substr(0, p.title.find(" on CPU")));
      who.state = "spinning";
      if (!p.owner.comm.empty() && p.owner.comm != "<none>") {
        Participant o;
        o.name = p.owner.comm;
        o.pid = p.owner.pid;
        o.state = "owner";
        f.participants.push_back(o);
      }
      if (p.type == FT::spinlock_recursion) {
        Acquisition a;
        a.lock = p.spin_lock_name;
        a.context = task_label(p.task);
        a.stack = p.backtrace;
        f.acquisitions.push_back(std::move(a));
      }
      break;
    }
    case FT::hung_task:
      who.state = "D";
      // Without a reliable trace, the unreliable frames are all there is.
      if (st.size() < 2) who.stack = p.task_stack_all;
      if (!p.owner.comm.empty()) fact::set(f, fact::kLikelyOwner, task_label(p.owner));
      if (!p.hang_kind.empty()) fact::set(f, fact::kHang, p.hang_kind);
      break;
    case FT::workqueue_lockup:
      if (!p.pool.empty()) fact::set(f, fact::kPool, p.pool);
      if (!p.in_flight.empty()) fact::set(f, fact::kInFlight, join(p.in_flight, ", "));
      who.state = "running";
      break;
    case FT::lockdep_internal_error:
      if (!p.check.empty()) fact::set(f, fact::kCheck, p.check);
      if (!p.check_at.empty()) fact::set(f, fact::kAt, p.check_at);
      if (!p.check_function.empty()) fact::set(f, fact::kFunction, p.check_function);
      break;
    case FT::rcu_stall:
      if (!p.stall_cpus.empty()) fact::set(f, fact::kStallCpus, join(p.stall_cpus, ", "));
      if (!p.jiffies.empty()) fact::set(f, fact::kJiffies, p.jiffies);
      if (!p.starved.empty()) fact::set(f, fact::kStarved, p.starved);
      if (!p.stall_kind.empty()) fact::set(f, fact::kStallKind, p.stall_kind);
      if (!p.stall_tasks.empty()) fact::set(f, "stalled tasks", join(p.stall_tasks, ", "));
      break;
    default:
      break;
  }
  if (!who.name.empty() || !who.stack.empty()) f.participants.insert(f.participants.begin(), who);
}

void build_witness(const Parsed& p, Finding& f) {
  std::vector<std::string> names;
  if (!p.worders.empty()) {
    add_class(names, p.worders.front().from);
    add_class(names, p.worders.front().to);
  }
  for (const auto& w : p.wit) add_class(names, w.witness);
  for (const auto& n : names) add_class(f.classes, n);
  if (names.size() < 2) return;
  for (size_t i = 0; i < names.size(); ++i) {
    Edge e;
    e.from = names[i];
    e.to = names[(i + 1) % names.size()];
    e.from_site.lock = e.from;
    e.to_site.lock = e.to;
    for (const auto& o : p.worders)
      if (o.from == e.from && o.to == e.to) e.to_site.stack = o.stack;
    if (e.to_site.stack.empty() && i == 0) e.to_site.stack = p.backtrace;
    f.chain.push_back(std::move(e));
  }
}

void build_facts(const Parsed& p, Finding& f) {
  using FT = FindingType;
  switch (p.type) {
    case FT::circular_dependency: build_circular(p, f); break;
    case FT::recursive_locking: build_recursive(p, f); break;
    case FT::inconsistent_lock_state: build_inconsistent(p, f); break;
    case FT::irq_lock_inversion:
    case FT::irq_safe_unsafe_order: build_irq(p, f); break;
    case FT::bad_unlock_balance:
    case FT::lock_held_returning_to_user:
    case FT::held_lock_freed:
    case FT::still_has_locks_held:
    case FT::workqueue_leaked_lock: build_held_kind(p, f); break;
    case FT::nested_lock_not_taken:
    case FT::invalid_wait_context: build_wait_kind(p, f); break;
    case FT::sleeping_in_invalid_context:
    case FT::scheduling_while_atomic: build_atomic(p, f); break;
    case FT::witness_lock_order_reversal: build_witness(p, f); break;
    default: build_misc(p, f); break;
  }
}

}  // namespace lockhound::explain
