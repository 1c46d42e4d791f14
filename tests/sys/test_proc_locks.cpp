#include <gtest/gtest.h>

#include <algorithm>

#include "sys/proc_locks.h"
#include "sys/sys_report.h"

namespace lockhound::sys {
namespace {

// Every variant kernels print: waiters at two levels, OFD with pid -1, the old "READ  " spacing,
// MANDATORY, a three-digit major, a lease, a lock without an inode.
constexpr const char* kVariants =
    "1: POSIX  ADVISORY  WRITE 4321 08:02:1048577 0 EOF\n"
    "1: -> POSIX  ADVISORY  WRITE 4400 08:02:1048577 0 EOF\n"
    "1:  -> POSIX  ADVISORY  WRITE 4401 08:02:1048577 0 EOF\n"
    "2: FLOCK  ADVISORY  WRITE 987 00:19:12345 0 EOF\n"
    "3: OFDLCK ADVISORY  READ -1 00:19:777 100 199\n"
    "4: LEASE  ACTIVE    READ 555 00:19:888 0 EOF\n"
    "5: POSIX  MANDATORY READ  18291 103:02:4194737 0 EOF\n"
    "6: FLOCK  ADVISORY  READ  1234 <none>:0 0 EOF\n";

TEST(ProcLocks, ParsesEveryVariant) {
  auto pl = parse_proc_locks(kVariants);
  ASSERT_TRUE(pl.diagnostics.empty()) << format_diagnostic(pl.diagnostics.front());
  ASSERT_EQ(pl.locks.size(), 8u);
  const auto& L = pl.locks;
  EXPECT_EQ(L[0].depth, 0u);
  EXPECT_EQ(L[1].depth, 1u);
  EXPECT_EQ(L[1].blocker, 0u);
  EXPECT_EQ(L[2].depth, 2u);
  EXPECT_EQ(L[2].blocker, 1u);
  EXPECT_EQ(L[2].pid, 4401);
  EXPECT_EQ(L[0].major, 8u);
  EXPECT_EQ(L[0].minor, 2u);
  EXPECT_EQ(L[0].inode, 1048577u);
  EXPECT_FALSE(L[0].end.has_value());
  EXPECT_EQ(L[3].type, "FLOCK");
  EXPECT_EQ(L[4].type, "OFDLCK");
  EXPECT_EQ(L[4].pid, -1);
  EXPECT_EQ(L[4].access, "READ");
  EXPECT_EQ(L[4].start, 100);
  ASSERT_TRUE(L[4].end.has_value());
  EXPECT_EQ(*L[4].end, 199);
  EXPECT_EQ(L[5].type, "LEASE");
  EXPECT_EQ(L[5].flavor, "ACTIVE");
  EXPECT_EQ(L[6].flavor, "MANDATORY");
  EXPECT_EQ(L[6].access, "READ");
  EXPECT_EQ(L[6].major, 0x103u);
  EXPECT_EQ(L[6].inode, 4194737u);
  EXPECT_EQ(L[6].file_key(), "103:02:4194737");
  EXPECT_FALSE(L[7].has_inode);
  EXPECT_EQ(L[7].line, 8u);
}

TEST(ProcLocks, FdinfoPrefixAccepted) {
  std::string err;
  auto fl = parse_proc_locks_line("lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:55 0 EOF", &err);
  ASSERT_TRUE(fl) << err;
  EXPECT_EQ(fl->type, "OFDLCK");
  EXPECT_EQ(fl->major, 0xfeu);
}

TEST(ProcLocks, MalformedLineIsReportedAndNothingIsLost) {
  std::string text =
      "1: FLOCK  ADVISORY  WRITE 10 fe:00:1 0 EOF\n"
      "2: FLOCK  ADVISORY  WRITE 11 fe:00:2 0 EOF\n"
      "3: FLOCK  ADVISORY  WRITE eleven fe:00:3 0 EOF\n"
      "garbage\n"
      "4: BOGUS  ADVISORY  WRITE 12 fe:00:4 0 EOF\n"
      "5: FLOCK  ADVISORY  WRITE 13 fe:00 0 EOF\n"
      "6: FLOCK  ADVISORY  WRITE 14 fe:00:6 0 EOF\n";
  auto pl = parse_proc_locks(text, "saved-locks");
  ASSERT_EQ(pl.diagnostics.size(), 4u);
  EXPECT_EQ(pl.diagnostics[0].line, 3u);
  EXPECT_NE(pl.diagnostics[0].message.find("pid"), std::string::npos);
  EXPECT_EQ(pl.diagnostics[1].line, 4u);
  EXPECT_EQ(pl.diagnostics[2].line, 5u);
  EXPECT_NE(pl.diagnostics[2].message.find("lock type"), std::string::npos);
  EXPECT_EQ(pl.diagnostics[3].line, 6u);
  EXPECT_EQ(format_diagnostic(pl.diagnostics[0]).rfind("saved-locks:3: error: ", 0), 0u);
  ASSERT_EQ(pl.locks.size(), 3u);
  EXPECT_EQ(pl.locks[0].pid, 10);
  EXPECT_EQ(pl.locks[1].pid, 11);
  EXPECT_EQ(pl.locks[2].pid, 14);
}

TEST(ProcLocks, WaiterWithoutBlockerIsAWarning) {
  auto pl = parse_proc_locks("7: -> FLOCK  ADVISORY  WRITE 10 fe:00:1 0 EOF\n");
  ASSERT_EQ(pl.locks.size(), 1u);
  ASSERT_EQ(pl.diagnostics.size(), 1u);
  EXPECT_FALSE(pl.diagnostics[0].error);
}

// What this machine's kernel printed for two processes deadlocked on flock (A then B / B then A).
constexpr const char* kFlockCycle =
    "1: FLOCK  ADVISORY  WRITE 5445 fe:00:10953093 0 EOF\n"
    "1: -> FLOCK  ADVISORY  WRITE 5389 fe:00:10953093 0 EOF\n"
    "2: FLOCK  ADVISORY  WRITE 5389 fe:00:10953092 0 EOF\n"
    "2: -> FLOCK  ADVISORY  WRITE 5445 fe:00:10953092 0 EOF\n"
    "3: POSIX  ADVISORY  WRITE 700 fe:00:99 0 EOF\n";

TEST(FileLockAnalysis, FlockCycleIsADeadlockWithPidsAndFiles) {
  auto pl = parse_proc_locks(kFlockCycle);
  ASSERT_TRUE(pl.diagnostics.empty());
  ProcessFacts facts;
  facts.comm[5445] = "worker-a";
  facts.comm[5389] = "worker-b";
  facts.paths[{0xfe, 0, 10953092}] = "/srv/A";
  facts.paths[{0xfe, 0, 10953093}] = "/srv/B";
  SysReport r;
  analyze_file_locks(pl, facts, "sys", "/proc/locks", r);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::filelock_deadlock);
  ASSERT_EQ(f.participants.size(), 2u);
  std::vector<int64_t> pids{f.participants[0].pid, f.participants[1].pid};
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<int64_t>{5389, 5445}));
  std::vector<std::string> files = f.classes;
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"/srv/A", "/srv/B"}));
  // Each participant waits for the file the other one holds.
  for (const auto& p : f.participants) {
    ASSERT_EQ(p.held.size(), 1u);
    // 5389 holds A (entry 2) and waits for B (entry 1's waiter); 5445 the other way round.
    EXPECT_NE(p.waits_for.find(p.pid == 5389 ? "/srv/B" : "/srv/A"), std::string::npos) << p.waits_for;
    EXPECT_EQ(p.held[0].name, p.pid == 5389 ? "/srv/A" : "/srv/B");
  }
  EXPECT_NE(f.summary.find("worker-a"), std::string::npos);
  EXPECT_NE(f.explanation.find("POSIX record locks only"), std::string::npos);
  EXPECT_NE(f.fix.find("kill 5389"), std::string::npos);
  EXPECT_EQ(f.location, "/proc/locks:2");
  EXPECT_EQ(r.waits.size(), 2u);
  EXPECT_EQ(r.file_locks, 3u);
  EXPECT_EQ(r.file_lock_waiters, 2u);
}

