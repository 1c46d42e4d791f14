// Validator implementation. Layout of this file:
//   1. state: classes, instances, contexts, edges, chains, findings
//   2. the acquisition path (fast path first: chain cache hit and known usage bits)
//   3. graph searches: the precise BFS (read rules, gate locks) and the Pearce–Kelly order
//   4. usage (irq) checks
//   5. findings: evidence -> Finding, deduplication by signature
#include "core/validator.h"

#include <algorithm>
#include <stdexcept>
#include <cstddef>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <iterator>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/container/inlined_vector.h>

#include "core/facts.h"
#include "core/voice.h"

namespace lockhound {
namespace {

// ---- usage bits ---------------------------------------------------------------------------
// Per interrupt kind k: bit 4k+0 USED_IN_k, +1 USED_IN_k_READ, +2 ENABLED_k, +3 ENABLED_k_READ
// (lockdep's layout: READ is bit 0 of the pair, direction bit 1).
constexpr unsigned kReadBit = 1, kDirBit = 2;
constexpr uint32_t kUsedInAll = 0x111 | 0x222;    // USED_IN and USED_IN_READ of all kinds
constexpr uint32_t kEnabledAll = 0x444 | 0x888;
constexpr uint32_t kReadBits = 0x222 | 0x888;     // the _READ bits
constexpr uint32_t kNonReadBits = ~kReadBits & 0xfff;

std::string usage_name(unsigned bit) {
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

std::string hex_of(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// ---- edge kinds (lockdep's DEP_*): bit index = holder_exclusive + 2 * acquirer_not_recursive
constexpr uint8_t kDepSR = 1, kDepER = 2, kDepSN = 4, kDepEN = 8;
uint8_t dep_of(Mode holder, Mode acquirer) {
  int idx = (holder == Mode::write ? 1 : 0) + (acquirer != Mode::recursive_read ? 2 : 0);
  return uint8_t(1u << idx);
}
// The same edge seen from its target: swap the roles (ER <-> SN).
uint8_t reverse_dep(uint8_t d) {
  return uint8_t((d & (kDepSR | kDepEN)) | ((d & kDepER) ? kDepSN : 0) | ((d & kDepSN) ? kDepER : 0));
}
std::string dep_name(uint8_t d) {
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

constexpr uint64_t kInitialChainKey = ~uint64_t(0);
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

const char* mode_name(Mode m, bool trylock) {
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
    for (size_t i = size_t(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == key) return false;
      if (slots_[i] == 0) {
        slots_[i] = key;
        ++size_;
        return true;
      }
    }
  }
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

 private:
  [[gnu::noinline]] void grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    mask_ = slots_.size() - 1;
    grow_at_ = slots_.size() * 3 / 4;  // load factor 0.75
    size_ = 0;
    for (uint64_t k : old)
      if (k) insert(k);
  }
  std::vector<uint64_t> slots_;
  size_t size_ = 0, mask_ = 0, grow_at_ = 0;
};

}  // namespace

// Where and how a lock was taken, as remembered for reports (small: stack by id).
struct Evidence {
  StackId stack = kNoStack;
  uint64_t ip = 0;
  uint32_t ctx_name = 0;
  uint8_t irq_ctx = 0;      // bit0 softirq, bit1 hardirq, bit2 signal
  uint8_t irqs_enabled = 7; // bit k: interrupt kind k enabled
  Mode mode = Mode::write;
  bool trylock = false;
};

struct Instance;
struct HeldEntry {
  uint64_t lock;
  Instance* inst;           // stable: instances are pooled, and a destroyed one is never held
  uint64_t instance_id;
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
};

struct ContextState {
  uint64_t id = 0;
  uint32_t name = 0;
  std::vector<HeldEntry> held;
  std::array<uint16_t, kIrqKinds> depth{};
  std::array<bool, kIrqKinds> enabled{true, true, true};
  uint32_t spin_held = 0;   // held locks whose class spins
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
  uint8_t enabled_cached = 7;
  uint8_t irq_ctx() const { return irq_ctx_cached; }
  // Usage bits an acquisition in the current irq state sets (write, read), kept up to date by
  // every irq state change so the acquire path only tests them.
  uint32_t want[2] = {0, 0};
  void update_want() {
    irq_ctx_cached = uint8_t((depth[1] ? 1 : 0) | (depth[0] ? 2 : 0) | (depth[2] ? 4 : 0));
    enabled_cached = uint8_t((enabled[0] ? 1 : 0) | (enabled[1] ? 2 : 0) | (enabled[2] ? 4 : 0));
    for (int r = 0; r < 2; ++r) {
      uint32_t w = 0;
      for (int k = 0; k < kIrqKinds; ++k)
        if (depth[k]) w |= 1u << (unsigned(k) * 4 + (r ? 1 : 0));
      // lockdep: softirq "enabled" only counts when hardirqs are enabled too.
      if (enabled[0]) {
        w |= 1u << (0 * 4 + 2 + (r ? 1 : 0));
        if (enabled[1]) w |= 1u << (1 * 4 + 2 + (r ? 1 : 0));
      }
      if (enabled[2]) w |= 1u << (2 * 4 + 2 + (r ? 1 : 0));
      want[r] = w;
    }
  }
  uint8_t enabled_mask() const { return enabled_cached; }
};

namespace {
struct UsageRecord {
  uint8_t bit;
  Evidence ev;
};

// The first cache line is what the topological order's searches read for every class they
// visit (rank, neighbours in the order, edges): one miss per class in a graph far larger than
// the cache. The rest is read when a class is created, used or reported.
struct alignas(64) ClassInfo {
  uint64_t rank = 0;            // position in the topological order (spaced: see pk_move)
  ClassId lower = kNoClass, higher = kNoClass;  // neighbours in that order
  // Edge indices. Most classes have one or two edges each way: kept inline, they cost no
  // allocation (a 100k-class graph built edge by edge made 380k of them).
  absl::InlinedVector<uint32_t, 2> out, in;
  std::string name;
  LockKind kind;
  WaitType wait;
  ClassId base;
  uint8_t subclass;
  // Made by a front end's guess (the place its locks were created), not declared: two of its
  // locks nested is checked per pair of locks, not reported as recursive locking (see
  // check_recursion).
  bool inferred = false;
  bool gate_candidate = true;   // one instance so far: may serve as a gate lock
  uint32_t instances = 0;
  uint32_t usage = 0;
  uint32_t conflict = 0;        // usage bits whose setting was reported as inconsistent
  absl::InlinedVector<UsageRecord, 2> usage_ev;  // a lock's first use sets two bits
  std::vector<std::pair<uint8_t, uint32_t>> conflict_findings;  // bit -> finding index
  std::array<ClassId, 8> subs{kNoClass, kNoClass, kNoClass, kNoClass,
                              kNoClass, kNoClass, kNoClass, kNoClass};
};
static_assert(offsetof(ClassInfo, name) == 64, "the order's fields fill the first cache line");

struct EdgeInfo {
  ClassId from, to;
  uint8_t dep;
  bool back = false;            // not part of the topological order (it closes a plain cycle)
  uint32_t gates = 0;           // index into gate_sets_ (0 = empty)
  uint32_t held = 0;            // index into held_pool_ of the full held list when first seen
  uint32_t held_len = 0;
  uint32_t guarded_finding = UINT32_MAX;
  Evidence from_ev, to_ev;
  uint64_t from_lock = 0, to_lock = 0;  // the two locks when first seen (reports: which locks)
};

}  // namespace
struct Instance {
  ClassId cls;
  uint64_t id = 0;  // unique per lifetime; 0 while the record is free
  uint32_t holds = 0;
};
namespace {

struct Node {       // BFS node
  ClassId cls;
  bool xr;
  uint8_t mask;
  uint32_t parent;  // index into nodes, UINT32_MAX for the root
  uint32_t edge;    // edge taken from the parent
};
}  // namespace

struct Validator::Impl {
  ValidatorOptions opt;
  ValidatorHooks hooks;

  std::vector<ClassInfo> classes;
  absl::flat_hash_map<std::string, ClassId> class_by_name;
  absl::flat_hash_map<uint64_t, Instance*> instances;
  std::deque<Instance> instance_pool;
  std::vector<Instance*> free_instances;
  uint64_t next_instance_id = 1;
  absl::flat_hash_map<uint64_t, std::unique_ptr<ContextState>> contexts;
  std::vector<std::string> ctx_names{"?"};

  uint64_t class_name_bytes = 0;  // the classes' names, for stats() (summing them walks every class)
  std::vector<EdgeInfo> edges;
  // What the order's search (pk_insert) reads of each edge, kept apart from the 80-byte edge
  // records: its ends, and kPkBack on `to` for a back edge. 8 bytes per edge, so a search over a
  // large graph misses the cache on far fewer lines.
  struct PkEdge {
    ClassId from;
    uint32_t to_back;
  };
  static constexpr uint32_t kPkBack = 1u << 31;
  std::vector<PkEdge> pk_edges;  // by edge index
  absl::flat_hash_map<uint64_t, uint32_t> edge_index;  // (from << 32 | to) -> edge
  uint64_t back_edges = 0;
  std::vector<std::vector<ClassId>> gate_sets{{}};
  std::vector<uint32_t> gated_edges;                     // edges with non-empty gates
  std::vector<ClassId> held_pool;

  ChainSet chains;
  std::array<uint32_t, kIrqKinds> used_in_classes{};     // classes with any USED_IN_k bit

  std::vector<std::vector<Frame>> stacks{{}};
  absl::flat_hash_map<uint64_t, std::vector<StackId>> stack_by_hash;

  std::vector<Finding> findings;
  std::vector<bool> superseded;
  absl::flat_hash_map<std::string, uint32_t> finding_by_sig;
  absl::flat_hash_set<uint64_t> freed_while_held;

  // BFS scratch
  std::vector<uint32_t> stamp;
  uint32_t cur_stamp = 0;
  std::vector<Node> nodes;
  // PK scratch
  std::vector<uint32_t> pk_stamp, pk_stamp_b;
  std::vector<ClassId> pk_fwd, pk_bwd, pk_work, pk_work_b;
  std::vector<std::pair<uint64_t, ClassId>> pk_by_rank;  // pk_move's sort, ranks copied once
  uint32_t pk_cur = 0;
  // The topological order: classes by rank, and linked in that order (lower/higher). Ranks start
  // in the middle of the 64-bit range, kRankGap apart, and new classes go on top; the gaps let
  // pk_move place a few classes between two others without renumbering the rest: 32 halvings of
  // a new class's gap, and after a renumber as many as the range allows (45 at 100k classes).
  static constexpr uint64_t kRankGap = 1ull << 32;
  static constexpr uint64_t kRankBase = 1ull << 62;
  ClassId lowest = kNoClass, highest = kNoClass;
  uint64_t top_rank = kRankBase;

