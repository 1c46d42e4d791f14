#include <gtest/gtest.h>

#include <sstream>

#include "common/testdata.h"
#include "sys/lockdep_dump.h"
#include "sys/sys_report.h"

namespace lockhound::sys {
namespace {

namespace fs = std::filesystem;
using lockhound::testing::read_file;
using lockhound::testing::shared_dir;

std::vector<fs::path> captures(const char* file) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(shared_dir() / "testdata" / "kernel"))
    if (fs::exists(e.path() / file)) out.push_back(e.path() / file);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Lockdep, RealCapturesParseCompletelyAndAreAcyclic) {
  LOCKHOUND_REQUIRE_SHARED();
  auto files = captures("lockdep.txt");
  ASSERT_GE(files.size(), 3u);
  for (const auto& p : files) {
    SCOPED_TRACE(p.string());
    std::string text = read_file(p);
    auto d = parse_lockdep(text, p.string());
    EXPECT_TRUE(d.diagnostics.empty()) << format_diagnostic(d.diagnostics.front());
    size_t class_lines = 0, dep_lines = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.find(" OPS:") != std::string::npos) ++class_lines;
      if (line.rfind(" -> [", 0) == 0) ++dep_lines;
    }
    EXPECT_EQ(d.classes.size(), class_lines);
    EXPECT_EQ(d.edges(), dep_lines);
    // lockdep never stores the edge that closes a cycle.
    EXPECT_TRUE(find_cycles(d).empty());
    EXPECT_EQ(detect_format(text), ProcFormat::lockdep);
    // Forward-dependency counts include the class's direct dependencies.
    for (const auto& c : d.classes) {
      ASSERT_TRUE(c.forward.has_value()) << c.name;
      EXPECT_GE(*c.forward, c.after.size()) << c.name;
      EXPECT_EQ(c.usage.size(), 4u) << c.name;
    }
  }
}

TEST(Lockdep, AbbaCaptureHoldsTheFirstEdgeOnly) {
  LOCKHOUND_REQUIRE_SHARED();
  auto d = parse_lockdep(read_file(shared_dir() / "testdata/kernel/m1_abba/lockdep.txt"));
  const LockdepClass* a = nullptr;
  const LockdepClass* b = nullptr;
  for (const auto& c : d.classes) {
    if (c.name == "m1_lock_a") a = &c;
    if (c.name == "m1_lock_b") b = &c;
  }
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->after.size(), 1u);
  EXPECT_EQ(a->after[0].name, "m1_lock_b");
  EXPECT_EQ(a->after[0].key, "ffffffffa0002070");
  EXPECT_EQ(a->usage, "+.+.");
  EXPECT_EQ(*a->ops, 2u);
  EXPECT_TRUE(b->after.empty());  // the reverse edge closed the cycle: reported, not stored
}

TEST(Lockdep, CyclesInAnEditedDumpAreFound) {
  std::string text =
      "all lock classes:\n"
      "ffffffffa0002110 OPS:       2 FD:    2 BD:    1 +.+.: lock_a\n"
      " -> [ffffffffa0002070] lock_b\n"
      "\n"
      "ffffffffa0002070 OPS:       2 FD:    1 BD:    2 +.+.: lock_b\n"
      " -> [ffffffffa0002110] lock_a\n"
      " -> [ffffffffa0003000] &x->wait#2\n"
      "\n"
      "ffffffffa0003000 FD:    1 BD:    2 -.-.: &x->wait#2\n"
      " -> [ffffffffa0004000] cpu_lock/1\n"
      "\n"
      "ffffffffa0004000: cpu_lock/1\n"
      " -> [ffffffffa0002110] lock_a\n";
  auto d = parse_lockdep(text, "dump");
  ASSERT_TRUE(d.diagnostics.empty()) << format_diagnostic(d.diagnostics.front());
  ASSERT_EQ(d.classes.size(), 4u);
  EXPECT_EQ(d.classes[3].name, "cpu_lock/1");
  EXPECT_FALSE(d.classes[3].forward.has_value());
  auto cycles = find_cycles(d);
  ASSERT_EQ(cycles.size(), 2u);
  // Sorted names: "&x->wait#2" < "cpu_lock/1" < "lock_a" < "lock_b".
  EXPECT_EQ(cycles[0], (std::vector<std::string>{"&x->wait#2", "cpu_lock/1", "lock_a", "lock_b"}));
  EXPECT_EQ(cycles[1], (std::vector<std::string>{"lock_a", "lock_b"}));
  SysReport r;
  analyze_lockdep(d, "import", "dump", r);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[1].type, FindingType::circular_dependency);
  EXPECT_EQ(r.findings[1].classes, (std::vector<std::string>{"lock_a", "lock_b"}));
  ASSERT_EQ(r.findings[1].chain.size(), 2u);
  EXPECT_EQ(r.findings[1].chain[1].from, "lock_b");
  EXPECT_EQ(r.findings[1].chain[1].to, "lock_a");
  EXPECT_EQ(r.findings[1].location, "dump:3");
  EXPECT_EQ(r.findings[1].scenario.rows.size(), 4u);
}

