// Text of root cause and fix, and the renderers on real findings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/sites.h"
#include "report/report.h"
#include "scenario/scenario.h"

namespace lockhound {
namespace {

TEST(Sites, SiteSkipsLockLibraryFrames) {
  Stack s;
  Frame a;
  a.function = "pthread_mutex_lock";
  Frame b;
  b.function = "transfer";
  b.file = "/src/bank.c";
  b.line = 42;
  s = {a, b};
  EXPECT_EQ(site_of(s, ""), "transfer (/src/bank.c:42)");
  Frame c;
  c.pc = 0x4011d6;
  EXPECT_EQ(site_of(Stack{c}, ""), "0x4011d6");
  EXPECT_EQ(site_of(Stack{}, ""), "");
}

TEST(Render, TextAndJsonOfACycle) {
  auto r = check_scenario("mutex a, b\nthread T1 in f1:\n lock a\n lock b\n unlock b\n unlock a\n"
                          "thread T2 in f2:\n lock b\n lock a\n",
                          "x.lh");
  ASSERT_FALSE(r.findings.empty());
  ReportMeta meta;
  meta.command = "check";
  meta.inputs = {"x.lh"};
  std::string text = render_text(r.findings, meta);
  EXPECT_NE(text.find("WARNING: possible circular locking dependency detected"), std::string::npos);
  EXPECT_NE(text.find("*** DEADLOCK ***"), std::string::npos);
  EXPECT_NE(text.find("fix: "), std::string::npos);
  EXPECT_NE(text.find("f2 (x.lh:9)"), std::string::npos) << text;
  auto j = nlohmann::json::parse(render_json(r.findings, meta));
  EXPECT_EQ(j["lockhound_json_version"], 1);
  bool saw_cycle = false;
  for (const auto& f : j["findings"])
    if (f["type"] == "circular_dependency") {
      saw_cycle = true;
      EXPECT_EQ(f["classes"], nlohmann::json::array({"a", "b"}));
      EXPECT_EQ(f["chain"].size(), 2u);
      EXPECT_EQ(f["chain"][1]["to_site"]["stack"][0]["line"], 9);
    }
  EXPECT_TRUE(saw_cycle);
}

TEST(Render, GuardedHiddenUnlessAsked) {
  auto r = check_scenario("mutex g, a, b\nthread T1:\n lock g\n lock a\n lock b\n unlock b\n unlock a\n unlock g\n"
                          "thread T2:\n lock g\n lock b\n lock a\n unlock a\n unlock b\n unlock g\n",
                          "g.lh");
  ASSERT_EQ(r.findings.size(), 1u);
  ReportMeta meta;
  meta.command = "check";
  std::string hidden = render_text(r.findings, meta);
  EXPECT_EQ(hidden.find("NOTE: lock order cycle guarded"), std::string::npos);
  EXPECT_NE(hidden.find("1 cycle guarded by a common lock not shown"), std::string::npos);
  RenderOptions ro;
  ro.show_guarded = true;
  EXPECT_NE(render_text(r.findings, meta, ro).find("NOTE: lock order cycle guarded"), std::string::npos);
}

}  // namespace
}  // namespace lockhound
