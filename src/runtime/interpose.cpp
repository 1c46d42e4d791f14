// The interposed functions: every pthread / C11 lock call, condition waits, signal handler
// installation and masks, sleeping calls, and _exit. Each one is the real function plus, when the
// runtime tracks this thread, an engine event. Order matters:
//   - blocking acquisitions are told to the engine *before* blocking (a certain self-deadlock is
//     reported before the thread hangs), then undone if the lock call fails;
//   - trylocks are told after they succeed (a failed trylock is not an acquisition);
//   - releases are told before the real unlock (after it, another thread may already have
//     destroyed and reused the memory).
// Recursive mutexes re-taken by their owner and errorcheck relocks are not acquisitions: glibc's
// own owner and count fields tell them apart, so no extra per-lock state is kept.
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <threads.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <optional>

#include "runtime/real.h"
#include "runtime/operations.h"
#include "symbolize/symbolize.h"

using namespace lockhound;
using namespace lockhound::runtime;

namespace {

#define LH_EXPORT __attribute__((visibility("default")))
#define LH_IP reinterpret_cast<uint64_t>(__builtin_return_address(0))
// The caller's frame at its lock call (HeldEntry::frame): its stack pointer just before the call
// (this function's CFA) and its frame pointer register. This file is built with rbp reserved
// (-ffixed-rbp, LOCKHOUND_FIXED_FP), so rbp still holds the caller's value anywhere in it; without
// that the frame pointer is unknown (0) and only stack-pointer-based frames are found again.
// (frame_here() in fastpath.h; in an always-inlined prologue, the exported function's frame.)
#define LH_FRAME frame_here()

inline uint64_t addr(const volatile void* p) { return reinterpret_cast<uint64_t>(p); }

// The caller's callee-saved registers at its lock call (ThreadState::call_regs): this file is
// built with them reserved too (-ffixed-rbx and r12-r15, LOCKHOUND_FIXED_REGS), so anywhere in it
// they still hold what the caller had there. Only the engine's path reads them (a lock first met
// at lock time is named by the caller's variable it lies in), so only that path saves them.
inline void save_call_regs([[maybe_unused]] ThreadState* ts, [[maybe_unused]] uint64_t lock) {
#if defined(LOCKHOUND_FIXED_REGS) && defined(__x86_64__)
  CallRegs& c = ts->call_regs;
  asm("mov %%rbx, %0\n\tmov %%r12, %1\n\tmov %%r13, %2\n\tmov %%r14, %3\n\tmov %%r15, %4"
      : "=m"(c.rbx), "=m"(c.r12), "=m"(c.r13), "=m"(c.r14), "=m"(c.r15));
  c.lock = lock;
#endif
}

// The engine's path for an acquisition the fast path did not take (on_acquire), with the
// caller's registers saved first.
inline void engine_acquire(ThreadState* ts, uint64_t lock, LockKind kind, Mode mode, bool trylock, uint64_t ip,
                           uint64_t* tag, CallFrame frame) {
  save_call_regs(ts, lock);
  on_acquire(ts, lock, kind, mode, trylock, ip, nullptr, 0, 0, tag, frame);
}

// glibc's mutex kind and owner (ABI-stable fields of pthread_mutex_t).
inline int mutex_kind(const pthread_mutex_t* m) {
  return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) & 3;  // PTHREAD_MUTEX_KIND_MASK_NP
}
inline int mutex_owner(const pthread_mutex_t* m) {
  return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
}
inline unsigned mutex_count(const pthread_mutex_t* m) {
  return __atomic_load_n(&m->__data.__count, __ATOMIC_RELAXED);
}
// A relock by the owner that is not an acquisition (recursive nesting, errorcheck's EDEADLK).
inline bool owner_relock(const pthread_mutex_t* m, const ThreadState* ts) {
  int k = mutex_kind(m);
  return (k == PTHREAD_MUTEX_RECURSIVE || k == PTHREAD_MUTEX_ERRORCHECK) && mutex_owner(m) == ts->tid;
}

// glibc readers never block behind a waiting writer unless the lock prefers writers
// non-recursively: only then can a read acquisition deadlock against a queued writer.
inline Mode read_mode(const pthread_rwlock_t* rw) {
  return rw->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP ? Mode::read
                                                                            : Mode::recursive_read;
}

