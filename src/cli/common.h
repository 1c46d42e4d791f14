// Shared plumbing of the `lockhound` subcommands: output options, report emission, exit codes.
//
// Every subcommand takes `--format text|json` and `-o FILE`, prints input diagnostics as
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
};

void add_output_options(CLI::App* cmd, OutputOptions& out);

// Writes the report where the options say. Returns kClean, kFindings, or kUsage when the report
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
// the system's, or "is a directory"). Reading a terminal is said on stderr first.
bool read_input(const std::string& path, std::string& text, std::string& error);

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
  bool open(const std::string& path, std::string& error);
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
};

// Calls `fn` with every line of `path` (no newline); a line longer than 1 MiB is cut (a warning
// in `diags`). False when the input cannot be read (the error is in `diags`).
bool for_each_line(const std::string& path, const std::string& name, std::vector<Diagnostic>& diags,
                   const std::function<void(std::string_view)>& fn);

// `lockhound run ... -- PROG ARGS`: main() keeps what follows the first "--" from the option
// parser; run takes it as the program (nullopt: no "--" was given).
std::optional<std::vector<std::string>>& run_after_dashes();

// A subcommand registers itself on `app` and stores its action in `run`.
using Action = std::function<int()>;

}  // namespace lockhound::cli