  ValidatorStats st;

  // ---------------------------------------------------------------- classes & instances
  ClassId new_class(std::string name, LockKind kind, WaitType wait, ClassId base, uint8_t sub) {
    // Class ids stay below kPkBack (2^31 classes: far past any memory budget).
    if (classes.size() >= kPkBack) throw std::length_error("lockhound: more than 2^31 lock classes");
    ClassId id = ClassId(classes.size());
    ClassInfo c;
    c.name = std::move(name);
    class_name_bytes += c.name.capacity();  // names never change after this
    c.kind = kind;
    c.wait = wait == WaitType::none ? default_wait_type(kind) : wait;
    c.base = base == kNoClass ? id : base;
    c.subclass = sub;
    c.rank = top_rank += kRankGap;
    c.lower = highest;
    classes.push_back(std::move(c));
    if (highest != kNoClass) classes[highest].higher = id;
    else lowest = id;
    highest = id;
    return id;
  }

  [[gnu::noinline]] ClassId subclass_of(ClassId base, uint8_t sub) {
    if (sub == 0) return base;
    ClassId b = classes[base].base;
    if (sub >= 8) sub = 7;  // lockdep allows 8 subclasses; clamp rather than fail
    ClassId s = classes[b].subs[sub];
    if (s != kNoClass) return s;
    s = new_class(classes[b].name + "/" + std::to_string(sub), classes[b].kind, classes[b].wait, b, sub);
    classes[b].subs[sub] = s;
    class_by_name.emplace(classes[s].name, s);
    return s;
  }

  // Bumped whenever an address may stop naming the instance a cache slot remembers.
  uint64_t instance_epoch = 1;

  // The context's cache slot for `lock` (emptied first if an instance was destroyed since).
  ContextState::CacheSlot& cache_slot(ContextState* ctx, uint64_t lock) {
    if (ctx->epoch != instance_epoch) {
      ctx->cache.fill({});
      ctx->epoch = instance_epoch;
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
    auto& slot = cache_slot(ctx, lock);
    if (slot.lock == lock && slot.inst) return true;
    auto it = instances.find(lock);
    if (it == instances.end()) return false;
    slot = {lock, it->second};
    return true;
  }

  [[gnu::noinline]] Instance& instance_of(uint64_t lock) {
    auto it = instances.find(lock);
    if (it != instances.end()) return *it->second;
    char buf[40];
    std::snprintf(buf, sizeof buf, "lock@0x%" PRIx64, lock);
    ClassId cls;
    auto c = class_by_name.find(buf);
    if (c != class_by_name.end()) {
      cls = c->second;
    } else {
      cls = new_class(buf, LockKind::other, WaitType::none, kNoClass, 0);
      class_by_name.emplace(buf, cls);
    }
    return init_instance(lock, cls);
  }

  Instance& init_instance(uint64_t lock, ClassId cls) { return init_slot(instances[lock], cls); }
  // A new lifetime in the instance table's slot for its address. The contexts' caches stay valid:
  // an address keeps its Instance object across lifetimes (only a destroy frees the object for
  // another address, and that bumps instance_epoch), so no flush here. Flushing on every init
  // emptied every cache each time a program made a lock.
  Instance& init_slot(Instance*& slot, ClassId cls) {
    if (!slot) {
      if (!free_instances.empty()) {
        slot = free_instances.back();
        free_instances.pop_back();
      } else {
        slot = &instance_pool.emplace_back();
      }
    }
    Instance& in = *slot;
    if (in.id) end_pairs(in.id);  // the address's previous lifetime
    in.cls = cls;
    in.id = next_instance_id++;
    in.holds = 0;
    ClassInfo& c = classes[cls];
    if (++c.instances > 1 && c.gate_candidate) drop_gate_class(cls);
    return in;
  }

  // ---------------------------------------------------------------- stacks & evidence
  StackId intern(std::span<const Frame> frames) {
    if (frames.empty()) return kNoStack;
    uint64_t h = 1469598103934665603ull;
    for (const auto& f : frames) {
      h = mix_chain(h, uint32_t(f.pc) ^ uint32_t(f.pc >> 32) ^ f.line);
      for (char ch : f.function) h = (h ^ uint8_t(ch)) * 1099511628211ull;
      for (char ch : f.file) h = (h ^ uint8_t(ch)) * 1099511628211ull;
    }
    auto& bucket = stack_by_hash[h];
    for (StackId id : bucket) {
      const auto& s = stacks[id];
      if (s.size() == frames.size() &&
          std::equal(s.begin(), s.end(), frames.begin(), [](const Frame& a, const Frame& b) {
            return a.pc == b.pc && a.line == b.line && a.function == b.function && a.file == b.file &&
                   a.offset == b.offset && a.object == b.object;
          }))
        return id;
    }
    StackId id = StackId(stacks.size());
    stacks.emplace_back(frames.begin(), frames.end());
    bucket.push_back(id);
    st.memory_bytes += frames.size() * sizeof(Frame);
    return id;
  }

  StackId capture(ContextState* ctx, const Site& s) {
    if (s.stack != kNoStack) return s.stack;
    if (hooks.capture_stack) return hooks.capture_stack(ctx, s.ip);
    return kNoStack;
  }

  // The stack of a held entry's acquisition, captured once: an acquisition that both sets usage
  // bits and adds edges (every first acquisition of a class under another lock) unwinds once,
  // and later edges from it as the outer lock carry its stack. Only while it is being acquired.
  StackId capture_held(ContextState* ctx, HeldEntry& h) {
    if (h.site.stack == kNoStack) h.site.stack = capture(ctx, h.site);
    return h.site.stack;
  }

  Evidence evidence(ContextState* ctx, const Site& s, Mode mode, bool trylock, bool capture_now) {
    Evidence e;
    e.stack = capture_now ? capture(ctx, s) : s.stack;
    e.ip = s.ip;
    e.ctx_name = ctx ? ctx->name : 0;
    e.irq_ctx = ctx ? ctx->irq_ctx() : 0;
    e.irqs_enabled = ctx ? ctx->enabled_mask() : 7;
    e.mode = mode;
    e.trylock = trylock;
    return e;
  }

  Evidence held_evidence(ContextState* ctx, const HeldEntry& h) {
    Evidence e;
    e.stack = h.site.stack;
    e.ip = h.site.ip;
    e.ctx_name = ctx->name;
    e.irq_ctx = h.irq_ctx;
    e.irqs_enabled = h.irqs_enabled;
    e.mode = h.mode;
    e.trylock = h.trylock;
    return e;
  }

  Stack frames_of(const Evidence& e) const {
    if (e.stack != kNoStack && e.stack < stacks.size()) return stacks[e.stack];
    if (e.ip) {
      Frame f;
      f.pc = e.ip;
      return {f};
    }
    return {};
  }

  static std::string irq_ctx_name(uint8_t c) {
    if (c & 2) return "hardirq";
    if (c & 1) return "softirq";
    if (c & 4) return "signal";
    return "";
  }

  Acquisition acquisition(const Evidence& e, ClassId cls, std::vector<HeldLock> held = {}) const {
    Acquisition a;
    if (cls < classes.size()) a.lock = classes[cls].name;
    a.mode = mode_name(e.mode, e.trylock);
    a.context = ctx_names[e.ctx_name];
    a.irq = irq_ctx_name(e.irq_ctx);
    a.irqs_enabled = e.irqs_enabled != 0;
    a.stack = frames_of(e);
    a.held = std::move(held);
    return a;
  }

  std::vector<HeldLock> held_list(const ContextState* ctx, size_t upto) const {
    std::vector<HeldLock> out;
    for (size_t i = 0; i < upto && i < ctx->held.size(); ++i) {
      const auto& h = ctx->held[i];
      HeldLock hl;
      hl.name = classes[h.cls].name;
      if (opt.show_addresses) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%" PRIx64, h.lock);
        hl.address = buf;
      }
      hl.mode = mode_name(h.mode, h.trylock);
      Stack s = frames_of(Evidence{h.site.stack, h.site.ip});
      if (!s.empty()) hl.site = s.front();
      out.push_back(std::move(hl));
    }
    return out;
  }

  // ---------------------------------------------------------------- findings
  // Returns true (and bumps the count) when this signature was already reported.
  bool repeat(const std::string& sig) {
    auto it = finding_by_sig.find(sig);
    if (it == finding_by_sig.end()) return false;
    findings[it->second].count++;
    ++report_events;
    return true;
  }

  uint64_t report_events = 0;

  // A new finding: the engine states the facts; the finding layer words them and signs them.
  // `key` is the engine's own dedup key (class ids, code sites), finer than or equal to the
  // finding's public signature.
  uint32_t publish(Finding&& f, std::string key) {
    ++report_events;
    f.source = opt.source;
    complete_finding(f);
    std::string& sig = key;
    uint32_t idx = uint32_t(findings.size());
    findings.push_back(std::move(f));
    superseded.push_back(false);
    finding_by_sig.emplace(std::move(sig), idx);
    st.findings++;
    if (hooks.on_finding) hooks.on_finding(findings.back());
    return idx;
  }

  // ---------------------------------------------------------------- acquire
  void acquire(ContextState* ctx, uint64_t lock, const AcquireFlags& fl, const Site& site) {
    st.acquisitions++;
    Instance& inst = cached_instance(ctx, lock);
    ClassId cls = fl.subclass ? subclass_of(inst.cls, fl.subclass) : inst.cls;
    ClassInfo* c = &classes[cls];
    uint8_t irqc = ctx->irq_ctx();

    if (__builtin_expect(fl.nest_lock != 0, 0) && !holds(ctx, fl.nest_lock)) report_nest_not_held(ctx, cls, fl, site);
    if (c->wait == WaitType::sleep && !fl.trylock && !may_sleep(ctx)) check_wait_context(ctx, cls, site);

    // Push the held entry and extend the chain key.
    bool chain_head = ctx->held.empty() || ctx->held.back().irq_ctx != irqc;
    uint64_t key = chain_head ? kInitialChainKey : ctx->held.back().chain_key;
    bool per_instance = !chain_head && ctx->held.back().per_instance;
    key = extend_key(ctx->held, key, cls, fl.mode, fl.trylock, lock, inst.id, per_instance);
    HeldEntry& e = ctx->held.emplace_back();
    e.lock = lock;
    e.inst = &inst;
    e.instance_id = inst.id;
    e.cls = cls;
    e.mode = fl.mode;
    e.trylock = fl.trylock;
    e.check = fl.check;
    e.irq_ctx = irqc;
    e.chain_key = key;
    e.per_instance = per_instance;
    e.nest_lock = fl.nest_lock;
    e.site = site;
    e.irqs_enabled = ctx->enabled_mask();
    inst.holds++;
    if (c->wait == WaitType::spin) ctx->spin_held++;

    if (!fl.check) return;
    uint32_t want = ctx->want[fl.mode != Mode::write];
    if (fl.trylock) want &= kEnabledAll;  // a trylock in irq context is no irq use (lockdep)
    if (__builtin_expect((want & ~c->usage) | (want & c->conflict), 0)) mark_usage(ctx, ctx->held.back(), want);
    if (fl.trylock) return;  // a trylock never waits: no chain validation (lockdep's rule)
    // A chain that names lock instances is not kept: objects made and destroyed under a parent
    // would add one per object, forever. It is validated each time it comes here (the pair's
    // order is known then, and its edges: no stack is taken); front ends skip its repeats.
    if (__builtin_expect(per_instance, 0)) return validate_chain(ctx, chain_head);
    size_t depth = ctx->held.size();
    if (depth < ctx->seen_key.size()) {
      if (ctx->seen_key[depth] == key) return;
      ctx->seen_key[depth] = key;
    }
    if (__builtin_expect(chains.insert(key), 0)) new_chain(ctx, chain_head);
  }

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
    for (const HeldEntry& h : held)
      if (h.cls == cls && h.lock != lock) {
        key = mix_chain(key, uint32_t(h.instance_id));
        nested = true;
      }
    if (nested) {
      key = mix_chain(key, uint32_t(inst_id));
      per_instance = true;
    }
    return key;
  }

