#include "cli/common.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
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
  if (!write_output(out.output, text)) return kUsage;
  for (const auto& f : findings)
    if (f.type != FindingType::guarded_cycle || out.show_guarded) return kFindings;
  return kClean;
}

bool write_output(const std::string& path, const std::string& text) {
  bool to_stdout = path.empty() || path == "-";
  std::string where = to_stdout ? "standard output" : path;
  errno = 0;
  if (to_stdout) {
    size_t n = std::fwrite(text.data(), 1, text.size(), stdout);
    if (n == text.size() && std::fflush(stdout) == 0) return true;
  } else {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
      std::cerr << "lockhound: cannot write " << where << ": " << std::strerror(errno) << "\n";
      return false;
    }
    size_t n = std::fwrite(text.data(), 1, text.size(), f);
    bool ok = n == text.size() && std::fflush(f) == 0;
    int err = errno;
    ok = std::fclose(f) == 0 && ok;
    if (ok) return true;
    errno = err ? err : errno;
  }
  std::cerr << "lockhound: error writing the report to " << where << ": "
            << (errno ? std::strerror(errno) : "short write") << "\n";
  return false;
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
