// lockhound C++ lock types: real locks that tell lockhound what they do.
//
// lockhound::mutex, lockhound::spinlock and lockhound::shared_mutex lock for real (std::mutex, a
// test-and-test-and-set spinlock, std::shared_mutex) and annotate every acquisition and release
// through the C API (lockhound/lockhound.h), so lock-order cycles, recursive locking, locks shared
// with signal handlers and sleeping under a spinlock are found even on runs that never hang.
// They meet the standard Lockable / SharedLockable requirements and so work with
// std::lock_guard, std::scoped_lock, std::unique_lock and std::shared_lock.
//
// Classes: every lock takes an optional class name; locks with the same name follow the same
// rules (lockdep's lock class). Without a name, the class is the constructor's call site.
// Nesting two locks of one class in a fixed order: lock the inner one with lock_nested(1).
//
// The locks themselves are built on std::atomic wait/notify (futexes), not on pthreads, so that
// `lockhound run`, which also watches every pthread lock, does not see each one twice.
//
// Every lock is announced before it blocks, as the preloaded pthread locks are: a thread about to
// take a lock it already holds, or to close a lock-order cycle, is reported before it hangs, and a
// thread blocked in one of these locks takes part in the watchdog's actual-deadlock check.
//
// Costs: one annotation call per lock and unlock (a few tens of ns on a chain seen before); the
// uncontended lock and unlock make no system call.
// Link with -llockhound.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "lockhound/lockhound.h"

namespace lockhound {

namespace detail {
// Exclusive lock on one futex word: 0 free, 1 held, 2 held with waiters (Drepper's three-state
// mutex). `id` names the lock for the watchdog while a thread waits.
class futex_lock {
 public:
  void lock(const void* id) {
    int c = 0;
    if (word_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    if (c != 2) c = word_.exchange(2, std::memory_order_acquire);
    while (c != 0) {
      lockhound_futex_wait(id, reinterpret_cast<const volatile int*>(&word_), 2);
      c = word_.exchange(2, std::memory_order_acquire);
    }
  }
  bool try_lock() {
    int expected = 0;
    return word_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
  }
  void unlock() {
    if (word_.exchange(0, std::memory_order_release) == 2)
      lockhound_futex_wake(reinterpret_cast<const volatile int*>(&word_), 1);
  }

 private:
  std::atomic<int> word_{0};
};

// Reader/writer lock on one futex word: -1 writer, N > 0 readers, 0 free; waiters counted apart,
// so that an unlock with nobody waiting makes no system call.
class futex_rwlock {
 public:
  void lock(const void* id) {
    int expected = 0;
    while (!word_.compare_exchange_weak(expected, -1, std::memory_order_acquire)) {
      if (expected != 0) wait(id, expected);
      expected = 0;
    }
  }
  bool try_lock() {
    int expected = 0;
    return word_.compare_exchange_strong(expected, -1, std::memory_order_acquire);
  }
  void unlock() {
    word_.store(0, std::memory_order_seq_cst);
    wake();
  }
  void lock_shared(const void* id) {
    int cur = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (cur < 0) {
        wait(id, cur);
        cur = word_.load(std::memory_order_relaxed);
      } else if (word_.compare_exchange_weak(cur, cur + 1, std::memory_order_acquire)) {
        return;
      }
    }
  }
  bool try_lock_shared() {
    int cur = word_.load(std::memory_order_relaxed);
    while (cur >= 0)
      if (word_.compare_exchange_weak(cur, cur + 1, std::memory_order_acquire)) return true;
    return false;
  }
  void unlock_shared() {
    if (word_.fetch_sub(1, std::memory_order_seq_cst) == 1) wake();
  }

