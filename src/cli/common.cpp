#include "cli/common.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <unistd.h>

namespace lockhound::cli {

void add_output_options(CLI::App* cmd, OutputOptions& out) {
  cmd->add_option("--format", out.format, "Report format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", out.output, "Write the report to FILE instead of stdout");
  cmd->add_flag("--show-guarded", out.show_guarded,
                "Also show cycles guarded by a common lock (hidden by default in text)");
}

int emit_report(const std::vector<Finding>& findings, const ReportMeta& meta,
                const OutputOptions& out) {
  RenderOptions ro;
  ro.show_guarded = out.show_guarded;
  std::string text = out.format == "json" ? render_json(findings, meta, ro)
                                          : render_text(findings, meta, ro);
  if (out.output.empty() || out.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  } else {
    std::ofstream f(out.output, std::ios::binary);
    if (!f) {
      std::cerr << "lockhound: cannot write " << out.output << "\n";
      return kUsage;
    }
    f << text;
    if (!f) {
      std::cerr << "lockhound: error writing " << out.output << "\n";
      return kUsage;
    }
  }
  for (const auto& f : findings)
    if (f.type != FindingType::guarded_cycle || out.show_guarded) return kFindings;
  return kClean;
}

bool print_diagnostics(const std::vector<Diagnostic>& diags) {
  bool any_error = false;
  for (const auto& d : diags) {
    std::cerr << format_diagnostic(d) << "\n";
    any_error |= d.error;
  }
  return any_error;
}

bool read_input(const std::string& path, std::string& text, std::string& error) {
  if (path.empty() || path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
    return true;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = "cannot open " + path;
    return false;
  }
  text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) {
    error = "error reading " + path;
    return false;
  }
  return true;
}

}  // namespace lockhound::cli
