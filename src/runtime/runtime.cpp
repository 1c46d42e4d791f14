// The runtime: start and end of the process, threads, the engine behind the fast path (its state
// kept in step with the threads' own held stacks), every lock operation's slow path, and fork. The
// rooms beside it (runtime_state.h lists them) name lock classes, write output and watch for hangs.
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <new>
#include <span>
#include <string>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "core/facts.h"
#include "core/sites.h"
#include "core/table_memory.h"
#include "core/voice.h"
#include "core/waitfor.h"
#include "report/report.h"
#include "runtime/real.h"
#include "runtime/operations.h"
#include "runtime/runtime_state.h"
#include "symbolize/symbolize.h"

namespace lockhound::runtime {

std::atomic<int> g_state{static_cast<int>(State::uninit)};
__thread ThreadLocal t_local __attribute__((tls_model("initial-exec")));
std::atomic<uint32_t> g_sig_epoch{2};  // never 0, the epoch of a thread without state
std::atomic<uint64_t> g_fast_epoch{uint64_t{kFastOff} << 32};
std::atomic<uint64_t> g_pair_epoch{0};
std::atomic<std::atomic<uint64_t>*> g_pair_cache{nullptr};
std::atomic<uint64_t>* pair_cache_make() {
  void* p = nullptr;
  try {
    p = engine::map_table(kPairSlots * sizeof(uint64_t), /*populate=*/false);
  } catch (const std::bad_alloc&) {
    return nullptr;  // pairs are then validated by the engine every time
  }
  auto* cache = static_cast<std::atomic<uint64_t>*>(p);
  g_pair_cache.store(cache, std::memory_order_release);
  return cache;
}
// The validated-chain table before the first chain: mask 0, one empty slot.
const uint64_t g_empty_table[2] = {0, 0};
std::atomic<const uint64_t*> g_fast_table{g_empty_table};
uint64_t g_tag_salt = 0;
bool g_fast = false;

// ------------------------------------------------------------------------- internal lock
void InternalLock::lock() {
  int c = 0;
  for (int spin = 0; spin < 100; ++spin) {
    c = 0;
    if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    __builtin_ia32_pause();
  }
  if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    syscall(SYS_futex, reinterpret_cast<int*>(&state_), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
    c = state_.exchange(2, std::memory_order_acquire);
  }
}

void InternalLock::unlock() {
  if (state_.exchange(0, std::memory_order_release) == 2)
    syscall(SYS_futex, reinterpret_cast<int*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

namespace {
alignas(Runtime) unsigned char g_storage[sizeof(Runtime)];
}  // namespace
Runtime* g_rt = nullptr;
std::atomic<uint64_t> g_handled{0};     // bit n: signal n has a handler installed through us
pthread_key_t g_thread_key;

__thread const ApiSite* t_api_site __attribute__((tls_model("initial-exec"))) = nullptr;


// ------------------------------------------------------------------------- fast path support
bool fast_place(uint64_t* t, uint64_t key) {
  for (uint64_t i = key;; ++i) {
    uint64_t& slot = t[1 + (i & t[0])];
    if (slot == key) return false;
    if (slot == 0) {
      __atomic_store_n(&slot, key, __ATOMIC_RELAXED);
      return true;
    }
  }
}

// Publishes a validated chain key (internal lock held). The table stays at most half full; a
// bigger one is filled completely before readers can see it.
void fast_insert(uint64_t key) {
  Runtime& r = rt();
  uint64_t* t = r.fast_cur;
  if (!t || (r.fast_keys + 1) * 2 > t[0] + 1) {
    size_t cap = t ? (t[0] + 1) * 2 : 4096;
    // Never unmapped (a reader may still probe an old table). A large one lies in huge pages and
    // is faulted in one call: every new chain of a program with many locks writes a random slot.
    uint64_t* nt;
    try {
      nt = static_cast<uint64_t*>(engine::map_table((cap + 1) * sizeof(uint64_t), true));
    } catch (const std::bad_alloc&) {
      return;  // the chain stays on the slow path
    }
    nt[0] = cap - 1;
    if (t)
      for (size_t i = 1; i <= t[0] + 1; ++i)
        if (t[i]) fast_place(nt, t[i]);
    r.fast_tables.push_back(nt);
    r.fast_cur = nt;
    g_fast_table.store(nt, std::memory_order_release);
    // The old one's memory goes back (as much again as the new one's halves, over all the
    // generations): a thread still probing it reads zeros from here on, which its probe takes
    // for a chain not seen, so it asks the slow path, which uses the new table.
    if (t) engine::release_table(t, (t[0] + 2) * sizeof(uint64_t));
    t = nt;
  }
  if (fast_place(t, key)) r.fast_keys++;
}

uint64_t salt_of(Context ctx) { return uint64_t{rt().v->irq_state(ctx)} << kSaltShift; }

// The fast path's copy of the thread's engine state (internal lock held).
void mirror_state(ThreadState* ts) {
  Validator& v = *rt().v;
  if (!ts->ctx) {
    ts->mirrored_generation = 0;
    ts->salt = kNoSalt;
    ts->alone_ok = false;
    ts->alone_tag = ~0ull;
    ts->parent_low = parent_low(kNoSalt);
    return;
  }
  // Everything below follows from the context's interrupt state alone: nothing to do when it has
  // not changed since the last time (each slow-path event mirrors twice, before and after).
  uint64_t gen = v.irq_generation(ts->ctx);
  if (ts->mirrored_generation == gen) return;
  ts->mirrored_generation = gen;
  ts->salt = salt_of(ts->ctx);
  ts->parent_low = parent_low(ts->salt);
  ts->code_bits = code_bits(ts->salt);
  ts->want[0] = v.usage_wanted(ts->ctx, Mode::write);
  ts->want[1] = v.usage_wanted(ts->ctx, Mode::read);
  // For chain heads only (nothing held on the runtime's stack): the engine's stack may still show
  // a spinlock the fast path has since released.
  ts->alone_ok = v.may_sleep_holding_nothing(ts->ctx);
  ts->alone_tag = ts->alone_ok ? make_tag(0, 0, ts->want[0]) & kTagUsageMask : ~0ull;
}

// Removes the holes fast_release left in the owner's held stack and rebuilds the keys above the
// first of them (the owner, internal lock held): one pass for however many releases made them.
void compact_held(ThreadState* ts) {
  HeldStack& h = ts->held;
  if (h.holes == 0) return;
  ++t_local.guard;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  uint32_t from = std::min(ts->held_first_hole, h.n), out = from;
  for (uint32_t j = from; j < h.n; ++j) {
    if (h[j].hole()) continue;
    HeldEntry e = h[j];
    e.key = fast_mix(h.data[static_cast<int>(out) - 1].key, e.id);
    if (out > 0 && same_class(h[out - 1].id, e.id)) e.key = pair_key(e.key, h[out - 1].lock, e.lock);
    h[out++] = e;
  }
  h.n = out;
  h.holes = 0;
  h.cap = h.capacity;
  ts->held_low = 0;
  ts->held_first_hole = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  --t_local.guard;
}

// Brings the engine's copy of `ts`'s held stack up to date (internal lock held). The runtime's
// stack only ever loses entries anywhere and gains them on top, so the engine's copy is turned
// into it by dropping what is gone and replaying what is new; the replayed acquisitions are on
// validated chains in the interrupt state the engine is still in, so they add nothing new.
// Only the part above the entries that are unchanged since the last sync is walked (held_synced,
// and kEngineKnownIp on the entries the engine has): an acquisition on top of a thousand held
// locks costs what it costs on top of none.
void sync_held(ThreadState* ts) {
  Runtime& r = rt();
  Validator& v = *r.v;
  Context ctx = ts->ctx;
  HeldStack& h = ts->held;
  size_t n = v.held_count(ctx);
  // Another thread's stack (a lock handed over, a held lock destroyed) is walked whole and left as
  // it is: its owner writes the bookkeeping below without the internal lock.
  bool own = current() == ts;
  // The unchanged bottom: no release below held_synced, the engine's entries not changed by the
  // engine itself since (a lock destroyed while held), and what was popped and pushed again since
  // is above the highest entry the engine has.
  size_t base = 0;
  if (own && v.held_generation(ctx) == ts->held_generation) {
    uint32_t top_known = h.n;
    while (top_known > 0 && !h[top_known - 1].engine_known()) --top_known;
    base = std::min<size_t>({ts->held_synced, top_known, n});
  }
  size_t i = base, j = base;
  size_t first_skip = SIZE_MAX;  // the first runtime entry the engine does not have
  // Dropped at once after the walk: a thousand locks released on the fast path cost one pass.
  std::vector<size_t>& gone = ts->sync_gone;
  gone.clear();
  while (i < n) {
    Validator::HeldInfo e = v.held_at(ctx, i);
    // The same acquisition: the same lock, mode and site, and on the thread's own stack an entry
    // the engine has (kEngineKnownIp). A lock released on the fast path (the engine was not told)
    // and taken again is a new acquisition, even through the same call (a lock wrapper): the
    // engine's entry would give it the old acquisition's callers in reports.
    if (j < h.n && e.lock == h[j].lock && e.mode == h[j].mode() && e.trylock == h[j].trylock() &&
        e.ip == h[j].site_ip() && (!own || h[j].engine_known())) {
      ++i;
      ++j;
    } else if (j < h.n && (h[j].hole() || !v.lock_known(h[j].lock))) {
      first_skip = std::min(first_skip, j);
      ++j;  // released (another thread's stack), or destroyed while held: the engine has dropped it
    } else {
      gone.push_back(i++);
    }
  }
  v.drop_held_many(ctx, gone);
  for (; j < h.n; ++j) {
    AcquireFlags fl;
    fl.mode = h[j].mode();
    fl.trylock = h[j].trylock();
    if (!h[j].hole() && v.acquire_if_known(ctx, h[j].lock, fl, Site{h[j].site_ip(), kNoStack})) {
      r.replays++;
      if (own) h[j].ip |= kEngineKnownIp;
    } else {
      first_skip = std::min(first_skip, j);
    }
  }
  if (!own) return;
  // Below the first entry the engine lacks, the two stacks are now one for one (every runtime
  // entry there was matched or replayed, in order).
  ts->held_synced = static_cast<uint32_t>(std::min<size_t>(first_skip, h.n));
  ts->held_generation = v.held_generation(ctx);
  if (ts->held_named > base) ts->held_named = base ? static_cast<uint32_t>(base - 1) : 0;
}

// Whether the chain key of `ts`'s held stack names every lock of a class held more than once
// (each such lock nested directly on or under one of its class: pair_key), so that the key stands
// for these very locks and the chain may go into the pair cache. Checked from held_named up: a
// lock taken on top of one of its class costs nothing (N locks of one class: N steps in all).
bool chain_named(ThreadState* ts) {
  const HeldStack& h = ts->held;
  uint32_t j = std::min(ts->held_named, h.n);
  for (; j < h.n; ++j) {
    if (j > 0 && same_class(h[j - 1].id, h[j].id)) continue;
    for (uint32_t k = 0; k + 1 < j; ++k)
      if (same_class(h[k].id, h[j].id)) {
        ts->held_named = j;
        return false;
      }
  }
  ts->held_named = j;
  return true;
}

// Before a lifetime ends: if any thread may hold the lock, every thread's engine stack is brought
// up to date, so "held lock freed" is judged on what is really held.
void settle_holders(uint64_t lock) {
  Runtime& r = rt();
  bool held = r.v->lock_held(lock);
  for (ThreadState* t = r.threads; t && !held; t = t->next)
    for (size_t i = 0; i < t->held.size() && !held; ++i) held = t->held[i].lock == lock;
  if (!held) return;
  for (ThreadState* t = r.threads; t; t = t->next)
    if (t->ctx) sync_held(t);
}

// A lock that a thread left behind by fork() held, initialised again or destroyed in the child:
// the usual remedy there, not a held lock freed. The thread that is not here lets go of it.
void drop_orphan_holds(uint64_t lock) {
  if (!g_fork_orphans.load(std::memory_order_relaxed)) return;
  Runtime& r = rt();
  for (ThreadState* t = r.orphans; t; t = t->next) {
    bool has = false;
    for (size_t i = 0; i < t->held.size(); ++i) has |= t->held[i].lock == lock;
    if (!has) continue;
    if (t->ctx) sync_held(t);
    while (fast_release(t, lock)) {
    }
    if (t->ctx) sync_held(t);
  }
}

// ------------------------------------------------------------------------- stacks
namespace {

bool own_pc(const Runtime& r, uint64_t pc) { return pc - 1 >= r.self_lo && pc - 1 < r.self_hi; }

// The interned stack of the program's frames `pcs[0..kept)`; with api_site, the annotation API's
// call site (t_api_site) is its first frame when the call came through the API.
StackId intern_pcs(Runtime& r, const uint64_t* pcs, size_t kept, bool api_site = true) {
  bool api = api_site && t_api_site && t_api_site->file && kept > 0;
  std::span<const uint64_t> key(pcs, kept);
  if (!api) {
    auto it = r.stacks_by_pcs.find(key);
    if (it != r.stacks_by_pcs.end()) return it->second;
  }
  std::vector<Frame> frames(kept);
  uint64_t sigreturn = symbolize::signal_return();
  for (size_t i = 0; i < kept; ++i) {
    frames[i].pc = pcs[i];
    if (sigreturn && pcs[i] == sigreturn) frames[i].function = "<signal handler called>";  // as gdb says
  }
  if (api) {
    frames[0].file = t_api_site->file;
    frames[0].line = static_cast<unsigned>(t_api_site->line);
    if (t_api_site->func) frames[0].function = t_api_site->func;
  }
  StackId id = r.v->intern_stack(frames);
  if (!api) r.stacks_by_pcs.emplace(std::vector<uint64_t>(key.begin(), key.end()), id);
  return id;
}

// The calling thread's stack: its bounds, once (pthread_getattr_np reads /proc/self/maps for the
// main thread).
bool thread_stack_bounds(uint64_t& lo, uint64_t& hi) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
  void* addr = nullptr;
  size_t size = 0;
  int rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0 || !addr || size == 0) return false;
  lo = reinterpret_cast<uint64_t>(addr);
  hi = lo + size;
  return true;
}

constexpr uint32_t kStackMemoAfter = 16;

// The stack of the lock call the engine is checking now (ts->site_ip, site_sp: on_acquire), from
// the thread's memo when the call path is the one remembered, else unwound once and remembered.
// Null when the memo does not keep it (the annotation API's calls, a signal handler's, a call on
// another stack, or frames of the runtime's own among the program's): the caller unwinds then.
StackMemo::Entry* current_stack(Runtime& r, ThreadState* ts) {
  if (ts->site_sp == 0 || ts->signal_depth > 0 || t_api_site) return nullptr;
  if (!ts->stack_memo) {
    // Made at the thread's kStackMemoAfter-th unwind (tried once): most threads of a program with
    // thousands make a few new chains and never need one (27 KiB each).
    if (ts->unwinds >= kStackMemoAfter || ++ts->unwinds < kStackMemoAfter) return nullptr;
    uint64_t lo = 0, hi = 0;
    if (!thread_stack_bounds(lo, hi)) return nullptr;
    ts->stack_memo.reset(new (std::nothrow) StackMemo(lo, hi));
    if (!ts->stack_memo) return nullptr;
  }
  StackMemo& memo = *ts->stack_memo;
  if (!memo.covers(ts->site_sp)) return nullptr;
  if (StackMemo::Entry* e = memo.find(ts->site_ip, ts->site_sp)) {
    r.stack_memo_hits++;
    return e;
  }
  uint64_t pcs[StackMemo::kFrames + 48];  // the runtime's own frames come first
  size_t want = std::size(pcs);
  size_t n = symbolize::capture_stack(pcs, want);
  r.stack_unwinds++;
  size_t first = 0;
  while (first < n && own_pc(r, pcs[first])) ++first;
  uint64_t sigreturn = symbolize::signal_return();
  for (size_t i = first; i < n; ++i)
    if (own_pc(r, pcs[i]) || (sigreturn && pcs[i] == sigreturn)) return nullptr;
  return memo.record(ts->site_ip, ts->site_sp, pcs + first, n - first, n < want);
}

}  // namespace

// The held lock's stack from the frame of its lock call (HeldEntry::frame: the caller's stack
// pointer x and frame pointer then). The function at `ip` had, at that call, the CFA its call
// frame information gives for x (or the frame pointer): call it W. The frames of the current stack
// whose CFA lies above W's are W's callers that are still running, and the held lock's stack is
// [ip] + them. That holds only if W's caller is still running, and then (its stack pointer being
// the same at its calls, as compilers make it) the frame it calls now sits exactly where W's was:
// so the frame below the first caller must have W's CFA, else W's caller has returned too and
// another function is running in its place (kNoStack). W itself still running (a wrapper that
// tail-called the lock function: ip lies in its caller) is that very frame, shown by ip.
// Not known: nothing found (kUnknown), the lock call alone (kNoStack), or the stack.
constexpr StackId kUnknown = std::numeric_limits<StackId>::max();
StackId stack_from_call_frame(uint64_t ip, CallFrame call) {
  Runtime& r = rt();
  if (call.sp == 0) return kUnknown;
  uint64_t cfa_w = 0;
  r.report_lock.lock();
  bool ok = sym().frame_cfa(ip, call.sp, call.fp, cfa_w);
  r.report_lock.unlock();
  if (!ok || cfa_w < call.sp) return kUnknown;
  uint64_t pcs[256], cfas[256];
  size_t n = symbolize::capture_stack_cfa(pcs, cfas, 256);
  auto own = [&](uint64_t pc) { return pc - 1 >= r.self_lo && pc - 1 < r.self_hi; };
  // The same lock call being made again now (std::mutex's __gthread_mutex_lock at -O0, reached
  // through another chain of wrappers): the frames around W's old place are likely the new
  // chain's, of the same sizes as the old one's. Left to the older rule, which passes over it.
  for (size_t i = 0; i < n; ++i)
    if (pcs[i] == ip) return kUnknown;
  size_t k = 0;
  while (k < n && cfas[k] <= cfa_w) ++k;
  if (k == 0 || k == n || cfas[k - 1] != cfa_w) return kNoStack;
  std::vector<Frame> frames;
  frames.push_back(Frame{});
  frames.back().pc = ip;
  size_t depth = static_cast<size_t>(r.opts.stack_depth);
  uint64_t sigreturn = symbolize::signal_return();
  for (size_t i = k; i < n && frames.size() < depth; ++i) {
    if (i > k && cfas[i] < cfas[i - 1]) break;  // another stack (a handler's alternate one): not W's callers
    if (own(pcs[i])) continue;
    frames.push_back(Frame{});
    frames.back().pc = pcs[i];
    if (sigreturn && pcs[i] == sigreturn) frames.back().function = "<signal handler called>";
  }
  return r.v->intern_stack(frames);
}

// The stack of a lock still held whose acquisition the fast path took, leaving only the return
// address of its lock call (`ip`) and the frame it was made from. First the cheap rule: when the
// function that made that call is still running (a frame of the current stack lies in the same
// function), that frame's callers were the lock call's callers too, and the held lock's stack is
// [ip] + them. (A function that returned holding the lock and was called again from elsewhere to
// make another call would lend its new callers.) Else, for a lock wrapper that has returned, the
// frame it was called from (stack_from_call_frame: one more unwind, with CFAs, so only when the
// cheap rule found nothing). Else kNoStack: the lock call alone.
// held_stack_hook's answer: `e` is the current stack when the memo has it whole.
// by_frame: set when the answer depends on `call` (the cheap rule's depends on ip alone).
static StackId held_stack_of(Runtime& r, uint64_t ip, CallFrame call, const StackMemo::Entry* e,
                             bool* by_frame = nullptr) {
  uint64_t buf[256];
  const uint64_t* pcs = buf;
  size_t n = 0;
  if (e) {
    pcs = e->pcs;
    n = e->n;
  } else {
    n = symbolize::capture_stack(buf, 256);
    r.stack_unwinds++;
  }
  auto own = [&](uint64_t pc) { return own_pc(r, pc); };
  // The function that made the lock call, and the first frame of the current stack in it.
  size_t found = n;
  r.report_lock.lock();
  std::string fn = sym().frames(ip).back().function;
  // A frame at the very same return address is making that lock call again: a lock wrapper
  // called anew for the lock being taken now (std::mutex::lock's __gthread_mutex_lock at -O0), or
  // a deeper call of a recursive function. Not the activation that took the held lock.
  for (size_t k = 0; k < n && !fn.empty() && found == n; ++k)
    if (!own(pcs[k]) && pcs[k] != ip && sym().frames(pcs[k]).back().function == fn) found = k;
  r.report_lock.unlock();
  if (found == n) {
    if (by_frame) *by_frame = true;
    StackId s = stack_from_call_frame(ip, call);  // (no entry for the lock: call.sp 0, kUnknown)
    return s != kUnknown ? s : kNoStack;
  }
  uint64_t out[256];
  size_t kept = 0, depth = static_cast<size_t>(r.opts.stack_depth);
  out[kept++] = ip;
  for (size_t k = found + 1; k < n && kept < depth; ++k)
    if (!own(pcs[k])) out[kept++] = pcs[k];
  return intern_pcs(r, out, kept, false);
}

// The stack of the acquisition at `ip` of a lock the calling thread holds (`call`: its entry's
// frame), while the engine checks the lock call ts->site_ip. The current stack is that call's,
// whole, from the memo when it has it; the answer depends on nothing else but ip (and, when the
// held lock's call frame decided it, that frame), so the memo keeps the last two answers on it.
static StackId held_stack_at(Runtime& r, ThreadState* ts, uint64_t ip, CallFrame call) {
  StackMemo::Entry* e = current_stack(r, ts);
  if (e && !e->complete) e = nullptr;
  if (e)
    for (const auto& a : e->held)
      if (a.ip == ip && (!a.by_frame || (a.sp == call.sp && a.fp == call.fp))) return a.stack;
  bool by_frame = false;
  StackId s = held_stack_of(r, ip, call, e, &by_frame);
  if (e) {
    e->held[1] = e->held[0];
    e->held[0] = StackMemo::Entry::Held{ip, call.sp, call.fp, s, by_frame};
  }
  return s;
}

// The calling thread's entry of a held lock taken at `ip` (`lock`: that lock; 0: any), or null.
static const HeldEntry* held_entry(ThreadState* ts, uint64_t lock, uint64_t ip) {
  for (uint32_t i = ts->held.n; i-- > 0;) {
    const HeldEntry& h = ts->held[i];
    if ((lock == 0 || h.lock == lock) && !h.hole() && h.site_ip() == ip) return &h;
  }
  return nullptr;
}

StackId held_stack_hook(Context ctx, uint64_t lock, uint64_t ip) {
  Runtime& r = rt();
  // The hook runs in the thread that holds the lock: the runtime's entry has the call's frame.
  ThreadState* ts = current();
  if (!ts || ts->ctx != ctx) return held_stack_of(r, ip, CallFrame{}, nullptr);
  const HeldEntry* h = held_entry(ts, lock, ip);
  return held_stack_at(r, ts, ip, h ? h->frame : CallFrame{});
}

StackId capture_hook(Context ctx, uint64_t lock, uint64_t ip) {
  Runtime& r = rt();
  size_t depth = static_cast<size_t>(r.opts.stack_depth);
  if (ThreadState* ts = current(); ts && ts->ctx == ctx && ts->site_ip) {
    // The call being made: its stack from the memo. (In a build without inlining every
    // std::mutex lock call returns into one __gthread_mutex_lock: the lock tells the calls apart.)
    if (ip == ts->site_ip && (lock == 0 || lock == ts->site_lock)) {
      if (StackMemo::Entry* e = current_stack(r, ts); e && (e->complete || e->n >= depth)) {
        if (e->stack == kNoStack) e->stack = intern_pcs(r, e->pcs, std::min<size_t>(e->n, depth));
        return e->stack;
      }
    } else if (const HeldEntry* h = held_entry(ts, lock, ip); h && !t_api_site) {
      // A lock held below it, whose acquisition the fast path took and the engine sees only now
      // (sync_held's replay): the current stack is the later call's, so the held lock's stack is
      // found as held_stack_hook finds it (the current stack's first frame is the later call).
      StackId s = held_stack_at(r, ts, ip, h->frame);
      // Not found, and taken through the very wrappers of the call being made, at the same depth
      // (std::mutex at -O0: both calls return into one __gthread_mutex_lock from frames at the
      // same places): the wrappers' frames hold the new call's return addresses now, and the line
      // the held lock was taken at is gone. The current stack still names the function it was
      // taken in (at the later call's line), where its lock call alone would name the wrapper.
      if (s != kNoStack || h->frame.sp != ts->site_sp) return s;
    }
  }
  uint64_t pcs[256];
  size_t want = std::min<size_t>(depth + 48, 256);
  size_t n = symbolize::capture_stack(pcs, want);
  r.stack_unwinds++;
  size_t first = 0;
  while (first < n && own_pc(r, pcs[first])) ++first;
  if (first == n) first = 0;
  // The program's frames, compacted in place: the runtime's own frames (the signal trampoline)
  // mean nothing to the reader.
  size_t kept = 0;
  for (size_t i = first; i < n && kept < depth; ++i) {
    if (i > first && own_pc(r, pcs[i])) continue;
    pcs[kept++] = pcs[i];
  }
  if (kept == 0 && ip) pcs[kept++] = ip;
  return intern_pcs(r, pcs, kept);
}

void finding_hook(const Finding& f) {
  Runtime& r = rt();
  r.pending.push_back(f);
  r.has_pending.store(true, std::memory_order_release);
}


void fork_prepare() {
  if (g_state.load() == static_cast<int>(State::uninit)) return;
  ++t_local.guard;
  rt().lock.lock();
  rt().report_lock.lock();
}

void fork_parent() {
  if (g_state.load() == static_cast<int>(State::uninit)) return;
  rt().report_lock.unlock();
  rt().lock.unlock();
  --t_local.guard;
}

void fork_child() {
  if (g_state.load() == static_cast<int>(State::uninit)) return;
  Runtime& r = rt();
  r.report_lock.reset();
  r.lock.reset();
  // Only the forking thread lives on. The others' engine contexts stay (their held locks are
  // stuck in the child's copy of memory, as they really are) but leave the registry.
  ThreadState* me = t_local.self != kEnded ? t_local.self : nullptr;
  for (ThreadState *t = r.threads, *next; t; t = next) {
    next = t->next;
    if (t == me) continue;
    t->waiting_on.store(0, std::memory_order_relaxed);
    t->stalled.store(false, std::memory_order_relaxed);
    t->next = r.orphans;
    r.orphans = t;
    if (!t->held.empty()) g_fork_orphans.store(true, std::memory_order_relaxed);
  }
  r.threads = me;
  if (me) {
    me->next = nullptr;
    me->tid = static_cast<int>(syscall(SYS_gettid));
  }
  r.pid = static_cast<int>(getpid());
  r.log_fd = -1;  // the parent's descriptor stays the parent's; log_fd() opens PREFIX.CHILD
  r.log_failed = false;
  r.log_spooled = false;
  r.pending.clear();
  r.has_pending.store(false);
  // Findings inherited from the parent are the parent's to report.
  for (const auto& f : r.v->findings()) r.baseline.insert(f.signature);
  for (const auto& f : r.own_findings) r.baseline.insert(f.signature);
  r.reported.store(0);
  --t_local.guard;
}

void thread_key_destructor(void* arg) {
  auto* ts = static_cast<ThreadState*>(arg);
  if (!ts || g_state.load() != static_cast<int>(State::ready)) return;
  on_thread_end(ts, true);
}

std::string read_text_file(const std::string& path, bool& ok) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ok = fd >= 0;
  if (!ok) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// A thread's name as the kernel knows it (pthread_setname_np, prctl), "" if unknown.
std::string thread_comm(int tid) {
  bool ok = false;
  std::string s = read_text_file("/proc/self/task/" + std::to_string(tid) + "/comm", ok);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

void init_runtime() {
  real::resolve_all();
  g_rt = new (g_storage) Runtime();
  Runtime& r = rt();
  r.pid = static_cast<int>(getpid());
  // Tags written by an earlier process in memory this one maps (a file, shared memory) must not
  // look valid here.
  g_tag_salt = (now_ns() ^ (static_cast<uint64_t>(r.pid) << 32) ^ reinterpret_cast<uint64_t>(&r)) * 0x9E3779B97F4A7C15ull | 1;  // bit 0: see tag_check
  if (const char* root = getenv("LOCKHOUND_RUN_PID")) r.run_pid = std::atoi(root);
  if (const char* log = getenv("LOCKHOUND_RUN_LOG")) {
    r.run_log = log;
    size_t slash = r.run_log.rfind('/');
    if (slash != std::string::npos && slash > 0) r.run_dir = r.run_log.substr(0, slash);
  }
  if (const char* db = getenv("LOCKHOUND_DB")) r.opts.db = db;
  if (const char* env = getenv("LOCKHOUND_OPTIONS")) {
    for (const auto& e : parse_options(env, r.opts))
      write_all(2, "==" + std::to_string(r.pid) + "== lockhound: LOCKHOUND_OPTIONS: " + e + "\n");
  }
  if (!r.opts.db.empty() && r.opts.db[0] != '/') {  // the program may change directory before its end
    char dir[4096];
    if (getcwd(dir, sizeof dir)) r.opts.db = std::string(dir) + "/" + r.opts.db;
  }
  if (r.opts.default_suppressions) {
    std::vector<std::string> errors;  // the built-in text is checked by a unit test
    r.supp.parse(kDefaultSuppressions, "built-in suppressions", errors);
  }
  if (!r.opts.suppressions.empty()) {
    bool ok = false;
    std::string text = read_text_file(r.opts.suppressions, ok);
    std::vector<std::string> errors;
    if (!ok) errors.push_back(r.opts.suppressions + ": error: cannot read the suppressions file");
    else r.supp.parse(text, r.opts.suppressions, errors);
    for (const auto& e : errors) write_all(2, "==" + std::to_string(r.pid) + "== lockhound: " + e + "\n");
  }
  {
    struct stat st;
    if (fstat(2, &st) == 0) {
      r.stderr_copy = fcntl(2, F_DUPFD_CLOEXEC, 200);
      r.stderr_dev = st.st_dev;
      r.stderr_ino = st.st_ino;
    }
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  r.program = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "?";
  r.comm = thread_comm(r.pid);
  if (!r.opts.follow_children) {
    // Children start without the runtime: drop liblockhound from LD_PRELOAD.
    if (const char* pre = getenv("LD_PRELOAD")) {
      std::string kept, list = pre;
      size_t pos = 0;
      while (pos <= list.size()) {
        size_t end = list.find_first_of(": ", pos);
        if (end == std::string::npos) end = list.size();
        std::string item = list.substr(pos, end - pos);
        if (!item.empty() && item.find("liblockhound") == std::string::npos)
          kept += (kept.empty() ? "" : ":") + item;
        pos = end + 1;
      }
      if (kept.empty()) unsetenv("LD_PRELOAD");
      else setenv("LD_PRELOAD", kept.c_str(), 1);
    }
  }
  // The runtime's own code range, so captured stacks start at the program's frame.
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&init_runtime), &info) && info.dli_fbase) {
    struct Find {
      uint64_t base, lo = ~0ull, hi = 0;
    } find{reinterpret_cast<uint64_t>(info.dli_fbase)};
    dl_iterate_phdr(
        [](struct dl_phdr_info* di, size_t, void* arg) {
          auto* fd = static_cast<Find*>(arg);
          if (di->dlpi_addr != fd->base) return 0;
          for (int i = 0; i < di->dlpi_phnum; ++i) {
            const auto& ph = di->dlpi_phdr[i];
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
              fd->lo = std::min<uint64_t>(fd->lo, di->dlpi_addr + ph.p_vaddr);
              fd->hi = std::max<uint64_t>(fd->hi, di->dlpi_addr + ph.p_vaddr + ph.p_memsz);
            }
          }
          return 1;
        },
        &find);
    if (find.hi > find.lo) {
      r.self_lo = find.lo;
      r.self_hi = find.hi;
    }
  }
  // A malloc from a shared library other than libc (jemalloc, tcmalloc) takes pthread locks
  // inside its own critical sections; the engine allocates, so tracking those locks could
  // re-enter the allocator while it holds them. Calls from that library pass straight through.
  if (void* m = dlsym(RTLD_DEFAULT, "malloc")) {
    Dl_info mi{};
    Dl_info li{};
    if (dladdr(m, &mi) && mi.dli_fbase && dladdr(reinterpret_cast<void*>(&::getpid), &li) &&
        mi.dli_fbase != li.dli_fbase) {
      struct Find {
        uint64_t base, lo = ~0ull, hi = 0;
        bool main_program = false;
      } fa{reinterpret_cast<uint64_t>(mi.dli_fbase)};
      dl_iterate_phdr(
          [](struct dl_phdr_info* di, size_t, void* arg) {
            auto* fd = static_cast<Find*>(arg);
            bool first = fd->lo == ~0ull && fd->hi == 0 && !fd->main_program;
            (void)first;
            uint64_t base = di->dlpi_addr;
            bool hit = false;
            for (int i = 0; i < di->dlpi_phnum; ++i) {
              const auto& ph = di->dlpi_phdr[i];
              if (ph.p_type == PT_LOAD && base + ph.p_vaddr <= fd->base &&
                  fd->base < base + ph.p_vaddr + ph.p_memsz)
                hit = true;
            }
            if (!hit && base != fd->base) return 0;
            if (di->dlpi_name == nullptr || di->dlpi_name[0] == '\0') fd->main_program = true;
            for (int i = 0; i < di->dlpi_phnum; ++i) {
              const auto& ph = di->dlpi_phdr[i];
              if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
                fd->lo = std::min<uint64_t>(fd->lo, base + ph.p_vaddr);
                fd->hi = std::max<uint64_t>(fd->hi, base + ph.p_vaddr + ph.p_memsz);
              }
            }
            return 1;
          },
          &fa);
      // An allocator linked into the program itself cannot be told apart from the program.
      if (!fa.main_program && fa.hi > fa.lo) {
        g_alloc_lo = fa.lo;
        g_alloc_hi = fa.hi;
      }
    }
  }
  ValidatorOptions vo;
  vo.source = "run";
  vo.report_guarded_cycles = true;
  ValidatorHooks hooks;
  hooks.capture_stack = capture_hook;
  hooks.held_stack = held_stack_hook;
  hooks.on_finding = finding_hook;
  hooks.name_classes = name_classes;
  r.v = new Validator(vo, hooks);
  g_fast = r.opts.fast_path && mutex_protocol_ok();
  g_fast_epoch.store(uint64_t{g_fast ? g_sig_epoch.load() : kFastOff} << 32);
  symbolize::load_fast_unwinder();
  if (r.opts.fast_path && !g_fast)
    note("this C library's mutexes differ from what the fast path expects; it is off");
  pthread_key_create(&g_thread_key, thread_key_destructor);
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  if (r.opts.verbosity > 0) {
    r.report_lock.lock();
    note("checking " + r.program + " (options: " +
         std::string(getenv("LOCKHOUND_OPTIONS") ? getenv("LOCKHOUND_OPTIONS") : "") + ")");
    r.report_lock.unlock();
  }
}


