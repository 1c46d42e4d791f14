// lockhound-scan.so: the clang half of `lockhound scan` as a module the command loads with dlopen()
// only when `scan` parses C, so that no other command (and not `lockhound --version`, nor the
// start of every `lockhound run`) pays for relocating clang's and LLVM's shared libraries.
//
// The module exports one C symbol, lockhound_scan_module(), which returns the table below. The
// command and the module come from one build of lockhound (they pass C++ objects to each other),
// so the command refuses a module whose `version` or `layout` is not its own. Everything clang-free
// (the API table, option parsing, --help, rendering the report) stays in the command.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "scan/scan.h"

namespace lockhound::scan {

struct ScanModule {
  const char* version;  // the lockhound version it was built as
  size_t layout;        // module_layout() as the module saw it
  ScanResult (*run)(const ScanOptions&);
  std::vector<std::vector<std::string>> (*commands)(const ScanOptions&);
};

// What both sides must agree on for the objects they pass (a change of these types changes it).
constexpr size_t module_layout() {
  return sizeof(ScanModule) + 3 * sizeof(ScanOptions) + 5 * sizeof(ScanResult) + 7 * sizeof(ScanStats) +
         11 * sizeof(Finding) + 13 * sizeof(Diagnostic);
}

// The module's file name, and the symbol it exports.
inline constexpr const char* kModuleFile = "lockhound-scan.so";
inline constexpr const char* kModuleSymbol = "lockhound_scan_module";

}  // namespace lockhound::scan

extern "C" const lockhound::scan::ScanModule* lockhound_scan_module();
