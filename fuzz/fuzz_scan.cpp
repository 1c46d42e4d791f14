// libFuzzer target: the scan cache decoder must refuse any malformed entry without crashing,
// and whatever it accepts must encode and decode to the same facts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scan/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lockhound::scan;
  CacheEntry e;
  std::string why;
  if (!decode_entry(std::string_view(reinterpret_cast<const char*>(data), size), e, why)) return 0;
  CacheEntry again;
  if (!decode_entry(encode_entry(e), again, why) || !(again.facts == e.facts)) __builtin_trap();
  return 0;
}