// ------------------------------------------------------------------------- public inside API

const Options& options() { return rt().opts; }

void ensure_init() {
  int s = g_state.load(std::memory_order_acquire);
  if (s != static_cast<int>(State::uninit)) return;
  int expected = static_cast<int>(State::uninit);
  if (!g_state.compare_exchange_strong(expected, static_cast<int>(State::initializing))) return;
  ++t_local.guard;
  try {
    init_runtime();
    g_state.store(static_cast<int>(State::ready), std::memory_order_release);
  } catch (...) {
    g_state.store(static_cast<int>(State::disabled));
    write_all(2, "lockhound: initialisation failed; checking is off, the program runs on\n");
  }
  --t_local.guard;
}

uint64_t g_alloc_lo = 0, g_alloc_hi = 0;

ThreadState* self_slow() {
  ThreadState* ts = t_local.self;
  if (ts == kEnded) return nullptr;
  if (ts) return ts;
  if (t_local.guard || g_state.load(std::memory_order_acquire) != static_cast<int>(State::ready))
    return nullptr;
  Guard g;
  ts = new (std::nothrow) ThreadState();
  if (!ts) return nullptr;
  ts->tid = static_cast<int>(syscall(SYS_gettid));
  ts->tag_salt = g_tag_salt;
  real::thread_sigmask(SIG_BLOCK, nullptr, &ts->mask);
  Runtime& r = rt();
  // A thread named before its first lock (pthread_setname_np by its creator, prctl) keeps that
  // name; a new thread's name is the program's, which says nothing.
  bool main_thread = ts->tid == static_cast<int>(getpid());
  std::string comm = main_thread ? "" : thread_comm(ts->tid);
  r.lock.lock();
  ts->id = r.next_thread_id++;
  ts->handle = pthread_self();
  // Other threads are numbered from 1 in the order they first use a lock, the main thread aside.
  ts->name = (main_thread ? "main thread"
              : !comm.empty() && comm != r.comm ? comm
                                                : "thread " + std::to_string(++r.unnamed_threads)) +
             " (tid " + std::to_string(ts->tid) + ")";
  ts->next = r.threads;
  r.threads = ts;
  r.lock.unlock();
  pthread_setspecific(g_thread_key, ts);
  t_local.self = ts;
  return ts;
}