struct timespec realtime_after_ms(int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += static_cast<long>(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

// Marks the thread as waiting for the watchdog while a blocking call runs.
struct Waiting {
  ThreadState* ts;
  Waiting(ThreadState* t, const volatile void* lock) : ts(t) {
    ts->waiting_on.store(addr(lock), std::memory_order_relaxed);
  }
  ~Waiting() {
    ts->waiting_on.store(0, std::memory_order_relaxed);
    ts->stalled.store(false, std::memory_order_relaxed);
  }
};

// Waits for a lock with the watchdog: try first (the uncontended case costs nothing more), then
// wait in slices of watchdog_ms; each expired slice looks for an actual deadlock.
// A lock held by a thread that fork() left behind is never released here: said before waiting.
template <class Try, class Timed, class Block, class Owner>
int wait_with_watchdog(ThreadState* ts, const volatile void* lock, uint64_t ip, Try try_fn, Timed timed_fn,
                       Block block_fn, Owner owner_fn) {
  int rc = try_fn();
  if (rc != EBUSY) return rc;
  if (g_fork_orphans.load(std::memory_order_relaxed)) on_orphan_wait(ts, addr(lock), owner_fn(), ip);
  int ms = options().watchdog_ms;
  if (ms <= 0) return block_fn();
  Waiting w(ts, lock);
  for (;;) {
    struct timespec deadline = realtime_after_ms(ms);
    rc = timed_fn(&deadline);
    if (rc != ETIMEDOUT) return rc;
    on_stall(ts, addr(lock), false, ip);
  }
}

inline bool acquired(int rc) { return rc == 0 || rc == EOWNERDEAD; }

// An acquisition: the fast path when its chain is validated, else the engine.
inline void acquire_mutex(ThreadState* ts, pthread_mutex_t* m, bool trylock, uint64_t ip, CallFrame frame) {
  uint64_t* tag = mutex_tag_slot(m);
  if (!fast_acquire(ts, addr(m), tag, Mode::write, trylock, ip, frame, plain_mutex(m)))
    engine_acquire(ts, addr(m), LockKind::pthread_mutex, Mode::write, trylock, ip, tag, frame);
}

inline void acquire_rwlock(ThreadState* ts, pthread_rwlock_t* rw, Mode mode, bool trylock, uint64_t ip,
                           CallFrame frame) {
  uint64_t* tag = rwlock_tag_slot(rw);
  if (!fast_acquire(ts, addr(rw), tag, mode, trylock, ip, frame, false))
    engine_acquire(ts, addr(rw), LockKind::pthread_rwlock, mode, trylock, ip, tag, frame);
}

// --- the fast prologues ----------------------------------------------------------------------
// The common case costs a few dozen instructions: a thread the runtime knows, outside the runtime,
// a plain private mutex (no owner or recursion bookkeeping in glibc's way), a validated chain.
// Everything else goes to the general paths below. The allocator check of tracking_at() is not
// needed here: the fast path never allocates, and a chain only becomes fast after the slow path,
// which does the check, validated it.

// For a release: a thread the runtime knows, outside the runtime. (Whether the fast path is on
// is in the entry the release pops: see kNoFastPopIdBit.)
inline ThreadState* fast_thread() {
  ThreadState* ts = t_local.self;
  return reinterpret_cast<uintptr_t>(ts) > 1 && t_local.guard == 0 ? ts : nullptr;  // 1 = kEnded
}
// The same for an acquisition, which also needs the engine context's view of the handled signals
// to be current: one compare covers that and the fast path being on.
inline ThreadState* fast_acquiring_thread() {
  uint64_t guard_epoch;  // guard (low half) and epoch (high half), read together
  std::memcpy(&guard_epoch, &t_local.guard, sizeof guard_epoch);
  bool ok = guard_epoch == g_fast_epoch.load(std::memory_order_relaxed);
  return ok ? t_local.self : nullptr;  // a matching epoch rules out kEnded (ThreadLocal)
}
// Pops the top held entry if it is `lock` (a non-spinning one): fast_release's common case alone,
// which keeps the unlock prologue free of its out-of-order loop (9 instructions per pair less,
// callgrind); anything else goes through the general path, which calls fast_release.
inline bool fast_pop(ThreadState* ts, uint64_t lock) {
  uint32_t n = ts->held.n;
  const HeldEntry& top = (ts->held.data + n)[-1];  // n = 0: the stack's base entry, lock 0
  if (top.lock != lock || (top.id & (0x80 | kNoFastPopIdBit))) return false;  // spinning, or no fast path
  ts->held.n = n - 1;
  return true;
}

// noexcept throughout: a call from a noexcept function to one that may throw cannot be a tail
// call, and the prologues stay free of a stack frame only through tail calls.
int mutex_lock_general(pthread_mutex_t* m, uint64_t ip, CallFrame frame) noexcept;
int mutex_unlock_general(pthread_mutex_t* m, uint64_t ip) noexcept;
int mutex_trylock_general(pthread_mutex_t* m, uint64_t ip, CallFrame frame) noexcept;

// A trylock failed and the calling thread owns the mutex (glibc's owner field, which only the
// owner sets to its own tid): it tried a lock it already holds, which fails for as long as it
// holds it. Reached only from a failed trylock.
[[gnu::noinline, gnu::cold]] int trylock_of_held(pthread_mutex_t* m, int rc, uint64_t ip) noexcept {
  if (!tracking_at(ip)) return rc;
  if (ThreadState* ts = self()) on_trylock_held(ts, addr(m), Mode::write, ip);
  return rc;
}

// While the runtime works on an acquisition whose word the thread already holds (the engine told
// after the fact, the thread's state made), the program has not entered its critical section:
// what the mutex protects is as the last holder left it. The runtime's work may call the
// program back: its allocations go through the program's operator new or malloc, which may take
// this very lock (an allocation tracker's `std::lock_guard g(alloc_mu)` in operator new, or a
// spinlock). That nested lock, and its unlock, pass through without touching the word: the thread
// holds it, no other thread can be inside, and the nested section ends before the program's own
// begins. Without this, the thread waited for itself for ever (tests/runtime/progs/alloc_lock.cpp).
struct Pending {
  const volatile void* before;
  explicit Pending(const volatile void* m) : before(t_local.pending) { t_local.pending = m; }
  ~Pending() { t_local.pending = before; }
};
inline bool is_pending(const volatile void* m) { return m == t_local.pending; }

// The lock was just taken (uncontended) and the fast path could not decide: the engine hears of
// it now. Nothing was waited for, so telling it after taking the lock loses nothing.
[[gnu::noinline]] int record_taken(ThreadState* ts, pthread_mutex_t* m, bool trylock, uint64_t ip,
                                   CallFrame frame) noexcept {
  if (tracking_at(ip)) {
    Pending p(m);
    engine_acquire(ts, addr(m), LockKind::pthread_mutex, Mode::write, trylock, ip, mutex_tag_slot_unchecked(m),
                   frame);
  }
  return 0;
}

// The lock was just taken and neither memo vouched for its chain: the table, else the engine.
// Flattened: fast_probe is inlined here rather than called (two locks of one init site nested
// always come here, their pair being keyed by both locks: one init site, random pairs, warm,
// pinned, 8 runs each: 15.6 -> 14.65 ns per pair; cold 22.3 -> 21.3).
[[gnu::noinline, gnu::flatten]] int probe_taken(ThreadState* ts, pthread_mutex_t* m, uint64_t id, uint64_t key, uint64_t ip,
                                  CallFrame frame) noexcept {
  if (fast_probe(ts, addr(m), mutex_tag_slot_unchecked(m), id, key, ip, frame, true)) return 0;
  return record_taken(ts, m, id & 1, ip, frame);
}

// After a plain mutex was taken (uncontended): the fast path's first step, then out of line.
// (Inline: as a function of its own reached by a tail call it saved a few pushes, but cost 1 ns
// per nested pair more on this machine.)
template <bool trylock>
[[gnu::always_inline]] inline int mutex_taken(ThreadState* ts, pthread_mutex_t* m, uint64_t tag, uint64_t memo,
                                  uint64_t ip) noexcept {
  FastStep st = fast_step(ts, addr(m), tag, memo, Mode::write, trylock, ip, CallFrame{kFrameHere, 0}, true,
                          /*epoch_checked=*/true);
  if (__builtin_expect(st.result == FastStep::pushed, 1)) return 0;
  if (st.result == FastStep::probe) return probe_taken(ts, m, st.id, st.key, ip, LH_FRAME);
  return record_taken(ts, m, trylock, ip, LH_FRAME);
}

// The prologue took a plain mutex's word, and the thread is not on the fast path (inside the
// runtime, not known yet or any more, its signal view behind, the fast path off): the owner as
// glibc sets it, then what the general path would have told the engine before taking it.
[[gnu::noinline]] int mutex_taken_general(pthread_mutex_t* m, uint64_t ip, CallFrame frame) noexcept {
  ThreadState* known = t_local.self;
  plain_set_owner(m, reinterpret_cast<uintptr_t>(known) > 1 ? known->tid : static_cast<int>(syscall(SYS_gettid)));
  if (!tracking_at(ip)) return 0;
  Pending p(m);
  if (ThreadState* ts = self()) acquire_mutex(ts, m, false, ip, frame);
  return 0;
}

// Uncontended lock of a plain mutex: the lock word, then the held stack. Contended (or not a
// plain mutex): the general path, which tells the engine before it blocks. The common case makes
// no call at all; every other one is a tail call.
//
// The thread's checks come after the word is taken: a branch on a thread-local load ahead of the
// locked instruction cost 3 ns per lock on this project's machine (AMD EPYC; nested 1 thread,
// with nothing else of the fast path: 13.5 against 10.4 ns per pair with the checks after).
[[gnu::always_inline]] inline int mutex_lock_impl(pthread_mutex_t* m, uint64_t ip) {
  // The mutex's words first: when its line is not in the cache, the miss starts before the
  // thread checks rather than after them (harmless reads when the general path takes over).
  uint64_t* slot = mutex_tag_slot_unchecked(m);
  uint64_t tag = __atomic_load_n(slot, __ATOMIC_RELAXED);
  uint64_t memo = __atomic_load_n(slot + 1, __ATOMIC_RELAXED);
  if (!plain_mutex(m) || !plain_take_word(m)) return mutex_lock_general(m, ip, LH_FRAME);
  ThreadState* ts = fast_acquiring_thread();
  if (!ts) return mutex_taken_general(m, ip, LH_FRAME);
  plain_set_owner(m, ts->tid);
  return mutex_taken<false>(ts, m, tag, memo, ip);
}

[[gnu::always_inline]] inline int mutex_unlock_impl(pthread_mutex_t* m, uint64_t ip) {
  ThreadState* ts = fast_thread();
  if (!ts || !plain_mutex(m) || !fast_pop(ts, addr(m))) return mutex_unlock_general(m, ip);
  return plain_unlock(m);
}

[[gnu::always_inline]] inline int mutex_trylock_impl(pthread_mutex_t* m, uint64_t ip) {
  ThreadState* ts = fast_acquiring_thread();
  if (!ts || !plain_mutex(m)) return mutex_trylock_general(m, ip, LH_FRAME);
  uint64_t* slot = mutex_tag_slot_unchecked(m);
  uint64_t tag = __atomic_load_n(slot, __ATOMIC_RELAXED);
  uint64_t memo = __atomic_load_n(slot + 1, __ATOMIC_RELAXED);
  if (!plain_trylock(m, ts->tid)) return mutex_owner(m) == ts->tid ? trylock_of_held(m, EBUSY, ip) : EBUSY;
  return mutex_taken<true>(ts, m, tag, memo, ip);
}

// --- the general paths ------------------------------------------------------------------------
[[gnu::noinline]] int mutex_lock_general(pthread_mutex_t* m, uint64_t ip, CallFrame frame) noexcept {
  if (is_pending(m)) return 0;  // the runtime's own call back into the program (Pending)
  auto lock_fn = real::pthread_mutex_lock();
  if (!tracking_at(ip)) return lock_fn(m);
  ThreadState* ts = self();
  if (ts && mutex_kind(m) == PTHREAD_MUTEX_ERRORCHECK && mutex_owner(m) == ts->tid) {
    // The owner locks its error-checking mutex again: glibc answers EDEADLK where a default
    // mutex would hang for ever. Shown to the engine as the acquisition it is (recursive
    // locking, same instance), then undone as the failed call it becomes.
    acquire_mutex(ts, m, false, ip, frame);
    on_release(ts, addr(m), ip);
    return lock_fn(m);
  }
  if (!ts || owner_relock(m, ts)) return lock_fn(m);
  acquire_mutex(ts, m, false, ip, frame);
  int rc = wait_with_watchdog(
      ts, m, ip, [&] { return real::pthread_mutex_trylock()(m); },
      [&](const struct timespec* t) { return real::pthread_mutex_timedlock()(m, t); },
      [&] { return lock_fn(m); }, [&] { return mutex_owner(m); });
  if (!acquired(rc)) on_release(ts, addr(m), ip);
  return rc;
}

[[gnu::noinline]] int mutex_trylock_general(pthread_mutex_t* m, uint64_t ip, CallFrame frame) noexcept {
  if (is_pending(m)) return 0;
  int rc = real::pthread_mutex_trylock()(m);
  if (rc == EBUSY && mutex_kind(m) != PTHREAD_MUTEX_RECURSIVE && tracking_at(ip)) {
    ThreadState* ts = self();
    if (ts && mutex_owner(m) == ts->tid) return trylock_of_held(m, rc, ip);
    return rc;
  }
  if (!acquired(rc) || !tracking_at(ip)) return rc;
  Pending p(m);  // before self(), which may allocate
  ThreadState* ts = self();
  if (!ts) return rc;
  if (mutex_kind(m) == PTHREAD_MUTEX_RECURSIVE && mutex_count(m) > 1) return rc;
  acquire_mutex(ts, m, true, ip, frame);
  return rc;
}

template <class Timed>
int mutex_timed_impl(pthread_mutex_t* m, uint64_t ip, CallFrame frame, Timed timed) {
  if (!tracking_at(ip)) return timed();
  ThreadState* ts = self();
  if (!ts || owner_relock(m, ts)) return timed();
  acquire_mutex(ts, m, false, ip, frame);
  int rc;
  {
    Waiting w(ts, m);
    rc = timed();
  }
  if (!acquired(rc)) on_release(ts, addr(m), ip);
  return rc;
}

[[gnu::noinline]] int mutex_unlock_general(pthread_mutex_t* m, uint64_t ip) noexcept {
  if (is_pending(m)) return 0;
  auto unlock_fn = real::pthread_mutex_unlock();
  if (!tracking_at(ip)) return unlock_fn(m);
  ThreadState* ts = self();
  if (!ts) return unlock_fn(m);
  if (mutex_kind(m) == PTHREAD_MUTEX_RECURSIVE && mutex_owner(m) == ts->tid && mutex_count(m) > 1)
    return unlock_fn(m);
  on_release(ts, addr(m), ip);
  return unlock_fn(m);
}

// Condition waits release the mutex for the wait and take it again before returning — also when
// the thread is cancelled in the wait (the destructor runs during the cancellation unwind).
struct Reacquire {
  ThreadState* ts;
  void* m;
  uint64_t ip;
  CallFrame frame;
  ~Reacquire() {
    if (!ts || !tracking_at(ip)) return;
    Pending p(m);
    acquire_mutex(ts, static_cast<pthread_mutex_t*>(m), false, ip, frame);
  }
};

ThreadState* before_cond_wait(const volatile void* m, uint64_t ip, const char* what) {
  if (!tracking_at(ip)) return nullptr;
  ThreadState* ts = self();
  if (!ts) return nullptr;
  if (ts->spin_held) on_might_sleep(ts, what, ip);
  on_release(ts, addr(m), ip);
  return ts;
}

void note_sleep(const char* what, uint64_t ip) {
  ThreadState* ts = current();
  if (ts && ts->spin_held && tracking_at(ip)) on_might_sleep(ts, what, ip);
}

// Free: the lock first, then the thread's checks (a branch on a thread-local load ahead of the
// lock's atomic costs time: see mutex_lock_impl); a validated chain is pushed and done. Anything
// else gives the lock back at once and takes the general path below, which tells the engine
// before it waits (so the engine's work never runs while the program's lock is held).
int rw_lock_impl(pthread_rwlock_t* rw, bool write, uint64_t ip, CallFrame frame) {
  if ((write ? real::pthread_rwlock_trywrlock()(rw) : real::pthread_rwlock_tryrdlock()(rw)) == 0) {
    ThreadState* fast = fast_acquiring_thread();
    if (fast && fast_acquire(fast, addr(rw), rwlock_tag_slot(rw), write ? Mode::write : read_mode(rw), false, ip,
                             frame, false))
      return 0;
    if (!fast && !tracking_at(ip)) return 0;  // untracked: taken, as the program asked
    real::pthread_rwlock_unlock()(rw);
  }
  auto block = write ? real::pthread_rwlock_wrlock() : real::pthread_rwlock_rdlock();
  if (!tracking_at(ip)) return block(rw);
  ThreadState* ts = self();
  if (!ts) return block(rw);
  acquire_rwlock(ts, rw, write ? Mode::write : read_mode(rw), false, ip, frame);
  int rc = wait_with_watchdog(
      ts, rw, ip,
      [&] { return write ? real::pthread_rwlock_trywrlock()(rw) : real::pthread_rwlock_tryrdlock()(rw); },
      [&](const struct timespec* t) {
        return write ? real::pthread_rwlock_timedwrlock()(rw, t) : real::pthread_rwlock_timedrdlock()(rw, t);
      },
      [&] { return block(rw); },
      [&] { return static_cast<int>(__atomic_load_n(&rw->__data.__cur_writer, __ATOMIC_RELAXED)); });
  if (rc != 0) on_release(ts, addr(rw), ip);
  return rc;
}

int rw_trylock_impl(pthread_rwlock_t* rw, bool write, uint64_t ip, CallFrame frame) {
  int rc = write ? real::pthread_rwlock_trywrlock()(rw) : real::pthread_rwlock_tryrdlock()(rw);
  if ((rc == EBUSY || rc == EDEADLK) && tracking_at(ip)) {
    // Tried while this thread holds it: for writing, held in any mode; for reading, held for
    // writing (glibc's writer field). Either fails for as long as the thread holds the lock.
    ThreadState* ts = self();
    if (!ts) return rc;
    bool own_writer = __atomic_load_n(&rw->__data.__cur_writer, __ATOMIC_RELAXED) == ts->tid;
    bool holds = own_writer;
    for (size_t i = 0; write && !holds && i < ts->held.size(); ++i) holds = ts->held[i].lock == addr(rw);
    if (holds) on_trylock_held(ts, addr(rw), write ? Mode::write : read_mode(rw), ip);
    return rc;
  }
  if (rc != 0 || !tracking_at(ip)) return rc;
  if (ThreadState* ts = self()) acquire_rwlock(ts, rw, write ? Mode::write : read_mode(rw), true, ip, frame);
  return rc;
}

template <class Timed>
int rw_timed_impl(pthread_rwlock_t* rw, bool write, uint64_t ip, CallFrame frame, Timed timed) {
  if (!tracking_at(ip)) return timed();
  ThreadState* ts = self();
  if (!ts) return timed();
  acquire_rwlock(ts, rw, write ? Mode::write : read_mode(rw), false, ip, frame);
  int rc;
  {
    Waiting w(ts, rw);
    rc = timed();
  }
  if (rc != 0) on_release(ts, addr(rw), ip);
  return rc;
}

int c11_result(int rc) {
  switch (rc) {
    case 0: return thrd_success;
    case EOWNERDEAD: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

// --- signals -------------------------------------------------------------------------------
struct Slot {
  std::atomic<void*> fn{nullptr};
  std::atomic<int> flags{0};
};
Slot g_slots[65];
lockhound::runtime::InternalLock g_sig_lock;

// Where a handler runs: the trampoline's frame (the handler's frames are all below it), and the
// alternate stack when the handler asked for one (SA_ONSTACK) and the kernel delivered it there.
ThreadState::SigFrame handler_frame(void* trampoline_frame, int flags) {
  ThreadState::SigFrame f{reinterpret_cast<uint64_t>(trampoline_frame), 0, 0};
  stack_t ss;
  if ((flags & SA_ONSTACK) && sigaltstack(nullptr, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) {
    f.alt_lo = reinterpret_cast<uint64_t>(ss.ss_sp);
    f.alt_hi = f.alt_lo + ss.ss_size;
  }
  return f;
}

// Whether a jump to stack pointer `sp` leaves the handler level that runs at `f`: a target outside
// its alternate stack, or above (older than) its frame on the thread's own stack.
bool jump_leaves(const ThreadState::SigFrame& f, uint64_t sp) {
  if (f.alt_hi) return sp < f.alt_lo || sp >= f.alt_hi;
  return sp > f.frame;
}

void trampoline(int sig, siginfo_t* info, void* uc) {
  int saved_errno = errno;
  Slot& slot = g_slots[sig];
  void* fn = slot.fn.load(std::memory_order_acquire);
  int flags = slot.flags.load(std::memory_order_relaxed);
  ThreadState* ts = guarded() ? nullptr : current();
  bool tracked = ts && tracking();
  sigset_t saved_mask;
  if (tracked) {
    saved_mask = ts->mask;
    if (ts->signal_depth < ThreadState::kSigFrames)
      ts->sig_frames[ts->signal_depth] = handler_frame(__builtin_frame_address(0), flags);
    ts->signal_depth++;
    on_irq(ts, Irq::signal, true);
  }
  // A thread the runtime has not met yet is not given state inside a handler (that would
  // allocate); its handler runs unobserved.
  std::optional<Guard> hide;
  if (!tracked && !guarded()) {
    hide.emplace();
    t_local.hidden = handler_frame(__builtin_frame_address(0), flags);
  }
  errno = saved_errno;
  if (fn) {
    if (flags & SA_SIGINFO) reinterpret_cast<void (*)(int, siginfo_t*, void*)>(fn)(sig, info, uc);
    else reinterpret_cast<void (*)(int)>(fn)(sig);
  }
  saved_errno = errno;
  if (tracked) {
    on_irq(ts, Irq::signal, false);
    ts->mask = saved_mask;
    ts->signal_depth--;
  }
  if (hide) t_local.hidden.frame = 0;
  errno = saved_errno;
}

// glibc keeps the stack pointer of a jmp_buf mangled with the thread's pointer guard: on x86-64,
// xor with the guard (%fs:0x30) then rotate left by 17 bits, in __jmpbuf[6]. Checked once against
// a setjmp of our own (g_jump_sp); when it does not hold, jumps are not followed.
#if defined(__x86_64__)
uint64_t jmpbuf_sp(const struct __jmp_buf_tag* env) {
  uint64_t guard;
  __asm__("mov %%fs:0x30, %0" : "=r"(guard));
  uint64_t v = static_cast<uint64_t>(env->__jmpbuf[6]);
  return ((v >> 17) | (v << 47)) ^ guard;
}
[[gnu::noinline]] bool jmpbuf_sp_works() {
  jmp_buf env;
  volatile char here = 0;
  if (setjmp(env) != 0) return false;  // never jumped to
  uint64_t sp = jmpbuf_sp(env), local = reinterpret_cast<uint64_t>(&here);
  return sp <= local + 4096 && sp + 4096 >= local;
}
#else
uint64_t jmpbuf_sp(const struct __jmp_buf_tag*) { return 0; }
bool jmpbuf_sp_works() { return false; }
#endif
std::atomic<int> g_jump_sp{0};  // 0 unknown, 1 works, 2 does not

// A longjmp/siglongjmp about to leave signal handlers: the levels it leaves end here, as if their
// handlers had returned, and the thread's mask becomes the one the jump restores (sigsetjmp's
// saved mask) or keeps (the handler's).
void before_jump(struct __jmp_buf_tag* env) {
  int known = g_jump_sp.load(std::memory_order_relaxed);
  if (known == 0) {
    known = jmpbuf_sp_works() ? 1 : 2;
    g_jump_sp.store(known, std::memory_order_relaxed);
  }
  if (known != 1) return;
  uint64_t sp = jmpbuf_sp(env);
  if (t_local.hidden.frame) {
    if (jump_leaves(t_local.hidden, sp)) {
      t_local.hidden.frame = 0;
      t_local.guard = 0;  // the unobserved handler's Guard, which its return would have released
    }
    return;
  }
  if (guarded() || !tracking()) return;
  ThreadState* ts = current();
  if (!ts || ts->signal_depth == 0 || ts->signal_depth > ThreadState::kSigFrames) return;
  int left = 0;
  while (left < ts->signal_depth && jump_leaves(ts->sig_frames[ts->signal_depth - 1 - left], sp)) ++left;
  if (left == 0) return;
  for (int i = 0; i < left; ++i) {
    on_irq(ts, Irq::signal, false);
    ts->signal_depth--;
  }
  if (env->__mask_was_saved) std::memcpy(&ts->mask, &env->__saved_mask, sizeof ts->mask);
  else real::thread_sigmask(SIG_BLOCK, nullptr, &ts->mask);
  on_mask_change(ts);
}

bool is_user_handler(const struct sigaction* act) {
  if (act->sa_flags & SA_SIGINFO) return act->sa_sigaction != nullptr;
  return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

int sigaction_impl(int sig, const struct sigaction* act, struct sigaction* oldact) {
  auto real_fn = real::sigaction();
  if (sig <= 0 || sig >= 65 || sig == SIGKILL || sig == SIGSTOP || guarded() || !tracking())
    return real_fn(sig, act, oldact);
  // The thread installing a handler is the one most likely to be interrupted by it: give it its
  // state now, outside any handler, so its handler's locks are observed (a handler never
  // allocates thread state itself).
  if (act && is_user_handler(act)) self();
  Guard g;
  g_sig_lock.lock();
  Slot& slot = g_slots[sig];
  void* prev_fn = slot.fn.load();
  int prev_flags = slot.flags.load();
  struct sigaction mine;
  const struct sigaction* use = act;
  bool user = act && is_user_handler(act);
  if (user) {
    mine = *act;
    mine.sa_flags |= SA_SIGINFO;
    mine.sa_sigaction = trampoline;
    use = &mine;
    slot.flags.store(act->sa_flags);
    slot.fn.store(act->sa_flags & SA_SIGINFO ? reinterpret_cast<void*>(act->sa_sigaction)
                                             : reinterpret_cast<void*>(act->sa_handler));
  }
  int rc = real_fn(sig, use, oldact);
  if (rc != 0) {
    slot.fn.store(prev_fn);
    slot.flags.store(prev_flags);
  } else {
    // Where handlers return to (the kernel reports the C library's restorer back), learnt once.
    struct sigaction now;
    if (user && !symbolize::signal_return() && real_fn(sig, nullptr, &now) == 0 && now.sa_restorer)
      symbolize::set_signal_return(reinterpret_cast<uint64_t>(now.sa_restorer));
    if (oldact && (oldact->sa_flags & SA_SIGINFO) && oldact->sa_sigaction == trampoline) {
      // Hand back what the program installed, not the trampoline.
      oldact->sa_flags = prev_flags;
      if (prev_flags & SA_SIGINFO) oldact->sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(prev_fn);
      else oldact->sa_handler = reinterpret_cast<void (*)(int)>(prev_fn);
    }
    if (act) {
      if (!user) slot.fn.store(nullptr);
      set_signal_handled(sig, user);
    }
  }
  g_sig_lock.unlock();
  return rc;
}

void after_mask_change() {
  if (guarded() || !tracking()) return;
  ThreadState* ts = current();
  if (!ts) return;
  real::thread_sigmask(SIG_BLOCK, nullptr, &ts->mask);
  on_mask_change(ts);
}

}  // namespace

extern "C" {

// --- pthread mutexes ---------------------------------------------------------------------------
LH_EXPORT int pthread_mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr) noexcept {
  int rc = real::pthread_mutex_init()(m, attr);
  if (rc == 0 && tracking_at(LH_IP))
    on_init(addr(m), LockKind::pthread_mutex, LH_IP, nullptr, nullptr, mutex_tag_slot(m));
  return rc;
}

LH_EXPORT int pthread_mutex_destroy(pthread_mutex_t* m) noexcept {
  if (tracking_at(LH_IP)) on_destroy(addr(m), LockKind::pthread_mutex, LH_IP, nullptr, mutex_tag_slot(m));
  return real::pthread_mutex_destroy()(m);
}

LH_EXPORT int pthread_mutex_lock(pthread_mutex_t* m) noexcept { return mutex_lock_impl(m, LH_IP); }
LH_EXPORT int pthread_mutex_trylock(pthread_mutex_t* m) noexcept { return mutex_trylock_impl(m, LH_IP); }
LH_EXPORT int pthread_mutex_unlock(pthread_mutex_t* m) noexcept { return mutex_unlock_impl(m, LH_IP); }

LH_EXPORT int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* abstime) noexcept {
  return mutex_timed_impl(m, LH_IP, LH_FRAME, [&] { return real::pthread_mutex_timedlock()(m, abstime); });
}

LH_EXPORT int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clk, const struct timespec* abstime) noexcept {
  return mutex_timed_impl(m, LH_IP, LH_FRAME, [&] { return real::pthread_mutex_clocklock()(m, clk, abstime); });
}

// --- condition variables --------------------------------------------------------------------
LH_EXPORT int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  uint64_t ip = LH_IP;
  Reacquire re{before_cond_wait(m, ip, "pthread_cond_wait"), m, ip, LH_FRAME};
  return real::pthread_cond_wait()(c, m);
}

LH_EXPORT int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* abstime) {
  uint64_t ip = LH_IP;
  Reacquire re{before_cond_wait(m, ip, "pthread_cond_timedwait"), m, ip, LH_FRAME};
  return real::pthread_cond_timedwait()(c, m, abstime);
}

LH_EXPORT int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clk,
                           const struct timespec* abstime) {
  uint64_t ip = LH_IP;
  Reacquire re{before_cond_wait(m, ip, "pthread_cond_clockwait"), m, ip, LH_FRAME};
  return real::pthread_cond_clockwait()(c, m, clk, abstime);
}

