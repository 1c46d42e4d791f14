#include <gtest/gtest.h>

#include <sstream>

#include "common/testdata.h"
#include "sys/lock_stat.h"
#include "sys/sys_report.h"

namespace lockhound::sys {
namespace {

namespace fs = std::filesystem;
using lockhound::testing::read_file;
using lockhound::testing::shared_dir;

// An independent reading of a class line: after its last ':' come exactly twelve numbers.
bool is_class_line(const std::string& line) {
  size_t colon = line.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::istringstream rest(line.substr(colon + 1));
  int numbers = 0;
  for (std::string tok; rest >> tok; ++numbers)
    if (tok.find_first_not_of("0123456789.") != std::string::npos) return false;
  return numbers == 12;
}

std::vector<fs::path> captures(const char* file) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(shared_dir() / "testdata" / "kernel"))
    if (fs::exists(e.path() / file)) out.push_back(e.path() / file);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LockStat, RealCapturesParseCompletely) {
  LOCKHOUND_REQUIRE_SHARED();
  auto files = captures("lock_stat.txt");
  ASSERT_FALSE(files.empty());
  for (const auto& p : files) {
    SCOPED_TRACE(p.string());
    std::string text = read_file(p);
    auto ls = parse_lock_stat(text, p.string());
    EXPECT_TRUE(ls.diagnostics.empty()) << format_diagnostic(ls.diagnostics.front());
    size_t classes = 0, points = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (is_class_line(line)) ++classes;
      if (line.find("[<") != std::string::npos && line.find(">]") != std::string::npos) ++points;
    }
    EXPECT_EQ(ls.classes.size(), classes);
    size_t parsed_points = 0;
    for (const auto& c : ls.classes)
      parsed_points += c.contention_points.size() + c.contending_points.size();
    EXPECT_EQ(parsed_points, points);
    EXPECT_EQ(ls.version, "0.4");
    EXPECT_EQ(detect_format(text), ProcFormat::lock_stat);
    // Every contended class with points has points of its own name.
    for (const auto& c : ls.classes)
      for (const auto& pt : c.contention_points) EXPECT_FALSE(pt.symbol.empty()) << c.name;
  }
}

TEST(LockStat, KnownValuesOfTheAbbaCapture) {
  LOCKHOUND_REQUIRE_SHARED();
  auto ls = parse_lock_stat(read_file(shared_dir() / "testdata/kernel/m1_abba/lock_stat.txt"));
  EXPECT_TRUE(ls.debugging_disabled);  // lockdep turned itself off after its report
  const LockStatClass* slob = nullptr;
  const LockStatClass* a = nullptr;
  int tasklist = 0;
  for (const auto& c : ls.classes) {
    if (c.name == "slob_lock") slob = &c;
    if (c.name == "m1_lock_a") a = &c;
    if (c.name == "tasklist_lock") {
      ++tasklist;
      EXPECT_TRUE(c.rw == 'W' || c.rw == 'R');
    }
  }
  ASSERT_TRUE(slob);
  EXPECT_EQ(slob->con_bounces, 10u);
  EXPECT_EQ(slob->contentions, 877u);
  EXPECT_DOUBLE_EQ(slob->waittime_min, 107.30);
  EXPECT_DOUBLE_EQ(slob->waittime_total, 3524481.01);
  EXPECT_EQ(slob->acquisitions, 62857u);
  EXPECT_DOUBLE_EQ(slob->holdtime_avg, 3.10);
  ASSERT_EQ(slob->contention_points.size(), 3u);
  EXPECT_EQ(slob->contention_points[0].count, 620u);
  EXPECT_EQ(slob->contention_points[0].ip, "ffffffff81130f19");
  EXPECT_EQ(slob->contention_points[0].symbol, "slob_alloc.isra.0+0x5c/0x1d2");
  ASSERT_EQ(slob->contending_points.size(), 3u);
  EXPECT_EQ(slob->contending_points[0].count, 97u);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->contentions, 0u);
  EXPECT_EQ(a->acquisitions, 1u);
  EXPECT_EQ(tasklist, 2);
}

TEST(LockStat, TopContendedIsSortedByContentions) {
  LOCKHOUND_REQUIRE_SHARED();
  for (const auto& p : captures("lock_stat.txt")) {
    auto ls = parse_lock_stat(read_file(p));
    auto top = top_contended(ls, 5);
    ASSERT_FALSE(top.empty());
    uint64_t max = 0;
    for (const auto& c : ls.classes) max = std::max(max, c.contentions);
    EXPECT_EQ(top[0]->contentions, max);
    for (size_t k = 1; k < top.size(); ++k)
      EXPECT_GE(top[k - 1]->contentions, top[k]->contentions);
  }
}

TEST(LockStat, MalformedClassLineIsReportedAndTheRestKept) {
  std::string text =
      "lock_stat version 0.4\n"
      "                 first_lock:  1 2 0.10 0.20 0.30 0.15 3 4 0.01 0.02 0.03 0.01\n"
      "                 bad_lock:  1 2 0.10 0.20 x.30 0.15 3 4 0.01 0.02 0.03 0.01\n"
      "this line means nothing\n"
      "                 third_lock:  5 6 0.10 0.20 0.30 0.15 3 4 0.01 0.02 0.03 0.01\n";
  auto ls = parse_lock_stat(text, "ls.txt");
  ASSERT_EQ(ls.diagnostics.size(), 2u);
  EXPECT_EQ(ls.diagnostics[0].line, 3u);
  EXPECT_NE(ls.diagnostics[0].message.find("bad_lock"), std::string::npos);
  EXPECT_EQ(ls.diagnostics[1].line, 4u);
  ASSERT_EQ(ls.classes.size(), 2u);
  EXPECT_EQ(ls.classes[0].name, "first_lock");
  EXPECT_EQ(ls.classes[1].name, "third_lock");
  EXPECT_EQ(ls.classes[1].contentions, 6u);
}

TEST(LockStat, SummaryShowsTopClassesInTextAndJson) {
  LOCKHOUND_REQUIRE_SHARED();
  auto ls = parse_lock_stat(read_file(shared_dir() / "testdata/kernel/m1_abba/lock_stat.txt"));
  SysReport r;
  analyze_lock_stat(ls, 3, r);
  ASSERT_EQ(r.top_contended.size(), 3u);
  EXPECT_EQ(r.top_contended[0].name, "slob_lock");  // 877 contentions, the most in this capture
  std::string text = render_summary_text(r);
  EXPECT_NE(text.find("slob_lock"), std::string::npos);
  EXPECT_NE(text.find("877 contentions"), std::string::npos) << text;
  auto j = summary_json(r);
  EXPECT_EQ(j["lock_stat"]["top_contended"][0]["class"], "slob_lock");
  EXPECT_EQ(j["lock_stat"]["top_contended"][0]["contentions"], 877);
  EXPECT_TRUE(r.findings.empty());  // contention is information, not a problem
}

}  // namespace
}  // namespace lockhound::sys