bool compute_signals_enabled(const sigset_t& mask) {
  uint64_t handled = g_handled.load(std::memory_order_relaxed);
  for (int sig = 1; sig < 64; ++sig) {
    if (!(handled & (1ull << sig))) continue;
    // Faults are delivered only at the faulting instruction, never "at any moment".
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
        sig == SIGSYS)
      continue;
    if (!sigismember(&mask, sig)) return true;
  }
  return false;
}

Engine::Engine(ThreadState* ts) : ts_(ts) {
  Runtime& r = rt();
  r.lock.lock();
  if (!ts) return;
  if (!ts->ctx) {
    ts->ctx = r.v->context(ts->id, ts->name);
    t_local.epoch = g_sig_epoch.load(std::memory_order_relaxed) | 3;  // odd: matches nothing
  }
  ctx_ = ts->ctx;
  if (!ts->handed_off.empty()) {  // released by other threads: no longer held here
    for (uint64_t lock : ts->handed_off) fast_release(ts, lock);
    ts->handed_off.clear();
  }
  uint32_t epoch = g_sig_epoch.load(std::memory_order_relaxed);
  if (t_local.epoch != epoch && ts->signal_depth == 0) {
    t_local.epoch = epoch;
    bool en = compute_signals_enabled(ts->mask);
    if (en != ts->signals_enabled || !en) {
      ts->signals_enabled = en;
      if (en) r.v->irq_enable(ctx_, Irq::signal);
      else r.v->irq_disable(ctx_, Irq::signal);
    }
  }
  compact_held(ts);
  sync_held(ts);
  mirror_state(ts);
}

