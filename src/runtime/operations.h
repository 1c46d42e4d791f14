// The runtime's operations: what the interposers (interpose.cpp) and the C API (api.cpp) call
// on each event of the program. Each takes the engine's lock itself (through Engine); none is
// exported from liblockhound.so. The calls go one way: the callers here call down into the
// runtime, the runtime never calls back into them.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "core/types.h"
#include "runtime/fastpath.h"
#include "runtime/options.h"
#include "runtime/thread_state.h"

namespace lockhound::runtime {

// --- operations, each taking the Engine's lock itself --------------------------------------
// A lock is initialised at `ip` (its class is the init call site, or `class_name` when given).
void on_init(uint64_t lock, LockKind kind, uint64_t ip, const char* class_name = nullptr,
             const ApiSite* api = nullptr, uint64_t* tag_slot = nullptr);
void on_destroy(uint64_t lock, LockKind kind, uint64_t ip, const ApiSite* api = nullptr,
                uint64_t* tag_slot = nullptr);
// Before a blocking acquisition (or after a successful trylock, trylock = true).
// tag_slot: where the lock keeps its class tag (null: it cannot keep one).
void on_acquire(ThreadState* ts, uint64_t lock, LockKind kind, Mode mode, bool trylock,
                uint64_t ip, const ApiSite* api = nullptr, unsigned subclass = 0,
                uint64_t nest_lock = 0, uint64_t* tag_slot = nullptr, CallFrame frame = {});
// A trylock that failed because the calling thread holds the lock (told by the lock's owner).
void on_trylock_held(ThreadState* ts, uint64_t lock, Mode mode, uint64_t ip);
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
// pthread_join while the thread holds locks: the watchdog sees the joiner waiting for the joined
// thread to end (a thread that waits for one of those locks closes a cycle).
void begin_join(ThreadState* ts, pthread_t thread);
void end_join(ThreadState* ts);
// After fork() in a multithreaded process: the threads that did not come along (their locks stay
// held in this process for ever). A thread about to wait for a lock checks them first.
extern std::atomic<bool> g_fork_orphans;
// `lock` is busy and `owner_tid` (0: unknown) owns it: if a thread left behind by fork() holds it,
// report the hang that follows (once per lock).
void on_orphan_wait(ThreadState* ts, uint64_t lock, int owner_tid, uint64_t ip);
const Options& options();

// Signals: which signals have a handler installed through the runtime.
bool signal_handled(int sig);
void set_signal_handled(int sig, bool handled);

// Reports.
size_t finding_count();
void print_report_now();
// Every loaded module segment [lo, hi), taken before a dlclose to see what it unmapped.
std::vector<std::pair<uint64_t, uint64_t>> loaded_segments();
// After a successful dlclose: frames in the code that went are named while they still can be,
// and the static locks of unloaded modules end (their memory may be reused by the next library
// loaded there).
void after_dlclose(const std::vector<std::pair<uint64_t, uint64_t>>& before);
// Before setuid and friends: opens this process's PREFIX.PID while it still may (option log_path).
void before_credentials_change();
// Prints the summary (once) and returns the exit status the process should end with.
int finish(int status);
void set_thread_name(ThreadState* ts, const char* name);
// pthread_setname_np(thread, name) succeeded: the thread's reports use the name (unless the
// program named it through the API).
void on_thread_named(pthread_t thread, const char* name);

// Monotonic time in ns.
uint64_t now_ns();

}  // namespace lockhound::runtime
