// Kernel report wordings that explain once missed or mistyped (issue 17, item 17), each on a
// kernel-format log in tests/explain/data: hung tasks in I/O wait or unable to die, RCU expedited
// and RCU Tasks stalls, workqueue lockups, "spinlock already unlocked", lockdep's own broken
// checks, and logs whose transport mangled the lines.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/facts.h"
#include "explain/explain.h"

namespace lockhound::explain {
namespace {

std::string data(const std::string& name) {
  std::ifstream in(std::string(EXPLAIN_DATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExplainResult run(const std::string& name) {
  auto r = explain_log(data(name), name);
  for (const auto& d : r.diagnostics) ADD_FAILURE() << format_diagnostic(d);
  return r;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Wording, HungTaskInIoWaitAndUnableToDie) {
  auto r = run("hung_task_wordings.txt");
  ASSERT_EQ(r.findings.size(), 2u);
  const Finding& io = r.findings[0];
  EXPECT_EQ(io.type, FindingType::hung_task);
  EXPECT_EQ(io.title, "task jbd2/vdb1-8/311 blocked in I/O wait for more than 245 seconds");
  EXPECT_EQ(fact::get(io, fact::kSeconds), "245");
  EXPECT_EQ(fact::get(io, fact::kHang), "I/O wait");
  ASSERT_FALSE(io.participants.empty());
  EXPECT_EQ(io.participants[0].name, "jbd2/vdb1-8");
  EXPECT_EQ(io.participants[0].pid, 311);
  EXPECT_TRUE(has(io.explanation, "I/O")) << io.explanation;
  const Finding& die = r.findings[1];
  EXPECT_EQ(die.type, FindingType::hung_task);
  EXPECT_EQ(die.title, "task repro/9120 can't die for more than 143 seconds");
  EXPECT_EQ(fact::get(die, fact::kHang), "can't die");
  ASSERT_FALSE(die.participants.empty());
  EXPECT_EQ(die.participants[0].pid, 9120);
  EXPECT_TRUE(has(die.explanation, "fatal signal")) << die.explanation;
}

TEST(Wording, RcuExpeditedAndTasksStalls) {
  auto r = run("rcu_expedited_and_tasks.txt");
  ASSERT_EQ(r.findings.size(), 2u);
  const Finding& exp = r.findings[0];
  EXPECT_EQ(exp.type, FindingType::rcu_stall);
  EXPECT_EQ(fact::get(exp, fact::kStallKind), "expedited");
  EXPECT_EQ(fact::get(exp, fact::kStallCpus), "3");
  EXPECT_EQ(fact::get(exp, "stalled tasks"), "2211");
  EXPECT_EQ(fact::get(exp, fact::kJiffies), "21002");
  EXPECT_TRUE(has(exp.summary, "rcu_preempt expedited stall on CPU 3")) << exp.summary;
  EXPECT_TRUE(has(exp.fix, "pollster_loop+0x51")) << exp.fix;
  const Finding& tasks = r.findings[1];
  EXPECT_EQ(tasks.type, FindingType::rcu_stall);
  EXPECT_EQ(fact::get(tasks, fact::kStallKind), "tasks");
  EXPECT_EQ(fact::get(tasks, fact::kFlavor), "rcu_tasks");
  ASSERT_FALSE(tasks.participants.empty());
  EXPECT_EQ(tasks.participants[0].name, "tracer-busy");
  EXPECT_EQ(tasks.participants[0].pid, 3011);
  EXPECT_TRUE(has(tasks.summary, "tracer-busy/3011")) << tasks.summary;
  EXPECT_TRUE(has(tasks.summary, "tracer_busy_wait+0x22")) << tasks.summary;
}

TEST(Wording, WorkqueueLockupIsItsOwnType) {
  auto r = run("workqueue_lockup.txt");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::workqueue_lockup);
  EXPECT_EQ(type_name(f.type), "workqueue_lockup");
  EXPECT_EQ(fact::get(f, fact::kPool), "cpus=2 node=0 flags=0x0 nice=0");
  EXPECT_EQ(fact::get(f, fact::kSeconds), "42");
  EXPECT_EQ(fact::get(f, fact::kCpu), "2");
  EXPECT_EQ(fact::get(f, fact::kInFlight), "71:sensor_refresh_fn");
  EXPECT_EQ(f.title, "workqueue lockup: pool cpus=2 node=0 flags=0x0 nice=0 stuck for 42s");
  EXPECT_TRUE(has(f.fix, "71:sensor_refresh_fn")) << f.fix;
}

TEST(Wording, SpinlockAlreadyUnlockedIsNotBadMagic) {
  auto r = run("spinlock_already_unlocked.txt");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::spinlock_already_unlocked);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"ring_lock"}));
  ASSERT_FALSE(f.participants.empty());
  EXPECT_EQ(f.participants[0].name, "kworker/2:1");
  EXPECT_EQ(f.participants[0].pid, 63);
  EXPECT_TRUE(has(f.summary, "already unlocked")) << f.summary;
  EXPECT_TRUE(has(f.summary, "ring_drain+0x6e")) << f.summary;
  EXPECT_FALSE(has(f.explanation, "corrupt:")) << f.explanation;
  // The real bad magic keeps its type.
  auto g = explain_log("BUG: spinlock bad magic on CPU#0, swapper/0/1\n"
                       " lock: 0xffff888004a1c0d8, .magic: 00000000, .owner: <none>/-1, .owner_cpu: 0\n",
                       "t.log");
  ASSERT_EQ(g.findings.size(), 1u);
  EXPECT_EQ(g.findings[0].type, FindingType::spinlock_bad_magic);
}

