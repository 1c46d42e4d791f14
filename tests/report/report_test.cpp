// The renderers on findings of every type: text (lockdep style) and JSON (docs/json-format.md),
// edge cases included (no chain, no stacks, huge cycles, sections of a front end).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/facts.h"
#include "core/voice.h"
#include "report/report.h"
#include "scenario/scenario.h"

namespace lockhound {
namespace {

using json = nlohmann::json;

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

TEST(Render, StatisticsOfOneAreSingular) {
  ReportMeta meta;
  meta.command = "check";
  meta.stats = {{"statements", 1}, {"lock classes", 1}, {"dependencies", 1}, {"files parsed", 1},
                {"nested classes taken as annotated", 1}, {"pid", 1}, {"lock classes", 2}, {"dependencies", 0}};
  std::string text = render_text({}, meta);
  EXPECT_NE(text.find("stats: 1 statement, 1 lock class, 1 dependency, 1 file parsed, 1 nested class taken as "
                      "annotated, 1 pid, 2 lock classes, 0 dependencies\n"),
            std::string::npos)
      << text;
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
  EXPECT_NE(hidden.find("1 note (cycles that cannot close as seen) not shown"), std::string::npos);
  RenderOptions ro;
  ro.show_guarded = true;
  EXPECT_NE(render_text(r.findings, meta, ro).find("NOTE: lock order cycle guarded"), std::string::npos);
}


// One finding of each type with only what a front end would minimally know.
std::vector<Finding> one_of_each() {
  std::vector<Finding> out;
  for (int t = 0; t <= int(FindingType::blocking_call_under_lock); ++t) {
    Finding f;
    f.type = FindingType(t);
    f.source = "test";
    f.classes = {"a", "b"};
    Acquisition a;
    a.lock = "a";
    a.context = "T1";
    Frame fr;
    fr.function = "user_fn";
    fr.file = "x.c";
    fr.line = 3;
    a.stack = {fr};
    f.acquisitions = {a, a};
    Participant p;
    p.name = "T1";
    p.pid = 7;
    p.held = {HeldLock{"a", "", "write", "", fr, {}}};
    f.participants = {p};
    complete_finding(f);
    out.push_back(std::move(f));
  }
  return out;
}

TEST(Render, EveryTypeRendersInTextAndJson) {
  auto fs = one_of_each();
  ReportMeta meta;
  meta.command = "test";
  RenderOptions ro;
  ro.show_guarded = true;
  std::string text = render_text(fs, meta, ro);
  json j = json::parse(render_json(fs, meta, ro));
  ASSERT_EQ(j["findings"].size(), fs.size());
  for (size_t i = 0; i < fs.size(); ++i) {
    const json& f = j["findings"][i];
    EXPECT_EQ(f["type"], std::string(type_name(fs[i].type)));
    EXPECT_EQ(f["signature"], fs[i].signature);
    EXPECT_EQ(f["title"], fs[i].title);
    EXPECT_FALSE(f["fix"].get<std::string>().empty());
    EXPECT_NE(text.find(fs[i].title), std::string::npos) << fs[i].title;
    EXPECT_NE(text.find("[" + std::string(type_name(fs[i].type)) + "]"), std::string::npos);
  }
  EXPECT_NE(text.find(std::to_string(fs.size()) + " problems found"), std::string::npos) << text.substr(text.size() - 400);
}

TEST(Render, EmptyChainAndMissingStacks) {
  Finding f;
  f.type = FindingType::circular_dependency;
  f.classes = {"x", "y"};
  Edge e;
  e.from = "x";
  e.to = "y";
  f.chain = {e};  // one edge, no stacks at all
  complete_finding(f);
  std::string text = render_text({f}, ReportMeta{});
  EXPECT_NE(text.find("where it was taken is not recorded"), std::string::npos) << text;
  EXPECT_NE(text.find("stack not recorded"), std::string::npos);
  json j = json::parse(render_json({f}, ReportMeta{}));
  EXPECT_TRUE(j["findings"][0]["chain"][0]["to_site"]["stack"].empty());
  Finding bare;
  bare.type = FindingType::hung_task;
  complete_finding(bare);
  EXPECT_NE(render_text({bare}, ReportMeta{}).find("hung_task"), std::string::npos);
}

TEST(Render, AHugeCycleGrowsLinearly) {
  auto size_for = [](int n) {
    std::string s = "mutex";
    for (int i = 0; i < n; ++i) s += (i ? ", l" : " l") + std::to_string(i);
    s += "\n";
    for (int i = 0; i < n; ++i)
      s += "thread T" + std::to_string(i) + ":\n lock l" + std::to_string(i) + "\n lock l" +
           std::to_string((i + 1) % n) + "\n unlock l" + std::to_string((i + 1) % n) + "\n unlock l" +
           std::to_string(i) + "\n";
    auto r = check_scenario(s, "ring.lh");
    EXPECT_EQ(r.findings.size(), 1u);
    return std::make_pair(render_text(r.findings, ReportMeta{}).size(), render_json(r.findings, ReportMeta{}).size());
  };
  auto [t1, j1] = size_for(500);
  auto [t2, j2] = size_for(2000);
  // Four times the cycle: about four times the output (the square would be sixteen).
  EXPECT_LT(double(t2) / double(t1), 5.0) << t1 << " " << t2;
  EXPECT_LT(double(j2) / double(j1), 5.0) << j1 << " " << j2;
}

TEST(Render, SectionsOfAFrontEndAreData) {
  ReportMeta meta;
  meta.command = "sys";
  meta.sections.push_back(Section{"system", "File locks: 2 held\n", json{{"file_locks", {{"held", 2}}}}});
  std::string text = render_text({}, meta);
  EXPECT_EQ(text.rfind("File locks: 2 held\n", 0), 0u) << text;
  json j = json::parse(render_json({}, meta));
  EXPECT_EQ(j["system"]["file_locks"]["held"], 2);
}

}  // namespace
}  // namespace lockhound
