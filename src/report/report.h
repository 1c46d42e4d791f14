// Renderers: findings in the common model -> text (lockdep style, plus root cause and fix), JSON
// (versioned, docs/json-format.md), SARIF 2.1.0 (code-scanning tools), DOT (the lock-order graph,
// Graphviz) and HTML (one self-contained page). docs/reports.md describes the last three.
//
// Renderers know nothing about where a finding came from beyond what it carries. They never fail
// on odd findings: missing stacks or names render as "?" rather than throwing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/finding.h"

namespace lockhound {

inline constexpr int kJsonFormatVersion = 1;

// A front end's own account beside its findings, as data (sys: what the system shows; attach:
// every thread's state): the text report prints `text` before the findings, the JSON report puts
// `data` under the root member `key`.
struct Section {
  std::string key;
  std::string text;
  nlohmann::json data;
};

struct ReportMeta {
  std::string tool = "lockhound";
  std::string command;        // the subcommand: "check", "trace", …
  std::vector<std::string> inputs;
  // Extra summary numbers shown at the end of text and under "stats" in JSON.
  std::vector<std::pair<std::string, uint64_t>> stats;
  std::vector<Section> sections;
  // The whole lock-order graph (every edge with the evidence of its first occurrence), when the
  // command has an engine and was asked for it (`--graph all`); DOT and HTML draw it instead of
  // only the findings' neighbourhood.
  std::vector<Edge> graph;
  bool whole_graph = false;
};

struct RenderOptions {
  bool show_guarded = false;  // guarded cycles are hidden unless asked for (all formats but JSON)
  bool color = false;         // text: ANSI colours (the caller decides: a terminal, NO_COLOR, --color)
  // text: every frame of every stack. By default a run of two or more frames inside libstdc++,
  // libc or lockhound is one line ("... 6 frames in libstdc++, libc") when the stack has a frame
  // of the user's code; JSON, SARIF and HTML always carry every frame.
  bool full_stacks = false;
  // SARIF: file locations under this directory are written relative to it, with the uriBaseId
  // SRCROOT (run.originalUriBaseIds names the directory). "" = paths as the evidence has them.
  std::string source_root;
  // HTML: the graph drawn by Graphviz's `dot` (found on PATH) as inline SVG, given at most this
  // long; without `dot`, or past the time, the page lists the edges instead.
  bool svg = true;
  int svg_timeout_ms = 30000;
};

// The formats render_report knows: text, json, sarif, dot, html.
const std::vector<std::string>& report_formats();
// Renders in `format` (one of report_formats(); anything else renders text).
std::string render_report(std::string_view format, const std::vector<Finding>& findings,
                          const ReportMeta& meta, const RenderOptions& options = {});

std::string render_text(const std::vector<Finding>& findings, const ReportMeta& meta,
                        const RenderOptions& options = {});
// One finding in text form (what the runtime prints as soon as it finds something).
std::string render_finding_text(const Finding& f, const RenderOptions& options = {});
std::string render_json(const std::vector<Finding>& findings, const ReportMeta& meta,
                        const RenderOptions& options = {});
// SARIF 2.1.0: one run; a rule per finding type; per finding its decisive site as the location,
// the other sites as related locations, a code flow per chain edge, a fingerprint of the
// signature ("lockhound/v1": SHA-256 of it, hex).
std::string render_sarif(const std::vector<Finding>& findings, const ReportMeta& meta,
                         const RenderOptions& options = {});
// Graphviz DOT of the lock-order graph: the classes and edges of every finding (or meta.graph
// when whole_graph), cycles in red, irq-unsafe dependencies in orange, each edge labelled with
// the site that first made it.
std::string render_dot(const std::vector<Finding>& findings, const ReportMeta& meta,
                       const RenderOptions& options = {});
// One HTML page with no outside references: summary, filters by type and class, the graph, every
// finding with its chain, both stacks per edge, the scenario, root cause and fix.
std::string render_html(const std::vector<Finding>& findings, const ReportMeta& meta,
                        const RenderOptions& options = {});

// Runs Graphviz's `dot -Tsvg` on `dot_source`; the SVG, or "" when `dot` is not on PATH, fails, or
// takes longer than `timeout_ms` (it is killed). The child gets the environment less LD_PRELOAD
// and LOCKHOUND_*, so it works from inside the runtime too.
std::string svg_from_dot(const std::string& dot_source, int timeout_ms);
// SHA-256 of `data`, as 64 lowercase hex digits (the SARIF fingerprint of a signature).
std::string sha256_hex(std::string_view data);
// The lockhound version the report names (SARIF's tool.driver.version, the HTML footer).
std::string_view lockhound_version();

}  // namespace lockhound
