#include "core/finding.h"

#include <array>

namespace lockhound {
namespace {
struct TypeInfo {
  FindingType type;
  std::string_view name;
  std::string_view title;
  std::string_view severity;
  std::string_view help;      // what the problem is and how it is usually fixed (SARIF rules)
};
constexpr std::array<TypeInfo, 32> kTypes{{
    {FindingType::circular_dependency, "circular_dependency", "possible circular locking dependency detected", "error",
     "Two or more locks are taken in orders that form a cycle: each thread on the cycle can hold one lock while it waits for the next, and then none can go on. Pick one global order for these locks and take them in that order everywhere, or drop the outer lock before taking the inner one."},
    {FindingType::recursive_locking, "recursive_locking", "possible recursive locking detected", "error",
     "A lock of a class is taken while a lock of the same class is already held. On the same instance the thread waits for itself forever; on another instance of the class the nesting needs an annotation (a subclass, mutex_lock_nested) or a fixed order between the instances."},
    {FindingType::inconsistent_lock_state, "inconsistent_lock_state", "inconsistent lock state", "error",
     "A lock is taken in interrupt (or signal handler) context and also, elsewhere, with that interrupt enabled. If the interrupt arrives while the lock is held outside it, the handler spins on a lock its own CPU holds. Take the lock with the interrupt disabled everywhere outside the handler."},
    {FindingType::irq_lock_inversion, "irq_lock_inversion", "possible irq lock inversion dependency detected", "error",
     "A lock used in interrupt context depends on a lock that is taken with interrupts enabled: an interrupt taken while the second lock is held can wait for the first, which waits for the second. Disable the interrupt around the unsafe lock, or break the dependency."},
    {FindingType::irq_safe_unsafe_order, "irq_safe_unsafe_order", "irq-safe -> irq-unsafe lock order detected", "error",
     "An interrupt-safe lock is held while an interrupt-unsafe lock is taken. Another CPU holding the unsafe lock can be interrupted by a handler that needs the safe lock, and the two wait for each other. Make the inner lock interrupt-safe or take it outside the safe one."},
    {FindingType::invalid_wait_context, "invalid_wait_context", "invalid wait context", "error",
     "A lock that may sleep is taken where sleeping is not allowed: under a spinning lock, in interrupt context or with interrupts disabled. Use a spinning lock there, or move the sleeping lock out of the atomic section."},
    {FindingType::sleeping_in_invalid_context, "sleeping_in_invalid_context", "sleeping function called from invalid context", "error",
     "A function that may sleep is called in atomic context: under a spinlock, with preemption or interrupts disabled, or in an interrupt. Move the call out of the atomic section or use a non-sleeping variant."},
    {FindingType::scheduling_while_atomic, "scheduling_while_atomic", "scheduling while atomic", "error",
     "The task scheduled (slept or blocked) while in atomic context, with a spinlock held or preemption disabled. Find the lock or preempt_disable() still in force and release it before the blocking call."},
    {FindingType::bad_unlock_balance, "bad_unlock_balance", "bad unlock balance detected", "error",
     "A lock is released that the context does not hold: a double unlock, an unlock on an error path that never locked, or an unlock in a different thread or task than the lock. Make every unlock match exactly one lock on the same path."},
    {FindingType::lock_held_returning_to_user, "lock_held_returning_to_user", "lock held when returning to user space", "error",
     "A system call returned to user space with a kernel lock still held. Every path out of the system call, error paths included, must release what it took."},
    {FindingType::still_has_locks_held, "still_has_locks_held", "context ended with locks still held", "error",
     "A thread or task ended while holding locks. Whoever waits for those locks next waits forever. Release them on every exit path."},
    {FindingType::held_lock_freed, "held_lock_freed", "held lock freed", "error",
     "Memory that holds a lock was freed, or a lock was destroyed, while the lock was still held. Release the lock before freeing its object and make sure no one can still take it."},
    {FindingType::nested_lock_not_taken, "nested_lock_not_taken", "nested lock was not taken", "error",
     "A lock was taken with a nest-lock annotation (mutex_lock_nest_lock and friends) but the outer lock that is meant to serialise the nesting is not held. Take the outer lock first or fix the annotation."},
    {FindingType::max_too_low, "max_too_low", "lockdep limit too low", "warning",
     "lockdep ran out of room in one of its tables and switched itself off: later locking problems in that boot were not checked. Raise the named CONFIG_LOCKDEP_* limit or look for a leak of lock classes."},
    {FindingType::lockdep_internal_error, "lockdep_internal_error", "lockdep internal error: lockdep turned off", "warning",
     "One of lockdep's own consistency checks failed (a DEBUG_LOCKS_WARN_ON or a WARNING inside kernel/locking/lockdep.c): its bookkeeping broke, often because of memory corruption, a lock used after it was freed or re-initialised while held, or an interrupt-state mismatch, and it turned itself off. Locking problems later in that boot were not checked. Fix what the stack points at (the lock operation in the caller) and rerun to get lockdep's coverage back."},
    {FindingType::hung_task, "hung_task", "task blocked for too long", "error",
     "A task stayed in uninterruptible sleep (D state) longer than the hung-task timeout: usually waiting for a lock, I/O or a completion that never comes. Look at what it waits for and who holds it."},
    {FindingType::soft_lockup, "soft_lockup", "soft lockup", "error",
     "A CPU ran kernel code without scheduling for longer than the soft-lockup threshold: often a spin on a lock that is never released, or a long loop without cond_resched()."},
    {FindingType::hard_lockup, "hard_lockup", "hard lockup", "error",
     "A CPU stopped taking interrupts for longer than the hard-lockup threshold: typically a spin on a lock with interrupts disabled. Find the lock holder, or the loop that keeps interrupts off."},
    {FindingType::rcu_stall, "rcu_stall", "RCU stall", "error",
     "A CPU or task did not pass through an RCU quiescent state in time: a long section with preemption or interrupts disabled, or a CPU stuck in a loop, blocks every RCU grace period."},
    {FindingType::spinlock_lockup_suspected, "spinlock_lockup_suspected", "spinlock lockup suspected", "error",
     "A CPU spun on a spinlock for a very long time: the holder may be stuck, dead or waiting for something this CPU holds. Find the owner named in the report and what it is doing."},
    {FindingType::spinlock_recursion, "spinlock_recursion", "spinlock recursion", "error",
     "A CPU tried to take a spinlock it already holds: it spins forever. Remove the nested acquisition, or split the lock."},
    {FindingType::spinlock_bad_magic, "spinlock_bad_magic", "spinlock bad magic", "error",
     "A spinlock was used that was never initialised, was corrupted, or was already freed. Initialise it before use and make sure its memory is still alive."},
    {FindingType::spinlock_already_unlocked, "spinlock_already_unlocked", "spinlock already unlocked", "error",
     "A spinlock was released that was not held: a double unlock, or an unlock on a path that never took it. Its magic is valid, so the lock itself is not corrupt. Make every spin_unlock match exactly one spin_lock on the same path."},
    {FindingType::workqueue_leaked_lock, "workqueue_leaked_lock", "workqueue leaked lock or atomic", "error",
     "A work item returned with a lock held or preemption disabled; the next work item on that worker runs in a broken state. Release everything before the work function returns."},
    {FindingType::workqueue_lockup, "workqueue_lockup", "workqueue lockup", "error",
     "A workqueue worker pool made no progress for longer than the workqueue watchdog's threshold: a work item on it blocks or spins (often waiting for a lock or for another work item queued behind it on the same pool), so every work item queued after it waits. Look at the in-flight work function and what it waits for."},
    {FindingType::non_static_key, "non_static_key", "trying to register non-static key", "warning",
     "A lock was used whose class key is not in static memory: a lock in dynamically allocated memory that was not initialised with its init function. Initialise the lock (spin_lock_init, mutex_init) before use."},
    {FindingType::witness_lock_order_reversal, "witness_lock_order_reversal", "lock order reversal", "error",
     "FreeBSD's WITNESS saw two locks taken in the opposite order to an earlier one: a possible deadlock. Choose one order for the two locks and keep to it."},
    {FindingType::missing_unlock, "missing_unlock", "function returns with a lock held on some paths", "error",
     "A function returns with a lock held on some of its paths but not on others: a lock leaked on an early return or an error path. Release the lock on every path that returns, or document the function as returning with it held on all of them."},
    {FindingType::guarded_cycle, "guarded_cycle", "lock order cycle guarded by a common lock", "note",
     "The locks are taken in orders that form a cycle, but every edge of the cycle is taken under one common lock held exclusively, so the orders cannot interleave today. Safe while that outer lock stays; fix the order before it is removed."},
    {FindingType::actual_deadlock, "actual_deadlock", "actual deadlock: threads wait for each other", "error",
     "Threads really wait for each other in a cycle: each holds a lock that the next one waits for. The program is stuck; break the cycle by taking the locks in one order."},
    {FindingType::filelock_deadlock, "filelock_deadlock", "file lock deadlock", "error",
     "Processes wait for each other's file locks (POSIX, flock or OFD locks) in a cycle. Take file locks in one order, or use non-blocking attempts with back-off."},
    {FindingType::blocking_call_under_lock, "blocking_call_under_lock", "blocking call while holding a lock", "warning",
     "A blocking call (sleep, usleep, nanosleep) is made while a lock is held: every other thread that needs the lock waits as long. Release the lock before the call."},
}};

using M = KernelHeadline::Match;
using FT = FindingType;
// Kernel 6.1's wording (kernel/locking/lockdep.c, spinlock_debug.c, hung_task.c, watchdog.c,
// rcu/tree_stall.h, workqueue.c, sched/core.c) and WITNESS's (subr_witness.c).
constexpr KernelHeadline kHeadlines[] = {
    {FT::circular_dependency, M::prefix, "possible circular locking dependency detected"},
    {FT::recursive_locking, M::prefix, "possible recursive locking detected"},
    {FT::inconsistent_lock_state, M::exact, "inconsistent lock state"},
    {FT::irq_lock_inversion, M::prefix, "possible irq lock inversion dependency detected"},
    {FT::irq_safe_unsafe_order, M::suffix, "lock order detected", "-safe -> "},
    {FT::bad_unlock_balance, M::prefix, "bad unlock balance detected"},
    {FT::lock_held_returning_to_user, M::prefix, "lock held when returning to user space"},
    {FT::held_lock_freed, M::prefix, "held lock freed"},
    {FT::still_has_locks_held, M::suffix, "still has locks held!", {}, "*"},
    {FT::nested_lock_not_taken, M::prefix, "Nested lock was not taken"},
    {FT::invalid_wait_context, M::prefix, "Invalid wait context"},
    {FT::max_too_low, M::prefix, "MAX_", "too low"},
    {FT::non_static_key, M::prefix, "trying to register non-static key"},
    {FT::spinlock_lockup_suspected, M::prefix, "spinlock lockup", {}, "BUG: "},
    {FT::spinlock_recursion, M::prefix, "spinlock recursion", {}, "BUG: "},
    {FT::spinlock_recursion, M::prefix, "spinlock cpu recursion", {}, "BUG: "},
    {FT::spinlock_recursion, M::prefix, "rwlock recursion", {}, "BUG: "},
    {FT::spinlock_recursion, M::prefix, "rwlock cpu recursion", {}, "BUG: "},
    {FT::spinlock_already_unlocked, M::prefix, "spinlock already unlocked", {}, "BUG: "},
    {FT::spinlock_bad_magic, M::prefix, "spinlock ", {}, "BUG: "},
    {FT::spinlock_bad_magic, M::prefix, "rwlock ", {}, "BUG: "},
    {FT::sleeping_in_invalid_context, M::prefix, "sleeping function called from invalid context", {}, "BUG: "},
    {FT::scheduling_while_atomic, M::prefix, "scheduling while atomic", {}, "BUG: "},
    {FT::soft_lockup, M::prefix, "soft lockup - CPU#", {}, "BUG: "},
    {FT::workqueue_leaked_lock, M::prefix, "workqueue leaked lock or atomic", {}, "BUG: "},
    {FT::workqueue_lockup, M::prefix, "workqueue lockup", {}, "BUG: "},
    {FT::hung_task, M::prefix, "task ", " blocked for more than ", "INFO: "},
    {FT::hung_task, M::prefix, "task ", " blocked for more than ", "-"},
    {FT::hung_task, M::prefix, "task ", " blocked in I/O wait for more than ", "INFO: "},
    {FT::hung_task, M::prefix, "task ", " blocked in I/O wait for more than ", "-"},
    {FT::hung_task, M::prefix, "task ", " can't die for more than ", "INFO: "},
    {FT::hung_task, M::prefix, "task ", " can't die for more than ", "-"},
    {FT::rcu_stall, M::contains, "self-detected stall on CPU", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "detected stalls on CPUs", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "detected stall on CPU", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "detected expedited stalls on CPUs", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "detected stalls on tasks", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "self-detected stall on CPU", {}, "-"},
    {FT::rcu_stall, M::contains, "detected expedited stalls on CPUs", {}, "-"},
    {FT::rcu_stall, M::contains, "detected stalls on tasks", {}, "-"},
    {FT::rcu_stall, M::contains, "detected stalls on CPUs", {}, "-"},
    {FT::rcu_stall, M::contains, "detected stall on CPU", {}, "-"},
    {FT::hard_lockup, M::prefix, "Watchdog detected hard LOCKUP"},
    // lockdep's own consistency checks: DEBUG_LOCKS_WARN_ON(cond) prints the condition alone, then
    // the WARNING at its place in lockdep.c (old and 6.16's "WARNING: file:line at func" forms).
    {FT::lockdep_internal_error, M::prefix, "DEBUG_LOCKS_WARN_ON(", {}, "-"},
    {FT::lockdep_internal_error, M::contains, "kernel/locking/lockdep.c:", " at ", "WARNING: "},
    {FT::witness_lock_order_reversal, M::prefix, "lock order reversal"},
    {FT::recursive_locking, M::prefix, "acquiring duplicate lock of same type"},
};

bool matches(const KernelHeadline& h, std::string_view t) {
  auto has = [&](std::string_view p) { return t.find(p) != std::string_view::npos; };
  bool ok = false;
  switch (h.match) {
    case M::prefix: ok = t.substr(0, h.text.size()) == h.text; break;
    case M::exact: ok = t == h.text; break;
    case M::suffix: ok = t.size() >= h.text.size() && t.substr(t.size() - h.text.size()) == h.text; break;
    case M::contains: ok = has(h.text); break;
  }
  return ok && (h.also.empty() || has(h.also));
}
}  // namespace

std::string_view type_name(FindingType t) {
  for (const auto& i : kTypes)
    if (i.type == t) return i.name;
  return "unknown";
}

std::string_view type_title(FindingType t) {
  for (const auto& i : kTypes)
    if (i.type == t) return i.title;
  return "unknown problem";
}

std::string_view type_help(FindingType t) {
  for (const auto& i : kTypes)
    if (i.type == t) return i.help;
  return "";
}

std::string_view type_severity(FindingType t) {
  for (const auto& i : kTypes)
    if (i.type == t) return i.severity;
  return "warning";
}

std::span<const KernelHeadline> kernel_headlines() { return kHeadlines; }

std::optional<FindingType> match_kernel_headline(std::string_view t, std::string_view severity) {
  for (const auto& h : kHeadlines) {
    bool ok = h.severity.empty() || (h.severity == "*" && !severity.empty()) ||
              (h.severity == "-" && severity.empty()) || h.severity == severity;
    if (!ok) continue;
    if (matches(h, t)) return h.type;
  }
  return std::nullopt;
}

}  // namespace lockhound
