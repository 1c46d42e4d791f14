// Whole-command tests: the built `lockhound` binary on the bundled examples (golden text
// reports), its exit codes and output options, and the seed example programs under the runtime.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/testdata.h"

namespace fs = std::filesystem;
using lockhound::testing::binary_dir;
using lockhound::testing::read_file;
using lockhound::testing::source_dir;

namespace {

struct CmdResult {
  int rc;
  std::string out;
};

// Runs a shell command from the source tree (so paths in reports are stable), capturing stdout.
CmdResult run(const std::string& cmd) {
  std::string full = "cd '" + source_dir().string() + "' && " + cmd;
  FILE* p = popen(full.c_str(), "r");
  CmdResult r{-1, ""};
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string lockhound() { return (binary_dir() / "src/cli/lockhound").string(); }

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("lockhound-e2e-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, CheckPrintsTheExpectedReport) {
  const std::string name = GetParam();
  CmdResult r = run(lockhound() + " check examples/seeds/" + name + ".lh");
  EXPECT_EQ(r.rc, name.find("_fixed") != std::string::npos ? 0 : 1);
  fs::path golden = source_dir() / "tests/e2e/golden" / (name + ".txt");
  if (std::getenv("LOCKHOUND_UPDATE_GOLDEN")) {
    std::ofstream(golden) << r.out;
    GTEST_SKIP() << "golden file rewritten: " << golden;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden;
  EXPECT_EQ(r.out, read_file(golden)) << "report changed; if intended, rerun with LOCKHOUND_UPDATE_GOLDEN=1";
}

INSTANTIATE_TEST_SUITE_P(Seeds, Golden,
                         ::testing::Values("abba", "abba_fixed", "irq_spinlock", "irq_spinlock_fixed",
                                           "sleep_under_spinlock", "sleep_under_spinlock_fixed",
                                           "unreleased_lock", "unreleased_lock_fixed"));

TEST(Cli, JsonReportOfTheAbbaExample) {
  CmdResult r = run(lockhound() + " check --format json examples/seeds/abba.lh");
  ASSERT_EQ(r.rc, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["lockhound_json_version"], 1);
  EXPECT_EQ(j["command"], "check");
  ASSERT_EQ(j["findings"].size(), 1u);
  const auto& f = j["findings"][0];
  EXPECT_EQ(f["type"], "circular_dependency");
  EXPECT_EQ(f["classes"], nlohmann::json::array({"lock1", "lock2"}));
  EXPECT_EQ(f["count"], 1);
  EXPECT_FALSE(f["fix"].get<std::string>().empty());
  EXPECT_EQ(f["chain"][1]["to_site"]["stack"][0]["function"], "another_function");
}

TEST(Cli, OutputFileOption) {
  fs::path d = temp_dir("out");
  CmdResult r = run(lockhound() + " check -o " + (d / "r.json").string() + " --format json examples/seeds/abba.lh");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(r.out.empty());
  auto j = nlohmann::json::parse(read_file(d / "r.json"));
  EXPECT_EQ(j["findings"].size(), 1u);
  fs::remove_all(d);
}

TEST(Cli, ExitCodes) {
  EXPECT_EQ(run(lockhound() + " check examples/seeds/abba_fixed.lh >/dev/null").rc, 0);
  EXPECT_EQ(run(lockhound() + " check examples/seeds/abba.lh >/dev/null").rc, 1);
  EXPECT_EQ(run(lockhound() + " check --format xml examples/seeds/abba.lh >/dev/null 2>&1").rc, 2);
  EXPECT_EQ(run(lockhound() + " frobnicate >/dev/null 2>&1").rc, 2);
  EXPECT_EQ(run(lockhound() + " check /nonexistent.lh >/dev/null 2>&1").rc, 3);
  EXPECT_EQ(run(lockhound() + " --help >/dev/null").rc, 0);
}

TEST(Cli, BadScenarioNamesTheLineAndKeepsFindings) {
  fs::path d = temp_dir("bad");
  std::ofstream(d / "bad.lh") << "mutex a, b\nthread T1:\n lock a\n lock b\n unlock b\n unlock a\n"
                                 "thread T2:\n lock b\n lokc a\n lock a\n";
  CmdResult r = run(lockhound() + " check " + (d / "bad.lh").string() + " 2>" + (d / "err").string());
  EXPECT_EQ(r.rc, 3);
  std::string err = read_file(d / "err");
  EXPECT_NE(err.find("bad.lh:9: error: unknown statement 'lokc'"), std::string::npos) << err;
  // The cycle completed on line 10 is still reported.
  EXPECT_NE(r.out.find("possible circular locking dependency"), std::string::npos) << r.out;
  fs::remove_all(d);
}

// ---------------------------------------------------------------- the API examples
struct ProgramReport {
  int rc;
  nlohmann::json report;
};

ProgramReport run_program(const std::string& prog) {
  fs::path exe = binary_dir() / "examples" / prog;
  if (!fs::exists(exe)) return {-2, {}};
  fs::path d = temp_dir(prog);
  std::string opts = "LOCKHOUND_OPTIONS=format=json:log_path=" + (d / "log").string() + ":exitcode=66";
  CmdResult r = run(opts + " " + exe.string() + " >/dev/null 2>&1");
  ProgramReport pr{r.rc, {}};
  for (const auto& e : fs::directory_iterator(d)) {
    std::string text = read_file(e.path());
    if (!text.empty()) pr.report = nlohmann::json::parse(text, nullptr, false);
  }
  fs::remove_all(d);
  return pr;
}

std::vector<std::string> types_of(const nlohmann::json& j) {
  std::vector<std::string> t;
  if (j.is_object() && j.contains("findings"))
    for (const auto& f : j["findings"]) t.push_back(f["type"]);
  return t;
}

TEST(Examples, SeedAbbaWithCxxLockTypes) {
  auto bug = run_program("seed_abba_bug");
  if (bug.rc == -2) GTEST_SKIP() << "examples not built (no runtime)";
  EXPECT_EQ(bug.rc, 66);
  EXPECT_EQ(types_of(bug.report), std::vector<std::string>{"circular_dependency"}) << bug.report.dump(1);
  auto fixed = run_program("seed_abba_fixed");
  EXPECT_EQ(fixed.rc, 0);
  EXPECT_TRUE(types_of(fixed.report).empty()) << fixed.report.dump(1);
}

TEST(Examples, SeedIrqWithTheCApi) {
  auto bug = run_program("seed_irq_bug");
  if (bug.rc == -2) GTEST_SKIP() << "examples not built (no runtime)";
  EXPECT_EQ(bug.rc, 66);
  auto t = types_of(bug.report);
  EXPECT_EQ(t, std::vector<std::string>{"inconsistent_lock_state"}) << bug.report.dump(1);
  if (!t.empty()) {
    EXPECT_EQ(bug.report["findings"][0]["classes"], nlohmann::json::array({"lock2"}));
  }
  auto fixed = run_program("seed_irq_fixed");
  EXPECT_EQ(fixed.rc, 0);
  EXPECT_TRUE(types_of(fixed.report).empty()) << fixed.report.dump(1);
}

TEST(Examples, SeedWithARealSigalrmHandler) {
  auto bug = run_program("seed_sigalrm_bug");
  if (bug.rc == -2) GTEST_SKIP() << "examples not built (no runtime)";
  EXPECT_EQ(bug.rc, 66);
  auto t = types_of(bug.report);
  EXPECT_NE(std::find(t.begin(), t.end(), "inconsistent_lock_state"), t.end()) << bug.report.dump(1);
  auto fixed = run_program("seed_sigalrm_fixed");
  EXPECT_EQ(fixed.rc, 0);
  EXPECT_TRUE(types_of(fixed.report).empty()) << fixed.report.dump(1);
}

}  // namespace

namespace {

TEST(Examples, CxxLockTypesWithEveryStandardWrapper) {
  auto bug = run_program("cxx_wrappers_bug");
  if (bug.rc == -2) GTEST_SKIP() << "examples not built (no runtime)";
  EXPECT_EQ(bug.rc, 66);
  ASSERT_EQ(types_of(bug.report), std::vector<std::string>{"circular_dependency"}) << bug.report.dump(1);
  auto classes = bug.report["findings"][0]["classes"];
  EXPECT_EQ(classes, nlohmann::json::array({"table", "stats"})) << classes.dump();
  // The reader side is a shared (read) acquisition: the edge kind says so.
  EXPECT_EQ(bug.report["findings"][0]["chain"][0]["dep"], "SN") << bug.report.dump(1);
  auto fixed = run_program("cxx_wrappers_fixed");
  EXPECT_EQ(fixed.rc, 0);
  EXPECT_TRUE(types_of(fixed.report).empty()) << fixed.report.dump(1);
}

}  // namespace
