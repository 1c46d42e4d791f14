// The C annotation API (include/lockhound/lockhound.h) on top of the same runtime the
// interposers use: annotated locks and preloaded pthread locks share one engine per process.
#include "lockhound/lockhound.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/operations.h"

using namespace lockhound;
using namespace lockhound::runtime;

namespace {

#define LH_EXPORT __attribute__((visibility("default")))
#define LH_IP reinterpret_cast<uint64_t>(__builtin_return_address(0))

inline uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

LockKind kind_of(lockhound_lock_kind k) {
  switch (k) {
    case LOCKHOUND_SPINLOCK: return LockKind::spinlock;
    case LOCKHOUND_RWLOCK: return LockKind::rw_semaphore;
    case LOCKHOUND_RWSPINLOCK: return LockKind::rwlock;
    case LOCKHOUND_RAW_SPINLOCK: return LockKind::raw_spinlock;
    case LOCKHOUND_SEMAPHORE: return LockKind::semaphore;
    case LOCKHOUND_MUTEX:
    default: return LockKind::mutex;
  }
}

Mode mode_of(unsigned flags) {
  switch (flags & 3u) {
    case LOCKHOUND_READ: return Mode::read;
    case LOCKHOUND_RECURSIVE_READ: return Mode::recursive_read;
    default: return Mode::write;
  }
}

// API calls come from the program's own code, never from inside an allocator: they may start the
// runtime when a library's constructor uses the API before liblockhound's own constructor ran.
bool api_ready() {
  ensure_init();
  return tracking();
}

Irq irq_of(lockhound_irq irq) {
  switch (irq) {
    case LOCKHOUND_HARDIRQ: return Irq::hardirq;
    case LOCKHOUND_SOFTIRQ: return Irq::softirq;
    default: return Irq::signal;
  }
}

}  // namespace

extern "C" {

LH_EXPORT void lockhound_lock_init_at(const void* lock, const char* class_name,
                                      enum lockhound_lock_kind kind, const char* file, int line,
                                      const char* func) {
  if (!lock || !api_ready()) return;
  ApiSite site{file, line, func};
  on_init(addr(lock), kind_of(kind), LH_IP, class_name, file ? &site : nullptr);
}

LH_EXPORT void lockhound_lock_destroy_at(const void* lock, const char* file, int line,
                                         const char* func) {
  if (!lock || !api_ready()) return;
  ApiSite site{file, line, func};
  on_destroy(addr(lock), LockKind::mutex, LH_IP, file ? &site : nullptr);
}

LH_EXPORT void lockhound_acquire_at(const void* lock, unsigned flags, unsigned subclass,
                                    const char* file, int line, const char* func) {
  if (!lock || !api_ready()) return;
  ThreadState* ts = self();
  if (!ts) return;
  ApiSite site{file, line, func};
  on_acquire(ts, addr(lock), LockKind::mutex, mode_of(flags), (flags & LOCKHOUND_TRY) != 0, LH_IP,
             file ? &site : nullptr, subclass & 7u);
}

LH_EXPORT void lockhound_acquire_nest_at(const void* lock, const void* nest_lock, unsigned flags,
                                         const char* file, int line, const char* func) {
  if (!lock || !api_ready()) return;
  ThreadState* ts = self();
  if (!ts) return;
  ApiSite site{file, line, func};
  on_acquire(ts, addr(lock), LockKind::mutex, mode_of(flags), (flags & LOCKHOUND_TRY) != 0, LH_IP,
             file ? &site : nullptr, 0, addr(nest_lock));
}

LH_EXPORT void lockhound_release_at(const void* lock, const char* file, int line,
                                    const char* func) {
  if (!lock || !api_ready()) return;
  ThreadState* ts = self();
  if (!ts) return;
  ApiSite site{file, line, func};
  on_release(ts, addr(lock), LH_IP, file ? &site : nullptr);
}

LH_EXPORT unsigned lockhound_wait_begin(const void* lock, int spinning) {
  if (!lock || !api_ready()) return 0;
  ThreadState* ts = self();
  int ms = spinning ? options().spin_ms : options().watchdog_ms;
  if (!ts || ms <= 0) return 0;
  ts->waiting_on.store(addr(lock), std::memory_order_relaxed);
  ts->waiting_spins = spinning != 0;
  return static_cast<unsigned>(ms);
}

LH_EXPORT void lockhound_wait_tick(const void* lock) {
  if (!lock || !tracking()) return;
  ThreadState* ts = current();
  if (!ts || ts->waiting_on.load(std::memory_order_relaxed) != addr(lock)) return;
  on_stall(ts, addr(lock), ts->waiting_spins, LH_IP);
}

LH_EXPORT void lockhound_wait_end(const void* lock) {
  if (!lock || !tracking()) return;
  ThreadState* ts = current();
  if (!ts || ts->waiting_on.load(std::memory_order_relaxed) != addr(lock)) return;
  ts->waiting_on.store(0, std::memory_order_relaxed);
  ts->stalled.store(false, std::memory_order_relaxed);
}

LH_EXPORT void lockhound_futex_wait(const void* lock, const volatile int* word, int expected) {
  auto* w = const_cast<int*>(word);
  unsigned slice = lockhound_wait_begin(lock, 0);
  if (slice == 0) {
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
    return;
  }
  for (;;) {
    struct timespec rel = {static_cast<time_t>(slice / 1000), static_cast<long>(slice % 1000) * 1000000L};
    long rc = syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, expected, &rel, nullptr, 0);
    if (rc == 0 || errno != ETIMEDOUT) break;
    lockhound_wait_tick(lock);
  }
  lockhound_wait_end(lock);
}

LH_EXPORT void lockhound_futex_wake(const volatile int* word, int n) {
  syscall(SYS_futex, const_cast<int*>(word), FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

LH_EXPORT void lockhound_irq_enter(enum lockhound_irq irq) {
  if (!api_ready()) return;
  if (ThreadState* ts = self()) on_irq(ts, irq_of(irq), true);
}

LH_EXPORT void lockhound_irq_exit(enum lockhound_irq irq) {
  if (!api_ready()) return;
  if (ThreadState* ts = self()) on_irq(ts, irq_of(irq), false);
}

LH_EXPORT void lockhound_irq_enable(enum lockhound_irq irq) {
  if (!api_ready()) return;
  if (ThreadState* ts = self()) on_irq_enable(ts, irq_of(irq), true);
}

LH_EXPORT void lockhound_irq_disable(enum lockhound_irq irq) {
  if (!api_ready()) return;
  if (ThreadState* ts = self()) on_irq_enable(ts, irq_of(irq), false);
}

LH_EXPORT void lockhound_might_sleep_at(const char* what, const char* file, int line,
                                        const char* func) {
  if (!api_ready()) return;
  ThreadState* ts = self();
  if (!ts) return;
  ApiSite site{file, line, func};
  on_might_sleep(ts, what, LH_IP, file ? &site : nullptr);
}

LH_EXPORT void lockhound_thread_exit(void) {
  if (!api_ready()) return;
  if (ThreadState* ts = current()) on_thread_end(ts, false);
}

LH_EXPORT void lockhound_set_thread_name(const char* name) {
  if (!api_ready()) return;
  set_thread_name(self(), name);
}

LH_EXPORT size_t lockhound_finding_count(void) {
  if (!api_ready()) return 0;
  return finding_count();
}

LH_EXPORT void lockhound_print_report(void) {
  if (!api_ready()) return;
  print_report_now();
}

}  // extern "C"