TEST(FileLockAnalysis, WithoutFactsFilesAreNamedByDevInode) {
  auto pl = parse_proc_locks(kFlockCycle);
  SysReport r;
  analyze_file_locks(pl, {}, "import", "locks.txt", r);
  ASSERT_EQ(r.findings.size(), 1u);
  std::vector<std::string> files = r.findings[0].classes;
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"dev:inode fe:00:10953092", "dev:inode fe:00:10953093"}));
}

TEST(FileLockAnalysis, WaitWithoutCycleIsNoFinding) {
  auto pl = parse_proc_locks(
      "1: FLOCK  ADVISORY  WRITE 10 fe:00:1 0 EOF\n"
      "1: -> FLOCK  ADVISORY  WRITE 11 fe:00:1 0 EOF\n"
      "1:  -> FLOCK  ADVISORY  READ  12 fe:00:1 0 EOF\n");
  SysReport r;
  analyze_file_locks(pl, {}, "import", "x", r);
  EXPECT_TRUE(r.findings.empty());
  ASSERT_EQ(r.waits.size(), 2u);
  EXPECT_EQ(r.waits[0].waiter, 11);
  EXPECT_EQ(r.waits[0].holders, std::vector<int64_t>{10});
  EXPECT_EQ(r.waits[1].waiter, 12);
  EXPECT_EQ(r.waits[1].holders, std::vector<int64_t>{11});  // queued behind 11's request
  std::string text = render_summary_text(r);
  EXPECT_NE(text.find("pid 11 waits for WRITE flock on dev:inode fe:00:1, held by pid 10"),
            std::string::npos) << text;
}

