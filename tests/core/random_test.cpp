// Randomised differential test: thousands of random lock-event streams (fixed seeds) through the
// Validator and through a reference model written for this test — every acquisition adds its
// edges (nearest held lock plus trylocks directly above it, no chain cache, no topological
// order), and cycles are found by brute force over the recorded edges. Both must agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>

#include "core/validator.h"
#include "report/report.h"

namespace lockhound {
namespace {

struct RefEdge {
  std::set<int> gates;  // intersection over observations
};

struct Reference {
  std::map<std::pair<int, int>, RefEdge> edges;
  std::set<std::pair<int, int>> closing;  // edges whose first appearance closed a cycle

  bool reachable(int from, int to) const {
    std::set<int> seen{from};
    std::vector<int> work{from};
    while (!work.empty()) {
      int c = work.back();
      work.pop_back();
      if (c == to) return true;
      for (const auto& [e, _] : edges)
        if (e.first == c && seen.insert(e.second).second) work.push_back(e.second);
    }
    return false;
  }

  void add(int from, int to, const std::set<int>& gates) {
    auto it = edges.find({from, to});
    if (it != edges.end()) {
      std::set<int> inter;
      std::set_intersection(it->second.gates.begin(), it->second.gates.end(), gates.begin(), gates.end(),
                            std::inserter(inter, inter.begin()));
      it->second.gates = inter;
      return;
    }
    if (reachable(to, from)) closing.insert({from, to});
    edges[{from, to}] = RefEdge{gates};
  }

  // Every simple cycle (as a list of nodes), by DFS from each smallest node.
  void cycles(int n, const std::function<void(const std::vector<int>&)>& visit) const {
    std::vector<int> path;
    std::vector<bool> on(size_t(n), false);
    std::function<void(int, int)> dfs = [&](int start, int c) {
      for (const auto& [e, _] : edges) {
        if (e.first != c) continue;
        if (e.second == start) {
          visit(path);
        } else if (e.second > start && !on[size_t(e.second)]) {
          on[size_t(e.second)] = true;
          path.push_back(e.second);
          dfs(start, e.second);
          path.pop_back();
          on[size_t(e.second)] = false;
        }
      }
    };
    for (int s = 0; s < n; ++s) {
      path = {s};
      on.assign(size_t(n), false);
      on[size_t(s)] = true;
      dfs(s, s);
    }
  }

  bool has_cycle(int n) const {
    bool any = false;
    cycles(n, [&](const std::vector<int>&) { any = true; });
    return any;
  }

