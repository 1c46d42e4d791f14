// libFuzzer target for `lockhound trace`: any bytes in, never a crash, a hang or an exception.
// Each input runs through the parser line by line and through the engine (TraceAnalyzer), and
// every string of the findings is touched, so a bad index or string on the way shows up here.
// The same bytes are read as a /proc/lockdep class list first (`trace --lockdep`) and steer the
// analysis of nested locks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <vector>

#include "trace/lockdep_classes.h"
#include "trace/trace_analyzer.h"
#include "trace/trace_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lockhound::trace::TraceOptions opt;
  opt.input_name = "fuzz";
  opt.max_diagnostics = 8;
  lockhound::trace::LockdepClasses classes;
  std::vector<lockhound::Diagnostic> class_diags;
  lockhound::trace::parse_lockdep_classes(text, "fuzz", classes, class_diags, 8);
  opt.lockdep = &classes;
  lockhound::trace::TraceAnalyzer analyzer(opt);
  lockhound::trace::analyze_text(text, analyzer);
  size_t n = 0;
  for (const auto& f : analyzer.findings()) {
    n += f.summary.size() + f.explanation.size() + f.fix.size() + f.location.size();
    for (const auto& c : f.classes) n += c.size();
    for (const auto& e : f.chain)
      for (const auto& fr : e.to_site.stack) n += fr.function.size() + fr.file.size();
    for (const auto& row : f.scenario.rows)
      for (const auto& cell : row) n += cell.size();
  }
  for (const auto& d : analyzer.diagnostics()) n += lockhound::format_diagnostic(d).size();
  return n == static_cast<size_t>(-1) ? 1 : 0;
}
