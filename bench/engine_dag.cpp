// The engine's cold path alone, for callgrind's instruction counts (docs/performance.md, issue
// 18): E new edges of a random DAG over C classes, as BM_BuildRandomDag builds them (each edge
// one new chain of two locks, no stacks). Run under callgrind for two values of E and divide the
// difference by the difference of E: instructions per new edge. Prints the engine's bytes per
// class and per edge (stats()), the same figures the runtime's summary prints at verbosity=2.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/validator.h"
#include "random_dag.h"

int main(int argc, char** argv) {
  using namespace lockhound;
  uint64_t edges = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  uint32_t classes = argc > 2 ? uint32_t(std::strtoul(argv[2], nullptr, 10)) : 100000;
  if (classes < 2) return 2;
  const auto pairs = bench::random_dag_edges(classes, edges);
  Validator v;
  Context t = v.context(1, "T");
  for (uint32_t i = 0; i < classes; ++i) v.lock_init(i + 1, v.lock_class("C" + std::to_string(i), LockKind::pthread_mutex));
  for (const auto& [a, b] : pairs) {
    v.acquire(t, a + 1, {}, {});
    v.acquire(t, b + 1, {}, {});
    v.release(t, b + 1, {});
    v.release(t, a + 1, {});
  }
  ValidatorStats st = v.stats();
  std::printf("%zu findings, %llu edges, %llu chains, %llu bytes per class, %llu per edge\n", v.finding_count(),
              (unsigned long long)st.edges, (unsigned long long)st.chains,
              (unsigned long long)(st.classes ? st.class_bytes / st.classes : 0),
              (unsigned long long)(st.edges ? st.edge_bytes / st.edges : 0));
  return 0;
}
