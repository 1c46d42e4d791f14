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
#include <fstream>
#include <thread>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "cli/common.h"
#include "report/cli_helpers.h"

namespace lockhound {
namespace {
using namespace lockhound::testing;
namespace fs = std::filesystem;

// Runs lockhound with `args` on a new pseudo-terminal (stdin, stdout and stderr), with `env`
// (NAME=VALUE; NAME= sets it empty; -NAME unsets it) and TERM=xterm unless it says otherwise.
// {"sh", "COMMAND"} runs a shell command line there instead.
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
    if (args.size() == 2 && args[0] == "sh") {  // a shell command line: a pipe into lockhound
      execl("/bin/sh", "sh", "-c", args[1].c_str(), static_cast<char*>(nullptr));
      _exit(127);
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
  // What the last two updates may draw depends on the time between them (at most ten a second),
  // which a loaded machine stretches: measured, not assumed.
  bool quick_first = true, third_too_soon = true;
  {
    StderrTo to(p[1]);
    auto start = std::chrono::steady_clock::now();
    cli::Progress prog("always");
    prog.update("[1/9] quick");
    quick_first = std::chrono::steady_clock::now() - start < std::chrono::milliseconds(400);
    first = drain(p[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(550));
    auto drawn = std::chrono::steady_clock::now();
    prog.update("[5/9] slow");
    second = drain(p[0]);
    prog.update("[6/9] too soon");
    third_too_soon = std::chrono::steady_clock::now() - drawn < std::chrono::milliseconds(90);
    third = drain(p[0]);
    prog.clear();
    cleared = drain(p[0]);
  }
  close(p[0]);
  close(p[1]);
  if (quick_first) {
    EXPECT_EQ(first, "") << "progress drawn before half a second of work";
  }
  EXPECT_EQ(second, "\r\033[K[5/9] slow");
  if (third_too_soon) {
    EXPECT_EQ(third, "") << "progress drawn more than ten times a second";
  }
  EXPECT_EQ(cleared, "\r\033[K");
}

TEST(Progress, QuietWhenStderrIsNotATerminal) {
  // scan and trace draw nothing on a pipe, whatever their speed.
  CmdResult scan = run_cmd(lockhound() + " scan --no-cache examples/scan/seed_abba.c 2>&1 >/dev/null");
  EXPECT_EQ(scan.out.find('\r'), std::string::npos) << scan.out;
  CmdResult trace = run_cmd("printf '' | " + lockhound() + " trace - 2>&1 >/dev/null");
  EXPECT_EQ(trace.out.find('\r'), std::string::npos) << trace.out;
}

// The commands that read inputs of any size, each with an input of its own kind.
struct Reader {
  std::string command, input;
};
std::vector<Reader> readers() {
  fs::path locks = artifacts() / "progress-proc-locks.txt";
  std::ofstream(locks) << "1: POSIX  ADVISORY  WRITE 4242 08:01:1311 0 EOF\n"
                          "2: FLOCK  ADVISORY  WRITE 4243 08:01:1312 0 EOF\n";
  fs::path trace = artifacts() / "progress-trace.txt";
  std::ofstream(trace) << "  insmod-77 [000] .....  20.000100: lock_acquire: ffff888003a10010 &dev->lock\n"
                          "  insmod-77 [000] .....  20.000200: lock_acquire: ffff888003a20010 &dev->cfg\n"
                          "  insmod-77 [000] .....  20.000300: lock_release: ffff888003a20010 &dev->cfg\n"
                          "  insmod-77 [000] .....  20.000400: lock_release: ffff888003a10010 &dev->lock\n";
  return {{"explain", "tests/explain/data/spinlock_already_unlocked.txt"},
          {"check", "examples/seeds/abba.lh"},
          {"import", locks.string()},
          {"trace", trace.string()}};
}

// The input arrives in two parts a second apart (a slow pipe): the command is busy for longer than
// progress's half second whatever the machine's speed. Its stderr goes to `err`.
std::string slow_pipe(const Reader& r, const std::string& options, const fs::path& err) {
  return "(head -c 200 '" + r.input + "'; sleep 1; tail -c +201 '" + r.input + "') | " + lockhound() + " " +
         r.command + " " + options + " - 2>'" + err.string() + "'";
}

TEST(Progress, EveryReadingCommandHasTheOption) {
  for (const auto& r : readers()) {
    SCOPED_TRACE(r.command);
    CmdResult help = run_cmd(lockhound() + " " + r.command + " --help");
    EXPECT_EQ(help.rc, 0);
    EXPECT_NE(help.out.find("--progress"), std::string::npos) << help.out;
    for (std::string mode : {"auto", "always", "never"}) {
      CmdResult ok = run_cmd(lockhound() + " " + r.command + " --progress=" + mode + " '" + r.input + "' >/dev/null 2>&1; echo $?");
      EXPECT_TRUE(ok.out == "0\n" || ok.out == "1\n") << mode << ": exit " << ok.out;
    }
    CmdResult bad = run_cmd(lockhound() + " " + r.command + " --progress=sometimes '" + r.input + "' 2>&1");
    EXPECT_EQ(bad.rc, 2) << bad.out;
  }
}

TEST(Progress, ForcedOnItGoesToStderrAndNothingToStdout) {
  for (const auto& r : readers()) {
    SCOPED_TRACE(r.command);
    fs::path err = artifacts() / ("progress-" + r.command + ".err");
    CmdResult plain = run_cmd(lockhound() + " " + r.command + " - < '" + r.input + "' 2>/dev/null");
    CmdResult forced = run_cmd(slow_pipe(r, "--progress=always", err));
    std::string e = read_file(err);
    EXPECT_NE(e.find("\r\033[Klockhound " + r.command + ": "), std::string::npos) << e;
    EXPECT_NE(e.find(" MB read "), std::string::npos) << e;
    EXPECT_EQ(forced.out, plain.out) << "the report is the same with progress on";
    EXPECT_EQ(forced.out.find('\r'), std::string::npos);
    EXPECT_EQ(forced.rc, plain.rc);
    // --progress=never on a terminal: nothing.
    CmdResult never = on_terminal({"sh", slow_pipe(r, "--progress=never", err)});
    EXPECT_EQ(read_file(err).find('\r'), std::string::npos) << read_file(err);
  }
}

TEST(Progress, ByDefaultOnlyOnATerminal) {
  for (const auto& r : readers()) {
    SCOPED_TRACE(r.command);
    fs::path err = artifacts() / ("progress-default-" + r.command + ".err");
    // stderr a file (as in a pipe or CI): no progress, however long it takes.
    run_cmd(slow_pipe(r, "", err));
    EXPECT_EQ(read_file(err).find('\r'), std::string::npos) << read_file(err);
    // stderr a terminal: drawn, then erased before the report.
    // No half-second wait: what is drawn must not depend on how soon the command started.
    CmdResult tty = on_terminal({"sh", slow_pipe(r, "", "/dev/stderr")}, {"LOCKHOUND_PROGRESS_DELAY=0"});
    size_t drawn = tty.out.find("\r\033[Klockhound " + r.command + ": ");
    EXPECT_NE(drawn, std::string::npos) << tty.out.substr(0, 300);
  }
}

TEST(Progress, SeveralInputsAreNumbered) {
  fs::path a = artifacts() / "progress-a.lh", b = artifacts() / "progress-b.lh";
  fs::copy_file(source_dir() / "examples/seeds/abba.lh", a, fs::copy_options::overwrite_existing);
  fs::copy_file(source_dir() / "examples/seeds/abba_fixed.lh", b, fs::copy_options::overwrite_existing);
  fs::path fifo = artifacts() / "progress-fifo.lh";
  fs::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  fs::path err = artifacts() / "progress-several.err";
  // The second input is a FIFO written a second late: that input is the slow one.
  CmdResult r = run_cmd("(sleep 1; cat '" + b.string() + "' > '" + fifo.string() + "') & " + lockhound() +
                        " check --progress=always '" + a.string() + "' '" + fifo.string() + "' 2>'" + err.string() +
                        "'; rc=$?; wait; exit $rc");
  EXPECT_EQ(r.rc, 1);
  std::string e = read_file(err);
  EXPECT_NE(e.find("lockhound check [2/2] " + fifo.string() + ": "), std::string::npos) << e;
  fs::remove(fifo);
}

}  // namespace
}  // namespace lockhound
