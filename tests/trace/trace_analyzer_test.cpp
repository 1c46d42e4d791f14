// lockhound's trace front end end to end: real lockdep-kernel captures give lockdep's verdict
// (and nothing else: these are whole-kernel traces, any extra finding is a false alarm), and
// small traces written here pin down the trace semantics the front end relies on.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "common/testdata.h"
#include "trace/trace_analyzer.h"

namespace lockhound::trace {
namespace {

using lockhound::testing::read_file;
using lockhound::testing::shared_dir;

std::vector<Finding> analyze(std::string_view text, TraceAnalyzer* keep = nullptr) {
  TraceAnalyzer local(TraceOptions{"test.trace"});
  TraceAnalyzer& a = keep ? *keep : local;
  analyze_text(text, a);
  return a.findings();
}

std::string describe(const std::vector<Finding>& fs) {
  std::string s;
  for (const auto& f : fs) {
    s += std::string(type_name(f.type)) + " [";
    for (const auto& c : f.classes) s += c + ",";
    s += "] " + f.summary + " @" + f.location + "\n";
  }
  return s;
}

std::set<std::string> classes_of(const Finding& f) {
  return {f.classes.begin(), f.classes.end()};
}

// A capture's trace: lockdep's verdict, nothing more.
std::vector<Finding> analyze_capture(const std::string& module, const char* file,
                                     TraceStats* stats = nullptr) {
  auto path = shared_dir() / "testdata" / "kernel" / module / file;
  TraceAnalyzer a(TraceOptions{path.string()});
  analyze_text(read_file(path), a);
  EXPECT_EQ(a.malformed_lines(), 0u) << path;
  if (stats) *stats = a.stats();
  return a.findings();
}

TEST(TraceCaptures, AbbaWholeKernelTrace) {
  LOCKHOUND_REQUIRE_SHARED();
  TraceStats st;
  auto fs = analyze_capture("m1_abba", "trace.txt", &st);
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].type, FindingType::circular_dependency) << describe(fs);
  EXPECT_EQ(classes_of(fs[0]), (std::set<std::string>{"m1_lock_a", "m1_lock_b"}));
  EXPECT_EQ(fs[0].source, "trace");
  EXPECT_NE(fs[0].location.find("trace.txt:"), std::string::npos) << fs[0].location;
  EXPECT_EQ(st.acquires, 6465u);
  EXPECT_GT(st.tasks, 5u);
}

TEST(TraceCaptures, AbbaModuleTrace) {
  LOCKHOUND_REQUIRE_SHARED();
  auto fs = analyze_capture("m1_abba", "trace_module.txt");
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].type, FindingType::circular_dependency);
  EXPECT_EQ(classes_of(fs[0]), (std::set<std::string>{"m1_lock_a", "m1_lock_b"}));
  // The cycle's evidence points at the trace lines of the acquisitions.
  bool has_line = false;
  for (const auto& e : fs[0].chain)
    for (const auto& fr : e.to_site.stack) has_line |= fr.line > 0 && fr.file.find("trace_module.txt") != std::string::npos;
  EXPECT_TRUE(has_line) << describe(fs);
}

TEST(TraceCaptures, IrqInversionWholeKernelTrace) {
  LOCKHOUND_REQUIRE_SHARED();
  for (const char* file : {"trace.txt", "trace_module.txt"}) {
    auto fs = analyze_capture("m2_irq_inversion", file);
    ASSERT_EQ(fs.size(), 1u) << file << "\n" << describe(fs);
    EXPECT_EQ(fs[0].type, FindingType::inconsistent_lock_state) << describe(fs);
    EXPECT_EQ(classes_of(fs[0]), (std::set<std::string>{"m2_lock"}));
    std::string all = fs[0].title + " " + fs[0].summary;
    for (const auto& [k, v] : fs[0].details) all += " " + k + "=" + v;
    EXPECT_NE(all.find("IN-HARDIRQ-W"), std::string::npos) << all;
    EXPECT_NE(all.find("HARDIRQ-ON-W"), std::string::npos) << all;
  }
}

