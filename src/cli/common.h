// Shared plumbing of the `lockhound` subcommands: output options, report emission, exit codes.
//
// Every subcommand takes `--format text|json|sarif|dot|html`, `-o FILE`, `--color`,
// `--source-root` and `--graph` (docs/reports.md), prints input diagnostics as
// "FILE:LINE: error: …" on stderr, and exits with: 0 clean, 1 findings, 2 usage error,
// 3 input error (partial results are still written before exiting 3).
#pragma once

#include <functional>
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
  std::string color = "auto";   // text: auto (a terminal, unless NO_COLOR), always, never
  std::string source_root;      // SARIF: locations relative to this directory
  std::string graph = "findings";  // dot, html: "findings" (their neighbourhood) or "all"
};

void add_output_options(CLI::App* cmd, OutputOptions& out);

// Whether the text report gets ANSI colours: --color=always, or auto with the report going to a
// terminal on stdout (not TERM=dumb) and NO_COLOR unset or empty. Never for other formats.
bool use_color(const OutputOptions& out);

// Progress on stderr, one rule for every command that does long work (scan, trace): drawn only
// when stderr is a terminal (not TERM=dumb) — or with --progress=always — and only once the work
// has taken half a second, at most ten times a second; erased before the report. Quiet otherwise.
void add_progress_option(CLI::App* cmd, std::string& mode);
class Progress {
 public:
  explicit Progress(const std::string& mode);
  bool enabled() const { return enabled_; }
  // Draws `line` (one line, no newline) when due. Callers serialise their calls.
  void update(const std::string& line);
  void clear();

 private:
  bool enabled_ = false;
  bool drawn_ = false;
  double start_ = 0, last_ = -1;
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

// Prints diagnostics to stderr; returns true when any of them is an error.
bool print_diagnostics(const std::vector<Diagnostic>& diags);

// Reads a whole input ("-" = stdin). On failure returns false and sets `error`.
bool read_input(const std::string& path, std::string& text, std::string& error);

// A subcommand registers itself on `app` and stores its action in `run`.
using Action = std::function<int()>;

}  // namespace lockhound::cli
