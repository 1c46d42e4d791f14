// glibc's pthread mutex and rwlock, as the fast path uses them: where a lock can carry lockhound's
// class tag (fields glibc leaves unused for that kind of lock), and the uncontended protocol of a
// plain mutex, which the interposed lock and unlock run inline. mutex_protocol_ok() checks that
// protocol against the real glibc functions at start; the fast path is off if they differ.
#pragma once

#include <pthread.h>

#include <cstdint>

namespace lockhound::runtime {

// Where the class tag of a lock lives, or null for a lock that cannot carry one.
inline uint64_t* mutex_tag_slot(pthread_mutex_t* m) {
  // Robust (16), priority-inheritance (32), priority-protect (64) and process-shared (128)
  // mutexes may use the robust-list link, or live in memory other processes see. The link's
  // other half (__next) holds the key memo.
  if (__atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) & (16 | 32 | 64 | 128)) return nullptr;
  return reinterpret_cast<uint64_t*>(&m->__data.__list.__prev);
}
// A PTHREAD_MUTEX_TIMED_NP (default) private mutex without elision flags.
inline bool plain_mutex(const pthread_mutex_t* m) {
  return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) == 0;
}
// For a mutex already known to be plain (robust, PI, PP and shared ones excluded).
inline uint64_t* mutex_tag_slot_unchecked(pthread_mutex_t* m) {
  return reinterpret_cast<uint64_t*>(&m->__data.__list.__prev);
}
inline uint64_t* rwlock_tag_slot(pthread_rwlock_t* rw) {
  if (__atomic_load_n(&rw->__data.__shared, __ATOMIC_RELAXED)) return nullptr;
  return reinterpret_cast<uint64_t*>(&rw->__data.__pad2);
}

// glibc's protocol for a plain (PTHREAD_MUTEX_TIMED_NP, private) mutex, uncontended: the lock
// word goes 0 -> 1 by compare-and-swap, then the owner's tid and the user count are set; unlock
// clears them, swaps the word to 0, and wakes one waiter if it was 2 (contended). glibc's own
// lock, trylock, timed and condition-variable paths interoperate with it; mutex_protocol_ok()
// checks it against the real functions at start, and the fast path is off if they differ.
inline bool plain_trylock(pthread_mutex_t* m, int tid) {
  int expected = 0;
  if (!__atomic_compare_exchange_n(&m->__data.__lock, &expected, 1, false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED))
    return false;
  __atomic_store_n(&m->__data.__owner, tid, __ATOMIC_RELAXED);
  m->__data.__nusers++;  // only the holder writes it (one add to memory)
  return true;
}
// Wakes one waiter of a contended plain mutex; returns 0. Out of line and reached by a tail call,
// so that the unlock prologue needs no stack frame.
[[gnu::noinline, gnu::cold]] int plain_wake(pthread_mutex_t* m) noexcept;
inline int plain_unlock(pthread_mutex_t* m) {
  __atomic_store_n(&m->__data.__owner, 0, __ATOMIC_RELAXED);
  m->__data.__nusers--;
  if (__builtin_expect(__atomic_exchange_n(&m->__data.__lock, 0, __ATOMIC_RELEASE) > 1, 0)) return plain_wake(m);
  return 0;
}
bool mutex_protocol_ok();

}  // namespace lockhound::runtime