Engine::~Engine() {
  Runtime& r = rt();
  if (ts_) mirror_state(ts_);
  r.lock.unlock();
  if (r.has_pending.load(std::memory_order_acquire)) {
    try {
      flush_pending();
    } catch (...) {
      stop("internal error while reporting");
    }
  }
}

Validator& Engine::v() { return *rt().v; }

// ------------------------------------------------------------------------- operations
// The call the engine is told of now (ThreadState::site_ip, site_sp) while an operation runs, the
// Engine's sync included: the stack hooks find this call's stack in the thread's memo (sp: the
// caller's stack pointer at the call, 0 when not known), and give a lock that the sync replays
// (taken on the fast path, seen by the engine only now) its own stack, not this call's.
class CallSite {
 public:
  CallSite(ThreadState* ts, uint64_t ip, uint64_t sp = 0, uint64_t lock = 0) : ts_(ts) {
    if (!ts_) return;
    ts_->site_ip = ip;
    ts_->site_sp = sp > kFrameHere ? sp : 0;
    ts_->site_lock = lock;
  }
  ~CallSite() {
    if (ts_) ts_->site_ip = ts_->site_sp = ts_->site_lock = 0;
  }
  CallSite(const CallSite&) = delete;
  CallSite& operator=(const CallSite&) = delete;