  // Everything below runs off the fast path; kept out of line so the fast path stays small.
  [[gnu::noinline]] void new_chain(ContextState* ctx, bool chain_head) {
    st.chains++;
    st.memory_bytes += 16;
    validate_chain(ctx, chain_head);
  }

  bool holds(const ContextState* ctx, uint64_t lock) const {
    for (const auto& h : ctx->held)
      if (h.lock == lock) return true;
    return false;
  }

  void validate_chain(ContextState* ctx, bool chain_head) {
    int ret = check_recursion(ctx);  // 3 (instance pairs checked) goes on to the edges
    if (ret == 1 || ret == 2 || chain_head) return;
    // lockdep's check_prevs_add: the nearest held lock in the same irq context, plus the trylocks
    // directly above it; transitivity covers everything below.
    size_t top = ctx->held.size() - 1;
    uint8_t irqc = ctx->held[top].irq_ctx;
    for (size_t i = top; i-- > 0;) {
      const HeldEntry& h = ctx->held[i];
      if (h.irq_ctx != irqc) break;
      if (h.check) check_prev_add(ctx, i, top);
      if (!h.trylock) break;
    }
  }

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
  int check_recursion(ContextState* ctx) {
    const HeldEntry& next = ctx->held.back();
    bool nest_held = false;
    if (next.nest_lock)
      for (size_t i = 0; i + 1 < ctx->held.size(); ++i)
        if (ctx->held[i].lock == next.nest_lock) nest_held = true;
    int ret = 0;
    for (size_t i = 0; i + 1 < ctx->held.size(); ++i) {
      const HeldEntry& prev = ctx->held[i];
      if (prev.cls != next.cls) continue;
      if (next.mode == Mode::recursive_read && prev.mode != Mode::write) continue;
      if (nest_held && prev.lock != next.lock) return 2;
      if (prev.lock != next.lock && classes[next.cls].inferred) {
        check_instance_order(ctx, i);
        ret = 3;
        continue;
      }
      report_recursion(ctx, i);
      return 1;
    }
    return ret;
  }

  // What is kept of two locks of one inferred class nested, outer then inner.
  struct InstancePair {
    Evidence outer, inner;
    absl::InlinedVector<ClassId, 2> held;  // the classes held below the inner lock
    std::vector<uint64_t> gates;       // instances held exclusively around both (all nestings)
    uint8_t dep = 0;
  };
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, InstancePair> instance_pairs;  // by ids
  absl::flat_hash_map<uint64_t, std::vector<uint64_t>> pair_partners;  // id -> ids it pairs with
  static constexpr uint64_t kPairBytes = sizeof(InstancePair) + 64;

  // A lock's lifetime ended: the orders of its pairs go with it (a lock made at its address later
  // is another lock), and so does their memory.
  void end_pairs(uint64_t id) {
    auto it = pair_partners.find(id);
    if (it == pair_partners.end()) return;
    for (uint64_t other : it->second) {
      for (auto key : {std::make_pair(id, other), std::make_pair(other, id)}) {
        auto p = instance_pairs.find(key);
        if (p == instance_pairs.end()) continue;
        st.memory_bytes -= kPairBytes + (p->second.gates.size() + p->second.held.size()) * 8;
        instance_pairs.erase(p);
      }
      auto o = pair_partners.find(other);
      if (o == pair_partners.end()) continue;
      std::erase(o->second, id);
      if (o->second.empty()) pair_partners.erase(o);
    }
    pair_partners.erase(it);
  }

  // Instances of other locks held exclusively, in the inner lock's interrupt context: a cycle
  // between two locks each nesting of which happened under one of these cannot deadlock.
  std::vector<uint64_t> instance_gates(const ContextState* ctx, size_t outer, size_t inner) const {
    std::vector<uint64_t> g;
    for (size_t i = 0; i < inner; ++i) {
      const HeldEntry& h = ctx->held[i];
      if (i == outer || h.mode != Mode::write || h.irq_ctx != ctx->held[inner].irq_ctx) continue;
      g.push_back(h.instance_id);
    }
    std::sort(g.begin(), g.end());
    return g;
  }

  // A 2-cycle a -> b -> a is a deadlock unless a recursive-read acquisition meets a shared
  // holder (lockdep's strong-path rule, checked at both joints).
  static bool strong_pair(uint8_t d1, uint8_t d2) {
    for (uint8_t k1 = 1; k1 <= kDepEN; k1 <<= 1)
      for (uint8_t k2 = 1; k2 <= kDepEN; k2 <<= 1) {
        if (!(d1 & k1) || !(d2 & k2)) continue;
        auto rec = [](uint8_t k) { return (k & (kDepSR | kDepER)) != 0; };
        auto shared = [](uint8_t k) { return (k & (kDepSR | kDepSN)) != 0; };
        if (!(rec(k1) && shared(k2)) && !(rec(k2) && shared(k1))) return true;
      }
    return false;
  }

  void check_instance_order(ContextState* ctx, size_t outer_i) {
    size_t inner_i = ctx->held.size() - 1;
    const HeldEntry& outer = ctx->held[outer_i];
    const HeldEntry& inner = ctx->held[inner_i];
    uint8_t dep = dep_of(outer.mode, inner.mode);
    std::vector<uint64_t> gates = instance_gates(ctx, outer_i, inner_i);
    auto rev = instance_pairs.find(std::make_pair(inner.instance_id, outer.instance_id));
    if (rev != instance_pairs.end() && strong_pair(rev->second.dep, dep)) {
      std::vector<uint64_t> common;
      std::set_intersection(gates.begin(), gates.end(), rev->second.gates.begin(),
                            rev->second.gates.end(), std::back_inserter(common));
      if (common.empty() || opt.report_guarded_cycles)
        report_instance_cycle(ctx, outer_i, rev->second, common);
    }
    auto [it, fresh] = instance_pairs.try_emplace(std::make_pair(outer.instance_id, inner.instance_id));
    InstancePair& p = it->second;
    if (!fresh) {
      p.dep |= dep;
      std::vector<uint64_t> both;
      std::set_intersection(gates.begin(), gates.end(), p.gates.begin(), p.gates.end(),
                            std::back_inserter(both));
      p.gates = std::move(both);
      return;
    }
    capture_held(ctx, ctx->held[inner_i]);
    p.outer = held_evidence(ctx, ctx->held[outer_i]);
    p.inner = held_evidence(ctx, ctx->held[inner_i]);
    for (size_t i = 0; i < inner_i; ++i) p.held.push_back(ctx->held[i].cls);
    p.gates = std::move(gates);
    p.dep = dep;
    st.memory_bytes += kPairBytes + (p.gates.size() + p.held.size()) * 8;
    if (!instance_pairs.contains(std::make_pair(inner.instance_id, outer.instance_id))) {
      pair_partners[outer.instance_id].push_back(inner.instance_id);
      pair_partners[inner.instance_id].push_back(outer.instance_id);
    }
  }

