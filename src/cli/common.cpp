#include "cli/common.h"

#include "core/voice.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
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
  cmd->add_flag("--full-stacks", out.full_stacks,
                "text: every frame of every stack (by default library frames are folded into one line)");
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
  // LOCKHOUND_PROGRESS_DELAY=SECONDS: how long work runs before progress shows (0.5 by default;
  // tests set 0, so that what they see does not depend on the machine's speed).
  if (const char* d = std::getenv("LOCKHOUND_PROGRESS_DELAY")) delay_ = std::strtod(d, nullptr);
  always_ = mode == "always";
  enabled_ = always_ || (mode == "auto" && terminal);
}

void Progress::finish(const std::string& line) {
  if (!always_ || drawn_ || line.empty()) return;
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::update(const std::string& line) {
  if (!enabled_) return;
  double t = now_seconds();
  if (t - start_ < delay_ || (last_ >= 0 && t - last_ < 0.1)) return;
  last_ = t;
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

ReadProgress::ReadProgress(const std::string& mode, std::string command, size_t inputs)
    : line_(mode), command_(std::move(command)), inputs_(inputs), start_(now_seconds()) {}

void ReadProgress::begin(const std::string& name, uint64_t size) {
  name_ = name;
  size_ = size;
  ++index_;
  start_ = now_seconds();
}

void ReadProgress::update(uint64_t bytes) {
  if (!line_.enabled()) return;
  double secs = now_seconds() - start_;
  double rate = secs > 0 ? double(bytes) / 1e6 / secs : 0.0;
  std::string who = "lockhound " + command_;
  if (inputs_ > 1) who += " [" + std::to_string(index_) + "/" + std::to_string(inputs_) + "] " + name_;
  char buf[160];
  if (size_) {
    double frac = std::min(1.0, double(bytes) / double(size_));
    constexpr int kWidth = 30;
    int filled = int(frac * kWidth);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[kWidth] = 0;
    std::snprintf(buf, sizeof buf, " [%s] %3d%%  %.0f MB / %.0f MB  %.1f MB/s", bar, int(frac * 100),
                  double(bytes) / 1e6, double(size_) / 1e6, rate);
  } else {
    std::snprintf(buf, sizeof buf, ": %.0f MB read  %.1f MB/s", double(bytes) / 1e6, rate);
  }
  last_ = who + buf;
  line_.update(last_);
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
  ro.full_stacks = out.full_stacks;
  ro.color = use_color(out);
  ro.source_root = out.source_root;
  if (out.graph == "all" && !meta.whole_graph && (out.format == "dot" || out.format == "html"))
    std::cerr << "lockhound " << meta.command
              << ": --graph all: this command has no whole lock-order graph to give; drawing the findings' "
                 "classes and edges\n";
  std::string text = render_report(out.format, findings, meta, ro);
  if (!write_output(out.output, text)) return kUsage;
  for (const auto& f : findings)
    if (finding_severity(f) != "note" || out.show_guarded) return kFindings;
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

bool print_diagnostics(const std::vector<Diagnostic>& diags, size_t max) {
  bool any_error = false;
  size_t shown = 0;
  for (const auto& d : diags) {
    any_error |= d.error;
    if (shown++ < max) std::cerr << format_diagnostic(d) << "\n";
  }
  if (diags.size() > max)
    std::cerr << "lockhound: " << diags.size() - max << " more problems with the input not listed (--max-errors)\n";
  return any_error;
}

namespace {
// Text, not a program or a stream of zeros: no NUL byte (serial consoles leave a few: allowed at
// one in a thousand) and at most a tenth control characters.
bool looks_binary(std::string_view head) {
  size_t ctrl = 0, nul = 0;
  for (char ch : head) {
    auto c = static_cast<unsigned char>(ch);
    if (c == 0) ++nul;
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x1b && c != 0x0c) ++ctrl;
  }
  return !head.empty() && (nul * 1000 > head.size() || ctrl * 10 > head.size());
}
}  // namespace

InputStream::~InputStream() {
  if (own_ && fd_ >= 0) ::close(fd_);
}

bool InputStream::open(const std::string& path, std::string& error, ReadProgress* progress) {
  if (progress) progress->begin(path.empty() || path == "-" ? std::string("<stdin>") : path, 0);
  if (path.empty() || path == "-") {
    fd_ = STDIN_FILENO;
    if (isatty(fd_))
      std::cerr << "lockhound: reading standard input, which is a terminal: paste the input and end it with "
                   "Ctrl-D, or give a file\n";
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      error = "cannot open " + path + ": " + std::strerror(errno);
      return false;
    }
    own_ = true;
    struct stat st;
    if (::fstat(fd_, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        error = path + " is a directory";
        return false;
      }
      if (S_ISREG(st.st_mode)) size_ = uint64_t(st.st_size);
    }
  }
  // The first 64 KiB decide whether this is text at all.
  char buf[65536];
  while (head_.size() < sizeof buf) {
    ssize_t n = ::read(fd_, buf, sizeof buf - head_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "error reading " + (path == "-" || path.empty() ? std::string("standard input") : path) + ": " +
              std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    head_.append(buf, size_t(n));
  }
  if (looks_binary(head_)) {
    error = (path == "-" || path.empty() ? std::string("standard input") : path) +
            " is binary data, not text (a log, a trace or a scenario is text)";
    return false;
  }
  progress_ = progress;
  if (progress_) progress_->set_size(size_);
  return true;
}

bool InputStream::read(std::string& out, size_t max) {
  if (!head_.empty()) {
    size_t n = std::min(max, head_.size());
    out.append(head_, 0, n);
    head_.erase(0, n);
    bytes_ += n;
    if (progress_) progress_->update(bytes_);
    return true;
  }
  std::string buf(std::min<size_t>(max, 1 << 20), '\0');
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error_ = std::strerror(errno);
      return false;
    }
    if (n == 0) return false;
    out.append(buf.data(), size_t(n));
    bytes_ += uint64_t(n);
    if (progress_) progress_->update(bytes_);
    return true;
  }
}