TEST(FileLockAnalysis, ProcessBlockedOnItsOwnFlockIsADeadlock) {
  // flock belongs to the open file: a process that opens a file twice and flocks both blocks
  // on itself forever.
  auto pl = parse_proc_locks(
      "1: FLOCK  ADVISORY  WRITE 42 fe:00:7 0 EOF\n"
      "1: -> FLOCK  ADVISORY  WRITE 42 fe:00:7 0 EOF\n");
  SysReport r;
  analyze_file_locks(pl, {}, "import", "x", r);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].participants.size(), 1u);
  EXPECT_NE(r.findings[0].title.find("waits for itself"), std::string::npos);
}

TEST(FileLockAnalysis, ThreeProcessMixedCycle) {
  auto pl = parse_proc_locks(
      "1: POSIX  ADVISORY  WRITE 100 08:01:11 0 EOF\n"
      "1: -> FLOCK  ADVISORY  WRITE 300 08:01:11 0 EOF\n"
      "2: FLOCK  ADVISORY  WRITE 200 08:01:22 0 EOF\n"
      "2: -> POSIX  ADVISORY  WRITE 100 08:01:22 0 EOF\n"
      "3: FLOCK  ADVISORY  WRITE 300 08:01:33 0 EOF\n"
      "3: -> FLOCK  ADVISORY  READ 200 08:01:33 0 EOF\n");
  SysReport r;
  analyze_file_locks(pl, {}, "import", "x", r);
  ASSERT_EQ(r.findings.size(), 1u);
  const auto& f = r.findings[0];
  ASSERT_EQ(f.participants.size(), 3u);
  EXPECT_EQ(f.scenario.rows.size(), 6u);
  EXPECT_EQ(f.participants[0].pid, 100);  // cycles start at the smallest pid
  EXPECT_EQ(f.scenario.columns.size(), 3u);
  EXPECT_NE(f.details[0].second.find("POSIX lock"), std::string::npos);
  EXPECT_NE(f.details[0].second.find("flock"), std::string::npos);
}

TEST(FileLockAnalysis, OfdOwnersResolvedByFactsCloseTheCycle) {
  auto pl = parse_proc_locks(
      "1: OFDLCK ADVISORY  WRITE -1 08:01:11 0 EOF\n"
      "1: -> OFDLCK ADVISORY  WRITE -1 08:01:11 0 EOF\n"
      "2: OFDLCK ADVISORY  WRITE -1 08:01:22 0 EOF\n"
      "2: -> OFDLCK ADVISORY  WRITE -1 08:01:22 0 EOF\n");
  SysReport unresolved;
  analyze_file_locks(pl, {}, "import", "x", unresolved);
  EXPECT_TRUE(unresolved.findings.empty());
  ProcessFacts facts;
  facts.entry_owner = {{0, 501}, {1, 502}, {2, 502}, {3, 501}};
  SysReport r;
  analyze_file_locks(pl, facts, "sys", "/proc/locks", r);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].participants[0].pid, 501);
  EXPECT_EQ(r.findings[0].participants[1].pid, 502);
}

}  // namespace
}  // namespace lockhound::sys