  std::string instance_name(ClassId cls, uint64_t lock) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, " [0x%" PRIx64 "]", lock);
    return classes[cls].name + buf;
  }

  // Two locks of one inferred class, each taken while the other was held: the current nesting
  // (outer_i, then the top entry) closes the earlier one `rev` (inner then outer).
  void report_instance_cycle(ContextState* ctx, size_t outer_i, const InstancePair& rev,
                             const std::vector<uint64_t>& common) {
    const HeldEntry& outer = ctx->held[outer_i];
    HeldEntry& inner = ctx->held.back();
    ClassId cls = inner.cls;
    bool guarded = !common.empty();
    // One finding per class and pair of code places, however many pairs of locks invert there.
    uint64_t s1 = rev.inner.ip, s2 = inner.site.ip;
    std::string sig = std::string(guarded ? "instance-guarded|" : "instance-cycle|") +
                      classes[cls].name + "|" + std::to_string(std::min(s1, s2)) + "|" +
                      std::to_string(std::max(s1, s2));
    if (repeat(sig)) return;
    capture_held(ctx, inner);
    std::string a = instance_name(cls, outer.lock), b = instance_name(cls, inner.lock);
    Finding f;
    f.type = guarded ? FindingType::guarded_cycle : FindingType::circular_dependency;
    Edge earlier;  // b was held when a was taken
    earlier.from = b;
    earlier.to = a;
    earlier.dep = dep_name(rev.dep);
    earlier.from_site = acquisition(rev.outer, cls);
    std::vector<HeldLock> held;
    for (ClassId c : rev.held) {
      HeldLock hl;
      hl.name = classes[c].name;
      held.push_back(std::move(hl));
    }
    earlier.to_site = acquisition(rev.inner, cls, std::move(held));
    earlier.from_site.lock = b;
    earlier.to_site.lock = a;
    Edge now;      // and now a is held while b is taken
    now.from = a;
    now.to = b;
    now.dep = dep_name(dep_of(outer.mode, inner.mode));
    now.from_site = acquisition(held_evidence(ctx, outer), cls);
    now.to_site = acquisition(held_evidence(ctx, inner), cls, held_list(ctx, ctx->held.size() - 1));
    now.from_site.lock = a;
    now.to_site.lock = b;
    f.chain = {std::move(earlier), std::move(now)};
    f.classes = {classes[cls].name};
    fact::set(f, fact::kInstances, "two locks of class " + classes[cls].name + ", each taken while the other was held");
    if (guarded) {
      std::string g;
      for (uint64_t id : common)
        for (const HeldEntry& h : ctx->held)
          if (h.instance_id == id) g += (g.empty() ? "" : ", ") + instance_name(h.cls, h.lock);
      fact::set(f, fact::kGuardedBy, g);
    }
    f.participants.push_back(participant(ctx));
    publish(std::move(f), std::move(sig));
  }

  // ---------------------------------------------------------------- edges
  std::vector<ClassId> current_gates(const ContextState* ctx, size_t prev_i, size_t next_i) const {
    std::vector<ClassId> g;
    if (!opt.gate_locks || next_i < 2) return g;  // a gate needs a third held lock
    uint8_t irqc = ctx->held[next_i].irq_ctx;
    ClassId p = ctx->held[prev_i].cls, n = ctx->held[next_i].cls;
    for (size_t i = 0; i < next_i; ++i) {
      const HeldEntry& h = ctx->held[i];
      if (i == prev_i || h.irq_ctx != irqc || h.mode != Mode::write) continue;
      if (h.cls == p || h.cls == n || !classes[h.cls].gate_candidate) continue;
      g.push_back(h.cls);
    }
    std::sort(g.begin(), g.end());
    g.erase(std::unique(g.begin(), g.end()), g.end());
    return g;
  }

  uint32_t intern_gates(std::vector<ClassId> g) {
    if (g.empty()) return 0;
    gate_sets.push_back(std::move(g));
    return uint32_t(gate_sets.size() - 1);
  }

  void check_prev_add(ContextState* ctx, size_t prev_i, size_t next_i) {
    const HeldEntry prev = ctx->held[prev_i];
    if (prev.cls == ctx->held[next_i].cls) return;
    uint64_t key = (uint64_t(prev.cls) << 32) | ctx->held[next_i].cls;
    auto it = edge_index.find(key);
    // The acquisition's stack is evidence for a new or changed edge only: a new chain made of
    // known edges (most of them, in a program with deep chains) unwinds nothing.
    const HeldEntry& top = ctx->held[next_i];
    if (it != edge_index.end() && (edges[it->second].dep | dep_of(prev.mode, top.mode)) == edges[it->second].dep &&
        !edges[it->second].gates) {
      if (edges[it->second].guarded_finding == UINT32_MAX) bump_cycle_count(it->second);
      return;
    }
    capture_held(ctx, ctx->held[next_i]);
    const HeldEntry next = ctx->held[next_i];
    uint8_t dep = dep_of(prev.mode, next.mode);
    std::vector<ClassId> gates = current_gates(ctx, prev_i, next_i);

    if (it != edge_index.end()) {
      EdgeInfo& e = edges[it->second];
      bool changed = false;
      if ((e.dep | dep) != e.dep) {
        e.dep |= dep;
        changed = true;
      }
      if (e.gates) {
        const auto& old = gate_sets[e.gates];
        std::vector<ClassId> inter;
        std::set_intersection(old.begin(), old.end(), gates.begin(), gates.end(),
                              std::back_inserter(inter));
        if (inter.size() != old.size()) {
          e.gates = intern_gates(std::move(inter));
          changed = true;
        }
      }
      if (!changed) {
        if (e.guarded_finding == UINT32_MAX) bump_cycle_count(it->second);
        return;
      }
      // A stronger kind or fewer gates: the checks may answer differently now.
      bool possible = e.back || back_edges > 0;
      if (possible) check_cycle(ctx, it->second, prev, next);
      check_irq_usage(ctx, prev, next, it->second);
      return;
    }

    // A new edge.
    uint32_t ei = uint32_t(edges.size());
    EdgeInfo e;
    e.from = prev.cls;
    e.to = next.cls;
    e.dep = dep;
    e.gates = intern_gates(std::move(gates));
    e.from_ev = held_evidence(ctx, prev);
    e.from_lock = prev.lock;
    e.to_lock = next.lock;
    e.to_ev = evidence(ctx, next.site, next.mode, next.trylock, true);
    e.held = uint32_t(held_pool.size());
    for (size_t i = 0; i <= next_i; ++i)
      if (ctx->held[i].irq_ctx == next.irq_ctx) held_pool.push_back(ctx->held[i].cls);
    e.held_len = uint32_t(held_pool.size() - e.held);
    edges.push_back(e);
    pk_edges.push_back(PkEdge{prev.cls, next.cls});
    edge_index.emplace(key, ei);
    if (edges[ei].gates) gated_edges.push_back(ei);
    classes[prev.cls].out.push_back(ei);
    classes[next.cls].in.push_back(ei);
    st.edges++;

    bool possible_cycle;
    if (back_edges == 0 && classes[prev.cls].rank < classes[next.cls].rank) {
      possible_cycle = false;
    } else {
      bool ordered = pk_insert(prev.cls, next.cls);
      if (!ordered) {
        edges[ei].back = true;
        pk_edges[ei].to_back |= kPkBack;
        back_edges++;
      }
      possible_cycle = !ordered || back_edges > 0;
    }
    if (possible_cycle) check_cycle(ctx, ei, prev, next);
    check_irq_usage(ctx, prev, next, ei);
  }

  void bump_cycle_count(uint32_t ei) {
    // Re-observing the closing edge of a reported cycle on a new chain counts as a repeat.
    auto it = closing_edge_finding.find(ei);
    if (it != closing_edge_finding.end()) {
      findings[it->second].count++;
      ++report_events;
    }
  }
  absl::flat_hash_map<uint32_t, uint32_t> closing_edge_finding;

  // ---------------------------------------------------------------- Pearce–Kelly order
  // Keeps classes ranked so that every non-back edge goes from lower to higher rank. Inserting
  // from->to against the order looks only at classes between the two ranks, and moves only the
  // smaller of the two sets it must separate; if `from` is reachable from `to` the edge closes a
  // cycle and stays out of the order (returns false). Moving the smaller side keeps locks first
  // seen in an order unrelated to their nesting (100k heap locks visited at random) from costing
  // a reorder of everything between them per new edge.
  bool pk_insert(ClassId from, ClassId to) {
    uint64_t lb = classes[to].rank, ub = classes[from].rank;
    if (ub < lb) return true;
    if (pk_stamp.size() < classes.size()) {
      pk_stamp.resize(classes.size(), 0);
      pk_stamp_b.resize(classes.size(), 0);
    }
    if (++pk_cur == 0) {
      std::fill(pk_stamp.begin(), pk_stamp.end(), 0);
      std::fill(pk_stamp_b.begin(), pk_stamp_b.end(), 0);
      pk_cur = 1;
    }
    // Both searches advance one class at a time and stop when either is complete: only the
    // smaller side is ever explored, and only it moves. F: classes `to` reaches within the
    // window; B: classes within it that reach `from`. `from` in F or `to` in B is a cycle.
    std::vector<ClassId>& fwd = pk_fwd;
    std::vector<ClassId>& bwd = pk_bwd;
    std::vector<ClassId>& fw = pk_work;
    std::vector<ClassId>& bw = pk_work_b;
    fwd.clear();
    bwd.clear();
    fw.assign(1, to);
    bw.assign(1, from);
    pk_stamp[to] = pk_cur;
    pk_stamp_b[from] = pk_cur;
    for (;;) {
      if (fw.empty()) return pk_move(fwd, from, true);
      ClassId c = fw.back();
      fw.pop_back();
      fwd.push_back(c);
      for (uint32_t ei : classes[c].out) {
        const PkEdge& e = pk_edges[ei];
        if (e.to_back & kPkBack) continue;
        ClassId d = e.to_back;
        if (d == from) return false;
        if (pk_stamp[d] == pk_cur || classes[d].rank > ub) continue;
        pk_stamp[d] = pk_cur;
        fw.push_back(d);
      }
      if (bw.empty()) return pk_move(bwd, to, false);
      c = bw.back();
      bw.pop_back();
      bwd.push_back(c);
      for (uint32_t ei : classes[c].in) {
        const PkEdge& e = pk_edges[ei];
        if (e.to_back & kPkBack) continue;
        ClassId s = e.from;
        if (s == to) return false;
        if (pk_stamp_b[s] == pk_cur || classes[s].rank < lb) continue;
        pk_stamp_b[s] = pk_cur;
        bw.push_back(s);
      }
    }
  }

  // Moves a complete side just past `anchor` (F above the new edge's source, B below its
  // target), keeping its inner order. Nothing else ranks between the anchor and its neighbour in
  // the order, so every edge into or out of the side stays ordered. Ranks are spaced; when the
  // gap is too narrow every class is renumbered first.
  bool pk_move(std::vector<ClassId>& side, ClassId anchor, bool above) {
    // Sorted by rank with the ranks side by side (a comparator reading classes[] would miss the
    // cache on every comparison).
    pk_by_rank.clear();
    for (ClassId c : side) pk_by_rank.emplace_back(classes[c].rank, c);
    std::sort(pk_by_rank.begin(), pk_by_rank.end());
    for (size_t k = 0; k < side.size(); ++k) side[k] = pk_by_rank[k].second;
    // The anchor's neighbour on that side is not in the side (its rank is outside the window
    // the searches explored), so it stays where it is while the side is moved next to the anchor.
    ClassId next = above ? classes[anchor].higher : classes[anchor].lower;
    for (;;) {
      uint64_t bound = classes[anchor].rank, lo, hi;  // the open interval the side goes into
      uint64_t room = kRankGap * (side.size() + 1);
      if (above) {
        lo = bound;
        hi = next != kNoClass ? classes[next].rank : bound + room;
      } else {
        hi = bound;
        lo = next != kNoClass ? classes[next].rank : bound - room;
      }
      uint64_t step = (hi - lo) / (side.size() + 1);
      if (step == 0) {
        renumber(std::max<uint64_t>(kRankGap, 2 * side.size() + 2));
        continue;
      }
      for (ClassId c : side) unlink_rank(c);
      ClassId after = above ? anchor : classes[anchor].lower;  // kNoClass: at the bottom
      for (size_t k = 0; k < side.size(); ++k) {
        classes[side[k]].rank = lo + step * (k + 1);
        link_rank_after(side[k], after);
        after = side[k];
      }
      top_rank = classes[highest].rank;
      return true;
    }
  }

  void unlink_rank(ClassId c) {
    ClassInfo& ci = classes[c];
    (ci.lower != kNoClass ? classes[ci.lower].higher : lowest) = ci.higher;
    (ci.higher != kNoClass ? classes[ci.higher].lower : highest) = ci.lower;
    ci.lower = ci.higher = kNoClass;
  }
  // Links c just above `after` (kNoClass: at the bottom).
  void link_rank_after(ClassId c, ClassId after) {
    ClassInfo& ci = classes[c];
    ci.lower = after;
    ci.higher = after != kNoClass ? classes[after].higher : lowest;
    (after != kNoClass ? classes[after].higher : lowest) = c;
    (ci.higher != kNoClass ? classes[ci.higher].lower : highest) = c;
  }

  // Spreads every class out again in the same order, at least `gap` apart, over half of the rank
  // range (its middle): a renumber walks every class in the order, one cache miss each in a large
  // graph, so it should leave all the room there is. The quarter above keeps 2^29 new classes.
  [[gnu::noinline]] void renumber(uint64_t gap) {
    gap = std::max<uint64_t>(gap, kRankBase / (classes.size() + 1));
    uint64_t r = kRankBase - gap * (classes.size() / 2 + 1);
    for (ClassId c = lowest; c != kNoClass; c = classes[c].higher) classes[c].rank = r += gap;
    top_rank = highest != kNoClass ? classes[highest].rank : kRankBase;
    st.renumbers++;
  }

  // ---------------------------------------------------------------- BFS
  uint32_t new_stamp() {
    size_t need = classes.size() * 2;
    if (stamp.size() < need) stamp.resize(need, 0);
    if (++cur_stamp == 0) {
      std::fill(stamp.begin(), stamp.end(), 0);
      cur_stamp = 1;
    }
    return cur_stamp;
  }

  // Searches for a path to->…->from that, with the new edge from->to, forms a strong cycle.
  // Gate handling: `gates` are the gates of the new edge; the mask records which of them some
  // edge on the path lacks. A path with every bit set proves an unguarded cycle. Returns the node
  // index of the best target (unguarded if any, else the shortest guarded), or UINT32_MAX.
  uint32_t search_cycle(ClassId from, Mode from_mode, ClassId to, Mode to_mode,
                        const std::vector<ClassId>& gates, bool& unguarded) {
    st.graph_searches++;
    unguarded = false;
    size_t k = std::min<size_t>(gates.size(), 8);
    uint8_t full = uint8_t((1u << k) - 1);
    nodes.clear();
    absl::flat_hash_set<uint64_t> seen;  // used only when there are gates
    uint32_t s = new_stamp();
    auto visit = [&](ClassId c, bool xr, uint8_t mask) {
      if (k == 0) {
        uint32_t& v = stamp[size_t(c) * 2 + xr];
        if (v == s) return false;
        v = s;
        return true;
      }
      return seen.insert((uint64_t(c) << 16) | (uint64_t(xr) << 8) | mask).second;
    };
    nodes.push_back(Node{to, to_mode == Mode::recursive_read, 0, UINT32_MAX, UINT32_MAX});
    visit(to, nodes[0].xr, 0);
    uint32_t guarded_hit = UINT32_MAX;
    for (size_t qi = 0; qi < nodes.size(); ++qi) {
      Node n = nodes[qi];
      if (qi > 0 && n.cls == from && (from_mode == Mode::write || !n.xr)) {
        if (n.mask == full) {
          unguarded = true;
          return uint32_t(qi);
        }
        if (guarded_hit == UINT32_MAX) guarded_hit = uint32_t(qi);
        continue;
      }
      for (uint32_t ei : classes[n.cls].out) {
        const EdgeInfo& e = edges[ei];
        bool nxr;
        if (!strong_step(e.dep, n.xr, nxr)) continue;
        uint8_t mask = n.mask;
        if (k) {
          const auto& eg = gate_sets[e.gates];
          for (size_t b = 0; b < k; ++b)
            if (!std::binary_search(eg.begin(), eg.end(), gates[b])) mask |= uint8_t(1u << b);
        }
        // With gates the search runs over (class, mask) states, so a walk could pass a class
        // twice; a deadlock needs a simple cycle (each lock held by one thread), so paths that
        // revisit a class are not extended.
        if (k && on_path(uint32_t(qi), e.to)) continue;
        if (!visit(e.to, nxr, mask)) continue;
        nodes.push_back(Node{e.to, nxr, mask, uint32_t(qi), ei});
      }
    }
    return guarded_hit;
  }

  bool on_path(uint32_t node, ClassId cls) const {
    for (uint32_t i = node; i != UINT32_MAX; i = nodes[i].parent)
      if (nodes[i].cls == cls) return true;
    return false;
  }

  std::vector<uint32_t> path_edges(uint32_t node) const {
    std::vector<uint32_t> p;
    for (uint32_t i = node; nodes[i].parent != UINT32_MAX; i = nodes[i].parent) p.push_back(nodes[i].edge);
    std::reverse(p.begin(), p.end());
    return p;
  }

  void check_cycle(ContextState* ctx, uint32_t ei, const HeldEntry& prev, const HeldEntry& next) {
    const std::vector<ClassId>& gates = gate_sets[edges[ei].gates];
    bool unguarded;
    uint32_t hit = search_cycle(prev.cls, prev.mode, next.cls, next.mode, gates, unguarded);
    if (hit == UINT32_MAX) return;
    std::vector<uint32_t> path = path_edges(hit);
    path.push_back(ei);  // the new edge closes the cycle: next -> … -> prev -> next
    if (unguarded) {
      report_cycle(ctx, path, FindingType::circular_dependency, {});
    } else if (opt.report_guarded_cycles) {
      // The common gates: those of the new edge that no path edge lacks.
      std::vector<ClassId> common;
      for (size_t b = 0; b < std::min<size_t>(gates.size(), 8); ++b)
        if (!(nodes[hit].mask & (1u << b))) common.push_back(gates[b]);
      report_cycle(ctx, path, FindingType::guarded_cycle, common);
    }
  }

  // A class seen with a second instance can no longer serve as a gate (two threads may hold two
  // different instances of it). Remove it from every gate set and re-check the edges it guarded.
  void drop_gate_class(ClassId cls) {
    classes[cls].gate_candidate = false;
    std::vector<uint32_t> affected;
    for (uint32_t ei : gated_edges) {
      auto& g = gate_sets[edges[ei].gates];
      auto it = std::find(g.begin(), g.end(), cls);
      if (it == g.end()) continue;
      std::vector<ClassId> ng(g.begin(), g.end());
      ng.erase(ng.begin() + (it - g.begin()));
      edges[ei].gates = intern_gates(std::move(ng));
      affected.push_back(ei);
    }
    std::erase_if(gated_edges, [&](uint32_t ei) { return edges[ei].gates == 0; });
    for (uint32_t ei : affected) recheck_edge(ei);
  }

  // Re-runs the cycle search for an existing edge using its recorded evidence.
  void recheck_edge(uint32_t ei) {
    const EdgeInfo& e = edges[ei];
    if (!e.back && back_edges == 0) return;
    HeldEntry prev{}, next{};
    prev.cls = e.from;
    prev.mode = e.from_ev.mode;
    next.cls = e.to;
    next.mode = e.to_ev.mode;
    check_cycle(nullptr, ei, prev, next);
  }

  // ---------------------------------------------------------------- usage
  [[gnu::noinline]] void mark_usage(ContextState* ctx, HeldEntry& h, uint32_t want) {
    ClassInfo& c = classes[h.cls];
    uint32_t missing = want & ~c.usage;
    if (uint32_t rep = want & c.conflict) {
      for (auto& [bit, fi] : c.conflict_findings)
        if (rep & (1u << bit)) {
          findings[fi].count++;
          ++report_events;
        }
    }
    if (!missing) return;
    capture_held(ctx, h);
    Evidence ev = evidence(ctx, h.site, h.mode, h.trylock, false);
    for (unsigned bit = 0; bit < 12; ++bit)
      if (missing & (1u << bit)) set_usage(ctx, h, bit, ev);
  }

  void set_usage(ContextState* ctx, const HeldEntry& h, unsigned bit, const Evidence& ev) {
    ClassId cls = h.cls;
    classes[cls].usage |= 1u << bit;
    classes[cls].usage_ev.push_back(UsageRecord{uint8_t(bit), ev});
    int k = int(bit / 4);
    bool enabled_dir = bit & kDirBit, read = bit & kReadBit;
    if (!enabled_dir) {
      // The first USED_IN_k bit of this class makes it k-safe.
      uint32_t used_k = classes[cls].usage & (3u << (4 * k));
      if (used_k == (1u << bit)) used_in_classes[k]++;
    }
    // Single-lock rule (lockdep's valid_state): the opposite direction, and for a write usage
    // also the opposite read usage.
    unsigned excl = unsigned(k) * 4 + (enabled_dir ? 0 : kDirBit);
    uint32_t conflict_bits = 1u << excl;
    if (!read) conflict_bits |= 1u << (excl + kReadBit);
    if (uint32_t cb = classes[cls].usage & conflict_bits) {
      unsigned prev_bit = (cb & (1u << excl)) ? excl : excl + kReadBit;
      report_inconsistent(ctx, h, prev_bit, bit);
      return;
    }
    // Graph rule: a USED_IN lock must not reach an ENABLED lock, and vice versa backwards.
    if (!enabled_dir) {
      uint32_t target = (1u << excl) | (1u << (excl + kReadBit));
      bool root_xr = h.mode == Mode::recursive_read;
      uint32_t hit = find_usage(cls, root_xr, /*forward=*/true, target);
      if (hit != UINT32_MAX) report_irq_inversion(ctx, h, bit, hit, /*forward=*/true);
    } else if (used_in_classes[k]) {
      uint32_t target = (1u << excl) | (1u << (excl + kReadBit));
      bool root_xr = h.mode != Mode::write;
      uint32_t hit = find_usage(cls, root_xr, /*forward=*/false, target);
      if (hit != UINT32_MAX) report_irq_inversion(ctx, h, bit, hit, /*forward=*/false);
    }
  }

  // BFS for a class (other than the root) whose usage matches `mask`, with _READ bits masked out
  // on paths made only of -(xR)-> steps. Returns the node index or UINT32_MAX.
  uint32_t find_usage(ClassId root, bool root_xr, bool forward, uint32_t mask, bool include_root = false) {
    st.graph_searches++;
    nodes.clear();
    uint32_t s = new_stamp();
    nodes.push_back(Node{root, root_xr, 0, UINT32_MAX, UINT32_MAX});
    stamp[size_t(root) * 2 + root_xr] = s;
    for (size_t qi = 0; qi < nodes.size(); ++qi) {
      Node n = nodes[qi];
      if (qi > 0 || include_root) {
        uint32_t u = classes[n.cls].usage & (n.xr ? kNonReadBits : 0xfff);
        if (u & mask) return uint32_t(qi);
      }
      const auto& adj = forward ? classes[n.cls].out : classes[n.cls].in;
      for (uint32_t ei : adj) {
        const EdgeInfo& e = edges[ei];
        bool nxr;
        if (!strong_step(forward ? e.dep : reverse_dep(e.dep), n.xr, nxr)) continue;
        ClassId d = forward ? e.to : e.from;
        uint32_t& v = stamp[size_t(d) * 2 + nxr];
        if (v == s) continue;
        v = s;
        nodes.push_back(Node{d, nxr, 0, uint32_t(qi), ei});
      }
    }
    return UINT32_MAX;
  }

  // Union of usage bits of everything backward-reachable from root (lockdep's usage_accumulate).
  uint32_t accumulate_backward(ClassId root, bool root_xr) {
    st.graph_searches++;
    nodes.clear();
    uint32_t s = new_stamp();
    nodes.push_back(Node{root, root_xr, 0, UINT32_MAX, UINT32_MAX});
    stamp[size_t(root) * 2 + root_xr] = s;
    uint32_t acc = 0;
    for (size_t qi = 0; qi < nodes.size(); ++qi) {
      Node n = nodes[qi];
      acc |= classes[n.cls].usage & (n.xr ? kNonReadBits : 0xfff);
      for (uint32_t ei : classes[n.cls].in) {
        const EdgeInfo& e = edges[ei];
        bool nxr;
        if (!strong_step(reverse_dep(e.dep), n.xr, nxr)) continue;
        uint32_t& v = stamp[size_t(e.from) * 2 + nxr];
        if (v == s) continue;
        v = s;
        nodes.push_back(Node{e.from, nxr, 0, uint32_t(qi), ei});
      }
    }
    return acc;
  }

  // lockdep's check_irq_usage for a new edge prev -> next: something irq-safe behind prev must
  // not reach something irq-unsafe ahead of next.
  void check_irq_usage(ContextState* ctx, const HeldEntry& prev, const HeldEntry& next, uint32_t ei) {
    if (!used_in_classes[0] && !used_in_classes[1] && !used_in_classes[2]) return;
    uint32_t used = accumulate_backward(prev.cls, prev.mode != Mode::write) & kUsedInAll;
    if (!used) return;
    uint32_t fwd_mask = used << kDirBit;  // USED_IN_k(_READ) -> ENABLED_k(_READ)
    uint32_t hit = find_usage(next.cls, next.mode == Mode::recursive_read, true, fwd_mask, true);
    if (hit == UINT32_MAX) return;
    std::vector<uint32_t> fwd_path = path_edges(hit);
    ClassId unsafe = nodes[hit].cls;
    uint32_t unsafe_bits = classes[unsafe].usage & fwd_mask;
    // Which interrupt kind, and which safe lock behind prev.
    for (int k = 0; k < kIrqKinds; ++k) {
      uint32_t en_k = unsafe_bits & (0xcu << (4 * k));
      if (!en_k) continue;
      uint32_t safe_mask = (en_k >> kDirBit) | (3u << (4 * k));
      safe_mask &= used;
      uint32_t shit = find_usage_or_self(prev.cls, prev.mode != Mode::write, safe_mask);
      if (shit == UINT32_MAX) continue;
      std::vector<uint32_t> back_path = path_edges(shit);  // prev <- … <- safe, as edges
      ClassId safe = nodes[shit].cls;
      std::reverse(back_path.begin(), back_path.end());
      std::vector<uint32_t> chain = back_path;
      chain.push_back(ei);
      chain.insert(chain.end(), fwd_path.begin(), fwd_path.end());
      report_safe_unsafe(ctx, Irq(k), safe, unsafe, chain, prev, next);
      return;
    }
  }

  uint32_t find_usage_or_self(ClassId root, bool root_xr, uint32_t mask) {
    if (classes[root].usage & mask) {
      nodes.clear();
      nodes.push_back(Node{root, root_xr, 0, UINT32_MAX, UINT32_MAX});
      return 0;
    }
    return find_usage(root, root_xr, false, mask);
  }

  // ---------------------------------------------------------------- waits
  // Cheap test first: nearly every acquisition of a sleeping lock is in a context that may sleep.
  static bool may_sleep(const ContextState* ctx) {
    return !ctx->depth[0] && !ctx->depth[1] && !ctx->spin_held && ctx->enabled[0];
  }

  // Why this context must not sleep ("" when it may), and the innermost spinning lock held.
  std::string atomic_reason(const ContextState* ctx, ClassId& spinning) const {
    spinning = kNoClass;
    if (ctx->depth[0]) return "in hardirq context";
    if (ctx->depth[1]) return "in softirq context";
    if (ctx->spin_held) {
      for (auto it = ctx->held.rbegin(); it != ctx->held.rend(); ++it)
        if (classes[it->cls].wait == WaitType::spin) {
          spinning = it->cls;
          return "while holding the spinning lock " + classes[spinning].name;
        }
    }
    if (!ctx->enabled[0]) return "with interrupts disabled";
    return "";
  }

  // A sleeping lock taken where sleeping is not allowed: lockdep's invalid wait context under a
  // spinning lock or in interrupt context; with only interrupts disabled it is the kernel's
  // might_sleep report (mutex_lock() calls might_sleep() first).
  [[gnu::noinline]] void check_wait_context(ContextState* ctx, ClassId cls, const Site& site) {
    ClassId spinning;
    std::string reason = atomic_reason(ctx, spinning);
    if (reason.empty()) return;
    FindingType type = ctx->depth[0] || ctx->depth[1] || spinning != kNoClass
                           ? FindingType::invalid_wait_context
                           : FindingType::sleeping_in_invalid_context;
    report_wait(ctx, type, cls, spinning, reason, site, classes[cls].name);
  }

  void might_sleep(ContextState* ctx, const Site& site, std::string_view what) {
    if (may_sleep(ctx)) return;
    ClassId spinning;
    std::string reason = atomic_reason(ctx, spinning);
    if (reason.empty()) return;
    report_wait(ctx, FindingType::sleeping_in_invalid_context, kNoClass, spinning, reason, site,
                std::string(what));
  }

  // ---------------------------------------------------------------- release, destroy, exit
  void release(ContextState* ctx, uint64_t lock, const Site& site) {
    st.releases++;
    auto& held = ctx->held;
    if (!held.empty() && held.back().lock == lock) {
      // The common case: releasing the most recently taken lock. No chain keys to rebuild.
      const HeldEntry& h = held.back();
      if (h.inst->id == h.instance_id && h.inst->holds) h.inst->holds--;
      if (ctx->spin_held && classes[h.cls].wait == WaitType::spin) ctx->spin_held--;
      held.pop_back();
      return;
    }
    size_t i = held.size();
    while (i > 0 && held[i - 1].lock != lock) --i;
    if (i == 0) {
      if (freed_while_held.erase(lock)) return;
      if (opt.report_unknown_release) report_bad_unlock(ctx, lock, site);
      return;
    }
    remove_held(ctx, i - 1);
  }

  // Removes held entry i (released, or its lock destroyed) and rebuilds the chain keys above it.
  void remove_held(ContextState* ctx, size_t i) {
    auto& held = ctx->held;
    Instance* in = held[i].inst;
    if (in->id == held[i].instance_id && in->holds) in->holds--;
    if (classes[held[i].cls].wait == WaitType::spin && ctx->spin_held) ctx->spin_held--;
    held.erase(held.begin() + long(i));
    // Locks released out of order: the chain keys above the hole are rebuilt (no validation;
    // the dependencies they stand for were validated when taken).
    for (size_t j = i; j < held.size(); ++j) {
      bool head = j == 0 || held[j - 1].irq_ctx != held[j].irq_ctx;
      uint64_t key = head ? kInitialChainKey : held[j - 1].chain_key;
      bool per_instance = !head && held[j - 1].per_instance;
      held[j].chain_key = extend_key(std::span(held.data(), j), key, held[j].cls, held[j].mode,
                                     held[j].trylock, held[j].lock, held[j].instance_id, per_instance);
      held[j].per_instance = per_instance;
    }
  }

  void lock_destroy(ContextState* ctx, uint64_t lock, const Site& site, bool unloaded = false) {
    auto it = instances.find(lock);
    if (it == instances.end()) return;
    Instance* in = it->second;
    if (in->holds) {
      for (auto& [id, c] : contexts) {
        for (size_t i = 0; i < c->held.size(); ++i) {
          if (c->held[i].inst != in) continue;
          report_freed(ctx ? ctx : c.get(), c.get(), i, site, unloaded);
          remove_held(c.get(), i);
          freed_while_held.insert(lock);
          break;
        }
      }
    }
    in->holds = 0;
    end_pairs(in->id);
    in->id = 0;
    free_instances.push_back(in);
    instances.erase(it);
    ++instance_epoch;
  }

  void end_context(ContextState* ctx, const Site& site, bool to_user) {
    if (!ctx->held.empty())
      report_still_held(ctx, site, to_user ? FindingType::lock_held_returning_to_user
                                           : FindingType::still_has_locks_held);
    if (to_user) return;
    for (const auto& h : ctx->held)
      if (h.inst->id == h.instance_id && h.inst->holds) h.inst->holds--;
    contexts.erase(ctx->id);
  }

  // ---------------------------------------------------------------- reports
  std::string sig_of_classes(std::string_view kind, const std::vector<ClassId>& cs) const {
    std::string s(kind);
    for (ClassId c : cs) s += "|" + classes[c].name;
    return s;
  }

  Edge edge_report(uint32_t ei) const {
    const EdgeInfo& e = edges[ei];
    Edge out;
    out.from = classes[e.from].name;
    out.to = classes[e.to].name;
    out.dep = dep_name(e.dep);
    for (ClassId g : gate_sets[e.gates]) out.gates.push_back(classes[g].name);
    std::vector<HeldLock> held;
    for (uint32_t i = 0; i < e.held_len; ++i) {
      HeldLock hl;
      hl.name = classes[held_pool[e.held + i]].name;
      held.push_back(std::move(hl));
    }
    out.from_site = acquisition(e.from_ev, e.from);
    out.to_site = acquisition(e.to_ev, e.to, std::move(held));
    return out;
  }

  void report_cycle(ContextState* ctx, const std::vector<uint32_t>& path, FindingType type,
                    const std::vector<ClassId>& common) {
    // Signature: the set of edges, rotation-independent.
    std::vector<uint64_t> keys;
    for (uint32_t ei : path) keys.push_back((uint64_t(edges[ei].from) << 32) | edges[ei].to);
    std::sort(keys.begin(), keys.end());
    std::string sig = type == FindingType::guarded_cycle ? "guarded" : "cycle";
    for (uint64_t k : keys) sig += "|" + classes[k >> 32].name + ">" + classes[uint32_t(k)].name;
    uint32_t closing = path.back();
    if (repeat(sig)) return;
    Finding f;
    f.type = type;
    for (uint32_t ei : path) {
      f.chain.push_back(edge_report(ei));
      f.classes.push_back(classes[edges[ei].from].name);
    }
    if (type == FindingType::guarded_cycle) {
      std::string g;
      for (ClassId c : common) g += (g.empty() ? "" : ", ") + classes[c].name;
      fact::set(f, fact::kGuardedBy, g);
    }
    // A class the front end inferred (locks made at one place) may hold locks of different
    // roles: say where the cycle enters and leaves such a class through two different locks,
    // so the reader can tell whether one lock can really play both parts.
    for (size_t i = 0; i < path.size(); ++i) {
      const EdgeInfo& in = edges[path[i]];
      const EdgeInfo& out = edges[path[(i + 1) % path.size()]];
      if (!classes[in.to].inferred || in.to_lock == out.from_lock || !in.to_lock || !out.from_lock) continue;
      f.details.emplace_back("different locks of " + classes[in.to].name,
                             hex_of(in.to_lock) + " taken after " + classes[in.from].name + ", " +
                                 hex_of(out.from_lock) + " held before " + classes[out.to].name +
                                 ": a deadlock only if one lock of this class can play both parts");
    }
    if (ctx) f.participants.push_back(participant(ctx));
    uint32_t idx = publish(std::move(f), std::move(sig));
    if (type == FindingType::guarded_cycle) {
      for (uint32_t ei : path) edges[ei].guarded_finding = idx;
    } else {
      closing_edge_finding[closing] = idx;
      // A guarded report on any edge of this cycle is superseded by the real one.
      for (uint32_t ei : path) {
        uint32_t g = edges[ei].guarded_finding;
        if (g != UINT32_MAX) {
          superseded[g] = true;
          edges[ei].guarded_finding = UINT32_MAX;
        }
      }
    }
  }

  Participant participant(const ContextState* ctx) const {
    Participant p;
    p.name = ctx_names[ctx->name];
    p.held = held_list(ctx, ctx->held.size());
    return p;
  }

  void report_recursion(ContextState* ctx, size_t prev_i) {
    const HeldEntry& prev = ctx->held[prev_i];
    const HeldEntry& next = ctx->held.back();
    bool same = prev.lock == next.lock;
    std::string sig = std::string("recursive|") + classes[next.cls].name + (same ? "|same" : "|other");
    if (repeat(sig)) return;
    Finding f;
    f.type = FindingType::recursive_locking;
    f.classes = {classes[next.cls].name};
    f.acquisitions.push_back(acquisition(held_evidence(ctx, prev), prev.cls));
    f.acquisitions.push_back(acquisition(evidence(ctx, next.site, next.mode, next.trylock, true),
                                         next.cls, held_list(ctx, ctx->held.size() - 1)));
    // Two read locks of one instance hang only when a writer starts waiting between them (the
    // lock does not let readers recurse past a waiting writer); any other pair always does.
    bool reads = prev.mode == Mode::read && next.mode == Mode::read;
    fact::set(f, fact::kInstance, !same ? "another instance of the same class"
                                  : reads ? "same lock instance, read twice: a self-deadlock as soon as "
                                            "another thread asks for it for writing in between"
                                          : "same lock instance: a certain self-deadlock");
    f.participants.push_back(participant(ctx));
    publish(std::move(f), std::move(sig));
  }

  [[gnu::noinline]] void report_nest_not_held(ContextState* ctx, ClassId cls, const AcquireFlags& fl, const Site& site) {
    std::string nest = "lock@?";
    auto it = instances.find(fl.nest_lock);
    if (it != instances.end()) nest = classes[it->second->cls].name;
    std::string sig = "nest|" + classes[cls].name + "|" + nest;
    if (repeat(sig)) return;
    Finding f;
    f.type = FindingType::nested_lock_not_taken;
    f.classes = {classes[cls].name, nest};
    f.acquisitions.push_back(acquisition(evidence(ctx, site, fl.mode, fl.trylock, true), cls,
                                         held_list(ctx, ctx->held.size())));
    f.participants.push_back(participant(ctx));
    publish(std::move(f), std::move(sig));
  }

  void report_inconsistent(ContextState* ctx, const HeldEntry& h, unsigned prev_bit, unsigned new_bit) {
    ClassInfo& c = classes[h.cls];
    std::string usage = "{" + usage_name(prev_bit) + "} -> {" + usage_name(new_bit) + "}";
    std::string sig = "inconsistent|" + c.name + "|" + usage_name(std::min(prev_bit, new_bit)) + "|" +
                      usage_name(std::max(prev_bit, new_bit));
    c.conflict |= 1u << new_bit;
    if (repeat(sig)) {
      c.conflict_findings.emplace_back(uint8_t(new_bit), finding_by_sig[sig]);
      return;
    }
    Finding f;
    f.type = FindingType::inconsistent_lock_state;
    f.classes = {c.name};
    fact::set(f, fact::kUsage, usage);
    fact::set(f, fact::kInterrupt, std::string(irq_name(Irq(new_bit / 4))));
    const Evidence* first = nullptr;
    for (const auto& u : c.usage_ev)
      if (u.bit == prev_bit) first = &u.ev;
    if (first) f.acquisitions.push_back(acquisition(*first, h.cls));
    f.acquisitions.push_back(acquisition(evidence(ctx, h.site, h.mode, h.trylock, true), h.cls,
                                         held_list(ctx, ctx->held.size() - 1)));
    f.participants.push_back(participant(ctx));
    uint32_t idx = publish(std::move(f), sig);
    classes[h.cls].conflict_findings.emplace_back(uint8_t(new_bit), idx);
  }

  void report_irq_inversion(ContextState* ctx, const HeldEntry& h, unsigned bit, uint32_t hit, bool forward) {
    std::vector<uint32_t> path = path_edges(hit);
    ClassId other = nodes[hit].cls;
    Irq k = Irq(bit / 4);
    ClassId safe = forward ? h.cls : other, unsafe = forward ? other : h.cls;
    if (!forward) std::reverse(path.begin(), path.end());
    std::string sig = "irqinv|" + std::string(irq_name(k)) + "|" + classes[safe].name + "|" +
                      classes[unsafe].name;
    if (repeat(sig)) return;
    Finding f;
    f.type = FindingType::irq_lock_inversion;
    for (uint32_t ei : path) f.chain.push_back(edge_report(ei));
    f.classes.push_back(classes[safe].name);
    for (uint32_t ei : path) f.classes.push_back(classes[edges[ei].to].name);
    fact::set(f, fact::kInterrupt, std::string(irq_name(k)));
    fact::set(f, fact::kIrqSafe, classes[safe].name);
    fact::set(f, fact::kIrqUnsafe, classes[unsafe].name);
    add_usage_evidence(f, safe, k, false);
    add_usage_evidence(f, unsafe, k, true);
    f.participants.push_back(participant(ctx));
    publish(std::move(f), std::move(sig));
  }

  void add_usage_evidence(Finding& f, ClassId cls, Irq k, bool enabled_dir) {
    for (const auto& u : classes[cls].usage_ev) {
      if (int(u.bit / 4) != int(k) || bool(u.bit & kDirBit) != enabled_dir) continue;
      f.acquisitions.push_back(acquisition(u.ev, cls));
      return;
    }
  }

  void report_safe_unsafe(ContextState* ctx, Irq k, ClassId safe, ClassId unsafe,
                          const std::vector<uint32_t>& chain, const HeldEntry& prev, const HeldEntry& next) {
    std::string sig = "safeunsafe|" + std::string(irq_name(k)) + "|" + classes[safe].name + "|" +
                      classes[unsafe].name;
    if (repeat(sig)) return;
    Finding f;
    f.type = FindingType::irq_safe_unsafe_order;
    for (uint32_t ei : chain) f.chain.push_back(edge_report(ei));
    f.classes.push_back(classes[safe].name);
    for (uint32_t ei : chain) f.classes.push_back(classes[edges[ei].to].name);
    fact::set(f, fact::kInterrupt, std::string(irq_name(k)));
    fact::set(f, fact::kIrqSafe, classes[safe].name);
    fact::set(f, fact::kIrqUnsafe, classes[unsafe].name);
    fact::set(f, fact::kNewDependency, classes[prev.cls].name + " -> " + classes[next.cls].name);
    add_usage_evidence(f, safe, k, false);
    add_usage_evidence(f, unsafe, k, true);
    if (ctx) f.participants.push_back(participant(ctx));
    publish(std::move(f), std::move(sig));
  }

  void report_wait(ContextState* ctx, FindingType type, ClassId cls, ClassId spinning,
                   const std::string& reason, const Site& site, const std::string& what) {
    std::string sig = std::string(type_name(type)) + "|" + what + "|" +
                      (spinning != kNoClass ? classes[spinning].name : reason);
    if (repeat(sig)) return;
    Finding f;
    f.type = type;
    if (cls != kNoClass) f.classes.push_back(classes[cls].name);
    if (spinning != kNoClass) f.classes.push_back(classes[spinning].name);
    fact::set(f, fact::kReason, reason);
    fact::set(f, fact::kOperation, what);
    Evidence ev = evidence(ctx, site, Mode::write, false, true);
    Acquisition a = acquisition(ev, cls != kNoClass ? cls : spinning, held_list(ctx, ctx->held.size()));
    if (cls == kNoClass) a.lock = what;
    f.acquisitions.push_back(std::move(a));
    if (spinning != kNoClass)
      for (const auto& h : ctx->held)
        if (h.cls == spinning) {
          f.acquisitions.push_back(acquisition(held_evidence(ctx, h), spinning));
          break;
        }
    f.participants.push_back(participant(ctx));
    publish(std::move(f), std::move(sig));
  }

  void report_bad_unlock(ContextState* ctx, uint64_t lock, const Site& site) {
    auto it = instances.find(lock);
    std::string name;
    ClassId cls = kNoClass;
    if (it != instances.end()) {
      cls = it->second->cls;
      name = classes[cls].name;
    } else {
      char buf[40];
      std::snprintf(buf, sizeof buf, "lock@0x%" PRIx64, lock);
      name = buf;
    }
    std::string sig = "unlock|" + name + "|" + std::to_string(site.ip);
    if (repeat(sig)) return;
    Finding f;
    f.type = FindingType::bad_unlock_balance;
    f.classes = {name};
    Acquisition a = acquisition(evidence(ctx, site, Mode::write, false, true), cls, held_list(ctx, ctx->held.size()));
    a.lock = name;
    a.mode = "release";
    f.acquisitions.push_back(std::move(a));
    f.participants.push_back(participant(ctx));
    // Another context holds it: the lock is handed over between threads (unlocked by a thread
    // that did not lock it), which POSIX leaves undefined for mutexes and spinlocks.
    for (const auto& [id, c] : contexts)
      if (c.get() != ctx && holds(c.get(), lock)) {
        fact::set(f, fact::kHeldBy, ctx_names[c->name]);
        f.participants.push_back(participant(c.get()));
        break;
      }
    publish(std::move(f), std::move(sig));
  }

  void report_freed(ContextState* by, ContextState* holder, size_t i, const Site& site, bool unloaded) {
    const HeldEntry& h = holder->held[i];
    std::string sig = "freed|" + classes[h.cls].name + "|" + std::to_string(site.ip);
    if (repeat(sig)) return;
    Finding f;
    f.type = FindingType::held_lock_freed;
    f.classes = {classes[h.cls].name};
    f.acquisitions.push_back(acquisition(held_evidence(holder, h), h.cls));
    Acquisition d = acquisition(evidence(by, site, Mode::write, false, true), h.cls);
    d.mode = unloaded ? "unload" : "destroy";  // advice words the fix for each
    f.acquisitions.push_back(std::move(d));
    f.participants.push_back(participant(holder));
    publish(std::move(f), std::move(sig));
  }

  void report_still_held(ContextState* ctx, const Site& site, FindingType type) {
    std::vector<ClassId> cs;
    for (const auto& h : ctx->held) cs.push_back(h.cls);
    std::string sig = sig_of_classes(type_name(type), cs);
    if (repeat(sig)) return;
    Finding f;
    f.type = type;
    for (ClassId c : cs) f.classes.push_back(classes[c].name);
    for (const auto& h : ctx->held) f.acquisitions.push_back(acquisition(held_evidence(ctx, h), h.cls));
    Participant p = participant(ctx);
    Stack s = frames_of(evidence(ctx, site, Mode::write, false, true));
    p.stack = s;
    f.participants.push_back(std::move(p));
    publish(std::move(f), std::move(sig));
  }
};

