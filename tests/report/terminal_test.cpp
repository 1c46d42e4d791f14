// Terminal manners: colour in the text report only on a terminal (NO_COLOR and --color honoured),
// progress only on a terminal and only for work that takes a while. The command runs on a real
// pseudo-terminal (forkpty) where a terminal is needed.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "cli/common.h"
#include "report/cli_helpers.h"

namespace lockhound {
namespace {
using namespace lockhound::testing;
namespace fs = std::filesystem;

// Runs lockhound with `args` on a new pseudo-terminal (stdin, stdout and stderr), with `env`
// (NAME=VALUE; NAME= sets it empty; -NAME unsets it) and TERM=xterm unless it says otherwise.
CmdResult on_terminal(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  CmdResult r;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) return r;
  if (pid == 0) {
    if (chdir(source_dir().c_str()) != 0) _exit(126);
    setenv("TERM", "xterm", 1);
    unsetenv("NO_COLOR");
    for (const auto& e : env) {
      if (e[0] == '-') {
        unsetenv(e.c_str() + 1);
        continue;
      }
      size_t eq = e.find('=');
      setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
    }
    std::string bin = lockhound();
    std::vector<char*> argv{bin.data()};
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) {
      r.out.append(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EIO: the child closed the terminal
  }
  close(master);
  int st = 0;
  waitpid(pid, &st, 0);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool coloured(const std::string& s) { return s.find("\033[") != std::string::npos; }

const std::vector<std::string> kAbba = {"check", "examples/seeds/abba.lh"};

std::vector<std::string> with(std::vector<std::string> v, std::initializer_list<std::string> more) {
  v.insert(v.end(), more);
  return v;
}

TEST(Colour, OnATerminalOnly) {
  CmdResult tty = on_terminal(kAbba);
  EXPECT_EQ(tty.rc, 1);
  EXPECT_NE(tty.out.find("\033[1;31mWARNING: possible circular locking dependency detected\033[0m"), std::string::npos)
      << tty.out.substr(0, 400);
  EXPECT_NE(tty.out.find("\033[1;32mfix:\033[0m"), std::string::npos);
  // A pipe: no colour.
  CmdResult piped = run_cmd(lockhound() + " check examples/seeds/abba.lh");
  EXPECT_EQ(piped.rc, 1);
  EXPECT_FALSE(coloured(piped.out));
  EXPECT_NE(piped.out.find("WARNING: possible circular locking dependency detected"), std::string::npos);
}

TEST(Colour, NoColorAndTheOptionAreHonoured) {
  EXPECT_FALSE(coloured(on_terminal(kAbba, {"NO_COLOR=1"}).out));
  // NO_COLOR set but empty does not count (no-color.org).
  EXPECT_TRUE(coloured(on_terminal(kAbba, {"NO_COLOR="}).out));
  EXPECT_FALSE(coloured(on_terminal(kAbba, {"TERM=dumb"}).out));
  EXPECT_FALSE(coloured(on_terminal(with(kAbba, {"--color=never"})).out));
  // Asked for, colour goes where it is told, even past NO_COLOR …
  EXPECT_TRUE(coloured(on_terminal(with(kAbba, {"--color=always"}), {"NO_COLOR=1"}).out));
  EXPECT_TRUE(coloured(run_cmd(lockhound() + " check examples/seeds/abba.lh --color=always").out));
  // … but never into the structured formats.
  EXPECT_FALSE(coloured(on_terminal(with(kAbba, {"--format", "json", "--color=always"})).out));
  EXPECT_FALSE(coloured(on_terminal(with(kAbba, {"--format", "sarif"})).out));
}

TEST(Colour, NotIntoAFileEvenFromATerminal) {
  fs::path out = artifacts() / "colour-file.txt";
  CmdResult r = on_terminal(with(kAbba, {"-o", out.string()}));
  EXPECT_EQ(r.rc, 1);
  std::string text = read_file(out);
  EXPECT_NE(text.find("WARNING: possible circular"), std::string::npos);
  EXPECT_FALSE(coloured(text));
}

// Redirects this process's stderr for the life of the object.
struct StderrTo {
  int saved;
  explicit StderrTo(int fd) : saved(dup(2)) {
    fflush(stderr);
    dup2(fd, 2);
  }
  ~StderrTo() {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
  }
};

std::string drain(int fd) {
  std::string out;
  char buf[512];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 50) > 0) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

TEST(Progress, OnlyOnATerminal) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int master, slave;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  const char* term = std::getenv("TERM");
  std::string saved_term = term ? term : "";
  setenv("TERM", "xterm", 1);
  {
    StderrTo to(p[1]);
    EXPECT_FALSE(cli::Progress("auto").enabled());
    EXPECT_TRUE(cli::Progress("always").enabled());
  }
  {
    StderrTo to(slave);
    EXPECT_TRUE(cli::Progress("auto").enabled());
    EXPECT_FALSE(cli::Progress("never").enabled());
    setenv("TERM", "dumb", 1);
    EXPECT_FALSE(cli::Progress("auto").enabled());
  }
  if (term) setenv("TERM", saved_term.c_str(), 1);
  else unsetenv("TERM");
  close(master);
  close(slave);
  close(p[0]);
  close(p[1]);
}

TEST(Progress, OnlyForWorkThatTakesAWhile) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  std::string first, second, third, cleared;
  {
    StderrTo to(p[1]);
    cli::Progress prog("always");
    prog.update("[1/9] quick");
    first = drain(p[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(550));
    prog.update("[5/9] slow");
    second = drain(p[0]);
    prog.update("[6/9] too soon");
    third = drain(p[0]);
    prog.clear();
    cleared = drain(p[0]);
  }
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(first, "") << "progress drawn before half a second of work";
  EXPECT_EQ(second, "\r\033[K[5/9] slow");
  EXPECT_EQ(third, "") << "progress drawn more than ten times a second";
  EXPECT_EQ(cleared, "\r\033[K");
}

TEST(Progress, QuietWhenStderrIsNotATerminal) {
  // scan and trace draw nothing on a pipe, whatever their speed.
  CmdResult scan = run_cmd(lockhound() + " scan --no-cache examples/scan/seed_abba.c 2>&1 >/dev/null");
  EXPECT_EQ(scan.out.find('\r'), std::string::npos) << scan.out;
  CmdResult trace = run_cmd("printf '' | " + lockhound() + " trace - 2>&1 >/dev/null");
  EXPECT_EQ(trace.out.find('\r'), std::string::npos) << trace.out;
}

}  // namespace
}  // namespace lockhound
