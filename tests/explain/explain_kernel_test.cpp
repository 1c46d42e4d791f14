// The real lockdep captures (../shared/testdata/kernel/*): explain on the whole serial console
// and on the cut-out splat gives lockdep's own verdict as EXPECTED.md states it.
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "explain/explain.h"

namespace lockhound::explain {
namespace {

struct Verdict {
  std::string type;              // "" = no lockdep report
  std::set<std::string> classes;
};

// Reads the "## Expected" section of EXPECTED.md: the headline and "lock classes involved".
Verdict expected_verdict(const std::string& md) {
  static const std::map<std::string, std::string> kHeadlines = {
      {"possible circular locking dependency detected", "circular_dependency"},
      {"inconsistent lock state", "inconsistent_lock_state"},
      {"possible recursive locking detected", "recursive_locking"},
      {"possible irq lock inversion dependency detected", "irq_lock_inversion"},
      {"bad unlock balance detected!", "bad_unlock_balance"},
  };
  Verdict v;
  std::istringstream in(md);
  std::string line;
  bool in_expected = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      in_expected = line.find("Expected") != std::string::npos;
      continue;
    }
    if (!in_expected) continue;
    for (const auto& [h, t] : kHeadlines)
      if (line.find("`WARNING: " + h + "`") != std::string::npos) v.type = t;
    if (line.find("lock classes involved:") != std::string::npos) {
      size_t b = 0;
      while ((b = line.find('`', b)) != std::string::npos) {
        size_t e = line.find('`', b + 1);
        if (e == std::string::npos) break;
        v.classes.insert(line.substr(b + 1, e - b - 1));
        b = e + 1;
      }
    }
  }
  return v;
}

class KernelCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(KernelCapture, ExplainGivesLockdepsVerdict) {
  LOCKHOUND_REQUIRE_SHARED();
  auto dir = testing::shared_dir() / "testdata/kernel" / GetParam();
  Verdict want = expected_verdict(testing::read_file(dir / "EXPECTED.md"));
  for (const char* name : {"console.log", "splat.txt"}) {
    std::string text = testing::read_file(dir / name);
    auto r = explain_log(text, (dir / name).string());
    for (const auto& d : r.diagnostics) ADD_FAILURE() << format_diagnostic(d);
    if (want.type.empty()) {
      EXPECT_TRUE(r.findings.empty()) << GetParam() << "/" << name << ": " << r.findings.size() << " findings, first "
                                      << (r.findings.empty() ? "" : r.findings[0].summary);
      continue;
    }
    ASSERT_EQ(r.findings.size(), 1u) << GetParam() << "/" << name;
    EXPECT_EQ(type_name(r.findings[0].type), want.type);
    std::set<std::string> got(r.findings[0].classes.begin(), r.findings[0].classes.end());
    EXPECT_EQ(got, want.classes);
  }
}

INSTANTIATE_TEST_SUITE_P(Captures, KernelCapture, ::testing::Values("m1_abba", "m2_irq_inversion", "m8_clean"));

TEST(KernelCaptureVerdict, ExpectedFilesSayWhatTheySay) {
  LOCKHOUND_REQUIRE_SHARED();
  auto v = expected_verdict(testing::read_file(testing::shared_dir() / "testdata/kernel/m1_abba/EXPECTED.md"));
  EXPECT_EQ(v.type, "circular_dependency");
  EXPECT_EQ(v.classes, (std::set<std::string>{"m1_lock_a", "m1_lock_b"}));
}

// The seeds' scenario: the fix names the plain spin_lock() in process context and its site.
TEST(KernelCaptureAdvice, IrqInversionFixNamesTheSite) {
  LOCKHOUND_REQUIRE_SHARED();
  auto text = testing::read_file(testing::shared_dir() / "testdata/kernel/m2_irq_inversion/console.log");
  auto r = explain_log(text, "console.log");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].fix.find("spin_lock() of m2_lock in process context (m2_init+0x69"), std::string::npos)
      << r.findings[0].fix;
  EXPECT_NE(r.findings[0].fix.find("spin_lock_irqsave()"), std::string::npos);
  EXPECT_NE(r.findings[0].explanation.find("m2_timer_fn"), std::string::npos) << r.findings[0].explanation;
  EXPECT_EQ(r.findings[0].location, "console.log:246");
}

TEST(KernelCaptureAdvice, AbbaFixReordersInTheReportingFunction) {
  LOCKHOUND_REQUIRE_SHARED();
  auto text = testing::read_file(testing::shared_dir() / "testdata/kernel/m1_abba/console.log");
  auto r = explain_log(text, "console.log");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].fix.find("Take m1_lock_a before m1_lock_b at m1_take_ba+0x1c"), std::string::npos)
      << r.findings[0].fix;
  EXPECT_NE(r.findings[0].explanation.find("m1_take_ab+0x1c"), std::string::npos) << r.findings[0].explanation;
}

}  // namespace
}  // namespace lockhound::explain