// ==================================================================== public surface
Validator::Validator(ValidatorOptions options, ValidatorHooks hooks) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->hooks = std::move(hooks);
}
Validator::~Validator() = default;

ClassId Validator::lock_class(std::string_view name, LockKind kind, WaitType wait) {
  auto it = impl_->class_by_name.find(std::string(name));
  if (it != impl_->class_by_name.end()) return it->second;
  ClassId id = impl_->new_class(std::string(name), kind, wait, kNoClass, 0);
  impl_->class_by_name.emplace(std::string(name), id);
  return id;
}
ClassId Validator::unique_class(std::string name, LockKind kind, WaitType wait) {
  return impl_->new_class(std::move(name), kind, wait, kNoClass, 0);
}
void Validator::set_class_kind(ClassId cls, LockKind kind, WaitType wait) {
  if (cls >= impl_->classes.size()) return;
  auto& ci = impl_->classes[cls];
  ci.kind = kind;
  ci.wait = wait == WaitType::none ? default_wait_type(kind) : wait;
  // Subclasses share the base class's nature.
  for (ClassId sub : ci.subs)
    if (sub != kNoClass) {
      impl_->classes[sub].kind = ci.kind;
      impl_->classes[sub].wait = ci.wait;
    }
}
void Validator::set_class_inferred(ClassId cls) {
  if (cls < impl_->classes.size()) impl_->classes[cls].inferred = true;
}
std::string_view Validator::class_name(ClassId cls) const { return impl_->classes.at(cls).name; }
LockKind Validator::class_kind(ClassId cls) const { return impl_->classes.at(cls).kind; }
size_t Validator::class_count() const { return impl_->classes.size(); }

