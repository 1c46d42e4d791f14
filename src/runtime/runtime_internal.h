// The runtime's inside: one engine per process behind an internal lock, per-thread state, class
// naming for real code, reports, the watchdog. Used by the interposers (interpose.cpp) and the
// C API (api.cpp); nothing here is exported from liblockhound.so.
//
// Rules every function here keeps, because they run inside someone else's program:
//   - The engine is entered only through Engine (below), which sets the thread's re-entry flag
//     and takes the internal lock, a futex word that no interposer ever sees. Any interposed call
//     made while the flag is set (malloc taking a pthread lock, libdw, stdio) goes straight to
//     the real function.
//   - Nothing throws out: every entry point catches and, after a failure, steps aside for good
//     ("lockhound: internal error …; checking stops", printed once).
//   - Findings are queued while the internal lock is held and printed after it is dropped, under
//     a second lock (report lock) that guards the symbolizer and the output. Order: internal
//     lock, then report lock; the report path never takes the internal lock.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"
#include "core/validator.h"
#include "runtime/options.h"

namespace lockhound::runtime {

// A futex-based mutex (Drepper's three-state lock). Never interposed, never allocates.
class InternalLock {
 public:
  void lock();
  void unlock();
  void reset() { state_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<int> state_{0};
};

struct HeldEntry {
  uint64_t lock;
  uint64_t ip;
  Mode mode;
  bool spin;
};

// One per thread that ever used a lock. Owned by the registry; fields are written by the owning
// thread under the internal lock (held, ctx) or atomically (waiting_on), and read by other threads
// only under the internal lock (watchdog).
struct ThreadState {
  uint64_t id = 0;          // context id given to the engine (never reused, survives fork)
  int tid = 0;
  Context ctx = nullptr;
  std::string name;
  std::vector<HeldEntry> held;
  int spin_held = 0;        // spinning locks held (sleeping calls are checked only then)
  int signal_depth = 0;
  bool signals_enabled = true;
  sigset_t mask;            // the thread's signal mask as last seen
  // Watchdog: what this thread is blocked on, since when, and its stack once it stalled.
  std::atomic<uint64_t> waiting_on{0};
  uint64_t wait_ip = 0;
  std::atomic<bool> stalled{false};
  uint64_t stall_pcs[64];
  size_t stall_depth = 0;
  ThreadState* next = nullptr;
};

// API call sites: the C API passes file/line/function; the stack hook uses them for the first
// frame of the captured stack.
struct ApiSite {
  const char* file = nullptr;
  int line = 0;
  const char* func = nullptr;
};

enum class State : int { uninit = 0, initializing = 1, ready = 2, disabled = 3 };

extern std::atomic<int> g_state;
extern __thread ThreadState* t_self __attribute__((tls_model("initial-exec")));
extern __thread int t_guard __attribute__((tls_model("initial-exec")));
inline ThreadState* const kEnded = reinterpret_cast<ThreadState*>(uintptr_t{1});

// True when interposers should track (runtime ready and this thread not already inside it).
// Interposed calls never initialise the runtime themselves: the caller may be inside its own
// allocator's critical section (jemalloc's early pthread_mutex_trylock), and initialising
// allocates. Before the constructor has run, calls pass straight through.
inline bool tracking() {
  return t_guard == 0 && g_state.load(std::memory_order_acquire) == static_cast<int>(State::ready);
}
// Code range of a malloc replacement in a shared library (jemalloc, tcmalloc), 0/0 when none.
extern uint64_t g_alloc_lo, g_alloc_hi;
// tracking(), and the call does not come from inside the allocator.
inline bool tracking_at(uint64_t ip) {
  return tracking() && !(ip >= g_alloc_lo && ip < g_alloc_hi);
}
ThreadState* self_slow();
// The calling thread's state, created on first use; null for the runtime's own threads, inside
// the runtime, or after the thread's end.
inline ThreadState* self() {
  ThreadState* ts = t_self;
  if (__builtin_expect(ts != nullptr && ts != kEnded, 1)) return ts;
  return self_slow();
}
// The calling thread's state if it has one (never creates it: safe in signal handlers).
inline ThreadState* current() {
  ThreadState* ts = t_self;
  return ts == kEnded ? nullptr : ts;
}
// Makes sure the runtime is initialised (the constructor and the API call it).
void ensure_init();

// Re-entry guard for the calling thread.
struct Guard {
  Guard() { ++t_guard; }
  ~Guard() { --t_guard; }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};
inline bool guarded() { return t_guard != 0; }

// Engine access: Guard + internal lock + context of `ts`; flushes queued findings on exit.
class Engine {
 public:
  explicit Engine(ThreadState* ts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Validator& v();
  Context ctx() const { return ctx_; }

 private:
  Guard guard_;
  Context ctx_ = nullptr;
};

// --- operations, each taking the Engine's lock itself --------------------------------------
// A lock is initialised at `ip` (its class is the init call site, or `class_name` when given).
void on_init(uint64_t lock, LockKind kind, uint64_t ip, const char* class_name = nullptr,
             const ApiSite* api = nullptr);
void on_destroy(uint64_t lock, LockKind kind, uint64_t ip, const ApiSite* api = nullptr);
// Before a blocking acquisition (or after a successful trylock, trylock = true).
void on_acquire(ThreadState* ts, uint64_t lock, LockKind kind, Mode mode, bool trylock,
                uint64_t ip, const ApiSite* api = nullptr, unsigned subclass = 0,
                uint64_t nest_lock = 0);
// After an unlock (or a failed blocking acquisition).
void on_release(ThreadState* ts, uint64_t lock, uint64_t ip, const ApiSite* api = nullptr);
void on_might_sleep(ThreadState* ts, const char* what, uint64_t ip, const ApiSite* api = nullptr);
// The thread's context ends; thread_gone: the thread itself is ending (its state is freed).
void on_thread_end(ThreadState* ts, bool thread_gone);
void on_irq(ThreadState* ts, Irq irq, bool enter);
void on_irq_enable(ThreadState* ts, Irq irq, bool enable);
// The thread's signal mask changed (or a handler was installed): recompute signals_enabled.
void on_mask_change(ThreadState* ts);

// Watchdog: called by a thread whose wait passed the threshold; spin = spinlock spinning.
void on_stall(ThreadState* ts, uint64_t lock, bool spin, uint64_t ip);
const Options& options();

// Signals: which signals have a handler installed through the runtime.
bool signal_handled(int sig);
void set_signal_handled(int sig, bool handled);

// Reports.
size_t finding_count();
void print_report_now();
// Prints the summary (once) and returns the exit status the process should end with.
int finish(int status);
void set_thread_name(ThreadState* ts, const char* name);

// Monotonic time in ns.
uint64_t now_ns();

}  // namespace lockhound::runtime
