// `lockhound scan`: the static front end for C source, from paths or a compilation database to
// findings in the common report model.
//
// run_scan() gathers the compile jobs (a compile_commands.json, or every .c under the given paths
// with sensible defaults), drops the gcc-only flags clang rejects (Kbuild's), parses the jobs on N
// threads (or takes their facts from the on-disk cache when nothing they read changed), then runs
// the whole-program analysis over every TU's facts and replays it into one Validator. A file that
// fails to parse is reported as a diagnostic and left out; everything else is still analysed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "core/finding.h"

namespace lockhound::scan {

struct ScanOptions {
  std::vector<std::string> paths;        // files or directories; with a database: a filter
  std::string compile_db;                // compile_commands.json ("" = none)
  std::vector<std::string> extra_flags;  // appended to every command (after `--`)
  unsigned jobs = 0;                     // 0 = one per core
  std::string cache_dir = ".lockhound-cache";
  bool use_cache = true;
  // Called after each file (done, total, file) from the worker threads, serialised.
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct ScanStats {
  uint64_t files = 0, parsed = 0, cached = 0, failed = 0, lines = 0;
  uint64_t functions = 0, roots = 0, callbacks = 0, events = 0, classes = 0, dependencies = 0;
  // Kernel modules analysed apart (module_groups in scan.cpp); 0 when the program was one.
  uint64_t modules = 0;
};

struct ScanResult {
  std::vector<Finding> findings;
  std::vector<Diagnostic> diagnostics;   // errors: files that failed; warnings: cache entries ignored
  ScanStats stats;
  bool usage_error = false;              // bad options or no input at all
};

ScanResult run_scan(const ScanOptions& options);

// The commands run_scan would parse, each as {directory, file, argv...} (for benchmarks that compare
// with plain `clang -fsyntax-only` on the very same flags).
std::vector<std::vector<std::string>> scan_commands(const ScanOptions& options);

// Kbuild's gcc command line made fit for clang (static-feasibility.md §2): drops output and
// dependency options, debug info and the gcc-only flags clang rejects, adds parse-only options.
std::vector<std::string> clang_args(const std::vector<std::string>& command);

}  // namespace lockhound::scan