 private:
  ThreadState* ts_;
};

__attribute__((noinline)) void on_init(uint64_t lock, LockKind kind, uint64_t ip, const char* class_name,
             const ApiSite* api, uint64_t* tag_slot) {
  try {
    Engine e(nullptr);
    Runtime& r = rt();
    if (r.locks.contains(lock)) {
      drop_orphan_holds(lock);
      settle_holders(lock);
    }
    end_lifetime(lock);
    LockInfo li;
    if (class_name && *class_name) li.cls = r.v->lock_class(class_name, kind);
    else if (!api && is_static(lock) && !r.static_destroyed.contains(lock))
      li = class_for_instance(lock, kind);  // its own symbol
    else {
      SiteKey key{};
      key[0] = ip;
      if (!api) {
        // Frames: on_init, the interposer, the init site, its callers.
        uint64_t pcs[kSiteFrames];
        size_t n = symbolize::capture_stack(pcs, kSiteFrames, 2);
        if (n > 0 && pcs[0] == ip) std::copy(pcs + 1, pcs + n, key.begin() + 1);
      }
      li.cls = class_for_site(key, kind, api);
      li.site_class = !api;
    }
    r.lock_lifetimes++;
    r.v->lock_init(lock, li.cls);
    if (tag_slot && li.cls <= kMaxTaggedClass) {
      write_first_tag(lock, kind, tag_slot, make_tag(lock, li.cls, r.v->class_usage(li.cls)));
      li.tagged = true;
    }
    r.locks.emplace(lock, li);
    check_memory();
  } catch (...) {
    stop("internal error at lock init");
  }
}

