// libFuzzer target: the scenario language parser and the engine behind it. Any input must
// parse (with diagnostics) without crashing, hanging or tripping a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scenario/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lockhound::ScenarioResult r = lockhound::check_scenario(text, "fuzz.lh");
  // Every diagnostic names a line inside the input.
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  for (const auto& d : r.diagnostics)
    if (d.line == 0 || d.line > lines) __builtin_trap();
  return 0;
}
