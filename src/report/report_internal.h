// Internal to the renderers: what SARIF, DOT and HTML share. Not for front ends.
//
// - which findings a report shows, and text made safe for its format;
// - the places of a finding's evidence (an acquisition's frame, the decisive one first), with a
//   short label each: the layout of locations, not prose (the words are core/voice's);
// - the lock-order graph of a report: the classes and edges of its findings, or the whole graph.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/voice.h"
#include "report/report.h"

namespace lockhound::report {

// A finding's severity (core: deadlock, hazard, note) as a SARIF level and the colour class of
// the text and HTML reports: error, warning, note. One mapping for every renderer.
inline std::string_view level_of(const Finding& f) {
  std::string_view s = finding_severity(f);
  return s == "deadlock" ? "error" : s == "hazard" ? "warning" : "note";
}

// The findings a report shows, in order: all of them, less guarded cycles unless asked for.
std::vector<const Finding*> shown_findings(const std::vector<Finding>& findings, const RenderOptions& options);

// `s` with every byte sequence that is not UTF-8 replaced by U+FFFD (kernel logs are bytes).
std::string valid_utf8(std::string_view s);
// HTML text and attribute values: & < > " ' escaped (after valid_utf8).
std::string html_escape(std::string_view s);

bool frame_is_empty(const Frame& fr);
// The frame that says where an acquisition happened: the lock call's own site when the input
// named it outside the plumbing, else the first frame of the user's code, else the first frame
// that names anything; null when nothing is known.
const Frame* acquisition_frame(const Acquisition& a);

// One place in a finding's evidence.
struct Place {
  const Frame* frame = nullptr;  // null: the evidence does not say where
  std::string label;             // "b taken while holding a, by T2"
};
// The decisive place: where the problem closes. A chain's last edge (the acquisition that closed
// the cycle or the bad path); else the acquisition the finding's signature is about (the call that
// may sleep for the wait-context family, the last acquisition for the others); else the first
// participant's own frame.
Place decisive_place(const Finding& f);
// Every other place of the evidence with a frame (chain sites, acquisitions, participants), in
// order, without the decisive one and without repeats of the same frame and label.
std::vector<Place> related_places(const Finding& f);
// The two places of chain edge `i`: where `from` was taken, and where `to` was taken under it.
Place edge_from_place(const Edge& e);
Place edge_to_place(const Edge& e);
// "T1", "insmod/42 in hardirq context" — the context of an acquisition, for labels.
std::string context_label(const Acquisition& a);

// ---- the lock-order graph of a report

struct GraphNode {
  std::string name;
  std::vector<size_t> findings;   // indices into the shown findings that name this class
  bool in_cycle = false;          // on a cycle (deadlock or actual)
  bool inconsistent = false;      // its interrupt usage conflicts
  std::string irq_safe;           // "hardirq", "softirq", …: the finding calls it irq-safe
  std::string irq_unsafe;         // … irq-unsafe
};

struct GraphEdge {
  size_t from = 0, to = 0;        // node indices
  std::string label;              // the site that first made the edge
  std::string dep;                // lockdep's edge kind, when known
  std::string context;            // the context that took `to` under `from`
  std::vector<std::string> gates;
  std::vector<size_t> findings;   // shown findings whose chain has this edge
  bool cycle = false;             // on a deadlock cycle (or a recursion: a loop on one class)
  bool guarded = false;           // on a cycle guarded by a common lock
  bool irq_unsafe = false;        // on the path from an irq-safe lock to an irq-unsafe one
};

struct LockGraph {
  std::vector<GraphNode> nodes;
  std::vector<GraphEdge> edges;
  bool whole = false;             // every edge of the engine, not only the findings'
};

LockGraph build_graph(const std::vector<const Finding*>& shown, const ReportMeta& meta);
// The graph in DOT. for_html: nodes and edges carry the ids and links the HTML page uses.
std::string graph_dot(const LockGraph& g, const ReportMeta& meta, bool for_html);

// Whether a finding's unsafe scenario ends in "*** DEADLOCK ***" (text and HTML alike): never
// for a note (a trylock of a held lock, a cycle no single lock closes), which cannot hang.
inline bool scenario_deadlocks(const Finding& f) {
  if (finding_severity(f) == "note") return false;
  switch (f.type) {
    case FindingType::circular_dependency:
    case FindingType::recursive_locking:
    case FindingType::inconsistent_lock_state:
    case FindingType::irq_lock_inversion:
    case FindingType::irq_safe_unsafe_order:
    case FindingType::actual_deadlock:
    case FindingType::filelock_deadlock:
      return true;
    default:
      return false;
  }
}

}  // namespace lockhound::report