void on_destroy(uint64_t lock, LockKind, uint64_t ip, const ApiSite* api, uint64_t* tag_slot) {
  try {
    ThreadState* ts = self();
    CallSite site(ts, ip);
    Engine e(ts);
    Runtime& r = rt();
    if (!r.locks.contains(lock)) return;
    if (tag_slot) write_tag(tag_slot, 0);
    drop_orphan_holds(lock);
    settle_holders(lock);
    t_api_site = api;
    r.v->lock_destroy(e.ctx(), lock, Site{ip, kNoStack});
    t_api_site = nullptr;
    if (is_static(lock)) r.static_destroyed.insert(lock);
    end_lifetime(lock);
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at lock destroy");
  }
}

void on_acquire(ThreadState* ts, uint64_t lock, LockKind kind, Mode mode, bool trylock,
                uint64_t ip, const ApiSite* api, unsigned subclass, uint64_t nest_lock,
                uint64_t* tag_slot, CallFrame frame) {
  CallSite site(ts, ip, frame.sp, lock);
  try {
    Engine e(ts);
    Runtime& r = rt();
    if (!tag_slot && kind == LockKind::pthread_spinlock) tag_slot = side_tag_slot_claim(lock);
    // The interposer's registers are for this call only (a lock first met here is named by them).
    // A lock that carries its own tag (the check of its address matches) is known and of the
    // tag's class, as the fast path trusts: its record is not looked up (a miss in a table of
    // every lock, on each new chain of a program with many locks).
    uint64_t own_tag = tag_slot && !api ? __atomic_load_n(tag_slot, __ATOMIC_RELAXED) : 0;
    ClassId cls;
    bool tagged, spin;
    if (own_tag && tag_matches(own_tag, lock, g_tag_salt) && tag_class(own_tag) <= kMaxTaggedClass) {
      cls = tag_class(own_tag);
      tagged = true;
      spin = default_wait_type(r.v->class_kind(cls)) == WaitType::spin;
    } else {
      r.call_regs = ts->call_regs.lock == lock ? &ts->call_regs : nullptr;
      r.call_frame = frame;
      LockInfo& li = lock_info(lock, kind, tag_slot, api);
      r.call_regs = nullptr;
      // An annotated lock's kind comes from its class (set at init); spinning ones guard sleeps.
      if (li.spin < 0) li.spin = default_wait_type(r.v->class_kind(li.cls)) == WaitType::spin;
      cls = li.cls;
      tagged = li.tagged;
      spin = li.spin > 0;
    }
    ts->call_regs.lock = 0;
    // A spinning lock's chains are fast only for pthread spinlocks, whose prologue counts the
    // entry in spin_held (an annotated spinning class goes through the engine every time).
    bool fast_ok = tagged && (!spin || kind == LockKind::pthread_spinlock) && !api &&
                   subclass == 0 && nest_lock == 0;
    AcquireFlags fl;
    fl.mode = mode;
    fl.trylock = trylock;
    fl.subclass = static_cast<uint8_t>(subclass);
    fl.nest_lock = nest_lock;
    // The fast-path chain key of this acquisition (the engine's work below does not change it):
    // its fast-table slot, written below when the chain is new, is asked for now, to load while
    // the engine works (in a program with many locks, a miss per new chain).
    HeldStack& h = ts->held;
    // Annotated nesting (subclass, nest lock) makes a different chain from a plain acquisition.
    // A tagged plain mutex (kind 0) keeps memos; its entries say so (kMutexIdBit).
    bool tagged_mutex = kind == LockKind::pthread_mutex && tag_slot && tagged &&
                        plain_mutex(reinterpret_cast<const pthread_mutex_t*>(lock));
    uint64_t id = fast_id(cls, mode, trylock, ts->salt) | (uint64_t{subclass & 7u} << 3) |
                  (uint64_t{nest_lock != 0} << 6) | (spin ? kSpinIdBit : 0) |
                  (tagged_mutex ? kMutexIdBit : 0) | (g_fast ? 0 : kNoFastPopIdBit);
    uint64_t key = fast_mix((h.data + h.n)[-1].key, id);
    bool pair = h.n > 0 && same_class(h[h.n - 1].id, id);
    if (pair) key = pair_key(key, h[h.n - 1].lock, lock);
    // The fast table is the engine's chain cache for the chains it may hold (AcquireFlags): the
    // engine keeps only those that reported.
    if (fast_ok && !pair) {
      fl.front_caches = true;
      fl.front_cached = r.fast_cur && fast_seen(key);
    }
    uint64_t reports = r.v->report_events();
    t_api_site = api;
    r.v->acquire(e.ctx(), lock, fl, Site{ip, kNoStack});
    t_api_site = nullptr;
    if (h.n == h.capacity) h.grow();  // under the internal lock: other threads read it under that lock
    // The engine has this entry too (kEngineKnownIp), and has everything below it when it had
    // everything before (Engine's sync).
    h[h.n] = HeldEntry{lock, ip | kEngineKnownIp, id, key, frame};
    if (ts->held_synced == h.n && r.v->held_count(e.ctx()) == h.n + 1) ts->held_synced = h.n + 1;
    h.n++;
    if (spin) ts->spin_held++;
    // The chain goes on the fast path once the engine has taken it without a word: a chain that
    // reports something keeps coming here, so its repeats are counted.
    // A chain holding two locks of one inferred class was validated for those locks only: it
    // may be skipped later only by a key that names them (pair_key), in the pair cache.
    bool per_instance = r.v->held_at(e.ctx(), r.v->held_count(e.ctx()) - 1).per_instance;
    if (fast_ok && per_instance && r.v->report_events() == reports && chain_named(ts)) {
      // A pair under a parent whose child memo has room goes into that memo alone: the parent's
      // own line vouches for it, and the pair cache (8 MiB of random lines) is not touched. Once
      // the memo is full, pairs go into both, and one pushed out of the memo before it reached
      // the cache comes back here once (fast_probe asks the cache only when the memo is full).
      pthread_mutex_t* parent = pair ? memo_parent(ts, h.n - 1) : nullptr;
      if (!parent || !child_memo_has_room(parent)) pair_insert(key);
      if (tagged_mutex && pair) write_tag(tag_slot + 1, key);  // the pair's key memo (fast_probe)
      if (parent) child_memo_add(parent, pair_fp(key));
    }
    if (fast_ok && !per_instance && r.v->report_events() == reports) {
      fast_insert(key);
      // The key memo serves nested acquisitions (a lone one is decided by the tag's usage bits);
      // it learns a pair's key only in the branch above, where fast_probe looks for it.
      if (tagged_mutex && h.n > 1 && !pair) write_tag(tag_slot + 1, key);
      if (tagged_mutex && h.n == 2 && mode == Mode::write && !pair)
        if (pthread_mutex_t* parent = memo_parent(ts, h.n - 1))  // below the entry just pushed
          child_memo_add(parent, child_code(id, ts->code_bits));
    }
    // The class's usage as of now, for later lone acquisitions of this lock.
    if (tagged && tag_slot) write_tag(tag_slot, make_tag(lock, cls, r.v->class_usage(cls)));
    check_memory();
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at lock acquisition");
  }
}

