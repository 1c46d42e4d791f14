// HTML report: one page that needs nothing else (style, script and the graph are inline, and its
// Content-Security-Policy forbids loading anything). Works without the script too: every finding
// is shown, and graph nodes link to the class index, which links to the findings.
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/sites.h"
#include "report/report_internal.h"

namespace lockhound {
namespace report {
extern const std::string_view kHtmlStyle;
extern const std::string_view kHtmlScript;
}  // namespace report

namespace {
using report::html_escape;
using nlohmann::json;

struct Page {
  std::string out;
  std::map<std::string, size_t, std::less<>> node_of;  // class -> graph node index
  void put(std::string_view s) { out += s; }
  void text(std::string_view s) { out += html_escape(s); }
};

// A class name that links to its node in the graph.
void class_link(Page& p, const std::string& name) {
  auto it = p.node_of.find(name);
  if (it == p.node_of.end()) {
    p.put("<code>");
    p.text(name);
    p.put("</code>");
    return;
  }
  p.put(fmt::format("<a class=\"classlink mono\" href=\"#lh-node-{0}\" data-node=\"{0}\">", it->second));
  p.text(name);
  p.put("</a>");
}

void stack_list(Page& p, const Stack& s, const Frame* mark) {
  if (s.empty()) {
    p.put("<p class=\"muted\">no stack recorded</p>");
    return;
  }
  p.put("<ol class=\"stack\" start=\"0\">");
  for (const auto& fr : s) {
    std::string d = describe_frame(fr);
    p.put(&fr == mark ? "<li class=\"user\">" : "<li>");
    p.text(d.empty() ? "?" : d);
    if (fr.inlined) p.put(" <span class=\"muted\">[inlined]</span>");
    p.put("</li>");
  }
  p.put("</ol>");
}

void acquisition_block(Page& p, const std::string& heading, const Acquisition& a) {
  p.put("<div class=\"site\"><h5>");
  p.text(heading);
  p.put("</h5>");
  const Frame* mark = report::acquisition_frame(a);
  if (!report::frame_is_empty(a.site)) {
    p.put("<div class=\"mono\"><span class=\"muted\">lock call:</span> ");
    p.text(describe_frame(a.site));
    p.put("</div>");
  }
  if (!a.stack.empty() || report::frame_is_empty(a.site)) stack_list(p, a.stack, mark);
  if (!a.held.empty()) {
    p.put("<div class=\"muted\">held then: ");
    for (size_t i = 0; i < a.held.size(); ++i) {
      if (i) p.put(", ");
      p.text(a.held[i].name);
    }
    p.put("</div>");
  }
  p.put("</div>");
}

void held_list(Page& p, const std::vector<HeldLock>& held) {
  if (held.empty()) return;
  p.put("<ul class=\"held mono\">");
  for (const auto& h : held) {
    p.put("<li>");
    class_link(p, h.name);
    if (!h.address.empty()) p.text(" " + h.address);
    if (!h.usage.empty()) p.text(" " + h.usage);
    std::string site = describe_frame(h.site);
    if (!site.empty()) p.text(", at: " + site);
    p.put("</li>");
  }
  p.put("</ul>");
}

void scenario_table(Page& p, const Scenario& sc) {
  if (sc.columns.empty() || sc.rows.empty()) return;
  p.put("<h4>Unsafe scenario</h4><table class=\"scenario\"><thead><tr>");
  for (const auto& c : sc.columns) {
    p.put("<th>");
    p.text(c);
    p.put("</th>");
  }
  p.put("</tr></thead><tbody>");
  for (const auto& r : sc.rows) {
    p.put("<tr>");
    for (size_t i = 0; i < sc.columns.size(); ++i) {
      p.put("<td>");
      if (i < r.size()) p.text(r[i]);
      p.put("</td>");
    }
    p.put("</tr>");
  }
  p.put("</tbody></table>");
}

void finding_article(Page& p, const Finding& f, size_t i) {
  std::string sev(report::level_of(f)), type(type_name(f.type)), word(finding_severity(f));
  std::string title = f.title.empty() ? std::string(type_title(f.type)) : f.title;
  p.put(fmt::format("<article class=\"finding sev-{}\" id=\"finding-{}\" data-type=\"{}\" data-severity=\"{}\" "
                    "data-classes=\"",
                    html_escape(sev), i + 1, html_escape(type), html_escape(word)));
  p.text(json(f.classes).dump(-1, ' ', false, json::error_handler_t::replace));
  p.put("\">\n<h3>");
  p.put(fmt::format("<a href=\"#finding-{0}\" class=\"muted\">#{0}</a> <span class=\"badge {1}\">{2}</span> ", i + 1,
                    html_escape(sev), html_escape(word)));
  p.text(title);
  p.put(" <span class=\"type\">");
  p.text(type);
  p.put("</span></h3>\n<p class=\"muted\">");
  std::string meta = f.source.empty() ? "" : "found by " + f.source;
  if (f.count > 1) meta += fmt::format("{}seen {} times", meta.empty() ? "" : ", ", f.count);
  if (!f.location.empty()) meta += (meta.empty() ? "at " : ", at ") + f.location;
  p.text(meta);
  p.put("</p>\n");
  if (!f.summary.empty()) {
    p.put("<p class=\"summary\">");
    p.text(f.summary);
    p.put("</p>\n");
  }
  if (!f.classes.empty()) {
    p.put("<p>classes: ");
    for (size_t k = 0; k < f.classes.size(); ++k) {
      if (k) p.put(", ");
      class_link(p, f.classes[k]);
    }
    p.put("</p>\n");
  }
  if (!f.details.empty()) {
    p.put("<dl class=\"details\">");
    for (const auto& [k, v] : f.details) {
      p.put("<dt>");
      p.text(k);
      p.put("</dt><dd>");
      p.text(v);
      p.put("</dd>");
    }
    p.put("</dl>\n");
  }
  if (!f.chain.empty()) {
    p.put(fmt::format("<section class=\"chain\"><h4>Dependency chain ({} edge{})</h4>", f.chain.size(),
                      f.chain.size() == 1 ? "" : "s"));
    for (size_t k = 0; k < f.chain.size(); ++k) {
      const Edge& e = f.chain[k];
      p.put(fmt::format("<div class=\"edge\"><div class=\"edge-head\">#{} ", k));
      class_link(p, e.from);
      p.put(" &rarr; ");
      class_link(p, e.to);
      if (!e.dep.empty()) p.text(" [" + e.dep + "]");
      if (!e.gates.empty()) {
        std::string g;
        for (const auto& x : e.gates) g += (g.empty() ? "" : ", ") + x;
        p.put(" <span class=\"muted\">");
        p.text("(both under " + g + ")");
        p.put("</span>");
      }
      p.put("</div><div class=\"sites\">");
      acquisition_block(p, report::edge_from_place(e).label, e.from_site);
      acquisition_block(p, report::edge_to_place(e).label, e.to_site);
      p.put("</div></div>\n");
    }
    p.put("</section>\n");
  }
  if (!f.acquisitions.empty()) {
    p.put("<section class=\"acquisitions\"><h4>Acquisitions</h4><div class=\"sites\">");
    for (const auto& a : f.acquisitions) {
      std::string head = a.lock + (a.mode.empty() || a.mode == "write" ? "" : " (" + a.mode + ")");
      std::string ctx = report::context_label(a);
      acquisition_block(p, head + (ctx.empty() ? "" : ", by " + ctx), a);
    }
    p.put("</div></section>\n");
  }
  scenario_table(p, f.scenario);
  if (!f.scenario.rows.empty() && report::scenario_deadlocks(f))
    p.put("<p class=\"deadlock\">*** DEADLOCK ***</p>\n");
  if (!f.participants.empty()) {
    p.put("<section class=\"participants\"><h4>Threads and tasks</h4>");
    for (const auto& part : f.participants) {
      p.put("<div class=\"site\"><h5>");
      p.text(part.name + (part.pid >= 0 ? "/" + std::to_string(part.pid) : ""));
      if (!part.state.empty()) p.text(" (state " + part.state + ")");
      p.put("</h5>");
      if (!part.waits_for.empty()) {
        p.put("<div>waits for ");
        class_link(p, part.waits_for);
        p.put("</div>");
      }
      if (!part.held.empty()) {
        p.put(fmt::format("<div class=\"muted\">{} lock{} held:</div>", part.held.size(), part.held.size() == 1 ? "" : "s"));
        held_list(p, part.held);
      }
      if (!part.stack.empty()) stack_list(p, part.stack, user_frame(part.stack));
      p.put("</div>");
    }
    p.put("</section>\n");
  }
  if (!f.explanation.empty()) {
    p.put("<p class=\"cause\"><strong>root cause</strong>");
    p.text(f.explanation);
    p.put("</p>\n");
  }
  if (!f.fix.empty()) {
    p.put("<p class=\"fix\"><strong>fix</strong>");
    p.text(f.fix);
    p.put("</p>\n");
  }
  if (!f.raw.empty()) {
    p.put("<details class=\"raw\"><summary>the report as the input had it</summary><pre>");
    p.text(f.raw);
    p.put("</pre></details>\n");
  }
  p.put("<details class=\"about\"><summary>about ");
  p.text(type);
  p.put("</summary><p>");
  p.text(type_help(f.type));
  p.put("</p></details>\n");
  p.put("<details class=\"sig\"><summary>signature</summary><code>");
  p.text(f.signature);
  p.put("</code></details>\n</article>\n");
}

}  // namespace

std::string render_html(const std::vector<Finding>& findings, const ReportMeta& meta, const RenderOptions& options) {
  auto shown = report::shown_findings(findings, options);
  report::LockGraph graph = report::build_graph(shown, meta);
  Page p;
  for (size_t i = 0; i < graph.nodes.size(); ++i) p.node_of.emplace(graph.nodes[i].name, i);

  std::string inputs;
  for (const auto& in : meta.inputs) inputs += (inputs.empty() ? "" : ", ") + in;
  std::map<std::string, size_t> by_type;
  for (const Finding* f : shown) by_type[std::string(type_name(f->type))]++;

  p.put("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n<title>");
  p.text(fmt::format("lockhound {}: {} problem{}", meta.command, shown.size(), shown.size() == 1 ? "" : "s"));
  p.put("</title>\n<style>");
  p.put(report::kHtmlStyle);
  p.put("</style>\n</head>\n<body>\n<header>\n<h1>");
  p.text("lockhound " + meta.command);
  p.put("</h1>\n");
  if (!inputs.empty()) {
    p.put("<p class=\"muted\">");
    p.text(inputs);
    p.put("</p>\n");
  }
  p.put("<p class=\"totals\" id=\"totals\">");
  if (shown.empty()) {
    p.put("no locking problems found");
  } else {
    p.put(fmt::format("<span class=\"n\">{}</span> problem{}:", shown.size(), shown.size() == 1 ? "" : "s"));
    bool first = true;
    for (const auto& [t, n] : by_type) {
      p.put(fmt::format("{} {} <span class=\"type\">", first ? "" : ",", n));
      p.text(t);
      p.put("</span>");
      first = false;
    }
  }
  p.put("</p>\n");
  size_t hidden = findings.size() - shown.size();
  if (hidden)
    p.put(fmt::format("<p class=\"muted\">{} cycle{} guarded by a common lock not shown (--show-guarded shows them)</p>\n",
                      hidden, hidden == 1 ? "" : "s"));
  if (!meta.stats.empty()) {
    p.put("<table class=\"stats muted\"><tbody>");
    for (const auto& [k, v] : meta.stats) {
      p.put(fmt::format("<tr><td>{}</td><td>", v));
      p.text(k);
      p.put("</td></tr>");
    }
    p.put("</tbody></table>\n");
  }
  p.put("</header>\n");

  // Filters.
  p.put("<nav id=\"filters\"><fieldset id=\"type-filter\"><legend>Check</legend>");
  for (const auto& [t, n] : by_type) {
    std::string_view help;
    for (const Finding* f : shown)
      if (type_name(f->type) == t) help = type_help(f->type);
    p.put("<label title=\"");
    p.text(help);
    p.put("\"><input type=\"checkbox\" checked value=\"");
    p.text(t);
    p.put(fmt::format("\" id=\"type-{}\"> ", html_escape(t)));
    p.text(t);
    p.put(fmt::format(" <span class=\"muted\">({})</span></label>", n));
  }
  p.put("</fieldset><label>Class <select id=\"class-filter\"><option value=\"\">all classes</option>");
  std::set<std::string> classes;
  for (const Finding* f : shown)
    for (const auto& c : f->classes) classes.insert(c);
  for (const auto& c : classes) {
    p.put("<option value=\"");
    p.text(c);
    p.put("\">");
    p.text(c);
    p.put("</option>");
  }
  p.put(fmt::format("</select></label><button type=\"button\" id=\"show-all\">show all</button>"
                    "<span id=\"shown-count\">{0} of {0} findings shown</span></nav>\n",
                    shown.size()));

  for (const auto& sec : meta.sections) {
    if (sec.text.empty()) continue;
    p.put("<section class=\"block\"><h2>");
    p.text(sec.key);
    p.put("</h2><pre>");
    p.text(sec.text);
    p.put("</pre></section>\n");
  }

  // The graph.
  p.put("<section class=\"block\" id=\"graph\"><h2>Lock-order graph</h2>\n<p class=\"legend muted\">");
  p.text(graph.whole ? "every dependency the run saw; " : "the classes and edges of the findings; ");
  p.put("<span><i class=\"swatch cycle\"></i>cycle</span><span><i class=\"swatch irq\"></i>irq-unsafe dependency</span>"
        "<span><i class=\"swatch guarded\"></i>guarded</span><span><i class=\"swatch plain\"></i>dependency</span>"
        "edges are labelled with the site that first made them; a node shows its findings</p>\n");
  std::string svg;
  if (options.svg && !graph.nodes.empty())
    svg = svg_from_dot(report::graph_dot(graph, meta, true), options.svg_timeout_ms);
  if (!svg.empty()) {
    p.put("<div class=\"graph-box\" id=\"graph-svg\">");
    p.put(svg);
    p.put("</div>\n");
  } else if (!graph.nodes.empty()) {
    p.put("<p class=\"muted\" id=\"graph-fallback\">The graph is not drawn (Graphviz's <code>dot</code> was not "
          "found or took too long); its edges are listed below.</p>\n");
  }
  if (!graph.edges.empty()) {
    p.put(fmt::format("<details id=\"edge-list\"{}><summary>{} edge{}</summary><table class=\"edges\"><thead><tr>"
                      "<th>from</th><th>to</th><th>first site</th><th></th></tr></thead><tbody>",
                      svg.empty() ? " open" : "", graph.edges.size(), graph.edges.size() == 1 ? "" : "s"));
    for (const auto& e : graph.edges) {
      p.put("<tr><td>");
      class_link(p, graph.nodes[e.from].name);
      p.put("</td><td>");
      class_link(p, graph.nodes[e.to].name);
      p.put("</td><td class=\"mono\">");
      p.text(e.label);
      p.put("</td><td>");
      p.text(e.cycle ? "cycle" : e.irq_unsafe ? "irq-unsafe" : e.guarded ? "guarded" : "");
      p.put("</td></tr>");
    }
    p.put("</tbody></table></details>\n");
  }
  if (!graph.nodes.empty()) {
    p.put("<h2>Classes</h2><ul class=\"classes\">");
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const auto& n = graph.nodes[i];
      p.put(fmt::format("<li id=\"lh-class-{}\">", i));
      // Without a drawing, the class index stands in for the nodes.
      if (svg.empty()) p.put(fmt::format("<span id=\"lh-node-{}\">", i));
      p.put("<code>");
      p.text(n.name);
      p.put(svg.empty() ? "</code></span>" : "</code>");
      for (size_t k : n.findings) p.put(fmt::format(" <a href=\"#finding-{0}\">#{0}</a>", k + 1));
      p.put("</li>");
    }
    p.put("</ul>\n");
  }
  p.put("</section>\n");

