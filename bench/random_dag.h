// The edges of a random DAG over `classes` classes, for the engine's cold-path benchmarks
// (BM_BuildRandomDag, engine_dag): a hidden order (a random permutation) that every edge goes
// forward in, so no edge closes a cycle, while the edges arrive in random order and the engine
// must reorder. Seeded: every run builds the same graph.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace lockhound::bench {

inline std::vector<std::pair<uint32_t, uint32_t>> random_dag_edges(uint32_t classes, uint64_t edges) {
  std::mt19937_64 rng(42);
  std::vector<uint32_t> perm(classes);
  for (uint32_t i = 0; i < classes; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  pairs.reserve(edges);
  while (pairs.size() < edges) {
    uint32_t a = uint32_t(rng() % classes), b = uint32_t(rng() % classes);
    if (a == b) continue;
    if (a > b) std::swap(a, b);
    pairs.emplace_back(perm[a], perm[b]);
  }
  return pairs;
}

}  // namespace lockhound::bench