TEST(TraceCaptures, CleanTraceHasNoFindings) {
  LOCKHOUND_REQUIRE_SHARED();
  for (const char* file : {"trace.txt", "trace_module.txt"}) {
    TraceStats st;
    auto fs = analyze_capture("m8_clean", file, &st);
    EXPECT_TRUE(fs.empty()) << file << "\n" << describe(fs);
    EXPECT_GT(st.acquires, 1000u);
  }
}

// ---- small traces ------------------------------------------------------------------------

// ftrace line builder: "COMM-PID [CPU] FLAGS TS: EVENT: PAYLOAD".
std::string ev(const char* task, int cpu, const char* flags, const char* event, const std::string& payload) {
  static unsigned long ts = 1000;
  char buf[512];
  ++ts;
  std::snprintf(buf, sizeof buf, "%16s [%03d] %s %6lu.%06lu: %s: %s\n", task, cpu, flags, ts / 1000000,
                ts % 1000000, event, payload.c_str());
  return buf;
}
std::string acq(const char* task, int cpu, const char* flags, const char* addr, const char* name) {
  return ev(task, cpu, flags, "lock_acquire", std::string(addr) + " " + name);
}
std::string rel(const char* task, int cpu, const char* flags, const char* addr, const char* name) {
  return ev(task, cpu, flags, "lock_release", std::string(addr) + " " + name);
}

const char* kHeader =
    "# tracer: nop\n"
    "#\n"
    "#                                _-----=> irqs-off/BH-disabled\n"
    "#                               / _----=> need-resched\n"
    "#                              | / _---=> hardirq/softirq\n"
    "#                              || / _--=> preempt-depth\n"
    "#                              ||| / _-=> migrate-disable\n"
    "#                              |||| /     delay\n"
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
    "#              | |         |   |||||     |         |\n";

// ABBA between two tasks plus an irq-unsafe use of a lock also taken in hardirq: two
// independent problems, both reported (lockdep would have stopped after the first).
TEST(TraceSmall, TwoIndependentProblemsBothReported) {
  std::string t = kHeader;
  t += acq("t1-10", 0, "...1.", "ffff888000001000", "lock_a");
  t += acq("t1-10", 0, "...2.", "ffff888000002000", "lock_b");
  t += rel("t1-10", 0, "...2.", "ffff888000002000", "lock_b");
  t += rel("t1-10", 0, "...1.", "ffff888000001000", "lock_a");
  t += acq("t2-11", 1, "...1.", "ffff888000002000", "lock_b");
  t += acq("t2-11", 1, "...2.", "ffff888000001000", "lock_a");
  t += rel("t2-11", 1, "...2.", "ffff888000001000", "lock_a");
  t += rel("t2-11", 1, "...1.", "ffff888000002000", "lock_b");
  // irq_lock: taken in a hardirq on top of t1, then by t3 with hardirqs enabled.
  t += acq("t1-10", 0, "d.h2.", "ffff888000003000", "irq_lock");
  t += rel("t1-10", 0, "d.h2.", "ffff888000003000", "irq_lock");
  t += acq("t3-12", 1, "...1.", "ffff888000003000", "irq_lock");
  t += rel("t3-12", 1, "...1.", "ffff888000003000", "irq_lock");
  auto fs = analyze(t);
  ASSERT_EQ(fs.size(), 2u) << describe(fs);
  std::set<FindingType> types{fs[0].type, fs[1].type};
  EXPECT_TRUE(types.count(FindingType::circular_dependency)) << describe(fs);
  EXPECT_TRUE(types.count(FindingType::inconsistent_lock_state)) << describe(fs);
}

