// One test per check: the buggy scenario must produce the finding, and its fixed twin nothing.
// Scenarios are written in the scenario language (docs/scenario-language.md), the engine's own
// test language; a few tests drive the Validator API directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/facts.h"
#include "core/usage_bits.h"
#include "core/validator.h"
#include "core/voice.h"
#include "scenario/scenario.h"

namespace lockhound {
namespace {

ScenarioResult run(const std::string& text) {
  ScenarioResult r = check_scenario(text, "test.lh");
  for (const auto& d : r.diagnostics) ADD_FAILURE() << format_diagnostic(d);
  return r;
}

size_t count(const ScenarioResult& r, FindingType t) {
  return size_t(std::count_if(r.findings.begin(), r.findings.end(), [&](const Finding& f) { return f.type == t; }));
}

const Finding* find(const ScenarioResult& r, FindingType t) {
  for (const auto& f : r.findings)
    if (f.type == t) return &f;
  return nullptr;
}

// The finding of type t; a missing one fails the test (and yields an empty finding, so the
// remaining expectations fail instead of crashing the binary).
const Finding& get(const ScenarioResult& r, FindingType t) {
  static const Finding none{};
  if (const Finding* f = find(r, t)) return *f;
  ADD_FAILURE() << "no " << type_name(t) << " finding";
  return none;
}

#define EXPECT_ONLY(r, type)                                                     \
  do {                                                                           \
    EXPECT_EQ(count(r, type), 1u) << "expected one " << type_name(type);        \
    EXPECT_EQ((r).findings.size(), 1u) << "unexpected extra findings";           \
  } while (0)
#define EXPECT_CLEAN(r)                                                          \
  do {                                                                           \
    for (const auto& f : (r).findings) ADD_FAILURE() << "unexpected " << type_name(f.type) << ": " << f.summary; \
  } while (0)

// ---------------------------------------------------------------- circular dependencies
TEST(Circular, AbbaAcrossTwoContexts) {
  auto r = run(R"(
spinlock a, b
thread T1:
  lock a
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  lock a
  unlock a
  unlock b
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
  const Finding* f = find(r, FindingType::circular_dependency);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->classes, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(f->chain.size(), 2u);
  EXPECT_EQ(f->chain[1].from, "b");
  EXPECT_EQ(f->chain[1].to, "a");
  // Both sites of each edge are recorded (scenario lines).
  EXPECT_EQ(f->chain[0].from_site.stack.at(0).line, 4u);
  EXPECT_EQ(f->chain[0].to_site.stack.at(0).line, 5u);
  EXPECT_EQ(f->chain[1].to_site.stack.at(0).line, 10u);
  EXPECT_NE(f->fix.find("test.lh:10"), std::string::npos) << f->fix;
  // T2 holds b; a is the lock it is taking, not one it holds (as lockdep lists them: a thread
  // about to block on a must not be shown holding it).
  ASSERT_EQ(f->participants.size(), 1u);
  ASSERT_EQ(f->participants[0].held.size(), 1u);
  EXPECT_EQ(f->participants[0].held[0].name, "b");
}

// Each edge names the locks that were held when it was first seen: all of them for an edge seen
// deeper in a chain (kept beside the edge), just its two ends for a chain of two (implied).
TEST(Circular, EachEdgeNamesTheLocksHeldWhenItWasFirstSeen) {
  auto r = run(R"(
mutex outer, a, b
thread T1:
  lock outer
  lock a
  lock b
  unlock b
  unlock a
  unlock outer
thread T2:
  lock b
  lock a
  unlock a
  unlock b
)");
  const Finding& f = get(r, FindingType::circular_dependency);
  ASSERT_EQ(f.chain.size(), 2u);
  auto names = [](const Acquisition& a) {
    std::vector<std::string> out;
    for (const auto& h : a.held) out.push_back(h.name);
    return out;
  };
  for (const Edge& e : f.chain) {
    if (e.from == "a")
      EXPECT_EQ(names(e.to_site), (std::vector<std::string>{"outer", "a", "b"}));
    else
      EXPECT_EQ(names(e.to_site), (std::vector<std::string>{"b", "a"}));
  }
}

TEST(Circular, ConsistentOrderIsClean) {
  auto r = run(R"(
spinlock a, b
thread T1:
  lock a
  lock b
  unlock b
  unlock a
thread T2:
  lock a
  lock b
  unlock b
  unlock a
)");
  EXPECT_CLEAN(r);
}

TEST(Circular, ThreeLocksThreeContexts) {
  auto r = run(R"(
mutex a, b, c
thread T1:
  lock a
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  lock c
  unlock c
  unlock b
thread T3:
  lock c
  lock a
  unlock a
  unlock c
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
  EXPECT_EQ(get(r, FindingType::circular_dependency).chain.size(), 3u);
}

TEST(Circular, ThreeLocksConsistentIsClean) {
  auto r = run(R"(
mutex a, b, c
thread T1:
  lock a
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  lock c
  unlock c
  unlock b
thread T3:
  lock a
  lock c
  unlock c
  unlock a
)");
  EXPECT_CLEAN(r);
}

// Cycles far longer than ThreadSanitizer's limit of 20.
TEST(Circular, LongCycleOf200Locks) {
  Validator v;
  Context t = v.context(1, "T");
  const int n = 200;
  for (int i = 0; i < n; ++i) v.lock_init(uint64_t(i + 1), v.lock_class("L" + std::to_string(i), LockKind::mutex));
  for (int i = 0; i + 1 < n; ++i) {
    v.acquire(t, uint64_t(i + 1), {}, {});
    v.acquire(t, uint64_t(i + 2), {}, {});
    v.release(t, uint64_t(i + 2), {});
    v.release(t, uint64_t(i + 1), {});
  }
  EXPECT_EQ(v.finding_count(), 0u);
  v.acquire(t, uint64_t(n), {}, {});
  v.acquire(t, 1, {}, {});
  auto fs = v.findings();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].type, FindingType::circular_dependency);
  EXPECT_EQ(fs[0].chain.size(), size_t(n));
}

// Takes `outer`, then `inner` under it, and releases both.
void nest_pair(Validator& v, Context t, uint64_t outer, uint64_t inner) {
  v.acquire(t, outer, {}, {});
  v.acquire(t, inner, {}, {});
  v.release(t, inner, {});
  v.release(t, outer, {});
}

// Locks placed again and again between the same two neighbours in the topological order use up
// the room between them; the order is respaced and stays exact.
TEST(Circular, OrderRespacedWhenItRunsOutOfRoom) {
  Validator v;
  Context t = v.context(1, "T");
  auto lock = [&](const std::string& name) {
    static uint64_t next = 1;
    uint64_t id = next++;
    v.lock_init(id, v.lock_class(name, LockKind::mutex));
    return id;
  };
  auto nest = [&](uint64_t a, uint64_t b) { nest_pair(v, t, a, b); };
  uint64_t x = lock("X"), y = lock("Y"), w1 = lock("W1"), w2 = lock("W2"), w3 = lock("W3");
  nest(y, w1);
  nest(w1, w2);
  nest(w2, w3);
  std::vector<uint64_t> z;
  for (int k = 0; k < 50; ++k) {
    z.push_back(lock("Z" + std::to_string(k)));  // newest: on top of the order
    nest(x, z.back());
    nest(z.back(), y);                             // goes just below Y, every time
  }
  EXPECT_EQ(v.finding_count(), 0u);
  EXPECT_GE(v.stats().renumbers, 1u) << "50 halvings of the room below Y";
  nest(z[3], w2);  // agrees with the order
  EXPECT_EQ(v.finding_count(), 0u);
  nest(w3, z[7]);  // Z7 -> Y -> W1 -> W2 -> W3 -> Z7
  auto fs = v.findings();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].type, FindingType::circular_dependency);
  EXPECT_EQ(fs[0].chain.size(), 5u);
}

