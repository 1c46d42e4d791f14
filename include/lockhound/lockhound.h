/* lockhound annotation API (C).
 *
 * Tell lockhound about your own locks and interrupt-like contexts, so that its engine checks them
 * with lockdep's rules: lock order cycles, recursive locking, locks shared with a signal handler
 * (or, in a kernel-style model, a hardirq/softirq handler) without masking it, sleeping under a
 * spinning lock, unbalanced unlocks, locks held at thread exit or freed while held.
 *
 * Link with -llockhound (or run under `lockhound run`, which preloads the same runtime). Every
 * call is cheap on paths seen before and never blocks, throws, or fails the program: if the
 * runtime cannot go on it says so once on stderr and turns the calls into no-ops.
 *
 * Sites: the *_at functions take the caller's file, line and function; the macros without _at
 * fill them in. Pass NULL/0/NULL to let the runtime capture and symbolise the call stack.
 *
 * Reports: findings are printed when first found and summarised at exit, on stderr or where
 * LOCKHOUND_OPTIONS=log_path=PREFIX says (see docs/runtime.md).
 */
#ifndef LOCKHOUND_LOCKHOUND_H
#define LOCKHOUND_LOCKHOUND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum lockhound_lock_kind {
  LOCKHOUND_MUTEX = 0,        /* sleeping, exclusive (pthread mutex, std::mutex, kernel mutex) */
  LOCKHOUND_SPINLOCK = 1,     /* spinning, exclusive: nothing may sleep while it is held */
  LOCKHOUND_RWLOCK = 2,       /* sleeping reader/writer (pthread rwlock, std::shared_mutex, rwsem) */
  LOCKHOUND_RWSPINLOCK = 3,   /* spinning reader/writer (kernel rwlock_t) */
  LOCKHOUND_RAW_SPINLOCK = 4, /* kernel raw_spinlock_t */
  LOCKHOUND_SEMAPHORE = 5     /* counting semaphore used as a lock */
};

/* Acquisition flags. */
enum {
  LOCKHOUND_WRITE = 0,
  LOCKHOUND_READ = 1,           /* shared, non-recursive reader (may block behind a writer) */
  LOCKHOUND_RECURSIVE_READ = 2, /* shared reader that may nest inside another reader */
  LOCKHOUND_TRY = 4             /* a trylock that succeeded: held, but never a deadlock wait */
};

/* Interrupt-like contexts. User programs have one: an asynchronous signal handler. */
enum lockhound_irq { LOCKHOUND_HARDIRQ = 0, LOCKHOUND_SOFTIRQ = 1, LOCKHOUND_SIGNAL = 2 };

/* Declares `lock` (any address that identifies it) as an instance of the class `class_name`.
 * Locks with the same class name follow the same rules (like lockdep's lock class). NULL names
 * the class after the call site. Calling it again on the same address starts a new lifetime. */
void lockhound_lock_init_at(const void *lock, const char *class_name, enum lockhound_lock_kind kind,
                            const char *file, int line, const char *func);
/* The lock's lifetime ends. Destroying a held lock is reported (held lock freed). */
void lockhound_lock_destroy_at(const void *lock, const char *file, int line, const char *func);

/* Call *before* blocking to take the lock, as the preloaded pthread locks do: a certain
 * self-deadlock or a lock-order inversion is then reported before the thread hangs. If the
 * acquisition then fails (a timed lock that timed out), call lockhound_release_at. For a trylock
 * call it after the trylock succeeded, with LOCKHOUND_TRY (a failed trylock is no acquisition).
 * `subclass` (0-7) is lockdep's nesting annotation: same-class locks taken nested with distinct
 * subclasses are not recursive locking. */
void lockhound_acquire_at(const void *lock, unsigned flags, unsigned subclass,
                          const char *file, int line, const char *func);
/* Like lockhound_acquire_at for a same-class lock serialised by the held `nest_lock`. */
void lockhound_acquire_nest_at(const void *lock, const void *nest_lock, unsigned flags,
                               const char *file, int line, const char *func);
/* Call before (or right after) releasing the lock. */
void lockhound_release_at(const void *lock, const char *file, int line, const char *func);

/* Your own lock's slow path, seen by the watchdog: a thread blocked in it takes part in the
 * actual-deadlock check with the threads blocked in pthread locks, and a spinlock spun on for too
 * long is reported, each with every involved thread's stack. Call lockhound_wait_begin before
 * waiting for `lock` (announced with lockhound_acquire_at), lockhound_wait_tick each time the
 * wait has lasted another slice (the milliseconds wait_begin returns; 0: no watchdog, no ticks
 * needed), and lockhound_wait_end once it has the lock. `spinning`: 1 for a spinning wait. */
unsigned lockhound_wait_begin(const void *lock, int spinning);
void lockhound_wait_tick(const void *lock);
void lockhound_wait_end(const void *lock);
/* The same for a futex-based lock: blocks while the 32-bit `word` holds `expected` (spurious
 * returns are possible: check the word again), ticking the watchdog; and wakes up to n waiters. */
void lockhound_futex_wait(const void *lock, const volatile int *word, int expected);
void lockhound_futex_wake(const volatile int *word, int n);

/* Interrupt context of the calling thread: enter/exit a handler; enable/disable delivery. */
void lockhound_irq_enter(enum lockhound_irq irq);
void lockhound_irq_exit(enum lockhound_irq irq);
void lockhound_irq_enable(enum lockhound_irq irq);
void lockhound_irq_disable(enum lockhound_irq irq);

/* The calling thread is about to do something that may sleep or block. */
void lockhound_might_sleep_at(const char *what, const char *file, int line, const char *func);

/* The calling thread's context ends (locks still held are reported). Thread exit does this. */
void lockhound_thread_exit(void);
/* Names the calling thread in reports. */
void lockhound_set_thread_name(const char *name);

/* Number of distinct problems found so far, and a report of them now (text, to the log). */
size_t lockhound_finding_count(void);
void lockhound_print_report(void);

#define lockhound_lock_init(lock, name, kind) \
  lockhound_lock_init_at((lock), (name), (kind), __FILE__, __LINE__, __func__)
#define lockhound_lock_destroy(lock) lockhound_lock_destroy_at((lock), __FILE__, __LINE__, __func__)
#define lockhound_acquire(lock, flags, subclass) \
  lockhound_acquire_at((lock), (flags), (subclass), __FILE__, __LINE__, __func__)
#define lockhound_acquire_nest(lock, nest, flags) \
  lockhound_acquire_nest_at((lock), (nest), (flags), __FILE__, __LINE__, __func__)
#define lockhound_release(lock) lockhound_release_at((lock), __FILE__, __LINE__, __func__)
#define lockhound_might_sleep(what) lockhound_might_sleep_at((what), __FILE__, __LINE__, __func__)

#ifdef __cplusplus
}
#endif

#endif /* LOCKHOUND_LOCKHOUND_H */