void on_release(ThreadState* ts, uint64_t lock, uint64_t ip, const ApiSite* api) {
  // Held here: the engine learns of the release at this thread's next slow-path event.
  if (fast_release(ts, lock)) return;
  CallSite site(ts, ip);
  try {
    Engine e(ts);
    Runtime& r = rt();
    // Not held here and never seen taken anywhere: nothing to balance (taken before the runtime
    // started).
    if (!r.locks.contains(lock)) return;
    drop_orphan_holds(lock);  // a fork child unlocking what a thread left behind held
    // Held by another thread: it is handed over (the engine reports the unlock); that thread
    // drops it, or its later acquisitions would be judged as if it still held the lock.
    ThreadState* owner = nullptr;
    for (ThreadState* t = r.threads; t && !owner; t = t->next)
      if (t != ts && t->ctx)
        for (size_t i = 0; i < t->held.size() && !owner; ++i)
          if (t->held[i].lock == lock) owner = t;
    if (owner) sync_held(owner);  // the engine sees who holds it, for the report
    t_api_site = api;
    r.v->release(e.ctx(), lock, Site{ip, kNoStack});
    t_api_site = nullptr;
    if (owner) owner->handed_off.push_back(lock);
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at lock release");
  }
}

void on_trylock_held(ThreadState* ts, uint64_t lock, Mode mode, uint64_t ip) {
  CallSite site(ts, ip);
  try {
    Engine e(ts);
    rt().v->trylock_held(e.ctx(), lock, mode, Site{ip, kNoStack});
  } catch (...) {
    stop("internal error at a failed trylock");
  }
}

