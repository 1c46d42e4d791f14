// End to end: the built `lockhound explain` binary, its JSON report and its exit codes.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/testdata.h"

namespace {

struct CliRun {
  int status = -1;
  std::string out;
};

CliRun run(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(LOCKHOUND_EXE) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

TEST(ExplainCli, JsonOnARealSplat) {
  LOCKHOUND_REQUIRE_SHARED();
  auto path = lockhound::testing::shared_dir() / "testdata/splats/008-circular.txt";
  CliRun r = run("explain --format json " + path.string());
  EXPECT_EQ(r.status, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "explain");
  ASSERT_EQ(j["findings"].size(), 1u);
  const auto& f = j["findings"][0];
  EXPECT_EQ(f["type"], "circular_dependency");
  std::set<std::string> classes;
  for (const auto& c : f["classes"]) classes.insert(c.get<std::string>());
  EXPECT_EQ(classes, (std::set<std::string>{"rtnl_mutex", "sk_lock-AF_INET6", "&xt[i].mutex"}));
  EXPECT_EQ(f["chain"].size(), 3u);
  EXPECT_NE(f["fix"].get<std::string>().find("rtnl_lock"), std::string::npos);
}

TEST(ExplainCli, StdinTextAndCounts) {
  LOCKHOUND_REQUIRE_SHARED();
  auto path = lockhound::testing::shared_dir() / "testdata/splats/029-inconsistent.txt";
  CliRun r = run("explain --format json - < " + path.string());
  EXPECT_EQ(r.status, 1);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["type"], "inconsistent_lock_state");
  EXPECT_EQ(j["findings"][0]["count"], 2);
  CliRun t = run("explain " + path.string());
  EXPECT_EQ(t.status, 1);
  EXPECT_NE(t.out.find("fs_reclaim"), std::string::npos);
}

TEST(ExplainCli, CleanLogExitsZeroAndMissingFileThree) {
  LOCKHOUND_REQUIRE_SHARED();
  auto clean = lockhound::testing::shared_dir() / "testdata/kernel/m8_clean/console.log";
  CliRun r = run("explain --format json " + clean.string());
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out)["findings"].size(), 0u);
  EXPECT_EQ(run("explain /nonexistent/console.log").status, 3);
  EXPECT_EQ(run("explain --format yaml " + clean.string()).status, 2);
}

}  // namespace
