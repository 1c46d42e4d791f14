// The scenario language's front end (src/scenario): what it reports about a bad file (the file,
// the line, what was expected) and that it keeps going past a bad line.
#include <gtest/gtest.h>

#include "scenario/scenario.h"

namespace lockhound {
namespace {

TEST(ScenarioErrors, NameLineAndExpectation) {
  ScenarioResult r = check_scenario("mutex a\nthread T:\n  lock a\n  frobnicate a\n  lock zz\n  lock a\n", "bad.lh");
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0].line, 4u);
  EXPECT_NE(r.diagnostics[0].message.find("unknown statement 'frobnicate'"), std::string::npos);
  EXPECT_EQ(r.diagnostics[1].line, 5u);
  EXPECT_NE(r.diagnostics[1].message.find("unknown lock 'zz'"), std::string::npos);
  // Lines around the bad ones still ran: a was taken twice.
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, FindingType::recursive_locking);
}

TEST(ScenarioErrors, StatementOutsideContext) {
  ScenarioResult r = check_scenario("mutex a\nlock a\n", "bad.lh");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("outside a context"), std::string::npos);
}

TEST(ScenarioErrors, LockUsedAfterDestroyWithoutInit) {
  ScenarioResult r = check_scenario("mutex a\nthread T:\n  lock a\n  unlock a\n  destroy a\n  lock a\n  init a\n  lock a\n",
                                    "bad.lh");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 6u);
  EXPECT_NE(r.diagnostics[0].message.find("destroyed at line 5"), std::string::npos) << r.diagnostics[0].message;
  EXPECT_NE(r.diagnostics[0].message.find("'init a'"), std::string::npos);
}

TEST(Scenario, FindingsSayWhereAndFramesCarryNoFakeAddress) {
  ScenarioResult r = check_scenario("mutex a, b\nthread T1 in f1:\n lock a\n lock b\n unlock b\n unlock a\n"
                                    "thread T2 in f2:\n lock b\n lock a\n",
                                    "x.lh");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].location, "x.lh:9");  // the acquisition that closed the cycle
  for (const auto& e : r.findings[0].chain)
    for (const auto& fr : e.to_site.stack) {
      EXPECT_EQ(fr.pc, 0u);
      EXPECT_GT(fr.line, 0u);
    }
}

}  // namespace
}  // namespace lockhound
