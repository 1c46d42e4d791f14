// The runtime's per-thread state and the rules for entering the runtime from someone else's
// program. Used by the interposers (interpose.cpp), the C API (api.cpp) and the runtime's rooms;
// nothing here is exported from liblockhound.so.
//
// Rules every function of the runtime keeps, because they run inside someone else's program:
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
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/types.h"
#include "core/usage_bits.h"
#include "core/validator.h"
#include "runtime/stack_memo.h"

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

constexpr uint64_t kFastSeed = 0x8A5CD789635D2DFFull;  // chain key of the empty stack
// A thread's salt: the engine's interrupt state of its context (11 bits), shifted.
constexpr int kSaltShift = 16;
// The salt of a thread whose engine context does not exist yet: no real context has this
// interrupt state, so no chain with it is ever validated.
constexpr uint64_t kNoSalt = uint64_t{0x7FF} << kSaltShift;

// A lock the thread holds. `id` packs class, mode, trylock and spinning with the thread's
// interrupt state at the time (the same acquisition in another state is another chain); `key` is
// the fast-path chain key of the stack up to and including this entry.
//
// `ip` carries kEngineKnownIp when the engine's copy of the stack has the entry (pushed through
// the engine, or replayed into it): the entries that have it are always the bottom of the stack
// (the fast path pushes without it, on top), so sync_held finds what is new by looking down from
// the top, not by walking the whole stack. A released entry below the top is left as a hole
// (lock 0) until the thread's next slow-path event (compact_held): the fast path takes no chain
// while there are holes (HeldStack::cap is 0 then).
//
// `sp` and `fp` are the caller's stack pointer just before its lock call and its frame pointer
// register then (0: unknown). With `ip` they find, long after the lock call returned, the frame
// that made it and so its callers that are still running (held_stack_hook): a lock wrapper that
// has returned holding the lock.
constexpr uint64_t kEngineKnownIp = 1ull << 63;  // user-space code addresses never have it
struct CallFrame {
  uint64_t sp = 0, fp = 0;
};
// A lock call's callee-saved registers (x86-64: rbx, r12-r15; rbp is CallFrame::fp) as the
// caller had them, with the lock they were saved for.
struct CallRegs {
  uint64_t lock = 0;
  uint64_t rbx = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
};
struct HeldEntry {
  uint64_t lock;
  uint64_t ip;
  uint64_t id;
  uint64_t key;
  CallFrame frame;
  Mode mode() const { return static_cast<Mode>((id >> 1) & 3); }
  bool trylock() const { return id & 1; }
  bool spin() const { return id & 0x80; }
  uint64_t site_ip() const { return ip & ~kEngineKnownIp; }
  bool engine_known() const { return (ip & kEngineKnownIp) != 0; }
  bool hole() const { return lock == 0; }
};

// The thread's held locks. Written only by the owning thread; the array is replaced (grown) only
// under the internal lock, so other threads may read it under that lock (watchdog, sync).
// data[-1] is a sentinel whose key is kFastSeed, so the top's key needs no test for emptiness.
struct HeldStack {
  static constexpr uint32_t kInline = 32;
  HeldEntry* data;
  uint32_t n = 0;
  // The fast path pushes only while n < cap: the capacity, or 0 while the stack has holes (their
  // keys above are stale until compact_held rebuilds them).
  uint32_t cap = kInline;
  uint32_t capacity = kInline;  // entries in data (kInline: the ThreadState's own buffer)
  uint32_t holes = 0;           // released entries left below the top (lock 0)

  explicit HeldStack(HeldEntry* buf) : data(buf + 1) {
    buf[0] = HeldEntry{0, 0, 0, kFastSeed, {}};
  }
  HeldStack(const HeldStack&) = delete;
  HeldStack& operator=(const HeldStack&) = delete;
  ~HeldStack() {
    if (capacity != kInline) delete[] (data - 1);
  }
  size_t size() const { return n; }
  bool empty() const { return n == 0; }
  HeldEntry& operator[](size_t i) { return data[i]; }
  const HeldEntry& operator[](size_t i) const { return data[i]; }
  const HeldEntry* begin() const { return data; }
  const HeldEntry* end() const { return data + n; }
  void clear() { n = 0; }
  void grow() {  // internal lock held
    auto* bigger = new HeldEntry[2 * size_t{capacity} + 1];
    std::copy(data - 1, data + n, bigger);
    if (capacity != kInline) delete[] (data - 1);
    data = bigger + 1;
    capacity *= 2;
    if (holes == 0) cap = capacity;
  }
};

