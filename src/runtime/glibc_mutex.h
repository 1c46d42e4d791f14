// glibc's pthread mutex and rwlock, as the fast path uses them: where a lock can carry lockhound's
// class tag (fields glibc leaves unused for that kind of lock), and the uncontended protocol of a
// plain mutex, which the interposed lock and unlock run inline. mutex_protocol_ok() checks that
// protocol against the real glibc functions at start; the fast path is off if they differ.
#pragma once

#include <pthread.h>
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define LOCKHOUND_SINGLE_THREADED 1
#endif

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
//
// While the process has one thread (glibc's __libc_single_threaded: no pthread_create yet),
// glibc itself takes and frees the word with plain loads and stores, no locked instruction; so
// do these. No other thread exists to see the word, and none can be waiting on it; a signal
// handler that takes the mutex between the load and the store frees it before it returns. The
// flag turns false before a second thread runs (pthread_create clears it first), so a mutex
// taken with a store and freed after that uses the exchange, which sees any waiter. A
// single-threaded program walking many mutexes paid the locked instruction where plain glibc
// did not: 10.2 against 3.9 ns per pair with no tracking at all (docs/performance.md).
inline bool single_threaded() {
#ifdef LOCKHOUND_SINGLE_THREADED
  return __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
#else
  return false;
#endif
}
// The word alone (0 -> 1); the owner and the user count are set after (plain_set_owner).
inline bool plain_take_word(pthread_mutex_t* m) {
  if (single_threaded()) {
    if (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) != 0) return false;
    __atomic_store_n(&m->__data.__lock, 1, __ATOMIC_RELAXED);
    return true;
  }
  int expected = 0;
  return __atomic_compare_exchange_n(&m->__data.__lock, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
inline void plain_set_owner(pthread_mutex_t* m, int tid) {
  __atomic_store_n(&m->__data.__owner, tid, __ATOMIC_RELAXED);
  m->__data.__nusers++;  // only the holder writes it (one add to memory)
}
inline bool plain_trylock(pthread_mutex_t* m, int tid) {
  if (!plain_take_word(m)) return false;
  plain_set_owner(m, tid);
  return true;
}
// Wakes one waiter of a contended plain mutex; returns 0. Out of line and reached by a tail call,
// so that the unlock prologue needs no stack frame.
[[gnu::noinline, gnu::cold]] int plain_wake(pthread_mutex_t* m) noexcept;
inline int plain_unlock(pthread_mutex_t* m) {
  __atomic_store_n(&m->__data.__owner, 0, __ATOMIC_RELAXED);
  m->__data.__nusers--;
  if (single_threaded()) {
    __atomic_store_n(&m->__data.__lock, 0, __ATOMIC_RELAXED);
    return 0;
  }
  if (__builtin_expect(__atomic_exchange_n(&m->__data.__lock, 0, __ATOMIC_RELEASE) > 1, 0)) return plain_wake(m);
  return 0;
}
bool mutex_protocol_ok();

}  // namespace lockhound::runtime
