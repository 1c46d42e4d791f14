#include "core/types.h"

#include <array>

namespace lockhound {
namespace {
struct KindInfo {
  LockKind kind;
  std::string_view name;
  WaitType wait;
  bool rw;
};
constexpr std::array<KindInfo, 12> kKinds{{
    {LockKind::other, "lock", WaitType::none, false},
    {LockKind::spinlock, "spinlock", WaitType::spin, false},
    {LockKind::raw_spinlock, "raw_spinlock", WaitType::spin, false},
    {LockKind::rwlock, "rwlock", WaitType::spin, true},
    {LockKind::mutex, "mutex", WaitType::sleep, false},
    {LockKind::rw_semaphore, "rwsem", WaitType::sleep, true},
    {LockKind::semaphore, "semaphore", WaitType::sleep, false},
    {LockKind::rcu, "rcu", WaitType::none, true},
    {LockKind::pthread_mutex, "pthread_mutex", WaitType::sleep, false},
    {LockKind::pthread_rwlock, "pthread_rwlock", WaitType::sleep, true},
    {LockKind::pthread_spinlock, "pthread_spinlock", WaitType::spin, false},
    {LockKind::callback, "callback", WaitType::none, false},
}};
// The table is in the enum's order: a kind is its index (asked on every new lock and class).
constexpr bool in_enum_order() {
  for (size_t i = 0; i < kKinds.size(); ++i)
    if (static_cast<size_t>(kKinds[i].kind) != i) return false;
  return true;
}
static_assert(in_enum_order());
const KindInfo& info(LockKind k) {
  size_t i = static_cast<size_t>(k);
  return i < kKinds.size() ? kKinds[i] : kKinds[0];
}
}  // namespace

std::string_view kind_name(LockKind kind) { return info(kind).name; }

WaitType default_wait_type(LockKind kind) { return info(kind).wait; }
bool kind_is_reader_writer(LockKind kind) { return info(kind).rw; }

std::string_view irq_name(Irq irq) {
  switch (irq) {
    case Irq::hardirq: return "hardirq";
    case Irq::softirq: return "softirq";
    case Irq::signal: return "signal";
  }
  return "?";
}

std::string_view irq_state_name(Irq irq) {
  switch (irq) {
    case Irq::hardirq: return "HARDIRQ";
    case Irq::softirq: return "SOFTIRQ";
    case Irq::signal: return "SIGNAL";
  }
  return "?";
}

std::string_view lock_verb(LockKind kind, Mode mode) {
  bool rd = mode != Mode::write;
  switch (kind) {
    case LockKind::spinlock:
    case LockKind::raw_spinlock: return kind == LockKind::raw_spinlock ? "raw_spin_lock" : "spin_lock";
    case LockKind::rwlock: return rd ? "read_lock" : "write_lock";
    case LockKind::mutex: return "mutex_lock";
    case LockKind::rw_semaphore: return rd ? "down_read" : "down_write";
    case LockKind::semaphore: return "down";
    case LockKind::rcu: return "rcu_read_lock";
    case LockKind::pthread_mutex: return "pthread_mutex_lock";
    case LockKind::pthread_rwlock: return rd ? "pthread_rwlock_rdlock" : "pthread_rwlock_wrlock";
    case LockKind::pthread_spinlock: return "pthread_spin_lock";
    case LockKind::callback: return "wait_for";
    case LockKind::other: break;
  }
  return rd ? "read_lock" : "lock";
}

std::string_view unlock_verb(LockKind kind, Mode mode) {
  bool rd = mode != Mode::write;
  switch (kind) {
    case LockKind::spinlock: return "spin_unlock";
    case LockKind::raw_spinlock: return "raw_spin_unlock";
    case LockKind::rwlock: return rd ? "read_unlock" : "write_unlock";
    case LockKind::mutex: return "mutex_unlock";
    case LockKind::rw_semaphore: return rd ? "up_read" : "up_write";
    case LockKind::semaphore: return "up";
    case LockKind::rcu: return "rcu_read_unlock";
    case LockKind::pthread_mutex: return "pthread_mutex_unlock";
    case LockKind::pthread_rwlock: return "pthread_rwlock_unlock";
    case LockKind::pthread_spinlock: return "pthread_spin_unlock";
    case LockKind::callback: return "done";
    case LockKind::other: break;
  }
  return "unlock";
}

}  // namespace lockhound