// Each CPU's idle task is pid 0; they are distinct tasks. Merged, these two would make an
// A -> B edge out of locks held on different CPUs and, with B -> A elsewhere, a false cycle.
TEST(TraceSmall, IdleTasksOfDifferentCpusAreDifferentTasks) {
  std::string t = kHeader;
  t += acq("<idle>-0", 0, "d..1.", "ffff888000001000", "lock_a");
  t += acq("<idle>-0", 1, "d..1.", "ffff888000002000", "lock_b");
  t += rel("<idle>-0", 1, "d..1.", "ffff888000002000", "lock_b");
  t += rel("<idle>-0", 0, "d..1.", "ffff888000001000", "lock_a");
  t += acq("t2-11", 1, "...1.", "ffff888000002000", "lock_b");
  t += acq("t2-11", 1, "...2.", "ffff888000001000", "lock_a");
  t += rel("t2-11", 1, "...2.", "ffff888000001000", "lock_a");
  t += rel("t2-11", 1, "...1.", "ffff888000002000", "lock_b");
  auto fs = analyze(t);
  EXPECT_TRUE(fs.empty()) << describe(fs);
}

// A lock taken in a hardirq on top of a task holding another lock: no dependency across irq
// contexts (lockdep adds none), so no cycle from the reverse order in process context.
TEST(TraceSmall, NoDependencyAcrossIrqContexts) {
  std::string t = kHeader;
  t += acq("t1-10", 0, "d..1.", "ffff888000001000", "lock_a");
  t += acq("t1-10", 0, "d.h2.", "ffff888000002000", "lock_b");
  t += rel("t1-10", 0, "d.h2.", "ffff888000002000", "lock_b");
  t += rel("t1-10", 0, "d..1.", "ffff888000001000", "lock_a");
  t += acq("t2-11", 1, "d..1.", "ffff888000002000", "lock_b");
  t += acq("t2-11", 1, "d..2.", "ffff888000001000", "lock_a");
  t += rel("t2-11", 1, "d..2.", "ffff888000001000", "lock_a");
  t += rel("t2-11", 1, "d..1.", "ffff888000002000", "lock_b");
  auto fs = analyze(t);
  // lock_b is taken in hardirq and (by t2) only with irqs off: consistent. No cycle.
  EXPECT_TRUE(fs.empty()) << describe(fs);
}

// The trace carries no subclass: a second instance of a held class is a _nested() annotation
// (as the kernel's own page-table and dentry locks do), re-taking the same instance is a
// certain self-deadlock.
TEST(TraceSmall, NestedInstancesVersusSameInstance) {
  std::string nested = kHeader;
  nested += acq("t1-10", 0, "...2.", "ffff888000001000", "&o->lock");
  nested += acq("t1-10", 0, "...3.", "ffff888000001040", "&o->lock");
  nested += rel("t1-10", 0, "...3.", "ffff888000001040", "&o->lock");
  nested += rel("t1-10", 0, "...2.", "ffff888000001000", "&o->lock");
  auto fs = analyze(nested);
  EXPECT_TRUE(fs.empty()) << describe(fs);

  std::string same = kHeader;
  same += acq("t1-10", 0, "...2.", "ffff888000001000", "&o->lock");
  same += acq("t1-10", 0, "...3.", "ffff888000001000", "&o->lock");
  auto rs = analyze(same);
  ASSERT_EQ(rs.size(), 1u) << describe(rs);
  EXPECT_EQ(rs[0].type, FindingType::recursive_locking);
  EXPECT_EQ(classes_of(rs[0]), (std::set<std::string>{"&o->lock"}));
}

