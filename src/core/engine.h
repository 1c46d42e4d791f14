// The engine's inside (internal to src/core): the state a Validator keeps and the rooms that
// work on it. validator.h is the contract; this header is for the engine's own files:
//
//   validator.cpp        the public surface and the acquisition path (fast path first)
//   engine_classes.cpp   the class table, lock instances and interned stacks
//   engine_edges.cpp     dependencies: new edges, gate locks, pairs of locks of an inferred class
//   engine_order.cpp     the topological order (Pearce–Kelly) and the graph searches
//   engine_usage.cpp     interrupt usage rules and wait contexts
//   engine_findings.cpp  evidence turned into a finding's facts (the words: voice*.cpp)
//
// The hot path's helpers (instance cache, chain key, chain cache) are defined here, inline, so the
// acquisition path stays in one piece however the rooms are split.
#pragma once

#include <algorithm>
#include <atomic>
#include <array>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <bit>
#include <cstring>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/container/inlined_vector.h>

#include "core/table_memory.h"
#include "core/usage_bits.h"
#include "core/validator.h"

namespace lockhound {
namespace engine {


// ---- usage bits (layout: core/usage_bits.h) ------------------------------------------------
using usage::kReadBit;
using usage::kDirBit;
using usage::kUsedInAll;
using usage::kEnabledAll;
using usage::kReadBits;
using usage::kNonReadBits;

inline std::string usage_name(unsigned bit) {
  Irq irq = Irq(bit / 4);
  bool enabled = bit & kDirBit, read = bit & kReadBit;
  std::string s;
  if (enabled)
    s = std::string(irq_state_name(irq)) + "-ON-";
  else
    s = "IN-" + std::string(irq_state_name(irq)) + "-";
  s += read ? "R" : "W";
  return s;
}

inline std::string hex_of(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// ---- edge kinds (lockdep's DEP_*): bit index = holder_exclusive + 2 * acquirer_not_recursive
inline constexpr uint8_t kDepSR = 1, kDepER = 2, kDepSN = 4, kDepEN = 8;
inline uint8_t dep_of(Mode holder, Mode acquirer) {
  int idx = (holder == Mode::write ? 1 : 0) + (acquirer != Mode::recursive_read ? 2 : 0);
  return uint8_t(1u << idx);
}
// The same edge seen from its target: swap the roles (ER <-> SN).
inline uint8_t reverse_dep(uint8_t d) {
  return uint8_t((d & (kDepSR | kDepEN)) | ((d & kDepER) ? kDepSN : 0) | ((d & kDepSN) ? kDepER : 0));
}
inline std::string dep_name(uint8_t d) {
  // The strongest kind present names the edge.
  if (d & kDepEN) return "EN";
  if (d & kDepSN) return "SN";
  if (d & kDepER) return "ER";
  if (d & kDepSR) return "SR";
  return "";
}

// One BFS step under lockdep's recursive-read rules: a path is strong unless -(xR)-> is directly
// followed by -(Sx)->. Returns 0 when the step is not allowed; otherwise sets next_xr.
inline uint8_t strong_step(uint8_t dep, bool only_xr, bool& next_xr) {
  if (only_xr) dep &= uint8_t(~(kDepSR | kDepSN));
  if (!dep) return 0;
  next_xr = !(dep & (kDepSN | kDepEN));
  return dep;
}

inline constexpr uint64_t kInitialChainKey = ~uint64_t(0);
inline uint64_t mix_chain(uint64_t key, uint32_t id) {
  // Incremental chain hash: the previous key is already well mixed, so one multiply and one
  // xor-shift spread the new id over all 64 bits. A collision would make a new chain look seen
  // (lockdep has the same exposure with its 64-bit jhash chain keys).
  uint64_t x = (key ^ (uint64_t(id) + 0x632BE59BD9B4E019ull)) * 0x9E3779B97F4A7C15ull;
  return x ^ (x >> 29);
}

inline uint32_t chain_id(ClassId cls, Mode mode, bool trylock) {
  return cls ^ (uint32_t(mode) << 30) ^ (uint32_t(trylock) << 29);
}

inline const char* mode_name(Mode m, bool trylock) {
  if (trylock) return m == Mode::write ? "try" : "try-read";
  switch (m) {
    case Mode::write: return "write";
    case Mode::read: return "read";
    case Mode::recursive_read: return "recursive-read";
  }
  return "write";
}

// The chain cache: a set of 64-bit chain keys, open addressing with linear probing. Keys are
// already well mixed, so the hash is the key itself; a hit costs a multiply-free probe or two,
// which is what keeps an acquisition on a seen chain cheap.
class ChainSet {
 public:
  // Returns true when the key was not there before (it is now).
  bool insert(uint64_t key) {
    if (key == 0) key = 1;  // 0 marks an empty slot
    if (__builtin_expect(size_ >= grow_at_, 0)) grow();
    size_t i = slot(key);
    if (slots_[i] == key) return false;
    slots_[i] = key;
    ++size_;
    return true;
  }
  bool contains(uint64_t key) const {
    if (key == 0) key = 1;
    return !slots_.empty() && slots_[slot(key)] == key;
  }
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  // Starts loading the key's first slot (insert reads it later).
  void prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[size_t(key ? key : 1) & mask_]);
  }

