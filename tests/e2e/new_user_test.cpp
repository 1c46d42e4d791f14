// What a new user trips over (issue "What a new user trips over"), each as the user meets it:
// the exit status of a run whose child found something, a program's own options, the
// environment's options, JSON without -o, set-user-ID programs, bad PIDs and commands,
// directories as inputs, write errors, an empty or unreadable input.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/testdata.h"

namespace {

namespace fs = std::filesystem;
using lockhound::testing::binary_dir;
using lockhound::testing::read_file;
using lockhound::testing::source_dir;

struct Cmd {
  int rc = -1;
  std::string out, err;
};

// Runs `cmd` in `dir` (default: the source tree), capturing stdout and stderr.
Cmd sh(const std::string& cmd, const fs::path& dir = source_dir()) {
  char tmpl[] = "/tmp/lockhound-nu-XXXXXX";
  fs::path t = mkdtemp(tmpl);
  std::string full = "cd '" + dir.string() + "' && (" + cmd + ") >" + (t / "o").string() + " 2>" + (t / "e").string();
  int st = std::system(full.c_str());
  Cmd r;
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(t / "o");
  r.err = read_file(t / "e");
  fs::remove_all(t);
  return r;
}

std::string lh() { return (binary_dir() / "src/cli/lockhound").string(); }
fs::path prog(const char* name) { return binary_dir() / "tests/runtime/progs" / name; }

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("lockhound-nu-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

#define LOCKHOUND_REQUIRE_SHARED_OR_SKIP()                                                    \
  if (!fs::exists(lockhound::testing::shared_dir() / "testdata")) GTEST_SKIP() << "skipped: no ../shared"

#define REQUIRE_RUNTIME()                                                                       \
  if (!fs::exists(prog("abba"))) GTEST_SKIP() << "no runtime test programs in this build"

TEST(NewUser, RunOfAScriptWhoseChildFindsSomethingFails) {
  REQUIRE_RUNTIME();
  Cmd r = sh(lh() + " run -- sh -c '" + prog("abba").string() + " >/dev/null; echo script-done'");
  EXPECT_EQ(r.out, "script-done\n");
  EXPECT_EQ(r.rc, 66) << r.err;
  EXPECT_NE(r.err.find("1 with problems: pid "), std::string::npos) << r.err;
  // The same script with a clean child keeps its own status.
  Cmd ok = sh(lh() + " run -- sh -c 'true; exit 3'");
  EXPECT_EQ(ok.rc, 3) << ok.err;
}

TEST(NewUser, OptionsStopAtTheProgramsName) {
  REQUIRE_RUNTIME();
  Cmd r = sh(lh() + " run --no-summary printf '[%s]' a -v -- b");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "[a][-v][--][b]");
  Cmd s = sh(lh() + " run --no-summary -- printf '[%s]' -- x");
  EXPECT_EQ(s.out, "[--][x]");
}

TEST(NewUser, TheEnvironmentsOptionsHoldUnlessAFlagSaysOtherwise) {
  REQUIRE_RUNTIME();
  fs::path d = scratch("env");
  Cmd r = sh("LOCKHOUND_OPTIONS=format=json:log_path=" + (d / "r").string() + " " + lh() + " run -- " +
             prog("abba").string());
  EXPECT_EQ(r.rc, 66) << r.err;
  size_t reports = 0;
  for (const auto& e : fs::directory_iterator(d)) {
    auto j = nlohmann::json::parse(read_file(e.path()), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << e.path();
    ++reports;
  }
  EXPECT_EQ(reports, 1u);
  // A flag overrides the environment.
  Cmd t = sh("LOCKHOUND_OPTIONS=format=json " + lh() + " run --format text -- " + prog("abba").string());
  EXPECT_NE(t.err.find("WARNING: possible circular locking dependency detected"), std::string::npos) << t.err;
  fs::remove_all(d);
}

TEST(NewUser, JsonWithoutAnOutputGoesToAFilePerProcess) {
  REQUIRE_RUNTIME();
  fs::path d = scratch("json");
  Cmd r = sh(lh() + " run --format json -- " + prog("abba").string() + " >/dev/null", d);
  EXPECT_EQ(r.rc, 66) << r.err;
  EXPECT_NE(r.err.find("JSON reports go to " + (d / "lockhound-report").string() + ".PID"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\"lockhound_json_version\""), std::string::npos) << "JSON on stderr: " << r.err;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(d))
    if (e.path().filename().string().rfind("lockhound-report.", 0) == 0) {
      auto j = nlohmann::json::parse(read_file(e.path()));
      EXPECT_EQ(j["findings"].size(), 1u);
      ++n;
    }
  EXPECT_EQ(n, 1u);
  fs::remove_all(d);
}

TEST(NewUser, SetUserIdProgramsAreSaidToRunUnchecked) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a copy of true to another user";
  fs::path d = scratch("setuid");
  fs::copy_file("/bin/true", d / "true_suid");
  ASSERT_EQ(chown((d / "true_suid").c_str(), 65534, 65534), 0);
  ASSERT_EQ(chmod((d / "true_suid").c_str(), 04755), 0);
  Cmd r = sh(lh() + " run -- " + (d / "true_suid").string());
  EXPECT_NE(r.err.find("is set-user-ID or set-group-ID"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("runs unchecked"), std::string::npos) << r.err;
  fs::remove_all(d);
}

TEST(NewUser, MessagesSayWhatIsWrong) {
  Cmd bogus = sh(lh() + " bogus");
  EXPECT_EQ(bogus.rc, 2);
  EXPECT_NE(bogus.err.find("unknown command 'bogus'"), std::string::npos) << bogus.err;
  Cmd help = sh(lh() + " help run");
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.out.find("--watchdog-ms"), std::string::npos) << help.out;
  for (const char* pid : {"abc", "0", "-5"}) {
    Cmd a = sh(lh() + " attach -- " + pid);
    EXPECT_EQ(a.rc, 2) << pid;
    EXPECT_NE(a.err.find("PID must be a positive integer"), std::string::npos) << pid << ": " << a.err;
  }
  Cmd sys = sh(lh() + " sys --proc /nonexistent");
  EXPECT_EQ(sys.rc, 2);
  EXPECT_NE(sys.err.find("/nonexistent is not a mounted procfs (No such file or directory)"), std::string::npos)
      << sys.err;
  Cmd dir = sh(lh() + " run -- /tmp");
  EXPECT_EQ(dir.rc, 2);
  EXPECT_NE(dir.err.find("/tmp is a directory"), std::string::npos) << dir.err;
  Cmd missing = sh(lh() + " check /nonexistent.lh");
  EXPECT_EQ(missing.rc, 3);
  EXPECT_NE(missing.err.find("cannot open /nonexistent.lh: No such file or directory"), std::string::npos)
      << missing.err;
  fs::path d = scratch("empty");
  std::ofstream(d / "empty.lh").close();
  std::ofstream(d / "empty.log").close();
  for (const std::string& c : {"check " + (d / "empty.lh").string(), "explain " + (d / "empty.log").string(),
                              "trace " + (d / "empty.log").string(), "import " + (d / "empty.log").string()}) {
    Cmd e = sh(lh() + " " + c);
    EXPECT_NE(e.err.find("warning: empty input"), std::string::npos) << c << ": " << e.err;
  }
  fs::remove_all(d);
}