void Validator::lock_init(uint64_t lock, ClassId cls) {
  if (cls >= impl_->classes.size()) return;
  auto [it, fresh] = impl_->instances.try_emplace(lock, nullptr);
  if (!fresh && it->second->holds) {
    // Re-initialising a held lock frees the old one while held.
    impl_->lock_destroy(nullptr, lock, Site{});
    impl_->init_instance(lock, cls);
    return;
  }
  impl_->init_slot(it->second, cls);
}
bool Validator::acquire_if_known(Context ctx, uint64_t lock, AcquireFlags flags, Site site) {
  if (!impl_->known_cached(ctx, lock)) return false;
  impl_->acquire(ctx, lock, flags, site);
  return true;
}
void Validator::lock_destroy(Context ctx, uint64_t lock, Site site, bool unloaded) {
  impl_->lock_destroy(ctx, lock, site, unloaded);
}
bool Validator::lock_known(uint64_t lock) const { return impl_->instances.contains(lock); }

Context Validator::context(uint64_t id, std::string_view name) {
  auto& slot = impl_->contexts[id];
  if (!slot) {
    slot = std::make_unique<ContextState>();
    slot->id = id;
    slot->name = uint32_t(impl_->ctx_names.size());
    impl_->ctx_names.emplace_back(name);
    impl_->st.contexts++;
  }
  return slot.get();
}
void Validator::rename_context(Context ctx, std::string_view name) {
  impl_->ctx_names[ctx->name] = std::string(name);
}
void Validator::end_context(Context ctx, Site site) { impl_->end_context(ctx, site, false); }
void Validator::return_to_user(Context ctx, Site site) {
  if (!ctx->held.empty()) impl_->report_still_held(ctx, site, FindingType::lock_held_returning_to_user);
}
std::string_view Validator::context_name(Context ctx) const { return impl_->ctx_names[ctx->name]; }
size_t Validator::held_count(Context ctx) const { return ctx->held.size(); }
Validator::HeldInfo Validator::held_at(Context ctx, size_t i) const {
  const HeldEntry& h = ctx->held[i];
  return {h.lock, h.mode, h.trylock, h.per_instance, h.site.ip};
}
void Validator::drop_held(Context ctx, size_t i) {
  if (i < ctx->held.size()) impl_->remove_held(ctx, i);
}
bool Validator::lock_held(uint64_t lock) const {
  auto it = impl_->instances.find(lock);
  return it != impl_->instances.end() && it->second->holds > 0;
}
uint32_t Validator::usage_wanted(Context ctx, Mode mode) const { return ctx->want[mode != Mode::write]; }
bool Validator::may_sleep(Context ctx) const { return Impl::may_sleep(ctx); }
bool Validator::may_sleep_holding_nothing(Context ctx) const {
  return !ctx->depth[0] && !ctx->depth[1] && ctx->enabled[0];
}
uint32_t Validator::class_usage(ClassId cls) const {
  const ClassInfo& c = impl_->classes.at(cls);
  return c.conflict ? 0 : c.usage;
}
uint32_t Validator::irq_state(Context ctx) const {
  return uint32_t(ctx->irq_ctx()) << 8 | ctx->enabled_mask();
}