TEST(Lockdep, MalformedLinesAreReportedAndTheRestKept) {
  std::string text =
      "ffffffffa0002110 OPS:       2 FD:    2 BD:    1 +.+.: lock_a\n"
      " -> [ffffffffa0002070] lock_b\n"
      " -> ffffffffa0002070 lock_c\n"
      "zzzz OPS: 1: lock_q\n"
      "ffffffffa0002070 OPS:       x FD:    1 BD:    2 +.+.: lock_r\n"
      "ffffffffa0002070 OPS:       2 FD:    1 BD:    2 +.+.: lock_b\n";
  auto d = parse_lockdep(text, "dump");
  ASSERT_EQ(d.diagnostics.size(), 3u);
  EXPECT_EQ(d.diagnostics[0].line, 3u);
  EXPECT_EQ(d.diagnostics[1].line, 4u);
  EXPECT_EQ(d.diagnostics[2].line, 5u);
  ASSERT_EQ(d.classes.size(), 2u);
  EXPECT_EQ(d.classes[0].after.size(), 1u);
  EXPECT_EQ(d.classes[1].name, "lock_b");
}

TEST(LockdepStats, RealCapturesParse) {
  LOCKHOUND_REQUIRE_SHARED();
  auto files = captures("lockdep_stats.txt");
  ASSERT_GE(files.size(), 3u);
  for (const auto& p : files) {
    SCOPED_TRACE(p.string());
    std::string text = read_file(p);
    auto s = parse_lockdep_stats(text, p.string());
    EXPECT_TRUE(s.diagnostics.empty()) << format_diagnostic(s.diagnostics.front());
    size_t lines = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (line.find(':') != std::string::npos) ++lines;
    EXPECT_EQ(s.stats.size(), lines);
    const auto* classes = s.find("lock-classes");
    ASSERT_TRUE(classes);
    ASSERT_TRUE(classes->max.has_value());
    EXPECT_EQ(*classes->max, 8192u);
    EXPECT_GT(classes->value, 100u);
    EXPECT_TRUE(s.find("debug_locks"));
    EXPECT_EQ(detect_format(text), ProcFormat::lockdep_stats);
    SysReport r;
    analyze_lockdep_stats(s, "import", p.string(), r);
    EXPECT_TRUE(r.findings.empty());  // no table was full on these boots
  }
  auto abba = parse_lockdep_stats(read_file(shared_dir() / "testdata/kernel/m1_abba/lockdep_stats.txt"));
  EXPECT_EQ(abba.find("debug_locks")->value, 0u);
  EXPECT_EQ(abba.find("lock-classes")->value, 399u);
}

TEST(LockdepStats, FullTableIsMaxTooLow) {
  auto s = parse_lockdep_stats(
      " lock-classes:                         8192 [max: 8192]\n"
      " direct dependencies:                  1982 [max: 32768]\n"
      " debug_locks:                             0\n",
      "stats");
  ASSERT_TRUE(s.diagnostics.empty());
  SysReport r;
  analyze_lockdep_stats(s, "import", "stats", r);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, FindingType::max_too_low);
  EXPECT_EQ(r.findings[0].location, "stats:1");
  EXPECT_NE(render_summary_text(r).find("switched off"), std::string::npos);
}

}  // namespace
}  // namespace lockhound::sys
