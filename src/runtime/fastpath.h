// The fast path: an acquisition whose chain the engine has already validated takes no lock and
// does no engine work. Its pieces (the validated-chain table, class tags in the locks, the key
// memo and the outer mutex's child memo) and its three inline steps; the slow path that fills
// them is in runtime.cpp.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/glibc_mutex.h"
#include "runtime/thread_state.h"

namespace lockhound::runtime {

// --- the fast path ------------------------------------------------------------------------
// An acquisition whose chain (the thread's held stack plus this lock, in this interrupt state) the
// engine has already validated needs no engine work: lockdep's chain cache, moved out of the
// engine's lock. Three lock-free pieces make it:
//   - the lock's class is read from a tag the runtime keeps in the lock itself, in a field glibc
//     leaves unused for that kind of lock (a non-robust, process-private mutex's robust-list
//     link; a private rwlock's padding). The tag's low 24 bits are a check derived from the
//     lock's address, so a copied or re-created lock (memset, std::mutex constructed anew) fails
//     the check and takes the slow path, which starts a new lifetime for it;
//   - the chain key is extended from the thread's own held stack;
//   - the key is the mutex's key memo, or the chain is in its outer mutex's child memo (below),
//     or the key is in a table of validated chains, written only under the internal lock.
// Anything else (unknown lock, new chain, a sleeping call, a signal, a mask change) takes the slow
// path, which first brings the engine's copy of this thread's held stack up to date.
// The fast path is on (option fast_path) and glibc's plain-mutex protocol matched what the
// prologues in interpose.cpp do (checked at start on a real mutex).
extern bool g_fast;
extern std::atomic<const uint64_t*> g_fast_table;  // [0] = mask, [1..mask+1] = keys (0 = empty)
extern uint64_t g_tag_salt;
// Bumped (by 2: always even) when the set of handled signals changes; a thread's engine context
// catches up at its next slow event (t_local.epoch).
extern std::atomic<uint32_t> g_sig_epoch;
// g_sig_epoch while the fast path is on, else kFastOff (odd: no thread's epoch), in the high half
// (the low half is 0): the acquisition prologues compare it with the thread's guard and epoch,
// read as one word (see ThreadLocal).
extern std::atomic<uint64_t> g_fast_epoch;
constexpr uint32_t kFastOff = 1;
inline uint32_t fast_epoch() { return static_cast<uint32_t>(g_fast_epoch.load(std::memory_order_relaxed) >> 32); }
inline uint64_t fast_mix(uint64_t prev, uint64_t id) {
  uint64_t x = (prev ^ id) * 0x9E3779B97F4A7C15ull;  // prev is a mixed key, never 0
  return (x ^ (x >> 29)) | 1;                         // never 0, the table's empty slot
}
// Two locks of one class nested directly (an entry whose class is the entry's below it): the
// engine validates such a chain for those two locks (an inferred class is checked per pair of
// locks; see Validator::set_class_inferred), so its key names them too, in their order, and the
// lifetime epoch, which every end of an init-site lock's lifetime advances (a lock made again at
// an address must not inherit the pair's validation). Such keys are never the same twice in a
// program that makes objects and nests them under a parent, so they do not go into the table of
// validated chains (whose keys live as long as the process) but into a bounded cache, where a
// newer key may push an older one out: every chain holding such a pair, when every two locks of
// one class in it are neighbours (on_acquire; then its key names all of them, directly or
// through the key it was made from). Other such chains are validated by the engine every time.
extern std::atomic<uint64_t> g_pair_epoch;
// 2^20 slots in sets of two (one 16-byte line each), 8 MiB, mapped at the first pair (none in a
// program without such nesting) in transparent huge pages: each lookup lands on a random slot,
// and on 4 KiB pages that was a TLB miss besides the cache miss (the one-init-site workload spent
// 45% of its time in fast_probe). 200k live pairs (100k locks of one class in random pairs) miss
// a few percent; 2^16 direct-mapped slots missed most of them.
constexpr size_t kPairSlots = size_t{1} << 20;
extern std::atomic<std::atomic<uint64_t>*> g_pair_cache;  // null until the first pair
inline std::atomic<uint64_t>* pair_set(std::atomic<uint64_t>* cache, uint64_t key) {
  return &cache[((key >> 1) & (kPairSlots / 2 - 1)) * 2];
}
inline bool pair_seen(uint64_t key) {
  std::atomic<uint64_t>* cache = g_pair_cache.load(std::memory_order_acquire);
  if (!cache) return false;
  std::atomic<uint64_t>* set = pair_set(cache, key);
  return set[0].load(std::memory_order_relaxed) == key || set[1].load(std::memory_order_relaxed) == key;
}
// The cache, mapped on first use (under the runtime's lock); null when no memory is left.
std::atomic<uint64_t>* pair_cache_make();
inline void pair_insert(uint64_t key) {  // under the runtime's lock: one writer
  std::atomic<uint64_t>* cache = g_pair_cache.load(std::memory_order_relaxed);
  if (!cache && !(cache = pair_cache_make())) return;
  std::atomic<uint64_t>* set = pair_set(cache, key);
  uint64_t a = set[0].load(std::memory_order_relaxed), b = set[1].load(std::memory_order_relaxed);
  if (a == key || b == key) return;
  // An empty slot, else one of the two (by a bit of the key): the other one stays.
  set[a == 0 ? 0 : b == 0 ? 1 : (key >> 40) & 1].store(key, std::memory_order_relaxed);
}
inline bool same_class(uint64_t id_below, uint64_t id) { return ((id_below ^ id) >> 32) == 0; }
inline uint64_t pair_key(uint64_t key, uint64_t outer, uint64_t inner) {
  // One lock mixed in after the other, so that two pairs share a key only as two random 64-bit
  // values do. Folding the two addresses into one word first ((outer << 1) ^ inner) gave pairs
  // of an array of locks the same key as others: 17,501 of the 200k pairs (i, i+1|i+2) of 100k
  // 40-byte mutexes, and a new pair whose key a validated one had was never checked
  // (tests/runtime/progs/pair_collide.c).
  return fast_mix(fast_mix(key, outer ^ g_pair_epoch.load(std::memory_order_relaxed)), inner);
}
// An entry's id: the class in the high half; in the low half the thread's salt (bits 16-26), the
// mutex bit (8), the no-fast-pop bit (10), and the acquisition's flags (0-7: trylock, mode,
// subclass, nest lock, spin). Bits 9, 11-15 and 27-31 are never set.
inline uint64_t fast_id(ClassId cls, Mode mode, bool trylock, uint64_t salt) {
  return ((uint64_t{cls} << 32) | (static_cast<uint64_t>(mode) << 1) | uint64_t{trylock}) ^ salt;
}
// The tag: class (28 bits) | the class's usage bits when written (12) | check (24). The usage bits
// only ever grow, so a tag that has the bits an acquisition wants is never wrong about them.
constexpr uint64_t kTagCheckMask = (1ull << 24) - 1;
constexpr uint64_t kTagUsageMask = uint64_t{usage::kAll} << 24;
constexpr ClassId kMaxTaggedClass = (1u << 28) - 2;  // a tag is never all ones
// The check: the lock's address bits 1-23 against the process's salt, whose bit 0 is always set
// (so a check is never 0). A tag is valid for `lock` when tag_matches(): an xor and a test. A lock
// at an odd address (never a pthread lock) gets a check that never matches: the slow path.
inline uint64_t tag_check(uint64_t lock, uint64_t salt) { return ((lock ^ salt) & kTagCheckMask) | 1u; }
inline uint64_t tag_check(uint64_t lock) { return tag_check(lock, g_tag_salt); }
inline bool tag_matches(uint64_t tag, uint64_t lock, uint64_t salt) { return ((tag ^ lock ^ salt) & kTagCheckMask) == 0; }
inline uint64_t make_tag(uint64_t lock, ClassId cls, uint32_t usage = 0) {
  return (uint64_t{cls} << 36) | (uint64_t{usage & 0xFFFu} << 24) | tag_check(lock);
}
inline ClassId tag_class(uint64_t tag) { return static_cast<ClassId>(tag >> 36); }
inline uint32_t tag_usage(uint64_t tag) { return static_cast<uint32_t>((tag & kTagUsageMask) >> 24); }
// An entry's id has this bit when the lock is a tagged plain (kind 0) pthread mutex: one that
// keeps memos (see the child memo below).
constexpr uint64_t kMutexIdBit = 1ull << 8;
// Set on every entry the engine pushes while the fast path is off: the unlock prologue then never
// pops (it would release the mutex with the fast path's protocol), without testing g_fast.
constexpr uint64_t kNoFastPopIdBit = 1ull << 10;
// An entry's id has this bit when the lock spins (a pthread spinlock): flag bit 7.
constexpr uint64_t kSpinIdBit = 1ull << 7;

// Side tags: a lock too small to carry its class tag (a pthread spinlock is one int) keeps it in
// a fixed table keyed by address, so that its validated chains take the fast path too. Slots are
// claimed under the runtime's lock and never given back (an address keeps its slot across
// lifetimes; init and destroy rewrite the tag); readers take none. When the few slots an address
// may probe are taken, the lock has no tag and every acquisition goes through the engine, as
// before. 2^20 slots of 16 bytes, mapped on first use: 16 MiB of address space, of which only
// the pages holding used slots take memory (a few pages for a few spinlocks, all 16 MiB only
// past about a million of them).
struct SideTag {
  uint64_t lock;
  uint64_t tag;
};
constexpr int kSideBits = 20;
constexpr size_t kSideTags = size_t{1} << kSideBits;
constexpr int kSideProbes = 8;
inline std::atomic<SideTag*> g_side_tags{nullptr};
// The home slot keeps neighbouring spinlocks (an array of them, or of structs holding one) in
// neighbouring slots, so that walking them walks the table in order, as the program walks its
// own memory (a multiplicative hash cost a cache miss per operation: 108 against 15 ns per pair
// over 50k spinlocks); the higher bits are folded in so that regions 4 MiB apart do not collide.
inline size_t side_home(uint64_t lock) {
  return static_cast<size_t>((lock >> 2) ^ (lock >> (2 + kSideBits)));
}
// The tag slot of a lock that has a side tag, or null.
inline uint64_t* side_tag_slot(uint64_t lock) {
  SideTag* t = g_side_tags.load(std::memory_order_acquire);
  if (!t) return nullptr;
  for (int i = 0; i < kSideProbes; ++i) {
    SideTag& e = t[(side_home(lock) + i) & (kSideTags - 1)];
    uint64_t l = __atomic_load_n(&e.lock, __ATOMIC_ACQUIRE);
    if (l == lock) return &e.tag;
    if (l == 0) return nullptr;
  }
  return nullptr;
}
// The same, claiming a slot if there is room (under the runtime's lock).
uint64_t* side_tag_slot_claim(uint64_t lock);
inline bool fast_seen(uint64_t key) {
  const uint64_t* t = g_fast_table.load(std::memory_order_acquire);
  uint64_t mask = t[0];
  for (uint64_t i = key;; ++i) {
    uint64_t k = __atomic_load_n(&t[1 + (i & mask)], __ATOMIC_RELAXED);
    if (k == key) return true;
    if (k == 0) return false;
  }
}

// The child memo. A chain of two plain mutexes, the first taken alone outside signal handlers, is
// the commonest nested chain and is fully named by the two classes. The outer
// mutex remembers the last two inner classes validated under it, in two 32-bit fields glibc
// never touches for a plain (PTHREAD_MUTEX_TIMED_NP) mutex: __count (recursive mutexes only) and
// __spins/__elision (adaptive and elided ones only). A lock with several children then needs
// neither its inner lock's memo to match nor the table: the outer mutex's line is already in the
// cache. Only the outer mutex's holder reads or writes it; a new lifetime clears it.
// (If glibc ever turned elision on for the mutex, it would keep a small positive count in
// __elision, the top half of the second field, and so never forge bit 31 of a code.)
constexpr uint64_t kMemoSalt = uint64_t{usage::kProcessStateSignalsBlocked} << kSaltShift;
constexpr uint64_t kMemoSaltSignals = uint64_t{usage::kProcessState} << kSaltShift;
static_assert((kMemoSalt & ~kMemoSaltSignals) == 0);
using memo_u32 = uint32_t __attribute__((may_alias));
inline memo_u32* child_memo(pthread_mutex_t* m, int i) {
  return i == 0 ? reinterpret_cast<memo_u32*>(&m->__data.__count)
                : reinterpret_cast<memo_u32*>(&m->__data.__spins);
}
// A mutex (write) acquisition's code: bit 31 set, the class (bits 3-30: the id's class shifted
// down), the thread's signal state (bit 1: the bit that tells the two memo salts apart), trylock.
// code_bits() is what the thread's salt contributes; ThreadState keeps it (code_bits).
constexpr int kSignalSaltBit = kSaltShift + 2;
static_assert((kMemoSalt ^ kMemoSaltSignals) == 1ull << kSignalSaltBit);
inline bool memo_salt(uint64_t salt) { return (salt & ~(1ull << kSignalSaltBit)) == kMemoSalt; }
inline uint32_t code_bits(uint64_t salt) {
  return 0x80000000u | static_cast<uint32_t>((salt >> kSignalSaltBit & 1) << 1);
}
inline uint32_t child_code(uint64_t id, uint32_t bits) {
  return static_cast<uint32_t>(id >> 29) | bits | static_cast<uint32_t>(id & 1);
}
// The low half of a memo parent's id in the thread's salt: a mutex taken for writing without
// trylock (or annotations) outside signal handlers. Else a value no id has (bit 9).
inline uint32_t parent_low(uint64_t salt) {
  return memo_salt(salt) ? static_cast<uint32_t>(kMutexIdBit | salt) : 1u << 9;
}
// Whether the n entries below an acquisition are exactly one memo parent: a plain (kind 0) mutex
// (kMutexIdBit) taken in the interrupt state the thread is still in (ts->parent_low). `first` is
// the held stack's first entry.
inline bool is_memo_parent(const ThreadState* ts, const HeldEntry& first, uint32_t n) {
  return n == 1 && static_cast<uint32_t>(first.id) == ts->parent_low;
}
// That outer mutex, or null.
inline pthread_mutex_t* memo_parent(const ThreadState* ts, uint32_t n) {
  const HeldEntry& first = ts->held.data[0];
  return is_memo_parent(ts, first, n) ? reinterpret_cast<pthread_mutex_t*>(first.lock) : nullptr;
}
// Whether the memo has never been full this lifetime (its second field still empty): then it holds
// every pair validated under it, which go there alone (on_acquire), and the pair cache need not be
// asked (fast_probe).
inline bool child_memo_has_room(pthread_mutex_t* p) { return *child_memo(p, 1) == 0; }
inline bool child_memo_has(pthread_mutex_t* p, uint32_t code) {
  return *child_memo(p, 0) == code || *child_memo(p, 1) == code;
}
inline void child_memo_add(pthread_mutex_t* p, uint32_t code) {
  if (child_memo_has(p, code)) return;
  *child_memo(p, 1) = *child_memo(p, 0);
  *child_memo(p, 0) = code;
}
// Two locks of one class nested, the outer taken alone (a parent's lock, then a child's): the
// outer mutex's child memo keeps the pair's fingerprint, the 31 bits of its key below bit 63 (bit
// 31 clear, never 0: never a class code). A parent with two children then finds both in its own
// line, already in the cache, where the inner mutex's key memo keeps one parent and the pair
// cache is a random line of 8 MiB. A fingerprint names the pair as its key does (both locks,
// their lifetimes, the thread's state), less exactly: a different pair under the same parent
// passes for a validated one with odds of 2^-30 per acquisition that misses both memos.
inline uint32_t pair_fp(uint64_t key) {
  uint32_t fp = static_cast<uint32_t>(key >> 32) & 0x7FFFFFFFu;
  return fp ? fp : 1u;
}
// Forgets the memo (a new lifetime of `m`; a mutex of another kind keeps its fields).
inline void child_memo_clear(pthread_mutex_t* m) {
  if (__atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) != 0) return;
  *child_memo(m, 0) = 0;
  *child_memo(m, 1) = 0;
}

