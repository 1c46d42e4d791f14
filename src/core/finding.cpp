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
constexpr std::array<TypeInfo, 28> kTypes{{
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
}};
}  // namespace

std::string_view type_name(FindingType t) {
  for (const auto& i : kTypes)
    if (i.type == t) return i.name;
  return "unknown";
}

std::optional<FindingType> type_from_name(std::string_view name) {
  for (const auto& i : kTypes)
    if (i.name == name) return i.type;
  return std::nullopt;
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

}  // namespace lockhound
