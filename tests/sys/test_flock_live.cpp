// Two real processes deadlock on flock (A then B / B then A, with a barrier so both hold their
// first lock before asking for the second); lockhound reads the live /proc/locks and must name
// the cycle with both pids and both files. The test then kills both processes.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sys/live.h"

namespace lockhound::sys {
namespace {

namespace fs = std::filesystem;

// Whole-file write lock: flock, or an OFD lock (owned by the open file; shows pid -1).
int lock_file(int fd, bool ofd) {
  if (!ofd) return ::flock(fd, LOCK_EX);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLKW, &fl);
}

// Child: take `first`, tell the parent, wait for the go, then block forever on `second`.
[[noreturn]] void child(const char* first, const char* second, int ready_fd, int go_fd,
                        bool ofd = false) {
  int a = ::open(first, O_RDWR);
  int b = ::open(second, O_RDWR);
  if (a < 0 || b < 0 || lock_file(a, ofd) != 0) _exit(10);
  char c = 1;
  if (::write(ready_fd, &c, 1) != 1) _exit(11);
  if (::read(go_fd, &c, 1) != 1) _exit(12);
  lock_file(b, ofd);  // deadlocks
  _exit(0);
}

size_t blocked_waiters(const char* kind = "-> FLOCK") {
  std::ifstream f("/proc/locks");
  size_t n = 0;
  for (std::string line; std::getline(f, line);)
    if (line.find(kind) != std::string::npos) ++n;
  return n;
}
size_t blocked_flock_waiters() { return blocked_waiters(); }

class FlockDeadlock : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/proc/locks")) GTEST_SKIP() << "skipped: no /proc/locks";
    dir_ = fs::temp_directory_path() / ("lockhound-flock-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    a_ = (dir_ / "A").string();
    b_ = (dir_ / "B").string();
    std::ofstream(a_) << "a";
    std::ofstream(b_) << "b";
  }
  void TearDown() override {
    for (pid_t p : pids_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  std::string a_, b_;
  std::vector<pid_t> pids_;
};

TEST_F(FlockDeadlock, SysNamesTheCycleWithPidsAndFiles) {
  size_t before = blocked_flock_waiters();
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  pid_t p1 = ::fork();
  if (p1 == 0) child(a_.c_str(), b_.c_str(), ready[1], go[0]);
  pids_.push_back(p1);
  pid_t p2 = ::fork();
  if (p2 == 0) child(b_.c_str(), a_.c_str(), ready[1], go[0]);
  pids_.push_back(p2);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(::write(go[1], "xx", 2), 2);
  // Wait until the kernel shows both requests blocked.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (blocked_flock_waiters() < before + 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(blocked_flock_waiters(), before + 2) << "the children never blocked";

  LiveOptions o;
  o.dstate = false;  // not needed here; keeps the test fast on busy machines
  SysReport r = collect_live(o);
  const Finding* mine = nullptr;
  for (const auto& f : r.findings) {
    if (f.type != FindingType::filelock_deadlock) continue;
    std::vector<int64_t> pids;
    for (const auto& p : f.participants) pids.push_back(p.pid);
    if (std::find(pids.begin(), pids.end(), p1) != pids.end()) mine = &f;
  }
  ASSERT_TRUE(mine) << render_summary_text(r);
  ASSERT_EQ(mine->participants.size(), 2u);
  std::vector<int64_t> pids{mine->participants[0].pid, mine->participants[1].pid};
  std::sort(pids.begin(), pids.end());
  std::vector<int64_t> want{p1, p2};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(pids, want);
  std::vector<std::string> files = mine->classes;
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{a_, b_}));  // resolved through /proc/PID/fd
  for (const auto& p : mine->participants) {
    EXPECT_FALSE(p.name.empty());  // the command, from /proc/PID/comm
    // p1 took A first and waits for B.
    EXPECT_NE(p.waits_for.find(p.pid == p1 ? b_ : a_), std::string::npos) << p.waits_for;
  }
  EXPECT_NE(mine->summary.find(std::to_string(p1)), std::string::npos);
  // Both blocked requests are listed as waits too.
  size_t waits = 0;
  for (const auto& w : r.waits)
    if (w.waiter == p1 || w.waiter == p2) ++waits;
  EXPECT_EQ(waits, 2u);
}

// OFD locks show pid -1 in /proc/locks: the owners come from /proc/PID/fdinfo (granted locks)
// and /proc/PID/task/TID/syscall (threads blocked in fcntl(F_OFD_SETLKW)).
TEST_F(FlockDeadlock, OfdLockCycleIsResolvedToProcesses) {
  size_t before = blocked_waiters("-> OFDLCK");
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  pid_t p1 = ::fork();
  if (p1 == 0) child(a_.c_str(), b_.c_str(), ready[1], go[0], true);
  pids_.push_back(p1);
  pid_t p2 = ::fork();
  if (p2 == 0) child(b_.c_str(), a_.c_str(), ready[1], go[0], true);
  pids_.push_back(p2);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(::write(go[1], "xx", 2), 2);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (blocked_waiters("-> OFDLCK") < before + 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(blocked_waiters("-> OFDLCK"), before + 2) << "the children never blocked";
  LiveOptions o;
  o.dstate = false;
  SysReport r = collect_live(o);
  const Finding* mine = nullptr;
  for (const auto& f : r.findings)
    for (const auto& p : f.participants)
      if (p.pid == p1) mine = &f;
  ASSERT_TRUE(mine) << render_summary_text(r);
  std::vector<int64_t> pids;
  for (const auto& p : mine->participants) pids.push_back(p.pid);
  std::sort(pids.begin(), pids.end());
  std::vector<int64_t> want{p1, p2};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(pids, want);
  std::vector<std::string> files = mine->classes;
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{a_, b_}));
  EXPECT_NE(mine->details[0].second.find("OFD lock"), std::string::npos);
}

}  // namespace
}  // namespace lockhound::sys