// The fast path of an acquisition, in three steps. `tag` and `memo` are the lock's tag slot's two
// words, read by the caller (the mutex prologue reads them before it takes the lock, so that a lock
// whose words straddle two cache lines misses both at once rather than one after the other behind
// the lock's atomic instruction). Both may be read without holding the lock: a tag changes under a
// holder only by gaining usage bits, and every memo value ever written is a validated key.
// has_memo: the lock is a pthread mutex, whose slot keeps next to its tag the last validated key
// it was pushed with (a lock taken the same way again skips the table, whose lines are cold when
// a program has many chains).
struct FastStep {
  enum { slow, pushed, probe } result;
  uint64_t id = 0, key = 0;  // for probe
};

// The frame of a lock call (HeldEntry::frame) is read where the entry is written when it is
// kFrameHere: in the prologues of interpose.cpp, always inlined into the exported function, that
// is the function's own CFA (the caller's stack pointer before the call) and the frame pointer
// register, which that file never changes (LOCKHOUND_FIXED_FP). Read there rather than passed
// down, the two values keep no registers busy on the way (passed from the start, they cost the
// nested benchmark 17 instructions per pair, in spills).
constexpr uint64_t kFrameHere = 1;  // never a stack pointer (not 8-aligned)
[[gnu::always_inline]] inline CallFrame frame_here() {
  uint64_t fp = 0;
#if defined(LOCKHOUND_FIXED_FP) && defined(__x86_64__)
  asm("mov %%rbp, %0" : "=r"(fp));
#endif
  return CallFrame{reinterpret_cast<uint64_t>(__builtin_dwarf_cfa()), fp};
}