bool read_input(const std::string& path, std::string& text, std::string& error, ReadProgress* progress) {
  InputStream in;
  if (!in.open(path, error, progress)) return false;
  while (in.read(text, 1 << 20)) {
  }
  if (!in.error().empty()) {
    error = "error reading " + path + ": " + in.error();
    return false;
  }
  return true;
}

bool for_each_line(const std::string& path, const std::string& name, std::vector<Diagnostic>& diags,
                   const std::function<void(std::string_view)>& fn, ReadProgress* progress) {
  constexpr size_t kMaxLine = 1 << 20;
  InputStream in;
  std::string err;
  if (!in.open(path, err, progress)) {
    diags.push_back(Diagnostic{name, 0, err, true});
    return false;
  }
  std::string buf;
  size_t line_no = 0;
  bool more = true;
  while (more) {
    more = in.read(buf, 1 << 20);
    size_t start = 0;
    for (;;) {
      size_t nl = buf.find('\n', start);
      if (nl == std::string::npos) break;
      ++line_no;
      fn(std::string_view(buf).substr(start, nl - start));
      start = nl + 1;
    }
    buf.erase(0, start);
    if (buf.size() > kMaxLine) {
      ++line_no;
      diags.push_back(Diagnostic{name, line_no, "line longer than 1 MiB: cut", false});
      fn(std::string_view(buf).substr(0, kMaxLine));
      // The rest of that line is skipped.
      for (;;) {
        std::string rest;
        bool got = in.read(rest, 1 << 20);
        size_t nl = rest.find('\n');
        if (nl != std::string::npos) {
          buf = rest.substr(nl + 1);
          break;
        }
        if (!got) {
          buf.clear();
          more = false;
          break;
        }
      }
    }
  }
  if (!buf.empty()) fn(buf);
  if (!in.error().empty()) {
    diags.push_back(Diagnostic{name, 0, "read error: " + in.error(), true});
    return false;
  }
  if (in.bytes_read() == 0) diags.push_back(Diagnostic{name, 0, "empty input", false});
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