// Where the order runs out of room, only the classes near that point get new ranks, not the
// whole order (which a large program pays one cache miss per class for), and the order stays
// exact: a chain of 5000 classes, and 400 classes placed one after another just below its middle.
TEST(Circular, OrderRespacedNearThePointOnly) {
  Validator v;
  Context t = v.context(1, "T");
  uint64_t next = 1;
  auto lock = [&](const std::string& name) {
    uint64_t id = next++;
    v.lock_init(id, v.lock_class(name, LockKind::mutex));
    return id;
  };
  uint64_t x = lock("X");
  std::vector<uint64_t> chain;
  for (int k = 0; k < 5000; ++k) {
    chain.push_back(lock("C" + std::to_string(k)));
    if (k > 0) nest_pair(v, t, chain[k - 1], chain[k]);  // agrees with the order: new ones on top
  }
  uint64_t y = chain[2500];
  std::vector<uint64_t> z;
  for (int k = 0; k < 400; ++k) {
    z.push_back(lock("Z" + std::to_string(k)));
    nest_pair(v, t, x, z.back());
    nest_pair(v, t, z.back(), y);  // goes just below Y, every time
  }
  ASSERT_EQ(v.finding_count(), 0u);
  ASSERT_TRUE(v.order_consistent());
  ValidatorStats st = v.stats();
  EXPECT_GE(st.renumbers, 5u) << "400 classes in one place use up the room there several times";
  EXPECT_LT(st.respaced_classes, 5000u) << "fewer classes moved in all than in one renumber of the order";
  nest_pair(v, t, z[399], chain[4999]);  // agrees with the order
  nest_pair(v, t, chain[100], z[0]);     // so does this one: C100 -> Z0 -> C2500
  EXPECT_EQ(v.finding_count(), 0u);
  nest_pair(v, t, chain[3000], z[200]);  // Z200 -> C2500 -> ... -> C3000 -> Z200
  auto fs = v.findings();
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].type, FindingType::circular_dependency);
  EXPECT_EQ(fs[0].chain.size(), 502u);
}

// More held locks than ThreadSanitizer's 64 and lockdep's 48.
// A class made by unique_class is its own even when another has the same name, and a later
// lock_class of that name does not find it: two locks named by their address in two runs of a
// runtime (or after the name table was skipped) never merge.
TEST(Classes, UniqueClassesAreNeverMergedByName) {
  Validator v;
  Context t = v.context(1, "T");
  ClassId a = v.unique_class("mutex@0x1000", LockKind::mutex);
  ClassId b = v.unique_class("mutex@0x1000", LockKind::mutex);
  ClassId c = v.lock_class("mutex@0x1000", LockKind::mutex);
  EXPECT_NE(a, b);
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  EXPECT_EQ(v.lock_class("mutex@0x1000", LockKind::mutex), c);
  EXPECT_EQ(v.class_name(a), "mutex@0x1000");
  // Nesting the two is an edge between two classes, not recursive locking of one.
  v.lock_init(1, a);
  v.lock_init(2, b);
  v.acquire(t, 1, {}, {});
  v.acquire(t, 2, {}, {});
  EXPECT_EQ(v.finding_count(), 0u);
  EXPECT_EQ(v.stats().edges, 1u);
}

// A trylock that failed because the context holds the lock (the runtime tells it): a note of type
// recursive_locking with both acquisitions, signed apart from a real relock at the same place,
// counted once per path; a lock the context does not hold gives nothing, and nothing is held after.
TEST(Recursive, TrylockOfAHeldLockIsANote) {
  Validator v;
  Context t = v.context(1, "T");
  ClassId cls = v.lock_class("cache_lock", LockKind::pthread_mutex);
  ClassId other = v.lock_class("queue_lock", LockKind::pthread_mutex);
  v.lock_init(1, cls);
  v.lock_init(2, other);
  v.trylock_held(t, 1, Mode::write, Site{0x40, kNoStack});  // not held: nothing
  EXPECT_EQ(v.finding_count(), 0u);
  v.acquire(t, 1, {}, Site{0x10, kNoStack});
  v.trylock_held(t, 2, Mode::write, Site{0x40, kNoStack});  // another thread holds queue_lock
  EXPECT_EQ(v.finding_count(), 0u);
  v.trylock_held(t, 1, Mode::write, Site{0x20, kNoStack});
  v.trylock_held(t, 1, Mode::write, Site{0x20, kNoStack});  // the same path again
  ASSERT_EQ(v.finding_count(), 1u);
  EXPECT_EQ(v.held_count(t), 1u);
  Finding f = v.findings()[0];
  EXPECT_EQ(f.type, FindingType::recursive_locking);
  EXPECT_EQ(finding_severity(f), "note");
  EXPECT_EQ(f.count, 1u);
  EXPECT_EQ(f.title, "trylock of a lock the thread already holds");
  ASSERT_EQ(f.acquisitions.size(), 2u);
  EXPECT_EQ(f.acquisitions[0].mode, "write");
  EXPECT_EQ(f.acquisitions[1].mode, "try");
  EXPECT_NE(f.explanation.find("fails every time"), std::string::npos) << f.explanation;
  EXPECT_NE(f.signature.find("|try"), std::string::npos) << f.signature;
  // A relock (not a trylock) at the same place is the deadlock, signed apart.
  v.acquire(t, 1, {}, Site{0x20, kNoStack});
  ASSERT_EQ(v.finding_count(), 2u);
  Finding relock = v.findings()[1];
  EXPECT_EQ(finding_severity(relock), "deadlock");
  EXPECT_NE(relock.signature, f.signature);
}

// A lock initialised again (no destroy between) takes its new class at once, in a context that
// has it in its instance cache (init does not empty the contexts' caches: the address keeps its
// Instance object, which init updates in place).
TEST(Classes, ReinitialisedLockTakesItsNewClassInACachedContext) {
  Validator v;
  Context t = v.context(1, "T");
  ClassId a = v.lock_class("A", LockKind::mutex), b = v.lock_class("B", LockKind::mutex),
          c = v.lock_class("C", LockKind::mutex);
  v.lock_init(1, a);
  v.lock_init(2, c);
  auto nest = [&](uint64_t x, uint64_t y) { nest_pair(v, t, x, y); };
  nest(1, 2);      // A -> C, lock 1 now in T's cache
  v.lock_init(1, b);
  nest(2, 1);      // C -> B: no cycle with A -> C
  EXPECT_EQ(v.finding_count(), 0u);
  EXPECT_EQ(v.stats().edges, 2u);
  nest(1, 2);      // B -> C closes C -> B
  ASSERT_EQ(v.finding_count(), 1u);
  auto names = v.findings()[0].classes;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"B", "C"}));
}

