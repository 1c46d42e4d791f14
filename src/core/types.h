// lockhound core vocabulary: lock kinds, wait types, interrupt kinds, acquisition modes.
//
// These are plain values shared by the engine, every front end and the renderers. Nothing here
// allocates or does I/O.
#pragma once

#include <cstdint>
#include <string_view>

namespace lockhound {

using ClassId = uint32_t;  // index of a lock class inside one Validator
inline constexpr ClassId kNoClass = UINT32_MAX;

using StackId = uint32_t;  // index of an interned stack inside one Validator; 0 = none
inline constexpr StackId kNoStack = 0;

// What kind of lock a class is. Decides the default wait type and how findings read
// ("spin_lock" vs "mutex_lock" vs "pthread_mutex_lock").
enum class LockKind : uint8_t {
  other,
  spinlock,       // kernel spinlock_t
  raw_spinlock,   // kernel raw_spinlock_t
  rwlock,         // kernel rwlock_t (spinning reader/writer)
  mutex,          // kernel struct mutex
  rw_semaphore,   // kernel rw_semaphore
  semaphore,      // kernel semaphore
  rcu,            // rcu_read_lock and friends (recursive read only)
  pthread_mutex,
  pthread_rwlock,
  pthread_spinlock,
  // Not a lock: the run of a callback (a timer, work item or interrupt handler) as scan models
  // a wait for it (del_timer_sync, cancel_work_sync, free_irq), the way lockdep's work and timer
  // maps do. Its findings are worded as waits (core/voice).
  callback,
};

// lockdep's wait types, reduced to what matters outside PREEMPT_RT: a spinning lock must not be
// held across anything that sleeps; a sleeping lock may sleep.
enum class WaitType : uint8_t { none, spin, sleep };

// The three kinds of interrupt the engine tracks. User space has one: an asynchronous signal
// handler interrupting a thread plays the role of a hardirq.
enum class Irq : uint8_t { hardirq = 0, softirq = 1, signal = 2 };
inline constexpr int kIrqKinds = 3;

// How a lock is taken. lockdep's read values: 0 exclusive, 1 non-recursive shared,
// 2 recursive shared (a reader that may nest inside another reader of the same lock).
enum class Mode : uint8_t { write = 0, read = 1, recursive_read = 2 };

std::string_view kind_name(LockKind kind);
WaitType default_wait_type(LockKind kind);
bool kind_is_reader_writer(LockKind kind);
std::string_view irq_name(Irq irq);        // "hardirq", "softirq", "signal"
std::string_view irq_state_name(Irq irq);  // "HARDIRQ", "SOFTIRQ", "SIGNAL" (lockdep usage names)

// The verb a person writes for taking / releasing a lock of this kind, for scenarios and fixes:
// "spin_lock", "mutex_lock", "pthread_mutex_lock", "read_lock", ...
std::string_view lock_verb(LockKind kind, Mode mode);
std::string_view unlock_verb(LockKind kind, Mode mode);

}  // namespace lockhound