TEST(NewUser, DirectoriesAreWalkedAndTheOtherInputsStillReported) {
  // Every .lh of the seeds' directory: the buggy ones report, whatever else is there.
  Cmd r = sh(lh() + " check --format json examples/seeds");
  EXPECT_EQ(r.rc, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["inputs"].size(), 8u) << r.out.substr(0, 400);
  EXPECT_GE(j["findings"].size(), 4u);
  // A directory beside a file and a missing file: the file's findings stay, exit 3.
  Cmd mixed = sh(lh() + " check --format json examples/seeds/abba.lh docs /nonexistent.lh");
  EXPECT_EQ(mixed.rc, 3) << mixed.err;
  EXPECT_EQ(nlohmann::json::parse(mixed.out)["findings"].size(), 1u);
  EXPECT_NE(mixed.err.find("docs: warning: a directory with no input files (.lh)"), std::string::npos) << mixed.err;
  // explain and import take directories too (no internal error).
  fs::path d = scratch("logs");
  std::ofstream(d / "a.log") << "nothing to see\n";
  for (const char* c : {" explain ", " import "}) {
    Cmd e = sh(lh() + c + d.string());
    EXPECT_EQ(e.err.find("internal error"), std::string::npos) << c << e.err;
  }
  fs::remove_all(d);
}

