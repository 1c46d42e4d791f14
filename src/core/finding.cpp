#include "core/finding.h"

#include <array>

namespace lockhound {
namespace {
struct TypeInfo {
  FindingType type;
  std::string_view name;
  std::string_view title;
  std::string_view severity;
};
constexpr std::array<TypeInfo, 29> kTypes{{
    {FindingType::circular_dependency, "circular_dependency", "possible circular locking dependency detected", "error"},
    {FindingType::recursive_locking, "recursive_locking", "possible recursive locking detected", "error"},
    {FindingType::inconsistent_lock_state, "inconsistent_lock_state", "inconsistent lock state", "error"},
    {FindingType::irq_lock_inversion, "irq_lock_inversion", "possible irq lock inversion dependency detected", "error"},
    {FindingType::irq_safe_unsafe_order, "irq_safe_unsafe_order", "irq-safe -> irq-unsafe lock order detected", "error"},
    {FindingType::invalid_wait_context, "invalid_wait_context", "invalid wait context", "error"},
    {FindingType::sleeping_in_invalid_context, "sleeping_in_invalid_context", "sleeping function called from invalid context", "error"},
    {FindingType::scheduling_while_atomic, "scheduling_while_atomic", "scheduling while atomic", "error"},
    {FindingType::bad_unlock_balance, "bad_unlock_balance", "bad unlock balance detected", "error"},
    {FindingType::lock_held_returning_to_user, "lock_held_returning_to_user", "lock held when returning to user space", "error"},
    {FindingType::still_has_locks_held, "still_has_locks_held", "context ended with locks still held", "error"},
    {FindingType::held_lock_freed, "held_lock_freed", "held lock freed", "error"},
    {FindingType::nested_lock_not_taken, "nested_lock_not_taken", "nested lock was not taken", "error"},
    {FindingType::max_too_low, "max_too_low", "lockdep limit too low", "warning"},
    {FindingType::hung_task, "hung_task", "task blocked for too long", "error"},
    {FindingType::soft_lockup, "soft_lockup", "soft lockup", "error"},
    {FindingType::hard_lockup, "hard_lockup", "hard lockup", "error"},
    {FindingType::rcu_stall, "rcu_stall", "RCU stall", "error"},
    {FindingType::spinlock_lockup_suspected, "spinlock_lockup_suspected", "spinlock lockup suspected", "error"},
    {FindingType::spinlock_recursion, "spinlock_recursion", "spinlock recursion", "error"},
    {FindingType::spinlock_bad_magic, "spinlock_bad_magic", "spinlock bad magic", "error"},
    {FindingType::workqueue_leaked_lock, "workqueue_leaked_lock", "workqueue leaked lock or atomic", "error"},
    {FindingType::non_static_key, "non_static_key", "trying to register non-static key", "warning"},
    {FindingType::witness_lock_order_reversal, "witness_lock_order_reversal", "lock order reversal", "error"},
    {FindingType::missing_unlock, "missing_unlock", "function returns with a lock held on some paths", "error"},
    {FindingType::guarded_cycle, "guarded_cycle", "lock order cycle guarded by a common lock", "note"},
    {FindingType::actual_deadlock, "actual_deadlock", "actual deadlock: threads wait for each other", "error"},
    {FindingType::filelock_deadlock, "filelock_deadlock", "file lock deadlock", "error"},
    {FindingType::blocking_call_under_lock, "blocking_call_under_lock", "blocking call while holding a lock", "warning"},
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
    {FT::spinlock_bad_magic, M::prefix, "spinlock ", {}, "BUG: "},
    {FT::spinlock_bad_magic, M::prefix, "rwlock ", {}, "BUG: "},
    {FT::sleeping_in_invalid_context, M::prefix, "sleeping function called from invalid context", {}, "BUG: "},
    {FT::scheduling_while_atomic, M::prefix, "scheduling while atomic", {}, "BUG: "},
    {FT::soft_lockup, M::prefix, "soft lockup - CPU#", {}, "BUG: "},
    {FT::workqueue_leaked_lock, M::prefix, "workqueue leaked lock or atomic", {}, "BUG: "},
    {FT::hung_task, M::prefix, "task ", " blocked for more than ", "INFO: "},
    {FT::hung_task, M::prefix, "task ", " blocked for more than ", "-"},
    {FT::rcu_stall, M::contains, "self-detected stall on CPU", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "detected stalls on CPUs", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "detected stall on CPU", {}, "INFO: "},
    {FT::rcu_stall, M::contains, "self-detected stall on CPU", {}, "-"},
    {FT::rcu_stall, M::contains, "detected stalls on CPUs", {}, "-"},
    {FT::rcu_stall, M::contains, "detected stall on CPU", {}, "-"},
    {FT::hard_lockup, M::prefix, "Watchdog detected hard LOCKUP"},
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