 private:
  // The key's slot, or the empty one where it would go (the table is never full).
  size_t slot(uint64_t key) const {
    size_t i = size_t(key) & mask_;
    while (slots_[i] != key && slots_[i] != 0) i = (i + 1) & mask_;
    return i;
  }
  [[gnu::noinline]] void grow() {
    ZeroArray<uint64_t> old = std::move(slots_);
    slots_ = ZeroArray<uint64_t>(old.empty() ? 1024 : old.size() * 2);
    mask_ = slots_.size() - 1;
    grow_at_ = slots_.size() * 3 / 4;  // load factor 0.75
    size_ = 0;
    for (uint64_t k : old)
      if (k) insert(k);
  }
  ZeroArray<uint64_t> slots_;
  size_t size_ = 0, mask_ = 0, grow_at_ = 0;
};


// Where and how a lock was taken, as remembered for reports (small: stack by id). Kept once per
// distinct value in the evidence table (Impl::intern_evidence): edges and usage records hold a
// 32-bit id, and the acquisitions of one loop, one thread, one call path share one record.
struct Evidence {
  StackId stack = kNoStack;
  uint64_t ip = 0;
  uint32_t ctx_name = 0;
  uint8_t irq_ctx = 0;      // bit0 softirq, bit1 hardirq, bit2 signal
  uint8_t irqs_enabled = usage::kProcessState;  // bit k: interrupt kind k enabled
  Mode mode = Mode::write;
  bool trylock = false;
  bool operator==(const Evidence&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const Evidence& e) {
    return H::combine(std::move(h), e.stack, e.ip, e.ctx_name, e.irq_ctx, e.irqs_enabled, uint8_t(e.mode), e.trylock);
  }
};
using EvidenceId = uint32_t;  // index into Impl::evidence_pool

struct HeldEntry {
  uint64_t lock;
  uint64_t instance_id;     // its lock's lifetime (the instance table's record, by `lock`, has it)
  ClassId cls;
  Mode mode;
  bool trylock;
  bool check;
  uint8_t irq_ctx;
  uint64_t chain_key;   // key of the chain ending with this entry
  bool per_instance;    // the key names lock instances too (inferred classes nested: extend_key)
  uint64_t nest_lock;
  Site site;
  uint8_t irqs_enabled;
  // The first entry of the run of entries of this class that ends here (this one's index when the
  // entry below is of another class): instance_gates steps over a table's thousand buckets at once.
  uint32_t run_lo;
  bool outer_asked;  // capture_outer asked the front end for this entry's stack
};

struct Instance {
  uint64_t id = 0;  // unique per lifetime; 0: the table's slot is free
  ClassId cls;
  uint32_t holds = 0;
};

// The lock instances by address, kept in the table's own slots (address, then the instance: 24
// bytes): open addressing, linear probing, at most 4/5 full. An acquisition of a lock not in
// the cache misses once here, where a map of pointers to pooled records missed twice, and an
// instance costs its slot alone (32 bytes at 100k locks, against 38 for the pointer map and the
// pool). Slots move when the table grows and when an entry is erased (the entries after it
// shift back): an Instance& is valid until the next emplace or erase, and moved() counts both.
class InstanceTable {
 public:
  Instance* find(uint64_t lock) {
    if (slots_.empty()) return nullptr;
    for (size_t i = home(lock);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.in.id == 0) return nullptr;
      if (s.lock == lock) return &s.in;
    }
  }
  const Instance* find(uint64_t lock) const { return const_cast<InstanceTable*>(this)->find(lock); }
  bool contains(uint64_t lock) const { return find(lock) != nullptr; }
  // The instance of `lock`; a new one has id 0, which the caller sets at once (a slot with id 0
  // is free to every other probe).
  Instance& emplace(uint64_t lock, bool& fresh) {
    if (Instance* in = find(lock)) {
      fresh = false;
      return *in;
    }
    fresh = true;
    if (size_ + 1 > grow_at_) grow();
    size_t i = home(lock);
    while (slots_[i].in.id != 0) i = (i + 1) & mask_;
    ++size_;
    slots_[i].lock = lock;
    slots_[i].in = Instance{};
    return slots_[i].in;
  }
  // Erases the instance of `lock`; the entries after it shift back into the hole.
  void erase(uint64_t lock) {
    if (slots_.empty()) return;
    size_t i = home(lock);
    while (slots_[i].lock != lock || slots_[i].in.id == 0) {
      if (slots_[i].in.id == 0) return;
      i = (i + 1) & mask_;
    }
    ++moved_;
    --size_;
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].in.id == 0) break;
      // The entry at j stays when its home lies cyclically in (i, j]; else it fills the hole.
      size_t h = home(slots_[j].lock);
      bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot{};
  }
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  uint64_t moved() const { return moved_; }
  static constexpr size_t kSlotBytes = 24;

 private:
  struct Slot {
    uint64_t lock;
    Instance in;
  };
  static_assert(sizeof(Slot) == kSlotBytes);
  size_t home(uint64_t lock) const { return size_t((lock * 0x9E3779B97F4A7C15ull) >> shift_); }
  [[gnu::noinline]] void grow() {
    ZeroArray<Slot> old = std::move(slots_);
    size_t n = old.empty() ? 256 : old.size() * 2;
    slots_ = ZeroArray<Slot>(n);
    mask_ = n - 1;
    shift_ = 64 - std::countr_zero(n);
    grow_at_ = n / 5 * 4;
    ++moved_;
    for (size_t k = 0; k < old.size(); ++k) {
      if (old[k].in.id == 0) continue;
      size_t i = home(old[k].lock);
      while (slots_[i].in.id != 0) i = (i + 1) & mask_;
      slots_[i] = old[k];
    }
  }
  ZeroArray<Slot> slots_;
  size_t size_ = 0, mask_ = 0, grow_at_ = 0;
  int shift_ = 64;
  uint64_t moved_ = 0;
};

}  // namespace engine

// One thread or task as the engine sees it (Validator's Context handle).
struct ContextState {
  using HeldEntry = engine::HeldEntry;
  using Instance = engine::Instance;
  uint64_t id = 0;
  uint32_t name = 0;
  std::vector<HeldEntry> held;
  std::array<uint16_t, kIrqKinds> depth{};
  std::array<bool, kIrqKinds> enabled{true, true, true};
  uint32_t spin_held = 0;   // held locks whose class spins
  uint64_t held_generation = 0;  // Validator::held_generation
  // The last few instances this context looked up: most code takes the same handful of locks
  // over and over, and this skips the hash lookup. Valid while `epoch` matches the engine's.
  struct CacheSlot { uint64_t lock = 0; Instance* inst = nullptr; };
  std::array<CacheSlot, 8> cache{};
  uint64_t epoch = 0;
  // The chain key last found in the chain cache at each small depth: a loop that takes the same
  // locks again skips even the cache lookup. Chains are never forgotten, so this never lies.
  std::array<uint64_t, 8> seen_key{};
  // Interrupt state saved by irq_enter: a handler runs with its own kind of interrupt masked
  // (hardirq handlers with hardirqs off, softirqs with BH off, a signal with itself blocked).
  std::vector<std::array<bool, kIrqKinds>> saved;
  ContextState() { update_want(); }

  uint8_t irq_ctx_cached = 0;
  uint8_t enabled_cached = usage::kProcessState;
  uint8_t irq_ctx() const { return irq_ctx_cached; }
  // Usage bits an acquisition in the current irq state sets (write, read), kept up to date by
  // every irq state change so the acquire path only tests them.
  uint32_t want[2] = {0, 0};
  // A new value at every change of the interrupt state, never used by another context (so that
  // a context made where an ended one was is not taken for it).
  uint64_t irq_generation = 0;
  void update_want() {
    using namespace usage;
    static std::atomic<uint64_t> generations{0};
    irq_generation = generations.fetch_add(1, std::memory_order_relaxed) + 1;
    irq_ctx_cached = uint8_t((depth[1] ? kInSoftirq : 0) | (depth[0] ? kInHardirq : 0) | (depth[2] ? kInSignal : 0));
    enabled_cached = uint8_t((enabled[0] ? kEnabledHardirq : 0) | (enabled[1] ? kEnabledSoftirq : 0) |
                             (enabled[2] ? kEnabledSignal : 0));
    for (int r = 0; r < 2; ++r) {
      uint32_t w = 0;
      for (int k = 0; k < kIrqKinds; ++k)
        if (depth[k]) w |= mask(Irq(k), false, r);
      // lockdep: softirq "enabled" only counts when hardirqs are enabled too.
      if (enabled[0]) {
        w |= mask(Irq::hardirq, true, r);
        if (enabled[1]) w |= mask(Irq::softirq, true, r);
      }
      if (enabled[2]) w |= mask(Irq::signal, true, r);
      want[r] = w;
    }
  }
  uint8_t enabled_mask() const { return enabled_cached; }
};