TEST(NewUser, AFailedWriteIsAnError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  Cmd a = sh(lh() + " check examples/seeds/abba.lh > /dev/full");
  EXPECT_EQ(a.rc, 2);
  EXPECT_NE(a.err.find("error writing the report to standard output: No space left on device"), std::string::npos)
      << a.err;
  Cmd b = sh(lh() + " check -o /dev/full examples/seeds/abba.lh");
  EXPECT_EQ(b.rc, 2);
  EXPECT_NE(b.err.find("/dev/full"), std::string::npos) << b.err;
  Cmd c = sh(lh() + " sys --no-dstate -o /dev/full");
  EXPECT_EQ(c.rc, 2) << c.err;
}

// Binary input is refused before anything is read (it used to echo a program's bytes as 494
// "unknown statement" errors, or read /dev/zero until memory ran out); a big log is read in parts.
TEST(NewUser, BinaryInputIsRefusedAndBigLogsStayInBoundedMemory) {
  for (const char* c : {" check /bin/ls", " explain /bin/ls", " import /bin/ls", " check /dev/zero", " explain /dev/zero"}) {
    Cmd r = sh("timeout 60 " + lh() + c);
    EXPECT_EQ(r.rc, 3) << c << ": " << r.err;
    EXPECT_NE(r.err.find("is binary data, not text"), std::string::npos) << c << ": " << r.err;
    EXPECT_LT(r.err.size(), 400u) << c;
  }
  // 40 MB of log with a lockdep report every 30,000 lines: every report found across the parts
  // the log is read in, and the locations keep counting lines from the start.
  LOCKHOUND_REQUIRE_SHARED_OR_SKIP();
  std::string splat = read_file(lockhound::testing::shared_dir() / "testdata/splats/008-circular.txt");
  fs::path d = scratch("biglog");
  {
    std::ofstream f(d / "big.log");
    for (int i = 0; i < 20; ++i) {
      for (int j = 0; j < 30000; ++j) f << "[" << i << "." << j << "] usb 1-1: an ordinary kernel message\n";
      f << splat;
    }
  }
  Cmd r = sh(lh() + " explain --format json " + (d / "big.log").string());
  EXPECT_EQ(r.rc, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["count"], 20);
  // The first report's headline: line 30,002 (a rule line, then the headline).
  EXPECT_EQ(j["findings"][0]["location"].get<std::string>().substr((d / "big.log").string().size()),
            ":" + std::to_string(30000 + 2));
  fs::remove_all(d);
}

// import reads a saved /proc file whole, but what starts like none (a log, an endless pipe) is
// refused after its first MiB: an endless stream of text ends with the usual error, in bounded
// memory (it used to be read until memory ran out).
TEST(NewUser, ImportRefusesAnEndlessUnknownStreamAfterItsHead) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer reserves terabytes of address space: no ulimit -v; 200 MB, not endless.
  std::string stream = "yes '[ 1.000000] usb 1-1: an ordinary kernel message' | head -c 200000000";
#else
  std::string stream = "ulimit -v 4000000; yes '[ 1.000000] usb 1-1: an ordinary kernel message'";
#endif
  Cmd r = sh(stream + " | timeout 300 " + lh() + " import -");
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_NE(r.err.find("not a saved /proc/locks"), std::string::npos) << r.err;
}

// A 20,000-lock ring (thread i takes l_i then l_i+1): one cycle, reported whole in JSON, in text
// that grows with the cycle, not its square (it used to print 217 MB for 3,000 locks and run out
// of memory at 20,000).
TEST(NewUser, AHugeCycleIsReportedLinearly) {
  fs::path d = scratch("ring");
  {
    std::ofstream f(d / "ring.lh");
    const int n = 20000;
    f << "mutex l0";
    for (int i = 1; i < n; ++i) f << ", l" << i;
    f << "\n";
    for (int i = 0; i < n; ++i) {
      int j = (i + 1) % n;
      f << "thread T" << i << ":\n lock l" << i << "\n lock l" << j << "\n unlock l" << j << "\n unlock l" << i << "\n";
    }
  }
  Cmd text = sh(lh() + " check " + (d / "ring.lh").string());
  EXPECT_EQ(text.rc, 1) << text.err;
  EXPECT_LT(text.out.size(), 8u << 20) << "text grew beyond linear";
  EXPECT_NE(text.out.find("… 19994 more"), std::string::npos);
  Cmd json = sh(lh() + " check --format json " + (d / "ring.lh").string());
  auto j = nlohmann::json::parse(json.out);
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["chain"].size(), 20000u);
  EXPECT_EQ(j["findings"][0]["classes"].size(), 20000u);
  EXPECT_LT(json.out.size(), 40u << 20);
  fs::remove_all(d);
}

}  // namespace
