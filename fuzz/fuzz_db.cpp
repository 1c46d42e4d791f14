// libFuzzer target for the lock-order database's text columns (db/codec.h): any bytes in, never a
// crash, a hang or an exception; what decodes encodes again and decodes to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "db/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  lockhound::Finding f;
  if (lockhound::db::decode_finding(text, f, error)) {
    std::string once = lockhound::db::encode_finding(f);
    lockhound::Finding g;
    if (!lockhound::db::decode_finding(once, g, error) || lockhound::db::encode_finding(g) != once) std::abort();
  }
  lockhound::Edge e;
  if (lockhound::db::decode_evidence(text, e, error)) {
    std::string once = lockhound::db::encode_evidence(e);
    lockhound::Edge g;
    if (!lockhound::db::decode_evidence(once, g, error) || lockhound::db::encode_evidence(g) != once) std::abort();
  }
  return 0;
}
