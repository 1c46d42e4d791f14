// Shared plumbing of the `lockhound` subcommands: output options, report emission, exit codes.
//
// Every subcommand takes `--format text|json` and `-o FILE`, prints input diagnostics as
// "FILE:LINE: error: …" on stderr, and exits with: 0 clean, 1 findings, 2 usage error,
// 3 input error (partial results are still written before exiting 3).
#pragma once

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
};

void add_output_options(CLI::App* cmd, OutputOptions& out);

// Writes the report where the options say. Returns kClean, kFindings, or kUsage when the report
// cannot be written (an output file that cannot be created, a full disk, a closed pipe: said on
// stderr with the reason).
int emit_report(const std::vector<Finding>& findings, const ReportMeta& meta,
                const OutputOptions& out);
// Writes `text` to `path` ("" or "-": stdout); false after saying why on stderr.
bool write_output(const std::string& path, const std::string& text);

// Prints diagnostics to stderr; returns true when any of them is an error.
bool print_diagnostics(const std::vector<Diagnostic>& diags);

// Reads a whole input ("-" = stdin). On failure returns false and sets `error` (with the reason:
// the system's, or "is a directory"). Reading a terminal is said on stderr first.
bool read_input(const std::string& path, std::string& text, std::string& error);

// The input arguments with every directory replaced by the files under it (recursively, sorted),
// keeping only those ending in one of `extensions` when it is not empty. A directory with none
// is a warning; the other arguments pass through as they are.
std::vector<std::string> expand_inputs(const std::vector<std::string>& args,
                                       const std::vector<std::string>& extensions,
                                       std::vector<Diagnostic>& diags);

// `lockhound run ... -- PROG ARGS`: main() keeps what follows the first "--" from the option
// parser; run takes it as the program (nullopt: no "--" was given).
std::optional<std::vector<std::string>>& run_after_dashes();

// A subcommand registers itself on `app` and stores its action in `run`.
using Action = std::function<int()>;

}  // namespace lockhound::cli