// A double unlock the trace proves (the task took and released the exclusive lock in the trace,
// then releases it again) is bad_unlock_balance; the same for a reader (nested read holds may
// predate the trace) or a lock never seen taken is not.
TEST(TraceSmall, ProvableDoubleUnlockOnly) {
  std::string t = kHeader;
  t += acq("insmod-37", 1, "...2.", "ffffffffa0002070", "lh08_cfg_mutex");
  t += rel("insmod-37", 1, "...1.", "ffffffffa0002070", "lh08_cfg_mutex");
  t += rel("insmod-37", 1, "...1.", "ffffffffa0002070", "lh08_cfg_mutex");
  TraceAnalyzer a;
  auto fs = analyze(t, &a);
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].type, FindingType::bad_unlock_balance);
  EXPECT_EQ(classes_of(fs[0]), (std::set<std::string>{"lh08_cfg_mutex"}));
  EXPECT_EQ(a.stats().double_unlocks, 1u);

  std::string r = kHeader;
  r += ev("t1-10", 0, "...1.", "lock_acquire", "ffffffff81ac03e0 read rcu_read_lock");
  r += rel("t1-10", 0, "...1.", "ffffffff81ac03e0", "rcu_read_lock");
  r += rel("t1-10", 0, "...1.", "ffffffff81ac03e0", "rcu_read_lock");  // outer hold from before
  r += rel("t1-10", 0, "...1.", "ffff888000005000", "never_seen");
  auto rs = analyze(r);
  EXPECT_TRUE(rs.empty()) << describe(rs);
}

// A release the trace never saw taken (the trace started mid-flight) is no finding, and a
// release out of order keeps the rest of the held stack right.
TEST(TraceSmall, MidFlightAndOutOfOrderReleases) {
  std::string t = kHeader;
  t += rel("t1-10", 0, "...1.", "ffff888000009000", "sb_writers");
  t += acq("t1-10", 0, "...1.", "ffff888000001000", "lock_a");
  t += acq("t1-10", 0, "...2.", "ffff888000002000", "lock_b");
  t += rel("t1-10", 0, "...2.", "ffff888000001000", "lock_a");  // a before b
  t += rel("t1-10", 0, "...1.", "ffff888000002000", "lock_b");
  t += acq("t1-10", 0, "...1.", "ffff888000003000", "lock_c");
  t += acq("t1-10", 0, "...2.", "ffff888000001000", "lock_a");  // c -> a, not b -> a
  t += rel("t1-10", 0, "...2.", "ffff888000001000", "lock_a");
  t += rel("t1-10", 0, "...1.", "ffff888000003000", "lock_c");
  auto fs = analyze(t);
  EXPECT_TRUE(fs.empty()) << describe(fs);
}

// Wait types come only from proof: a mutex (contention_begin MUTEX right after its
// lock_acquire) under a spinlock proven by contention_begin SPIN is an invalid wait context;
// the same events without the contention proof are not reported.
TEST(TraceSmall, WaitTypesOnlyFromProof) {
  auto body = [](bool proof) {
    std::string t = kHeader;
    t += acq("t1-10", 0, "...1.", "ffff888000001018", "my_spin");
    if (proof) {
      t += ev("t1-10", 0, "...1.", "lock_contended", "ffff888000001018 my_spin");
      t += ev("t1-10", 0, "...1.", "contention_begin", "ffff888000001000 (flags=SPIN)");
      t += ev("t1-10", 0, "...1.", "contention_end", "ffff888000001000 (ret=0)");
    }
    t += ev("t1-10", 0, "...1.", "lock_acquired", "ffff888000001018 my_spin");
    t += acq("t1-10", 0, "...2.", "ffff888000002070", "my_mutex");
    if (proof) t += ev("t1-10", 0, "...2.", "contention_begin", "ffff888000002000 (flags=SPIN|MUTEX)");
    t += ev("t1-10", 0, "...2.", "lock_acquired", "ffff888000002070 my_mutex");
    t += rel("t1-10", 0, "...2.", "ffff888000002070", "my_mutex");
    t += rel("t1-10", 0, "...1.", "ffff888000001018", "my_spin");
    return t;
  };
  TraceAnalyzer a(TraceOptions{"proof.trace"});
  auto fs = analyze(body(true), &a);
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].type, FindingType::invalid_wait_context) << describe(fs);
  EXPECT_EQ(a.stats().kinds_proven, 2u);
  auto none = analyze(body(false));
  EXPECT_TRUE(none.empty()) << describe(none);
}

