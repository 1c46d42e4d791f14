// lockhound attach against programs that really hang (tests/attach/deadlock_prog.cpp). Each test
// starts the program, waits until its threads are blocked, attaches, checks the diagnosis, and
// kills the program. Tests skip with a message when ptrace is not permitted here.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "attach/attach.h"
#include "report/report.h"

namespace lockhound::attach {
namespace {

namespace fs = std::filesystem;

std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

std::vector<pid_t> tasks(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
    out.push_back(std::stoi(e.path().filename().string()));
  std::sort(out.begin(), out.end());
  return out;
}

size_t threads_in_futex(pid_t pid) {
  size_t n = 0;
  for (pid_t t : tasks(pid))
    if (first_line("/proc/" + std::to_string(pid) + "/task/" + std::to_string(t) + "/syscall")
            .rfind("202 ", 0) == 0)
      ++n;
  return n;
}

std::string status_field(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return {};
}

bool stack_has(const Stack& st, const std::string& fn) {
  // C++ functions are demangled with their parameters: "take_second(pthread_mutex_t*)".
  return std::any_of(st.begin(), st.end(), [&](const Frame& f) {
    return f.function == fn || f.function.rfind(fn + "(", 0) == 0;
  });
}

class Attach : public ::testing::Test {
 protected:
  // Starts the program in `mode`, waits for "ready" and for `blocked` threads in futex()
  // (the main thread's pthread_join counts: it is a futex wait too), stable for a while.
  void start(const char* mode, size_t blocked) {
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::execl(LOCKHOUND_DEADLOCK_PROG, LOCKHOUND_DEADLOCK_PROG, mode, nullptr);
      _exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    ASSERT_EQ(read_line(60000), "ready");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int stable = 0;
    while (stable < 5 && std::chrono::steady_clock::now() < deadline) {
      stable = threads_in_futex(pid_) >= blocked ? stable + 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(threads_in_futex(pid_), blocked) << "the program never blocked";
  }
  std::string read_line(int timeout_ms) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char c;
      if (::read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }
  AttachReport diagnose() {
    AttachReport r = attach_and_diagnose(pid_);
    return r;
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  pid_t pid_ = -1;
  int out_ = -1;
};

#define ATTACH_OR_SKIP(r)                                                                   \
  do {                                                                                      \
    if (!(r).attached) {                                                                    \
      if ((r).error.find("not permitted") != std::string::npos ||                           \
          (r).error.find("not implemented") != std::string::npos)                           \
        GTEST_SKIP() << "skipped: ptrace not permitted here: " << (r).error;                \
      FAIL() << (r).error;                                                                  \
    }                                                                                       \
  } while (0)

const Finding* find_type(const AttachReport& r, FindingType t) {
  for (const auto& f : r.findings)
    if (f.type == t) return &f;
  return nullptr;
}

TEST_F(Attach, AbbaAcrossTwoThreadsIsAnActualDeadlock) {
  start("abba", 3);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  ASSERT_EQ(r.findings.size(), 1u) << render_threads_text(r);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::actual_deadlock);
  std::vector<std::string> locks = f.classes;
  std::sort(locks.begin(), locks.end());
  EXPECT_EQ(locks, (std::vector<std::string>{"lock_a", "lock_b"}));  // by ELF symbol
  ASSERT_EQ(f.participants.size(), 2u);
  auto tids = tasks(pid_);
  for (const auto& p : f.participants) {
    EXPECT_TRUE(std::find(tids.begin(), tids.end(), p.pid) != tids.end());
    EXPECT_NE(p.pid, pid_);  // the main thread only joins
    EXPECT_TRUE(stack_has(p.stack, "take_second")) << p.name;
    EXPECT_TRUE(stack_has(p.stack, "lock_in_order")) << p.name;
    bool has_line = std::any_of(p.stack.begin(), p.stack.end(), [](const Frame& fr) {
      return fr.file.find("deadlock_prog.cpp") != std::string::npos && fr.line > 0;
    });
    EXPECT_TRUE(has_line) << "stacks carry file:line from the program's debug info";
    ASSERT_EQ(p.held.size(), 1u);
    // Each holds one lock and waits for the other.
    EXPECT_NE(p.waits_for.find(p.held[0].name == "lock_a" ? "lock_b" : "lock_a"), std::string::npos)
        << p.waits_for;
  }
  EXPECT_NE(f.participants[0].held[0].name, f.participants[1].held[0].name);
  // In cycle order: what participant k waits for is what participant k+1 holds.
  EXPECT_NE(f.participants[0].waits_for.find(f.participants[1].held[0].name), std::string::npos);
  EXPECT_NE(f.participants[1].waits_for.find(f.participants[0].held[0].name), std::string::npos);
  EXPECT_NE(f.fix.find("take_second"), std::string::npos) << f.fix;
  std::string text = render_finding_text(f);
  EXPECT_NE(text.find("lock_a"), std::string::npos);
  EXPECT_NE(text.find("take_second"), std::string::npos);
  // Detached: the process is still there, untraced, and still deadlocked.
  EXPECT_EQ(status_field(pid_, "TracerPid"), "0");
  // (Right after detach the threads are restarting their futex calls: give them a moment.)
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (threads_in_futex(pid_) < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(threads_in_futex(pid_), 2u + 1u /* main thread in pthread_join */);
}

TEST_F(Attach, ThreeThreadCycle) {
  start("cycle3", 4);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  const Finding* f = find_type(r, FindingType::actual_deadlock);
  ASSERT_TRUE(f) << render_threads_text(r);
  EXPECT_EQ(r.findings.size(), 1u);
  std::vector<std::string> locks = f->classes;
  std::sort(locks.begin(), locks.end());
  EXPECT_EQ(locks, (std::vector<std::string>{"lock_a", "lock_b", "lock_c"}));
  ASSERT_EQ(f->participants.size(), 3u);
  for (const auto& p : f->participants) EXPECT_TRUE(stack_has(p.stack, "take_second"));
  EXPECT_EQ(f->scenario.columns.size(), 3u);
}

TEST_F(Attach, HeapMutexesAreNamedByAddress) {
  start("heap", 3);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  const Finding* f = find_type(r, FindingType::actual_deadlock);
  ASSERT_TRUE(f) << render_threads_text(r);
  for (const auto& c : f->classes) EXPECT_EQ(c.rfind("mutex 0x", 0), 0u) << c;
}

TEST_F(Attach, RwlockWriterInTheCycle) {
  start("rwlock", 3);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  const Finding* f = find_type(r, FindingType::actual_deadlock);
  ASSERT_TRUE(f) << render_threads_text(r);
  std::vector<std::string> locks = f->classes;
  std::sort(locks.begin(), locks.end());
  EXPECT_EQ(locks, (std::vector<std::string>{"lock_a", "table_lock"}));
  bool rw = false;
  for (const auto& t : r.threads)
    if (t.wait && t.wait->kind == WaitKind::rwlock_write) rw = true;
  EXPECT_TRUE(rw);
}

TEST_F(Attach, WithoutACycleSaysWhoWaitsForWhom) {
  start("wait", 2);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  EXPECT_TRUE(r.findings.empty());
  const ThreadReport* waiter = nullptr;
  const ThreadReport* holder = nullptr;
  for (const auto& t : r.threads) {
    if (t.wait && t.wait->kind == WaitKind::mutex) waiter = &t;
    if (stack_has(t.stack, "hold_and_sleep")) holder = &t;
  }
  ASSERT_TRUE(waiter && holder) << render_threads_text(r);
  EXPECT_EQ(waiter->wait->kind, WaitKind::mutex);
  EXPECT_EQ(waiter->wait->name, "lock_a");
  EXPECT_EQ(waiter->wait->owners, std::vector<pid_t>{holder->tid});
  // The main thread joins the waiter: it waits for that thread's exit.
  const ThreadReport* main_thread = nullptr;
  for (const auto& t : r.threads)
    if (t.tid == pid_) main_thread = &t;
  ASSERT_TRUE(main_thread && main_thread->wait);
  EXPECT_EQ(main_thread->wait->kind, WaitKind::join);
  EXPECT_EQ(main_thread->wait->owners, std::vector<pid_t>{waiter->tid});
  std::string text = render_threads_text(r);
  EXPECT_NE(text.find("waits for mutex lock_a, owned by thread " + std::to_string(holder->tid)),
            std::string::npos) << text;
}

TEST_F(Attach, JoinOfAThreadWaitingForTheJoinersLock) {
  start("join", 2);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  const Finding* f = find_type(r, FindingType::actual_deadlock);
  ASSERT_TRUE(f) << render_threads_text(r);
  ASSERT_EQ(f->participants.size(), 2u);
  EXPECT_EQ(f->participants[0].pid, pid_);  // the main thread, smallest tid, starts the cycle
  EXPECT_NE(f->participants[0].waits_for.find("the end of thread " + std::to_string(f->participants[1].pid)),
            std::string::npos) << f->participants[0].waits_for;
  ASSERT_EQ(f->participants[0].held.size(), 1u);
  EXPECT_EQ(f->participants[0].held[0].name, "lock_a");
  EXPECT_NE(f->participants[1].waits_for.find("lock_a"), std::string::npos);
  EXPECT_NE(f->fix.find("Release lock_a before thread " + std::to_string(pid_)), std::string::npos) << f->fix;
}

TEST_F(Attach, MutexOfAnExitedThread) {
  start("exited", 1);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  const Finding* f = find_type(r, FindingType::still_has_locks_held);
  ASSERT_TRUE(f) << render_threads_text(r);
  EXPECT_EQ(f->classes, std::vector<std::string>{"lock_a"});
  ASSERT_EQ(f->participants.size(), 1u);
  EXPECT_EQ(f->participants[0].pid, pid_);
}

TEST_F(Attach, DetachLeavesTheProcessRunning) {
  start("tick", 0);
  ASSERT_EQ(read_line(30000).rfind("tick", 0), 0u);
  AttachReport r = diagnose();
  ATTACH_OR_SKIP(r);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(status_field(pid_, "TracerPid"), "0");
  // Ticks keep coming after detach, and no thread is left stopped.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(read_line(30000).rfind("tick", 0), 0u);
  std::string state = status_field(pid_, "State");
  EXPECT_TRUE(state.rfind("S", 0) == 0 || state.rfind("R", 0) == 0) << state;
}

TEST(AttachErrors, NoSuchProcess) {
  AttachReport r = attach_and_diagnose(999999999);
  EXPECT_FALSE(r.attached);
  EXPECT_NE(r.error.find("no process"), std::string::npos) << r.error;
}

// Without permission (another user's process), attaching fails with a message that says what to
// change. Runs the attach from a child that drops root for nobody.
TEST(AttachErrors, PermissionDeniedExplainsPtraceScope) {
  if (::geteuid() != 0) GTEST_SKIP() << "skipped: needs root to switch to another user";
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t target = ::getpid();
  pid_t c = ::fork();
  ASSERT_GE(c, 0);
  if (c == 0) {
    ::close(p[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
    AttachReport r = attach_and_diagnose(target);
    std::string msg = (r.attached ? "ATTACHED" : r.error);
    if (::write(p[1], msg.data(), msg.size()) < 0) _exit(3);
    _exit(0);
  }
  ::close(p[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int st = 0;
  ::waitpid(c, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "could not switch user";
  EXPECT_NE(msg.find("Operation not permitted"), std::string::npos) << msg;
  bool hint = msg.find("ptrace_scope") != std::string::npos ||
              msg.find("CAP_SYS_PTRACE") != std::string::npos;
  EXPECT_TRUE(hint) << msg;
}

TEST(ClassifyWait, InnermostLockFunctionDecides) {
  Stack st(4);
  st[0].function = "__futex_abstimed_wait_common";
  st[0].object = "/lib/x86_64-linux-gnu/libc.so.6";
  st[1].function = "__lll_lock_wait";
  st[1].object = "/lib/x86_64-linux-gnu/libc.so.6";
  st[2].function = "___pthread_cond_wait";  // re-taking the mutex after a wakeup
  st[2].object = "/lib/x86_64-linux-gnu/libc.so.6";
  st[3].function = "consumer";
  st[3].object = "/usr/bin/app";
  auto w = classify_wait(st, FutexCall{0x1000, 128, 2});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->kind, WaitKind::mutex);
  EXPECT_EQ(w->lock, 0x1000u);
  EXPECT_EQ(w->call_frame, 3u);
  st[1].function = "__pthread_rwlock_wrlock_full64";
  w = classify_wait(st, FutexCall{0x2000, 9 | 128, 3});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->kind, WaitKind::rwlock_write);
}

TEST(ClassifyWait, WithoutSymbolsTheFutexCallDecides) {
  EXPECT_EQ(classify_wait({}, FutexCall{0x10, 128, 2})->kind, WaitKind::mutex);   // lll_lock
  EXPECT_EQ(classify_wait({}, FutexCall{0x10, 6 | 128, 0})->kind, WaitKind::mutex);  // PI
  EXPECT_EQ(classify_wait({}, FutexCall{0x10, 9 | 128, 0})->kind, WaitKind::futex);
  EXPECT_FALSE(classify_wait({}, FutexCall{0x10, 1 /* WAKE */, 1}));
  EXPECT_FALSE(classify_wait({}, std::nullopt));
}

}  // namespace
}  // namespace lockhound::attach
