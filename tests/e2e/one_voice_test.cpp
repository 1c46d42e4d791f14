// One voice: the same problem has the same signature whichever input found it. One ABBA between
// lock_a and lock_b, fed through `check` (a scenario), `run` (a pthread program), `trace` (a
// kernel lock trace) and `explain` (a lockdep report of it), gives one circular_dependency
// signature, so the lock-order database, `diff` and SARIF fingerprints see one problem.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/testdata.h"

namespace fs = std::filesystem;
using lockhound::testing::binary_dir;
using lockhound::testing::read_file;
using json = nlohmann::json;

namespace {

std::string lockhound() { return (binary_dir() / "src/cli/lockhound").string(); }

int sh(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

json only_cycle(const fs::path& report) {
  json j = json::parse(read_file(report), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << report;
  json cycles = json::array();
  if (j.is_object())
    for (const auto& f : j["findings"])
      if (f["type"] == "circular_dependency") cycles.push_back(f);
  EXPECT_EQ(cycles.size(), 1u) << report << "\n" << j.dump(2);
  return cycles.empty() ? json::object() : cycles[0];
}

// ftrace text: task t1 takes lock_a then lock_b, task t2 takes lock_b then lock_a.
std::string trace_text() {
  std::string t = "# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n";
  unsigned ts = 100;
  auto ev = [&](const char* task, const char* event, const char* addr, const char* name) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%16s [000] ...1. %6u.%06u: %s: %s %s\n", task, ts / 1000, ts % 1000 * 1000,
                  event, addr, name);
    ++ts;
    t += buf;
  };
  ev("t1-10", "lock_acquire", "ffff888000001000", "lock_a");
  ev("t1-10", "lock_acquire", "ffff888000002000", "lock_b");
  ev("t1-10", "lock_release", "ffff888000002000", "lock_b");
  ev("t1-10", "lock_release", "ffff888000001000", "lock_a");
  ev("t2-11", "lock_acquire", "ffff888000002000", "lock_b");
  ev("t2-11", "lock_acquire", "ffff888000001000", "lock_a");
  ev("t2-11", "lock_release", "ffff888000001000", "lock_a");
  ev("t2-11", "lock_release", "ffff888000002000", "lock_b");
  return t;
}

// lockdep's report of the same inversion (kernel 6.1's format): t2 holds lock_b and asks for
// lock_a; the chain shows lock_b taken under lock_a by t1 before.
const char* kSplat = R"(======================================================
WARNING: possible circular locking dependency detected
6.1.0 #1 Not tainted
------------------------------------------------------
t2/11 is trying to acquire lock:
ffffffffa0002110 (lock_a){+.+.}-{3:3}, at: backward+0x1c/0x40 [abba]

but task is already holding lock:
ffffffffa0002070 (lock_b){+.+.}-{3:3}, at: backward+0xe/0x40 [abba]

which lock already depends on the new lock.


the existing dependency chain (in reverse order) is:

-> #1 (lock_b){+.+.}-{3:3}:
       lock_acquire+0xd4/0x2e0
       __mutex_lock+0x9c/0x960
       forward+0x1c/0x40 [abba]

-> #0 (lock_a){+.+.}-{3:3}:
       __lock_acquire+0x1284/0x1ea0
       lock_acquire+0xd4/0x2e0
       __mutex_lock+0x9c/0x960
       backward+0x1c/0x40 [abba]

other info that might help us debug this:

 Possible unsafe locking scenario:

       CPU0                    CPU1
       ----                    ----
  lock(lock_b);
                               lock(lock_a);
                               lock(lock_b);
  lock(lock_a);

 *** DEADLOCK ***

1 lock held by t2/11:
 #0: ffffffffa0002070 (lock_b){+.+.}-{3:3}, at: backward+0xe/0x40 [abba]

stack backtrace:
CPU: 0 PID: 11 Comm: t2 Not tainted 6.1.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x45/0x5d
 __lock_acquire+0x1284/0x1ea0
 lock_acquire+0xd4/0x2e0
 __mutex_lock+0x9c/0x960
 backward+0x1c/0x40 [abba]
 </TASK>
)";

TEST(OneVoice, TheSameAbbaHasOneSignatureInEveryFrontEnd) {
  fs::path abba = binary_dir() / "tests/runtime/progs/abba";
  if (!fs::exists(abba)) GTEST_SKIP() << "no " << abba << " (the runtime is not built here)";
  char tmpl[] = "/tmp/lockhound-onevoice-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::ofstream(dir / "abba.lh") << "mutex lock_a, lock_b\n"
                                    "thread T1 in forward:\n  lock lock_a\n  lock lock_b\n  unlock lock_b\n  unlock lock_a\n"
                                    "thread T2 in backward:\n  lock lock_b\n  lock lock_a\n  unlock lock_a\n  unlock lock_b\n";
  std::ofstream(dir / "trace.txt") << trace_text();
  std::ofstream(dir / "splat.txt") << kSplat;

  std::string lh = lockhound();
  EXPECT_EQ(sh(lh + " check --format json -o " + (dir / "check.json").string() + " " + (dir / "abba.lh").string()), 1);
  EXPECT_EQ(sh(lh + " trace --format json -o " + (dir / "trace.json").string() + " " + (dir / "trace.txt").string()), 1);
  EXPECT_EQ(sh(lh + " explain --format json -o " + (dir / "explain.json").string() + " " + (dir / "splat.txt").string()), 1);
  EXPECT_EQ(sh(lh + " run --format json -o " + (dir / "run").string() + " -- " + abba.string() + " >/dev/null"), 66);
  fs::path run_report;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("run.", 0) == 0) run_report = e.path();
  ASSERT_FALSE(run_report.empty()) << "no run.PID report in " << dir;

  json check = only_cycle(dir / "check.json");
  json run = only_cycle(run_report);
  json trace = only_cycle(dir / "trace.json");
  json explain = only_cycle(dir / "explain.json");
  std::string sig = check.value("signature", "");
  EXPECT_EQ(sig, "circular_dependency|lock_a,lock_b");
  EXPECT_EQ(run.value("signature", ""), sig) << run.dump(2);
  EXPECT_EQ(trace.value("signature", ""), sig) << trace.dump(2);
  EXPECT_EQ(explain.value("signature", ""), sig) << explain.dump(2);
  for (const json* f : {&check, &run, &trace, &explain}) EXPECT_EQ((*f)["classes"].size(), 2u);
  fs::remove_all(dir);
}

}  // namespace