// A class the front end inferred (locks made at one place): two of its locks nested is judged
// by the order of those two locks, not reported as recursive locking; a declared class keeps
// lockdep's rule.
TEST(Classes, InferredClassIsCheckedPerPairOfLocks) {
  Validator v;
  Context t1 = v.context(1, "T1"), t2 = v.context(2, "T2");
  ClassId made = v.lock_class("obj_init (obj.c:10)", LockKind::mutex);
  v.set_class_inferred(made);
  for (uint64_t l = 1; l <= 4; ++l) v.lock_init(l, made);
  // A parent -> child walk, in both threads, repeated: consistent, so clean.
  for (int round = 0; round < 3; ++round)
    for (uint64_t l = 1; l < 4; ++l) {
      nest_pair(v, t1, l, l + 1);
      nest_pair(v, t2, l, l + 1);
    }
  // Three deep, and released out of order (the chain keys above the hole are rebuilt).
  v.acquire(t1, 1, {}, {});
  v.acquire(t1, 2, {}, {});
  v.acquire(t1, 3, {}, {});
  v.release(t1, 2, {});
  v.release(t1, 3, {});
  v.release(t1, 1, {});
  EXPECT_EQ(v.finding_count(), 0u);
  EXPECT_EQ(v.stats().edges, 0u);
  // 4 then 1 reverses nothing seen (1 was never held around 4: pairs, not an order over the
  // class), so it is clean; 3 then 1 reverses the three-deep nesting's 1 -> 3: one cycle.
  nest_pair(v, t2, 4, 1);
  EXPECT_EQ(v.finding_count(), 0u);
  nest_pair(v, t2, 3, 1);
  ASSERT_EQ(v.finding_count(), 1u);
  Finding f = v.findings()[0];
  EXPECT_EQ(f.type, FindingType::circular_dependency);
  ASSERT_EQ(f.chain.size(), 2u);
  EXPECT_EQ(f.chain[0].from, f.chain[1].to);
  EXPECT_NE(f.chain[0].from.find("[0x1]"), std::string::npos) << f.chain[0].from;
  EXPECT_NE(f.chain[0].to.find("[0x3]"), std::string::npos) << f.chain[0].to;
  // Repeats are counted, not found again; the same lock twice is still recursive locking.
  nest_pair(v, t2, 3, 1);
  EXPECT_EQ(v.finding_count(), 1u);
  v.acquire(t1, 2, {}, {});
  v.acquire(t1, 2, {}, {});
  EXPECT_EQ(v.findings().back().type, FindingType::recursive_locking);

  // The same program with a declared class: lockdep's rule, the first nesting is reported.
  Validator d;
  Context u = d.context(1, "T1");
  ClassId declared = d.lock_class("obj_lock", LockKind::mutex);
  d.lock_init(1, declared);
  d.lock_init(2, declared);
  nest_pair(d, u, 1, 2);
  ASSERT_EQ(d.finding_count(), 1u);
  EXPECT_EQ(d.findings()[0].type, FindingType::recursive_locking);
}

// A class's count of lock lifetimes only needs to tell one from more (a class of one lock is
// checked per class), and stays "more" however many locks it makes: 257 of them, then two nested
// both ways, is still a cycle between those two (a count that wrapped to 1 would key the second
// nesting by the class alone, find it seen, and check nothing).
TEST(Classes, AnInferredClassWithManyLocksStaysCheckedPerPair) {
  Validator v;
  Context t = v.context(1, "T");
  ClassId made = v.lock_class("obj_init (obj.c:10)", LockKind::mutex);
  v.set_class_inferred(made);
  for (uint64_t l = 1; l <= 257; ++l) v.lock_init(l, made);
  nest_pair(v, t, 5, 9);
  EXPECT_EQ(v.finding_count(), 0u);
  nest_pair(v, t, 9, 5);
  ASSERT_EQ(v.finding_count(), 1u);
  Finding f = v.findings()[0];
  EXPECT_EQ(f.type, FindingType::circular_dependency);
  // The earlier nesting held the outer lock alone (kept as nothing, and reported as that lock).
  ASSERT_EQ(f.chain.size(), 2u);
  ASSERT_EQ(f.chain[0].to_site.held.size(), 1u);
  EXPECT_EQ(f.chain[0].to_site.held[0].name, "obj_init (obj.c:10)");
}

// What the engine keeps of a pair of locks of an inferred class ends with either lock: a parent
// nesting ten thousand short-lived children of its class leaves the memory where one child did.
TEST(Classes, InferredPairsEndWithTheirLocks) {
  Validator v;
  Context t = v.context(1, "T");
  ClassId made = v.lock_class("node_new (node.c:5)", LockKind::mutex);
  v.set_class_inferred(made);
  v.lock_init(1, made);
  auto child = [&](uint64_t addr) {
    v.lock_init(addr, made);
    nest_pair(v, t, 1, addr);
    v.lock_destroy(t, addr, {});
  };
  child(2);
  child(3);
  uint64_t after_two = v.stats().memory_bytes;
  // Ended pairs are dropped in batches (a sweep once a thousand lifetimes have ended): the memory
  // is bounded by a batch, and the same after 10k children as after 20k.
  for (uint64_t a = 4; a < 10004; ++a) child(a);
  uint64_t after_10k = v.stats().memory_bytes;
  for (uint64_t a = 10004; a < 20004; ++a) child(a);
  uint64_t after_20k = v.stats().memory_bytes;
  EXPECT_LE(after_10k, after_two + 96 * 1024) << "pairs kept after their locks ended";
  EXPECT_LE(after_20k, after_10k + 4096) << "pairs kept after their locks ended";
  EXPECT_EQ(v.finding_count(), 0u);
  EXPECT_EQ(v.stats().chains, 1u) << "chains naming lock instances are not kept";
}

// A thousand locks of an inferred class held at once (every bucket of a table), released first to
// last: each lock is paired with the nearest few of its class, so the memory grows with the locks,
// not with their pairs, and a later round adds nothing. Two buckets near each other taken in the
// other order are still a cycle.
TEST(Classes, ManyHeldLocksOfOneInferredClass) {
  Validator v;
  Context t = v.context(1, "T"), u = v.context(2, "U");
  ClassId made = v.lock_class("table_init (table.c:7)", LockKind::rwlock);
  v.set_class_inferred(made);
  constexpr uint64_t kN = 3000;
  for (uint64_t l = 1; l <= kN; ++l) v.lock_init(l, made);
  auto round = [&](Mode m) {
    for (uint64_t l = 1; l <= kN; ++l) v.acquire(t, l, {.mode = m}, {});
    EXPECT_EQ(v.held_count(t), kN);
    std::vector<size_t> all(kN);
    for (size_t i = 0; i < kN; ++i) all[i] = i;
    v.drop_held_many(t, all);
    EXPECT_EQ(v.held_count(t), 0u);
  };
  uint64_t before = v.stats().memory_bytes;
  round(Mode::write);
  uint64_t one = v.stats().memory_bytes - before;
  EXPECT_LT(one, kN * 8 * 600) << "more than the nearest 8 pairs per lock";
  round(Mode::write);
  round(Mode::read);
  EXPECT_LE(v.stats().memory_bytes, before + one) << "a repeated round added memory";
  EXPECT_EQ(v.finding_count(), 0u);
  nest_pair(v, u, 1005, 1000);
  ASSERT_EQ(v.finding_count(), 1u);
  EXPECT_EQ(v.findings()[0].type, FindingType::circular_dependency);
}

