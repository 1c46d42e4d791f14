#include <gtest/gtest.h>

#include "common/testdata.h"
#include "sys/live.h"
#include "sys/sys_report.h"

namespace lockhound::sys {
namespace {

using lockhound::testing::read_file;
using lockhound::testing::shared_dir;

TEST(Import, DetectsEachSavedFile) {
  LOCKHOUND_REQUIRE_SHARED();
  auto dir = shared_dir() / "testdata/kernel/m2_irq_inversion";
  SysReport r;
  for (const char* f : {"lockdep.txt", "lock_stat.txt", "lockdep_stats.txt"})
    EXPECT_TRUE(import_text(read_file(dir / f), (dir / f).string(), 10, r)) << f;
  EXPECT_TRUE(r.have_lockdep);
  EXPECT_TRUE(r.have_lock_stat);
  EXPECT_TRUE(r.have_lockdep_stats);
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(r.top_contended.size(), 10u);
  auto j = summary_json(r);
  EXPECT_GT(j["lockdep"]["classes"].get<int>(), 100);
}

TEST(Import, UnknownTextIsAnInputError) {
  SysReport r;
  EXPECT_FALSE(import_text("hello world\nthis is not proc\n", "notes.txt", 10, r));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_TRUE(r.diagnostics[0].error);
  EXPECT_EQ(detect_format(""), ProcFormat::unknown);
}

TEST(Import, EmptyFileIsAWarningNotAnError) {
  SysReport r;
  EXPECT_TRUE(import_text("\n", "empty-locks.txt", 10, r));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_FALSE(r.diagnostics[0].error);
  EXPECT_TRUE(r.findings.empty());
}

TEST(Import, SavedProcLocksWithACycle) {
  SysReport r;
  ASSERT_TRUE(import_text("1: FLOCK  ADVISORY  WRITE 5 fe:00:1 0 EOF\n"
                          "1: -> FLOCK  ADVISORY  WRITE 6 fe:00:1 0 EOF\n"
                          "2: FLOCK  ADVISORY  WRITE 6 fe:00:2 0 EOF\n"
                          "2: -> FLOCK  ADVISORY  WRITE 5 fe:00:2 0 EOF\n",
                          "locks.txt", 10, r));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].source, "import");
}

TEST(KernelStack, ParsesProcStack) {
  auto st = parse_kernel_stack(
      "[<0>] flock_lock_inode_wait+0x7a/0xa0\n"
      "[<0>] __do_sys_flock+0x12f/0x1b0\n"
      "[<0>] m1_thread+0x10/0x20 [m1_abba]\n");
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].function, "flock_lock_inode_wait");
  EXPECT_EQ(st[0].offset, "+0x7a/0xa0");
  EXPECT_EQ(st[2].object, "m1_abba");
}

}  // namespace
}  // namespace lockhound::sys