// A spinlock's first acquisition proven by the preempt-depth column (spin_lock() disables
// preemption before lock_acquire; down_write() does not) once the trace shows that mutexes
// announce themselves; a timer interrupt between lock_acquire and lock_acquired does not spoil
// the proof.
TEST(TraceSmall, SpinProofFromPreemptDepth) {
  auto body = [](const char* spin_flags, bool announce) {
    std::string t = kHeader;
    if (announce) {  // some mutex elsewhere shows the kernel emits contention events
      t += acq("t9-19", 1, "...2.", "ffff888000009070", "other_mutex");
      t += ev("t9-19", 1, "...2.", "contention_begin", "ffff888000009000 (flags=SPIN|MUTEX)");
      t += rel("t9-19", 1, "...1.", "ffff888000009070", "other_mutex");
    }
    t += acq("t1-10", 0, spin_flags, "ffff888000001018", "my_spin");
    t += acq("t1-10", 0, "d.h3.", "ffff888000003000", "hrtimer_lock");  // interrupt in between
    t += rel("t1-10", 0, "d.h3.", "ffff888000003000", "hrtimer_lock");
    t += ev("t1-10", 0, spin_flags, "lock_acquired", "ffff888000001018 my_spin");
    t += acq("t1-10", 0, "...3.", "ffff888000002070", "my_mutex");
    t += ev("t1-10", 0, "...3.", "contention_begin", "ffff888000002000 (flags=SPIN|MUTEX)");
    t += ev("t1-10", 0, "...3.", "lock_acquired", "ffff888000002070 my_mutex");
    t += rel("t1-10", 0, "...2.", "ffff888000002070", "my_mutex");
    t += rel("t1-10", 0, "...2.", "ffff888000001018", "my_spin");
    return t;
  };
  auto fs = analyze(body("...2.", true));
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].type, FindingType::invalid_wait_context) << describe(fs);
  EXPECT_TRUE(classes_of(fs[0]).count("my_mutex")) << describe(fs);
  // Depth 1 at the acquisition: an rwsem's down_write() looks like this; no proof.
  auto rw = analyze(body("...1.", true));
  EXPECT_TRUE(rw.empty()) << describe(rw);
  // No sign that mutexes emit contention events: no proof either.
  auto quiet = analyze(body("...2.", false));
  EXPECT_TRUE(quiet.empty()) << describe(quiet);
}

// A garbled line in the middle: reported with its line number, skipped, and everything around
// it still analysed (the cycle closes after the bad line).
TEST(TraceSmall, MalformedLineSkippedNothingLost) {
  std::string t = kHeader;
  t += acq("t1-10", 0, "...1.", "ffff888000001000", "lock_a");
  t += acq("t1-10", 0, "...2.", "ffff888000002000", "lock_b");
  t += rel("t1-10", 0, "...2.", "ffff888000002000", "lock_b");
  t += rel("t1-10", 0, "...1.", "ffff888000001000", "lock_a");
  t += "            t2-11  [001] ...1.  1.0: lock_acquire: nothex lock_b\n";  // line 15
  t += "this is not a trace line\n";                                          // line 16
  t += acq("t2-11", 1, "...1.", "ffff888000002000", "lock_b");
  t += acq("t2-11", 1, "...2.", "ffff888000001000", "lock_a");
  TraceAnalyzer a(TraceOptions{"bad.trace"});
  auto fs = analyze(t, &a);
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].type, FindingType::circular_dependency);
  ASSERT_EQ(a.diagnostics().size(), 2u);
  EXPECT_EQ(a.diagnostics()[0].line, 15u);
  EXPECT_EQ(a.diagnostics()[0].file, "bad.trace");
  EXPECT_NE(format_diagnostic(a.diagnostics()[0]).find("bad.trace:15: error: expected a lock address"),
            std::string::npos)
      << format_diagnostic(a.diagnostics()[0]);
  EXPECT_EQ(a.diagnostics()[1].line, 16u);
  EXPECT_EQ(a.malformed_lines(), 2u);
}