// Two locks of an inferred class nested in both orders, each time under one exclusively held
// lock: guarded (no deadlock), not a circular dependency. Without the common lock it is one.
TEST(Classes, InferredPairUnderCommonLockIsGuarded) {
  Validator v;
  Context t1 = v.context(1, "T1"), t2 = v.context(2, "T2");
  ClassId made = v.lock_class("obj_init (obj.c:10)", LockKind::mutex);
  v.set_class_inferred(made);
  v.lock_init(1, made);
  v.lock_init(2, made);
  v.lock_init(9, v.lock_class("table_lock", LockKind::mutex));
  auto under_table = [&](Context c, uint64_t x, uint64_t y) {
    v.acquire(c, 9, {}, {});
    nest_pair(v, c, x, y);
    v.release(c, 9, {});
  };
  under_table(t1, 1, 2);
  under_table(t2, 2, 1);
  ASSERT_EQ(v.finding_count(), 1u);
  EXPECT_EQ(v.findings()[0].type, FindingType::guarded_cycle);
  nest_pair(v, t2, 2, 1);  // now without the table lock: a real inversion
  EXPECT_EQ(v.findings().back().type, FindingType::circular_dependency);
}

// A stack is unwound for a new or changed edge only: a new chain made of known edges (C, A, B
// after A, B: only C -> A is new) costs one capture, not two.
TEST(Stacks, CapturedForNewEdgesOnly) {
  int captures = 0;
  Validator* vp = nullptr;
  ValidatorHooks hooks;
  hooks.capture_stack = [&](Context, uint64_t, uint64_t ip) {
    ++captures;
    Frame f;
    f.pc = ip;
    return vp->intern_stack(std::span<const Frame>(&f, 1));
  };
  Validator v({}, hooks);
  vp = &v;
  Context t = v.context(1, "T");
  for (uint64_t l : {1, 2, 3}) {
    v.lock_init(l, v.lock_class("L" + std::to_string(l), LockKind::mutex));
    v.acquire(t, l, {}, Site{0x100 + l, kNoStack});  // usage bits: captured now, not below
    v.release(t, l, {});
  }
  nest_pair(v, t, 1, 2);  // the edge L1 -> L2
  int before = captures;
  v.acquire(t, 3, {}, Site{0x200, kNoStack});
  v.acquire(t, 1, {}, Site{0x201, kNoStack});  // new edge L3 -> L1: one capture
  v.acquire(t, 2, {}, Site{0x202, kNoStack});  // a new chain, its edge L1 -> L2 known: none
  v.release(t, 2, {});
  v.release(t, 1, {});
  v.release(t, 3, {});
  EXPECT_EQ(captures - before, 1);
  EXPECT_EQ(v.stats().edges, 2u);
  EXPECT_EQ(v.stats().chains, 6u);  // L1, L2, L3, L1-L2, L3-L1, L3-L1-L2
}

// A lock taken with nothing held heads a chain of one lock; such chains are kept as bits in
// the class record, one per mode, not in the chain cache. Each mode is its own chain (a read
// head and a write head are validated apart), each counted once however often it is taken.
TEST(Chains, ALockTakenFirstHeadsOneChainPerMode) {
  Validator v;
  Context t = v.context(1, "T");
  v.lock_init(1, v.lock_class("rw", LockKind::rwlock));
  v.lock_init(2, v.lock_class("m", LockKind::mutex));
  for (int round = 0; round < 3; ++round)
    for (Mode m : {Mode::read, Mode::write, Mode::recursive_read}) {
      v.acquire(t, 1, {.mode = m}, {});
      v.release(t, 1, {});
    }
  EXPECT_EQ(v.stats().chains, 3u);
  v.acquire(t, 2, {}, {});
  v.acquire(t, 1, {.mode = Mode::read}, {});  // m -> rw (read): a chain of two, in the cache
  v.release(t, 1, {});
  v.release(t, 2, {});
  v.acquire(t, 2, {}, {});  // m alone: its own head
  v.release(t, 2, {});
  EXPECT_EQ(v.stats().chains, 5u);
  EXPECT_EQ(v.stats().edges, 1u);
  EXPECT_EQ(v.finding_count(), 0u);
}

// A front end that caches the chains validated without a finding (the runtime's fast table)
// says so (AcquireFlags::front_caches): the engine's chain cache then keeps only the chains that
// reported, so that a repeat is not reported again, and does not grow with the silent ones. A
// chain the front end has cached (front_cached) is not checked at all.
TEST(Chains, AFrontEndThatCachesChainsLeavesTheEngineOnlyTheOnesThatReported) {
  const int n = 20000;
  auto build = [&](bool front) {
    auto v = std::make_unique<Validator>();
    Context t = v->context(1, "T");
    for (int i = 0; i < n; ++i) v->lock_init(uint64_t(i + 1), v->lock_class("L" + std::to_string(i), LockKind::mutex));
    AcquireFlags fl;
    fl.front_caches = front;
    for (int i = 0; i + 1 < n; ++i) {  // n - 1 silent chains of two
      v->acquire(t, uint64_t(i + 1), fl, {});
      v->acquire(t, uint64_t(i + 2), fl, {});
      v->release(t, uint64_t(i + 2), {});
      v->release(t, uint64_t(i + 1), {});
    }
    EXPECT_EQ(v->stats().chains, uint64_t(2 * (n - 1)));  // each head (all but L<n-1>) and pair, once
    EXPECT_EQ(v->finding_count(), 0u);
    return v;
  };
  auto cached = build(false), front = build(true);
  // 20k chain keys: 256 KiB of the engine's chain cache (and 16 bytes each counted) the front
  // end's cache stands for.
  EXPECT_LT(front->stats().memory_bytes + 300000, cached->stats().memory_bytes);

  // Recursive locking (two locks of one declared class nested) and an inversion (2 -> 1 against
  // 1 -> 2), each reported once however often the front end sends the chain back (it does not
  // cache a chain that reported): the engine's cache has those chains. Validated again, the
  // recursion would be reported again. (The two alternate, so that the context's memo of the
  // last key at each depth does not answer.)
  Validator& v = *front;
  Context t = v.context(2, "U");
  ClassId twice = v.lock_class("twice", LockKind::mutex);
  v.lock_init(uint64_t(n + 1), twice);
  v.lock_init(uint64_t(n + 2), twice);
  AcquireFlags fl;
  fl.front_caches = true;
  auto nest = [&](uint64_t outer, uint64_t inner) {
    v.acquire(t, outer, fl, {});
    v.acquire(t, inner, fl, {});
    v.release(t, inner, {});
    v.release(t, outer, {});
  };
  for (int round = 0; round < 3; ++round) {
    nest(uint64_t(n + 1), uint64_t(n + 2));
    nest(2, 1);
  }
  EXPECT_EQ(v.finding_count(), 2u);
  EXPECT_EQ(v.report_events(), 2u);

  // The same inversion one pair up, sent as a chain the front end has validated: not checked.
  fl.front_cached = true;
  nest(3, 2);
  EXPECT_EQ(v.finding_count(), 2u);
  // Sent without that claim, it is.
  fl.front_cached = false;
  nest(3, 2);
  EXPECT_EQ(v.finding_count(), 3u);
}