  bool has_unguarded_cycle(int n) const {
    bool any = false;
    cycles(n, [&](const std::vector<int>& p) {
      std::set<int> common;
      for (size_t i = 0; i < p.size(); ++i) {
        const auto& g = edges.at({p[i], p[(i + 1) % p.size()]}).gates;
        if (i == 0) {
          common = g;
        } else {
          std::set<int> inter;
          std::set_intersection(common.begin(), common.end(), g.begin(), g.end(), std::inserter(inter, inter.begin()));
          common = inter;
        }
      }
      if (common.empty()) any = true;
    });
    return any;
  }
};

struct Stream {
  int classes, contexts, steps, max_depth;
  double try_rate;
};

// Runs one random stream through both; returns the validator's findings.
std::vector<Finding> simulate(uint32_t seed, const Stream& s, bool gates, Reference& ref, uint64_t* edges = nullptr,
                              uint32_t search_generations = 1u << 23) {
  std::mt19937 rng(seed);
  ValidatorOptions opt;
  opt.gate_locks = gates;
  opt.search_generations = search_generations;
  Validator v(opt);
  std::vector<Context> ctx;
  for (int c = 0; c < s.contexts; ++c) ctx.push_back(v.context(uint64_t(c + 1), "T" + std::to_string(c)));
  for (int i = 0; i < s.classes; ++i) v.lock_init(uint64_t(i + 1), v.lock_class("L" + std::to_string(i), LockKind::mutex));
  struct Held { int cls; bool try_; };
  std::vector<std::vector<Held>> held(size_t(s.contexts));
  std::vector<bool> busy(size_t(s.classes), false);
  std::uniform_real_distribution<double> u(0, 1);
  for (int step = 0; step < s.steps; ++step) {
    int c = int(rng() % uint32_t(s.contexts));
    auto& h = held[size_t(c)];
    bool can_take = int(h.size()) < s.max_depth;
    if (can_take && (h.empty() || u(rng) < 0.6)) {
      std::vector<int> free;
      for (int i = 0; i < s.classes; ++i)
        if (!busy[size_t(i)]) free.push_back(i);
      if (free.empty()) continue;
      int l = free[rng() % free.size()];
      bool tr = u(rng) < s.try_rate;
      if (!tr) {
        std::set<int> gate_set;
        for (size_t i = h.size(); i-- > 0;) {
          // gates of edge h[i] -> l: every other held lock
          std::set<int> g;
          if (gates)
            for (size_t j = 0; j < h.size(); ++j)
              if (j != i) g.insert(h[j].cls);
          ref.add(h[i].cls, l, g);
          if (!h[i].try_) break;
        }
      }
      AcquireFlags fl;
      fl.trylock = tr;
      v.acquire(ctx[size_t(c)], uint64_t(l + 1), fl, {});
      h.push_back({l, tr});
      busy[size_t(l)] = true;
    } else if (!h.empty()) {
      // Usually the top; sometimes out of order.
      size_t i = u(rng) < 0.8 ? h.size() - 1 : rng() % h.size();
      v.release(ctx[size_t(c)], uint64_t(h[i].cls + 1), {});
      busy[size_t(h[i].cls)] = false;
      h.erase(h.begin() + long(i));
    }
  }
  if (edges) *edges = v.stats().edges;
  return v.findings();
}

TEST(Randomized, CyclesMatchBruteForceReference) {
  const Stream s{8, 3, 40, 4, 0.15};
  size_t with_cycles = 0;
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    Reference ref;
    auto fs = simulate(seed, s, /*gates=*/false, ref);
    std::set<std::pair<std::string, std::string>> got, want;
    for (const auto& f : fs) {
      ASSERT_EQ(f.type, FindingType::circular_dependency) << "seed " << seed;
      // The reported chain is a real cycle of recorded edges.
      ASSERT_FALSE(f.chain.empty());
      for (size_t i = 0; i < f.chain.size(); ++i) {
        const Edge& e = f.chain[i];
        EXPECT_EQ(e.to, f.chain[(i + 1) % f.chain.size()].from) << "seed " << seed;
        int a = std::stoi(e.from.substr(1)), b = std::stoi(e.to.substr(1));
        EXPECT_TRUE(ref.edges.count({a, b})) << "seed " << seed << " edge " << e.from << "->" << e.to;
      }
      got.insert({f.chain.back().from, f.chain.back().to});
    }
    for (const auto& [a, b] : ref.closing) want.insert({"L" + std::to_string(a), "L" + std::to_string(b)});
    ASSERT_EQ(got, want) << "seed " << seed;
    with_cycles += !want.empty();
  }
  // The generator must exercise both outcomes.
  EXPECT_GT(with_cycles, 300u);
  EXPECT_LT(with_cycles, 2900u);
}

// The same with the searches' marks cleared every third search (ValidatorOptions::
// search_generations): a mark left from before a wrap would make a search skip a class it has not
// reached, and a cycle through it would go unreported.
TEST(Randomized, CyclesMatchBruteForceReferenceWhenSearchMarksWrapOften) {
  const Stream s{64, 3, 160, 3, 0.1};
  size_t with_cycles = 0;
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    Reference ref;
    auto fs = simulate(seed, s, /*gates=*/false, ref, nullptr, /*search_generations=*/4);
    std::set<std::pair<std::string, std::string>> got, want;
    for (const auto& f : fs) got.insert({f.chain.back().from, f.chain.back().to});
    for (const auto& [a, b] : ref.closing) want.insert({"L" + std::to_string(a), "L" + std::to_string(b)});
    ASSERT_EQ(got, want) << "seed " << seed;
    with_cycles += !want.empty();
  }
  EXPECT_GT(with_cycles, 40u);
}

// Bigger graphs, where the topological order is reshuffled often: locks are first seen in
// random order, so new edges keep going against it.
TEST(Randomized, CyclesMatchBruteForceReferenceOnBiggerGraphs) {
  const Stream s{64, 3, 160, 3, 0.1};
  size_t with_cycles = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    Reference ref;
    auto fs = simulate(seed, s, /*gates=*/false, ref);
    std::set<std::pair<std::string, std::string>> got, want;
    for (const auto& f : fs) {
      ASSERT_EQ(f.type, FindingType::circular_dependency) << "seed " << seed;
      got.insert({f.chain.back().from, f.chain.back().to});
    }
    for (const auto& [a, b] : ref.closing) want.insert({"L" + std::to_string(a), "L" + std::to_string(b)});
    ASSERT_EQ(got, want) << "seed " << seed;
    with_cycles += !want.empty();
  }
  EXPECT_GT(with_cycles, 30u);
  EXPECT_LT(with_cycles, 290u);
}

// Long streams over few classes: most classes get more out-edges than the engine searches in
// their own list (Impl::kScanDegree, 16), so edges are found through the index, and every class
// crosses from one way to the other on the way. Each edge is recorded once.
TEST(Randomized, CyclesMatchBruteForceReferenceWhereClassesHaveManyEdges) {
  const Stream s{40, 3, 4000, 3, 0.1};
  size_t busy_classes = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    Reference ref;
    uint64_t edges = 0;
    auto fs = simulate(seed, s, /*gates=*/false, ref, &edges);
    EXPECT_EQ(edges, ref.edges.size()) << "seed " << seed;
    std::map<int, int> out_degree;
    for (const auto& [e, re] : ref.edges) out_degree[e.first]++;
    for (const auto& [c, d] : out_degree) busy_classes += d > 16;
    std::set<std::pair<std::string, std::string>> got, want;
    for (const auto& f : fs) {
      ASSERT_EQ(f.type, FindingType::circular_dependency) << "seed " << seed;
      got.insert({f.chain.back().from, f.chain.back().to});
    }
    for (const auto& [a, b] : ref.closing) want.insert({"L" + std::to_string(a), "L" + std::to_string(b)});
    ASSERT_EQ(got, want) << "seed " << seed;
  }
  EXPECT_GT(busy_classes, 240u);  // most of the 12 x 40 classes
}