void on_might_sleep(ThreadState* ts, const char* what, uint64_t ip, const ApiSite* api) {
  CallSite site(ts, ip);
  try {
    Engine e(ts);
    t_api_site = api;
    rt().v->might_sleep(e.ctx(), Site{ip, kNoStack}, what ? what : "might_sleep");
    t_api_site = nullptr;
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at a sleeping call");
  }
}

void on_thread_end(ThreadState* ts, bool thread_gone) {
  try {
    {
      Engine e(ts);
      Runtime& r = rt();
      r.v->end_context(e.ctx(), Site{});
      ts->ctx = nullptr;
      ts->held.clear();
      ts->spin_held = 0;
      if (!thread_gone) return;  // the thread goes on: its next lock event opens a new context
      r.fast_acquisitions_done += ts->fast_acquisitions;
      r.pair_lookups_done += ts->pair_lookups;
      for (ThreadState** p = &r.threads; *p; p = &(*p)->next) {
        if (*p == ts) {
          *p = ts->next;
          break;
        }
      }
    }
    Guard g;
    if (t_local.self == ts) {
      t_local.self = kEnded;
      t_local.epoch = 0;  // no fast path from here on (fast_acquiring_thread)
    }
    delete ts;
  } catch (...) {
    stop("internal error at thread exit");
  }
}

void on_irq(ThreadState* ts, Irq irq, bool enter) {
  try {
    Engine e(ts);
    if (enter) rt().v->irq_enter(e.ctx(), irq);
    else rt().v->irq_exit(e.ctx(), irq);
  } catch (...) {
    stop("internal error at interrupt entry");
  }
}

void on_irq_enable(ThreadState* ts, Irq irq, bool enable) {
  try {
    Engine e(ts);
    if (enable) rt().v->irq_enable(e.ctx(), irq);
    else rt().v->irq_disable(e.ctx(), irq);
  } catch (...) {
    stop("internal error at interrupt state change");
  }
}

void on_mask_change(ThreadState* ts) {
  if (ts->signal_depth > 0) return;  // the handler's mask is restored on return
  bool en = compute_signals_enabled(ts->mask);
  if (en == ts->signals_enabled && ts->ctx) return;
  ts->signals_enabled = en;
  on_irq_enable(ts, Irq::signal, en);
}

bool signal_handled(int sig) {
  return sig > 0 && sig < 64 && (g_handled.load(std::memory_order_relaxed) & (1ull << sig));
}

void set_signal_handled(int sig, bool handled) {
  if (sig <= 0 || sig >= 64) return;
  if (handled) g_handled.fetch_or(1ull << sig);
  else g_handled.fetch_and(~(1ull << sig));
  uint32_t e = g_sig_epoch.fetch_add(2) + 2;
  if (e == 0) e = g_sig_epoch.fetch_add(2) + 2;  // wrapped: 0 is the epoch of threads without state
  if (!g_fast) return;
  // Concurrent changes: g_fast_epoch only moves forward.
  uint64_t cur = g_fast_epoch.load();
  while (static_cast<int32_t>(e - static_cast<uint32_t>(cur >> 32)) > 0 &&
         !g_fast_epoch.compare_exchange_weak(cur, uint64_t{e} << 32)) {
  }
}

std::atomic<bool> g_fork_orphans{false};

// Names a thread in reports, past ones included (internal lock held).
void rename_thread(ThreadState* t, const char* name) {
  t->name = std::string(name) + " (tid " + std::to_string(t->tid) + ")";
  if (t->ctx) rt().v->rename_context(t->ctx, t->name);
}

void set_thread_name(ThreadState* ts, const char* name) {
  if (!ts || !name) return;
  Guard g;
  Runtime& r = rt();
  r.lock.lock();
  rename_thread(ts, name);
  ts->api_named = true;
  r.lock.unlock();
}

void on_thread_named(pthread_t thread, const char* name) {
  if (!name || !*name) return;
  Guard g;
  Runtime& r = rt();
  r.lock.lock();
  for (ThreadState* t = r.threads; t; t = t->next)
    if (t->handle == thread && !t->api_named) rename_thread(t, name);
  r.lock.unlock();
}

// ------------------------------------------------------------------------- process start/end
__attribute__((constructor)) static void lockhound_runtime_start() { ensure_init(); }

__attribute__((destructor)) static void lockhound_runtime_end() {
  if (g_state.load() == static_cast<int>(State::uninit) || !g_rt) return;
  Runtime& r = rt();
  if (static_cast<int>(getpid()) != r.pid) return;
  r.report_lock.lock();
  bool done = r.finished;
  r.report_lock.unlock();
  if (done) return;
  // Something was found: end with exitcode, like the sanitizers. stdio is flushed first
  // because _exit skips it.
  int code = finish(0);
  if (code != 0) {
    fflush(nullptr);
    real::exit_now(code);
  }
}

}  // namespace lockhound::runtime