TEST(Limits, DeepNestingAndManyClasses) {
  Validator v;
  Context t = v.context(1, "T");
  const int depth = 300;
  for (int i = 0; i < depth; ++i) v.lock_init(uint64_t(i + 1), v.lock_class("D" + std::to_string(i), LockKind::mutex));
  for (int i = 0; i < depth; ++i) v.acquire(t, uint64_t(i + 1), {}, {});
  EXPECT_EQ(v.held_count(t), size_t(depth));
  for (int i = depth; i > 0; --i) v.release(t, uint64_t(i), {});
  EXPECT_EQ(v.finding_count(), 0u);
  // Reverse one pair at the very bottom and the very top: both found.
  v.acquire(t, 2, {}, {});
  v.acquire(t, 1, {}, {});
  v.release(t, 1, {});
  v.release(t, 2, {});
  v.acquire(t, uint64_t(depth), {}, {});
  v.acquire(t, uint64_t(depth - 1), {}, {});
  EXPECT_EQ(v.finding_count(), 2u);
  EXPECT_GE(v.stats().edges, uint64_t(depth - 1));
}

TEST(Circular, EveryProblemNotJustTheFirst) {
  auto r = run(R"(
mutex a, b, c, d
thread T1:
  lock a
  lock b
  unlock b
  unlock a
  lock c
  lock d
  unlock d
  unlock c
thread T2:
  lock b
  lock a
  unlock a
  unlock b
  lock d
  lock c
  unlock c
  unlock d
)");
  EXPECT_EQ(count(r, FindingType::circular_dependency), 2u);
}

TEST(Circular, RepeatsCountedNotDuplicated) {
  // The same inversion seen again on a different chain (with an extra outer lock) is the same
  // problem: one finding, count 2.
  auto r = run(R"(
mutex a, b, x, y
thread T1:
  lock a
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  lock a
  unlock a
  unlock b
thread T3:
  lock y
  lock b
  lock a
  unlock a
  unlock b
  unlock y
)");
  ASSERT_EQ(count(r, FindingType::circular_dependency), 1u);
  EXPECT_EQ(get(r, FindingType::circular_dependency).count, 2u);
}

TEST(Circular, TrylockInReverseOrderIsNotADeadlock) {
  auto r = run(R"(
mutex a, b
thread T1:
  lock a
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  trylock a
  unlock a
  unlock b
)");
  EXPECT_CLEAN(r);
}

