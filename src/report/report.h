// Renderers: findings in the common model -> text (lockdep style, plus root cause and fix) and
// JSON (versioned, documented in docs/json-format.md).
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
};

struct RenderOptions {
  bool show_guarded = false;  // guarded cycles are hidden from text unless asked for
  bool color = false;
};

std::string render_text(const std::vector<Finding>& findings, const ReportMeta& meta,
                        const RenderOptions& options = {});
// One finding in text form (what the runtime prints as soon as it finds something).
std::string render_finding_text(const Finding& f);
std::string render_json(const std::vector<Finding>& findings, const ReportMeta& meta,
                        const RenderOptions& options = {});

}  // namespace lockhound