// --- rwlocks --------------------------------------------------------------------------------
LH_EXPORT int pthread_rwlock_init(pthread_rwlock_t* rw, const pthread_rwlockattr_t* attr) noexcept {
  int rc = real::pthread_rwlock_init()(rw, attr);
  if (rc == 0 && tracking_at(LH_IP))
    on_init(addr(rw), LockKind::pthread_rwlock, LH_IP, nullptr, nullptr, rwlock_tag_slot(rw));
  return rc;
}

LH_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t* rw) noexcept {
  if (tracking_at(LH_IP)) on_destroy(addr(rw), LockKind::pthread_rwlock, LH_IP, nullptr, rwlock_tag_slot(rw));
  return real::pthread_rwlock_destroy()(rw);
}

LH_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t* rw) noexcept { return rw_lock_impl(rw, false, LH_IP, LH_FRAME); }
LH_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t* rw) noexcept { return rw_lock_impl(rw, true, LH_IP, LH_FRAME); }
LH_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t* rw) noexcept { return rw_trylock_impl(rw, false, LH_IP, LH_FRAME); }
LH_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t* rw) noexcept { return rw_trylock_impl(rw, true, LH_IP, LH_FRAME); }

LH_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t* rw, const struct timespec* t) noexcept {
  return rw_timed_impl(rw, false, LH_IP, LH_FRAME, [&] { return real::pthread_rwlock_timedrdlock()(rw, t); });
}
LH_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t* rw, const struct timespec* t) noexcept {
  return rw_timed_impl(rw, true, LH_IP, LH_FRAME, [&] { return real::pthread_rwlock_timedwrlock()(rw, t); });
}
LH_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t* rw, clockid_t clk, const struct timespec* t) noexcept {
  return rw_timed_impl(rw, false, LH_IP, LH_FRAME, [&] { return real::pthread_rwlock_clockrdlock()(rw, clk, t); });
}
LH_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t* rw, clockid_t clk, const struct timespec* t) noexcept {
  return rw_timed_impl(rw, true, LH_IP, LH_FRAME, [&] { return real::pthread_rwlock_clockwrlock()(rw, clk, t); });
}

