// DOT: the lock-order graph of a report. The findings' neighbourhood with its marks (cycles red,
// irq-unsafe dependencies orange, guarded cycles grey, labels the first site), the engine's whole
// graph (Validator::dependency_edges, `--graph all`), and Graphviz accepting every graph lockhound
// writes, hostile names included.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/validator.h"
#include "core/voice.h"
#include "report/cli_helpers.h"
#include "report/report.h"
#include "scenario/scenario.h"

namespace lockhound {
namespace {
using namespace lockhound::testing;
namespace fs = std::filesystem;

// A DOT file as lockhound writes it: node label -> id, and each edge's attribute text.
struct Dot {
  std::map<std::string, std::string> node_id;  // first line of the label -> "nK"
  std::map<std::string, std::string> node_attrs;
  std::map<std::pair<std::string, std::string>, std::string> edges;  // (from label, to label) -> attrs

  explicit Dot(const std::string& text) {
    std::regex node(R"re(^  (n\d+) \[label="([^"\\]*)(.*)\];$)re"), edge(R"re(^  (n\d+) -> (n\d+) \[(.*)\];$)re");
    std::map<std::string, std::string> label_of;
    std::istringstream in(text);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_match(line, m, node)) {
        node_id[m[2]] = m[1];
        node_attrs[m[2]] = m[3];
        label_of[m[1]] = m[2];
      } else if (std::regex_match(line, m, edge)) {
        edges[{label_of[m[1]], label_of[m[2]]}] = m[3];
      }
    }
  }
  std::string edge(const std::string& a, const std::string& b) const {
    auto it = edges.find({a, b});
    return it == edges.end() ? "" : it->second;
  }
};

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The findings of tests/report/data/many.lh (its guarded cycle included: renderers hide it
// unless asked).
std::vector<Finding> many() {
  return check_scenario(read_file(source_dir() / "tests/report/data/many.lh"), "many.lh").findings;
}

TEST(Graph, TheFindingsNeighbourhoodWithItsMarks) {
  ReportMeta meta;
  meta.command = "check";
  Dot d(render_dot(many(), meta));
  // The cycle: red, each edge labelled with the site that made it.
  std::string e1 = d.edge("stats_lock", "queue_lock"), e2 = d.edge("queue_lock", "cfg_mutex"),
              e3 = d.edge("cfg_mutex", "stats_lock");
  for (const auto& e : {e1, e2, e3}) EXPECT_TRUE(has(e, "color=\"#c62828\"")) << e;
  EXPECT_TRUE(has(e1, "label=\"read_stats (many.lh:12)\"")) << e1;
  EXPECT_TRUE(has(e2, "label=\"flush_queue (many.lh:17)\"")) << e2;
  EXPECT_TRUE(has(e3, "label=\"set_config (many.lh:22)\"")) << e3;
  // The irq-safe -> irq-unsafe dependency: orange, dashed, said so; its ends named.
  std::string irq = d.edge("irq_lock", "dma_lock");
  EXPECT_TRUE(has(irq, "color=\"#ef6c00\"") && has(irq, "style=dashed") && has(irq, "irq-unsafe")) << irq;
  EXPECT_TRUE(has(d.node_attrs["irq_lock"], "hardirq-safe"));
  EXPECT_TRUE(has(d.node_attrs["dma_lock"], "hardirq-unsafe"));
  EXPECT_TRUE(has(d.node_attrs["hw_lock"], "inconsistent irq usage"));
  // A lock taken under itself: a red loop at the second acquisition.
  std::string self = d.edge("dev_mutex", "dev_mutex");
  EXPECT_TRUE(has(self, "color=\"#c62828\"") && has(self, "dev_open (many.lh:49)")) << self;
  // Classes of findings without edges are nodes too; the guarded cycle is hidden unless asked for.
  EXPECT_TRUE(d.node_id.count("wr_mutex") && d.node_id.count("cfg_spin"));
  EXPECT_FALSE(d.node_id.count("a_lock"));
  EXPECT_EQ(d.edges.size(), 5u);
  RenderOptions ro;
  ro.show_guarded = true;
  Dot g(render_dot(many(), meta, ro));
  std::string ab = g.edge("a_lock", "b_lock");
  EXPECT_TRUE(has(ab, "style=dashed") && has(ab, "#9e9e9e")) << ab;
  EXPECT_TRUE(has(ab, "under big_lock")) << ab;
}

TEST(Graph, TheWholeGraphIsEveryEdgeTheEngineSaw) {
  Validator v;
  ClassId a = v.lock_class("a", LockKind::mutex), b = v.lock_class("b", LockKind::mutex),
          c = v.lock_class("c", LockKind::mutex);
  v.lock_init(1, a);
  v.lock_init(2, b);
  v.lock_init(3, c);
  Context t = v.context(1, "T1");
  v.acquire(t, 1, {}, Site{0x10});
  v.acquire(t, 2, {}, Site{0x20});
  v.acquire(t, 3, {}, Site{0x30});
  v.release(t, 3, Site{});
  v.release(t, 2, Site{});
  v.release(t, 1, Site{});
  v.acquire(t, 1, {}, Site{0x40});  // a -> c: a new edge (only the lock held last leads to the new one)
  v.acquire(t, 3, {}, Site{0x50});
  v.release(t, 3, Site{});
  v.release(t, 1, Site{});
  v.acquire(t, 1, {}, Site{0x60});  // a -> b again: not a new edge
  v.acquire(t, 2, {}, Site{0x70});
  std::vector<Edge> edges = v.dependency_edges();
  ASSERT_EQ(edges.size(), v.stats().edges);
  ASSERT_EQ(edges.size(), 3u);
  EXPECT_EQ(edges[0].from + ">" + edges[0].to, "a>b");
  EXPECT_EQ(edges[1].from + ">" + edges[1].to, "b>c");
  EXPECT_EQ(edges[2].from + ">" + edges[2].to, "a>c");
  // Each edge keeps its first occurrence: a -> b was made at 0x20, not 0x70.
  ASSERT_FALSE(edges[0].to_site.stack.empty());
  EXPECT_EQ(edges[0].to_site.stack.front().pc, 0x20u);
  EXPECT_EQ(edges[2].to_site.stack.front().pc, 0x50u);
  EXPECT_EQ(edges[0].to_site.context, "T1");
  EXPECT_TRUE(v.findings().empty());

  ReportMeta meta;
  meta.graph = edges;
  meta.whole_graph = true;
  Dot d(render_dot({}, meta));
  EXPECT_EQ(d.edges.size(), 3u);
  EXPECT_EQ(d.node_id.size(), 3u);
}

TEST(Graph, TraceDrawsTheWholeGraphWhenAsked) {
  LOCKHOUND_REQUIRE_SHARED();
  std::string trace = (shared_dir() / "testdata/kernel/m1_abba/trace.txt").string();
  CmdResult whole = run_cmd(lockhound() + " trace " + trace + " --format dot --graph all 2>/dev/null");
  CmdResult near = run_cmd(lockhound() + " trace " + trace + " --format dot 2>/dev/null");
  CmdResult stats = run_cmd(lockhound() + " trace " + trace + " --format json 2>/dev/null");
  ASSERT_EQ(whole.rc, 1);
  auto j = nlohmann::json::parse(stats.out);
  Dot w(whole.out), n(near.out);
  EXPECT_EQ(w.edges.size(), j["stats"]["dependencies"].get<size_t>());
  EXPECT_GT(w.edges.size(), n.edges.size());
  EXPECT_GE(n.edges.size(), 2u);
  // The findings' edges keep their marks in the whole graph.
  size_t red = 0;
  for (const auto& [k, attrs] : w.edges) red += has(attrs, "#c62828");
  EXPECT_GE(red, 2u);
  // A command without the whole graph says so and draws the findings.
  CmdResult check = run_cmd(lockhound() + " check tests/report/data/many.lh --format dot --graph all 2>&1 >/dev/null");
  EXPECT_TRUE(has(check.out, "--graph all")) << check.out;
}

// Graphviz accepts every graph lockhound writes.
TEST(Graph, GraphvizAcceptsEveryGraph) {
  LOCKHOUND_REQUIRE_TOOL(have_program("dot"), "Graphviz (dot)");
  fs::path dir = artifacts() / "dot";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<fs::path> files;
  auto produce = [&](const std::string& name, const std::string& args) {
    fs::path out = dir / (name + ".dot");
    run_cmd(lockhound() + " " + args + " --format dot -o " + out.string() + " 2>/dev/null");
    files.push_back(out);
  };
  produce("check-many", "check --show-guarded tests/report/data/many.lh");
  produce("check-seeds", "check examples/seeds/*.lh");
  produce("check-clean", "check examples/seeds/abba_fixed.lh");
  produce("scan-seeds", "scan --no-cache examples/scan/*.c");
  if (have_shared()) {
    produce("trace-whole", "trace --graph all " + (shared_dir() / "testdata/kernel/m2_irq_inversion/trace.txt").string());
    for (const auto& e : fs::directory_iterator(shared_dir() / "testdata/splats"))
      if (e.path().extension() == ".txt") produce("explain-" + e.path().stem().string(), "explain '" + e.path().string() + "'");
  }
  // Names no one would choose: quotes, backslashes and Graphviz's own escapes, newlines, braces,
  // bytes that are not UTF-8.
  Finding f;
  f.type = FindingType::circular_dependency;
  std::string odd = "a\"b\\N\\l{c|d}<e>\nf\xff\xfe";
  Edge e1, e2;
  e1.from = odd;
  e1.to = "plain";
  e2.from = "plain";
  e2.to = odd;
  Frame fr;
  fr.function = "fn\"\\x";
  fr.file = "we ird\\.c";
  fr.line = 3;
  e1.to_site.stack = {fr};
  f.chain = {e1, e2};
  f.classes = {odd, "plain"};
  complete_finding(f);
  fs::path hostile = dir / "hostile.dot";
  std::ofstream(hostile) << render_dot({f}, ReportMeta{});
  files.push_back(hostile);

  for (const auto& file : files) {
    ASSERT_TRUE(fs::exists(file)) << file;
    CmdResult r = run_cmd("dot -Tsvg '" + file.string() + "' 2>&1");
    EXPECT_EQ(r.rc, 0) << file << ": " << r.out.substr(0, 500);
    EXPECT_TRUE(has(r.out, "<svg")) << file;
  }
  CmdResult r = run_cmd("dot -Tsvg '" + hostile.string() + "'");
  EXPECT_TRUE(has(r.out, "a&quot;b\\N\\l{c|d}&lt;e&gt;")) << r.out.substr(0, 2000);
  EXPECT_GE(files.size(), 5u);
}

}  // namespace
}  // namespace lockhound