namespace engine {
struct UsageRecord {
  uint8_t bit;
  EvidenceId ev;
};

// A class's edges (out or in): up to two inline, more on the heap. 12 bytes, 4-aligned, so that
// the order's fields, both lists, the usage bits and the first usage record share the class
// record's line (absl::InlinedVector<uint32_t, 2> takes 24). The capacity is implied by the size:
// inline up to two, then the next power of two; the heap pointer is kept in two words.
//
// The heap block holds, after the edge indices, each edge's other end (its target in an out-list,
// its source in an in-list, with the owner's back-edge bit: Impl::kPkBack), so that looking for
// an edge among a class's many (find_edge) or walking them (pk_insert) reads one block rather
// than a random line of Impl::pk_edges per edge. Two inline edges have no room for theirs: the
// caller reads pk_edges (nbrs() is null).
class EdgeList {
 public:
  EdgeList() = default;
  EdgeList(const EdgeList&) = delete;
  EdgeList& operator=(const EdgeList&) = delete;
  EdgeList(EdgeList&& o) noexcept : size_(o.size_) {
    std::memcpy(w_, o.w_, sizeof w_);
    o.size_ = 0;
  }
  EdgeList& operator=(EdgeList&& o) noexcept {
    if (this != &o) {
      release();
      std::memcpy(w_, o.w_, sizeof w_);
      size_ = o.size_;
      o.size_ = 0;
    }
    return *this;
  }
  ~EdgeList() { release(); }
  const uint32_t* begin() const { return size_ > kInline ? heap() : w_; }
  const uint32_t* end() const { return begin() + size_; }
  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint32_t operator[](size_t i) const { return begin()[i]; }
  // The other ends, one per edge (null while the edges are inline).
  const uint32_t* nbrs() const { return size_ > kInline ? heap() + capacity(size_) : nullptr; }
  // Adds edge `ei` whose other end is `nbr`; nbr_of(e) tells an inline edge's other end when the
  // list moves to the heap.
  template <typename NbrOf>
  void push_back(uint32_t ei, uint32_t nbr, NbrOf&& nbr_of) {
    if (size_ < kInline) {
      w_[size_++] = ei;
      return;
    }
    if (size_ == capacity(size_)) grow(nbr_of);
    uint32_t cap = capacity(size_ + 1);
    heap()[size_] = ei;
    heap()[cap + size_] = nbr;
    ++size_;
  }
  // Marks the last edge's other end with `bit` (an edge found to close a cycle).
  void mark_last(uint32_t bit) {
    if (size_ > kInline) heap()[capacity(size_) + size_ - 1] |= bit;
  }
  // Bytes on the heap (for stats()).
  size_t heap_bytes() const { return size_ > kInline ? 2 * capacity(size_) * sizeof(uint32_t) : 0; }

 private:
  static constexpr uint32_t kInline = 2;
  static uint32_t capacity(uint32_t size) { return size <= kInline ? kInline : std::bit_ceil(size); }
  uint32_t* heap() const {
    uint32_t* p;
    std::memcpy(&p, w_, sizeof p);
    return p;
  }
  template <typename NbrOf>
  [[gnu::noinline]] void grow(NbrOf& nbr_of) {
    uint32_t ncap = size_ * 2;  // size_ is the capacity here: 2 (inline) or a power of two
    auto* p = static_cast<uint32_t*>(std::malloc(2 * ncap * sizeof(uint32_t)));
    if (!p) throw std::bad_alloc();
    std::memcpy(p, begin(), size_ * sizeof(uint32_t));
    if (size_ > kInline) {
      std::memcpy(p + ncap, nbrs(), size_ * sizeof(uint32_t));
    } else {
      for (uint32_t i = 0; i < size_; ++i) p[ncap + i] = nbr_of(w_[i]);
    }
    release();
    std::memcpy(w_, &p, sizeof p);
  }
  void release() {
    if (size_ > kInline) std::free(heap());
  }
  static_assert(sizeof(uint32_t*) == 2 * sizeof(uint32_t));
  uint32_t w_[2] = {0, 0};  // the two inline entries, or the heap pointer
  uint32_t size_ = 0;
};
static_assert(sizeof(EdgeList) == 12 && alignof(EdgeList) == 4);

// One cache line per class: what the topological order's searches read for every class they
// visit (rank, neighbours in the order, edges), one miss per class in a graph far larger than
// the cache; and what the acquisition path reads (wait type, usage and conflict bits, whether it
// is inferred, its instance count), so that a new chain over classes not in the cache misses once
// per class. What only a report, a name or a rare path reads is in side tables: the name
// (Impl::name_chars), the usage evidence (Impl::usage_pool, linked from usage_head), a
// subclass's base (Impl::subclass_base), conflict findings and subclass ids.
struct alignas(64) ClassInfo {
  uint64_t rank = 0;            // position in the topological order (spaced: see pk_move)
  ClassId lower = kNoClass, higher = kNoClass;  // neighbours in that order
  // Edge indices. Most classes have one or two edges each way: kept inline, they cost no
  // allocation (a 100k-class graph built edge by edge made 380k of them).
  EdgeList out, in;
  uint16_t usage = 0;           // usage bits (12: usage_bits.h)
  uint16_t conflict = 0;        // usage bits whose setting was reported as inconsistent
  // The usage records: the first one here (the bits its acquisition set and its evidence; most
  // classes have no other), the later ones linked from the last (Impl::usage_pool, 0 = none).
  uint16_t first_usage_bits = 0;
  LockKind kind;
  WaitType wait;
  EvidenceId first_usage_ev = 0;
  uint32_t usage_head = 0;
  uint32_t name = 0;            // its name's offset in Impl::name_chars (0: not named yet)
  // The small fields share a word with the searches' mark.
  uint32_t instances : 2 = 0;   // lifetimes of its locks begun: 0, 1, or 2 for two or more
  // Made by a front end's guess (the place its locks were created), not declared: two of its
  // locks nested is checked per pair of locks, not reported as recursive locking (see
  // check_recursion).
  uint32_t inferred : 1 = 0;
  uint32_t gate_candidate : 1 = 1;  // one instance so far: may serve as a gate lock
  // The chains this class heads (taken with nothing held in its interrupt context), one bit per
  // mode (1 << mode): a head's chain key names only the class and mode, so these bits are its
  // chain cache, in the record the acquisition reads anyway; the chain cache proper keeps only
  // chains of two or more locks (one random miss fewer per lock taken first).
  uint32_t heads : 3 = 0;
  // Whether the current graph search reached this class (Impl::mark): the search's generation
  // and two bits. In the record the search reads anyway: no array per class beside it.
  uint32_t mark : 25 = 0;
};
static_assert(sizeof(ClassInfo) == 64, "one cache line per class");

// The usage bits one acquisition set first and its evidence, linked to the class's previous
// record.
struct UsageLink {
  uint16_t bits;
  EvidenceId ev;
  uint32_t prev;  // index in Impl::usage_pool, 0 = none
};

// An edge's record: 16 bytes. Its two ends are in Impl::pk_edges (edge_from, edge_to), which the
// order's searches read apart from this record. Its evidence is by id (the evidence table,
// deduplicated); the classes held when it was first seen are implied when they were just its two
// ends (a chain of two locks: most edges), else a run in held_pool (Impl::held_runs); the two
// locks it was first seen with are kept only for edges of an inferred class, the only reports
// that name them (Impl::edge_locks); the finding of a guarded cycle it belongs to is in
// Impl::guarded_edge_finding.
struct EdgeInfo {
  uint8_t dep;
  bool back = false;            // not part of the topological order (it closes a plain cycle)
  bool guarded = false;         // part of a reported guarded cycle (Impl::guarded_edge_finding)
  // The classes held (in the edge's interrupt context) when first seen: false = just `from` and
  // `to`; true = a run in held_pool (Impl::held_runs).
  bool held_run = false;
  uint32_t gates = 0;           // index into gate_sets_ (0 = empty)
  EvidenceId from_ev = 0, to_ev = 0;
};
static_assert(sizeof(EdgeInfo) == 16);


// A growing array in fixed chunks of 2 MiB (as many records as fit), for the class and edge
// tables: it never moves a record (a std::vector doubling copied every class and edge record,
// and touched each new buffer's pages one fault at a time). The first chunk faults its small
// pages in as records reach them (a small Validator costs only what it touches). A later chunk is
// populated in one huge page at once; or, with kSmallTail (the class table, a record per lock),
// 64 KiB of small pages at a time, each call faulting them all in, and moved into one huge page
// when full (collapse_table): the table then holds at most 64 KiB it does not use, where a chunk
// populated whole held up to 2 MiB (20 bytes per class at 100k classes). Small pages cost time:
// done for the edge tables too, the 100k-lock walk's cold pass took 5% longer.
template <typename T, bool kSmallTail = false>
class ChunkedVector {
 public:
  static constexpr size_t kChunk = kHugePage / sizeof(T);
  static constexpr size_t kChunkBytes = kHugePage;
  static constexpr size_t kStep = size_t(64) << 10;
  ChunkedVector() = default;
  ChunkedVector(const ChunkedVector&) = delete;
  ChunkedVector& operator=(const ChunkedVector&) = delete;
  ~ChunkedVector() {
    for (size_t i = 0; i < size_; ++i) (*this)[i].~T();
    for (T* c : chunks_) unmap_table(c, kChunkBytes);
  }
  T& operator[](size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const T& operator[](size_t i) const { return chunks_[i / kChunk][i % kChunk]; }
  T& at(size_t i) {
    if (i >= size_) throw std::out_of_range("lockhound: record index");
    return (*this)[i];
  }
  const T& at(size_t i) const {
    if (i >= size_) throw std::out_of_range("lockhound: record index");
    return (*this)[i];
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& back() { return (*this)[size_ - 1]; }
  void push_back(T&& v) {
    make_room();
    new (&(*this)[size_]) T(std::move(v));
    ++size_;
  }
  void push_back(const T& v) {
    make_room();
    new (&(*this)[size_]) T(v);
    ++size_;
  }
  // Memory held: the full chunks whole, the last one as far as it was populated or touched.
  size_t bytes() const {
    if (chunks_.empty()) return chunks_.capacity() * sizeof(T*);
    size_t last = chunks_.size() == 1 ? ((size_ * sizeof(T) + 4095) & ~size_t(4095)) : kSmallTail ? filled_ : kChunkBytes;
    return (chunks_.size() - 1) * kChunkBytes + last + chunks_.capacity() * sizeof(T*);
  }

 private:
  void make_room() {
    size_t in_chunk = size_ % kChunk;
    if (size_ == chunks_.size() * kChunk) {
      add_chunk();
    } else if (kSmallTail && chunks_.size() > 1 && (in_chunk + 1) * sizeof(T) > filled_) {
      size_t step = std::min(kStep, kChunkBytes - filled_);
      populate_table(reinterpret_cast<char*>(chunks_.back()) + filled_, step);
      filled_ += step;
    }
  }
  [[gnu::noinline]] void add_chunk() {
    if (chunks_.size() == 1 || (kSmallTail && !chunks_.empty())) collapse_table(chunks_.back(), kChunkBytes);
    if (chunks_.empty() || kSmallTail) {
      chunks_.push_back(static_cast<T*>(map_growing(kChunkBytes)));
    } else {
      chunks_.push_back(static_cast<T*>(map_table(kChunkBytes, true)));
    }
    filled_ = 0;
    if (kSmallTail && chunks_.size() > 1) {
      populate_table(chunks_.back(), kStep);
      filled_ = kStep;
    }
  }
  std::vector<T*> chunks_;
  size_t size_ = 0;
  size_t filled_ = 0;  // bytes of the last chunk populated (chunks after the first)
};

// The edges by their two classes: open addressing, linear probing, 8 bytes a slot (a 32-bit tag
// from the key's hash and the edge's index; absl::flat_hash_map<uint64_t, uint32_t> took 17 and
// two cache lines a lookup, control bytes and slot). A tag match is confirmed on the edge record
// itself, which a hit reads next anyway; a miss (a new edge) reads only slots.
class EdgeIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  // The edge from -> to, or kNone; `slot_out` remembers where it would go, for insert_at. `ends`
  // tells an edge's two classes (ends.from(ei), ends.to(ei)).
  template <typename Ends>
  uint32_t find(ClassId from, ClassId to, const Ends& ends, size_t& slot_out) const {
    if (slots_.empty()) {
      slot_out = SIZE_MAX;
      return kNone;
    }
    uint32_t tag = tag_of(from, to);
    for (size_t i = home(tag);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.tag == 0) {
        slot_out = i;
        return kNone;
      }
      if (s.tag == tag && ends.from(s.ei) == from && ends.to(s.ei) == to) return s.ei;
    }
  }
  // Adds the edge find() did not find, at the slot it reported (unless the table must grow).
  void insert_at(size_t slot, ClassId from, ClassId to, uint32_t ei) {
    if (slot == SIZE_MAX || size_ + 1 > grow_at_) {
      grow();
      slot = free_slot(tag_of(from, to));
    }
    slots_[slot] = Slot{tag_of(from, to), ei};
    ++size_;
  }
  // Adds an edge not in the table.
  void insert(ClassId from, ClassId to, uint32_t ei) {
    insert_at(slots_.empty() || size_ + 1 > grow_at_ ? SIZE_MAX : free_slot(tag_of(from, to)), from, to, ei);
  }
  size_t capacity() const { return slots_.size(); }
  static constexpr size_t kSlotBytes = 8;

