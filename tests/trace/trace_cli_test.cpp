// `lockhound trace` as a user runs it: exit codes, JSON, stdin, malformed input, and the example
// in docs/trace.md (extracted from the document and run, so the documentation cannot rot).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/testdata.h"

namespace {

namespace fs = std::filesystem;
using lockhound::testing::binary_dir;
using lockhound::testing::read_file;
using lockhound::testing::shared_dir;
using lockhound::testing::source_dir;

fs::path lockhound_bin() { return binary_dir() / "src" / "cli" / "lockhound"; }

int run(const std::string& args) {
  std::string cmd = lockhound_bin().string() + " " + args;
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

fs::path temp(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("lockhound_trace_cli_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d / name;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

class TraceCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(lockhound_bin())) GTEST_SKIP() << "lockhound binary not built";
  }
};

TEST_F(TraceCli, DocumentedExampleRuns) {
  std::string doc = read_file(source_dir() / "docs" / "trace.md");
  std::string start = "cat > abba.txt <<'EOF'\n";
  size_t b = doc.find(start);
  ASSERT_NE(b, std::string::npos) << "docs/trace.md lost its example";
  b += start.size();
  size_t e = doc.find("\nEOF\n", b);
  ASSERT_NE(e, std::string::npos);
  fs::path trace = temp("abba.txt");
  std::ofstream(trace) << doc.substr(b, e - b + 1);
  fs::path out = temp("abba.json");
  EXPECT_EQ(run("trace --format json -o " + out.string() + " " + trace.string()), 1);
  std::string json = read_file(out);
  EXPECT_EQ(count(json, "\"type\": \"circular_dependency\""), 1u) << json;
  EXPECT_EQ(count(json, "\"type\": \"inconsistent_lock_state\""), 1u) << json;
  EXPECT_NE(json.find("\"command\": \"trace\""), std::string::npos);

  // The documented garbled line: exit 3, both findings still reported.
  std::ofstream(trace, std::ios::app)
      << "           m1_ba-45      [001] ...1.    10.0: lock_acquire: nothex m1_lock_a\n";
  EXPECT_EQ(run("trace --format json -o " + out.string() + " " + trace.string() + " 2>/dev/null"), 3);
  json = read_file(out);
  EXPECT_EQ(count(json, "\"type\": \"circular_dependency\""), 1u);
  EXPECT_EQ(count(json, "\"type\": \"inconsistent_lock_state\""), 1u);
  fs::remove_all(trace.parent_path());
}

TEST_F(TraceCli, CapturesExitCodesAndStdin) {
  LOCKHOUND_REQUIRE_SHARED();
  fs::path k = shared_dir() / "testdata" / "kernel";
  fs::path out = temp("r.txt");
  EXPECT_EQ(run("trace -o " + out.string() + " " + (k / "m1_abba" / "trace.txt").string()), 1);
  std::string text = read_file(out);
  EXPECT_NE(text.find("possible circular locking dependency detected"), std::string::npos);
  EXPECT_NE(text.find("m1_lock_a"), std::string::npos);
  EXPECT_EQ(run("trace -o " + out.string() + " - < " + (k / "m8_clean" / "trace.txt").string()), 0);
  EXPECT_EQ(run("trace -o " + out.string() + " " + (k / "m2_irq_inversion" / "trace_module.txt").string()), 1);
  EXPECT_NE(read_file(out).find("m2_lock"), std::string::npos);
  EXPECT_EQ(run("trace -o " + out.string() + " /nonexistent/trace.txt 2>/dev/null"), 3);
  EXPECT_EQ(run("trace --format yaml x 2>/dev/null"), 2);
  fs::remove_all(out.parent_path());
}

}  // namespace