void Validator::irq_enter(Context ctx, Irq irq) {
  ctx->saved.push_back(ctx->enabled);
  ctx->depth[int(irq)]++;
  ctx->enabled[int(irq)] = false;
  if (irq == Irq::hardirq) ctx->enabled[int(Irq::softirq)] = false;
  ctx->update_want();
}
void Validator::irq_exit(Context ctx, Irq irq) {
  if (ctx->depth[int(irq)]) ctx->depth[int(irq)]--;
  if (!ctx->saved.empty()) {
    ctx->enabled = ctx->saved.back();
    ctx->saved.pop_back();
  }
  ctx->update_want();
}
void Validator::irq_enable(Context ctx, Irq irq) {
  ctx->enabled[int(irq)] = true;
  ctx->update_want();
}
void Validator::irq_disable(Context ctx, Irq irq) {
  ctx->enabled[int(irq)] = false;
  ctx->update_want();
}
bool Validator::in_irq(Context ctx, Irq irq) const { return ctx->depth[int(irq)] > 0; }
bool Validator::irq_enabled(Context ctx, Irq irq) const { return ctx->enabled[int(irq)]; }
void Validator::set_irq_state(Context ctx, bool in_hardirq, bool in_softirq, bool hardirqs_enabled,
                              bool softirqs_enabled) {
  ctx->depth[0] = in_hardirq;
  ctx->depth[1] = in_softirq;
  ctx->enabled[0] = hardirqs_enabled;
  ctx->enabled[1] = softirqs_enabled;
  ctx->update_want();
}