LH_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t* rw) noexcept {
  if (ThreadState* ts = fast_thread(); ts && fast_release(ts, addr(rw))) return real::pthread_rwlock_unlock()(rw);
  if (tracking_at(LH_IP))
    if (ThreadState* ts = self()) on_release(ts, addr(rw), LH_IP);
  return real::pthread_rwlock_unlock()(rw);
}

// --- spinlocks ------------------------------------------------------------------------------
LH_EXPORT int pthread_spin_init(pthread_spinlock_t* s, int pshared) noexcept {
  int rc = real::pthread_spin_init()(s, pshared);
  if (rc == 0 && tracking_at(LH_IP))
    on_init(addr(s), LockKind::pthread_spinlock, LH_IP, nullptr, nullptr, side_tag_slot(addr(s)));
  return rc;
}

LH_EXPORT int pthread_spin_destroy(pthread_spinlock_t* s) noexcept {
  if (tracking_at(LH_IP))
    on_destroy(addr(s), LockKind::pthread_spinlock, LH_IP, nullptr, side_tag_slot(addr(s)));
  return real::pthread_spin_destroy()(s);
}

namespace {
// Takes the spinlock the acquisition was already recorded for (the order is checked before the
// spinning starts, so an inversion is reported even when it then spins forever), watching for a
// lockup.
int spin_take(ThreadState* ts, pthread_spinlock_t* s, uint64_t ip) noexcept {
  auto try_fn = real::pthread_spin_trylock();
  if (try_fn(s) == 0) return 0;
  int ms = options().spin_ms;
  if (ms <= 0) return real::pthread_spin_lock()(s);
  Waiting w(ts, s);
  uint64_t start = now_ns(), limit = static_cast<uint64_t>(ms) * 1000000ull;
  bool reported = false;
  for (uint64_t i = 1;; ++i) {
    // Only trylock says whether it is free: the lock word's free value differs between glibc
    // implementations (1 on x86-64's assembly version, 0 in the generic one).
    if (try_fn(s) == 0) return 0;
    __builtin_ia32_pause();
    if (!reported && (i & 4095) == 0 && now_ns() - start > limit) {
      reported = true;
      on_stall(ts, addr(s), true, ip);
    }
  }
}
}  // namespace

