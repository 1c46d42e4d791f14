// libFuzzer target for `lockhound explain`: any bytes in, never a crash, a hang or an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "explain/explain.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = lockhound::explain::explain_log(text, "fuzz");
  // Touch what renderers read, so a bad string or index shows up here.
  size_t n = 0;
  for (const auto& f : r.findings) {
    n += f.classes.size() + f.chain.size() + f.raw.size() + f.summary.size() + f.fix.size();
    for (const auto& row : f.scenario.rows) n += row.size();
  }
  return n == static_cast<size_t>(-1) ? 1 : 0;
}
