// The words for locks and interrupts (a lock used in an interrupt and also with that interrupt
// enabled, directly or through a dependency) and for sleeping where sleeping is not allowed.
#include "core/voice.h"
#include "core/voice_internal.h"

namespace lockhound::voice {
namespace {

std::string irq_of_state(const std::string& state) {
  if (contains(state, "SOFTIRQ")) return "softirq";
  if (contains(state, "HARDIRQ")) return "hardirq";
  if (contains(state, "RECLAIM")) return "reclaim";
  if (contains(state, "NMI")) return "nmi";
  if (contains(state, "SIGNAL")) return "signal";
  return "";
}

std::string interrupt_of(const Finding& f) {
  std::string irq = fact::get(f, fact::kInterrupt);
  if (irq.empty()) irq = irq_of_state(fact::get(f, fact::kState));
  if (irq.empty()) {
    std::string usage = fact::get(f, fact::kUsage);
    irq = irq_of_state(usage);
  }
  return irq.empty() ? "interrupt" : irq;
}

std::string upper(std::string s) {
  for (char& c : s) c = char(c >= 'a' && c <= 'z' ? c - 32 : c);
  return s;
}

Scenario irq_scenario(const std::string& safe, const std::string& unsafe, const std::string& irq) {
  Scenario sc;
  sc.columns = {"CPU0", "CPU1"};
  std::string dis = irq == "signal" ? "block signals;" : irq == "softirq" ? "local_bh_disable();" : "local_irq_disable();";
  sc.rows = {{"lock(" + unsafe + ");", ""},
             {"", dis},
             {"", "lock(" + safe + ");"},
             {"", "lock(" + unsafe + ");"},
             {"<Interrupt: " + irq + ">", ""},
             {"  lock(" + safe + ");", ""}};
  return sc;
}

void word_inconsistent(Finding& f) {
  std::string lock = f.classes.empty() ? "the lock" : f.classes.front();
  std::string irq = interrupt_of(f);
  std::string usage = fact::get(f, fact::kUsage);
  f.summary = lock + (usage.empty() ? "" : ": " + usage);
  f.scenario.columns = {"CPU0"};
  f.scenario.rows = {{"lock(" + lock + ");"}, {"<Interrupt: " + irq + ">"}, {"  lock(" + lock + ");"}};
  // The explanation and fix call it by the words before its place ("Account::mu"): the summary
  // and scenario keep the whole name.
  const std::string named = prose_name({lock}, lock);
  const Acquisition* in = acquisition_in(f, irq);
  const Acquisition* on = acquisition_outside(f, irq, in);
  // Where the holder runs: process context, or a lower interrupt (a timer's softirq, which runs
  // with hardirqs enabled).
  std::string on_context = on && !on->irq.empty() ? on->irq + " context" : "process context";
  std::string in_site = in ? site_of(*in, "an interrupt handler") : "an interrupt handler";
  std::string on_site = on ? site_of(*on, on_context) : on_context;
  // One helper taking the lock for both (typhoon_issue_command from a timer and from ethtool):
  // the sites say which paths.
  std::string holder = on_site;  // who holds the lock when the interrupt comes
  if (in && on && in_site == on_site && !in->context.empty() && !on->context.empty() && in->context != on->context) {
    in_site += ", reached from " + in->context;
    on_site += ", reached from " + on->context;
    holder = on->context;
  }
  if (irq == "signal") {
    f.explanation = named + " is taken in signal context (" + in_site + ") and also at " + on_site +
                    " with signals enabled: if the signal arrives while " + holder +
                    " holds it, the handler waits forever for a lock its own thread holds.";
    f.fix = "At " + on_site + " take " + named + " with a signal mask (pthread_sigmask SIG_BLOCK) around it, so the "
            "signal cannot interrupt the critical section; or do not take locks in the signal handler at all.";
    return;
  }
  if (irq == "hardirq" || irq == "softirq") {
    std::string call = on ? lock_primitive(*on) : "";
    if (call.empty()) call = "spin_lock";
    std::string safe = irqsafe_variant(call, irq == "softirq");
    f.explanation = named + " is taken in " + irq + " context (" + in_site + ") and also with " + irq +
                    "s enabled (" + on_site + "): if the " + irq + " arrives on a CPU while " + holder + " holds " +
                    named + ", the handler spins on it forever.";
    f.fix = "Make the " + call + "() of " + named + " in " + on_context + " (" + on_site + ") " + safe +
            "() (and its unlock " + unlock_variant(safe) + "()), so the " + irq + " handler (" + in_site +
            ") can never interrupt a holder on the same CPU; or move the work out of the " + irq + " handler.";
    return;
  }
  if (irq == "reclaim") {
    f.explanation = named + " is taken during memory reclaim (" + in_site + ") and also by a path that allocates "
                    "memory that may recurse into reclaim (" + on_site + ").";
    f.fix = "Allocate with GFP_NOFS/GFP_NOIO (or memalloc_nofs_save()) while holding " + named + " in " + on_site + ".";
    return;
  }
  f.explanation = named + " is used in " + irq + " context (" + in_site + ") and in a conflicting way (" + on_site +
                  (usage.empty() ? "" : ", " + usage) + ").";
  f.fix = "Never take " + named + " from " + irq + " context (" + in_site + "), or use a lock-free mechanism there.";
}

void word_inversion(Finding& f) {
  std::string irq = interrupt_of(f);
  std::string safe = fact::get(f, fact::kIrqSafe), unsafe = fact::get(f, fact::kIrqUnsafe);
  std::vector<std::string> path;
  if (!f.chain.empty()) {
    path.push_back(f.chain.front().from);
    for (const auto& e : f.chain) path.push_back(e.to);
  } else {
    path = f.classes;
  }
  if (safe.empty() && !path.empty()) safe = path.front();
  if (unsafe.empty() && !path.empty()) unsafe = path.back();
  std::string state = fact::get(f, fact::kState);
  if (state.empty()) state = upper(irq);
  f.summary = join_some(path, " --> ", 8) + " (" + safe + " is " + state + "-safe, " + unsafe + " is " + state + "-unsafe)";
  f.scenario = irq_scenario(safe, unsafe, irq);
  std::vector<std::string> names = path;
  names.push_back(safe);
  names.push_back(unsafe);
  const std::string safe_p = prose_name(names, safe), unsafe_p = prose_name(names, unsafe);
  const Acquisition* in = acquisition_in(f, irq, safe);
  if (!in) in = acquisition_in(f, irq);
  const Acquisition* on = acquisition_outside(f, irq, in, unsafe);
  if (!on) on = acquisition_outside(f, irq, in);
  std::string in_site = in ? site_of(*in, "its " + irq + " handler") : "its " + irq + " handler";
  std::string on_site = on ? site_of(*on, "a process-context path") : "a process-context path";
  std::string acq_site = "a path holding " + safe;
  for (const auto& e : f.chain)
    if (e.to == unsafe && !e.to_site.stack.empty()) acq_site = site_of(e.to_site);
  if (irq == "signal") {
    f.explanation = unsafe_p + " is taken with signals enabled (" + on_site + "), but " + safe_p +
                    ", which is taken in a signal handler (" + in_site + "), takes it while held (" + acq_site +
                    "): a thread holding " + unsafe_p + " can be interrupted by a handler waiting for " + safe_p +
                    " while another thread holds " + safe_p + " and waits for " + unsafe_p + ".";
    f.fix = "Block the signal (pthread_sigmask) around every acquisition of " + unsafe_p + " (" + on_site +
            "), or stop taking " + unsafe_p + " while holding " + safe_p + " at " + acq_site + ".";
    return;
  }
  std::string prim = on ? lock_primitive(*on) : "";
  if (prim.empty()) prim = "spin_lock";
  std::string safe_call = irqsafe_variant(prim, irq == "softirq");
  f.explanation = unsafe_p + " is taken with " + irq + "s enabled (" + on_site + "), but " + safe_p +
                  ", which is used in " + irq + " context (" + in_site + "), takes it while held (" + acq_site +
                  "): a CPU holding " + unsafe_p + " can be interrupted by a handler waiting for " + safe_p +
                  " while another CPU holds " + safe_p + " and waits for " + unsafe_p + ".";
  f.fix = "Make the " + prim + "() of " + unsafe_p + " at " + on_site + " " + safe_call + "() (every acquisition of " +
          unsafe_p + " with " + irq + "s disabled), or stop taking " + unsafe_p + " while holding " + safe_p + " at " +
          acq_site + ".";
}

}  // namespace

void word_irq(Finding& f) {
  if (f.type == FindingType::inconsistent_lock_state) return word_inconsistent(f);
  word_inversion(f);
}

void word_sleep(Finding& f) {
  using FT = FindingType;
  const Acquisition* a0 = f.acquisitions.empty() ? nullptr : &f.acquisitions[0];
  const Acquisition* a1 = f.acquisitions.size() > 1 ? &f.acquisitions[1] : nullptr;
  std::string site = a0 ? site_of(*a0, "this site") : "this site";
  std::vector<HeldLock> held = a0 ? a0->held : std::vector<HeldLock>{};
  if (held.empty() && !f.participants.empty()) held = f.participants.front().held;
  std::string subject = a0 ? who(*a0, "a context") : "a context";

  if (f.type == FT::invalid_wait_context && fact::has(f, fact::kIrqContext)) {
    // lockdep's wait-type check (what PREEMPT_RT turns into sleeping): a lock with a higher wait
    // type inside a section that only allows lower ones.
    std::string lock = f.classes.empty() ? "the lock" : f.classes.front();
    std::string ctx = fact::get(f, fact::kIrqContext);
    const HeldLock* inner = nullptr;
    for (auto it = held.rbegin(); it != held.rend(); ++it)
      if (it->name != lock) {
        inner = &*it;
        break;
      }
    f.summary = lock + " acquired in " + ctx + (held.empty() ? "" : " while holding " + held_names(held));
    f.explanation = subject + " takes " + lock + " at " + site + " where only locks with a lower wait type may be taken (" +
                    ctx + (inner ? ", inside " + inner->name : "") +
                    "): a lock that may sleep (on PREEMPT_RT) is taken inside a spinning or atomic section.";
    f.fix = "Take " + lock + " outside " + (inner ? inner->name : std::string("the atomic section")) + " at " + site +
            ", or make " + lock + " a raw_spinlock_t if its critical sections are short and never sleep.";
    return;
  }

  if (f.type == FT::invalid_wait_context && finding_severity(f) == "hazard") {
    // A user-space spinlock: its waiters spin (burn CPU) while the holder blocks. Slow, not stuck.
    std::string lock = a0 ? a0->lock : (f.classes.empty() ? std::string("the lock") : f.classes.front());
    std::string spin = a1 ? a1->lock : (f.classes.size() > 1 ? f.classes[1] : std::string("a spinlock"));
    std::string taken = a1 ? site_of(*a1) : "an outer call";
    size_t others = f.classes.size() > 2 ? f.classes.size() - 2 : 0;
    f.summary = lock + " (may block) taken while holding the spinlock " + spin + " at " + site;
    const std::string lock_p = prose_name({lock, spin}, lock), spin_p = prose_name({lock, spin}, spin);
    f.explanation = subject + " takes " + lock_p + ", which may block, at " + site + " while holding the spinlock " +
                    spin_p + " (taken at " + taken + "): every thread that wants " + spin_p +
                    " spins, burning CPU, for as long as the holder waits. This cannot hang by itself; a hang would "
                    "need a cycle, which is reported on its own." +
                    (others ? " The same two sites take locks of " + std::to_string(others) + " more " +
                                  (others == 1 ? "class" : "classes") + " the same way."
                            : "");
    f.fix = "If the wait for " + lock_p + " can be long, release " + spin_p + " before taking " + lock_p + " at " + site +
            " (keep the entry alive another way, e.g. a reference count), or make " + spin_p +
            " a mutex; if the protocol is deliberate and the wait short, this is the cost of it.";
    return;
  }

  // What may sleep, and why it must not there.
  std::string what = fact::get(f, fact::kOperation);
  if (what.empty() && fact::has(f, fact::kAt)) what = "a function that may sleep (" + fact::get(f, fact::kAt) + ")";
  if (what.empty()) what = "a sleeping call";
  std::string reason = fact::get(f, fact::kReason);
  std::string preempt = fact::get(f, fact::kPreemptDisabledAt);
  if (reason.empty()) {
    std::vector<std::string> why;
    if (fact::get(f, fact::kIrqsDisabled) == "1") why.push_back("interrupts disabled");
    if (fact::get(f, fact::kInAtomic) == "1") why.push_back("in atomic context");
    if (!held.empty()) why.push_back("holding " + held_names(held));
    if (!preempt.empty()) why.push_back("preemption disabled at " + preempt);
    reason = why.empty() ? "in atomic context" : "with " + join(why, ", ");
  }

  if (f.type == FT::blocking_call_under_lock) {
    std::string lock = a1 ? a1->lock : (f.classes.empty() ? std::string("the lock") : f.classes.front());
    std::string taken = a1 ? site_of(*a1) : "an outer call";
    f.summary = what + " at " + site + " while holding " + lock;
    const std::string lock_p = prose_name({lock}, lock);
    f.explanation = what + " blocks at " + site + " while " + lock_p + " is held (taken at " + taken +
                    "): every thread that needs " + lock_p + " waits as long, and if the wait depends on one of them it "
                    "never ends.";
    f.fix = "Release " + lock_p + " before " + what + " at " + site +
            " (copy what the critical section needs, then wait), or wait on a condition variable, which releases it.";
    return;
  }
  if (f.type == FT::scheduling_while_atomic) {
    std::string pc = fact::get(f, fact::kPreemptCount);
    f.summary = subject + " scheduled with preempt_count " + pc;
    f.explanation = subject + " called the scheduler in atomic context (preempt_count " + pc + ", " + reason +
                    "), e.g. sleeping while holding a spinlock.";
    f.fix = "Do not sleep at " + site + " while holding a spinlock or with preemption disabled" +
            (preempt.empty() ? "" : " (disabled at " + preempt + ")") + "; release the lock first or use a mutex.";
    return;
  }
  f.summary = what + " " + reason + (a0 ? " at " + site : "");
  f.explanation = what + " may sleep, but at " + site + " it runs " + reason +
                  ", where sleeping is not allowed (a spinning holder or an interrupt cannot be scheduled away).";
  if (a1)
    f.fix = "Move " + what + " out of the critical section of " + a1->lock + " (taken at " + site_of(*a1) +
            "), or make " + a1->lock + " a mutex if the section must sleep.";
  else if (!held.empty())
    f.fix = "Move the sleeping call at " + site + " out of the atomic section (release " + held_names(held) +
            " first), or use a non-sleeping variant (a GFP_ATOMIC allocation, a spinlock instead of a mutex).";
  else
    f.fix = "Move " + what + " at " + site + " to where sleeping is allowed: defer it to process context (a work "
            "item, a threaded interrupt handler), or use a variant that does not sleep.";
}

// Classes that stand for a callback's run (fact::kCallbacks: scan's model of a wait for a timer,
// work item or interrupt handler), not locks. Every such finding says what the class is; where the
// lock wording would give a fix that makes no sense (make the "lock" irqsave, do not take it
// twice), the finding is worded as the wait it is.
void word_callbacks(Finding& f) {
  std::vector<std::string> names = fact::get_list(f, fact::kCallbacks);
  if (names.empty()) return;
  const std::string& first = names.front();
  std::string irq = interrupt_of(f);
  std::vector<std::string> queues = fact::get_list(f, fact::kQueues);
  bool queue = std::find(queues.begin(), queues.end(), first) != queues.end();
  if (!f.classes.empty() && f.classes.front() == first && f.type == FindingType::inconsistent_lock_state) {
    const Acquisition* in = acquisition_in(f, irq);
    const Acquisition* on = acquisition_outside(f, irq, in);
    std::string waiter = in ? site_of(*in) : "a wait";
    std::string run = on ? site_of(*on) : "its callback";
    f.explanation = first + " is the run of the callback registered on it, and it is waited for in " + irq +
                    " context (" + waiter + "), but the callback runs with " + irq + "s enabled (" + run + "): if the " +
                    irq + " arrives on the CPU while the callback runs, the wait never ends.";
    f.fix = "Do not wait for " + first + "'s callback in " + irq + " context (" + waiter +
            "): use the call that does not wait there (del_timer() for del_timer_sync(), cancel_work() for "
            "cancel_work_sync()), or move the wait to process context (a work item).";
    return;
  }
  if (!f.classes.empty() && f.classes.front() == first && f.type == FindingType::recursive_locking &&
      f.acquisitions.size() >= 2) {
    std::string wait = site_of(f.acquisitions.back());
    std::string run = site_of(f.acquisitions.front());
    f.explanation = "The callback registered on " + first + " waits for itself: it runs from " + run +
                    ", and at " + wait + " it waits for " + first + "'s callback to finish, which is itself: the wait "
                    "never ends.";
    f.fix = "Do not wait for " + first + "'s callback from inside it (" + wait +
            "): free_irq() or synchronize_irq() in the interrupt handler, cancel_work_sync() or flush_work() in the "
            "work item, del_timer_sync() in the timer wait for themselves; defer the wait to process context (a work "
            "item), or use the call that does not wait.";
    return;
  }
  // A cycle of a callback and one lock: the callback takes the lock, and a waiter holds the lock
  // while it waits for the callback (del_timer_sync() under the lock the timer takes).
  if (f.type == FindingType::circular_dependency && f.chain.size() == 2) {
    const Edge* inside = nullptr;  // callback -> lock: the lock taken in the callback
    const Edge* wait = nullptr;    // lock -> callback: the wait under the lock
    for (const auto& e : f.chain) {
      if (e.from == first) inside = &e;
      if (e.to == first) wait = &e;
    }
    if (inside && wait && inside != wait && inside->to == wait->from) {
      const std::string& lock = inside->to;
      std::string taken = site_of(inside->to_site), waiter = site_of(wait->to_site);
      if (queue) {
        f.explanation = "A work item queued on the workqueue " + first + " takes " + lock + " (" + taken +
                        "), and " + waiter + " flushes that workqueue while holding " + lock +
                        ": the flush waits for the item, and the item waits for " + lock + ", so neither ever goes on.";
        f.fix = "At " + waiter + ", do not flush " + first + " while holding " + lock + ": release " + lock +
                " before the flush, or wait only for the work items that do not take it (cancel_work_sync() or "
                "flush_work() on each).";
        return;
      }
      f.explanation = "The callback registered on " + first + " takes " + lock + " (" + taken + "), and " + waiter +
                      " waits for that callback while holding " + lock + ": if the callback is running and waiting "
                      "for " + lock + ", neither ever goes on.";
      f.fix = "At " + waiter + ", do not wait for " + first + "'s callback while holding " + lock + ": release " +
              lock + " before the wait, or use the call that does not wait (del_timer(), cancel_work()) where the "
              "callback cannot be running or rearmed.";
      return;
    }
  }
  if (queue && names.size() == 1) {
    f.explanation += " (" + first + " is not a lock but the run of the work items queued on it: each holds it while "
                     "it runs, and flush_workqueue(), drain_workqueue() and destroy_workqueue() take it to wait for "
                     "them.)";
    return;
  }
  f.explanation += " (" + join(names, ", ") + (names.size() == 1 ? " is" : " are") +
                   " not a lock but the run of the callback registered on it: the callback holds it while it runs, "
                   "and del_timer_sync(), cancel_work_sync(), flush_work(), free_irq() and synchronize_irq() take it "
                   "to wait for that run.)";
}

}  // namespace lockhound::voice