 private:
  struct Slot {
    uint32_t tag;  // 0: empty
    uint32_t ei;
  };
  // The slot's place is a function of its tag alone, so growing rehashes from the slots without
  // reading an edge record (a miss each, in a large graph).
  static uint32_t tag_of(ClassId from, ClassId to) {
    uint64_t x = ((uint64_t(from) << 32) | to) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return uint32_t(x >> 32) | 1;
  }
  size_t home(uint32_t tag) const { return size_t((uint64_t(tag) * 0xD6E8FEB86659FD93ull) >> shift_); }
  size_t free_slot(uint32_t tag) const {
    size_t i = home(tag);
    while (slots_[i].tag) i = (i + 1) & mask_;
    return i;
  }
  [[gnu::noinline]] void grow() {
    ZeroArray<Slot> old = std::move(slots_);
    slots_ = ZeroArray<Slot>(old.empty() ? 1024 : old.size() * 2);
    mask_ = slots_.size() - 1;
    shift_ = unsigned(64 - __builtin_ctzll(slots_.size()));
    grow_at_ = slots_.size() / 4 * 3;  // load factor 0.75
    for (const Slot& o : old)
      if (o.tag) slots_[free_slot(o.tag)] = o;
  }
  ZeroArray<Slot> slots_;
  size_t size_ = 0, mask_ = 0, grow_at_ = 0;
  unsigned shift_ = 64;
};

struct Node {       // BFS node
  ClassId cls;
  bool xr;
  uint8_t mask;
  uint32_t parent;  // index into nodes, UINT32_MAX for the root
  uint32_t edge;    // edge taken from the parent
};
}  // namespace engine
}  // namespace lockhound

namespace lockhound {
using namespace engine;

struct Validator::Impl {
  ValidatorOptions opt;
  ValidatorHooks hooks;

  ChunkedVector<ClassInfo, true> classes;
  absl::flat_hash_map<std::string, ClassId> class_by_name;
  InstanceTable instances;
  uint64_t next_instance_id = 1;
  absl::flat_hash_map<uint64_t, std::unique_ptr<ContextState>> contexts;
  std::vector<std::string> ctx_names{"?"};