// A spinlock keeps its class tag in the side table (side_tag_slot): a validated chain is pushed
// here like a mutex's, else the engine decides.
//
// Free: the word first, then the thread's checks (a branch on a thread-local load ahead of the
// locked instruction costs 3 ns here: see mutex_lock_impl). A chain the fast path cannot vouch
// for gives the word back at once: the engine's work (its lock, allocations, a stack) must not
// lengthen the program's spinning section, or the other threads spinning on it wait for the
// engine (stress-ng's pthread stressor then tripped the lockup watchdog). Taken: recorded before
// spinning, so that an inversion is reported even when it then spins for ever.
LH_EXPORT int pthread_spin_lock(pthread_spinlock_t* s) noexcept {
  uint64_t ip = LH_IP;
  bool taken = real::pthread_spin_trylock()(s) == 0;
  if (!taken && is_pending(s)) return 0;  // the runtime's own call back into the program (Pending)
  if (ThreadState* fast = fast_acquiring_thread())
    if (fast_acquire(fast, addr(s), side_tag_slot(addr(s)), Mode::write, false, ip, LH_FRAME, false, true))
      return taken ? 0 : spin_take(fast, s, ip);
  if (!tracking_at(ip)) return taken ? 0 : real::pthread_spin_lock()(s);  // untracked: as the program asked
  if (taken) real::pthread_spin_unlock()(s);
  ThreadState* ts = self();
  if (!ts) return real::pthread_spin_lock()(s);
  engine_acquire(ts, addr(s), LockKind::pthread_spinlock, Mode::write, false, ip, nullptr, LH_FRAME);
  return spin_take(ts, s, ip);
}

