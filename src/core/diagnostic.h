// Diagnostic: one problem with an input (a malformed line), as every parser reports it.
//
// Parsers never throw across their interface and never drop what they already parsed: they
// return results plus diagnostics, and the CLI prints each diagnostic as
// "FILE:LINE: error: MESSAGE" and exits 3 when any is an error.
#pragma once

#include <cstddef>
#include <string>

namespace lockhound {

struct Diagnostic {
  std::string file;
  size_t line = 0;          // 1-based; 0 = the whole input
  std::string message;      // what was expected, what was found
  bool error = true;        // false: a warning (input tolerated)
};

inline std::string format_diagnostic(const Diagnostic& d) {
  std::string s = d.file;
  if (d.line) s += ":" + std::to_string(d.line);
  s += d.error ? ": error: " : ": warning: ";
  s += d.message;
  return s;
}

}  // namespace lockhound