  uint64_t unnamed_classes = 0;   // made with an empty name, not named since
  // Names, one after another, each ended by a 0 (ClassInfo::name is an offset here; offset 0 is
  // the empty name of a class named later: set_class_name).
  std::vector<char> name_chars{'\0'};
  std::vector<UsageLink> usage_pool{UsageLink{}};
  absl::flat_hash_map<ClassId, ClassId> subclass_base;  // subclasses only (base of the rest: itself)
  // A class's usage records, oldest first.
  absl::InlinedVector<UsageRecord, 4> usage_records(ClassId c) const {
    absl::InlinedVector<UsageRecord, 4> out;
    for (uint32_t i = classes[c].usage_head; i; i = usage_pool[i].prev)
      for (int bit = 11; bit >= 0; --bit)
        if (usage_pool[i].bits & (1u << bit)) out.push_back({uint8_t(bit), usage_pool[i].ev});
    for (int bit = 11; bit >= 0; --bit)  // the first record, the oldest
      if (classes[c].first_usage_bits & (1u << bit)) out.push_back({uint8_t(bit), classes[c].first_usage_ev});
    std::reverse(out.begin(), out.end());
    return out;
  }
  uint32_t store_name(std::string_view name);  // its offset in name_chars (0: empty or no room)
  ChunkedVector<EdgeInfo> edges;
  // Each edge's two ends, and kPkBack on `to` for a back edge: what the order's search
  // (pk_insert) reads of an edge, kept apart from the edge records, 8 bytes per edge, so a search
  // over a large graph misses the cache on far fewer lines.
  struct PkEdge {
    ClassId from;
    uint32_t to_back;
  };
  static constexpr uint32_t kPkBack = 1u << 31;
  ChunkedVector<PkEdge> pk_edges;  // by edge index
  ClassId edge_from(uint32_t ei) const { return pk_edges[ei].from; }
  // An out-list's and an in-list's word for the edge's other end (EdgeList::nbrs), back bit included.
  uint32_t out_nbr(uint32_t ei) const { return pk_edges[ei].to_back; }
  uint32_t in_nbr(uint32_t ei) const { return pk_edges[ei].from | (pk_edges[ei].to_back & kPkBack); }
  // The k-th edge's other end in `list` (an out-list when kOut): from the list's heap block, or
  // from pk_edges while its edges are inline.
  template <bool kOut>
  uint32_t nbr_at(const EdgeList& list, const uint32_t* nb, uint32_t k) const {
    return nb ? nb[k] : kOut ? out_nbr(list[k]) : in_nbr(list[k]);
  }
  ClassId edge_to(uint32_t ei) const { return pk_edges[ei].to_back & ~kPkBack; }
  // The ends as EdgeIndex::find asks for them.
  struct Ends {
    const Impl& impl;
    ClassId from(uint32_t ei) const { return impl.edge_from(ei); }
    ClassId to(uint32_t ei) const { return impl.edge_to(ei); }
  };
  // An edge by its two classes. A class with at most kScanDegree out-edges (nearly all of them)
  // is searched in its own list, which the class record holds, by the ends in pk_edges: a few
  // loads independent of each other, and no index to keep. Only the out-edges of classes with
  // more are in edge_index (a lock held around many others: a global lock, a table's lock).
  static constexpr uint32_t kScanDegree = 16;
  EdgeIndex edge_index;
  // find_edge's `slot` is edge_index's, for index_edge (SIZE_MAX: the class is not indexed).
  uint32_t find_edge(ClassId from, ClassId to, size_t& slot) const {
    const EdgeList& out = classes[from].out;
    if (out.size() > kScanDegree) return edge_index.find(from, to, Ends{*this}, slot);
    slot = SIZE_MAX;
    const uint32_t* nb = out.nbrs();
    for (uint32_t k = 0; k < out.size(); ++k)
      if ((nbr_at<true>(out, nb, k) & ~kPkBack) == to) return out[k];
    return EdgeIndex::kNone;
  }
  void index_edge(ClassId from, ClassId to, uint32_t ei, size_t slot);
  uint64_t back_edges = 0;
  std::vector<std::vector<ClassId>> gate_sets{{}};
  std::vector<uint32_t> gated_edges;                     // edges with non-empty gates
  std::vector<ClassId> held_pool{0};                     // runs: length, then the classes
  absl::flat_hash_map<uint32_t, uint32_t> held_runs;     // edge -> its run in held_pool (EdgeInfo::held_run)
  uint64_t adjacency_heap_bytes = 0;                     // the classes' edge lists past their inline two
  absl::flat_hash_map<uint32_t, std::pair<uint64_t, uint64_t>> edge_locks;  // edge -> (from, to) lock
  absl::flat_hash_map<uint32_t, uint32_t> guarded_edge_finding;             // edge -> finding
  // The evidence table: each distinct Evidence once (id 0: none recorded).
  std::vector<Evidence> evidence_pool{Evidence{}};
  absl::flat_hash_map<Evidence, EvidenceId> evidence_ids;
  // The last two ids handed out are compared first: a new edge's two acquisitions are most often
  // those of the edge before it (one loop, one call path), and the compare is cheaper than a hash.
  EvidenceId intern_evidence(const Evidence& e) {
    for (EvidenceId id : recent_evidence)
      if (evidence_pool[id] == e) return id;
    auto [it, fresh] = evidence_ids.try_emplace(e, EvidenceId(evidence_pool.size()));
    if (fresh) evidence_pool.push_back(e);
    recent_evidence[recent_next] = it->second;
    recent_next ^= 1;
    return it->second;
  }
  std::array<EvidenceId, 2> recent_evidence{};
  unsigned recent_next = 0;
  // Rare per-class facts, out of the class record.
  absl::flat_hash_map<ClassId, std::vector<std::pair<uint8_t, uint32_t>>> conflict_findings;  // bit -> finding
  // An irq-unsafe lock's ordering findings (safe -> unsafe, inversions), by interrupt: when the
  // lock itself is then found used in that interrupt and with it enabled, its inconsistent
  // state says all they say, with the same fix (report_inconsistent supersedes them).
  absl::flat_hash_map<ClassId, std::vector<std::pair<uint8_t, uint32_t>>> unsafe_order_findings;  // irq -> finding
  // Whether `cls` was found used in interrupt k and with k enabled (reported or not).
  bool inconsistent_in(ClassId cls, Irq k) const { return (classes[cls].conflict >> (unsigned(k) * 4)) & 0xF; }
  absl::flat_hash_map<uint64_t, ClassId> subclass_ids;  // base << 3 | subclass -> class

  ChainSet chains;
  std::array<uint32_t, kIrqKinds> used_in_classes{};     // classes with any USED_IN_k bit

  std::vector<std::vector<Frame>> stacks{{}};
  absl::flat_hash_map<uint64_t, std::vector<StackId>> stack_by_hash;

  std::vector<Finding> findings;
  std::vector<bool> superseded;
  absl::flat_hash_map<std::string, uint32_t> finding_by_sig;
  absl::flat_hash_set<uint64_t> freed_while_held;

  // BFS scratch
  std::vector<Node> nodes;
  // The searches' marks (ClassInfo::mark): each search (pk_insert's, a BFS) takes a generation;
  // a class's mark is that generation and the bits set on it (pk_insert: reached forward, 1, and
  // backward, 2; a BFS: reached with xr 0, 1, and with xr 1, 2). After 2^23 generations (or
  // ValidatorOptions::search_generations) every mark is cleared and they start again.
  uint32_t mark_gen = 0;
  static constexpr uint32_t kMarkGens = 1u << 23;
  void new_mark_gen() {
    if (++mark_gen >= std::clamp<uint32_t>(opt.search_generations, 2, kMarkGens)) {
      for (size_t c = 0; c < classes.size(); ++c) classes[c].mark = 0;
      mark_gen = 1;
    }
  }
  // Sets `bit` on c's mark for the current search; false if it was set already.
  bool mark(ClassInfo& c, uint32_t bit) {
    uint32_t m = c.mark;
    if ((m >> 2) != mark_gen) m = mark_gen << 2;
    else if (m & bit) return false;
    c.mark = m | bit;
    return true;
  }
  // PK scratch
  std::vector<ClassId> pk_fwd, pk_bwd, pk_work, pk_work_b;
  std::vector<std::pair<uint64_t, ClassId>> pk_by_rank;  // pk_move's sort, ranks copied once
  // The topological order: classes by rank, and linked in that order (lower/higher). Ranks start
  // in the middle of the 64-bit range, kRankGap apart, and new classes go on top; the gaps let
  // pk_move place a few classes between two others without touching the rest: 40 halvings of a
  // new class's gap; then the classes nearby are spread out (respace).
  static constexpr uint64_t kRankGap = 1ull << 40;
  static constexpr int kMinRespacedGapLog = 24;  // respace leaves at least 2^24 between classes
  static constexpr uint64_t kRankBase = 1ull << 62;
  ClassId lowest = kNoClass, highest = kNoClass;
  uint64_t top_rank = kRankBase;