void Validator::acquire(Context ctx, uint64_t lock, AcquireFlags flags, Site site) {
  impl_->acquire(ctx, lock, flags, site);
}
void Validator::release(Context ctx, uint64_t lock, Site site) { impl_->release(ctx, lock, site); }
void Validator::might_sleep(Context ctx, Site site, std::string_view what) {
  impl_->might_sleep(ctx, site, what);
}

StackId Validator::intern_stack(std::span<const Frame> frames) { return impl_->intern(frames); }
std::span<const Frame> Validator::stack(StackId id) const {
  if (id >= impl_->stacks.size()) return {};
  return impl_->stacks[id];
}
size_t Validator::stack_count() const { return impl_->stacks.size(); }
void Validator::replace_stack(StackId id, std::vector<Frame> frames) {
  if (id < impl_->stacks.size()) impl_->stacks[id] = std::move(frames);
}
void Validator::for_each_finding(const std::function<void(Finding&)>& fn) {
  for (auto& f : impl_->findings) fn(f);
}
void Validator::report(Finding facts) {
  complete_finding(facts);
  std::string sig = facts.signature;
  if (impl_->repeat(sig)) return;
  impl_->publish(std::move(facts), std::move(sig));
}

std::vector<Finding> Validator::findings() const {
  std::vector<Finding> out;
  for (size_t i = 0; i < impl_->findings.size(); ++i)
    if (!impl_->superseded[i]) out.push_back(impl_->findings[i]);
  return out;
}
uint64_t Validator::report_events() const { return impl_->report_events; }
size_t Validator::finding_count() const {
  size_t n = 0;
  for (bool s : impl_->superseded) n += !s;
  return n;
}
ValidatorStats Validator::stats() const {
  ValidatorStats s = impl_->st;
  s.classes = impl_->classes.size();
  s.instances = impl_->instances.size();
  s.edges = impl_->edges.size();
  s.chains = impl_->chains.size();
  s.memory_bytes += impl_->classes.capacity() * sizeof(ClassInfo) +
                    impl_->edges.capacity() * sizeof(EdgeInfo) +
                    impl_->edge_index.capacity() * (sizeof(uint64_t) + sizeof(uint32_t) + 1) +
                    impl_->chains.capacity() * sizeof(uint64_t) +
                    impl_->held_pool.capacity() * sizeof(ClassId) +
                    impl_->instances.capacity() * (sizeof(uint64_t) + sizeof(void*) + 1) +
                    impl_->instance_pool.size() * sizeof(Instance) +
                    impl_->instance_pairs.capacity() * 16 +
                    impl_->pk_edges.capacity() * sizeof(Impl::PkEdge) +
                    2 * impl_->edges.size() * sizeof(uint32_t);
  s.memory_bytes += impl_->class_name_bytes;
  return s;
}
const ValidatorOptions& Validator::options() const { return impl_->opt; }

}  // namespace lockhound