  p.put("<main id=\"findings\"><h2>Findings</h2>\n");
  if (shown.empty()) p.put("<p>No locking problems found.</p>\n");
  for (size_t i = 0; i < shown.size(); ++i) finding_article(p, *shown[i], i);
  p.put("</main>\n");

  // What the script needs of the graph: each node's and edge's findings.
  json gj = {{"nodes", json::array()}, {"edges", json::array()}};
  for (const auto& n : graph.nodes) gj["nodes"].push_back({{"name", n.name}, {"findings", n.findings}});
  for (const auto& e : graph.edges) gj["edges"].push_back({{"findings", e.findings}});
  std::string data = gj.dump(-1, ' ', false, json::error_handler_t::replace);
  // Inside a script element: no '<' at all (no "</script", no "<!--"), in JSON's own escapes.
  std::string safe;
  for (char c : data) safe += c == '<' ? "\\u003c" : c == '>' ? "\\u003e" : c == '&' ? "\\u0026" : std::string(1, c);
  data.swap(safe);
  p.put("<footer>");
  p.text(fmt::format("lockhound {} — {} report", lockhound_version(), meta.command));
  p.put("</footer>\n<script type=\"application/json\" id=\"lh-data\">");
  p.put(data);
  p.put("</script>\n<script>");
  p.put(report::kHtmlScript);
  p.put("</script>\n</body>\n</html>\n");
  return p.out;
}

}  // namespace lockhound