  ValidatorStats st;

  // ---------------------------------------------------------------- classes & instances
  ClassId new_class(std::string name, LockKind kind, WaitType wait, ClassId base, uint8_t sub);
  std::string name_of(ClassId c) const;  // every read of a class's name goes here

  [[gnu::noinline]] ClassId subclass_of(ClassId base, uint8_t sub);

  // Changes whenever a cache slot's pointer may stop being the instance of its address: an
  // instance destroyed, the table's slots moved (InstanceTable::moved).
  uint64_t instance_epoch() const { return 1 + instances.moved(); }

  // The context's cache slot for `lock` (emptied first if instances moved since).
  ContextState::CacheSlot& cache_slot(ContextState* ctx, uint64_t lock) {
    if (ctx->epoch != instance_epoch()) {
      ctx->cache.fill({});
      ctx->epoch = instance_epoch();
    }
    // Multiplicative hash: locks embedded in arrays of structs sit at regular strides, which
    // a plain bit slice of the address would map onto the same few slots.
    return ctx->cache[(lock * 0x9E3779B97F4A7C15ull) >> 61];
  }

  Instance& cached_instance(ContextState* ctx, uint64_t lock) {
    auto& slot = cache_slot(ctx, lock);
    if (slot.lock == lock && slot.inst) return *slot.inst;
    Instance& in = instance_of(lock);
    slot = {lock, &in};
    return in;
  }

  // Whether the lock has an instance; if so the context's cache remembers it (a replay that
  // asks and then acquires looks the table up once).
  bool known_cached(ContextState* ctx, uint64_t lock) {
    return find_cached(ctx, lock) != nullptr;
  }
  // The instance of `lock`, or null; through the context's cache when there is a context.
  Instance* find_cached(ContextState* ctx, uint64_t lock) {
    if (!ctx) return instances.find(lock);
    auto& slot = cache_slot(ctx, lock);
    if (slot.lock == lock && slot.inst) return slot.inst;
    Instance* in = instances.find(lock);
    if (in) slot = {lock, in};
    return in;
  }
  // A held entry's lock is held once less (released, dropped).
  void drop_hold(ContextState* ctx, const HeldEntry& h) {
    Instance* in = find_cached(ctx, h.lock);
    if (in && in->id == h.instance_id && in->holds) in->holds--;
  }

  [[gnu::noinline]] Instance& instance_of(uint64_t lock);

  // A new lifetime of `lock`'s instance (made if it has none). The contexts' caches stay valid:
  // an address keeps its slot across lifetimes, so no flush here unless the table moved (flushing
  // on every init emptied every cache each time a program made a lock).
  Instance& init_instance(uint64_t lock, ClassId cls);

  // ---------------------------------------------------------------- stacks & evidence
  StackId intern(std::span<const Frame> frames);

  StackId capture(ContextState* ctx, const Site& s, uint64_t lock = 0) {
    if (s.stack != kNoStack) return s.stack;
    if (hooks.capture_stack) return hooks.capture_stack(ctx, lock, s.ip);
    return kNoStack;
  }

  // The stack of a held entry's acquisition, captured once: an acquisition that both sets usage
  // bits and adds edges (every first acquisition of a class under another lock) unwinds once,
  // and later edges from it as the outer lock carry its stack. Only while it is being acquired.
  StackId capture_held(ContextState* ctx, HeldEntry& h) {
    if (h.site.stack == kNoStack) h.site.stack = capture(ctx, h.site, h.lock);
    return h.site.stack;
  }
  // The stack of a held entry that is not being acquired now, when its acquisition left none (see
  // ValidatorHooks::held_stack): asked once.
  StackId capture_outer(ContextState* ctx, HeldEntry& h) {
    if (h.site.stack == kNoStack && !h.outer_asked && h.site.ip && hooks.held_stack) {
      h.outer_asked = true;
      h.site.stack = hooks.held_stack(ctx, h.lock, h.site.ip);
    }
    return h.site.stack;
  }

  Evidence evidence(ContextState* ctx, const Site& s, Mode mode, bool trylock, bool capture_now);

  Evidence held_evidence(ContextState* ctx, const HeldEntry& h);

  Stack frames_of(const Evidence& e) const;

  static std::string irq_ctx_name(uint8_t c);

  Acquisition acquisition(const Evidence& e, ClassId cls, std::vector<HeldLock> held = {}) const;

  std::vector<HeldLock> held_list(const ContextState* ctx, size_t upto) const;

  // ---------------------------------------------------------------- findings
  // Returns true when this signature was already reported, and counts it if `path` is new for it.
  // A finding's count is the number of distinct lock chains (the locks held, in one interrupt
  // state; `path` is the chain's key, mixed with what else tells two occurrences apart) on which
  // the problem was seen: the same path taken again is the same occurrence. A first report
  // remembers its path for publish().
  bool repeat(const std::string& sig, uint64_t path) {
    auto it = finding_by_sig.find(sig);
    ++report_events;
    if (it == finding_by_sig.end()) {
      first_path = path;
      return false;
    }
    count_on_path(it->second, path);
    return true;
  }
  void count_on_path(uint32_t idx, uint64_t path) {
    if (counted_paths.insert({idx, path}).second) findings[idx].count++;
  }
  static uint64_t path_of(const ContextState* ctx) {
    return ctx && !ctx->held.empty() ? ctx->held.back().chain_key : 0;
  }
  absl::flat_hash_set<std::pair<uint32_t, uint64_t>> counted_paths;
  uint64_t first_path = 0;

  uint64_t report_events = 0;

  // A new finding: the engine states the facts; the finding layer words them and signs them.
  // `key` is the engine's own dedup key (class ids, code sites), finer than or equal to the
  // finding's public signature.
  uint32_t publish(Finding&& f, std::string key);

  // ---------------------------------------------------------------- acquire
  void acquire(ContextState* ctx, uint64_t lock, const AcquireFlags& fl, const Site& site);

  // The key of the chain `held` + this lock, from the key of `held`. lockdep keys chains on class
  // and read mode; lockhound adds the trylock bit, because a trylock changes which edges the
  // locks above it produce (check_prevs_add walks through it). A lock of an inferred class taken
  // while another lock of that class is held adds both instances: each pair of locks is
  // validated on its own (check_instance_order), and so is every chain above such a pair.
  uint64_t extend_key(std::span<const HeldEntry> held, uint64_t key, ClassId cls, Mode mode,
                      bool trylock, uint64_t lock, uint64_t inst_id, bool& per_instance) const {
    key = mix_chain(key, chain_id(cls, mode, trylock));
    const ClassInfo& c = classes[cls];
    if (__builtin_expect(!c.inferred || c.instances < 2, 1)) return key;
    bool nested = false;
    size_t lo = held.size() > kPairScan ? held.size() - kPairScan : 0;
    for (size_t i = lo; i < held.size(); ++i) {
      const HeldEntry& h = held[i];
      if (h.cls == cls && h.lock != lock) {
        key = mix_chain(key, uint32_t(h.instance_id));
        nested = true;
      }
    }
    if (nested) {
      key = mix_chain(key, uint32_t(inst_id));
      per_instance = true;
    }
    return key;
  }

