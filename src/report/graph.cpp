// The lock-order graph of a report, and its DOT form.
//
// Nodes are lock classes, an edge A -> B says B was taken while A was held, labelled with the
// site that first did so. By default the graph is the neighbourhood of the findings (the classes
// and chain edges of every finding shown); with the engine's whole graph (ReportMeta::graph) every
// edge is drawn and the findings' marks are laid over it.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/facts.h"
#include "core/sites.h"
#include "report/report_internal.h"

namespace lockhound {
namespace report {
namespace {

bool cycle_type(FindingType t) {
  return t == FindingType::circular_dependency || t == FindingType::witness_lock_order_reversal ||
         t == FindingType::actual_deadlock || t == FindingType::filelock_deadlock;
}
bool irq_order_type(FindingType t) {
  return t == FindingType::irq_safe_unsafe_order || t == FindingType::irq_lock_inversion;
}

void add_once(std::vector<size_t>& v, size_t x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

// DOT's quoted string: backslash and quote escaped, so Graphviz's own escapes (\N, \l) cannot
// appear by accident; newlines become \n.
std::string q(std::string_view raw) {
  std::string s = valid_utf8(raw), out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\r' || c == '\t') c = ' ';
    out += c;
  }
  return out + "\"";
}

std::string site_label(const Acquisition& a) {
  const Frame* fr = acquisition_frame(a);
  return fr ? describe_frame(*fr) : "";
}

}  // namespace

LockGraph build_graph(const std::vector<const Finding*>& shown, const ReportMeta& meta) {
  LockGraph g;
  g.whole = meta.whole_graph;
  std::map<std::string, size_t, std::less<>> node_of;
  std::map<std::pair<size_t, size_t>, size_t> edge_of;
  auto node = [&](const std::string& name) -> GraphNode& {
    auto [it, fresh] = node_of.try_emplace(name, g.nodes.size());
    if (fresh) g.nodes.push_back(GraphNode{name, {}, false, false, "", ""});
    return g.nodes[it->second];
  };
  auto index = [&](const std::string& name) {
    node(name);
    return node_of.find(name)->second;
  };
  auto edge = [&](const std::string& from, const std::string& to, const Acquisition* to_site,
                  const Edge* e) -> GraphEdge& {
    size_t a = index(from), b = index(to);
    auto [it, fresh] = edge_of.try_emplace({a, b}, g.edges.size());
    if (fresh) {
      GraphEdge ge;
      ge.from = a;
      ge.to = b;
      if (to_site) {
        ge.label = site_label(*to_site);
        ge.context = context_label(*to_site);
      }
      if (e) {
        ge.dep = e->dep;
        ge.gates = e->gates;
      }
      g.edges.push_back(std::move(ge));
    }
    return g.edges[it->second];
  };

  if (meta.whole_graph)
    for (const auto& e : meta.graph) edge(e.from, e.to, &e.to_site, &e);

  for (size_t i = 0; i < shown.size(); ++i) {
    const Finding& f = *shown[i];
    for (const auto& c : f.classes) add_once(node(c).findings, i);
    for (const auto& e : f.chain) {
      GraphEdge& ge = edge(e.from, e.to, &e.to_site, &e);
      add_once(ge.findings, i);
      add_once(g.nodes[ge.from].findings, i);
      add_once(g.nodes[ge.to].findings, i);
      if (cycle_type(f.type)) {
        ge.cycle = true;
        g.nodes[ge.from].in_cycle = g.nodes[ge.to].in_cycle = true;
      }
      if (f.type == FindingType::guarded_cycle) ge.guarded = true;
      if (irq_order_type(f.type)) ge.irq_unsafe = true;
    }
    std::string irq = fact::get(f, fact::kInterrupt);
    if (irq.empty()) irq = "irq";
    if (irq_order_type(f.type)) {
      std::string safe = fact::get(f, fact::kIrqSafe), unsafe = fact::get(f, fact::kIrqUnsafe);
      if (!safe.empty()) node(safe).irq_safe = irq;
      if (!unsafe.empty()) node(unsafe).irq_unsafe = irq;
    }
    if (f.type == FindingType::inconsistent_lock_state)
      for (const auto& c : f.classes) node(c).inconsistent = true;
    // A lock class taken under itself: a loop on the class, at the second acquisition's site.
    if ((f.type == FindingType::recursive_locking || f.type == FindingType::spinlock_recursion) &&
        !f.classes.empty()) {
      const Acquisition* second = f.acquisitions.empty() ? nullptr : &f.acquisitions.back();
      GraphEdge& ge = edge(f.classes.front(), f.classes.front(), second, nullptr);
      ge.cycle = true;
      add_once(ge.findings, i);
      node(f.classes.front()).in_cycle = true;
    }
  }
  return g;
}

std::string graph_dot(const LockGraph& g, const ReportMeta& meta, bool for_html) {
  std::string out = "digraph lockhound {\n";
  std::string title = "lockhound " + meta.command;
  if (!meta.inputs.empty()) {
    title += ":";
    for (const auto& in : meta.inputs) title += " " + in;
  }
  title += g.whole ? " (the whole lock-order graph)" : " (the classes and edges of the findings)";
  if (g.nodes.empty()) title += "\nno lock classes to draw";
  out += "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, labelloc=t, label=" + q(title) + "];\n";
  out += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f5f5f5\", color=\"#555555\", "
         "fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n";
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const GraphNode& n = g.nodes[i];
    std::string label = n.name, attrs;
    if (!n.irq_safe.empty()) label += "\n" + n.irq_safe + "-safe";
    if (!n.irq_unsafe.empty()) label += "\n" + n.irq_unsafe + "-unsafe";
    if (n.inconsistent) label += "\ninconsistent irq usage";
    if (n.in_cycle) attrs += ", color=\"#c62828\", penwidth=2";
    if (!n.irq_safe.empty() || !n.irq_unsafe.empty() || n.inconsistent) attrs += ", fillcolor=\"#fff3e0\"";
    if (for_html)
      attrs += fmt::format(", id=\"lh-node-{}\", URL=\"#lh-class-{}\", tooltip={}", i, i,
                           q(n.name + ": " + std::to_string(n.findings.size()) + " finding(s)"));
    out += fmt::format("  n{} [label={}{}];\n", i, q(label), attrs);
  }
  for (size_t i = 0; i < g.edges.size(); ++i) {
    const GraphEdge& e = g.edges[i];
    std::string label = e.label;
    if (e.irq_unsafe) label += (label.empty() ? "" : "\n") + std::string("irq-unsafe");
    std::string attrs = "label=" + q(label);
    if (e.cycle) attrs += ", color=\"#c62828\", fontcolor=\"#c62828\", penwidth=2";
    else if (e.irq_unsafe) attrs += ", color=\"#ef6c00\", fontcolor=\"#ef6c00\", penwidth=2, style=dashed";
    else if (e.guarded) attrs += ", color=\"#9e9e9e\", fontcolor=\"#757575\", style=dashed";
    if (e.cycle && e.irq_unsafe) attrs += ", style=dashed";
    std::string tip = g.nodes[e.from].name + " -> " + g.nodes[e.to].name;
    if (!e.dep.empty()) tip += " [" + e.dep + "]";
    if (!e.context.empty()) tip += ", " + e.context;
    if (!e.gates.empty()) {
      tip += ", under";
      for (const auto& x : e.gates) tip += " " + x;
    }
    attrs += ", tooltip=" + q(tip);
    if (for_html) attrs += fmt::format(", id=\"lh-edge-{}\"", i);
    out += fmt::format("  n{} -> n{} [{}];\n", e.from, e.to, attrs);
  }
  out += "}\n";
  return out;
}

}  // namespace report

std::string render_dot(const std::vector<Finding>& findings, const ReportMeta& meta, const RenderOptions& options) {
  auto shown = report::shown_findings(findings, options);
  return report::graph_dot(report::build_graph(shown, meta), meta, false);
}

}  // namespace lockhound