// One per thread that ever used a lock. Owned by the registry. `held`, `salt` and the counters are
// the owner's (read by others under the internal lock); `ctx` and the engine's copy of the held
// stack change only under the internal lock; `waiting_on` is atomic (watchdog).
struct ThreadState {
  // The fast path's fields first (one cache line).
  HeldStack held{held_buf};
  // The engine's interrupt state for this context, mixed into fast-path chain ids; the initial
  // value matches no validated chain, so a thread's first acquisitions take the slow path.
  uint64_t salt = kNoSalt;
  uint64_t fast_acquisitions = 0;
  // Also mirrored from the engine context: usage bits an acquisition sets (write, read) and
  // whether it may sleep (see fast_step's chain-head case).
  uint32_t want[2] = {~0u, ~0u};
  bool alone_ok = false;
  // The engine context and its irq_generation the fields above were mirrored from (mirror_state).
  uint64_t mirrored_generation = 0;  // 0: none yet
  // The same for the mutex prologue: the tag bits (usage) a lone write acquisition needs, all
  // ones (no tag has them all) when it may not go alone; and g_tag_salt.
  uint64_t alone_tag = ~0ull;
  uint64_t tag_salt = 0;
  // parent_low(salt) and code_bits(salt) (see the child memo).
  uint32_t parent_low = 1u << 9;
  uint32_t code_bits = 0;
  int spin_held = 0;        // spinning locks held (sleeping calls are checked only then)
  // Locks another thread unlocked while this one held them (a lock handed over between threads):
  // this thread drops them from its held stack at its next slow path (Engine). Runtime's lock.
  std::vector<uint64_t> handed_off;
  std::vector<size_t> sync_gone;  // sync_held's scratch: engine entries to drop
  // The held stack's bookkeeping off the fast path (the owner writes it; sync_held reads it):
  //   held_synced: the entries below it were, at the last sync, the engine's entries one for one,
  //     and none of them has been released since (a release below the top lowers it; one at the
  //     top needs not: kEngineKnownIp tells what was popped and pushed again);
  //   held_low: the entries below it are holes (a first-to-last release finds its lock there);
  //   held_first_hole: no hole below it (compact_held starts there);
  //   held_named: every entry below it is named by its chain key, or its class is held once
  //     (chain_named: such a chain of locks of one class may go into the pair cache).
  uint32_t held_synced = 0, held_low = 0, held_first_hole = 0, held_named = 0;
  uint64_t held_generation = 0;  // the engine's held_generation of ctx at the last sync
  uint64_t id = 0;          // context id given to the engine (never reused, survives fork)
  int tid = 0;
  Context ctx = nullptr;
  std::string name;
  pthread_t handle = 0;     // pthread_self() of the thread
  bool api_named = false;   // named through lockhound_set_thread_name (wins over the others)
  int signal_depth = 0;
  // Per handler level (the first kSigFrames): the trampoline's frame, and the alternate stack it
  // runs on (alt_hi 0: the thread's own stack). A jump to a frame outside them leaves the level.
  static constexpr int kSigFrames = 8;
  struct SigFrame {
    uint64_t frame, alt_lo, alt_hi;
  } sig_frames[kSigFrames];
  bool signals_enabled = true;
  sigset_t mask;            // the thread's signal mask as last seen
  // Watchdog: what this thread is blocked on, since when, and its stack once it stalled.
  std::atomic<uint64_t> waiting_on{0};
  uint64_t wait_ip = 0;
  std::atomic<bool> stalled{false};
  bool waiting_spins = false;  // an API lock's wait spins (lockhound_wait_begin)
  uint64_t stall_pcs[64];
  size_t stall_depth = 0;
  ThreadState* next = nullptr;
  HeldEntry held_buf[HeldStack::kInline + 1];
  // In pthread_join while holding locks: the thread joined (its handle) and where; Runtime's lock.
  // Kept after the fast path's fields (placed before held_buf they cost the nested benchmark
  // 1.7 ns per pair: 15.8 -> 17.5).
  uint64_t joining = 0;
  // Lookups of the pair cache by the fast path (its memos missed): reported as a statistic.
  uint64_t pair_lookups = 0;
  uint64_t join_pcs[32];
  size_t join_depth = 0;
  // The call the engine is told of now (CallSite in runtime.cpp): its return address, its
  // caller's stack pointer (0: not known) and, for an acquisition, the lock. Only the owner reads
  // or writes them. They key the stack memo, made at the thread's 16th unwind (unwinds counts
  // them until then); null before, or when the thread's stack bounds are unknown.
  uint64_t site_ip = 0, site_sp = 0, site_lock = 0;
  std::unique_ptr<StackMemo> stack_memo;
  uint32_t unwinds = 0;
  // The caller's callee-saved registers at its lock call, for the lock named `lock` (0: none
  // saved), written by the interposers just before they tell the engine (save_call_regs in
  // interpose.cpp, which never changes these registers): a lock met for the first time at lock
  // time (a std::mutex member of an object made with new) is named by the variable of the
  // caller's code it lies in (`Account::mu`, from the debug information: name_classes).
  CallRegs call_regs;
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
// The runtime's thread-local words, in one block (one address computation on the fast path).
struct ThreadLocal {
  ThreadState* self = nullptr;  // the thread's state, kEnded after its end
  int guard = 0;                // inside the runtime: interposed calls pass straight through
  // g_sig_epoch as this thread's engine context last saw it; 0 (never an epoch: g_sig_epoch starts
  // at 2 and skips 0) until the thread has state and after its end. So an epoch equal to
  // g_fast_epoch (an epoch, or kFastOff) also says that `self` is not kEnded, and the acquisition
  // prologues test guard, epoch and the end of the thread with one compare.
  uint32_t epoch = 0;
  // A handler run unobserved (the thread had no state yet) holds the guard; a jump out of it
  // gives the guard back. Where it runs (frame 0: none).
  ThreadState::SigFrame hidden{0, 0, 0};
  // The mutex whose word this thread has taken while the runtime, not the program, is still
  // working on the acquisition (telling the engine, making the thread's state): see Pending in
  // interpose.cpp. Null otherwise.
  const volatile void* pending = nullptr;
};
static_assert(offsetof(ThreadLocal, epoch) == offsetof(ThreadLocal, guard) + 4);
extern __thread ThreadLocal t_local __attribute__((tls_model("initial-exec")));
inline ThreadState* const kEnded = reinterpret_cast<ThreadState*>(uintptr_t{1});

// True when interposers should track (runtime ready and this thread not already inside it).
// Interposed calls never initialise the runtime themselves: the caller may be inside its own
// allocator's critical section (jemalloc's early pthread_mutex_trylock), and initialising
// allocates. Before the constructor has run, calls pass straight through.
inline bool tracking() {
  return t_local.guard == 0 && g_state.load(std::memory_order_acquire) == static_cast<int>(State::ready);
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
  ThreadState* ts = t_local.self;
  if (__builtin_expect(ts != nullptr && ts != kEnded, 1)) return ts;
  return self_slow();
}
// The calling thread's state if it has one (never creates it: safe in signal handlers).
inline ThreadState* current() {
  ThreadState* ts = t_local.self;
  return ts == kEnded ? nullptr : ts;
}
// Makes sure the runtime is initialised (the constructor and the API call it).
void ensure_init();

// Re-entry guard for the calling thread.
struct Guard {
  Guard() { ++t_local.guard; }
  ~Guard() { --t_local.guard; }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};
inline bool guarded() { return t_local.guard != 0; }

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
  ThreadState* ts_ = nullptr;
  Context ctx_ = nullptr;
};

}  // namespace lockhound::runtime