  // Locks of one inferred class held many at once (a table's every bucket): a lock is paired with
  // the locks of its class among the kPairScan entries held directly below it, at most
  // kPairWindow of them (the nearest). Pairs farther apart are not checked: what that costs is a
  // cycle between two locks that are never within kPairWindow of each other in either nesting.
  // Without the bound, holding N locks of a class cost N^2 pairs in memory and N^3 in time.
  static constexpr size_t kPairScan = 64;
  static constexpr size_t kPairWindow = 8;
  // Classes held below the inner lock kept with a pair, for its report: the outermost few and the
  // nearest, never more than kPairHeldKept.
  static constexpr size_t kPairHeldKept = 16;

  // Everything below runs off the fast path; kept out of line so the fast path stays small.
  [[gnu::noinline]] void new_chain(ContextState* ctx, bool chain_head);
  [[gnu::noinline]] void new_front_chain(ContextState* ctx, uint64_t key);

  bool holds(const ContextState* ctx, uint64_t lock) const {
    for (const auto& h : ctx->held)
      if (h.lock == lock) return true;
    return false;
  }

  void validate_chain(ContextState* ctx, bool chain_head);

  // 0: fine, 1: recursive locking reported, 2: allowed by a held nest lock, 3: another lock of
  // an inferred class held, and the pair checked per instance.
  //
  // lockdep reports any two locks of one class nested, because its classes are declared (one
  // per lock_class_key) and such nesting has no order the validator could check. A class a
  // front end inferred (the runtime's: the place a lock was created) often holds many locks
  // nested on purpose, in an order the program keeps (a parent's lock before a child's, a
  // table's buckets in address order): reporting those would be false alarms. For such a
  // class each pair of locks is remembered in the order it was nested, and two locks nested
  // in both orders are reported as the circular dependency they are. The same lock taken
  // twice is still recursive locking.
  int check_recursion(ContextState* ctx);

  // What is kept of two locks of one inferred class nested, outer then inner.
  // 24 bytes: most pairs are nested with nothing else held, and keep no block (their held list,
  // the outer lock alone, is implied).
  struct InstancePair {
    EvidenceId outer = 0, inner = 0;   // in the evidence table
    // The classes held below the inner lock, and the instances held exclusively around both
    // (every nesting; sorted), in one block: the two counts, then the classes, then the
    // instances. Null when both are empty.
    std::unique_ptr<uint64_t[]> extra;
    uint8_t dep = 0;
    std::span<const uint64_t> held() const {
      return extra ? std::span<const uint64_t>(&extra[1], extra[0] & 0xFFFFFFFF) : std::span<const uint64_t>();
    }
    std::span<const uint64_t> gates() const {
      return extra ? std::span<const uint64_t>(&extra[1 + (extra[0] & 0xFFFFFFFF)], extra[0] >> 32)
                   : std::span<const uint64_t>();
    }
    // Replaces both lists (either may be the pair's own: it is copied first).
    void assign(std::span<const uint64_t> h, std::span<const uint64_t> g) {
      std::unique_ptr<uint64_t[]> b;
      if (!h.empty() || !g.empty()) {
        b.reset(new uint64_t[1 + h.size() + g.size()]);
        b[0] = h.size() | uint64_t(g.size()) << 32;
        std::copy(h.begin(), h.end(), &b[1]);
        std::copy(g.begin(), g.end(), &b[1 + h.size()]);
      }
      extra = std::move(b);
    }
    size_t extra_bytes() const { return extra ? (1 + held().size() + gates().size()) * 8 : 0; }
  };
  static_assert(sizeof(InstancePair) == 24);
  // In table memory: a program that nests 100k locks of one class in pairs keeps 200k of them.
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, InstancePair, absl::Hash<std::pair<uint64_t, uint64_t>>,
                      std::equal_to<std::pair<uint64_t, uint64_t>>,
                      engine::TableAllocator<std::pair<const std::pair<uint64_t, uint64_t>, InstancePair>>>
      instance_pairs;  // by ids
  // Lifetimes of inferred-class locks ended since the last sweep of instance_pairs (sweep_pairs):
  // their pairs are dropped in batches, not one by one through a list of each lock's partners.
  // Ids are never reused, so a pair of an ended lifetime is never found in the meantime.
  std::vector<uint64_t> ended_pair_ids;
  static constexpr size_t kSweepMin = 1024;
  void sweep_pairs();
  static constexpr uint64_t kPairBytes = sizeof(InstancePair) + 16;

  // A lock's lifetime ended: the orders of its pairs go with it (a lock made at its address later
  // is another lock), and so does their memory, at the next sweep.
  void end_pairs(uint64_t id, ClassId cls);

  // Instances of other locks held exclusively, in the inner lock's interrupt context: a cycle
  // between two locks each nesting of which happened under one of these cannot deadlock.
  // Sorted; the caller leaves out the outer lock of each pair.
  std::vector<uint64_t> instance_gates(const ContextState* ctx, size_t inner) const;

  // A 2-cycle a -> b -> a is a deadlock unless a recursive-read acquisition meets a shared
  // holder (lockdep's strong-path rule, checked at both joints).
  static bool strong_pair(uint8_t d1, uint8_t d2);

  // `gates`: instance_gates(ctx, inner) (every such lock, the outer one included: it is left out
  // here), computed once for all the pairs the inner lock makes.
  void check_instance_order(ContextState* ctx, size_t outer_i, const std::vector<uint64_t>& gates);

  std::string instance_name(ClassId cls, uint64_t lock) const;

  // Two locks of one inferred class, each taken while the other was held: the current nesting
  // (outer_i, then the top entry) closes the earlier one `rev` (inner then outer).
  void report_instance_cycle(ContextState* ctx, size_t outer_i, const InstancePair& rev,
                             const std::vector<uint64_t>& common);

  // ---------------------------------------------------------------- edges
  std::vector<ClassId> current_gates(const ContextState* ctx, size_t prev_i, size_t next_i) const;

  uint32_t intern_gates(std::vector<ClassId> g);

  void check_prev_add(ContextState* ctx, size_t prev_i, size_t next_i);

  void bump_cycle_count(uint32_t ei);
  absl::flat_hash_map<uint32_t, uint32_t> closing_edge_finding;

  // ---------------------------------------------------------------- Pearce–Kelly order
  // Keeps classes ranked so that every non-back edge goes from lower to higher rank. Inserting
  // from->to against the order looks only at classes between the two ranks, and moves only the
  // smaller of the two sets it must separate; if `from` is reachable from `to` the edge closes a
  // cycle and stays out of the order (returns false). Moving the smaller side keeps locks first
  // seen in an order unrelated to their nesting (100k heap locks visited at random) from costing
  // a reorder of everything between them per new edge.
  bool pk_insert(ClassId from, ClassId to);
  static constexpr uint32_t kMarkFwd = 1, kMarkBwd = 2;  // pk_insert's two searches' mark bits
  template <bool kOut>
  bool pk_expand(ClassId c, ClassId stop, uint64_t lb, uint64_t ub, std::vector<ClassId>& work);

