// The engine's fast path alone, for instruction counts: N acquire/release pairs of one lock on a
// seen chain (docs/performance.md: run under callgrind for N = 100000 and 200000 and divide the
// difference by 100000; `depth` nests that many locks per pair).
#include <cstdio>
#include <cstdlib>

#include "core/validator.h"

int main(int argc, char** argv) {
  using namespace lockhound;
  long n = argc > 1 ? std::atol(argv[1]) : 100000;
  int depth = argc > 2 ? std::atoi(argv[2]) : 1;
  Validator v;
  Context ctx = v.context(1, "T");
  for (int d = 0; d < depth; ++d) v.lock_init(uint64_t(d + 1) * 64, v.lock_class("l" + std::to_string(d), LockKind::pthread_mutex));
  for (long i = 0; i < n; ++i) {
    for (int d = 0; d < depth; ++d) v.acquire(ctx, uint64_t(d + 1) * 64, AcquireFlags{}, Site{0x1000u + unsigned(d)});
    for (int d = depth; d-- > 0;) v.release(ctx, uint64_t(d + 1) * 64, Site{});
  }
  std::printf("%zu findings\n", v.finding_count());
  return 0;
}
