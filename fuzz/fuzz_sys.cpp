// libFuzzer target for the /proc parsers of lockhound sys / import: /proc/locks (and the
// file-lock wait-for analysis on what it parsed), /proc/lock_stat, /proc/lockdep (and its cycle
// search), /proc/lockdep_stats, and format detection. Any input must parse without crashing,
// every diagnostic must name a line inside the input, and parsed entries must carry their line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sys/live.h"
#include "sys/sys_report.h"

using namespace lockhound::sys;

namespace {

size_t count_lines(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n + (!s.empty() && s.back() != '\n');
}

void check(const std::vector<lockhound::Diagnostic>& diags, size_t lines) {
  for (const auto& d : diags)
    if (d.line > lines) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t lines = count_lines(text);

  auto pl = parse_proc_locks(text, "fuzz");
  check(pl.diagnostics, lines);
  for (size_t i = 0; i < pl.locks.size(); ++i) {
    const auto& l = pl.locks[i];
    if (l.line == 0 || l.line > lines) std::abort();
    if (l.blocker != static_cast<size_t>(-1) && l.blocker >= i) std::abort();
  }
  SysReport r;
  analyze_file_locks(pl, {}, "import", "fuzz", r);

  auto ls = parse_lock_stat(text, "fuzz");
  check(ls.diagnostics, lines);
  top_contended(ls, 10);

  auto ld = parse_lockdep(text, "fuzz");
  check(ld.diagnostics, lines);
  // Cycle enumeration is exponential in dense graphs by nature (bounded by a budget); keep
  // the fuzzer on the parsers rather than on enumerating cycles of random graphs.
  if (ld.classes.size() < 64) analyze_lockdep(ld, "import", "fuzz", r);

  auto st = parse_lockdep_stats(text, "fuzz");
  check(st.diagnostics, lines);
  analyze_lockdep_stats(st, "import", "fuzz", r);

  parse_kernel_stack(text);
  SysReport r2;
  import_text(text, "fuzz", 5, r2);
  render_summary_text(r2);
  summary_json(r2).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
