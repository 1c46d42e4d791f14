// SARIF 2.1.0: the shape of a report (rules, locations, code flows, fingerprints) on a scenario
// with many kinds of finding, paths relative to a source root, and every front end's output
// validated against the official schema (../shared/testdata/sarif, python3-jsonschema).
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/voice.h"
#include "report/cli_helpers.h"
#include "report/report.h"
#include "scenario/scenario.h"

namespace lockhound {
namespace {
using json = nlohmann::json;
using namespace lockhound::testing;
namespace fs = std::filesystem;

const char* kMany = "tests/report/data/many.lh";

std::vector<Finding> many_findings() {
  std::string text = read_file(source_dir() / kMany);
  return check_scenario(text, kMany).findings;
}

const json* result_of(const json& sarif, const std::string& rule) {
  for (const auto& r : sarif["runs"][0]["results"])
    if (r["ruleId"] == rule) return &r;
  return nullptr;
}

int line_of(const json& loc) { return loc["physicalLocation"]["region"]["startLine"].get<int>(); }

TEST(Sarif, Sha256IsTheStandardOne) {
  // FIPS 180-4's examples: anyone can recompute a fingerprint with sha256sum.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sarif, OneRulePerTypeAndOneResultPerFinding) {
  auto findings = many_findings();
  ReportMeta meta;
  meta.command = "check";
  meta.inputs = {kMany};
  RenderOptions ro;
  ro.show_guarded = true;
  json s = json::parse(render_sarif(findings, meta, ro));
  EXPECT_EQ(s["version"], "2.1.0");
  ASSERT_EQ(s["runs"].size(), 1u);
  const json& run = s["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "lockhound");
  EXPECT_EQ(run["tool"]["driver"]["version"], std::string(lockhound_version()));
  const json& rules = run["tool"]["driver"]["rules"];
  ASSERT_EQ(rules.size(), size_t(FindingType::blocking_call_under_lock) + 1);
  for (size_t i = 0; i < rules.size(); ++i) {
    auto t = FindingType(i);
    EXPECT_EQ(rules[i]["id"], std::string(type_name(t)));
    EXPECT_EQ(rules[i]["shortDescription"]["text"], std::string(type_title(t)));
    EXPECT_EQ(rules[i]["help"]["text"], std::string(type_help(t)));
    EXPECT_GT(type_help(t).size(), 60u) << type_name(t) << " has no help text";
  }
  ASSERT_EQ(run["results"].size(), findings.size());
  std::set<std::string> types;
  for (size_t i = 0; i < findings.size(); ++i) {
    const json& r = run["results"][i];
    const Finding& f = findings[i];
    types.insert(r["ruleId"].get<std::string>());
    EXPECT_EQ(rules[r["ruleIndex"].get<size_t>()]["id"], r["ruleId"]);
    EXPECT_EQ(r["ruleId"], std::string(type_name(f.type)));
    // The finding's severity (deadlock, hazard, note) as SARIF's level.
    std::string_view sev = finding_severity(f);
    EXPECT_EQ(r["level"], sev == "deadlock" ? "error" : sev == "hazard" ? "warning" : "note");
    std::string msg = r["message"]["text"];
    EXPECT_NE(msg.find(f.summary), std::string::npos);
    EXPECT_NE(msg.find(f.explanation), std::string::npos);
    EXPECT_EQ(r["partialFingerprints"]["lockhound/v1"], sha256_hex(f.signature));
    EXPECT_EQ(r["properties"]["count"], f.count);
    EXPECT_EQ(r["properties"]["classes"], json(f.classes));
    EXPECT_EQ(r["properties"]["signature"], f.signature);
    ASSERT_TRUE(r.contains("locations")) << f.signature;
    EXPECT_EQ(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], kMany);
  }
  EXPECT_GE(types.size(), 7u);
  EXPECT_EQ((*result_of(s, "guarded_cycle"))["level"], "note");
}

TEST(Sarif, TheCycleIsLocatedWhereItClosesWithACodeFlowPerEdge) {
  json s = json::parse(render_sarif(many_findings(), ReportMeta{}, RenderOptions{}));
  const json* r = result_of(s, "circular_dependency");
  ASSERT_NE(r, nullptr);
  // set_config takes stats_lock under cfg_mutex at line 22: the acquisition that closes the cycle.
  EXPECT_EQ(line_of((*r)["locations"][0]), 22);
  EXPECT_EQ((*r)["locations"][0]["logicalLocations"][0]["name"], "set_config");
  std::set<int> related;
  for (const auto& l : (*r)["relatedLocations"]) related.insert(line_of(l));
  EXPECT_EQ(related, (std::set<int>{11, 12, 16, 17, 21}));
  // One flow per edge: where `from` was taken, then where `to` was taken under it.
  const json& flows = (*r)["codeFlows"];
  ASSERT_EQ(flows.size(), 3u);
  std::vector<std::pair<int, int>> steps;
  for (const auto& fl : flows) {
    const json& locs = fl["threadFlows"][0]["locations"];
    ASSERT_EQ(locs.size(), 2u);
    steps.emplace_back(line_of(locs[0]["location"]), line_of(locs[1]["location"]));
  }
  EXPECT_EQ(steps, (std::vector<std::pair<int, int>>{{11, 12}, {16, 17}, {21, 22}}));
  EXPECT_EQ(flows[0]["threadFlows"][0]["message"]["text"], "reader");
  // The sleep under a spinlock is located at the call that may sleep, not at the lock.
  const json* sleep = result_of(s, "sleeping_in_invalid_context");
  ASSERT_NE(sleep, nullptr);
  EXPECT_EQ(line_of((*sleep)["locations"][0]), 57);
}

TEST(Sarif, PathsUnderTheSourceRootAreRelativeToIt) {
  Finding f;
  f.type = FindingType::missing_unlock;
  f.classes = {"l"};
  Acquisition a;
  a.lock = "l";
  Frame in, out, spaced;
  in.function = "f";
  in.file = (source_dir() / "examples/scan/seed_abba.c").string();
  in.line = 7;
  in.column = 3;
  a.stack = {in};
  f.acquisitions = {a};
  Participant p;
  p.name = "t";
  spaced.function = "g";
  spaced.file = "/opt/other tree/x#1.c";
  spaced.line = 3;
  p.stack = {spaced};
  f.participants = {p};
  f.signature = "missing_unlock|l|f";
  RenderOptions ro;
  ro.source_root = source_dir().string() + "/./";
  json s = json::parse(render_sarif({f}, ReportMeta{}, ro));
  const json& run = s["runs"][0];
  EXPECT_EQ(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file://" + fs::weakly_canonical(source_dir()).string() + "/");
  const json& loc = run["results"][0]["locations"][0]["physicalLocation"];
  EXPECT_EQ(loc["artifactLocation"]["uri"], "examples/scan/seed_abba.c");
  EXPECT_EQ(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
  EXPECT_EQ(loc["region"]["startLine"], 7);
  EXPECT_EQ(loc["region"]["startColumn"], 3);  // a frame's column when the debug information has it
  EXPECT_FALSE(run["results"][0]["relatedLocations"][0]["physicalLocation"]["region"].contains("startColumn"));
  // Outside the root: an absolute file URI, percent-encoded.
  const json& other = run["results"][0]["relatedLocations"][0]["physicalLocation"]["artifactLocation"];
  EXPECT_EQ(other["uri"], "file:///opt/other%20tree/x%231.c");
  EXPECT_FALSE(other.contains("uriBaseId"));
  // No root: paths as the evidence has them.
  json plain = json::parse(render_sarif({f}, ReportMeta{}, RenderOptions{}));
  EXPECT_EQ(plain["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file://" + in.file);
  EXPECT_FALSE(plain["runs"][0].contains("originalUriBaseIds"));
}

// Every front end's SARIF, from real inputs, against the official schema.
TEST(Sarif, EveryFrontEndsOutputIsValidAgainstTheOfficialSchema) {
  LOCKHOUND_REQUIRE_SHARED();
  std::string py = python_with("jsonschema");
  LOCKHOUND_REQUIRE_TOOL(!py.empty(), "python3-jsonschema");
  fs::path dir = artifacts() / "sarif";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::string> files;
  auto produce = [&](const std::string& name, const std::string& args, int want_rc) {
    std::string out = (dir / (name + ".sarif")).string();
    CmdResult r = run_cmd(lockhound() + " " + args + " --format sarif --source-root . -o " + out + " 2>/dev/null");
    EXPECT_EQ(r.rc, want_rc) << args;
    files.push_back(out);
  };
  produce("check-many", std::string("check --show-guarded ") + kMany, 1);
  produce("check-seeds", "check examples/seeds/*.lh", 1);
  produce("scan-seeds", "scan --no-cache examples/scan/*.c", 1);
  produce("trace-m1", "trace " + (shared_dir() / "testdata/kernel/m1_abba/trace.txt").string(), 1);
  for (const auto& e : fs::directory_iterator(shared_dir() / "testdata/splats")) {
    if (e.path().extension() != ".txt") continue;
    std::string out = (dir / ("explain-" + e.path().stem().string() + ".sarif")).string();
    CmdResult r = run_cmd(lockhound() + " explain '" + e.path().string() + "' --format sarif -o " + out + " 2>/dev/null");
    EXPECT_TRUE(r.rc == 1 || r.rc == 3) << e.path() << " rc " << r.rc;
    files.push_back(out);
  }
  // The runtime's own report at exit (one file per process: PREFIX.PID).
  size_t runtime_files = 0;
  if (!kSanitized) {
    fs::path prefix = dir / "run-abba";
    run_cmd(lockhound() + " run --format sarif --source-root . -o " + prefix.string() + " -- " +
            (binary_dir() / "examples/abba_pthread_bug").string() + " >/dev/null 2>&1");
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind("run-abba.", 0) == 0) {
        files.push_back(e.path().string());
        ++runtime_files;
      }
    EXPECT_EQ(runtime_files, 1u);
  }

  std::string cmd = py + " tests/report/validate_sarif.py '" +
                    (shared_dir() / "testdata/sarif/sarif-schema-2.1.0.json").string() + "'";
  for (const auto& f : files) cmd += " '" + f + "'";
  CmdResult v = run_cmd(cmd + " 2>&1");
  EXPECT_EQ(v.rc, 0) << v.out;

  // Many kinds of finding were validated, each located.
  std::set<std::string> rules;
  size_t results = 0;
  for (const auto& f : files) {
    json s = json::parse(read_file(f));
    for (const auto& r : s["runs"][0]["results"]) {
      rules.insert(r["ruleId"].get<std::string>());
      ++results;
      EXPECT_TRUE(r.contains("locations") || r.contains("relatedLocations")) << f << ": " << r["ruleId"];
    }
  }
  EXPECT_GE(rules.size(), 18u);
  EXPECT_GE(results, 50u);
  // The scan's and the runtime's locations are relative to the source root.
  json scan = json::parse(read_file(files[2]));
  EXPECT_EQ(scan["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"], "SRCROOT");
  if (runtime_files == 0) return;
  json rt = json::parse(read_file(files.back()));
  ASSERT_FALSE(rt["runs"][0]["results"].empty());
  EXPECT_EQ(rt["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "examples/programs/abba_pthread.c");
}

// The validation can fail: a report with a level SARIF does not have and a result without its
// message is rejected.
TEST(Sarif, TheSchemaCheckRejectsABrokenReport) {
  LOCKHOUND_REQUIRE_SHARED();
  std::string py = python_with("jsonschema");
  LOCKHOUND_REQUIRE_TOOL(!py.empty(), "python3-jsonschema");
  json s = json::parse(render_sarif(many_findings(), ReportMeta{}, RenderOptions{}));
  s["runs"][0]["results"][0]["level"] = "fatal";
  s["runs"][0]["results"][1].erase("message");
  fs::path bad = artifacts() / "broken.sarif";
  std::ofstream(bad) << s.dump(2);
  CmdResult v = run_cmd(py + " tests/report/validate_sarif.py '" +
                        (shared_dir() / "testdata/sarif/sarif-schema-2.1.0.json").string() + "' '" + bad.string() +
                        "' 2>&1");
  EXPECT_EQ(v.rc, 1) << v.out;
  EXPECT_NE(v.out.find("fatal"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("'message' is a required property"), std::string::npos) << v.out;
}

}  // namespace
}  // namespace lockhound