TEST(Circular, LockTakenUnderATrylockStillCounts) {
  // lockdep's rule: a trylock is not validated, but locks taken while it is held depend on it.
  auto r = run(R"(
mutex a, b
thread T1:
  trylock a
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  lock a
  unlock a
  unlock b
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
}

TEST(Circular, OutOfOrderReleaseKeepsChainsRight) {
  // a, b held; a released; c taken under b only: the edge is b -> c, not a -> c.
  auto r = run(R"(
mutex a, b, c
thread T1:
  lock a
  lock b
  unlock a
  lock c
  unlock c
  unlock b
thread T2:
  lock c
  lock a
  unlock a
  unlock c
)");
  // a -> b and b -> c exist, so c -> a closes a -> b -> c -> a.
  EXPECT_ONLY(r, FindingType::circular_dependency);
  EXPECT_EQ(get(r, FindingType::circular_dependency).chain.size(), 3u);
}

TEST(Circular, IrqContextsDoNotChain) {
  // The task holds a; the interrupt handler takes b on top: no a -> b dependency (lockdep keeps
  // irq contexts apart; usage rules cover that case). So b -> a elsewhere is no cycle.
  auto r = run(R"(
spinlock a, b
thread T1:
  spin_lock_irq a
  irq_enter softirq
  spin_lock b
  spin_unlock b
  irq_exit softirq
  spin_unlock_irq a
thread T2:
  spin_lock_irq b
  spin_lock a
  spin_unlock a
  spin_unlock_irq b
)");
  EXPECT_EQ(count(r, FindingType::circular_dependency), 0u);
}

TEST(IrqState, ProcessStateNamesAFreshContext) {
  // Front ends key their own caches on irq_state(); usage::kProcessState and kProcessStateSignalsBlocked name the two values a
  // user-space thread has outside signal handlers.
  Validator v;
  Context t = v.context(1, "T");
  EXPECT_EQ(v.irq_state(t), usage::kProcessState);
  v.irq_disable(t, Irq::signal);
  EXPECT_EQ(v.irq_state(t), usage::kProcessStateSignalsBlocked);
  v.irq_enter(t, Irq::signal);
  EXPECT_NE(v.irq_state(t), usage::kProcessStateSignalsBlocked);
  EXPECT_NE(v.irq_state(t), usage::kProcessState);
  v.irq_exit(t, Irq::signal);
  EXPECT_EQ(v.irq_state(t), usage::kProcessStateSignalsBlocked);
}

// ---------------------------------------------------------------- read/write rules
TEST(ReadWrite, ReaderWriterInversionIsADeadlock) {
  auto r = run(R"(
rwsem a
mutex b
thread T1:
  down_read a
  lock b
  unlock b
  up_read a
thread T2:
  lock b
  down_write a
  up_write a
  unlock b
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
  EXPECT_EQ(get(r, FindingType::circular_dependency).chain.at(0).dep, "SN");
}

TEST(ReadWrite, RecursiveReadersDoNotDeadlock) {
  // T1: R(a) then b; T2: b then R(a). Recursive readers never block each other: no strong cycle.
  auto r = run(R"(
rwlock a
spinlock b
thread T1:
  lock a rread
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  lock a rread
  unlock a
  unlock b
)");
  EXPECT_CLEAN(r);
}

TEST(ReadWrite, NonRecursiveReadersCanDeadlock) {
  // The same with non-recursive readers: a writer queued on a blocks T2's second reader.
  auto r = run(R"(
rwlock a
spinlock b
thread T1:
  lock a read
  lock b
  unlock b
  unlock a
thread T2:
  lock b
  lock a read
  unlock a
  unlock b
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
}

TEST(ReadWrite, RecursiveReadInsideReadIsNotRecursion) {
  auto r = run(R"(
rwlock a
thread T1:
  lock a read
  lock a rread
  unlock a
  unlock a
)");
  EXPECT_CLEAN(r);
}

TEST(ReadWrite, ReadInsideWriteIsRecursion) {
  auto r = run(R"(
rwlock a
thread T1:
  lock a
  lock a rread
  unlock a
  unlock a
)");
  EXPECT_ONLY(r, FindingType::recursive_locking);
}

// ---------------------------------------------------------------- recursion
TEST(Recursion, SameInstanceIsASelfDeadlock) {
  auto r = run(R"(
mutex m
thread T1 in handler:
  mutex_lock(&m);
  mutex_lock(&m);
)");
  ASSERT_EQ(count(r, FindingType::recursive_locking), 1u);
  const Finding* f = &get(r, FindingType::recursive_locking);
  ASSERT_FALSE(f->details.empty());
  EXPECT_NE(f->details.at(0).second.find("same lock instance"), std::string::npos);
}

TEST(Recursion, SameClassOtherInstance) {
  auto r = run(R"(
spinlock node
instance child of node
thread T1:
  spin_lock node
  spin_lock child
  spin_unlock child
  spin_unlock node
)");
  EXPECT_ONLY(r, FindingType::recursive_locking);
}

TEST(Recursion, NestedAnnotationIsClean) {
  auto r = run(R"(
spinlock node
instance child of node
thread T1:
  spin_lock node
  spin_lock_nested(&child, SINGLE_DEPTH_NESTING);
  spin_unlock child
  spin_unlock node
)");
  EXPECT_CLEAN(r);
}

TEST(Recursion, IrqsaveNestedTakesTheSubclassAfterTheFlags) {
  auto r = run(R"(
spinlock node
instance child of node
thread T1:
  spin_lock_irqsave(&node, flags);
  spin_lock_irqsave_nested(&child, flags2, SINGLE_DEPTH_NESTING);
  spin_unlock_irqrestore(&child, flags2);
  spin_unlock_irqrestore(&node, flags);
)");
  EXPECT_CLEAN(r);
}

TEST(Recursion, NestLockSerialisesSameClass) {
  auto r = run(R"(
mutex big
mutex item
instance item2 of item
thread T1:
  lock big
  mutex_lock_nest_lock(&item, &big);
  mutex_lock_nest_lock(&item2, &big);
  unlock item2
  unlock item
  unlock big
)");
  EXPECT_CLEAN(r);
}

TEST(Recursion, NestLockNotHeld) {
  auto r = run(R"(
mutex big
mutex item
thread T1:
  mutex_lock_nest_lock(&item, &big);
  unlock item
)");
  EXPECT_ONLY(r, FindingType::nested_lock_not_taken);
}

// ---------------------------------------------------------------- irq usage
TEST(Usage, InconsistentHardirq) {
  auto r = run(R"(
spinlock m2_lock
cpu CPU0:
  irq_enter hardirq m2_timer_fn
  spin_lock m2_lock
  spin_unlock m2_lock
  irq_exit hardirq
task insmod in m2_init:
  spin_lock m2_lock
  spin_unlock m2_lock
)");
  EXPECT_ONLY(r, FindingType::inconsistent_lock_state);
  const Finding* f = &get(r, FindingType::inconsistent_lock_state);
  EXPECT_EQ(f->details.at(0).second, "{IN-HARDIRQ-W} -> {HARDIRQ-ON-W}");
  EXPECT_NE(f->fix.find("m2_init"), std::string::npos) << f->fix;
  EXPECT_NE(f->fix.find("spin_lock_irqsave"), std::string::npos) << f->fix;
}

TEST(Usage, IrqsaveInProcessContextIsClean) {
  auto r = run(R"(
spinlock m2_lock
cpu CPU0:
  irq_enter hardirq
  spin_lock m2_lock
  spin_unlock m2_lock
  irq_exit hardirq
task insmod:
  spin_lock_irqsave(&m2_lock, flags);
  spin_unlock_irqrestore(&m2_lock, flags);
)");
  EXPECT_CLEAN(r);
}

TEST(Usage, InconsistentWhenUsageComesSecond) {
  // The irq-on use first, the irq use second: reported as {HARDIRQ-ON-W} -> {IN-HARDIRQ-W}.
  auto r = run(R"(
spinlock l
task t:
  spin_lock l
  spin_unlock l
  irq_enter hardirq
  spin_lock l
  spin_unlock l
  irq_exit hardirq
)");
  EXPECT_ONLY(r, FindingType::inconsistent_lock_state);
  EXPECT_EQ(get(r, FindingType::inconsistent_lock_state).details.at(0).second,
            "{HARDIRQ-ON-W} -> {IN-HARDIRQ-W}");
}

TEST(Usage, InconsistentSoftirq) {
  auto r = run(R"(
spinlock q
task t:
  spin_lock q
  spin_unlock q
  irq_enter softirq tasklet_fn
  spin_lock q
  spin_unlock q
  irq_exit softirq
)");
  EXPECT_ONLY(r, FindingType::inconsistent_lock_state);
  EXPECT_EQ(fact::get(get(r, FindingType::inconsistent_lock_state), fact::kInterrupt), "softirq");
}

TEST(Usage, BhDisabledIsClean) {
  auto r = run(R"(
spinlock q
task t:
  spin_lock_bh q
  spin_unlock_bh q
  irq_enter softirq
  spin_lock q
  spin_unlock q
  irq_exit softirq
)");
  EXPECT_CLEAN(r);
}

TEST(Usage, SignalHandlerTakesLockTheThreadHolds) {
  auto r = run(R"(
pthread_mutex_t log_lock
thread main:
  pthread_mutex_lock log_lock
  pthread_mutex_unlock log_lock
  irq_enter signal on_sigalrm
  pthread_mutex_lock log_lock
  pthread_mutex_unlock log_lock
  irq_exit signal
)");
  EXPECT_ONLY(r, FindingType::inconsistent_lock_state);
  EXPECT_EQ(get(r, FindingType::inconsistent_lock_state).details.at(0).second,
            "{SIGNAL-ON-W} -> {IN-SIGNAL-W}");
}

TEST(Usage, SignalBlockedAroundLockIsClean) {
  auto r = run(R"(
pthread_mutex_t log_lock
thread main:
  irq_disable signal
  pthread_mutex_lock log_lock
  pthread_mutex_unlock log_lock
  irq_enable signal
  irq_enter signal
  pthread_mutex_lock log_lock
  pthread_mutex_unlock log_lock
  irq_exit signal
)");
  EXPECT_CLEAN(r);
}

TEST(Usage, TrylockInIrqIsNotIrqUse) {
  auto r = run(R"(
spinlock l
task t:
  spin_lock l
  spin_unlock l
  irq_enter hardirq
  spin_trylock l
  spin_unlock l
  irq_exit hardirq
)");
  EXPECT_CLEAN(r);
}

TEST(Usage, SafeToUnsafeWhenTheEdgeComesLast) {
  // a is hardirq-safe; b is hardirq-unsafe; then the new dependency a -> b.
  auto r = run(R"(
spinlock a, b
cpu C0:
  irq_enter hardirq
  spin_lock a
  spin_unlock a
  irq_exit hardirq
task t:
  spin_lock b
  spin_unlock b
  spin_lock_irqsave(&a, f);
  spin_lock(&b);
  spin_unlock(&b);
  spin_unlock_irqrestore(&a, f);
)");
  EXPECT_ONLY(r, FindingType::irq_safe_unsafe_order);
  const Finding* f = &get(r, FindingType::irq_safe_unsafe_order);
  EXPECT_EQ(f->classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f->title, "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected");
}

// A timer (softirq, hardirqs on) and an irq handler take lp_lock; the handler takes it under
// another hardirq-safe lock. lp_lock's inconsistent state is the bug, and its fix (irqsave in
// the timer) also ends the safe -> unsafe order: one report, whichever is found first.
TEST(Usage, AnInconsistentLockIsNotAlsoReportedAsTheUnsafeEndOfAnOrder) {
  auto first = run(R"(
spinlock dev_irq, lp_lock
cpu C0:
  irq_enter softirq atp_timed_checker
  spin_lock lp_lock
  spin_unlock lp_lock
  irq_exit softirq
  irq_enter hardirq atp_interrupt
  spin_lock dev_irq
  spin_lock lp_lock
  spin_unlock lp_lock
  spin_unlock dev_irq
  irq_exit hardirq
)");
  EXPECT_ONLY(first, FindingType::inconsistent_lock_state);
  auto later = run(R"(
spinlock a, b
cpu C0:
  irq_enter hardirq
  spin_lock a
  spin_unlock a
  irq_exit hardirq
task t:
  spin_lock b
  spin_unlock b
  spin_lock_irqsave(&a, f);
  spin_lock(&b);
  spin_unlock(&b);
  spin_unlock_irqrestore(&a, f);
cpu C1:
  irq_enter hardirq
  spin_lock b
  spin_unlock b
  irq_exit hardirq
)");
  EXPECT_ONLY(later, FindingType::inconsistent_lock_state);
  EXPECT_EQ(get(later, FindingType::inconsistent_lock_state).classes, (std::vector<std::string>{"b"}));
}

TEST(Usage, SafeToSafeIsClean) {
  auto r = run(R"(
spinlock a, b
cpu C0:
  irq_enter hardirq
  spin_lock a
  spin_unlock a
  irq_exit hardirq
task t:
  spin_lock_irqsave(&b, f);
  spin_unlock_irqrestore(&b, f);
  spin_lock_irqsave(&a, f);
  spin_lock(&b);
  spin_unlock(&b);
  spin_unlock_irqrestore(&a, f);
)");
  EXPECT_CLEAN(r);
}

TEST(Usage, IrqInversionWhenTheUsageComesLast) {
  // a -> b exists; b is taken with irqs on; then a is used in hardirq: inversion.
  auto r = run(R"(
spinlock a, b
task t:
  spin_lock_irqsave(&a, f);
  spin_lock(&b);
  spin_unlock(&b);
  spin_unlock_irqrestore(&a, f);
  spin_lock b
  spin_unlock b
cpu C0:
  irq_enter hardirq
  spin_lock a
  spin_unlock a
  irq_exit hardirq
)");
  EXPECT_ONLY(r, FindingType::irq_lock_inversion);
  EXPECT_EQ(get(r, FindingType::irq_lock_inversion).classes, (std::vector<std::string>{"a", "b"}));
}

TEST(Usage, IrqInversionBackwardsWhenEnabledComesLast) {
  auto r = run(R"(
spinlock a, b
cpu C0:
  irq_enter hardirq
  spin_lock a
  spin_unlock a
  irq_exit hardirq
task t:
  spin_lock_irqsave(&a, f);
  spin_lock(&b);
  spin_unlock(&b);
  spin_unlock_irqrestore(&a, f);
  spin_lock b
  spin_unlock b
)");
  EXPECT_ONLY(r, FindingType::irq_lock_inversion);
}

TEST(Usage, NoInversionWhenUnsafeLockIsIrqsafe) {
  auto r = run(R"(
spinlock a, b
task t:
  spin_lock_irqsave(&a, f);
  spin_lock(&b);
  spin_unlock(&b);
  spin_unlock_irqrestore(&a, f);
  spin_lock_irqsave(&b, f);
  spin_unlock_irqrestore(&b, f);
cpu C0:
  irq_enter hardirq
  spin_lock a
  spin_unlock a
  irq_exit hardirq
)");
  EXPECT_CLEAN(r);
}

// A count is the number of distinct lock chains that showed the problem, the same for every
// check: the same path again is the same occurrence; another path is another.
TEST(Count, ConflictsCountDistinctPaths) {
  auto r = run(R"(
spinlock l, m
cpu C0:
  irq_enter hardirq
  spin_lock l
  spin_unlock l
  irq_exit hardirq
task t:
  spin_lock l
  spin_unlock l
  spin_lock l
  spin_unlock l
  spin_lock m
  spin_lock l
  spin_unlock l
  spin_unlock m
)");
  ASSERT_EQ(count(r, FindingType::inconsistent_lock_state), 1u);
  EXPECT_EQ(get(r, FindingType::inconsistent_lock_state).count, 2u);  // l alone, l under m
}

TEST(Count, CyclesCountDistinctPathsToo) {
  std::string text = "mutex a, b, c\n";
  for (int i = 0; i < 1000; ++i)  // the same ABBA, a thousand times
    text += "thread T" + std::to_string(i) + ":\n lock a\n lock b\n unlock b\n unlock a\n lock b\n lock a\n"
            " unlock a\n unlock b\n";
  auto same = run(text);
  ASSERT_EQ(count(same, FindingType::circular_dependency), 1u);
  EXPECT_EQ(get(same, FindingType::circular_dependency).count, 1u);
  // The closing edge taken on another chain (under c) is another occurrence.
  auto other = run(text + "thread U:\n lock c\n lock b\n lock a\n unlock a\n unlock b\n unlock c\n");
  EXPECT_EQ(get(other, FindingType::circular_dependency).count, 2u);
}

// ---------------------------------------------------------------- wait types
TEST(Wait, MutexUnderSpinlock) {
  auto r = run(R"(
spinlock s
mutex m
task t in nci_uart_recv:
  spin_lock s
  mutex_lock m
  mutex_unlock m
  spin_unlock s
)");
  EXPECT_ONLY(r, FindingType::invalid_wait_context);
  EXPECT_EQ(get(r, FindingType::invalid_wait_context).classes, (std::vector<std::string>{"m", "s"}));
}

TEST(Wait, MutexOutsideSpinlockIsClean) {
  auto r = run(R"(
spinlock s
mutex m
task t:
  mutex_lock m
  spin_lock s
  spin_unlock s
  mutex_unlock m
)");
  EXPECT_CLEAN(r);
}

TEST(Wait, MutexInHardirq) {
  auto r = run(R"(
mutex m
cpu C0:
  irq_enter hardirq
  mutex_lock m
  mutex_unlock m
  irq_exit hardirq
)");
  EXPECT_EQ(count(r, FindingType::invalid_wait_context), 1u);
}

TEST(Wait, MutexTrylockUnderSpinlockIsClean) {
  auto r = run(R"(
spinlock s
mutex m
task t:
  spin_lock s
  mutex_trylock m
  mutex_unlock m
  spin_unlock s
)");
  EXPECT_CLEAN(r);
}

TEST(Wait, SleepUnderSpinlock) {
  auto r = run(R"(
spinlock s
task t:
  spin_lock s
  msleep(10);
  spin_unlock s
)");
  EXPECT_ONLY(r, FindingType::sleeping_in_invalid_context);
  // Found after the acquisition: s is held.
  const Finding& f = get(r, FindingType::sleeping_in_invalid_context);
  ASSERT_EQ(f.participants.size(), 1u);
  ASSERT_EQ(f.participants[0].held.size(), 1u);
  EXPECT_EQ(f.participants[0].held[0].name, "s");
}

TEST(Wait, SleepAfterUnlockIsClean) {
  auto r = run(R"(
spinlock s
task t:
  spin_lock s
  spin_unlock s
  msleep(10);
  kmalloc(64, GFP_KERNEL);
  spin_lock s
  kmalloc(64, GFP_ATOMIC);
  spin_unlock s
)");
  EXPECT_CLEAN(r);
}

TEST(Wait, SleepWithIrqsDisabled) {
  auto r = run(R"(
task t:
  local_irq_disable
  kmalloc(64, GFP_KERNEL);
  local_irq_enable
)");
  EXPECT_ONLY(r, FindingType::sleeping_in_invalid_context);
}

// ---------------------------------------------------------------- balance and lifetimes
TEST(Balance, BadUnlock) {
  auto r = run(R"(
mutex m
task t:
  mutex_lock m
  mutex_unlock m
  mutex_unlock m
)");
  EXPECT_ONLY(r, FindingType::bad_unlock_balance);
}

TEST(Balance, BalancedIsClean) {
  auto r = run(R"(
mutex m
task t:
  mutex_lock m
  mutex_unlock m
)");
  EXPECT_CLEAN(r);
}

TEST(Balance, UnknownReleaseToleratedWhenAsked) {
  ValidatorOptions o;
  o.report_unknown_release = false;
  Validator v(o);
  Context t = v.context(1, "t");
  v.release(t, 42, {});
  EXPECT_EQ(v.finding_count(), 0u);
}

TEST(Balance, StillHeldAtExit) {
  auto r = run(R"(
mutex m
task t:
  mutex_lock m
  exit
)");
  EXPECT_ONLY(r, FindingType::still_has_locks_held);
}

TEST(Balance, ReleasedBeforeExitIsClean) {
  auto r = run(R"(
mutex m
task t:
  mutex_lock m
  mutex_unlock m
  exit
)");
  EXPECT_CLEAN(r);
}

TEST(Balance, HeldReturningToUser) {
  auto r = run(R"(
mutex dev_lock
task ioctl in foo_ioctl:
  mutex_lock dev_lock
  return_to_user
  mutex_unlock dev_lock
)");
  EXPECT_ONLY(r, FindingType::lock_held_returning_to_user);
}

TEST(Lifetime, HeldLockFreed) {
  auto r = run(R"(
spinlock obj_lock
task t:
  spin_lock obj_lock
  destroy obj_lock
)");
  EXPECT_ONLY(r, FindingType::held_lock_freed);
}

TEST(Lifetime, FreedAfterReleaseIsClean) {
  auto r = run(R"(
spinlock obj_lock
task t:
  spin_lock obj_lock
  spin_unlock obj_lock
  destroy obj_lock
)");
  EXPECT_CLEAN(r);
}

TEST(Lifetime, ReusedAddressIsANewLockOfAnotherClass) {
  // a lock at address 1 (class A) is destroyed; the memory becomes a lock of class C. B -> C
  // after A -> B is no cycle.
  Validator v;
  Context t = v.context(1, "t");
  ClassId A = v.lock_class("A", LockKind::mutex), B = v.lock_class("B", LockKind::mutex),
          C = v.lock_class("C", LockKind::mutex);
  v.lock_init(1, A);
  v.lock_init(2, B);
  v.acquire(t, 1, {}, {});
  v.acquire(t, 2, {}, {});
  v.release(t, 2, {});
  v.release(t, 1, {});
  v.lock_destroy(t, 1, {});
  v.lock_init(1, C);
  v.acquire(t, 2, {}, {});
  v.acquire(t, 1, {}, {});
  v.release(t, 1, {});
  v.release(t, 2, {});
  EXPECT_EQ(v.finding_count(), 0u);
  // And the old class's edges are still there for other instances of A.
  v.lock_init(3, A);
  v.acquire(t, 2, {}, {});
  v.acquire(t, 3, {}, {});
  EXPECT_EQ(v.finding_count(), 1u);
}

// ---------------------------------------------------------------- gate locks
TEST(Gate, CycleUnderCommonLockIsGuarded) {
  auto r = run(R"(
mutex g, a, b
thread T1:
  lock g
  lock a
  lock b
  unlock b
  unlock a
  unlock g
thread T2:
  lock g
  lock b
  lock a
  unlock a
  unlock b
  unlock g
)");
  EXPECT_ONLY(r, FindingType::guarded_cycle);
  const Finding* f = &get(r, FindingType::guarded_cycle);
  ASSERT_FALSE(f->details.empty());
  EXPECT_EQ(f->details.at(0).second, "g");
}

TEST(Gate, OneUnguardedPathMakesItADeadlock) {
  auto r = run(R"(
mutex g, a, b
thread T1:
  lock g
  lock a
  lock b
  unlock b
  unlock a
  unlock g
thread T2:
  lock g
  lock b
  lock a
  unlock a
  unlock b
  unlock g
thread T3:
  lock b
  lock a
  unlock a
  unlock b
)");
  // The guarded report is superseded by the real one.
  EXPECT_ONLY(r, FindingType::circular_dependency);
}

TEST(Gate, ReadHeldGateDoesNotGuard) {
  auto r = run(R"(
rwsem g
mutex a, b
thread T1:
  down_read g
  lock a
  lock b
  unlock b
  unlock a
  up_read g
thread T2:
  down_read g
  lock b
  lock a
  unlock a
  unlock b
  up_read g
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
}

TEST(Gate, GateClassWithTwoInstancesDoesNotGuard) {
  // g1 and g2 are two instances of one class: T1 under g1 and T2 under g2 can interleave.
  auto r = run(R"(
mutex g, a, b
instance g2 of g
thread T1:
  lock g
  lock a
  lock b
  unlock b
  unlock a
  unlock g
thread T2:
  lock g2
  lock b
  lock a
  unlock a
  unlock b
  unlock g2
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
}

TEST(Gate, GateLostLaterTurnsGuardedIntoDeadlock) {
  // Guarded at first; later the gate class gets a second instance, so it guards nothing.
  auto r = run(R"(
mutex g, a, b
thread T1:
  lock g
  lock a
  lock b
  unlock b
  unlock a
  unlock g
thread T2:
  lock g
  lock b
  lock a
  unlock a
  unlock b
  unlock g
instance g2 of g
)");
  EXPECT_ONLY(r, FindingType::circular_dependency);
}

// ---------------------------------------------------------------- scenario language errors
}  // namespace
}  // namespace lockhound

namespace {

// A cycle through an inferred class that enters it through one lock and leaves it through
// another: no lock of the class plays both parts, so it cannot close as seen: a note (shown with
// --show-guarded), not a deadlock. The same lock in both parts is the deadlock it looks like.
TEST(Classes, InferredClassCycleThroughTwoDifferentLocksIsANote) {
  for (bool same : {false, true}) {
    lockhound::Validator v;
    lockhound::Context t1 = v.context(1, "T1"), t2 = v.context(2, "T2");
    lockhound::ClassId node = v.lock_class("make_node (tree.cc:10)", lockhound::LockKind::pthread_rwlock);
    v.set_class_inferred(node);
    lockhound::ClassId global = v.lock_class("global_lock", lockhound::LockKind::pthread_mutex);
    v.lock_init(1, node);
    v.lock_init(2, node);
    v.lock_init(9, global);
    v.acquire(t1, 1, {}, {});  // node a, then the global
    v.acquire(t1, 9, {}, {});
    v.release(t1, 9, {});
    v.release(t1, 1, {});
    uint64_t b = same ? 1 : 2;
    v.acquire(t2, 9, {}, {});  // the global, then node b (or a again)
    v.acquire(t2, b, {}, {});
    v.release(t2, b, {});
    v.release(t2, 9, {});
    auto fs = v.findings();
    ASSERT_EQ(fs.size(), 1u) << same;
    EXPECT_EQ(fs[0].type, lockhound::FindingType::circular_dependency);
    EXPECT_EQ(lockhound::finding_severity(fs[0]), same ? "deadlock" : "note") << fs[0].explanation;
    if (!same) {
      EXPECT_NE(fs[0].explanation.find("cannot close"), std::string::npos) << fs[0].explanation;
    }
    // The closing edge (global held, node taken) is one of the edges of the chain.
    EXPECT_EQ(fs[0].chain.back().from, "global_lock");
  }
}

}  // namespace