// Garbage in bulk: diagnostics are capped, the count is not.
TEST(TraceSmall, DiagnosticsAreCapped) {
  std::string t;
  for (int i = 0; i < 1000; ++i) t += "garbage\n";
  TraceAnalyzer a(TraceOptions{"junk", 10});
  analyze_text(t, a);
  EXPECT_EQ(a.malformed_lines(), 1000u);
  EXPECT_LE(a.diagnostics().size(), 11u);
}

// NMI events are ignored, as lockdep ignores them.
TEST(TraceSmall, NmiEventsIgnored) {
  std::string t = kHeader;
  t += acq("t1-10", 0, "...1.", "ffff888000001000", "lock_a");
  t += acq("t1-10", 0, "d.Z2.", "ffff888000001000", "lock_a");  // would be recursion
  t += rel("t1-10", 0, "d.Z2.", "ffff888000001000", "lock_a");
  t += rel("t1-10", 0, "...1.", "ffff888000001000", "lock_a");
  TraceAnalyzer a;
  auto fs = analyze(t, &a);
  EXPECT_TRUE(fs.empty()) << describe(fs);
  EXPECT_EQ(a.stats().nmi_skipped, 2u);
}

// perf script with -g: the callchain of the acquisition becomes the finding's stack; no irq
// columns, so no interrupt usage is invented.
TEST(TraceSmall, PerfScriptWithCallchains) {
  std::string t =
      "m1_ab    44 [001]    10.002273: lock:lock_acquire: 0xffffffffa0002110 m1_lock_a\n"
      "\tffffffff810f1234 lock_acquire+0xd4 ([kernel.kallsyms])\n"
      "\tffffffff81a01234 mutex_lock_nested+0x1b ([kernel.kallsyms])\n"
      "\tffffffffa0000050 m1_ab_fn+0x20 ([m1_abba])\n"
      "\n"
      "m1_ab    44 [001]    10.002423: lock:lock_acquire: 0xffffffffa0002070 m1_lock_b\n"
      "\tffffffff810f1234 lock_acquire+0xd4 ([kernel.kallsyms])\n"
      "\tffffffffa0000070 m1_ab_fn+0x40 ([m1_abba])\n"
      "\n"
      "m1_ab    44 [001]    10.004310: lock:lock_release: 0xffffffffa0002070 m1_lock_b\n"
      "\n"
      "m1_ab    44 [001]    10.004328: lock:lock_release: 0xffffffffa0002110 m1_lock_a\n"
      "\n"
      "m1_ba    45 [001]    10.009512: lock:lock_acquire: 0xffffffffa0002070 m1_lock_b\n"
      "\tffffffffa0000150 m1_ba_fn+0x20 ([m1_abba])\n"
      "\n"
      "m1_ba    45 [001]    10.009535: lock:lock_acquire: 0xffffffffa0002110 m1_lock_a\n"
      "\tffffffff810f1234 lock_acquire+0xd4 ([kernel.kallsyms])\n"
      "\tffffffffa0000170 m1_ba_fn+0x40 ([m1_abba])\n";
  auto fs = analyze(t);
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].type, FindingType::circular_dependency);
  std::set<std::string> fns;
  for (const auto& e : fs[0].chain) {
    for (const auto& fr : e.to_site.stack) fns.insert(fr.function);
    for (const auto& fr : e.from_site.stack) fns.insert(fr.function);
  }
  EXPECT_TRUE(fns.count("m1_ba_fn") || fns.count("m1_ab_fn")) << describe(fs);
}

}  // namespace
}  // namespace lockhound::trace
