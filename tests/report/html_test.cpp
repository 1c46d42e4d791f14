// HTML: one self-contained page. Its content (every finding, both stacks per edge, the scenario,
// root cause and fix), that it references nothing outside itself, hostile text escaped, the edge
// list when Graphviz is absent, and — in a real headless Chromium (tests/report/browser_check.py)
// — that it loads without errors, shows every finding and filters them.
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "core/voice.h"
#include "report/cli_helpers.h"
#include "report/report.h"
#include "scenario/scenario.h"

namespace lockhound {
namespace {
using namespace lockhound::testing;
namespace fs = std::filesystem;

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<Finding> many() {
  return check_scenario(read_file(source_dir() / "tests/report/data/many.lh"), "many.lh").findings;
}

ReportMeta meta_of(const std::string& command) {
  ReportMeta m;
  m.command = command;
  m.inputs = {"many.lh"};
  m.stats = {{"lock classes", 11}};
  return m;
}

TEST(Html, EveryFindingWithItsEvidence) {
  auto findings = many();
  RenderOptions ro;
  ro.svg = false;
  std::string page = render_html(findings, meta_of("check"), ro);
  size_t shown = 0;
  for (const auto& f : findings) {
    if (f.type == FindingType::guarded_cycle) {
      EXPECT_FALSE(has(page, escaped(f.summary))) << "a guarded cycle is shown without --show-guarded";
      continue;
    }
    ++shown;
    EXPECT_TRUE(has(page, "data-type=\"" + std::string(type_name(f.type)) + "\""));
    EXPECT_TRUE(has(page, escaped(f.summary))) << f.summary;
    EXPECT_TRUE(has(page, escaped(f.explanation))) << f.explanation;
    EXPECT_TRUE(has(page, escaped(f.fix))) << f.fix;
    EXPECT_TRUE(has(page, escaped(std::string(type_help(f.type))))) << type_name(f.type);
    for (const auto& row : f.scenario.rows)
      for (const auto& cell : row)
        if (!cell.empty()) {
          EXPECT_TRUE(has(page, "<td>" + escaped(cell) + "</td>")) << cell;
        }
  }
  EXPECT_EQ(shown, 7u);
  for (size_t i = 1; i <= shown; ++i) EXPECT_TRUE(has(page, "id=\"finding-" + std::to_string(i) + "\""));
  // Both stacks of every edge of the cycle: where `from` was taken and where `to` was taken under it.
  for (const char* site : {"read_stats (many.lh:11)", "read_stats (many.lh:12)", "flush_queue (many.lh:16)",
                           "flush_queue (many.lh:17)", "set_config (many.lh:21)", "set_config (many.lh:22)"})
    EXPECT_TRUE(has(page, site)) << site;
  EXPECT_TRUE(has(page, "stats_lock taken while holding cfg_mutex, by configurer"));
  // Filters: a box per type present, an option per class.
  EXPECT_TRUE(has(page, "id=\"type-circular_dependency\""));
  EXPECT_TRUE(has(page, "<option value=\"hw_lock\">hw_lock</option>"));
  // No drawing asked for: the edges as a list, open, and each class stands in for its node.
  EXPECT_FALSE(has(page, "<svg"));
  EXPECT_TRUE(has(page, "<details id=\"edge-list\" open>"));
  std::regex node_link(R"re(href="#lh-node-(\d+)")re");
  for (std::sregex_iterator it(page.begin(), page.end(), node_link), end; it != end; ++it) {
    EXPECT_TRUE(has(page, "<span id=\"lh-node-" + (*it)[1].str() + "\">")) << (*it)[0];
  }
}

TEST(Html, NothingOutsideThePage) {
  LOCKHOUND_REQUIRE_TOOL(have_program("dot"), "Graphviz (dot)");
  std::string page = render_html(many(), meta_of("check"), RenderOptions{});
  ASSERT_TRUE(has(page, "<svg")) << "Graphviz did not draw the graph";
  // Graphviz writes the node's id with its hyphens as character references.
  EXPECT_TRUE(has(page, "id=\"lh-node-0\"") || has(page, "id=\"lh&#45;node&#45;0\""));
  EXPECT_TRUE(has(page, "default-src 'none'"));
  // Only the SVG namespaces' names, never a fetch.
  std::string rest = std::regex_replace(page, std::regex(R"(http://www\.w3\.org/(2000/svg|1999/xlink))"), "");
  for (const char* ref : {"http:", "https:", "//cdn", "<link", "<img", "<iframe", "@import", "url(", "<script src"})
    EXPECT_FALSE(has(rest, ref)) << ref;
}

TEST(Html, HostileTextIsEscaped) {
  Finding f;
  f.type = FindingType::recursive_locking;
  f.classes = {"</script><script>alert(1)</script>"};
  Acquisition a;
  a.lock = f.classes[0];
  a.context = "<b>T1</b>";
  f.acquisitions = {a, a};
  f.raw = "raw </pre><img src=x onerror=alert(2)> \xff";
  complete_finding(f);
  RenderOptions ro;
  ro.svg = false;
  std::string page = render_html({f}, meta_of("explain"), ro);
  EXPECT_FALSE(has(page, "<script>alert"));
  EXPECT_FALSE(has(page, "<img"));
  EXPECT_FALSE(has(page, "<b>T1"));
  EXPECT_TRUE(has(page, "&lt;/script&gt;&lt;script&gt;alert(1)"));
  // The script's data cannot end its script element early.
  EXPECT_TRUE(has(page, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)")) << "class names in the data are not guarded";
  EXPECT_TRUE(has(page, "\xef\xbf\xbd")) << "bytes that are not UTF-8 are not replaced";
}

TEST(Html, WithoutGraphvizTheCommandListsTheEdges) {
  fs::path out = artifacts() / "no-graphviz.html";
  CmdResult r = run_cmd("env PATH=/nonexistent " + lockhound() +
                        " check tests/report/data/many.lh --format html -o " + out.string());
  EXPECT_EQ(r.rc, 1);
  std::string page = read_file(out);
  EXPECT_FALSE(has(page, "<svg"));
  EXPECT_TRUE(has(page, "id=\"graph-fallback\""));
  EXPECT_TRUE(has(page, "<summary>5 edges</summary>"));
}

// The page in a real browser: browser_check.py drives headless Chromium over the DevTools protocol.
// `command` is a shell command with LOCKHOUND where the lockhound command goes.
void check_in_browser(const std::string& name, const std::string& command) {
  std::string py = python_with("json");
  LOCKHOUND_REQUIRE_TOOL(!py.empty(), "python3");
  LOCKHOUND_REQUIRE_TOOL(fs::exists("/usr/bin/chromium") || have_program("chromium"), "Debian's chromium");
  LOCKHOUND_REQUIRE_TOOL(have_program("dot"), "Graphviz (dot)");
  fs::path html = artifacts() / (name + ".html"), json = artifacts() / (name + ".json"),
           png = artifacts() / (name + ".png");
  fs::remove(png);
  std::string cmd = std::regex_replace(command, std::regex("LOCKHOUND"), lockhound());
  CmdResult a = run_cmd(cmd + " --format html -o " + html.string() + " 2>/dev/null");
  CmdResult b = run_cmd(cmd + " --format json -o " + json.string() + " 2>/dev/null");
  ASSERT_EQ(a.rc, b.rc);
  CmdResult r = run_cmd(py + " tests/report/browser_check.py '" + html.string() + "' --expect '" + json.string() +
                        "' --screenshot '" + png.string() + "' --graph 2>&1");
  EXPECT_EQ(r.rc, 0) << r.out;
  ASSERT_TRUE(fs::exists(png)) << "no screenshot";
  std::string shot = read_file(png);
  EXPECT_EQ(shot.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_GT(shot.size(), 20000u);
}

TEST(HtmlInBrowser, AScenarioReport) { check_in_browser("browser-many", "LOCKHOUND check tests/report/data/many.lh"); }

TEST(HtmlInBrowser, KernelReports) {
  LOCKHOUND_REQUIRE_SHARED();
  // Several real splats of different types in one log, read in place.
  std::string log;
  for (const char* s : {"004-circular.txt", "022-recursive.txt", "031-inconsistent.txt", "035-irq-inversion.txt",
                        "052-invalid-wait.txt", "061-hung-task.txt"})
    log += " '" + (shared_dir() / "testdata/splats" / s).string() + "'";
  check_in_browser("browser-splats", "cat" + log + " | LOCKHOUND explain -");
}

}  // namespace
}  // namespace lockhound