LH_EXPORT int pthread_spin_trylock(pthread_spinlock_t* s) noexcept {
  int rc = real::pthread_spin_trylock()(s);
  if (rc != 0) return is_pending(s) ? 0 : rc;
  uint64_t ip = LH_IP;
  if (ThreadState* ts = fast_acquiring_thread())
    if (fast_acquire(ts, addr(s), side_tag_slot(addr(s)), Mode::write, true, ip, LH_FRAME, false, true))
      return 0;
  if (tracking_at(ip)) {
    Pending p(s);  // before self(), which may allocate
    if (ThreadState* ts = self())
      engine_acquire(ts, addr(s), LockKind::pthread_spinlock, Mode::write, true, ip, nullptr, LH_FRAME);
  }
  return 0;
}

LH_EXPORT int pthread_spin_unlock(pthread_spinlock_t* s) noexcept {
  if (ThreadState* ts = fast_thread(); ts && fast_release(ts, addr(s)))
    return real::pthread_spin_unlock()(s);
  if (is_pending(s)) return 0;
  if (tracking_at(LH_IP))
    if (ThreadState* ts = self()) on_release(ts, addr(s), LH_IP);
  return real::pthread_spin_unlock()(s);
}

// --- C11 threads --------------------------------------------------------------------------
LH_EXPORT int mtx_init(mtx_t* m, int type) {
  int rc = real::mtx_init()(m, type);
  if (rc == thrd_success && tracking_at(LH_IP))
    on_init(addr(m), LockKind::pthread_mutex, LH_IP, nullptr, nullptr,
            mutex_tag_slot(reinterpret_cast<pthread_mutex_t*>(m)));
  return rc;
}

