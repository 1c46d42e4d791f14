// Parser of /proc/lock_stat (CONFIG_LOCK_STAT): per lock class, how often it was contended,
// how long waiters waited and holders held it, and where the contention came from.
//
// Reads version 0.4 as kernels print it: the optional "lock debugging disabled" warning, the
// header, class lines ("name:" or "name-W:"/"name-R:" when a class has both write and read
// statistics) with twelve numbers (times in microseconds with two decimals), and each class's
// contention points and contending points with their symbols. Malformed lines become error
// diagnostics naming the line; everything else is still parsed. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace lockhound::sys {

struct ContentionPoint {
  uint64_t count = 0;
  std::string ip;      // "ffffffff81130f19" (hashed unless the kernel ran with no_hash_pointers)
  std::string symbol;  // "slob_alloc.isra.0+0x5c/0x1d2"
};

struct LockStatClass {
  size_t line = 0;
  std::string name;     // as printed, without the -W/-R suffix
  char rw = 0;          // 'W' or 'R' when the kernel split the class into write and read lines
  uint64_t con_bounces = 0, contentions = 0;
  double waittime_min = 0, waittime_max = 0, waittime_total = 0, waittime_avg = 0;  // µs
  uint64_t acq_bounces = 0, acquisitions = 0;
  double holdtime_min = 0, holdtime_max = 0, holdtime_total = 0, holdtime_avg = 0;  // µs
  std::vector<ContentionPoint> contention_points;  // where waiters waited
  std::vector<ContentionPoint> contending_points;  // where the holder took it meanwhile
};

struct LockStat {
  std::string version;            // "0.4"
  bool debugging_disabled = false;  // lockdep switched itself off (after a report)
  std::vector<LockStatClass> classes;
  std::vector<Diagnostic> diagnostics;
};

LockStat parse_lock_stat(std::string_view text, std::string_view file = "/proc/lock_stat");

// The `n` most contended classes: by contentions, then total wait time, then name.
std::vector<const LockStatClass*> top_contended(const LockStat& stat, size_t n);

bool looks_like_lock_stat(std::string_view text);

}  // namespace lockhound::sys
