// The words for hangs reported by a watchdog (hung tasks, soft and hard lockups, RCU stalls, a
// spinlock spun on for too long), for corrupt spinlocks and for lockdep's own limits.
#include "core/voice_internal.h"

namespace lockhound::voice {
namespace {

bool scheduler_frame(std::string_view fn) {
  for (std::string_view p : {"__schedule", "schedule", "context_switch", "__switch_to", "switch_to", "io_schedule",
                             "__schedule_loop", "preempt_schedule"})
    if (starts_with(fn, p)) return true;
  return false;
}

// Where a blocked task sleeps: the first frame past the scheduler's own.
std::string blocked_in(const Stack& st) {
  for (const auto& fr : st) {
    if (scheduler_frame(fr.function)) continue;
    return describe_frame(fr);
  }
  return st.empty() ? "an unknown function" : describe_frame(st.front());
}

std::string knob_for(const std::string& limit) {
  if (limit == "MAX_LOCKDEP_ENTRIES" || limit == "direct dependencies") return "CONFIG_LOCKDEP_BITS";
  if (limit == "MAX_LOCKDEP_CHAINS" || limit == "MAX_LOCKDEP_CHAIN_HLOCKS" || limit == "dependency chains" ||
      limit == "dependency chain hlocks")
    return "CONFIG_LOCKDEP_CHAINS_BITS";
  if (limit == "MAX_STACK_TRACE_ENTRIES" || limit == "stack-trace entries")
    return "CONFIG_LOCKDEP_STACK_TRACE_BITS (and CONFIG_LOCKDEP_STACK_TRACE_HASH_BITS)";
  if (limit == "MAX_LOCKDEP_KEYS" || limit == "lock-classes")
    return "nothing: 8192 lock classes is fixed, so look for code registering lock keys dynamically without "
           "unregistering them";
  if (limit == "MAX_LOCK_DEPTH")
    return "nothing: a task held more than 48 locks, so look for a loop that takes locks without releasing them";
  return "the lockdep table sizes (CONFIG_LOCKDEP_BITS, CONFIG_LOCKDEP_CHAINS_BITS, CONFIG_LOCKDEP_STACK_TRACE_BITS)";
}

}  // namespace

void word_hang(Finding& f) {
  using FT = FindingType;
  const Participant* p = f.participants.empty() ? nullptr : &f.participants.front();
  Stack st = p ? p->stack : Stack{};
  if (st.empty() && !f.acquisitions.empty()) st = f.acquisitions.front().stack;
  std::string task = p ? participant_label(f, *p) : "a task";
  std::string top = st.empty() ? "an unknown function" : describe_frame(st.front());
  std::string caller = site_of(st, top);
  std::string lock = f.classes.empty() ? "the lock" : f.classes.front();
  switch (f.type) {
    case FT::hung_task: {
      std::string blocked = blocked_in(st);
      std::string secs = fact::get(f, fact::kSeconds);
      std::string hang = fact::get(f, fact::kHang);
      std::string span = secs.empty() ? "the hung-task timeout" : secs + " s";
      f.summary = task +
                  (hang == "I/O wait"    ? " blocked in I/O wait for more than "
                   : hang == "can't die" ? " can't die (killed, still blocked) for more than "
                                         : " blocked for more than ") +
                  span + " in " + blocked + (caller != blocked ? " <- " + caller : "");
      std::string where = " in " + blocked + (caller != blocked ? " (called from " + caller + ")" : "");
      if (hang == "I/O wait")
        f.explanation = task + " has waited for I/O in uninterruptible sleep (D) for more than " + span + where +
                        ": the I/O it waits for never completes (a stuck device or driver, or an I/O path blocked on "
                        "a lock).";
      else if (hang == "can't die")
        f.explanation = task + " was sent a fatal signal but cannot exit: it has been in uninterruptible sleep (D) "
                        "for more than " + span + where + ", and what it waits for is never released or completed.";
      else
        f.explanation = task + " has been in uninterruptible sleep (D) for more than " + span + where +
                        ": what it waits for is never released or completed.";
      std::string waits = fact::get(f, fact::kWaitsFor), by = fact::get(f, fact::kHeldBy);
      if (!waits.empty() && !by.empty() && !starts_with(by, "no task")) {
        std::string first_owner = by.substr(0, by.find(", "));
        f.fix = "It waits for " + waits + ", held by " + by + ": look at what " + first_owner +
                " does while holding it (its stack, or SysRq-w) — it is itself blocked or never releases it.";
      } else {
        f.fix = "Find who holds or should complete what " + caller +
                " waits for (the owners listed below, or the tasks blocked with it) and why it does not release it; "
                "enable CONFIG_PROVE_LOCKING to get the lock order problem reported before it hangs.";
      }
      return;
    }
    case FT::soft_lockup:
    case FT::hard_lockup: {
      bool soft = f.type == FT::soft_lockup;
      std::string cpu = fact::get(f, fact::kCpu);
      if (cpu.empty()) cpu = "?";
      std::string secs = fact::get(f, fact::kSeconds);
      f.summary = soft ? "CPU#" + cpu + " stuck for " + secs + "s [" + task + "] in " + top
                       : "hard LOCKUP on cpu " + cpu + " in " + top;
      f.explanation = (soft ? "CPU#" + cpu + " ran kernel code for " + secs + "s without scheduling"
                            : "CPU " + cpu + " stopped taking interrupts") +
                      " (" + task + ", in " + top + (caller != top ? " called from " + caller : "") +
                      "): an endless loop or a spin on a lock whose holder does not release it.";
      f.fix = "Look at " + caller + ": if it spins on a lock, find the holder (often a task holding it across a sleep "
              "or an interrupt handler taking it without irqsave); if it loops, bound the loop or add cond_resched()" +
              std::string(soft ? "" : " and do not run it with interrupts disabled") + ".";
      return;
    }
    case FT::rcu_stall: {
      std::string flavor = fact::get(f, fact::kFlavor);
      if (flavor.empty()) flavor = "rcu";
      std::string kind = fact::get(f, fact::kStallKind);
      if (kind == "tasks") {
        f.summary = flavor + " stall: " + (p && !p->name.empty() ? task + " holds up the grace period" : "a task holds up the grace period") +
                    (st.empty() ? "" : " in " + top);
        f.explanation = (p && !p->name.empty() ? task : std::string("A task")) +
                        " did not pass a voluntary context switch (or return to user space) for too long" +
                        (st.empty() ? "" : " (running " + top + ")") + ", so the " + flavor +
                        " grace period cannot end: everything that waits for it (tracing, BPF trampolines, kprobe "
                        "removal) waits too.";
        f.fix = (st.empty() ? std::string("Find the loop the task runs") : "Look at " + caller) +
                ": a long kernel loop needs cond_resched(), and a task must not block forever in the kernel with "
                "preemption disabled.";
        return;
      }
      if (kind == "expedited") {
        std::string ecpus = fact::get(f, fact::kStallCpus), etasks = fact::get(f, "stalled tasks");
        std::string jf = fact::get(f, fact::kJiffies);
        std::string what = !ecpus.empty() ? "CPU " + ecpus : "";
        if (!etasks.empty()) what += (what.empty() ? "" : " and ") + std::string("task pid ") + etasks;
        if (what.empty()) what = "a CPU or task";
        f.summary = flavor + " expedited stall on " + what + (jf.empty() ? "" : " (" + jf + " jiffies)");
        f.explanation = "An expedited " + flavor + " grace period (synchronize_rcu_expedited()) waited " +
                        (jf.empty() ? std::string("too long") : jf + " jiffies") + " for " + what +
                        (st.empty() ? "" : " (running " + top + ")") +
                        ": it did not pass through a quiescent state, because it looped with preemption or interrupts "
                        "disabled or stayed inside an RCU read-side critical section.";
        f.fix = (st.empty() ? std::string("Find what " + what + " was running") : "Look at " + caller) +
                ": break long loops with cond_resched() outside rcu_read_lock(), and do not block or spin on a lock "
                "inside an RCU read-side critical section.";
        return;
      }
      std::string cpus = fact::get(f, fact::kStallCpus);
      cpus = cpus.empty() ? "a CPU" : "CPU " + cpus;
      std::string jiffies = fact::get(f, fact::kJiffies), starved = fact::get(f, fact::kStarved);
      f.summary = flavor + " stall on " + cpus + (jiffies.empty() ? "" : " (t=" + jiffies + " jiffies)") +
                  (starved.empty() ? "" : "; " + flavor + " kthread starved for " + starved + " jiffies");
      f.explanation = cpus + " did not pass through a quiescent state for " +
                      (jiffies.empty() ? std::string("too long") : jiffies + " jiffies") +
                      (st.empty() ? "" : " (running " + top + ")") +
                      ": it looped with preemption or interrupts disabled or inside rcu_read_lock()" +
                      (starved.empty() ? "" : ", and the grace-period kthread was starved of CPU time") + ".";
      f.fix = (st.empty() ? std::string("Find the loop") : "Look at " + caller) +
              ": break long loops with cond_resched() outside rcu_read_lock(), do not spin waiting for a lock with "
              "preemption disabled" +
              (starved.empty() ? "" : ", and check what keeps the " + flavor + " kthread from running (RT priorities, CPU isolation)") +
              ".";
      return;
    }
    case FT::spinlock_lockup_suspected: {
      const Participant* owner = nullptr;
      const Participant* orphan = nullptr;
      for (size_t i = 1; i < f.participants.size(); ++i) {
        if (f.participants[i].state == "not copied by fork()") orphan = &f.participants[i];
        else if (!owner) owner = &f.participants[i];
      }
      std::string ms = fact::get(f, fact::kThresholdMs);
      if (!ms.empty()) {
        // User space: the runtime's watchdog.
        f.summary = task + " has spun on " + lock + " for over " + ms + " ms; " +
                    (owner    ? "it is held by " + participant_label(f, *owner)
                     : orphan ? "it was held by " + participant_label(f, *orphan) +
                                    " of the parent process when it called fork(), a thread this process does not have"
                              : "its holder is unknown");
        f.explanation = "A spinning lock was held far longer than a critical section should last: its holder is "
                        "blocked, sleeping or looping while holding it" +
                        std::string(orphan ? " — here a thread fork() did not copy, so it is never released." : ".");
        f.fix = "Find what the holder does while holding " + lock +
                " (see its stack); keep spinlock critical sections short and non-blocking, or use a mutex.";
        return;
      }
      std::string cpu = fact::get(f, fact::kCpu);
      std::string by = owner ? participant_label(f, *owner) : "an unknown owner";
      f.summary = task + " spins on " + lock + (cpu.empty() ? "" : " on CPU#" + cpu) + ", held by " + by;
      f.explanation = task + " spun" + (cpu.empty() ? "" : " on CPU#" + cpu) + " for a long time waiting for spinlock " +
                      lock + " held by " + by + " (in " + caller + ").";
      f.fix = "Look at what " + by + " does while holding " + lock +
              ": it never releases it (held across a sleep, taken again from an interrupt handler without "
              "spin_lock_irqsave(), or leaked on an error path).";
      return;
    }
    case FT::spinlock_bad_magic: {
      std::string msg = fact::get(f, fact::kMessage);
      f.summary = (msg.empty() ? std::string("spinlock bad magic") : msg) + ": " + lock + " in " + caller;
      f.explanation = "Spinlock " + lock + " used in " + caller + " is corrupt" + (msg.empty() ? "" : " (" + msg + ")") +
                      ": not initialized, already freed, or released by a task that does not own it.";
      f.fix = "Initialize " + lock + " with spin_lock_init() before use and make sure the object that contains it is "
              "not freed while in use; unlock only from the owning task.";
      return;
    }
    case FT::spinlock_already_unlocked: {
      f.summary = "spinlock " + lock + " released while not held (already unlocked) in " + caller;
      f.explanation = task + " released spinlock " + lock + " in " + caller +
                      " though it was not held: a double unlock, or an unlock on a path that never took it. Its magic "
                      "is valid, so the lock is initialised and not corrupt.";
      f.fix = "Make every spin_unlock() of " + lock + " match exactly one spin_lock() on the same path (look for an "
              "unlock repeated on an error path, or an unlock after a failed spin_trylock()).";
      return;
    }
    case FT::workqueue_lockup: {
      std::string pool = fact::get(f, fact::kPool), secs = fact::get(f, fact::kSeconds);
      std::string items = fact::get(f, fact::kInFlight);
      std::string running = items.empty() ? "" : " while running " + items;
      f.summary = "workqueue pool " + (pool.empty() ? std::string("?") : pool) + " stuck for " +
                  (secs.empty() ? std::string("too long") : secs + "s") + running;
      f.explanation = "No work item on the worker pool " + pool + " finished for " +
                      (secs.empty() ? std::string("longer than the watchdog threshold") : secs + " s") + running +
                      ": a work function blocks or spins (often on a lock, or waiting for work queued behind it on "
                      "the same pool), so everything queued after it waits too.";
      f.fix = std::string(items.empty() ? "Find the work function in flight on that pool"
                                        : "Look at " + items) +
              ": do not wait in a work item for another work item of the same workqueue (use a separate workqueue "
              "or WQ_MEM_RECLAIM), bound its loops with cond_resched(), and find who holds the lock it waits for.";
      return;
    }
    case FT::lockdep_internal_error: {
      std::string check = fact::get(f, fact::kCheck), at = fact::get(f, fact::kAt), fn = fact::get(f, fact::kFunction);
      std::string what = !check.empty() ? check : "a WARNING";
      std::string place = fn.empty() && at.empty() ? std::string("")
                                                   : " in " + (fn.empty() ? at : fn + (at.empty() ? "" : " (" + at + ")"));
      f.summary = "lockdep's own check failed: " + what + place + "; lockdep is off" +
                  (caller.empty() || st.empty() ? "" : ", lock operation in " + caller);
      f.explanation = "lockdep's bookkeeping broke (" + what + place +
                      ") and it turned itself off: no locking problem after this point was checked. This is usually "
                      "memory corruption, a lock used after it was freed or re-initialised while held, a lock whose "
                      "class was changed after use, or an interrupt state that the kernel did not tell lockdep about.";
      f.fix = (st.empty() ? std::string("Find the lock operation that triggered it")
                          : "Look at the lock operation in " + caller) +
              ": check that the lock is initialised once, alive and not re-initialised while held; then rerun, since "
              "this boot's lockdep coverage ended here.";
      return;
    }
    case FT::max_too_low: {
      std::string limit = fact::get(f, fact::kLimit);
      std::string value = fact::get(f, fact::kValue), max = fact::get(f, fact::kMax);
      f.summary = limit + " too low: lockdep turned off" + (value.empty() ? "" : " (" + value + " of " + max + ")");
      f.explanation = "lockdep ran out of " + limit + " and turned itself off: nothing after this point was checked "
                      "for deadlocks.";
      f.fix = "Raise " + knob_for(limit) + " and rerun; treat this run's lockdep coverage as incomplete.";
      return;
    }
    case FT::non_static_key:
      f.summary = "lock used before initialization (non-static key) in " + caller;
      f.explanation = "A lock in dynamically allocated memory was used in " + caller +
                      " without being initialized (or after its memory was freed), so lockdep has no class key for it.";
      f.fix = "Initialize the lock with spin_lock_init()/mutex_init()/init_rwsem() before its first use in " + caller +
              " (or lockdep_set_class() for a static key), and check for a use after free.";
      return;
    default:
      return;
  }
}

}  // namespace lockhound::voice