  // Moves a complete side just past `anchor` (F above the new edge's source, B below its
  // target), keeping its inner order. Nothing else ranks between the anchor and its neighbour in
  // the order, so every edge into or out of the side stays ordered. Ranks are spaced; when the
  // gap is too narrow the classes around it are spread out first (respace).
  bool pk_move(std::vector<ClassId>& side, ClassId anchor, bool above);
  // Ranks `side` between the neighbours `after` and `before` where they have no room between
  // them, by spreading out the classes nearby (engine_order.cpp).
  void respace(ClassId after, ClassId before, const std::vector<ClassId>& side);
  // Ranks `side` evenly between them if there is room (false: none).
  bool place(const std::vector<ClassId>& side, ClassId after, ClassId before);

  void unlink_rank(ClassId c);
  // Links c just above `after` (kNoClass: at the bottom).
  void link_rank_after(ClassId c, ClassId after);

  // Spreads every class out again in the same order, at least `gap` apart, over half of the rank
  // range (its middle): a renumber walks every class in the order, one cache miss each in a large
  // graph, so it should leave all the room there is. The room above keeps 10M new classes.
  // Only when the order is dense everywhere near a point (respace), or new classes have reached the
  // top of the range (new_class).
  [[gnu::noinline]] void renumber(uint64_t gap);

  // ---------------------------------------------------------------- BFS

  // Searches for a path to->…->from that, with the new edge from->to, forms a strong cycle.
  // Gate handling: `gates` are the gates of the new edge; the mask records which of them some
  // edge on the path lacks. A path with every bit set proves an unguarded cycle. Returns the node
  // index of the best target (unguarded if any, else the shortest guarded), or UINT32_MAX.
  uint32_t search_cycle(ClassId from, Mode from_mode, ClassId to, Mode to_mode,
                        const std::vector<ClassId>& gates, bool& unguarded);

  bool on_path(uint32_t node, ClassId cls) const;

  std::vector<uint32_t> path_edges(uint32_t node) const;

  void check_cycle(ContextState* ctx, uint32_t ei, const HeldEntry& prev, const HeldEntry& next);

  // A class seen with a second instance can no longer serve as a gate (two threads may hold two
  // different instances of it). Remove it from every gate set and re-check the edges it guarded.
  void drop_gate_class(ClassId cls);

  // Re-runs the cycle search for an existing edge using its recorded evidence.
  void recheck_edge(uint32_t ei);

  // ---------------------------------------------------------------- usage
  [[gnu::noinline]] void mark_usage(ContextState* ctx, HeldEntry& h, uint32_t want);

  void set_usage(ContextState* ctx, const HeldEntry& h, unsigned bit);

  // BFS for a class (other than the root) whose usage matches `mask`, with _READ bits masked out
  // on paths made only of -(xR)-> steps. Returns the node index or UINT32_MAX.
  uint32_t find_usage(ClassId root, bool root_xr, bool forward, uint32_t mask, bool include_root = false);

  // Union of usage bits of everything backward-reachable from root (lockdep's usage_accumulate).
  uint32_t accumulate_backward(ClassId root, bool root_xr);

  // lockdep's check_irq_usage for a new edge prev -> next: something irq-safe behind prev must
  // not reach something irq-unsafe ahead of next.
  void check_irq_usage(ContextState* ctx, const HeldEntry& prev, const HeldEntry& next, uint32_t ei);

  uint32_t find_usage_or_self(ClassId root, bool root_xr, uint32_t mask);

  // ---------------------------------------------------------------- waits
  // Cheap test first: nearly every acquisition of a sleeping lock is in a context that may sleep.
  static bool may_sleep(const ContextState* ctx) {
    return !ctx->depth[0] && !ctx->depth[1] && !ctx->spin_held && ctx->enabled[0];
  }

  // Why this context must not sleep ("" when it may), and the innermost spinning lock held.
  std::string atomic_reason(const ContextState* ctx, ClassId& spinning) const;

  // A sleeping lock taken where sleeping is not allowed: lockdep's invalid wait context under a
  // spinning lock or in interrupt context; with only interrupts disabled it is the kernel's
  // might_sleep report (mutex_lock() calls might_sleep() first).
  [[gnu::noinline]] void check_wait_context(ContextState* ctx, ClassId cls, const Site& site);

  void might_sleep(ContextState* ctx, const Site& site, std::string_view what);

  // ---------------------------------------------------------------- release, destroy, exit
  void release(ContextState* ctx, uint64_t lock, const Site& site) {
    st.releases++;
    auto& held = ctx->held;
    if (__builtin_expect(held.empty() || held.back().lock != lock, 0)) return release_inner(ctx, lock, site);
    // The common case: releasing the most recently taken lock. No chain keys to rebuild.
    const HeldEntry& h = held.back();
    drop_hold(ctx, h);
    if (ctx->spin_held && classes[h.cls].wait == WaitType::spin) ctx->spin_held--;
    held.pop_back();
    ctx->held_generation++;
  }
  [[gnu::noinline]] void release_inner(ContextState* ctx, uint64_t lock, const Site& site);

  // Removes held entry i (released, or its lock destroyed) and rebuilds the chain keys above it.
  void remove_held(ContextState* ctx, size_t i);
  // Removes the entries at `idx` (ascending, distinct) in one pass, then rebuilds the keys above
  // the lowest once.
  void remove_held_many(ContextState* ctx, std::span<const size_t> idx);
  void rebuild_keys(ContextState* ctx, size_t from);

  void lock_destroy(ContextState* ctx, uint64_t lock, const Site& site, bool unloaded = false);

  void end_context(ContextState* ctx, const Site& site, bool to_user);

  // ---------------------------------------------------------------- reports
  std::string sig_of_classes(std::string_view kind, const std::vector<ClassId>& cs) const;

  Edge edge_report(uint32_t ei) const;

  void report_cycle(ContextState* ctx, const std::vector<uint32_t>& path, FindingType type,
                    const std::vector<ClassId>& common);

  // The context's side of a finding: its name and the locks it holds. While `ctx` is acquiring
  // (acquiring_ctx), the entry on top is the lock being taken, not yet held (lockdep counts it
  // only once the checks passed): a thread about to block on it is not shown holding it.
  Participant participant(const ContextState* ctx) const;
  const ContextState* acquiring_ctx = nullptr;

  void report_recursion(ContextState* ctx, size_t prev_i);

  void report_trylock_held(ContextState* ctx, uint64_t lock, Mode mode, const Site& site);

  [[gnu::noinline]] void report_nest_not_held(ContextState* ctx, ClassId cls, const AcquireFlags& fl, const Site& site);

  void report_inconsistent(ContextState* ctx, const HeldEntry& h, unsigned prev_bit, unsigned new_bit);

  void report_irq_inversion(ContextState* ctx, const HeldEntry& h, unsigned bit, uint32_t hit, bool forward);

  void add_usage_evidence(Finding& f, ClassId cls, Irq k, bool enabled_dir);

  void report_safe_unsafe(ContextState* ctx, Irq k, ClassId safe, ClassId unsafe,
                          const std::vector<uint32_t>& chain, const HeldEntry& prev, const HeldEntry& next);

  void report_wait(ContextState* ctx, FindingType type, ClassId cls, ClassId spinning,
                   const std::string& reason, const Site& site, const std::string& what);

  void report_bad_unlock(ContextState* ctx, uint64_t lock, const Site& site);

  void report_freed(ContextState* by, ContextState* holder, size_t i, const Site& site, bool unloaded);

  void report_still_held(ContextState* ctx, const Site& site, FindingType type);
};

}  // namespace lockhound
