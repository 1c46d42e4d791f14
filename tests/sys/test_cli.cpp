#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"

namespace {

namespace fs = std::filesystem;
using lockhound::testing::shared_dir;

struct CmdResult {
  int rc = -1;
  std::string out;
};

// Runs lockhound with `args`; stderr goes to stdout so messages can be checked too.
CmdResult run(const std::string& args) {
  CmdResult r;
  std::string cmd = std::string(LOCKHOUND_EXE) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

fs::path write_temp(const std::string& name, const std::string& text) {
  fs::path p = fs::temp_directory_path() / ("lockhound-sys-cli-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(p) << text;
  return p;
}

constexpr const char* kCycle =
    "1: FLOCK  ADVISORY  WRITE 5445 fe:00:10953093 0 EOF\n"
    "1: -> FLOCK  ADVISORY  WRITE 5389 fe:00:10953093 0 EOF\n"
    "2: FLOCK  ADVISORY  WRITE 5389 fe:00:10953092 0 EOF\n"
    "2: -> FLOCK  ADVISORY  WRITE 5445 fe:00:10953092 0 EOF\n";

TEST(SysCli, ImportRealCapturesIsClean) {
  LOCKHOUND_REQUIRE_SHARED();
  auto d = shared_dir() / "testdata/kernel/m1_abba";
  CmdResult r = run("import " + (d / "lockdep.txt").string() + " " + (d / "lock_stat.txt").string() +
              " " + (d / "lockdep_stats.txt").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("slob_lock"), std::string::npos);
  EXPECT_NE(r.out.find("no locking problems found"), std::string::npos);
}

TEST(SysCli, ImportedFlockCycleIsAFindingInJson) {
  auto f = write_temp("locks", kCycle);
  CmdResult r = run("import --format json " + f.string());
  fs::remove(f);
  EXPECT_EQ(r.rc, 1) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "import");
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["type"], "filelock_deadlock");
  EXPECT_EQ(j["system"]["file_locks"]["blocked"], 2);
}

TEST(SysCli, MalformedLineExits3AndKeepsTheFinding) {
  auto f = write_temp("badlocks", std::string(kCycle) + "3: FLOCK ADVISORY WRITE x fe:00:1 0 EOF\n");
  CmdResult r = run("import " + f.string());
  EXPECT_EQ(r.rc, 3) << r.out;
  EXPECT_NE(r.out.find(f.string() + ":5: error: expected a pid"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("file-lock deadlock"), std::string::npos) << r.out;
  fs::remove(f);
}

TEST(SysCli, UnknownFileExits3) {
  auto f = write_temp("junk", "hello\n");
  CmdResult r = run("import " + f.string());
  fs::remove(f);
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.out.find("not a saved /proc/locks"), std::string::npos) << r.out;
}

TEST(SysCli, LiveSysRunsAndSaysWhatIsMissing) {
  CmdResult r = run("sys --no-stacks");
  EXPECT_TRUE(r.rc == 0 || r.rc == 1) << r.out;
  EXPECT_NE(r.out.find("File locks:"), std::string::npos) << r.out;
  if (!fs::exists("/proc/lock_stat")) {
    EXPECT_NE(r.out.find("no /proc/lock_stat"), std::string::npos) << r.out;
  }
  CmdResult j = run("sys --format json --no-stacks");
  auto parsed = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << j.out;
  EXPECT_TRUE(parsed["system"].contains("d_state_tasks"));
}

TEST(SysCli, AttachToMissingProcessExits3) {
  CmdResult r = run("attach 999999999");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.out.find("no process"), std::string::npos) << r.out;
}

}  // namespace
