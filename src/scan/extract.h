// Parsing one C translation unit with clang's C++ libraries and reducing it to TuFacts.
//
// The extractor runs clang's driver on a compile command (parse only), walks every function
// defined in the main file (and the header inlines they call) with clang::CFG, and keeps only
// what the locking analysis needs (facts.h). It classifies calls with the API table (api.h),
// names lock classes the way lockdep does (innermost `struct TYPE::FIELD`, a global's name,
// function-style locks by their function), folds GFP arguments to integers with clang's
// constant evaluator and maps code in macro expansions back to the line the programmer wrote.
//
// Thread safety: extract_tu may run on several threads at once; each call owns its compiler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scan/facts.h"

namespace lockhound::scan {

struct CompileJob {
  std::string file;                 // absolute path of the .c file
  std::string directory;            // working directory of the command
  std::vector<std::string> args;    // full command line (argv[0] first), already filtered
};

// A file the TU read, for the cache's "direct mode" check.
struct IncludedFile {
  std::string path;
  uint64_t size = 0;
  int64_t mtime = 0;
};

struct ExtractResult {
  bool ok = false;
  std::string error;                // first error, "file:line:col: message"
  TuFacts facts;
  std::vector<IncludedFile> includes;  // every file the TU read but the main file
};

ExtractResult extract_tu(const CompileJob& job);

// clang's resource directory (stddef.h and friends) for the clang this binary links, found at
// run time: $LOCKHOUND_CLANG_RESOURCE_DIR, else /usr/lib/llvm-<major>/lib/clang/<version>.
std::string clang_resource_dir();

}  // namespace lockhound::scan