// Pushes an acquisition whose chain is validated. A signal handler arriving mid-push would push
// over the half-written entry: the guard makes its lock calls pass through unobserved for these
// few instructions.
[[gnu::always_inline]] inline void fast_push(ThreadState* ts, uint32_t n, uint64_t lock, uint64_t ip,
                                             uint64_t id, uint64_t key, CallFrame frame, bool spin = false) {
  ++t_local.guard;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (frame.sp == kFrameHere) frame = frame_here();
  ts->held.data[n] = HeldEntry{lock, ip, id, key, frame};  // (reloads data: fewer registers live before)
  ts->held.n = n + 1;
  if (spin) ts->spin_held++;  // a sleep from here on is reported (see on_might_sleep)
  std::atomic_signal_fence(std::memory_order_seq_cst);
  --t_local.guard;
  ts->fast_acquisitions++;
}

// Step 1, inline: pushed when nothing else is held and the tag's usage bits cover the
// acquisition (lockdep's chain head, which needs no graph work: the engine would only push it),
// when the key is the lock's memo, or when the outer mutex's child memo has the chain; probe when
// the chain may still be validated; slow when the lock is unknown or re-created, the held stack
// is full, or the signal set changed.
[[gnu::always_inline]] inline FastStep fast_step(ThreadState* ts, uint64_t lock, uint64_t tag, uint64_t memo,
                                                 Mode mode, bool trylock, uint64_t ip, CallFrame frame,
                                                 bool has_memo, bool epoch_checked = false, bool spin = false) {
  if (!tag_matches(tag, lock, ts->tag_salt)) return {FastStep::slow};
  if (!epoch_checked &&
      __builtin_expect(t_local.epoch != fast_epoch(), 0))
    return {FastStep::slow};
  uint32_t n = ts->held.n;
  if (n >= ts->held.cap) return {FastStep::slow};  // full, or holes below (cap 0)
  uint64_t id = fast_id(tag_class(tag), mode, trylock, ts->salt) | (has_memo ? kMutexIdBit : 0) |
                (spin ? kSpinIdBit : 0);
  const HeldEntry& below = ts->held.data[static_cast<int>(n) - 1];  // n = 0: the stack's base entry (its key only)
  uint64_t key = fast_mix(below.key, id);
  bool hit;
  if (n == 0) {
    hit = !trylock && (mode == Mode::write ? (tag & ts->alone_tag) == ts->alone_tag
                                           : ts->alone_ok && (ts->want[1] & ~tag_usage(tag)) == 0);
    hit |= has_memo && memo == key;
  } else {
    // The key memo and the outer mutex's child memo, with no branch on which of them matched: in
    // a program whose locks have several parents and children, that is a coin toss each time
    // (pinned, random pairs over 1,000 mutexes: 14.5 -> 13.3 ns per pair; the nested workload:
    // the same time, 133 -> 143 instructions per pair).
    hit = has_memo && memo == key;
    if (has_memo && mode == Mode::write && is_memo_parent(ts, below, n)) {  // below = the first entry
      auto* p = reinterpret_cast<pthread_mutex_t*>(below.lock);
      uint32_t code = child_code(id, ts->code_bits);
      hit |= (*child_memo(p, 0) == code) | (*child_memo(p, 1) == code);
    }
  }
  if (hit) {
    fast_push(ts, n, lock, ip, id, key, frame, spin);
    return {FastStep::pushed};
  }
  return {FastStep::probe, id, key};
}

