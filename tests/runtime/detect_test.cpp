// Detection tests: each program in progs/ runs under the built `lockhound run --format json`
// (a real exec with LD_PRELOAD, as a user runs it) and its report is checked: every expected
// finding present with the right classes, every correct program clean with its own output.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "runtime/run_helper.h"

namespace {

using namespace lockhound::rttest;

TEST(RuntimeDetect, AbbaAcrossTwoThreadsThatNeverHangs) {
  ProgRun r = run_under("abba", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(r.out, "abba done\n");
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(cycles[0], "lock_a"));
  EXPECT_TRUE(has_class(cycles[0], "lock_b"));
  EXPECT_EQ(cycles[0]["chain"].size(), 2u);
  // Both acquisition stacks are symbolized to the program's functions.
  EXPECT_TRUE(mentions_function(cycles[0], "forward")) << cycles[0].dump(2);
  EXPECT_TRUE(mentions_function(cycles[0], "backward")) << cycles[0].dump(2);
  EXPECT_NE(cycles[0].dump().find("abba.c"), std::string::npos);
  EXPECT_EQ(r.report["findings"].size(), 1u) << dump(r);
}

TEST(RuntimeDetect, ThreeLockCycleOverThreeThreads) {
  ProgRun r = run_under("cycle3", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_EQ(cycles[0]["chain"].size(), 3u);
  EXPECT_TRUE(has_class(cycles[0], "first_lock"));
  EXPECT_TRUE(has_class(cycles[0], "second_lock"));
  EXPECT_TRUE(has_class(cycles[0], "table.m")) << cycles[0]["classes"].dump();
}

TEST(RuntimeDetect, RwlockReadWriteInversion) {
  ProgRun bad = run_under("rwlock", {"bad"});
  EXPECT_EQ(bad.exit_code, 66) << dump(bad);
  auto cycles = of_type(bad.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(bad);
  EXPECT_TRUE(has_class(cycles[0], "table_rw"));
  EXPECT_TRUE(has_class(cycles[0], "stats_lock"));

  ProgRun good = run_under("rwlock", {"good"});
  EXPECT_EQ(good.exit_code, 0) << dump(good);
  EXPECT_TRUE(of_type(good.report, "circular_dependency").empty()) << dump(good);

  // The same with the reader's read lock on the fast path (taken for writing alone before).
  ProgRun warm = run_under("rwlock", {"good_warm"});
  EXPECT_EQ(warm.exit_code, 0) << dump(warm);
  EXPECT_EQ(warm.report["findings"].size(), 0u) << dump(warm);
  EXPECT_GT(warm.report["stats"]["fast_acquisitions"].get<uint64_t>(), 1000u) << dump(warm);
}

// One thread read-locks a rwlock twice while another takes it for writing: no deadlock with
// glibc's default kind (readers never queue behind a writer); with a writer-preferring one a
// writer arriving in between hangs both, and the report says that (not "a certain self-deadlock").
TEST(RuntimeDetect, RecursiveReadDependsOnTheRwlockKind) {
  ProgRun def = run_under("rwlock", {"reread"});
  EXPECT_EQ(def.exit_code, 0) << dump(def);
  EXPECT_EQ(def.report["findings"].size(), 0u) << dump(def);

  ProgRun pref = run_under("rwlock", {"reread_wpref"});
  EXPECT_EQ(pref.exit_code, 66) << dump(pref);
  EXPECT_EQ(pref.report["findings"].size(), 1u) << dump(pref);
  auto rec = of_type(pref.report, "recursive_locking");
  ASSERT_EQ(rec.size(), 1u) << dump(pref);
  EXPECT_TRUE(has_class(rec[0], "pref_rw")) << rec[0].dump(2);
  // The same instance, read twice: a hang only with a writer in between (the scenario has one).
  EXPECT_NE(rec[0]["details"]["instance"].get<std::string>().find("read twice"), std::string::npos) << rec[0].dump(2);
  ASSERT_EQ(rec[0]["acquisitions"].size(), 2u) << rec[0].dump(2);
  EXPECT_EQ(rec[0]["acquisitions"][0]["mode"], "read");
  EXPECT_EQ(rec[0]["acquisitions"][1]["mode"], "read");
  EXPECT_EQ(rec[0]["scenario"]["columns"].size(), 2u) << rec[0].dump(2);
}

TEST(RuntimeDetect, LockTakenInSignalHandler) {
  ProgRun bad = run_under("signal_lock", {"bad"});
  EXPECT_EQ(bad.exit_code, 66) << dump(bad);
  EXPECT_EQ(bad.out, "signal done 1\n");
  auto found = of_type(bad.report, "inconsistent_lock_state");
  ASSERT_EQ(found.size(), 1u) << dump(bad);
  EXPECT_TRUE(has_class(found[0], "log_lock"));
  EXPECT_TRUE(mentions_function(found[0], "on_usr1")) << found[0].dump(2);
  // A signal, not a hardirq: the interrupt of user space.
  EXPECT_EQ(found[0]["details"]["interrupt"], "signal") << found[0].dump(2);
  bool in_handler = false;
  for (const auto& a : found[0]["acquisitions"]) in_handler |= a.value("irq", "") == "signal";
  EXPECT_TRUE(in_handler) << found[0].dump(2);

  ProgRun good = run_under("signal_lock", {"good"});
  EXPECT_EQ(good.exit_code, 0) << dump(good);
  EXPECT_EQ(good.report["findings"].size(), 0u) << dump(good);
}

TEST(RuntimeDetect, JumpOutOfSignalHandlerLeavesSignalContext) {
  // A handler left with siglongjmp/longjmp (plain and through __longjmp_chk, on the thread's stack
  // and on an alternate one): main's later acquisitions are ordinary ones, not a handler's.
  const std::vector<std::pair<std::string, std::string>> clean = {
      {"jump", "3 jumps"}, {"longjmp", "2 jumps"}, {"altstack", "3 jumps"}};
  for (const std::string prog : {"sigjump", "sigjump_fortify"}) {
    for (const auto& [mode, jumps] : clean) {
      ProgRun r = run_under(prog, {mode});
      EXPECT_EQ(r.exit_code, 0) << prog << " " << mode << ": " << dump(r);
      EXPECT_EQ(r.out, "sigjump " + mode + ": " + jumps + "\n") << prog << " " << mode;
      EXPECT_EQ(r.report["findings"].size(), 0u) << prog << " " << mode << ": " << dump(r);
    }
    // The same jumps leave a real problem found: the lock taken in the handler before it jumps,
    // or in a handler that jumps only within itself and returns.
    for (const std::string mode : {"jump_lock", "inner"}) {
      ProgRun r = run_under(prog, {mode});
      EXPECT_EQ(r.exit_code, 66) << prog << " " << mode << ": " << dump(r);
      auto found = of_type(r.report, "inconsistent_lock_state");
      ASSERT_EQ(found.size(), 1u) << prog << " " << mode << ": " << dump(r);
      EXPECT_TRUE(has_class(found[0], "table_lock"));
      EXPECT_TRUE(mentions_function(found[0], "on_usr1")) << found[0].dump(2);
      EXPECT_EQ(r.report["findings"].size(), 1u) << prog << " " << mode << ": " << dump(r);
    }
    // A jump out of a handler that ran unobserved (its thread had no state yet) gives the thread
    // back to the runtime: its later ABBA half is seen.
    ProgRun r = run_under(prog, {"hidden"});
    EXPECT_EQ(r.exit_code, 66) << prog << " hidden: " << dump(r);
    auto cycles = of_type(r.report, "circular_dependency");
    ASSERT_EQ(cycles.size(), 1u) << prog << " hidden: " << dump(r);
    EXPECT_TRUE(has_class(cycles[0], "lock_a"));
    EXPECT_TRUE(has_class(cycles[0], "lock_b"));
  }
}

TEST(RuntimeDetect, RecursiveLockingOfNormalMutex) {
  ProgRun bad = run_under("recursive", {"bad"});
  EXPECT_EQ(bad.exit_code, 66) << dump(bad);
  auto found = of_type(bad.report, "recursive_locking");
  ASSERT_EQ(found.size(), 1u) << dump(bad);
  EXPECT_TRUE(has_class(found[0], "config_lock"));
  EXPECT_EQ(bad.report["findings"].size(), 1u) << "the recursive mutex is fine: " << dump(bad);

  ProgRun good = run_under("recursive", {"good"});
  EXPECT_EQ(good.exit_code, 0) << dump(good);
  EXPECT_EQ(good.report["findings"].size(), 0u) << dump(good);
}

// Locks made at one place (one init-site class) and nested: the order between the two locks
// decides, as for locks of different classes; lockdep's class rule would call every such
// nesting recursive locking (ld.gold's Lock objects were reported that way).
TEST(RuntimeDetect, LocksMadeAtOnePlaceAreCheckedPerPair) {
  ProgRun ordered = run_under("siblings", {"ordered"});
  EXPECT_EQ(ordered.exit_code, 0) << dump(ordered);
  EXPECT_EQ(ordered.out, "siblings done\n");
  EXPECT_EQ(ordered.report["findings"].size(), 0u) << dump(ordered);
  EXPECT_EQ(ordered.report["stats"]["classes"].get<int>(), 1) << dump(ordered);

  ProgRun inverted = run_under("siblings", {"inverted"});
  EXPECT_EQ(inverted.exit_code, 66) << dump(inverted);
  auto cycles = of_type(inverted.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(inverted);
  EXPECT_EQ(inverted.report["findings"].size(), 1u) << dump(inverted);
  ASSERT_EQ(cycles[0]["chain"].size(), 2u);
  // The two edges name two different locks of the one class, in opposite orders.
  std::string a = cycles[0]["chain"][0]["from"], b = cycles[0]["chain"][0]["to"];
  EXPECT_NE(a, b);
  EXPECT_EQ(cycles[0]["chain"][1]["from"], b);
  EXPECT_EQ(cycles[0]["chain"][1]["to"], a);
  EXPECT_NE(a.find("obj_lock_init (siblings.c:"), std::string::npos) << a;
  EXPECT_TRUE(mentions_function(cycles[0], "first_half")) << cycles[0].dump(2);
  EXPECT_TRUE(mentions_function(cycles[0], "second_half")) << cycles[0].dump(2);
  // Two locks of one kind: a cycle between instances, both nestings in transfer().
  EXPECT_TRUE(cycles[0]["details"].contains("instances")) << cycles[0].dump(2);
  for (const auto& e : cycles[0]["chain"]) EXPECT_TRUE(mentions_function(e["to_site"], "transfer")) << e.dump(2);

  ProgRun guarded = run_under("siblings", {"guarded"});
  EXPECT_EQ(guarded.exit_code, 0) << dump(guarded);
  auto g = of_type(guarded.report, "guarded_cycle");
  ASSERT_EQ(g.size(), 1u) << dump(guarded);
  EXPECT_NE(g[0].dump().find("table_lock"), std::string::npos) << g[0].dump(2);
  EXPECT_TRUE(of_type(guarded.report, "circular_dependency").empty()) << dump(guarded);

  // The pair's chain on the fast path (its key names the two locks), then the other order.
  ProgRun warm = run_under("siblings", {"warm"});
  EXPECT_EQ(warm.exit_code, 66) << dump(warm);
  EXPECT_EQ(of_type(warm.report, "circular_dependency").size(), 1u) << dump(warm);
  // Two parents over two children, each pair a thousand times: the parents' child memos vouch
  // for the pairs (each child's key memo keeps one parent and misses every other time), so the
  // pair cache is looked up only while the memos learn (without the parents' memos: 2000 times);
  // and a new pair under a parent (p, x) is still checked: the cycle with x then p found.
  ProgRun parents = run_under("siblings", {"parents"});
  EXPECT_EQ(parents.exit_code, 66) << dump(parents);
  EXPECT_EQ(of_type(parents.report, "circular_dependency").size(), 1u) << dump(parents);
  EXPECT_GE(parents.report["stats"]["fast_acquisitions"].get<int>(), 4 * 999) << dump(parents);
  // Each parent's first two pairs go into its memo alone (it has room), so the cache is asked
  // once: for p then x, after p's memo filled (6 times when every new pair asked it first).
  EXPECT_LE(parents.report["stats"]["pair_cache_lookups"].get<int>(), 1) << dump(parents);
  // One parent over four children, 4000 nestings: two pairs fit in the parent's memo, and a pair
  // pushed out of it before it reached the pair cache is found by its child's key memo or comes
  // back to the engine once, not every round (5 acquisitions reach the engine).
  ProgRun brood = run_under("siblings", {"brood"});
  EXPECT_EQ(brood.exit_code, 0) << dump(brood);
  EXPECT_EQ(brood.report["findings"].size(), 0u) << dump(brood);
  EXPECT_GE(brood.report["stats"]["fast_acquisitions"].get<int>(),
            brood.report["stats"]["acquisitions"].get<int>() - 20) << dump(brood);
  // A pair warm in its inner lock's key memo (a, b), then that lock under another of the class
  // (x, b): the memo knows the pair, not the class, so x then b goes to the engine, which had b
  // then x before.
  ProgRun memo = run_under("siblings", {"memo"});
  EXPECT_EQ(memo.exit_code, 66) << dump(memo);
  EXPECT_EQ(of_type(memo.report, "circular_dependency").size(), 1u) << dump(memo);
  // The same under a third lock (the pair's chain on the fast path below it): the other order
  // under that lock is guarded, without it a circular dependency.
  ProgRun gated = run_under("siblings", {"gated"}, {"--show-guarded"});
  EXPECT_EQ(gated.exit_code, 66) << dump(gated);
  EXPECT_EQ(of_type(gated.report, "guarded_cycle").size(), 1u) << dump(gated);
  EXPECT_EQ(of_type(gated.report, "circular_dependency").size(), 1u) << dump(gated);
  // A lock made again at the same address is a new lock: the old pair's order is not its own.
  ProgRun reborn = run_under("siblings", {"reborn"});
  EXPECT_EQ(reborn.exit_code, 0) << dump(reborn);
  EXPECT_EQ(reborn.out, "reborn at the same address\nsiblings done\n");
  EXPECT_EQ(reborn.report["stats"]["classes"].get<int>(), 1) << dump(reborn);
  EXPECT_EQ(reborn.report["findings"].size(), 0u) << dump(reborn);
  ProgRun reborn2 = run_under("siblings", {"reborn2"});
  EXPECT_EQ(reborn2.exit_code, 66) << dump(reborn2);
  EXPECT_EQ(of_type(reborn2.report, "circular_dependency").size(), 1u) << dump(reborn2);

  ProgRun self = run_under("siblings", {"self"});
  EXPECT_EQ(self.exit_code, 66) << dump(self);
  auto rec = of_type(self.report, "recursive_locking");
  ASSERT_EQ(rec.size(), 1u) << dump(self);
  EXPECT_NE(rec[0].dump().find("same lock instance"), std::string::npos) << rec[0].dump(2);
}

// Two pairs of one init site whose addresses mix alike ((c << 1) ^ d == (b << 1) ^ a): the
// runtime's key for a validated pair c, d must not vouch for the new pair b, a, which closes a
// cycle with a, b (pair_collide.c). With the two addresses folded into one word before they were
// mixed, 17,501 of the 200k pairs of 100k such mutexes in an array had another pair's key, and
// this cycle went unreported.
TEST(RuntimeDetect, APairIsNotTakenForAnotherWhoseAddressesMixAlike) {
  ProgRun r = run_under("pair_collide", {});
  ASSERT_NE(r.out.find("pair_collide done"), std::string::npos) << dump(r);
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_EQ(cycles[0]["chain"].size(), 2u) << cycles[0].dump(2);
  EXPECT_EQ(r.report["stats"]["classes"].get<int>(), 1) << dump(r);
}

// Locks made by one helper through two layered constructors, all in one start-up function, and
// nested in a fixed rank order: four classes (the init site and three frames outwards), no
// cycle. With the init site and its caller only they were two classes and a false cycle (as in
// every run of the JVM: HotSpot's Mutex and Monitor).
TEST(RuntimeDetect, LayeredLockConstructorsKeepLocksApart) {
  ProgRun r = run_under("ranked", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.out, "ranked done\n");
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_EQ(r.report["stats"]["classes"].get<int>(), 4) << dump(r);
  EXPECT_EQ(r.report["stats"]["edges"].get<int>(), 2) << dump(r);
}

// A mutex unlocked by a thread that did not lock it: reported once, with its holder; the holder
// no longer holds it afterwards (no recursive locking when it takes the lock again).
TEST(RuntimeDetect, LockHandedOverBetweenThreads) {
  ProgRun r = run_under("handoff", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(r.out, "handoff done\n");
  auto bad = of_type(r.report, "bad_unlock_balance");
  ASSERT_EQ(bad.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(bad[0], "handoff_lock"));
  EXPECT_NE(bad[0].dump().find("main thread"), std::string::npos) << bad[0].dump(2);
  EXPECT_EQ(r.report["findings"].size(), 1u) << "nothing but the handover: " << dump(r);
}

// parent -> list_lock -> child, parent and child of one init-site class: the class rule's
// cycle, reported, with the two different locks it passes the class through named, so the
// reader can judge whether one node can play both parts.
TEST(RuntimeDetect, CycleThroughTwoLocksOfOneClassSaysSo) {
  ProgRun r = run_under("roles", {});
  // No lock of the class was seen in both parts: a note, which does not fail the run.
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_EQ(cycles[0]["severity"], "note") << dump(r);
  std::string d = cycles[0]["details"].dump();
  // The class: the lock as its init call's line writes it, where, and the caller it was inlined into.
  EXPECT_NE(d.find("different locks of n->m initialised in node_new (roles.c:17) from main (roles.c:"), std::string::npos)
      << d;
  EXPECT_NE(d.find("can play both parts"), std::string::npos) << d;
  // An ordinary ABBA between two locks has no such note.
  ProgRun abba = run_under("abba", {});
  auto plain = of_type(abba.report, "circular_dependency");
  ASSERT_EQ(plain.size(), 1u) << dump(abba);
  EXPECT_EQ(plain[0]["details"].dump().find("different locks"), std::string::npos) << plain[0].dump(2);
}

TEST(RuntimeDetect, CycleUnderGateLockIsGuarded) {
  ProgRun r = run_under("gate", {});
  EXPECT_EQ(r.exit_code, 0) << "guarded cycles are not problems by default: " << dump(r);
  EXPECT_TRUE(of_type(r.report, "circular_dependency").empty()) << dump(r);
  auto guarded = of_type(r.report, "guarded_cycle");
  ASSERT_EQ(guarded.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(guarded[0], "inner_a"));
  EXPECT_TRUE(has_class(guarded[0], "inner_b"));
  EXPECT_NE(guarded[0]["chain"].dump().find("gate_lock"), std::string::npos);

  // Shown on request; a note fails the run only when fail_on says so.
  ProgRun shown = run_under("gate", {}, {"--show-guarded"});
  EXPECT_EQ(shown.exit_code, 0) << dump(shown);
  EXPECT_EQ(of_type(shown.report, "guarded_cycle")[0]["severity"], "note") << dump(shown);
  ProgRun failing = run_under("gate", {}, {"--fail-on", "all"});
  EXPECT_EQ(failing.exit_code, 66) << dump(failing);
}

TEST(RuntimeDetect, DestroyedLockMemoryReusedIsANewLock) {
  ProgRun r = run_under("reuse", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.out, "reuse done\n");
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  // Init-site classes are named by function and file:line.
  EXPECT_GE(r.report["stats"]["classes"].get<int>(), 5) << dump(r);
}

TEST(RuntimeDetect, ReverseOrderTrylockIsNoDeadlock) {
  ProgRun r = run_under("trylock", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
}

TEST(RuntimeDetect, SpinlockHeldAcrossSleep) {
  ProgRun bad = run_under("spin_sleep", {"bad"});
  EXPECT_EQ(bad.exit_code, 66) << dump(bad);
  auto found = of_type(bad.report, "sleeping_in_invalid_context");
  ASSERT_EQ(found.size(), 1u) << dump(bad);
  EXPECT_NE(found[0].dump().find("spin_guard"), std::string::npos) << found[0].dump(2);
  EXPECT_NE(found[0].dump().find("usleep"), std::string::npos) << found[0].dump(2);

  ProgRun good = run_under("spin_sleep", {"good"});
  EXPECT_EQ(good.exit_code, 0) << dump(good);
  EXPECT_EQ(good.report["findings"].size(), 0u) << dump(good);
}

// A spinlock's chains take the fast path too (its tag lives in a side table): held across a
// sleep after a thousand warm acquisitions, alone and under a mutex, it is still seen holding.
TEST(RuntimeDetect, WarmSpinlockHeldAcrossSleep) {
  ProgRun r = run_under("spin_sleep", {"warm"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(r.out, "spin done\n");
  auto sleeps = of_type(r.report, "sleeping_in_invalid_context");
  ASSERT_EQ(sleeps.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(sleeps[0], "spin_guard")) << sleeps[0].dump(2);
  EXPECT_NE(sleeps[0].dump().find("usleep"), std::string::npos) << sleeps[0].dump(2);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(cycles[0], "spin_guard"));
  EXPECT_TRUE(has_class(cycles[0], "warm_mutex"));
  EXPECT_EQ(of_type(r.report, "invalid_wait_context").size(), 1u) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 3u) << dump(r);
  EXPECT_EQ(r.report["stats"]["acquisitions"], 4006) << "every acquisition counted, fast or not";
}

TEST(RuntimeDetect, WatchdogCatchesRealDeadlock) {
  ProgRun r = run_under("deadlock", {}, {"--watchdog-ms", "200", "--watchdog-abort"}, 30);
  EXPECT_EQ(r.term_signal, SIGABRT) << dump(r);
  auto found = of_type(r.report, "actual_deadlock");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  const json& f = found[0];
  EXPECT_TRUE(has_class(f, "left_lock"));
  EXPECT_TRUE(has_class(f, "right_lock"));
  ASSERT_EQ(f["participants"].size(), 2u);
  for (const auto& p : f["participants"]) {
    EXPECT_EQ(p["held"].size(), 1u) << p.dump(2);
    EXPECT_FALSE(p["stack"].empty()) << p.dump(2);
    EXPECT_TRUE(p.contains("waits_for"));
  }
  EXPECT_TRUE(mentions_function(f, "left")) << f.dump(2);
  EXPECT_TRUE(mentions_function(f, "right")) << f.dump(2);
  // The order problem behind it was reported before the threads blocked.
  EXPECT_EQ(of_type(r.report, "circular_dependency").size(), 1u) << dump(r);
}

TEST(RuntimeDetect, C11Threads) {
  ProgRun r = run_under("c11", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  ASSERT_EQ(cycles[0]["classes"].size(), 2u);
  // Each named as its mtx_init call writes it, where, and from the caller init_locks was inlined into.
  EXPECT_EQ(cycles[0]["classes"].get<std::set<std::string>>(),
            (std::set<std::string>{"m1 initialised in init_locks (c11.c:13) from main (c11.c:34)",
                                   "m2 initialised in init_locks (c11.c:14) from main (c11.c:34)"}))
      << cycles[0]["classes"].dump();
}

TEST(RuntimeDetect, LockHeldAtThreadExit) {
  ProgRun r = run_under("exit_held", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto found = of_type(r.report, "still_has_locks_held");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  EXPECT_NE(found[0].dump().find("leaked_lock"), std::string::npos);
}

TEST(RuntimeDetect, ForkedChildReportsItsOwnFindings) {
  ProgRun r = run_under("forks", {});
  // The parent is clean, a process it started is not: the run fails (exitcode), as a script's
  // would, and the parent's report counts the child.
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_EQ(r.report["stats"]["followed_with_problems"], 1) << dump(r);
  ASSERT_EQ(r.children.size(), 1u) << dump(r);
  auto cycles = of_type(r.children[0], "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << r.children[0].dump(2);
  EXPECT_TRUE(has_class(cycles[0], "fork_a"));
  EXPECT_NE(r.out.find("parent, child exit 66"), std::string::npos) << r.out;
}

// In text format a child with nothing to report stays silent (no PREFIX.PID), even when it
// empties its environment, where `lockhound run` left the pid of the process it started.
TEST(RuntimeDetect, CleanChildStaysQuietWithoutItsEnvironment) {
  char tmpl[] = "/tmp/lockhound-quiet-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string cmd = std::string(LOCKHOUND_EXE) + " run -o " + (dir / "log").string() + " -- " +
                    RT_PROG_DIR + "/forks clean >" + (dir / "out").string() + " 2>&1";
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0) << slurp(dir / "out");
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("log.", 0) == 0) logs.push_back(slurp(e.path()));
  ASSERT_EQ(logs.size(), 1u) << "only the parent's summary: " << (logs.size() > 1 ? logs[1] : "");
  EXPECT_NE(logs[0].find("no locking problems found"), std::string::npos) << logs[0];
  fs::remove_all(dir);
}

// fork() while another thread holds log_lock, then the child takes it: the child hangs for ever,
// and its report names the thread that held the lock in the parent. The remedies (atfork
// handlers, re-initialising the lock in the child) are clean; a read lock held across fork has
// no known owner, so nothing is guessed.
TEST(RuntimeDetect, ChildWaitsForALockHeldByAThreadForkDidNotCopy) {
  ProgRun bad = run_under("fork_held", {"bad"}, {"--watchdog-abort"});
  EXPECT_EQ(bad.exit_code, 66) << "the parent is clean, its child is not: " << dump(bad);
  EXPECT_EQ(bad.report["findings"].size(), 0u) << dump(bad);
  EXPECT_EQ(bad.out, "child ended by signal 6\n") << dump(bad);
  ASSERT_EQ(bad.children.size(), 1u) << dump(bad);
  const json& child = bad.children[0];
  ASSERT_EQ(child["findings"].size(), 1u) << child.dump(2);
  auto found = of_type(child, "actual_deadlock");
  ASSERT_EQ(found.size(), 1u) << child.dump(2);
  EXPECT_TRUE(has_class(found[0], "log_lock")) << found[0].dump(2);
  // The child's main thread waits for log_lock; its holder is the parent's thread 1.
  ASSERT_EQ(found[0]["participants"].size(), 2u) << found[0].dump(2);
  EXPECT_EQ(found[0]["participants"][0]["name"], "main thread");
  EXPECT_EQ(found[0]["participants"][0]["waits_for"], "log_lock");
  EXPECT_EQ(found[0]["participants"][1]["name"], "thread 1");
  EXPECT_EQ(found[0]["participants"][1]["state"], "not copied by fork()");
  EXPECT_EQ(found[0]["details"]["holder"].get<std::string>().rfind("thread 1 (tid ", 0), 0u) << found[0].dump(2);
  // Both sides: the child's main thread waiting in main(), the parent's thread with the lock
  // taken in logger().
  std::string text = found[0].dump();
  EXPECT_NE(text.find("\"logger\""), std::string::npos) << found[0].dump(2);
  EXPECT_NE(text.find("pthread_atfork"), std::string::npos) << found[0].dump(2);

  for (const char* good : {"atfork", "reinit"}) {
    ProgRun r = run_under("fork_held", {good}, {"--watchdog-abort"});
    EXPECT_EQ(r.exit_code, 0) << good << ": " << dump(r);
    EXPECT_EQ(r.out, "child exit 0\n") << good << ": " << dump(r);
    ASSERT_EQ(r.children.size(), 1u) << good << ": " << dump(r);
    EXPECT_EQ(r.children[0]["findings"].size(), 0u) << good << ": " << r.children[0].dump(2);
  }
  // A hung child ends by SIGKILL, before any JSON report: these two read the text reports, which
  // are printed as each finding is made.
  char tmpl[] = "/tmp/lockhound-fork-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  auto text_run = [&](const std::string& mode, std::string& out) {
    std::string cmd = std::string(LOCKHOUND_EXE) + " run --watchdog-ms 0 -- " + RT_PROG_DIR + "/fork_held " +
                      mode + " 1000 > " + (dir / "out").string() + " 2> " + (dir / "err").string();
    int status = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status)) << mode;
    out = slurp(dir / "out");
    return slurp(dir / "err");
  };
  std::string out;
  std::string err = text_run("bad", out);
  EXPECT_EQ(out, "child hung\n") << err;
  EXPECT_NE(err.find("WARNING: actual deadlock: a lock held by a thread fork() did not copy"), std::string::npos)
      << err;
  err = text_run("rdlock", out);
  EXPECT_EQ(out, "child hung\n") << err;
  EXPECT_EQ(err.find("WARNING"), std::string::npos) << err;
  // A spinlock keeps no owner; the spin lockup report still names the thread that held it.
  std::string cmd = std::string(LOCKHOUND_EXE) + " run --spin-ms 200 -- " + RT_PROG_DIR +
                    "/fork_held spin 1500 > " + (dir / "out").string() + " 2> " + (dir / "err").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  err = slurp(dir / "err");
  EXPECT_EQ(slurp(dir / "out"), "child hung\n") << err;
  EXPECT_NE(err.find("WARNING: spinlock lockup suspected"), std::string::npos) << err;
  EXPECT_NE(err.find("has spun on stat_spin for over 200 ms; it was held by thread 1"), std::string::npos) << err;
  EXPECT_NE(err.find("of the parent process when it called fork()"), std::string::npos) << err;
  fs::remove_all(dir);
}

// A thread joins another while holding the lock that one needs to finish: the watchdog's
// wait-for graph has the join as a wait for the joined thread's end, so the hang is an actual
// deadlock with both stacks (the joiner's at the pthread_join call) and the lock to release.
TEST(RuntimeDetect, JoinWhileHoldingALockTheJoinedThreadNeeds) {
  ProgRun bad = run_under("join_held", {"bad"}, {"--watchdog-ms", "300", "--watchdog-abort"});
  EXPECT_EQ(bad.term_signal, SIGABRT) << dump(bad);
  auto found = of_type(bad.report, "actual_deadlock");
  ASSERT_EQ(found.size(), 1u) << dump(bad);
  EXPECT_EQ(bad.report["findings"].size(), 1u) << dump(bad);
  EXPECT_TRUE(has_class(found[0], "state_lock")) << found[0].dump(2);
  // The main thread joins thread 1 holding state_lock; thread 1 waits for state_lock.
  ASSERT_EQ(found[0]["participants"].size(), 2u) << found[0].dump(2);
  const json& joiner = found[0]["participants"][0];
  const json& joined = found[0]["participants"][1];
  EXPECT_EQ(joiner["name"], "main thread");
  EXPECT_EQ(joiner["state"], "joining");
  EXPECT_EQ(joiner["waits_for"], "the end of thread 1");
  ASSERT_EQ(joiner["held"].size(), 1u);
  EXPECT_EQ(joiner["held"][0]["name"], "state_lock");
  EXPECT_EQ(joined["name"], "thread 1");
  EXPECT_EQ(joined["waits_for"], "state_lock");
  std::string text = found[0].dump();
  EXPECT_NE(text.find("\"worker\""), std::string::npos) << found[0].dump(2);  // where it waits
  bool joiner_at_main = false;
  for (const auto& p : found[0]["participants"])
    if (p["state"] == "joining" && !p["stack"].empty() && p["stack"][0]["function"] == "main") joiner_at_main = true;
  EXPECT_TRUE(joiner_at_main) << found[0].dump(2);

  for (const char* good : {"good", "gated"}) {
    ProgRun r = run_under("join_held", {good}, {"--watchdog-ms", "300", "--watchdog-abort"});
    EXPECT_EQ(r.exit_code, 0) << good << ": " << dump(r);
    EXPECT_EQ(r.out, "joined\n") << good;
    EXPECT_EQ(r.report["findings"].size(), 0u) << good << ": " << dump(r);
  }
}

TEST(RuntimeDetect, CorrectCppProgramIsClean) {
  ProgRun r = run_under("cppclean", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.out, "caught 50\nclean done\n");
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_GT(r.report["stats"]["acquisitions"].get<int>(), 2000);
}

TEST(RuntimeDetect, AnnotationApiLinkedDirectly) {
  // api links -llockhound: no preload needed; run it directly with options in the environment.
  char tmpl[] = "/tmp/lockhound-api-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string cmd = "LOCKHOUND_OPTIONS=format=json:log_path=" + (dir / "log").string() + " " +
                    RT_PROG_DIR + "/api > " + (dir / "out").string();
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 66);
  EXPECT_EQ(slurp(dir / "out"), "findings: 1\n");
  json report;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("log.", 0) == 0) report = json::parse(slurp(e.path()));
  auto cycles = of_type(report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << report.dump(2);
  EXPECT_TRUE(has_class(cycles[0], "alpha_lock"));
  EXPECT_TRUE(has_class(cycles[0], "beta_lock"));
  // The API's own file/line reach the report.
  EXPECT_NE(cycles[0].dump().find("api.c"), std::string::npos);
  // The thread was named after its first lock events; the report uses the name for both sides.
  std::string text = cycles[0].dump();
  size_t first = text.find("ledger-writer (tid ");
  EXPECT_NE(first, std::string::npos) << cycles[0].dump(2);
  EXPECT_NE(text.find("ledger-writer (tid ", first + 1), std::string::npos) << cycles[0].dump(2);
  EXPECT_EQ(text.find("main thread"), std::string::npos) << cycles[0].dump(2);
  fs::remove_all(dir);
}

// Runs progs/api_block MODE (linked with -llockhound) with LOCKHOUND_OPTIONS, under `timeout`
// (a lock type that blocks before it says anything hangs: the test then fails, it does not hang).
struct ApiRun {
  int exit_code = -1, term_signal = 0;
  json report;
};
ApiRun run_api_block(const std::string& mode, const std::string& options) {
  char tmpl[] = "/tmp/lockhound-apiblock-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string cmd = "LOCKHOUND_OPTIONS=format=json:log_path=" + (dir / "log").string() + ":" + options +
                    " timeout -s KILL 60 " + RT_PROG_DIR + "/api_block " + mode + " >/dev/null 2>&1";
  int status = std::system(cmd.c_str());
  ApiRun r;
  // system() reports the shell's status: 128 + N for a child killed by signal N.
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    if (r.exit_code > 128) r.term_signal = r.exit_code - 128;
  }
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("log.", 0) == 0) {
      std::string text = slurp(e.path());
      if (!text.empty()) r.report = json::parse(text, nullptr, false);
    }
  fs::remove_all(dir);
  return r;
}

TEST(RuntimeDetect, ApiMutexLockedTwiceIsReportedBeforeItHangs) {
  ApiRun r = run_api_block("self", "halt_on_error=1");
  EXPECT_EQ(r.exit_code, 66) << r.report.dump(2);
  auto rec = of_type(r.report, "recursive_locking");
  ASSERT_EQ(rec.size(), 1u) << r.report.dump(2);
  EXPECT_TRUE(has_class(rec[0], "config_lock"));
  EXPECT_EQ(rec[0]["details"]["instance"].get<std::string>().rfind("same lock instance", 0), 0u);
}

TEST(RuntimeDetect, ApiAbbaThatReallyDeadlocksIsReportedTwice) {
  for (const char* mode : {"abba", "spin"}) {
    SCOPED_TRACE(mode);
    // The cycle before either thread blocks; then the watchdog sees both blocked in the locks.
    ApiRun r = run_api_block(mode, "watchdog_ms=300:spin_ms=300:watchdog_abort=1");
    EXPECT_EQ(r.term_signal, SIGABRT) << "exit " << r.exit_code << "\n" << r.report.dump(2);
    auto cycles = of_type(r.report, "circular_dependency");
    ASSERT_EQ(cycles.size(), 1u) << r.report.dump(2);
    EXPECT_TRUE(has_class(cycles[0], "ledger_lock") && has_class(cycles[0], "audit_lock"));
    if (std::string(mode) == "abba") {
      auto actual = of_type(r.report, "actual_deadlock");
      ASSERT_EQ(actual.size(), 1u) << r.report.dump(2);
      EXPECT_EQ(actual[0]["participants"].size(), 2u);
    } else {
      // Spinning threads: the watchdog reports the spinlock spun on for too long.
      EXPECT_GE(of_type(r.report, "spinlock_lockup_suspected").size(), 1u) << r.report.dump(2);
    }
  }
}

TEST(RuntimeDetect, ApiSharedMutexReaderAskingToWriteIsReportedBeforeItHangs) {
  ApiRun r = run_api_block("shared", "halt_on_error=1");
  EXPECT_EQ(r.exit_code, 66) << r.report.dump(2);
  auto rec = of_type(r.report, "recursive_locking");
  ASSERT_EQ(rec.size(), 1u) << r.report.dump(2);
  EXPECT_TRUE(has_class(rec[0], "table_lock"));
}

// A program killed by a fatal signal after a finding: the JSON report is on disk all the same (it
// is rewritten as findings come), whole and parseable, marked unfinished.
TEST(RuntimeDetect, FindingsSurviveAFatalSignal) {
  const std::pair<const char*, int> ways[] = {
      {"segv", SIGSEGV}, {"abort", SIGABRT}, {"term", SIGTERM}, {"int", SIGINT}, {"kill", SIGKILL}};
  for (const auto& [how, sig] : ways) {
    SCOPED_TRACE(how);
    ProgRun r = run_under("abba_die", {how});
    EXPECT_EQ(r.term_signal, sig) << dump(r);
    auto cycles = of_type(r.report, "circular_dependency");
    ASSERT_EQ(cycles.size(), 1u) << dump(r);
    EXPECT_TRUE(has_class(cycles[0], "first_lock") && has_class(cycles[0], "second_lock"));
    EXPECT_EQ(r.report["process"]["finished"], false) << dump(r);
  }
  // A process that ends normally says so.
  ProgRun ok = run_under("abba", {});
  EXPECT_EQ(ok.report["process"]["finished"], true) << dump(ok);
}

TEST(RuntimeDetect, ThreadsNamedByTheProgram) {
  // pthread_setname_np, by the thread itself after its first lock or by its creator before the
  // thread's first lock: reports use those names for every side.
  ProgRun r = run_under("named", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  std::string text = cycles[0].dump();
  EXPECT_NE(text.find("ledger-writer (tid "), std::string::npos) << cycles[0].dump(2);
  EXPECT_NE(text.find("audit-reader (tid "), std::string::npos) << cycles[0].dump(2);
  EXPECT_EQ(text.find("\"thread "), std::string::npos) << "a default name is left: " << cycles[0].dump(2);
}

TEST(RuntimeDetect, SignalFrameNamesTheInterruptedLine) {
  // The frame a signal interrupted holds the instruction itself, not a return address: the
  // report must name its line (the ud2), not the line before (a store), and mark the signal.
  std::ifstream src(std::string(LOCKHOUND_SOURCE_DIR) + "/tests/runtime/progs/sigframe.c");
  std::string text;
  int ud2_line = 0;
  for (int n = 1; std::getline(src, text); ++n)
    if (text.find("/* UD2 */") != std::string::npos) ud2_line = n;
  ASSERT_GT(ud2_line, 0);
  ProgRun r = run_under("sigframe", {});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto found = of_type(r.report, "bad_unlock_balance");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  const json& stack = found[0]["acquisitions"][0]["stack"];
  ASSERT_GE(stack.size(), 3u) << found[0].dump(2);
  EXPECT_EQ(stack[0]["function"], "on_ill") << found[0].dump(2);
  EXPECT_EQ(stack[1]["function"], "<signal handler called>") << found[0].dump(2);
  EXPECT_EQ(stack[2]["function"], "main") << found[0].dump(2);
  EXPECT_EQ(stack[2]["line"], ud2_line) << found[0].dump(2);
}

TEST(RuntimeDetect, TextReportAndSummary) {
  char tmpl[] = "/tmp/lockhound-txt-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string cmd = std::string(LOCKHOUND_EXE) + " run -- " + RT_PROG_DIR + "/abba > " +
                    (dir / "out").string() + " 2> " + (dir / "err").string();
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 66);
  std::string err = slurp(dir / "err");
  EXPECT_NE(err.find("possible circular locking dependency detected"), std::string::npos) << err;
  EXPECT_NE(err.find("lockhound: summary for"), std::string::npos) << err;
  EXPECT_NE(err.find("1 problem (circular_dependency 1)"), std::string::npos) << err;
  EXPECT_NE(err.find("lockhound: 2 locks, 2 classes, 2 edges, 4 chains, 4 acquisitions, 2 threads\n"),
            std::string::npos)
      << err;
  EXPECT_EQ(slurp(dir / "out"), "abba done\n");
  // One of a kind is said so: "1 lock", not "1 locks".
  cmd = std::string(LOCKHOUND_EXE) + " run -- " + RT_PROG_DIR + "/sigjump jump > /dev/null 2> " +
        (dir / "err1").string();
  status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  err = slurp(dir / "err1");
  EXPECT_NE(err.find("lockhound: 1 lock, 1 class, 0 edges, 1 chain, 2 acquisitions, 2 threads\n"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("engine:"), std::string::npos) << err;
  // verbosity=2 adds the engine's work: abba's second edge goes against the order its classes
  // were made in, so the order is searched once (and finds the cycle).
  cmd = std::string(LOCKHOUND_EXE) + " run --options verbosity=2 -- " + RT_PROG_DIR + "/abba > /dev/null 2> " +
        (dir / "err2").string();
  status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  err = slurp(dir / "err2");
  EXPECT_NE(err.find("lockhound: engine: 1 graph search, order respaced 0 times, about "), std::string::npos)
      << err;
  // and what the engine keeps per class and per edge.
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(MiB \([0-9]+ bytes per class, [0-9]+ per edge\))"))) << err;
  fs::remove_all(dir);
}

// `static pthread_mutex_t lock` in two files: two locks, two classes. Nested in one order they
// are clean (one class would have made that "recursive locking"); taken in both orders they are
// a real cycle, and the report names each with the file that defines it. The
// held list names where each was taken this time (stats_flush), not an earlier acquisition of
// the same lock on the fast path (stats_add).
TEST(RuntimeDetect, StaticLocksWithTheSameNameAreTwoClasses) {
  ProgRun clean = run_under("samename", {});
  EXPECT_EQ(clean.exit_code, 0) << dump(clean);
  EXPECT_EQ(clean.report["findings"].size(), 0u) << dump(clean);
  ProgRun cycle = run_under("samename", {"cycle"});
  auto found = of_type(cycle.report, "circular_dependency");
  ASSERT_EQ(found.size(), 1u) << dump(cycle);
  EXPECT_EQ(cycle.report["findings"].size(), 1u) << dump(cycle);
  EXPECT_TRUE(has_class(found[0], "lock (samename_a.c)")) << found[0].dump(2);
  EXPECT_TRUE(has_class(found[0], "lock (samename_b.c)")) << found[0].dump(2);
  EXPECT_TRUE(mentions_function(found[0], "stats_flush")) << found[0].dump(2);
  std::string held;
  for (const auto& e : found[0]["chain"])
    if (e["from"] == "lock (samename_b.c)") held = e["from_site"].dump();
  EXPECT_NE(held.find("stats_flush"), std::string::npos) << held;
  EXPECT_EQ(held.find("stats_add"), std::string::npos) << held;
}

// A plugin unloaded and another loaded at its address, with static locks of the same names taken
// in the opposite order: the second plugin's locks are new locks (no false cycle), mutexes and
// spinlocks alike. Both loaded at once, they are four locks. Frames in an unloaded plugin keep
// its names when the next one lands at its address. A plugin unloaded while one of its locks is
// held is reported, with the dlclose.
TEST(RuntimeDetect, UnloadedLibrarysLocksDoNotPassToTheNextOne) {
  std::string a = std::string(RT_PROG_DIR) + "/libdlreuse_a.so", b = std::string(RT_PROG_DIR) + "/libdlreuse_b.so";
  ProgRun r = run_under("dlreuse", {a, b});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  size_t nl = r.out.find('\n');
  ASSERT_NE(nl, std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(0, nl + 1), r.out.substr(nl + 1)) << "b was not loaded at a's address, "
                                                             "so this run does not test reuse: " << r.out;
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  ProgRun same = run_under("dlreuse", {a, a});
  EXPECT_EQ(same.report["findings"].size(), 0u) << dump(same);
  ProgRun both = run_under("dlreuse", {a, b, "keep"});
  EXPECT_EQ(both.report["findings"].size(), 0u) << dump(both);
  EXPECT_EQ(both.report["stats"]["classes"], r.report["stats"]["classes"]) << dump(both);
  // A real cycle whose two sides are code at one address in two libraries, one unloaded before
  // the other was loaded: each side is named after its own library's function.
  ProgRun order = run_under("dlreuse", {a, b, "order"});
  size_t cut = order.out.find('\n');
  ASSERT_NE(cut, std::string::npos) << order.out;
  EXPECT_EQ(order.out.substr(0, cut + 1), order.out.substr(cut + 1)) << "the two functions are at "
                                                                         "different addresses: " << order.out;
  auto cycles = of_type(order.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(order);
  std::string xy, yx;
  for (const auto& e : cycles[0]["chain"]) (e["from"] == "loader_x" ? xy : yx) = e["to_site"].dump();
  EXPECT_NE(xy.find("take_xy"), std::string::npos) << xy;
  EXPECT_EQ(xy.find("take_yx"), std::string::npos) << xy;
  EXPECT_NE(yx.find("take_yx"), std::string::npos) << yx;
  EXPECT_EQ(yx.find("take_xy"), std::string::npos) << yx;
  // Unloading a library while one of its locks is held: the lock's memory is gone.
  ProgRun hold = run_under("dlreuse", {a, "hold"});
  EXPECT_EQ(hold.out, "unloaded\n") << dump(hold);
  auto freed = of_type(hold.report, "held_lock_freed");
  ASSERT_EQ(freed.size(), 1u) << dump(hold);
  EXPECT_TRUE(has_class(freed[0], "first_lock")) << freed[0].dump(2);
  EXPECT_NE(freed[0]["explanation"].get<std::string>().find("dlclose"), std::string::npos) << freed[0].dump(2);
  EXPECT_TRUE(mentions_function(freed[0], "plugin_hold")) << freed[0].dump(2);
}

TEST(RuntimeDetect, SuppressionsAndExitcode) {
  char tmpl[] = "/tmp/lockhound-sup-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::ofstream(dir / "supp") << "# known, being fixed\nclass:lock_a\n";
  ProgRun r = run_under("abba", {}, {"--suppressions", (dir / "supp").string()});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_EQ(r.report["stats"]["suppressed"], 1) << dump(r);
  ProgRun code = run_under("abba", {}, {"--exitcode", "9"});
  EXPECT_EQ(code.exit_code, 9);
  // A rule whose terms must all match: the wrong thread keeps the finding.
  std::ofstream(dir / "both") << "class:lock_a && thread:no-such-thread*\n";
  ProgRun both = run_under("abba", {}, {"--suppressions", (dir / "both").string()});
  EXPECT_EQ(both.report["findings"].size(), 1u) << dump(both);
  // A bad line stops `run` before the program starts, naming the file and line.
  std::ofstream(dir / "bad") << "class:lock_a\nfunction:main && threads:x\n";
  std::string cmd = std::string(LOCKHOUND_EXE) + " run --suppressions " + (dir / "bad").string() +
                    " -- true 2>" + (dir / "err").string();
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 2);
  EXPECT_NE(slurp(dir / "err").find((dir / "bad").string() + ":2: error:"), std::string::npos)
      << slurp(dir / "err");
  fs::remove_all(dir);
}

TEST(RuntimeDetect, UsageErrors) {
  auto rc = [](const std::string& args) {
    int status = std::system((std::string(LOCKHOUND_EXE) + " run " + args + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(rc(""), 2);
  EXPECT_EQ(rc("-- /no/such/program"), 2);
  EXPECT_EQ(rc("--options nosuch=1 -- true"), 2);
  EXPECT_EQ(rc("-- true"), 0);
  EXPECT_EQ(rc("-- sh -c 'exit 5'"), 5);
}

}  // namespace

namespace {

using namespace lockhound::rttest;

TEST(RuntimeDetect, CancellationInConditionWaitAndExecedChild) {
  ProgRun r = run_under("cancel", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.out, "cancelled 1\nchild ran\nchild exit 0\n") << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << "the mutex re-taken during cancellation is "
                                                  "released by the cleanup handler: "
                                               << dump(r);
  ASSERT_EQ(r.children.size(), 1u) << "the exec'd child runs under the runtime too";
  EXPECT_EQ(r.children[0]["findings"].size(), 0u) << r.children[0].dump(2);
  EXPECT_GE(r.children[0]["stats"]["acquisitions"].get<int>(), 1);
}

}  // namespace

namespace {

using namespace lockhound::rttest;

TEST(RuntimeDetect, HaltOnError) {
  ProgRun r = run_under("abba", {}, {"--halt-on-error"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(r.out, "") << "the program must stop at the first finding, before it prints";
  EXPECT_EQ(of_type(r.report, "circular_dependency").size(), 1u) << dump(r);
}

}  // namespace

namespace {

using namespace lockhound::rttest;

TEST(RuntimeDetect, SpinlockLockupSuspected) {
  ProgRun r = run_under("spin_lockup", {}, {"--spin-ms", "100"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(r.out, "spin_lockup done\n");
  auto found = of_type(r.report, "spinlock_lockup_suspected");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(found[0], "slow_spin"));
  ASSERT_EQ(found[0]["participants"].size(), 2u) << found[0].dump(2);
  EXPECT_FALSE(found[0]["participants"][0]["stack"].empty()) << "the spinner's stack";
  EXPECT_EQ(found[0]["participants"][1]["held"].size(), 1u) << "the holder holds slow_spin";
  EXPECT_EQ(of_type(r.report, "sleeping_in_invalid_context").size(), 1u) << dump(r);
}

// --- the fast path: chains the engine validated are handled without it ---------------------

TEST(RuntimeFastPath, HeldWarmLockStillFormsEdges) {
  ProgRun r = run_under("fastpath", {"warm_edge"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(cycles[0], "warm_a"));
  EXPECT_TRUE(has_class(cycles[0], "warm_c"));
  EXPECT_EQ(r.report["findings"].size(), 1u) << dump(r);
  EXPECT_EQ(r.report["stats"]["edges"], 2) << "warm_a -> warm_c and back; none to warm_other";
}

TEST(RuntimeFastPath, WarmLockHeldAtThreadExit) {
  ProgRun r = run_under("fastpath", {"warm_exit"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto found = of_type(r.report, "still_has_locks_held");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  EXPECT_NE(found[0].dump().find("warm_a"), std::string::npos) << dump(r);
  EXPECT_EQ(found[0].dump().find("warm_other"), std::string::npos) << "released long before: " << dump(r);
}

TEST(RuntimeFastPath, OutOfOrderReleasesKeepTheOrderExact) {
  ProgRun ok = run_under("fastpath", {"hand_ok"});
  EXPECT_EQ(ok.exit_code, 0) << dump(ok);
  EXPECT_EQ(ok.report["findings"].size(), 0u) << dump(ok);
  // Hand-over-hand makes only the edges hand_i -> hand_i+1 (each lock is released before the
  // next-but-one is taken), so a thread taking hand_3 then hand_1 closes exactly one cycle.
  ProgRun bad = run_under("fastpath", {"hand"});
  EXPECT_EQ(bad.exit_code, 66) << dump(bad);
  auto cycles = of_type(bad.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(bad);
  EXPECT_EQ(cycles[0]["chain"].size(), 3u) << cycles[0].dump(2);
  for (const char* c : {"hand_1", "hand_2", "hand_3"}) EXPECT_TRUE(has_class(cycles[0], c)) << c;
  EXPECT_FALSE(has_class(cycles[0], "hand_0"));
  EXPECT_EQ(bad.report["stats"]["edges"], 4) << "hand_0..3 in a row, plus hand_3 -> hand_1";
}

TEST(RuntimeFastPath, MutexRecreatedWithoutInitIsANewLock) {
  // Before lockhound read the lock's own tag, the second life inherited the first one's class
  // and the opposite nesting was a false cycle.
  ProgRun r = run_under("fastpath", {"recreate"});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  EXPECT_EQ(r.report["stats"]["locks"], 3) << "outer_lock and two lives of the pooled mutex";
}

TEST(RuntimeFastPath, CopiedMutexBringsNoChildMemo) {
  // The outer mutex of a two-lock chain remembers its inner classes. A struct copy carries those
  // bytes into another mutex's new life; they must not vouch for its chains (the runtime clears
  // them when a lifetime starts), or the new life's edge to memo_d is never made.
  ProgRun r = run_under("fastpath", {"memo_copy"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(cycles[0], "memo_d"));
  EXPECT_EQ(r.report["findings"].size(), 1u) << dump(r);
}

TEST(RuntimeFastPath, ChildMemoKnowsTheSignalState) {
  // memo_p -> memo_c is validated with no handler installed; with a handler that takes memo_c,
  // the same chain is a new one for the engine, which then sees memo_c taken with signals on.
  ProgRun r = run_under("fastpath", {"memo_signal"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto found = of_type(r.report, "inconsistent_lock_state");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  EXPECT_TRUE(has_class(found[0], "memo_c"));
}

TEST(RuntimeFastPath, RecursiveMutexKeepsItsCountAsOuterLock) {
  // A plain mutex keeps its child memo in __count, which a recursive mutex uses for its recursion
  // count: a recursive mutex must never get one, even with its chains on the fast path.
  ProgRun r = run_under("fastpath", {"recursive_outer"});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.out, "busy free\nfastpath recursive_outer done\n") << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
}

TEST(RuntimeFastPath, AMutexTakenBeforeTheFirstThreadWakesItsWaiter) {
  // While the process has one thread the fast path takes and frees mutexes with plain stores;
  // the release after the first pthread_create must see the waiter (it hangs otherwise).
  ProgRun r = run_under("fastpath", {"first_thread"});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.out, "woken\nfastpath first_thread done\n") << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
}

TEST(RuntimeFastPath, AcquisitionsAreCountedOnEveryPath) {
  ProgRun small = run_under("fastpath", {"count", "10000"});
  ProgRun big = run_under("fastpath", {"count", "30000"});
  ASSERT_EQ(small.exit_code, 0) << dump(small);
  ASSERT_EQ(big.exit_code, 0) << dump(big);
  long a = small.report["stats"]["acquisitions"].get<long>();
  long b = big.report["stats"]["acquisitions"].get<long>();
  EXPECT_EQ(b - a, 20000) << a << " vs " << b;
  EXPECT_GE(a, 10000);
}

// Every detection program, with the fast path and without it (every event through the engine):
// the same findings (type and classes), the same counts of locks, classes and edges.
TEST(RuntimeFastPath, SameFindingsWithAndWithoutIt) {
  struct Case {
    const char* prog;
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {"abba", {}},          {"cycle3", {}},        {"rwlock", {"bad"}},   {"rwlock", {"good"}},
      {"rwlock", {"reread"}}, {"rwlock", {"reread_wpref"}},
      {"signal_lock", {"bad"}}, {"signal_lock", {"good"}}, {"recursive", {"bad"}},
      {"recursive", {"good"}}, {"gate", {}},         {"reuse", {}},         {"trylock", {}},
      {"spin_sleep", {"bad"}}, {"spin_sleep", {"warm"}}, {"c11", {}},          {"exit_held", {}},     {"cppclean", {}},
      {"fastpath", {"warm_edge"}}, {"fastpath", {"warm_exit"}}, {"fastpath", {"hand"}},
      {"fastpath", {"recreate"}}, {"fastpath", {"memo_copy"}}, {"fastpath", {"memo_signal"}},
      {"fastpath", {"recursive_outer"}}, {"sigjump", {"jump"}}, {"sigjump", {"jump_lock"}}};
  auto digest = [](const json& report) {
    std::vector<std::string> out;
    for (const auto& f : report["findings"]) {
      std::vector<std::string> classes;
      // A heap lock's class is named by its address, which differs from run to run.
      static const std::regex address("0x[0-9a-f]+");
      for (const auto& c : f["classes"])
        classes.push_back(std::regex_replace(c.get<std::string>(), address, "ADDR"));
      std::sort(classes.begin(), classes.end());
      std::string line = f["type"].get<std::string>();
      for (const auto& c : classes) line += " " + c;
      out.push_back(line);
    }
    std::sort(out.begin(), out.end());
    for (const char* k : {"locks", "classes", "edges"})
      out.push_back(std::string(k) + "=" + report["stats"][k].dump());
    return out;
  };
  for (const auto& c : cases) {
    ProgRun fast = run_under(c.prog, c.args);
    ProgRun slow = run_under(c.prog, c.args, {"--options", "fast_path=0"});
    std::string what = std::string(c.prog) + (c.args.empty() ? "" : " " + c.args[0]);
    EXPECT_EQ(fast.exit_code, slow.exit_code) << what;
    EXPECT_EQ(fast.out, slow.out) << what;
    EXPECT_EQ(digest(fast.report), digest(slow.report)) << what << "\n" << dump(fast) << dump(slow);
  }
}

// The engine's memory budget holds: 50,000 classes and edges against max_memory_mb=1. lockhound
// says so once, on one line, and steps aside; the program runs to its end with its own output
// and status, and the report is still a whole document.
TEST(RuntimeBudget, MemoryBudgetIsEnforcedOnce) {
  ProgRun r = run_under("budget", {"50000"}, {"--max-memory-mb", "1"}, 120);
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_NE(r.out.find("budget sum=1249925001"), std::string::npos) << dump(r);
  const std::string notice = "memory budget of 1 MiB reached (max_memory_mb)";
  size_t at = r.err.find(notice);
  ASSERT_NE(at, std::string::npos) << dump(r);
  EXPECT_EQ(r.err.find(notice, at + 1), std::string::npos) << "said more than once\n" << dump(r);
  ASSERT_TRUE(r.report.contains("findings")) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 0u) << dump(r);
  // It stopped early: far fewer classes than the program made.
  EXPECT_LT(r.report["stats"]["classes"].get<int>(), 50000) << dump(r);
  EXPECT_GT(r.report["stats"]["classes"].get<int>(), 0) << dump(r);
}

}  // namespace

namespace {
using namespace lockhound::rttest;

// ---------------------------------------------------------------- a change of user, then exec
// (varnish's jail before the C compiler, setpriv, su): the processes after the switch cannot
// create PREFIX.PID where the run's user could. Their reports must not land in the program's
// stderr, no empty (invalid) report may be left, and the run's summary counts every process.

bool can_switch_user() { return geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0; }

std::vector<std::string> as_nobody(const std::string& script) {
  return {"--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c", script};
}

TEST(RuntimeUserSwitch, ProcessesAfterTheSwitchReportThroughTheRunNotStderr) {
  if (!can_switch_user()) GTEST_SKIP() << "needs root and setpriv";
  // The run's process stays root; setpriv's process switches, execs sh, which starts abba.
  std::string abba = std::string(RT_PROG_DIR) + "/abba";
  ProgRun r = run_under("sys:sh", {"-c", "setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '" + abba +
                                             "; true'; true"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(r.err.find('{'), std::string::npos) << dump(r);
  EXPECT_EQ(r.err.find("cannot create"), std::string::npos) << dump(r);
  // Every process has its report in place (run_under fails on an empty or invalid one): sh,
  // setpriv's sh (its file made before the switch, written after the exec) and abba (spooled,
  // then moved by the run's process).
  EXPECT_EQ(r.children.size(), 2u) << dump(r);
  size_t with_cycle = 0;
  for (const auto& c : r.children) with_cycle += of_type(c, "circular_dependency").size();
  EXPECT_EQ(with_cycle, 1u) << dump(r);
  EXPECT_EQ(r.report["stats"]["followed_processes"], 2) << dump(r);
  EXPECT_EQ(r.report["stats"]["followed_with_problems"], 1) << dump(r);
  EXPECT_EQ(r.report["stats"]["followed_reports_out_of_reach"], 0) << dump(r);
  EXPECT_FALSE(r.report.contains("spool")) << dump(r);
}

TEST(RuntimeUserSwitch, EverythingAfterTheSwitchStaysOutOfTheProgramsOutput) {
  if (!can_switch_user()) GTEST_SKIP() << "needs root and setpriv";
  // The issue's reproducer: the run's own process switches user and execs (setpriv), so no
  // process of the run may write in the report directory any more.
  std::string abba = std::string(RT_PROG_DIR) + "/abba";
  ProgRun r = run_under("sys:setpriv", as_nobody(abba + "; " + abba + "; true"));
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  // The run's process wrote its report through the file setpriv made before the switch.
  ASSERT_TRUE(r.report.is_object()) << dump(r);
  EXPECT_EQ(r.report["stats"]["followed_processes"], 2) << dump(r);
  EXPECT_EQ(r.report["stats"]["followed_with_problems"], 2) << dump(r);
  EXPECT_EQ(r.report["stats"]["followed_reports_out_of_reach"], 2) << dump(r);
  // No report in the program's stderr: one line says where the two are.
  EXPECT_EQ(r.err.find('{'), std::string::npos) << dump(r);
  ASSERT_TRUE(r.report.contains("spool")) << dump(r);
  std::string spool = r.report["spool"]["directory"];
  EXPECT_NE(r.err.find("2 reports could not be written"), std::string::npos) << dump(r);
  EXPECT_NE(r.err.find(spool), std::string::npos) << dump(r);
  size_t reports = 0;
  for (const auto& e : fs::directory_iterator(spool)) {
    if (e.path().filename() == "record") continue;  // the run's record, emptied
    EXPECT_EQ(fs::file_size(e.path().parent_path() / "record"), 0u);
    json j = json::parse(slurp(e.path()), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << e.path();
    EXPECT_EQ(of_type(j, "circular_dependency").size(), 1u) << j.dump(2);
    ++reports;
  }
  EXPECT_EQ(reports, 2u);
  fs::remove_all(spool);
}

TEST(RuntimeUserSwitch, TextSummaryCountsEveryFollowedProcess) {
  if (!can_switch_user()) GTEST_SKIP() << "needs root and setpriv";
  // Text to stderr: the children's findings are theirs to print; the run's summary counts
  // them and their acquisitions.
  std::string abba = std::string(RT_PROG_DIR) + "/abba";
  char tmpl[] = "/tmp/lockhound-us-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string cmd = std::string(LOCKHOUND_EXE) + " run -- sh -c 'setpriv --reuid=nobody --regid=nogroup "
                    "--clear-groups " + abba + "; true' 2>" + (dir / "err").string() + " >/dev/null";
  int rc = std::system(cmd.c_str());
  std::string err = slurp(dir / "err");
  EXPECT_EQ(WEXITSTATUS(rc), 66) << err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(err, m, std::regex(R"(1 process it started \((\d+) acquisitions\), 1 with problems)")))
      << err;
  EXPECT_GE(std::stoul(m[1]), 4u) << err;
  fs::remove_all(dir);
}

}  // namespace

namespace {
using namespace lockhound::rttest;

// ---------------------------------------------------------------- severities and fail_on
TEST(RuntimeSeverity, SpinlockThenRwlockIsOneHazardThatDoesNotFailTheRun) {
  ProgRun r = run_under("spin_rw", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);  // fail_on=deadlocks: a hazard keeps the program's status
  EXPECT_EQ(r.out, "spin_rw done\n");
  auto found = of_type(r.report, "invalid_wait_context");
  // Four pairs of classes, one code pattern: one finding, every class named, seen each time.
  ASSERT_EQ(found.size(), 1u) << dump(r);
  EXPECT_EQ(r.report["findings"].size(), 1u) << dump(r);
  EXPECT_EQ(found[0]["severity"], "hazard") << found[0].dump(2);
  EXPECT_EQ(found[0]["classes"].size(), 4u) << found[0].dump(2);
  EXPECT_GE(found[0]["count"].get<int>(), 4) << found[0].dump(2);
  EXPECT_TRUE(mentions_function(found[0], "lookup")) << found[0].dump(2);
  EXPECT_EQ(found[0].dump().find("seed"), std::string::npos) << found[0].dump(2);
}

TEST(RuntimeSeverity, FailOnHazardsFailsTheRun) {
  ProgRun r = run_under("spin_rw", {}, {"--fail-on", "hazards"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  EXPECT_EQ(of_type(r.report, "invalid_wait_context").size(), 1u) << dump(r);
  ProgRun all = run_under("spin_rw", {}, {"--options", "fail_on=all"});
  EXPECT_EQ(all.exit_code, 66) << dump(all);
  // A deadlock fails under every policy.
  ProgRun abba = run_under("abba", {}, {"--fail-on", "deadlocks"});
  EXPECT_EQ(abba.exit_code, 66) << dump(abba);
  EXPECT_EQ(of_type(abba.report, "circular_dependency")[0]["severity"], "deadlock");
}

TEST(RuntimeSeverity, WithoutSymbolsTheSiteIsTheNearestFrameWithAnAddress) {
  ProgRun r = run_under("spin_rw_stripped", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  auto found = of_type(r.report, "invalid_wait_context");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  // "spin_rw_stripped+0x11a9", the frame that called the lock, in the words and the sites.
  std::string text = found[0]["explanation"].get<std::string>() + found[0]["fix"].get<std::string>();
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(spin_rw_stripped\+0x[0-9a-f]+)"))) << found[0].dump(2);
  EXPECT_EQ(text.find("start_thread"), std::string::npos) << text;
}

TEST(RuntimeSeverity, TextSummarySaysWhatDoesNotFail) {
  char tmpl[] = "/tmp/lockhound-sev-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string cmd = std::string(LOCKHOUND_EXE) + " run -- " + RT_PROG_DIR + "/spin_rw 2>" + (dir / "err").string() +
                    " >/dev/null";
  int rc = std::system(cmd.c_str());
  std::string err = slurp(dir / "err");
  EXPECT_EQ(WEXITSTATUS(rc), 0) << err;
  EXPECT_NE(err.find("HAZARD: invalid wait context"), std::string::npos) << err;
  // Printed once, though the engine found it for four pairs of classes.
  EXPECT_EQ(err.find("HAZARD:", err.find("HAZARD:") + 1), std::string::npos) << err;
  EXPECT_NE(err.find("1 problem (invalid_wait_context 1), 1 not failing the run (fail_on=deadlocks)"),
            std::string::npos)
      << err;
  fs::remove_all(dir);
}

}  // namespace

namespace {
using namespace lockhound::rttest;

// ---------------------------------------------------------------- the program's allocator
// operator new takes a mutex, and the runtime allocates while it works on an acquisition whose
// word the thread holds: that nested lock passes through (Pending in interpose.cpp). Without it
// the program hangs at its first thread's first allocation.
TEST(RuntimeAllocator, AnOperatorNewThatTakesAMutexNeitherHangsNorHidesACycle) {
  for (const char* mode : {"mutex", "spin"}) {
    SCOPED_TRACE(mode);
    ProgRun r = run_under("alloc_lock", {mode});
    EXPECT_EQ(r.exit_code, 66) << dump(r);
    EXPECT_EQ(r.out, "alloc_lock done\n") << dump(r);
    auto cycles = of_type(r.report, "circular_dependency");
    ASSERT_EQ(cycles.size(), 1u) << dump(r);
    EXPECT_EQ(cycles[0]["classes"].get<std::set<std::string>>(), (std::set<std::string>{"a", "b"})) << cycles[0].dump(1);
    EXPECT_EQ(r.report["findings"].size(), 1u) << dump(r);
  }
}

// ---------------------------------------------------------------- one class, two locks
// (The split case, two different locks of the class, is Classes.InferredClassCycleThroughTwoDifferentLocksIsANote:
// under the runtime two heap objects made by one loop do not always share a class.)
TEST(RuntimeOneClass, TheSameLockInBothPartsIsADeadlockWithTheCallersInItsStacks) {
  ProgRun r = run_under("one_class", {"same"});
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_EQ(cycles[0]["severity"], "deadlock");
  // The closing edge (global held, node taken) is one of the printed edges.
  bool closing = false;
  for (const auto& e : cycles[0]["chain"]) closing |= e["from"] == "global_lock";
  EXPECT_TRUE(closing) << cycles[0].dump(2);
  EXPECT_TRUE(mentions_function(cycles[0], "update_global_then_node")) << cycles[0].dump(2);
}

}  // namespace

namespace {
using namespace lockhound::rttest;

TEST(RuntimeDetect, StaticLockStorageReusedAfterDestroyIsANewLock) {
  ProgRun r = run_under("static_reuse", {});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(r.out, "static_reuse done 10\n");
  EXPECT_TRUE(r.report["findings"].empty()) << dump(r);
}

}  // namespace

namespace {
using namespace lockhound::rttest;

TEST(RuntimeDetect, ErrorCheckingMutexRelockedByItsOwnerIsRecursiveLocking) {
  ProgRun r = run_under("errorcheck", {});
  EXPECT_EQ(r.out, "errorcheck EDEADLK\n");  // the program's own result is untouched
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto found = of_type(r.report, "recursive_locking");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  EXPECT_EQ(found[0]["severity"], "deadlock");
  EXPECT_TRUE(mentions_function(found[0], "lookup_again")) << found[0].dump(2);
  EXPECT_NE(found[0].dump().find("same lock instance"), std::string::npos) << found[0].dump(2);
}

}  // namespace

namespace {
using namespace lockhound::rttest;

// The function and line of the first frame named `fn` in a JSON stack ("" when none).
std::string frame_at(const json& stack, const std::string& fn) {
  for (const auto& fr : stack)
    if (fr.value("function", "").rfind(fn, 0) == 0) return fn + ":" + std::to_string(fr.value("line", 0));
  return "";
}

TEST(RuntimeDetect, TrylockOfALockTheThreadHoldsIsANote) {
  ProgRun r = run_under("trylock_held", {}, {"--show-guarded"});
  EXPECT_EQ(r.out, "trylock_held EBUSY EBUSY EBUSY 0 EBUSY\n");  // the program's own results are untouched
  EXPECT_EQ(r.exit_code, 0) << dump(r);                   // a note does not fail the run
  auto found = of_type(r.report, "recursive_locking");
  ASSERT_EQ(found.size(), 3u) << dump(r);  // none for busy_elsewhere's trylock, none for tree_lock's
  std::map<std::string, json> by_lock;
  for (const auto& f : found) by_lock[f["classes"][0].get<std::string>()] = f;
  ASSERT_TRUE(by_lock.contains("cache_lock") && by_lock.contains("table_lock") && by_lock.contains("index_lock"))
      << dump(r);
  for (const auto& [lock, f] : by_lock) {
    EXPECT_EQ(f["severity"], "note") << f.dump(1);
    EXPECT_EQ(f["title"], "trylock of a lock the thread already holds") << f.dump(1);
    EXPECT_EQ(f["count"], 1) << f.dump(1);  // three times on one path: one occurrence
    ASSERT_EQ(f["acquisitions"].size(), 2u) << f.dump(1);
    EXPECT_EQ(f["acquisitions"][1]["mode"], "try") << f.dump(1);
    EXPECT_EQ(f["scenario"].dump().find("DEADLOCK"), std::string::npos);
  }
  // The stack of the lock that holds it, and of the trylock.
  const json& c = by_lock["cache_lock"];
  EXPECT_EQ(frame_at(c["acquisitions"][0]["stack"], "update_cache"), "update_cache:25") << c.dump(1);
  EXPECT_EQ(frame_at(c["acquisitions"][1]["stack"], "refresh_entry"), "refresh_entry:19") << c.dump(1);
  EXPECT_NE(c["fix"].get<std::string>().find("refresh_entry (trylock_held.c:19)"), std::string::npos) << c.dump(1);
  const json& t = by_lock["table_lock"];
  EXPECT_EQ(frame_at(t["acquisitions"][0]["stack"], "rebuild_table"), "rebuild_table:38") << t.dump(1);
  EXPECT_EQ(frame_at(t["acquisitions"][1]["stack"], "retry_table"), "retry_table:32") << t.dump(1);
  const json& x = by_lock["index_lock"];  // error-checking: glibc's general path
  EXPECT_EQ(frame_at(x["acquisitions"][0]["stack"], "scan_index"), "scan_index:51") << x.dump(1);
  EXPECT_EQ(frame_at(x["acquisitions"][1]["stack"], "recheck_index"), "recheck_index:45") << x.dump(1);
  EXPECT_FALSE(mentions_function(r.report, "busy_elsewhere")) << dump(r);
  EXPECT_FALSE(mentions_function(r.report, "walk_tree")) << dump(r);
}

TEST(RuntimeDetect, TrylockNotesFailARunOnlyWhenFailOnSaysSo) {
  // JSON carries notes with their severity whether shown in text or not (as guarded cycles).
  ProgRun quiet = run_under("trylock_held", {});
  EXPECT_EQ(quiet.exit_code, 0) << dump(quiet);
  auto notes = of_type(quiet.report, "recursive_locking");
  ASSERT_EQ(notes.size(), 3u) << dump(quiet);
  EXPECT_EQ(notes[0]["severity"], "note");
  ProgRun all = run_under("trylock_held", {}, {"--fail-on", "all"});
  EXPECT_EQ(all.exit_code, 66) << dump(all);
  EXPECT_EQ(of_type(all.report, "recursive_locking").size(), 3u) << dump(all);
}

}  // namespace

// A report made on a thread with a 64 KiB stack: symbolizing it (libdw reading libc's line table)
// used to overflow that stack and kill the program with SIGSEGV (MariaDB's workers did).
TEST(RuntimeDetect, ReportsOnThreadsWithSmallStacksDoNotCrashTheProgram) {
  ProgRun r = run_under("small_stacks", {});
  EXPECT_EQ(r.out, "small_stacks done\n") << dump(r);
  EXPECT_EQ(r.exit_code, 66) << dump(r);  // the default exitcode for a deadlock found
  auto found = of_type(r.report, "circular_dependency");
  ASSERT_EQ(found.size(), 1u) << dump(r);
  std::string text = found[0].dump();  // both sides' stacks symbolized: the user's functions named
  EXPECT_NE(text.find("\"function\":\"forward\""), std::string::npos) << found[0].dump(1);
  EXPECT_NE(text.find("\"function\":\"backward\""), std::string::npos) << found[0].dump(1);
}

// Classes are named when a report first needs them, not when made: naming reads the debug
// information of every module a lock's stack passes through (libc's is large), and most runs
// report nothing. A clean run names none of its three classes; a run with a cycle names its
// locks as before: the static by its symbol, the heap mutex where it was first locked.
TEST(RuntimeDetect, ClassesAreNamedOnlyWhenAReportNeedsThem) {
  ProgRun clean = run_under("lazy_names", {});
  EXPECT_EQ(clean.out, "lazy_names done\n") << dump(clean);
  EXPECT_EQ(clean.report["findings"].size(), 0u) << dump(clean);
  EXPECT_EQ(clean.report["stats"]["classes"], 3) << dump(clean);
  EXPECT_EQ(clean.report["stats"]["unnamed_classes"], 3) << dump(clean);

  ProgRun abba = run_under("lazy_names", {"abba"});
  EXPECT_EQ(abba.exit_code, 66) << dump(abba);
  auto cycles = of_type(abba.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(abba);
  EXPECT_TRUE(has_class(cycles[0], "queue_lock")) << cycles[0].dump(1);
  // `pthread_mutex_lock(stats)`: no larger object known, so named as the line writes it.
  EXPECT_TRUE(has_class(cycles[0], "stats first locked in fill (lazy_names.c:27)")) << cycles[0].dump(1);
  EXPECT_EQ(abba.report["stats"]["classes"], 3) << dump(abba);
  EXPECT_LT(abba.report["stats"]["unnamed_classes"].get<int>(), 3) << dump(abba);
}

// A source changed after the program was built: its lines may not be the ones the line table
// counts, so no name is read from it. A copy of lazy_names older than its source (as after an
// edit without a rebuild) names `stats` by its kind and place only.
TEST(RuntimeDetect, NamingReadsNoSourceNewerThanTheProgram) {
  char tmpl[] = "/tmp/lockhound-stale-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  fs::path copy = dir / "lazy_names";
  fs::copy_file(std::string(RT_PROG_DIR) + "/lazy_names", copy);
  struct timespec old_times[2] = {{946684800, 0}, {946684800, 0}};  // 2000-01-01
  ASSERT_EQ(utimensat(AT_FDCWD, copy.c_str(), old_times, 0), 0);
  ProgRun abba = run_under(copy.string(), {"abba"});
  EXPECT_EQ(abba.exit_code, 66) << dump(abba);
  auto cycles = of_type(abba.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(abba);
  EXPECT_TRUE(has_class(cycles[0], "mutex first locked in fill (lazy_names.c:27)")) << cycles[0].dump(1);
  fs::remove_all(dir);
}

// A lock with no init call is named by the member it is of the object the caller's code holds
// it in, from the registers of its first lock call and the debug information: through a pointer
// to a heap struct (by the struct's type, down an array member) and as a member of a struct on
// the caller's stack (by the variable). Built with -O1, as the other programs; the runtime's own
// build keeps the registers (not the sanitizer build, which runs no whole-process test).
void expect_member_names(const std::string& prog) {
  ProgRun pool = run_under(prog, {"pool"});
  EXPECT_EQ(pool.exit_code, 66) << dump(pool);
  auto cycles = of_type(pool.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(pool);
  EXPECT_EQ(cycles[0]["classes"].get<std::set<std::string>>(),
            (std::set<std::string>{"struct pool::pool_lock first locked in assign (member_names.c:24)",
                                   "struct pool::workers[2].lock first locked in assign (member_names.c:25)"}))
      << cycles[0].dump(1);
  // The program's frames carry the debug information's column too (docs/json-format.md).
  int with_column = 0;
  for (const auto& e : cycles[0]["chain"])
    for (const auto& fr : e["to_site"]["stack"])
      with_column += fr.value("file", "").ends_with("member_names.c") && fr.value("column", 0) > 0;
  EXPECT_GT(with_column, 0) << cycles[0].dump(1);

  ProgRun local = run_under(prog, {"local"});
  EXPECT_EQ(local.exit_code, 66) << dump(local);
  cycles = of_type(local.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(local);
  EXPECT_EQ(cycles[0]["classes"].get<std::set<std::string>>(),
            (std::set<std::string>{"pair.first first locked in both_orders (member_names.c:47)",
                                   "pair.second first locked in both_orders (member_names.c:48)"}))
      << cycles[0].dump(1);
}

TEST(RuntimeDetect, LocksWithNoInitCallAreNamedByTheMemberTheyAre) { expect_member_names("member_names"); }

// A source file that is a named pipe with no writer (#line "/tmp/lockhound-source-fifo"): the
// naming reads regular files only, so the run ends (opening the pipe would wait for ever) and the
// locks keep their kind for a name.
TEST(RuntimeDetect, NamingReadsNoSourceThatIsNotARegularFile) {
  const char* fifo = "/tmp/lockhound-source-fifo";
  unlink(fifo);
  ASSERT_EQ(mkfifo(fifo, 0600), 0) << std::strerror(errno);
  struct timespec old_times[2] = {{946684800, 0}, {946684800, 0}};  // older than the program
  ASSERT_EQ(utimensat(AT_FDCWD, fifo, old_times, 0), 0) << std::strerror(errno);
  ProgRun r = run_under("source_elsewhere", {});
  unlink(fifo);
  EXPECT_EQ(r.exit_code, 66) << dump(r);
  auto cycles = of_type(r.report, "circular_dependency");
  ASSERT_EQ(cycles.size(), 1u) << dump(r);
  EXPECT_EQ(cycles[0]["classes"].get<std::set<std::string>>(),
            (std::set<std::string>{"mutex first locked in in_order (lockhound-source-fifo:1)",
                                   "mutex first locked in in_order (lockhound-source-fifo:2)"}))
      << cycles[0].dump(1);
}

// The same program built by clang -O2: DWARF 5 with no .debug_aranges, where the system's libdw
// finds no compile unit by address (every frame had a function and no file or line before the
// symbolizer indexed the units itself).
TEST(RuntimeDetect, ClangBuiltProgramsHaveLinesAndMemberNames) {
  if (access((std::string(RT_PROG_DIR) + "/member_names_clang").c_str(), X_OK) != 0)
    GTEST_SKIP() << "skipped: no clang to build member_names_clang";
  expect_member_names("member_names_clang");
}
