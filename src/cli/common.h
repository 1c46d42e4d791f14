// Shared plumbing of the `lockhound` subcommands: output options, report emission, exit codes.
//
// Every subcommand takes `--format text|json|sarif|dot|html`, `-o FILE`, `--color`,
// `--source-root` and `--graph` (docs/reports.md), prints input diagnostics as
// "FILE:LINE: error: …" on stderr, and exits with: 0 clean, 1 findings, 2 usage error,
// 3 input error (partial results are still written before exiting 3).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/diagnostic.h"
#include "core/finding.h"
#include "report/report.h"

namespace lockhound::cli {

enum ExitCode : int { kClean = 0, kFindings = 1, kUsage = 2, kInputError = 3 };

struct OutputOptions {
  std::string format = "text";
  std::string output;           // "" or "-" = stdout
  bool show_guarded = false;
  bool full_stacks = false;
  std::string color = "auto";   // text: auto (a terminal, unless NO_COLOR), always, never
  std::string source_root;      // SARIF: locations relative to this directory
  std::string graph = "findings";  // dot, html: "findings" (their neighbourhood) or "all"
};

void add_output_options(CLI::App* cmd, OutputOptions& out);

// Whether the text report gets ANSI colours: --color=always, or auto with the report going to a
// terminal on stdout (not TERM=dumb) and NO_COLOR unset or empty. Never for other formats.
bool use_color(const OutputOptions& out);

// Progress on stderr, one rule for every command that does long work (scan, trace, explain, check,
// import): drawn only
// when stderr is a terminal (not TERM=dumb) — or with --progress=always — and only once the work
// has taken half a second, at most ten times a second; erased before the report. Quiet otherwise.
void add_progress_option(CLI::App* cmd, std::string& mode);
class Progress {
 public:
  explicit Progress(const std::string& mode);
  bool enabled() const { return enabled_; }
  // Draws `line` (one line, no newline) when due. Callers serialise their calls.
  void update(const std::string& line);
  // With --progress=always: draws `line` if nothing was drawn yet (work shorter than half a second
  // still shows its last state once, so that `always` always shows something).
  void finish(const std::string& line);
  void clear();

 private:
  bool always_ = false;
  bool enabled_ = false;
  double delay_ = 0.5;
  bool drawn_ = false;
  double start_ = 0, last_ = -1;
};

// The progress of reading inputs (trace, explain, check, import), by bytes read: with a known size
// "lockhound explain [2/3] big.log [=====>    ] 42%  30 MB / 71 MB  55.0 MB/s", from a pipe
// "lockhound explain: 30 MB read  55.0 MB/s". The input's name and place appear only when there
// are several.
class ReadProgress {
 public:
  ReadProgress(const std::string& mode, std::string command, size_t inputs = 1);
  bool enabled() const { return line_.enabled(); }
  // The next input begins: its name and its size (0 when unknown).
  void begin(const std::string& name, uint64_t size);
  void set_size(uint64_t size) { size_ = size; }
  void update(uint64_t bytes);
  void clear() {
    line_.finish(last_);
    line_.clear();
    last_.clear();
  }
  // For readers that take a C callback (trace::analyze_fd): `arg` is the ReadProgress.
  static void update_cb(uint64_t bytes, void* arg) { static_cast<ReadProgress*>(arg)->update(bytes); }

 private:
  Progress line_;
  std::string command_, name_, last_;
  size_t inputs_ = 1, index_ = 0;
  uint64_t size_ = 0;
  double start_ = 0;
};

// Renders the report in the chosen format and writes it where the options say. With
// `--graph all`, meta.whole_graph says whether the command gave its whole graph (else a note on
// stderr, and the findings' neighbourhood is drawn). Returns kClean, kFindings, or kUsage when the report
// cannot be written (an output file that cannot be created, a full disk, a closed pipe: said on
// stderr with the reason).
int emit_report(const std::vector<Finding>& findings, const ReportMeta& meta,
                const OutputOptions& out);
// Writes `text` to `path` ("" or "-": stdout); false after saying why on stderr.
bool write_output(const std::string& path, const std::string& text);

// Prints diagnostics to stderr (the first `max`, then how many more); returns true when any of them
// is an error.
bool print_diagnostics(const std::vector<Diagnostic>& diags, size_t max = SIZE_MAX);

// Reads a whole input ("-" = stdin). On failure returns false and sets `error` (with the reason:
// the system's, or "is a directory"). Reading a terminal is said on stderr first. `progress`, when
// given, is told of the input and of every block read.
bool read_input(const std::string& path, std::string& text, std::string& error,
                ReadProgress* progress = nullptr);

// The input arguments with every directory replaced by the files under it (recursively, sorted),
// keeping only those ending in one of `extensions` when it is not empty. A directory with none
// is a warning; the other arguments pass through as they are.
std::vector<std::string> expand_inputs(const std::vector<std::string>& args,
                                       const std::vector<std::string>& extensions,
                                       std::vector<Diagnostic>& diags);

// An input read in blocks, for any size in bounded memory. "-" is stdin (said on stderr when it
// is a terminal); a directory or an unreadable file is an error with its reason; binary input (NUL
// bytes or mostly control characters in its first 64 KiB: `/bin/ls`, `/dev/zero`) is refused
// before anything else is read.
class InputStream {
 public:
  InputStream() = default;
  ~InputStream();
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;
  // `progress`, when given, is told of the input once it is open and of every block read.
  bool open(const std::string& path, std::string& error, ReadProgress* progress = nullptr);
  // Appends up to `max` bytes to `buf`; false at the end or on a read error (error() says).
  bool read(std::string& buf, size_t max);
  const std::string& error() const { return error_; }
  uint64_t bytes_read() const { return bytes_; }
  uint64_t size() const { return size_; }  // 0 when not a regular file

 private:
  int fd_ = -1;
  bool own_ = false;
  std::string head_;  // what the binary check read, not yet handed out
  std::string error_;
  uint64_t bytes_ = 0, size_ = 0;
  ReadProgress* progress_ = nullptr;
};

// Calls `fn` with every line of `path` (no newline); a line longer than 1 MiB is cut (a warning
// in `diags`). False when the input cannot be read (the error is in `diags`).
bool for_each_line(const std::string& path, const std::string& name, std::vector<Diagnostic>& diags,
                   const std::function<void(std::string_view)>& fn, ReadProgress* progress = nullptr);

// `lockhound run ... -- PROG ARGS`: main() keeps what follows the first "--" from the option
// parser; run takes it as the program (nullopt: no "--" was given).
std::optional<std::vector<std::string>>& run_after_dashes();

// A subcommand registers itself on `app` and stores its action in `run`.
using Action = std::function<int()>;

}  // namespace lockhound::cli
