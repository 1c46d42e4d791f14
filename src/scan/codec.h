// The on-disk cache of `lockhound scan`: one file per compile command, holding the TU's facts and
// what they were computed from.
//
// An entry records the main file's content hash, a hash of the compile flags, and every header
// the TU read with its size, mtime and content hash. Validating an entry costs a stat per header
// ("direct mode": no preprocessing); a header whose size or mtime moved is hashed again and the
// entry survives a touch that changed nothing. Entries are CBOR (nlohmann::json) with a format
// version; decode_entry() checks every field's type and range and refuses anything else, so a
// corrupt, truncated or foreign file is ignored with a warning and never trusted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scan/extract.h"
#include "scan/facts.h"

namespace lockhound::scan {

inline constexpr int kCacheFormatVersion = 12;  // 12: a != b keyed as !(a == b); 11: binding groups; 6: enumerators in conditions by value; 7: panic notifiers; 8: queue ops; 9: parameter bindings; 10: callbacks through local pointers, one-bit masks as bits

struct CacheEntry {
  std::string file;
  uint64_t flags_hash = 0;
  uint64_t content_hash = 0;
  struct Include {
    std::string path;
    uint64_t size = 0;
    int64_t mtime = 0;
    uint64_t hash = 0;
  };
  std::vector<Include> includes;
  TuFacts facts;
};

std::string encode_entry(const CacheEntry& e);
// False (with a reason) for anything that is not a well-formed entry of this format version.
bool decode_entry(std::string_view bytes, CacheEntry& out, std::string& why);

// 64-bit FNV-1a: stable across runs and machines (the cache key must not depend on a seed).
uint64_t stable_hash(std::string_view data, uint64_t seed = 1469598103934665603ull);

}  // namespace lockhound::scan