TEST(Wording, DebugLocksWarnOnIsOneLockdepInternalError) {
  auto r = run("lockdep_debug_locks_warn_on.txt");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::lockdep_internal_error);
  EXPECT_EQ(fact::get(f, fact::kCheck), "DEBUG_LOCKS_WARN_ON(1)");
  EXPECT_EQ(fact::get(f, fact::kAt), "kernel/locking/lockdep.c:232");
  EXPECT_EQ(fact::get(f, fact::kFunction), "hlock_class");
  EXPECT_EQ(f.title, "lockdep internal error in hlock_class: lockdep turned off");
  EXPECT_TRUE(has(f.fix, "cache_evict+0x33")) << f.fix;
  EXPECT_EQ(type_severity(f.type), "warning");
}

TEST(Wording, WarningInsideLockdepIsALockdepInternalError) {
  auto r = run("lockdep_register_lock_class_warning.txt");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::lockdep_internal_error);
  EXPECT_EQ(fact::get(f, fact::kAt), "kernel/locking/lockdep.c:1240");
  EXPECT_EQ(fact::get(f, fact::kFunction), "register_lock_class");
  EXPECT_TRUE(has(f.fix, "netq_attach+0x41")) << f.fix;
  // 6.16's WARNING form names the place first.
  auto g = explain_log("WARNING: kernel/locking/lockdep.c:5880 at lock_downgrade+0x1b7/0x2c0, CPU#1: mmapper/771\n"
                       "CPU: 1 UID: 0 PID: 771 Comm: mmapper Not tainted 6.16.0 #1\n"
                       "Call Trace:\n <TASK>\n lock_downgrade+0x1b7/0x2c0\n downgrade_write+0x1a/0x30\n"
                       " mm_shrink_map+0x88/0x120 [mmapper]\n </TASK>\n",
                       "t.log");
  ASSERT_EQ(g.findings.size(), 1u);
  EXPECT_EQ(g.findings[0].type, FindingType::lockdep_internal_error);
  EXPECT_EQ(fact::get(g.findings[0], fact::kFunction), "lock_downgrade");
  // A WARNING elsewhere is still not a locking report.
  auto h = explain_log("WARNING: CPU: 0 PID: 1 at drivers/net/foo.c:12 foo_probe+0x1/0x2\n", "t.log");
  EXPECT_TRUE(h.findings.empty());
}

}  // namespace
}  // namespace lockhound::explain

namespace lockhound::explain {
namespace {

TEST(Transport, UserSpaceTextBeforeTheTimestamp) {
  auto r = run("user_text_before_timestamp.txt");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::non_static_key);
  EXPECT_EQ(f.location, "user_text_before_timestamp.txt:3");
  EXPECT_TRUE(has(f.fix, "gadget_probe+0x20")) << f.fix;
}

}  // namespace
}  // namespace lockhound::explain

namespace lockhound::explain {
namespace {

TEST(Transport, HeadlineSplitByANewlineInATaskName) {
  auto r = run("split_headline.txt");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::hung_task);
  ASSERT_FALSE(f.participants.empty());
  EXPECT_EQ(f.participants[0].name, "evil\\nname");
  EXPECT_EQ(f.participants[0].pid, 4410);
  EXPECT_EQ(fact::get(f, fact::kSeconds), "122");
  EXPECT_TRUE(has(f.summary, "knob_write+0x2e") || has(f.summary, "__mutex_lock")) << f.summary;
}

}  // namespace
}  // namespace lockhound::explain
