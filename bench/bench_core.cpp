// Engine benchmarks (Google Benchmark; figures in docs/performance.md):
//   BM_AcquireReleaseSeenChain  - acquire+release pairs whose held-lock chain was seen before
//                                 (the runtime's fast path), nesting depth 1..4;
//   BM_BuildRandomDag           - 1M random edges of a DAG over 100k classes, every edge new;
//                                 reports memory per class and per edge.
//   BM_RandomDagFloor           - the same edges through only the memory any engine of this
//                                 model must touch per new edge (both locks' classes found by
//                                 address, their records read, the chain cache and the edge
//                                 index probed and written, the edge appended), in tables of
//                                 the engine's sizes and memory (huge pages), nothing else: a
//                                 lower bound for BM_BuildRandomDag on the machine it runs on.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/table_memory.h"
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

// Open addressing over 8-byte keys (0 = empty), as the chain cache and the edge index are.
bool floor_insert(engine::ZeroArray<uint64_t>& t, uint64_t key) {
  size_t mask = t.size() - 1;
  for (size_t i = (key * 0x9E3779B97F4A7C15ull) >> 20 & mask;; i = (i + 1) & mask) {
    if (t[i] == key) return false;
    if (t[i] == 0) {
      t[i] = key;
      return true;
    }
  }
}

void BM_RandomDagFloor(benchmark::State& state) {
  const uint32_t classes = uint32_t(state.range(0));
  const uint64_t edges = uint64_t(state.range(1));
  const auto pairs = bench::random_dag_edges(classes, edges);
  struct alignas(64) Record {
    uint64_t rank;
    uint32_t out, in, used;
  };
  struct Slot {
    uint64_t lock;
    uint32_t cls, pad;
  };
  struct Edge {
    uint32_t from, to, a, b, c, d, e;
  };
  auto pow2 = [](uint64_t n) { return uint64_t(1) << (64 - __builtin_clzll(n * 4 / 3)); };
  for (auto _ : state) {
    engine::ZeroArray<Slot> inst(pow2(classes));
    engine::ZeroArray<Record> recs(classes);
    engine::ZeroArray<uint64_t> chains(pow2(edges + classes)), index(pow2(edges));
    engine::ZeroArray<Edge> out(edges);
    size_t imask = inst.size() - 1;
    for (uint32_t c = 0; c < classes; ++c) {  // lock c + 1 is class c, as BM_BuildRandomDag makes them
      size_t i = ((c + 1) * 0x9E3779B97F4A7C15ull) >> 20 & imask;
      while (inst[i].lock) i = (i + 1) & imask;
      inst[i] = Slot{c + 1, c, 0};
      recs[c].rank = c;
    }
    auto class_of = [&](uint64_t lock) {
      for (size_t i = (lock * 0x9E3779B97F4A7C15ull) >> 20 & imask;; i = (i + 1) & imask)
        if (inst[i].lock == lock) return inst[i].cls;
    };
    size_t n = 0, ordered = 0;
    for (const auto& [a, b] : pairs) {
      uint32_t ca = class_of(a + 1);
      recs[ca].used++;
      floor_insert(chains, uint64_t(ca) + 1);
      uint32_t cb = class_of(b + 1);
      recs[cb].used++;
      if (!floor_insert(chains, (uint64_t(ca) << 32 | cb) * 3 + 2)) continue;
      if (!floor_insert(index, uint64_t(ca) << 32 | cb | (uint64_t(1) << 63))) continue;
      out[n++] = Edge{ca, cb, 0, 0, 0, 0, 0};
      recs[ca].out = uint32_t(n);
      recs[cb].in = uint32_t(n);
      ordered += recs[ca].rank < recs[cb].rank;
    }
    benchmark::DoNotOptimize(ordered);
    state.counters["edges"] = double(n);
  }
}
BENCHMARK(BM_RandomDagFloor)->Args({100000, 1000000})->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace lockhound

BENCHMARK_MAIN();
