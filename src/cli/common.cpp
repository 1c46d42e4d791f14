#include "cli/common.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
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

std::optional<std::vector<std::string>>& run_after_dashes() {
  static std::optional<std::vector<std::string>> tail;
  return tail;
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
    if (isatty(STDIN_FILENO))
      std::cerr << "lockhound: reading standard input, which is a terminal: paste the input and end it with "
                   "Ctrl-D, or give a file\n";
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
    return true;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    error = path + " is a directory";
    return false;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) {
    error = "error reading " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& args,
                                       const std::vector<std::string>& extensions,
                                       std::vector<Diagnostic>& diags) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const auto& a : args) {
    std::error_code ec;
    if (a.empty() || a == "-" || !fs::is_directory(a, ec)) {
      out.push_back(a);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(a, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string ext = it->path().extension().string();
      if (!extensions.empty() && std::find(extensions.begin(), extensions.end(), ext) == extensions.end())
        continue;
      found.push_back(it->path().string());
    }
    if (ec) diags.push_back(Diagnostic{a, 0, "cannot read the directory: " + ec.message(), true});
    std::sort(found.begin(), found.end());
    if (found.empty()) {
      std::string what;
      for (const auto& e : extensions) what += (what.empty() ? "" : ", ") + e;
      diags.push_back(Diagnostic{a, 0, "a directory with no input files" + (what.empty() ? std::string() : " (" + what + ")"), false});
    }
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace lockhound::cli
