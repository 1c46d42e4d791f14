// Engine benchmarks (Google Benchmark; figures in docs/performance.md):
//   BM_AcquireReleaseSeenChain  - acquire+release pairs whose held-lock chain was seen before
//                                 (the runtime's fast path), nesting depth 1..4;
//   BM_BuildRandomDag           - 1M random edges of a DAG over 100k classes, every edge new;
//                                 reports memory per class and per edge.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/validator.h"
#include "random_dag.h"

namespace lockhound {
namespace {

void BM_AcquireReleaseSeenChain(benchmark::State& state) {
  const int depth = int(state.range(0));
  Validator v;
  Context t = v.context(1, "T");
  for (int i = 0; i < depth; ++i) v.lock_init(uint64_t(0x1000 + 64 * i), v.lock_class("L" + std::to_string(i), LockKind::pthread_mutex));
  auto round = [&] {
    for (int i = 0; i < depth; ++i) v.acquire(t, uint64_t(0x1000 + 64 * i), {}, Site{0x400000});
    for (int i = depth; i-- > 0;) v.release(t, uint64_t(0x1000 + 64 * i), Site{0x400000});
  };
  round();  // every chain seen once
  for (auto _ : state) round();
  state.SetItemsProcessed(int64_t(state.iterations()) * depth);  // items = acquire+release pairs
  state.counters["ns_per_pair"] = benchmark::Counter(double(state.iterations()) * depth,
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_AcquireReleaseSeenChain)->Arg(1)->Arg(2)->Arg(4);

void BM_BuildRandomDag(benchmark::State& state) {
  const uint32_t classes = uint32_t(state.range(0));
  const uint64_t edges = uint64_t(state.range(1));
  const auto pairs = bench::random_dag_edges(classes, edges);
  for (auto _ : state) {
    Validator v;
    Context t = v.context(1, "T");
    for (uint32_t i = 0; i < classes; ++i) v.lock_init(i + 1, v.lock_class("C" + std::to_string(i), LockKind::pthread_mutex));
    const double class_bytes = double(v.stats().memory_bytes);
    for (const auto& [a, b] : pairs) {
      v.acquire(t, a + 1, {}, {});
      v.acquire(t, b + 1, {}, {});
      v.release(t, b + 1, {});
      v.release(t, a + 1, {});
    }
    ValidatorStats st = v.stats();
    if (v.finding_count() != 0) state.SkipWithError("a DAG produced findings");
    state.counters["edges"] = double(st.edges);
    state.counters["graph_searches"] = double(st.graph_searches);
    // Classes and their instances first; everything added while building the graph (edges,
    // adjacency, chains, per-class usage) is charged to the edges.
    state.counters["bytes_per_class"] = class_bytes / classes;
    state.counters["bytes_per_edge"] = (double(st.memory_bytes) - class_bytes) / double(st.edges);
    state.counters["bytes_total"] = double(st.memory_bytes);
    state.counters["chains"] = double(st.chains);
  }
}
BENCHMARK(BM_BuildRandomDag)->Args({100000, 1000000})->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace lockhound

BENCHMARK_MAIN();
