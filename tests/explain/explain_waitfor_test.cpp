// Hung tasks plus lockdep's "Showing all locks held in the system": the wait-for graph names the
// real deadlock, and a task blocked in mutex_lock() is not taken for the owner of that mutex.
#include <set>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "explain/explain.h"

namespace lockhound::explain {
namespace {

std::string hung(const std::string& comm, int pid, const std::string& fn) {
  return "INFO: task " + comm + ":" + std::to_string(pid) + " blocked for more than 122 seconds.\n"
         "      Not tainted 6.1.0 #1\n"
         "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n"
         "task:" + comm + "           state:D stack:0     pid:" + std::to_string(pid) +
         "   ppid:2      flags:0x00004000\n"
         "Call Trace:\n <TASK>\n __schedule+0x2f5/0x890\n schedule+0x5a/0xc0\n"
         " schedule_preempt_disabled+0x11/0x20\n __mutex_lock+0x3c5/0x8e0\n " + fn +
         "+0x3d/0x70 [foo]\n kthread+0xe3/0x110\n ret_from_fork+0x1f/0x30\n </TASK>\n";
}

const char* kDump = R"(
Showing all locks held in the system:
1 lock held by khungtaskd/30:
 #0: ffffffff82b5e2a0 (rcu_read_lock){....}-{1:2}, at: debug_show_all_locks+0x12/0x170
2 locks held by foo_a/101:
 #0: ffff888004a1c0d8 (&dev->cfg_lock){+.+.}-{3:3}, at: foo_path_a+0x1e/0x70 [foo]
 #1: ffff888004a1c1f0 (&priv->tx_lock){+.+.}-{3:3}, at: foo_path_a+0x3d/0x70 [foo]
2 locks held by foo_b/102:
 #0: ffff888004a1c1f0 (&priv->tx_lock){+.+.}-{3:3}, at: foo_path_b+0x1e/0x70 [foo]
 #1: ffff888004a1c0d8 (&dev->cfg_lock){+.+.}-{3:3}, at: foo_path_b+0x3d/0x70 [foo]

=============================================

)";

TEST(WaitFor, AbbaHangIsAnActualDeadlock) {
  std::string log = hung("foo_a", 101, "foo_path_a") + hung("foo_b", 102, "foo_path_b") + kDump;
  auto r = explain_log(log, "hang.log");
  for (const auto& d : r.diagnostics) ADD_FAILURE() << format_diagnostic(d);
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[0].type, FindingType::hung_task);
  EXPECT_EQ(r.findings[1].type, FindingType::hung_task);
  const Finding& d = r.findings[2];
  ASSERT_EQ(d.type, FindingType::actual_deadlock);
  EXPECT_EQ(std::set<std::string>(d.classes.begin(), d.classes.end()),
            (std::set<std::string>{"&dev->cfg_lock", "&priv->tx_lock"}));
  ASSERT_EQ(d.participants.size(), 2u);
  EXPECT_EQ(d.participants[0].pid, 101);
  EXPECT_EQ(d.participants[0].waits_for, "&priv->tx_lock");
  EXPECT_EQ(d.participants[1].pid, 102);
  EXPECT_EQ(d.participants[1].waits_for, "&dev->cfg_lock");
  EXPECT_FALSE(d.participants[0].stack.empty());
  EXPECT_EQ(d.summary,
            "foo_a/101 waits for &priv->tx_lock held by foo_b/102, foo_b/102 waits for &dev->cfg_lock held by "
            "foo_a/101");
  ASSERT_EQ(d.chain.size(), 2u);
  EXPECT_EQ(d.location, "hang.log:30");  // the "Showing all locks held" line
  // Each hung task knows what it waits for and who holds it.
  std::string held_by;
  for (const auto& [k, v] : r.findings[0].details)
    if (k == "held by") held_by = v;
  EXPECT_EQ(held_by, "foo_b/102");
}

TEST(WaitFor, WaitersOnOneMutexAreNotADeadlock) {
  // Three tasks blocked on the same mutex, each listing it as its (top) held lock; the owner is a
  // running task. Counting the waiters as owners would invent a cycle.
  std::string dump = R"(
Showing all locks held in the system:
1 lock held by foo_a/101:
 #0: ffff888004a1c0d8 (&dev->cfg_lock){+.+.}-{3:3}, at: foo_path_a+0x3d/0x70 [foo]
1 lock held by foo_b/102:
 #0: ffff888004a1c0d8 (&dev->cfg_lock){+.+.}-{3:3}, at: foo_path_b+0x3d/0x70 [foo]
1 lock held by foo_owner/200:
 #0: ffff888004a1c0d8 (&dev->cfg_lock){+.+.}-{3:3}, at: foo_slow_path+0x10/0x70 [foo]

=============================================
)";
  auto r = explain_log(hung("foo_a", 101, "foo_path_a") + hung("foo_b", 102, "foo_path_b") + dump, "w.log");
  ASSERT_EQ(r.findings.size(), 2u);
  for (const auto& f : r.findings) {
    EXPECT_EQ(f.type, FindingType::hung_task);
    EXPECT_EQ(f.classes, (std::vector<std::string>{"&dev->cfg_lock"}));
    std::string held_by;
    for (const auto& [k, v] : f.details)
      if (k == "held by") held_by = v;
    EXPECT_EQ(held_by, "foo_owner/200");
  }
}

TEST(WaitFor, BlockerHintsAloneCloseTheCycle) {
  // Kernels with CONFIG_DETECT_HUNG_TASK_BLOCKER name the likely owner; no lock dump needed.
  std::string log = hung("foo_a", 101, "foo_path_a") +
                    "INFO: task foo_a:101 is blocked on a mutex likely owned by task foo_b:102.\n" +
                    hung("foo_b", 102, "foo_path_b") +
                    "INFO: task foo_b:102 is blocked on a mutex likely owned by task foo_a:101.\n";
  auto r = explain_log(log, "blocker.log");
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.findings[2].type, FindingType::actual_deadlock);
  EXPECT_EQ(r.findings[2].participants.size(), 2u);
}


TEST(WaitFor, SysrqBlockedStateAndLockDump) {
  // SysRq-w then SysRq-d: no hung-task report, but the D-state tasks and their stacks are listed.
  std::string w = "sysrq: Show Blocked State\n";
  for (auto [comm, pid, fn] : {std::tuple<std::string, int, std::string>{"foo_a", 101, "foo_path_a"},
                               {"foo_b", 102, "foo_path_b"}}) {
    w += "task:" + comm + "           state:D stack:0     pid:" + std::to_string(pid) +
         "   ppid:2      flags:0x00004000\nCall Trace:\n <TASK>\n __schedule+0x2f5/0x890\n schedule+0x5a/0xc0\n"
         " __mutex_lock+0x3c5/0x8e0\n " + fn + "+0x3d/0x70 [foo]\n </TASK>\n";
  }
  auto r = explain_log(w + "sysrq: Show Locks Held\n" + kDump, "sysrq.log");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, FindingType::actual_deadlock);
  EXPECT_EQ(r.findings[0].participants.size(), 2u);
  // Without the blocked-state dump nothing says who waits: no deadlock is claimed.
  EXPECT_TRUE(explain_log(kDump, "dump-only.log").findings.empty());
}

}  // namespace
}  // namespace lockhound::explain