TEST(Randomized, GuardedCyclesMatchBruteForceReference) {
  const Stream s{6, 2, 40, 4, 0.1};
  size_t guarded_only = 0, unguarded = 0;
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    Reference ref;
    auto fs = simulate(seed, s, /*gates=*/true, ref);
    bool circ = false, any = false;
    for (const auto& f : fs) {
      circ |= f.type == FindingType::circular_dependency;
      any |= f.type == FindingType::circular_dependency || f.type == FindingType::guarded_cycle;
    }
    bool ref_unguarded = ref.has_unguarded_cycle(s.classes);
    ASSERT_EQ(circ, ref_unguarded) << "seed " << seed << [&] {
      std::string out;
      for (const auto& f : fs) out += render_finding_text(f);
      for (const auto& [e, re] : ref.edges) {
        out += "ref edge L" + std::to_string(e.first) + "->L" + std::to_string(e.second) + " gates:";
        for (int g : re.gates) out += " L" + std::to_string(g);
        out += "\n";
      }
      return out;
    }();
    ASSERT_EQ(any, ref.has_cycle(s.classes)) << "seed " << seed;
    guarded_only += any && !circ;
    unguarded += circ;
  }
  EXPECT_GT(guarded_only, 20u);
  EXPECT_GT(unguarded, 200u);
}

// The topological order where it keeps running out of room: hundreds of classes placed one to three
// at a time at one point (each time below the same class), then random edges that keep no cycle,
// many of them against the order, then one that closes a cycle. Every edge is judged as a plain
// reachability search over the recorded edges judges it: a rank left out of order by a respacing
// would let a cycle through unreported (check_prev_add trusts the ranks).
TEST(Randomized, OrderStaysExactWhereItIsRespacedOften) {
  uint64_t respacings = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    Validator v;
    Context t = v.context(1, "T");
    std::vector<uint64_t> lock;
    std::vector<std::vector<int>> out;
    auto add_class = [&] {
      int n = int(lock.size());
      lock.push_back(uint64_t(n + 1));
      v.lock_init(lock.back(), v.lock_class("L" + std::to_string(n), LockKind::mutex));
      out.emplace_back();
      return n;
    };
    auto reaches = [&](int from, int to) {
      std::vector<bool> seen(out.size());
      std::vector<int> work{from};
      seen[size_t(from)] = true;
      while (!work.empty()) {
        int c = work.back();
        work.pop_back();
        if (c == to) return true;
        for (int d : out[size_t(c)])
          if (!seen[size_t(d)]) seen[size_t(d)] = true, work.push_back(d);
      }
      return false;
    };
    auto nest = [&](int a, int b) {
      v.acquire(t, lock[size_t(a)], {}, {});
      v.acquire(t, lock[size_t(b)], {}, {});
      v.release(t, lock[size_t(b)], {});
      v.release(t, lock[size_t(a)], {});
      out[size_t(a)].push_back(b);
    };
    const int chain = 300;
    for (int k = 0; k < chain; ++k) {
      add_class();
      if (k > 0) nest(k - 1, k);
    }
    int y = chain / 2 + int(rng() % 50);
    for (int k = 0; k < 150; ++k) {
      // One to three new classes (on top of the order) nested in a row, then the last under y:
      // they all move below y, into the same gap every time.
      int first = add_class(), last = first;
      nest(int(rng() % 20), first);
      for (int g = int(rng() % 3); g > 0; --g) {
        int z = add_class();
        nest(last, z);
        last = z;
      }
      nest(last, y);
    }
    ASSERT_EQ(v.finding_count(), 0u) << "seed " << seed;
    ASSERT_TRUE(v.order_consistent()) << "seed " << seed;
    int n = int(lock.size());
    for (int added = 0; added < 400;) {
      int a = int(rng() % uint32_t(n)), b = int(rng() % uint32_t(n));
      if (a == b || reaches(b, a)) continue;
      nest(a, b);
      ++added;
      ASSERT_EQ(v.finding_count(), 0u) << "seed " << seed << ": L" << a << " -> L" << b << " closes no cycle";
      ASSERT_TRUE(v.order_consistent()) << "seed " << seed << " after L" << a << " -> L" << b;
    }
    for (;;) {
      int a = int(rng() % uint32_t(n)), b = int(rng() % uint32_t(n));
      if (a == b || !reaches(b, a)) continue;
      nest(a, b);
      EXPECT_EQ(v.finding_count(), 1u) << "seed " << seed << ": L" << a << " -> L" << b << " closes a cycle";
      break;
    }
    respacings += v.stats().renumbers;
  }
  EXPECT_GE(respacings, 12u * 5) << "the order must have been respaced, several times per seed";
}

}  // namespace
}  // namespace lockhound