// Step 2, out of the prologues: the table of validated chains (and then the memos learn the
// chain). False: the engine decides (on_acquire).
//
// Two locks of one class nested directly are looked up by their pair's key (pair_key), in the
// inner mutex's key memo and then the pair cache. Step 1 need not know: no memo ever holds the
// class-level key of such a chain (the memos learn only validated keys, and the pair's is its
// own), so it always comes here.
inline bool fast_probe(ThreadState* ts, uint64_t lock, uint64_t* tag_slot, uint64_t id, uint64_t key,
                       uint64_t ip, CallFrame frame, bool has_memo, bool spin = false) {
  uint32_t n = ts->held.n;
  bool pair = n > 0 && same_class(ts->held.data[n - 1].id, id);
  if (pair) key = pair_key(key, ts->held.data[n - 1].lock, lock);
  // A pair's key is the inner mutex's key memo when it was last taken under the same lock (an
  // object's lock under its parent's): its own line, already in the cache, instead of a random
  // slot of the pair cache. The key names both locks and their lifetimes (pair_key), so it is
  // never a class-level key that step 1 could match.
  // Both memos are read, and the key memo written, whichever matched: no branch on which one did.
  // A child with two parents matches its key memo every other time, at random (one init site,
  // random pairs, warm, pinned A/B: 17.5-18.5 -> 14.4-15.5 ns per pair).
  bool memo_hit = pair && has_memo && __atomic_load_n(&tag_slot[1], __ATOMIC_RELAXED) == key;
  pthread_mutex_t* parent = pair ? memo_parent(ts, n) : nullptr;  // the pair's outer, taken alone
  uint32_t fp = pair_fp(key);
  bool parent_hit = parent && child_memo_has(parent, fp);
  bool hit = memo_hit | parent_hit;
  if (pair && !hit) {
    // A parent whose memo has never been full holds every pair validated under it this lifetime
    // (a pair validated while its parent's memo has room goes there alone: on_acquire): a pair
    // it lacks is new, and the pair cache is not asked.
    if (parent && child_memo_has_room(parent)) return false;
    ts->pair_lookups++;  // a chain above a pair has a key made from the pair's: it is in the cache too
  }
  if (!hit && (pair ? !pair_seen(key) : !fast_seen(key) && !pair_seen(key))) return false;
  if (parent && !parent_hit) child_memo_add(parent, fp);
  if (has_memo) __atomic_store_n(&tag_slot[1], key, __ATOMIC_RELAXED);
  if (has_memo && !pair) {  // the child memo keeps classes: a pair's chain names two locks
    bool write = ((id >> 1) & 3) == static_cast<uint64_t>(Mode::write);
    if (pthread_mutex_t* outer = write ? memo_parent(ts, n) : nullptr)
      child_memo_add(outer, child_code(id, ts->code_bits));
  }
  fast_push(ts, n, lock, ip, id, key, frame, spin);
  return true;
}

