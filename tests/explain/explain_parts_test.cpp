// The small grammars under explain: prefixes, frames, lock descriptions, held lists, headlines.
#include <gtest/gtest.h>

#include "explain/logtext.h"
#include "explain/reports.h"

namespace lockhound::explain {
namespace {

TEST(Normalize, StripsEveryPrefixKind) {
  auto n = normalize_log(
      "[ 2718.379077][ T3699] syz/1 is trying to acquire lock:\n"
      "<4>[   12.000001] foo\n"
      "Jan 11 22:31:38 :HOSTNAME: kernel: Watchdog detected hard LOCKUP on cpu 0\n"
      "[Sat Nov 21 22:12:17 2026]  #0: x\n"
      "[    C1] bar\n"
      "> > quoted\n"
      ">ffff88809faed300: fb fb\n");
  ASSERT_EQ(n.lines.size(), 7u);
  EXPECT_EQ(n.lines[0].text, "syz/1 is trying to acquire lock:");
  EXPECT_EQ(n.lines[0].tag, "T3699");
  EXPECT_EQ(n.lines[0].line, 1u);
  EXPECT_EQ(n.lines[1].text, "foo");
  EXPECT_EQ(n.lines[2].text, "Watchdog detected hard LOCKUP on cpu 0");
  EXPECT_EQ(n.lines[3].text, " #0: x");
  EXPECT_EQ(n.lines[4].tag, "C1");
  EXPECT_EQ(n.lines[5].text, "quoted");
  EXPECT_EQ(n.lines[6].text, ">ffff88809faed300: fb fb");
}

TEST(Normalize, QuotedPrintableKeepsFirstLineNumbers) {
  auto n = normalize_log("a=3D=3D=3D long line that is cut =\nhere\nnext=20line =\nsecond=\n\nend\n");
  ASSERT_GE(n.lines.size(), 3u);
  EXPECT_EQ(n.lines[0].text, "a=== long line that is cut here");
  EXPECT_EQ(n.lines[1].text, "next line second");
  EXPECT_EQ(n.lines[1].line, 3u);
}

TEST(Frames, EveryForm) {
  auto f = parse_frame(" m1_take_ba+0x1c/0x3d [m1_abba]");
  ASSERT_TRUE(f.frame);
  EXPECT_EQ(f.frame->function, "m1_take_ba");
  EXPECT_EQ(f.frame->offset, "+0x1c/0x3d");
  EXPECT_EQ(f.frame->object, "m1_abba");

  f = parse_frame(" [<ffffffffa00af51b>] idr_read_uobj+0x2f/0x4d [ib_uverbs]");
  ASSERT_TRUE(f.frame);
  EXPECT_EQ(f.frame->pc, 0xffffffffa00af51bu);
  EXPECT_EQ(f.frame->function, "idr_read_uobj");

  f = parse_frame(" [<ffffffffa00af51b>] ? idr_read_uobj+0x2f/0x4d [ib_uverbs]");
  EXPECT_FALSE(f.frame);
  EXPECT_TRUE(f.unreliable);
  EXPECT_TRUE(f.stackish);

  f = parse_frame("[<c0014fcc>] (unwind_backtrace+0x0/0x120) from [<c00ca600>] (validate_chain+0x6f8/0x1054)");
  ASSERT_TRUE(f.frame);
  EXPECT_EQ(f.frame->function, "unwind_backtrace");

  f = parse_frame("       pipe_lock+0x64/0x80 fs/pipe.c:89");
  ASSERT_TRUE(f.frame);
  EXPECT_EQ(f.frame->file, "fs/pipe.c");
  EXPECT_EQ(f.frame->line, 89u);

  f = parse_frame(" do_sys_open fs/open.c:1430 [inline]");
  ASSERT_TRUE(f.frame);
  EXPECT_TRUE(f.frame->inlined);
  EXPECT_EQ(f.frame->function, "do_sys_open");

  f = parse_frame("#3  uvm_fault+0xa41");
  ASSERT_TRUE(f.frame);
  EXPECT_EQ(f.frame->function, "uvm_fault");

  f = parse_frame("rw_enter(fffffd806d95cb38,1) at rw_enter+0xd4");
  ASSERT_TRUE(f.frame);
  EXPECT_EQ(f.frame->function, "rw_enter");

  f = parse_frame("  <<EOE>>  [<ffffffff810944f0>] account_idle_ticks+0x90/0xa0");
  ASSERT_TRUE(f.frame);
  EXPECT_TRUE(f.end_of_exception);

  EXPECT_FALSE(parse_frame("but task is already holding lock:").stackish);
  EXPECT_FALSE(parse_frame("kthread").stackish);
  EXPECT_TRUE(parse_frame(" </TASK>").stackish);
}

TEST(Locks, EveryForm) {
  auto l = parse_lock_ref("ffff888032ab3468 (&pipe->mutex){+.+.}-{3:3}, at: pipe_lock+0x64/0x80 fs/pipe.c:89");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->address, "ffff888032ab3468");
  EXPECT_EQ(l->name, "&pipe->mutex");
  EXPECT_EQ(l->usage, "{+.+.}");
  EXPECT_EQ(l->wait, "{3:3}");
  EXPECT_EQ(l->site.function, "pipe_lock");

  l = parse_lock_ref(" (per_cpu_ptr(&cgroup_rstat_cpu_lock, cpu)){-...}-{2:2}");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->name, "per_cpu_ptr(&cgroup_rstat_cpu_lock, cpu)");

  l = parse_lock_ref("ffff88803d3d5d28 ((wq_completion)wg-kex-wireguard1){+.+.}, at: flush_workqueue+0xe6/0x1520");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->name, "(wq_completion)wg-kex-wireguard1");

  l = parse_lock_ref(" (s_active#13){++++.+}, at: [<c01a3d28>] sysfs_remove_dir+0x9c/0xb4");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->usage, "{++++.+}");
  EXPECT_EQ(l->site.function, "sysfs_remove_dir");

  EXPECT_TRUE(lock_ref_is_torn("ffff888032ab3468 (&pipe->"));
  EXPECT_FALSE(parse_lock_ref("ffff888032ab3468 (&pipe->"));
}

TEST(HeldLists, HeaderAndEntries) {
  auto h = parse_held_header("7 locks held by kworker/0:4/5097:");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->count, 7);
  EXPECT_EQ(h->task.comm, "kworker/0:4");
  EXPECT_EQ(h->task.pid, 5097);
  h = parse_held_header("no locks held by swapper/3/0.");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->count, 0);
  EXPECT_EQ(h->task.comm, "swapper/3");
  auto e = parse_held_entry("#1:  (&p->lock){+.+.}, at: [<0000000070ba5816>] seq_read+0xd5/0x13d0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->first, 1);
  EXPECT_EQ(e->second.name, "&p->lock");
}

TEST(Headlines, KnownAndForeign) {
  auto h = detect_headline("[ INFO: possible recursive locking detected ]");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind, HeadlineKind::report);
  EXPECT_EQ(h->type, FindingType::recursive_locking);
  h = detect_headline("watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [ksoftirqd/0:9]");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, FindingType::soft_lockup);
  h = detect_headline("rcu: INFO: rcu_preempt self-detected stall on CPU");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, FindingType::rcu_stall);
  h = detect_headline("BUG: KASAN: use-after-free in do_raw_spin_lock+0x28a/0x2e0");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind, HeadlineKind::other);
  EXPECT_FALSE(detect_headline("... MAX_LOCKDEP_KEYS:        8192"));
  EXPECT_FALSE(detect_headline("INFO: lockdep is turned off."));
}

}  // namespace
}  // namespace lockhound::explain