LH_EXPORT void mtx_destroy(mtx_t* m) {
  if (tracking_at(LH_IP))
    on_destroy(addr(m), LockKind::pthread_mutex, LH_IP, nullptr,
               mutex_tag_slot(reinterpret_cast<pthread_mutex_t*>(m)));
  real::mtx_destroy()(m);
}

// mtx_t is glibc's pthread_mutex_t (mtx_lock is pthread_mutex_lock with C11 result codes).
LH_EXPORT int mtx_lock(mtx_t* m) { return c11_result(mutex_lock_impl(reinterpret_cast<pthread_mutex_t*>(m), LH_IP)); }
LH_EXPORT int mtx_trylock(mtx_t* m) {
  return c11_result(mutex_trylock_impl(reinterpret_cast<pthread_mutex_t*>(m), LH_IP));
}
LH_EXPORT int mtx_unlock(mtx_t* m) {
  return c11_result(mutex_unlock_impl(reinterpret_cast<pthread_mutex_t*>(m), LH_IP));
}
LH_EXPORT int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  auto* pm = reinterpret_cast<pthread_mutex_t*>(m);
  return c11_result(mutex_timed_impl(pm, LH_IP, LH_FRAME, [&] { return real::pthread_mutex_timedlock()(pm, t); }));
}

LH_EXPORT int cnd_wait(cnd_t* c, mtx_t* m) {
  uint64_t ip = LH_IP;
  Reacquire re{before_cond_wait(m, ip, "cnd_wait"), m, ip, LH_FRAME};
  return real::cnd_wait()(c, m);
}

LH_EXPORT int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict t) {
  uint64_t ip = LH_IP;
  Reacquire re{before_cond_wait(m, ip, "cnd_timedwait"), m, ip, LH_FRAME};
  return real::cnd_timedwait()(c, m, t);
}

