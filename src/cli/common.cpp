#include "cli/common.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <unistd.h>

namespace lockhound::cli {

void add_output_options(CLI::App* cmd, OutputOptions& out) {
  cmd->add_option("--format", out.format,
                  "Report format: text, json, sarif (SARIF 2.1.0), dot (the lock-order graph), html (one page)")
      ->check(CLI::IsMember(report_formats()))
      ->capture_default_str();
  cmd->add_option("-o,--output", out.output, "Write the report to FILE instead of stdout");
  cmd->add_flag("--show-guarded", out.show_guarded,
                "Also show cycles guarded by a common lock (hidden by default but in json)");
  cmd->add_option("--color,--colour", out.color,
                  "Colour in text output: auto (stdout a terminal and NO_COLOR unset), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  cmd->add_option("--source-root", out.source_root,
                  "sarif: file locations relative to DIR (uriBaseId SRCROOT), e.g. the repository's top")
      ->type_name("DIR");
  cmd->add_option("--graph", out.graph,
                  "dot, html: the classes and edges of the findings, or every edge the engine saw (trace)")
      ->check(CLI::IsMember({"findings", "all"}))
      ->capture_default_str();
}

bool use_color(const OutputOptions& out) {
  if (out.format != "text" || out.color == "never") return false;
  if (out.color == "always") return true;
  bool to_stdout = out.output.empty() || out.output == "-";
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return to_stdout && ::isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
         !(term && std::string_view(term) == "dumb");
}

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

void add_progress_option(CLI::App* cmd, std::string& mode) {
  cmd->add_option("--progress", mode,
                  "Progress on stderr: auto (a terminal, once the work takes half a second), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

Progress::Progress(const std::string& mode) : start_(now_seconds()) {
  const char* term = std::getenv("TERM");
  bool terminal = ::isatty(STDERR_FILENO) && !(term && std::string_view(term) == "dumb");
  enabled_ = mode == "always" || (mode == "auto" && terminal);
}

void Progress::update(const std::string& line) {
  if (!enabled_) return;
  double t = now_seconds();
  if (t - start_ < 0.5 || (last_ >= 0 && t - last_ < 0.1)) return;
  last_ = t;
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

int emit_report(const std::vector<Finding>& findings, const ReportMeta& meta,
                const OutputOptions& out) {
  RenderOptions ro;
  ro.show_guarded = out.show_guarded;
  ro.color = use_color(out);
  ro.source_root = out.source_root;
  if (out.graph == "all" && !meta.whole_graph && (out.format == "dot" || out.format == "html"))
    std::cerr << "lockhound " << meta.command
              << ": --graph all: this command has no whole lock-order graph to give; drawing the findings' "
                 "classes and edges\n";
  std::string text = render_report(out.format, findings, meta, ro);
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