 private:
  // A waiter counts itself before it looks at the word and an unlocker looks at the count after
  // it changed the word (both sequentially consistent): one of them sees the other.
  void wait(const void* id, int seen) {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    lockhound_futex_wait(id, reinterpret_cast<const volatile int*>(&word_), seen);
    waiters_.fetch_sub(1, std::memory_order_relaxed);
  }
  void wake() {
    if (waiters_.load(std::memory_order_seq_cst) > 0)
      lockhound_futex_wake(reinterpret_cast<const volatile int*>(&word_), 1 << 30);
  }
  std::atomic<int> word_{0};
  std::atomic<int> waiters_{0};
};
static_assert(sizeof(std::atomic<int>) == sizeof(int), "futex words are plain ints");
}  // namespace detail

class mutex {
 public:
  explicit mutex(const char* class_name = nullptr) {
    lockhound_lock_init_at(this, class_name, LOCKHOUND_MUTEX, nullptr, 0, nullptr);
  }
  ~mutex() { lockhound_lock_destroy_at(this, nullptr, 0, nullptr); }
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock() {
    lockhound_acquire_at(this, LOCKHOUND_WRITE, 0, nullptr, 0, nullptr);
    m_.lock(this);
  }
  // Same-class nesting in a known order (lockdep's mutex_lock_nested).
  void lock_nested(unsigned subclass) {
    lockhound_acquire_at(this, LOCKHOUND_WRITE, subclass, nullptr, 0, nullptr);
    m_.lock(this);
  }
  bool try_lock() {
    if (!m_.try_lock()) return false;
    lockhound_acquire_at(this, LOCKHOUND_TRY, 0, nullptr, 0, nullptr);
    return true;
  }
  void unlock() {
    lockhound_release_at(this, nullptr, 0, nullptr);
    m_.unlock();
  }

 private:
  detail::futex_lock m_;
};

// A spinning lock: nothing may sleep (or take a sleeping lock) while it is held.
class spinlock {
 public:
  explicit spinlock(const char* class_name = nullptr) {
    lockhound_lock_init_at(this, class_name, LOCKHOUND_SPINLOCK, nullptr, 0, nullptr);
  }
  ~spinlock() { lockhound_lock_destroy_at(this, nullptr, 0, nullptr); }
  spinlock(const spinlock&) = delete;
  spinlock& operator=(const spinlock&) = delete;

  void lock() {
    lockhound_acquire_at(this, LOCKHOUND_WRITE, 0, nullptr, 0, nullptr);
    spin();
  }
  void lock_nested(unsigned subclass) {
    lockhound_acquire_at(this, LOCKHOUND_WRITE, subclass, nullptr, 0, nullptr);
    spin();
  }
  bool try_lock() {
    if (locked_.exchange(true, std::memory_order_acquire)) return false;
    lockhound_acquire_at(this, LOCKHOUND_TRY, 0, nullptr, 0, nullptr);
    return true;
  }
  void unlock() {
    lockhound_release_at(this, nullptr, 0, nullptr);
    locked_.store(false, std::memory_order_release);
  }

 private:
  void spin() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    // Contended: spin, and tell the watchdog each time another slice has gone by.
    unsigned slice = lockhound_wait_begin(this, 1);
    auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(slice);
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) {
        std::this_thread::yield();
        if (slice && std::chrono::steady_clock::now() >= next) {
          lockhound_wait_tick(this);
          next += std::chrono::milliseconds(slice);
        }
      }
    }
    lockhound_wait_end(this);
  }
  std::atomic<bool> locked_{false};
};

class shared_mutex {
 public:
  explicit shared_mutex(const char* class_name = nullptr) {
    lockhound_lock_init_at(this, class_name, LOCKHOUND_RWLOCK, nullptr, 0, nullptr);
  }
  ~shared_mutex() { lockhound_lock_destroy_at(this, nullptr, 0, nullptr); }
  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;

  void lock() {
    lockhound_acquire_at(this, LOCKHOUND_WRITE, 0, nullptr, 0, nullptr);
    m_.lock(this);
  }
  bool try_lock() {
    if (!m_.try_lock()) return false;
    lockhound_acquire_at(this, LOCKHOUND_TRY, 0, nullptr, 0, nullptr);
    return true;
  }
  void unlock() {
    lockhound_release_at(this, nullptr, 0, nullptr);
    m_.unlock();
  }
  // Readers that may block behind a writer: non-recursive readers in lockhound's model.
  void lock_shared() {
    lockhound_acquire_at(this, LOCKHOUND_READ, 0, nullptr, 0, nullptr);
    m_.lock_shared(this);
  }
  bool try_lock_shared() {
    if (!m_.try_lock_shared()) return false;
    lockhound_acquire_at(this, LOCKHOUND_READ | LOCKHOUND_TRY, 0, nullptr, 0, nullptr);
    return true;
  }
  void unlock_shared() {
    lockhound_release_at(this, nullptr, 0, nullptr);
    m_.unlock_shared();
  }

 private:
  detail::futex_rwlock m_;
};

}  // namespace lockhound