// Both steps: the acquisition, if its chain is validated; false: take the slow path (on_acquire).
// spin: a spinning lock (its entry counts in spin_held, and has kSpinIdBit, as the engine's do).
[[gnu::always_inline]] inline bool fast_acquire(ThreadState* ts, uint64_t lock, uint64_t* tag_slot,
                                                Mode mode, bool trylock, uint64_t ip, CallFrame frame,
                                                bool has_memo, bool spin = false) {
  if (!tag_slot) return false;
  uint64_t tag = __atomic_load_n(tag_slot, __ATOMIC_RELAXED);
  uint64_t memo = has_memo ? __atomic_load_n(&tag_slot[1], __ATOMIC_RELAXED) : 0;
  FastStep st = fast_step(ts, lock, tag, memo, mode, trylock, ip, frame, has_memo, false, spin);
  if (st.result != FastStep::probe) return st.result == FastStep::pushed;
  return fast_probe(ts, lock, tag_slot, st.id, st.key, ip, frame, has_memo, spin);
}

// A release of a lock this thread holds; false: not held here (the slow path decides).
// Released below the top, its entry becomes a hole: nothing moves and no key is rebuilt here
// (shifting the stack and rebuilding the keys above made releasing N locks first-to-last cost
// N^2); the thread's next slow-path event compacts the stack once (compact_held). The lock is
// looked for at the top, then at the lowest live entry, then downwards: first-to-last and
// last-to-first releases find it at once.
[[gnu::noinline]] inline bool fast_release_below(ThreadState* ts, uint64_t lock) {
  uint32_t n = ts->held.n;
  HeldEntry* h = ts->held.data;
  uint32_t i = ts->held_low;
  if (i >= n || h[i].lock != lock) {
    i = n;
    while (i > 0 && h[i - 1].lock != lock) --i;
    if (i == 0) return false;
    --i;
  }
  ++t_local.guard;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (h[i].spin()) ts->spin_held--;
  h[i].lock = 0;
  h[i].id = 0;
  ts->held.holes++;
  ts->held.cap = 0;
  if (i < ts->held_synced) ts->held_synced = i;
  if (i < ts->held_first_hole || ts->held.holes == 1) ts->held_first_hole = i;
  if (ts->held_named > (i ? i - 1 : 0)) ts->held_named = i ? i - 1 : 0;
  while (n > 0 && h[n - 1].hole()) {  // holes on top go at once
    --n;
    ts->held.holes--;
  }
  ts->held.n = n;
  if (ts->held.holes == 0) {
    ts->held.cap = ts->held.capacity;
    ts->held_low = 0;
  } else {
    uint32_t low = ts->held_low;
    while (low < n && h[low].hole()) ++low;
    ts->held_low = low;
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  --t_local.guard;
  return true;
}
inline bool fast_release(ThreadState* ts, uint64_t lock) {
  uint32_t n = ts->held.n;
  if (n == 0 || lock == 0) return false;
  HeldEntry* h = ts->held.data;
  // The top, with no hole right below it (n = 1: nothing below; the base entry's lock is 0).
  if (__builtin_expect(h[n - 1].lock == lock && (n == 1 || !h[n - 2].hole()), 1)) {
    if (h[n - 1].spin()) ts->spin_held--;
    ts->held.n = n - 1;
    return true;
  }
  return fast_release_below(ts, lock);
}

}  // namespace lockhound::runtime
