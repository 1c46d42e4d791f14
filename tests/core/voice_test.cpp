// Text of root cause and fix, and the renderers on real findings.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/facts.h"
#include "core/sites.h"
#include "core/voice.h"

namespace lockhound {
namespace {

TEST(Sites, SiteSkipsLockLibraryFrames) {
  Stack s;
  Frame a;
  a.function = "pthread_mutex_lock";
  Frame b;
  b.function = "transfer";
  b.file = "/src/bank.c";
  b.line = 42;
  s = {a, b};
  EXPECT_EQ(site_of(s, ""), "transfer (/src/bank.c:42)");
  Frame c;
  c.pc = 0x4011d6;
  EXPECT_EQ(site_of(Stack{c}, ""), "0x4011d6");
  EXPECT_EQ(site_of(Stack{}, ""), "");
}

TEST(Sites, ToolchainHeadersAndRuntimeLibrariesAreNotTheSite) {
  // std::lock_guard<std::mutex> in deposit(): libc, then libstdc++'s inlined headers, then the user.
  Frame libc{0x7f0001, "___pthread_mutex_lock", "", "", 0, "/lib/x86_64-linux-gnu/libc.so.6", false};
  Frame gthr{0, "__gthread_mutex_lock", "", "/usr/include/x86_64-linux-gnu/c++/12/bits/gthr-default.h", 749, "", true};
  Frame mtx{0, "std::mutex::lock", "", "/usr/include/c++/12/bits/std_mutex.h", 100, "", true};
  Frame user{0x401234, "Bank::deposit", "", "/src/bank.cpp", 20, "/src/bank", false};
  EXPECT_EQ(site_of(Stack{libc, gthr, mtx, user}, ""), "Bank::deposit (/src/bank.cpp:20)");
  // Without symbols the site is the nearest frame of the program, not a named frame further up.
  Frame anon{0x47854b, "", "", "", 0, "/usr/sbin/unbound", false};
  Frame named{0x401000, "event_base_loop", "", "", 0, "/usr/lib/libevent.so", false};
  EXPECT_EQ(site_of(Stack{libc, anon, named}, ""), "0x47854b in /usr/sbin/unbound");
  // Kernel frames: the offset without the function's size, and the module.
  Frame k{0, "m2_init", "+0x69/0x100", "", 0, "m2_irq", false};
  EXPECT_EQ(describe_frame(k), "m2_init+0x69 [m2_irq]");
  Frame raw{0, "_raw_spin_lock_irqsave", "+0x30/0x40", "", 0, "", false};
  EXPECT_EQ(lock_primitive(Stack{raw, k}), "spin_lock_irqsave");
  EXPECT_EQ(irqsafe_variant("spin_lock", false), "spin_lock_irqsave");
  EXPECT_EQ(irqsafe_variant("read_lock_irq", true), "read_lock_bh");
  EXPECT_EQ(unlock_variant("spin_lock_irqsave"), "spin_unlock_irqrestore");
}

Finding cycle_of(std::vector<std::string> names) {
  Finding f;
  f.type = FindingType::circular_dependency;
  for (size_t i = 0; i < names.size(); ++i) {
    Edge e;
    e.from = names[i];
    e.to = names[(i + 1) % names.size()];
    f.chain.push_back(e);
    f.classes.push_back(names[i]);
  }
  complete_finding(f);
  return f;
}

TEST(Voice, ACycleHasOneSignatureWhicheverWayItIsWalked) {
  std::string sig = cycle_of({"a", "b", "c"}).signature;
  EXPECT_EQ(sig, "circular_dependency|a,b,c");
  EXPECT_EQ(cycle_of({"b", "c", "a"}).signature, sig);  // rotated
  EXPECT_EQ(cycle_of({"c", "b", "a"}).signature, sig);  // the other way round
  EXPECT_NE(cycle_of({"a", "b", "d"}).signature, sig);
  // Repeated names (two instances of one class) still normalise to one reading.
  EXPECT_EQ(cycle_of({"x", "y", "x", "z"}).signature, cycle_of({"z", "x", "y", "x"}).signature);
}

// A lock named by where a run met it is called by its member in the explanation and the fix,
// unless another lock of the cycle has the same member's name or the member is only the lock's
// kind; the summary keeps whole names.
TEST(Voice, ProseNamesALockByTheMemberItIsWhenThatIsUnambiguous) {
  std::string audit = "Bank::audit_mu first locked in Bank::audit (bank.cpp:22)";
  std::string table = "t->buckets[i] initialised in make_table (t.c:9) from main (t.c:40)";
  Finding f = cycle_of({audit, table});
  EXPECT_NE(f.summary.find(audit), std::string::npos) << f.summary;
  EXPECT_NE(f.explanation.find("takes Bank::audit_mu while holding t->buckets[i] (at"), std::string::npos)
      << f.explanation;
  EXPECT_EQ(f.explanation.find("first locked in"), std::string::npos) << f.explanation;
  EXPECT_NE(f.fix.find("Take Bank::audit_mu before t->buckets[i]"), std::string::npos) << f.fix;
  EXPECT_NE(f.fix.find("in the order Bank::audit_mu --> t->buckets[i]"), std::string::npos) << f.fix;

  // Two accounts' mutexes: both would be "Account::mu"; a bare kind says nothing.
  std::string a1 = "Account::mu first locked in transfer (bank.cpp:31)";
  std::string a2 = "Account::mu first locked in transfer (bank.cpp:32)";
  Finding same = cycle_of({a1, a2});
  EXPECT_NE(same.fix.find("Take " + a1 + " before " + a2), std::string::npos) << same.fix;
  std::string m = "mutex first locked in fill (f.c:27)";
  Finding kind = cycle_of({m, "queue_lock"});
  EXPECT_NE(kind.explanation.find(m), std::string::npos) << kind.explanation;

  // One lock taken again: the same in its explanation and fix.
  Finding again;
  again.type = FindingType::recursive_locking;
  again.classes = {"Cache::mu first locked in Cache::refresh (c.cpp:171)"};
  complete_finding(again);
  EXPECT_NE(again.summary.find(again.classes[0]), std::string::npos) << again.summary;
  EXPECT_NE(again.explanation.find("takes Cache::mu at"), std::string::npos) << again.explanation;
  EXPECT_EQ(again.explanation.find("first locked in"), std::string::npos) << again.explanation;
  EXPECT_EQ(again.fix.find("first locked in"), std::string::npos) << again.fix;
}

TEST(Voice, SignalAndBlockingFindingsNameLocksByTheirMemberToo) {
  const std::string mu = "Cache::mu first locked in Cache::refresh (c.cpp:171)";
  Finding sig;
  sig.type = FindingType::inconsistent_lock_state;
  sig.classes = {mu};
  fact::set(sig, fact::kInterrupt, "signal");
  complete_finding(sig);
  EXPECT_NE(sig.summary.find(mu), std::string::npos) << sig.summary;
  EXPECT_NE(sig.explanation.find("Cache::mu is taken in signal context"), std::string::npos) << sig.explanation;
  EXPECT_EQ(sig.explanation.find("first locked in"), std::string::npos) << sig.explanation;
  EXPECT_NE(sig.fix.find("take Cache::mu with a signal mask"), std::string::npos) << sig.fix;

  Finding block;
  block.type = FindingType::blocking_call_under_lock;
  block.classes = {mu};
  Acquisition at, held;
  at.lock = mu;
  held.lock = mu;
  block.acquisitions = {at, held};
  fact::set(block, fact::kOperation, "sleep()");
  complete_finding(block);
  EXPECT_NE(block.summary.find("while holding " + mu), std::string::npos) << block.summary;
  EXPECT_NE(block.explanation.find("while Cache::mu is held"), std::string::npos) << block.explanation;
  EXPECT_NE(block.fix.find("Release Cache::mu before sleep()"), std::string::npos) << block.fix;
}

TEST(Voice, ALongCycleStaysReadable) {
  std::vector<std::string> names;
  for (int i = 0; i < 20000; ++i) names.push_back("l" + std::to_string(i));
  Finding f = cycle_of(names);
  // The chain keeps every edge; the scenario shows the two ends and counts the middle.
  EXPECT_EQ(f.chain.size(), 20000u);
  EXPECT_LE(f.scenario.columns.size(), 7u);
  EXPECT_LE(f.scenario.rows.size(), 16u);
  EXPECT_NE(f.scenario.columns[4].find("19994 more"), std::string::npos) << f.scenario.columns[4];
  EXPECT_LT(f.summary.size() + f.explanation.size() + f.fix.size(), 2000u);
}

TEST(Voice, WaitCycleBuilderGivesOneFindingForEveryFrontEnd) {
  WaitStep a, b;
  a.party.name = "worker";
  a.party.pid = 101;
  a.resource = "&dev->lock";
  HeldLock held_b;
  held_b.name = "&dev->lock";
  b.party.name = "reader";
  b.party.pid = 102;
  b.party.held = {held_b};
  b.resource = "&priv->lock";
  HeldLock held_a;
  held_a.name = "&priv->lock";
  a.party.held = {held_a};
  Finding f = wait_cycle_finding(FindingType::actual_deadlock, {a, b}, "explain");
  complete_finding(f);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"&dev->lock", "&priv->lock"}));
  ASSERT_EQ(f.participants.size(), 2u);
  EXPECT_EQ(f.participants[0].waits_for, "&dev->lock");
  EXPECT_EQ(f.chain.size(), 2u);
  EXPECT_EQ(f.title, "actual deadlock: 2 tasks wait for each other");
  EXPECT_EQ(f.signature, "actual_deadlock|&dev->lock,&priv->lock");
  EXPECT_EQ(f.scenario.columns, (std::vector<std::string>{"worker/101", "reader/102"}));
  // The same wait seen from the other party first is the same problem.
  Finding g = wait_cycle_finding(FindingType::actual_deadlock, {b, a}, "run");
  complete_finding(g);
  EXPECT_EQ(g.signature, f.signature);
}

