// Report types the shared splats do not cover, in the formats lockdep-semantics.md documents:
// spinlock debug reports, leaked workqueue locks, non-static keys, RCU stalls detected by another
// CPU, MAX_LOCK_DEPTH, FreeBSD WITNESS.
#include <string>

#include <gtest/gtest.h>

#include "explain/explain.h"

namespace lockhound::explain {
namespace {

Finding only(const std::string& text) {
  auto r = explain_log(text, "t.log");
  EXPECT_EQ(r.findings.size(), 1u) << text;
  return r.findings.empty() ? Finding{} : r.findings[0];
}

TEST(OtherTypes, SpinlockLockupSuspected) {
  auto f = only(R"(BUG: spinlock lockup suspected on CPU#1, foo/123
 lock: 0xffff88003fc13880, .magic: dead4ead, .owner: bar/456, .owner_cpu: 0
Pid: 123, comm: foo Not tainted 3.10.0 #1
Call Trace:
 [<ffffffff8131fc5e>] do_raw_spin_lock+0x10e/0x120
 [<ffffffff81611234>] _raw_spin_lock+0x24/0x30
 [<ffffffffa0012345>] foo_poll+0x44/0x90 [foo]
)");
  EXPECT_EQ(f.type, FindingType::spinlock_lockup_suspected);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"0xffff88003fc13880"}));
  ASSERT_GE(f.participants.size(), 2u);
  EXPECT_EQ(f.participants[0].pid, 123);
  EXPECT_EQ(f.participants[1].name, "bar");
  EXPECT_NE(f.explanation.find("foo_poll+0x44"), std::string::npos) << f.explanation;
}

TEST(OtherTypes, SpinlockRecursionAndBadMagic) {
  auto f = only("BUG: spinlock recursion on CPU#1, foo/123\n"
                " lock: foo_lock+0x0/0x20 [foo], .magic: dead4ead, .owner: foo/123, .owner_cpu: 1\n");
  EXPECT_EQ(f.type, FindingType::spinlock_recursion);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"foo_lock"}));
  auto g = only("BUG: spinlock bad magic on CPU#0, swapper/0/1\n"
                " lock: 0xffff888004a1c0d8, .magic: 00000000, .owner: <none>/-1, .owner_cpu: 0\n");
  EXPECT_EQ(g.type, FindingType::spinlock_bad_magic);
}

TEST(OtherTypes, WorkqueueLeakedLock) {
  auto f = only(R"(BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/45
     last function: foo_work_fn [foo]
1 lock held by kworker/0:1/45:
 #0: ffff888004a1c0d8 (&dev->cfg_lock){+.+.}-{3:3}, at: foo_work_fn+0x1e/0x70 [foo]
CPU: 0 PID: 45 Comm: kworker/0:1 Not tainted 6.1.0 #1
Call Trace:
 dump_stack_lvl+0x5b/0x77
 process_one_work+0x3a1/0x540
)");
  EXPECT_EQ(f.type, FindingType::workqueue_leaked_lock);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"&dev->cfg_lock"}));
  EXPECT_NE(f.fix.find("foo_work_fn"), std::string::npos) << f.fix;
}

TEST(OtherTypes, NonStaticKey) {
  auto f = only(R"(INFO: trying to register non-static key.
The code is fine but needs lockdep annotation, or maybe
you didn't initialize this object before use?
turning off the locking correctness validator.
CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5b/0x77
 register_lock_class+0x4a1/0x4b0
 __lock_acquire+0x5e/0x2150
 lock_acquire+0xc8/0x2d0
 _raw_spin_lock_irqsave+0x3d/0x60
 foo_probe+0x33/0x120 [foo]
 </TASK>
)");
  EXPECT_EQ(f.type, FindingType::non_static_key);
  EXPECT_NE(f.fix.find("foo_probe+0x33"), std::string::npos) << f.fix;
}

TEST(OtherTypes, RcuStallDetectedByAnotherCpu) {
  auto f = only(R"([  100.000000] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:
[  100.000001] rcu: 	0-....: (105000 ticks this GP) idle=2f6/1/0x4000000000000002 softirq=23001/23001 fqs=26239
[  100.000002] rcu: 	(detected by 1, t=10502 jiffies, g=6833, q=154)
[  100.000003] Sending NMI from CPU 1 to CPUs 0:
[  100.000004] NMI backtrace for cpu 0
[  100.000005] CPU: 0 PID: 77 Comm: foo Not tainted 6.1.0 #1
[  100.000006] RIP: 0010:foo_spin+0x10/0x20 [foo]
[  100.000007] Call Trace:
[  100.000008]  <TASK>
[  100.000009]  foo_loop+0x33/0x80 [foo]
[  100.000010]  kthread+0xe3/0x110
[  100.000011]  </TASK>
)");
  EXPECT_EQ(f.type, FindingType::rcu_stall);
  EXPECT_NE(f.summary.find("CPU 0"), std::string::npos) << f.summary;
  EXPECT_NE(f.summary.find("t=10502 jiffies"), std::string::npos) << f.summary;
  EXPECT_NE(f.fix.find("foo_loop+0x33"), std::string::npos) << f.fix;
}

TEST(OtherTypes, MaxLockDepth) {
  auto f = only("BUG: MAX_LOCK_DEPTH too low!\nturning off the locking correctness validator.\n"
                "depth: 48  max: 48!\n48 locks held by foo/1:\n");
  EXPECT_EQ(f.type, FindingType::max_too_low);
  EXPECT_NE(f.fix.find("48 locks"), std::string::npos) << f.fix;
}

TEST(OtherTypes, FreeBsdWitness) {
  auto f = only(R"(lock order reversal:
 1st 0xc09524c0 UMA lock (UMA lock) @ /u/src/sys/vm/uma_core.c:1200
 2nd 0xc1431100 system map (system map) @ /u/src/sys/vm/vm_map.c:2210
KDB: stack backtrace:
)");
  EXPECT_EQ(f.type, FindingType::witness_lock_order_reversal);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"UMA lock", "system map"}));
  // The chain starts with the order being taken now: UMA lock held, system map wanted.
  ASSERT_EQ(f.chain.size(), 2u);
  EXPECT_EQ(f.chain[0].from, "UMA lock");
  EXPECT_EQ(f.chain[0].to, "system map");
  EXPECT_EQ(f.summary, "UMA lock --> system map --> UMA lock");
}

TEST(OtherTypes, SchedulingWhileAtomicWithHeldLocks) {
  auto f = only(R"(BUG: scheduling while atomic: foo/123/0x00000002
1 lock held by foo/123:
 #0: ffff888004a1c0d8 (&priv->tx_lock){+.+.}-{2:2}, at: foo_xmit+0x1e/0x70 [foo]
Preemption disabled at:
[<ffffffffa0012345>] foo_xmit+0x1e/0x70 [foo]
CPU: 0 PID: 123 Comm: foo Not tainted 6.1.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5b/0x77
 __schedule_bug+0x5a/0x70
 __schedule+0x8d/0x890
 schedule+0x5a/0xc0
 msleep+0x2d/0x40
 foo_wait_ready+0x21/0x50 [foo]
 foo_xmit+0x44/0x70 [foo]
 </TASK>
)");
  EXPECT_EQ(f.type, FindingType::scheduling_while_atomic);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"&priv->tx_lock"}));
  EXPECT_NE(f.explanation.find("preemption disabled at foo_xmit+0x1e"), std::string::npos) << f.explanation;
}

}  // namespace
}  // namespace lockhound::explain