// --- jumps (out of signal handlers) ------------------------------------------------------------
extern "C" [[noreturn]] void __longjmp_chk(struct __jmp_buf_tag env[1], int val) noexcept;

LH_EXPORT void longjmp(struct __jmp_buf_tag env[1], int val) noexcept {
  before_jump(env);
  real::longjmp()(env, val);
  __builtin_unreachable();
}
LH_EXPORT void _longjmp(struct __jmp_buf_tag env[1], int val) noexcept {
  before_jump(env);
  real::_longjmp()(env, val);
  __builtin_unreachable();
}
LH_EXPORT void siglongjmp(struct __jmp_buf_tag env[1], int val) noexcept {
  before_jump(env);
  real::siglongjmp()(env, val);
  __builtin_unreachable();
}
LH_EXPORT void __longjmp_chk(struct __jmp_buf_tag env[1], int val) noexcept {
  before_jump(env);
  real::__longjmp_chk()(env, val);
  __builtin_unreachable();
}

// --- signals --------------------------------------------------------------------------------
LH_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* oldact) noexcept {
  return sigaction_impl(sig, act, oldact);
}

LH_EXPORT sighandler_t signal(int sig, sighandler_t handler) noexcept {
  // BSD semantics, as glibc's signal(): restart interrupted calls, block the signal in its handler.
  struct sigaction act, old;
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  sigaddset(&act.sa_mask, sig);
  act.sa_flags = SA_RESTART;
  if (sigaction_impl(sig, &act, &old) < 0) return SIG_ERR;
  return old.sa_handler;
}

LH_EXPORT int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  int rc = real::pthread_sigmask()(how, set, old);
  if (rc == 0 && set) after_mask_change();
  return rc;
}

LH_EXPORT int sigprocmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  int rc = real::sigprocmask()(how, set, old);
  if (rc == 0 && set) after_mask_change();
  return rc;
}

// --- thread names ---------------------------------------------------------------------------
// Reports name a thread by what the program called it.
LH_EXPORT int pthread_setname_np(pthread_t thread, const char* name) noexcept {
  auto fn = real::pthread_setname_np();
  if (!fn) return ENOSYS;
  int rc = fn(thread, name);
  if (rc == 0 && tracking()) on_thread_named(thread, name);
  return rc;
}

// --- sleeping calls -------------------------------------------------------------------------
LH_EXPORT int nanosleep(const struct timespec* req, struct timespec* rem) {
  note_sleep("nanosleep", LH_IP);
  return real::nanosleep()(req, rem);
}

LH_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec* req, struct timespec* rem) {
  note_sleep("clock_nanosleep", LH_IP);
  return real::clock_nanosleep()(clk, flags, req, rem);
}

LH_EXPORT int usleep(useconds_t us) {
  note_sleep("usleep", LH_IP);
  return real::usleep()(us);
}

LH_EXPORT unsigned sleep(unsigned s) {
  note_sleep("sleep", LH_IP);
  return real::sleep()(s);
}

// --- dlclose: the unloaded module's static locks end with it ----------------------------------
LH_EXPORT int dlclose(void* handle) noexcept {
  if (!tracking_at(LH_IP)) return real::dlclose()(handle);
  auto before = loaded_segments();
  int rc = real::dlclose()(handle);
  if (rc == 0) after_dlclose(before);
  return rc;
}

// --- changes of user or group: the log file is created first, while the process still may ----
LH_EXPORT int setuid(uid_t u) noexcept {
  before_credentials_change();
  return real::setuid()(u);
}
LH_EXPORT int setgid(gid_t g) noexcept {
  before_credentials_change();
  return real::setgid()(g);
}
LH_EXPORT int seteuid(uid_t u) noexcept {
  before_credentials_change();
  return real::seteuid()(u);
}
LH_EXPORT int setegid(gid_t g) noexcept {
  before_credentials_change();
  return real::setegid()(g);
}
LH_EXPORT int setreuid(uid_t r, uid_t e) noexcept {
  before_credentials_change();
  return real::setreuid()(r, e);
}
LH_EXPORT int setregid(gid_t r, gid_t e) noexcept {
  before_credentials_change();
  return real::setregid()(r, e);
}
LH_EXPORT int setresuid(uid_t r, uid_t e, uid_t s) noexcept {
  before_credentials_change();
  return real::setresuid()(r, e, s);
}
LH_EXPORT int setresgid(gid_t r, gid_t e, gid_t s) noexcept {
  before_credentials_change();
  return real::setresgid()(r, e, s);
}

LH_EXPORT int pthread_join(pthread_t t, void** ret) {
  note_sleep("pthread_join", LH_IP);
  ThreadState* ts = fast_thread();
  if (!ts || ts->held.n == 0) return real::pthread_join()(t, ret);
  begin_join(ts, t);
  int rc = real::pthread_join()(t, ret);
  end_join(ts);
  return rc;
}

LH_EXPORT int sem_wait(sem_t* s) {
  note_sleep("sem_wait", LH_IP);
  return real::sem_wait()(s);
}

LH_EXPORT int sem_timedwait(sem_t* __restrict s, const struct timespec* __restrict t) {
  note_sleep("sem_timedwait", LH_IP);
  return real::sem_timedwait()(s, t);
}

LH_EXPORT int poll(struct pollfd* fds, nfds_t n, int timeout) {
  if (timeout != 0) note_sleep("poll", LH_IP);
  return real::poll()(fds, n, timeout);
}

LH_EXPORT int select(int n, fd_set* r, fd_set* w, fd_set* e, struct timeval* timeout) {
  if (!timeout || timeout->tv_sec || timeout->tv_usec) note_sleep("select", LH_IP);
  return real::select()(n, r, w, e, timeout);
}

LH_EXPORT int epoll_wait(int fd, struct epoll_event* ev, int n, int timeout) {
  if (timeout != 0) note_sleep("epoll_wait", LH_IP);
  return real::epoll_wait()(fd, ev, n, timeout);
}

// --- process end ----------------------------------------------------------------------------
LH_EXPORT __attribute__((noreturn)) void _exit(int status) {
  int code = guarded() ? status : finish(status);
  real::exit_now(code);
}

LH_EXPORT __attribute__((noreturn)) void _Exit(int status) {
  int code = guarded() ? status : finish(status);
  real::exit_now(code);
}

}  // extern "C"