TEST(Voice, MergingBySignatureAddsCounts) {
  std::vector<Finding> fs = {cycle_of({"a", "b"}), cycle_of({"b", "a"}), cycle_of({"a", "c"})};
  fs[1].count = 4;
  merge_same_findings(fs);
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].count, 5u);
}

TEST(Voice, EveryTypeIsWordedFromFactsAlone) {
  // A finding with nothing but its type still reads as a sentence and has a signature.
  for (int t = 0; t <= int(FindingType::blocking_call_under_lock); ++t) {
    Finding f;
    f.type = FindingType(t);
    complete_finding(f);
    EXPECT_FALSE(f.title.empty()) << type_name(f.type);
    EXPECT_FALSE(f.explanation.empty()) << type_name(f.type);
    EXPECT_FALSE(f.fix.empty()) << type_name(f.type);
    EXPECT_EQ(f.signature.rfind(std::string(type_name(f.type)), 0), 0u) << f.signature;
  }
}

// The words that depend on the facts: user space speaks of threads and signals, the kernel of CPUs
// and irqsave; a join fix names who joins whom; a softirq's fix is the _bh variant.
TEST(Voice, WordingFollowsTheFacts) {
  auto usage = [](const char* irq, const char* on_fn) {
    Finding f;
    f.type = FindingType::inconsistent_lock_state;
    f.classes = {"log_lock"};
    fact::set(f, fact::kInterrupt, irq);
    Acquisition in, on;
    in.irq = irq;
    in.stack = {Frame{0, "handler", "", "", 0, "", false}};
    on.stack = {Frame{0, on_fn, "", "", 0, "", false}};
    f.acquisitions = {in, on};
    complete_finding(f);
    return f;
  };
  Finding sig = usage("signal", "writer");
  EXPECT_NE(sig.explanation.find("waits forever for a lock its own thread holds"), std::string::npos) << sig.explanation;
  EXPECT_NE(sig.fix.find("pthread_sigmask"), std::string::npos) << sig.fix;
  Finding soft = usage("softirq", "console_show");
  EXPECT_NE(soft.fix.find("spin_lock_bh()"), std::string::npos) << soft.fix;
  EXPECT_NE(soft.fix.find("console_show"), std::string::npos) << soft.fix;
  Finding hard = usage("hardirq", "driver_update");
  EXPECT_NE(hard.fix.find("spin_lock_irqsave()"), std::string::npos) << hard.fix;

  // A timer (softirq, hardirqs on) and an irq handler share a spinlock: the handler is the
  // hardirq side and the timer the holder it interrupts, whichever the finding lists first.
  {
    Finding f;
    f.type = FindingType::inconsistent_lock_state;
    f.classes = {"struct net_local::lock"};
    fact::set(f, fact::kInterrupt, "hardirq");
    Acquisition timer, handler;
    timer.lock = handler.lock = "struct net_local::lock";
    timer.irq = "softirq";
    timer.stack = {Frame{0, "atp_timed_checker", "", "atp.c", 726, "", false}};
    handler.irq = "hardirq";
    handler.stack = {Frame{0, "atp_interrupt", "", "atp.c", 606, "", false}};
    f.acquisitions = {timer, handler};
    complete_finding(f);
    EXPECT_NE(f.explanation.find("taken in hardirq context (atp_interrupt"), std::string::npos) << f.explanation;
    EXPECT_NE(f.explanation.find("hardirqs enabled (atp_timed_checker"), std::string::npos) << f.explanation;
    EXPECT_NE(f.fix.find("in softirq context (atp_timed_checker"), std::string::npos) << f.fix;
    EXPECT_NE(f.fix.find("handler (atp_interrupt"), std::string::npos) << f.fix;
    EXPECT_EQ(f.fix.find("process context"), std::string::npos) << f.fix;

    // Both taken in one helper: the paths that reach it tell them apart.
    Finding h;
    h.type = FindingType::inconsistent_lock_state;
    h.classes = {"struct typhoon::command_lock"};
    fact::set(h, fact::kInterrupt, "softirq");
    Acquisition ethtool, watchdog;
    ethtool.context = "typhoon_get_drvinfo";
    watchdog.context = "typhoon_tx_timeout";
    watchdog.irq = "softirq";
    ethtool.stack = {Frame{0, "typhoon_issue_command", "", "typhoon.c", 581, "", false},
                     Frame{0, "typhoon_get_drvinfo", "", "typhoon.c", 976, "", false}};
    watchdog.stack = {Frame{0, "typhoon_issue_command", "", "typhoon.c", 581, "", false},
                      Frame{0, "typhoon_tx_timeout", "", "typhoon.c", 2028, "", false}};
    h.acquisitions = {ethtool, watchdog};
    complete_finding(h);
    EXPECT_NE(h.explanation.find("reached from typhoon_tx_timeout"), std::string::npos) << h.explanation;
    EXPECT_NE(h.explanation.find("reached from typhoon_get_drvinfo"), std::string::npos) << h.explanation;
    EXPECT_NE(h.fix.find("spin_lock_bh()"), std::string::npos) << h.fix;

    // A timer's run (not a lock) waited for in hardirq context, and under the lock it takes:
    // the words are about the wait, the fixes name the waiting line.
    Finding cb;
    cb.type = FindingType::inconsistent_lock_state;
    cb.classes = {"struct vortex_private::timer"};
    fact::set(cb, fact::kInterrupt, "hardirq");
    fact::set(cb, fact::kCallbacks, "struct vortex_private::timer");
    Acquisition run, waiter;
    run.irq = "softirq";
    run.stack = {Frame{0, "vortex_timer", "", "3c59x.c", 1784, "", false}};
    waiter.irq = "hardirq";
    waiter.stack = {Frame{0, "vortex_down", "", "3c59x.c", 2694, "", false}};
    cb.acquisitions = {run, waiter};
    complete_finding(cb);
    EXPECT_NE(cb.explanation.find("waited for in hardirq context (vortex_down"), std::string::npos) << cb.explanation;
    EXPECT_NE(cb.fix.find("del_timer() for del_timer_sync()"), std::string::npos) << cb.fix;
    EXPECT_EQ(cb.fix.find("spin_lock"), std::string::npos) << cb.fix;

    Finding cyc;
    cyc.type = FindingType::circular_dependency;
    cyc.classes = {"struct vortex_private::timer", "struct vortex_private::lock"};
    fact::set(cyc, fact::kCallbacks, "struct vortex_private::timer");
    Edge inside, wait;
    inside.from = wait.to = "struct vortex_private::timer";
    inside.to = wait.from = "struct vortex_private::lock";
    inside.from_site.stack = run.stack;
    inside.to_site.stack = {Frame{0, "vortex_timer", "", "3c59x.c", 1838, "", false}};
    wait.to_site.stack = waiter.stack;
    cyc.chain = {inside, wait};
    complete_finding(cyc);
    EXPECT_NE(cyc.fix.find("At vortex_down (3c59x.c:2694), do not wait"), std::string::npos) << cyc.fix;
    EXPECT_NE(cyc.explanation.find("takes struct vortex_private::lock (vortex_timer (3c59x.c:1838))"), std::string::npos)
        << cyc.explanation;

    Finding inv;
    inv.type = FindingType::irq_safe_unsafe_order;
    fact::set(inv, fact::kInterrupt, "hardirq");
    fact::set(inv, fact::kIrqSafe, "dev_lock");
    fact::set(inv, fact::kIrqUnsafe, "struct net_local::lock");
    Acquisition safe_in_irq;
    safe_in_irq.lock = "dev_lock";
    safe_in_irq.irq = "hardirq";
    safe_in_irq.stack = {Frame{0, "atp_interrupt", "", "atp.c", 594, "", false}};
    inv.acquisitions = {safe_in_irq, timer};
    complete_finding(inv);
    EXPECT_NE(inv.explanation.find("hardirqs enabled (atp_timed_checker"), std::string::npos) << inv.explanation;
    EXPECT_NE(inv.explanation.find("hardirq context (atp_interrupt"), std::string::npos) << inv.explanation;
  }

  WaitStep joiner, joined;
  joiner.party.name = "main thread";
  joiner.party.held = {HeldLock{"state_lock", "", "write", "", Frame{}, {}}};
  joiner.join = true;
  joined.party.name = "thread 1";
  joined.resource = "state_lock";
  Finding j = wait_cycle_finding(FindingType::actual_deadlock, {joiner, joined}, "run");
  complete_finding(j);
  EXPECT_NE(j.fix.find("Release state_lock before main thread joins thread 1"), std::string::npos) << j.fix;
  EXPECT_NE(j.summary.find("main thread waits in pthread_join for thread 1 to end"), std::string::npos) << j.summary;
}

// Front ends state facts; only the finding layer writes what people read. A front end that
// assigns a title, summary, explanation, fix, signature or scenario fails this test.
TEST(Voice, NoFrontEndWritesProseOrSignatures) {
  namespace fs = std::filesystem;
  std::regex writes(R"(\.(title|summary|explanation|fix|signature)\s*(=[^=]|\+=)|scenario\.(rows|columns)\s*(=|\.push_back))");
  std::vector<std::string> offenders;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(LOCKHOUND_SOURCE_DIR) / "src")) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), LOCKHOUND_SOURCE_DIR).string();
    if (rel.rfind("src/core/", 0) == 0) continue;
    std::ifstream in(e.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find("//") != std::string::npos) line = line.substr(0, line.find("//"));
      // Parsers' own state (a parsed headline's title) is not a finding.
      if (std::regex_search(line, writes) && line.find("h.title") == std::string::npos &&
          line.find("p.title") == std::string::npos)
        offenders.push_back(rel + ":" + std::to_string(n) + ": " + line);
    }
  }
  EXPECT_TRUE(offenders.empty()) << [&] {
    std::string s;
    for (const auto& o : offenders) s += o + "\n";
    return s;
  }();
}

}  // namespace
}  // namespace lockhound
