// Dependencies: a new or stronger edge between two classes, the gate locks held around it, and
// pairs of locks of one inferred class checked per pair (a cycle between two of its locks).
#include <algorithm>
#include <iterator>

#include "core/engine.h"

namespace lockhound {

// A lock's lifetime ended: the orders of its pairs go with it (a lock made at its address later
// is another lock), and so does their memory. Only locks of an inferred class have pairs; their
// ended lifetimes are collected and their pairs dropped in one pass over the table once there
// are half as many as pairs (at least kSweepMin): each pass costs the table's size, paid for by
// as many ended lifetimes. (A list of each lock's partners, kept to drop them at once, cost two
// random misses per new pair and 48 bytes per lock.)
void Validator::Impl::end_pairs(uint64_t id, ClassId cls) {
  if (instance_pairs.empty() || !classes[cls].inferred) return;
  ended_pair_ids.push_back(id);
  if (ended_pair_ids.size() >= std::max(kSweepMin, instance_pairs.size() / 2)) sweep_pairs();
}

void Validator::Impl::sweep_pairs() {
  std::sort(ended_pair_ids.begin(), ended_pair_ids.end());
  auto ended = [&](uint64_t id) { return std::binary_search(ended_pair_ids.begin(), ended_pair_ids.end(), id); };
  for (auto it = instance_pairs.begin(); it != instance_pairs.end();) {
    if (ended(it->first.first) || ended(it->first.second)) {
      st.memory_bytes -= kPairBytes + it->second.extra_bytes();
      instance_pairs.erase(it++);
    } else {
      ++it;
    }
  }
  ended_pair_ids.clear();
}

// Instances of other locks held exclusively, in the inner lock's interrupt context: a cycle
// between two locks each nesting of which happened under one of these cannot deadlock. Locks of
// the inner lock's own class count only near it (the 2 * kPairWindow entries below): a table's
// thousand buckets held at once are not each other's gates. At most 64 are kept (the outermost and the nearest 32).
// The walk goes down and steps over a run of the inner lock's class below the window in one step
// (HeldEntry::run_lo): its cost does not grow with the number of locks of that class held.
std::vector<uint64_t> Validator::Impl::instance_gates(const ContextState* ctx, size_t inner) const {
  std::vector<uint64_t> g;
  const HeldEntry& in = ctx->held[inner];
  size_t lo = inner > 2 * kPairWindow ? inner - 2 * kPairWindow : 0;
  for (size_t i = inner; i-- > 0;) {
    const HeldEntry& h = ctx->held[i];
    if (h.cls == in.cls && i < lo) {
      i = h.run_lo;  // the whole run is out
      continue;
    }
    if (h.mode != Mode::write || h.irq_ctx != in.irq_ctx) continue;
    g.push_back(h.instance_id);
  }
  std::reverse(g.begin(), g.end());  // outermost first
  if (g.size() > 64) g.erase(g.begin() + 32, g.end() - 32);
  std::sort(g.begin(), g.end());
  return g;
}

// A 2-cycle a -> b -> a is a deadlock unless a recursive-read acquisition meets a shared
// holder (lockdep's strong-path rule, checked at both joints).
bool Validator::Impl::strong_pair(uint8_t d1, uint8_t d2) {
  for (uint8_t k1 = 1; k1 <= kDepEN; k1 <<= 1)
    for (uint8_t k2 = 1; k2 <= kDepEN; k2 <<= 1) {
      if (!(d1 & k1) || !(d2 & k2)) continue;
      auto rec = [](uint8_t k) { return (k & (kDepSR | kDepER)) != 0; };
      auto shared = [](uint8_t k) { return (k & (kDepSR | kDepSN)) != 0; };
      if (!(rec(k1) && shared(k2)) && !(rec(k2) && shared(k1))) return true;
    }
  return false;
}

void Validator::Impl::check_instance_order(ContextState* ctx, size_t outer_i, const std::vector<uint64_t>& all_gates) {
  size_t inner_i = ctx->held.size() - 1;
  const HeldEntry& outer = ctx->held[outer_i];
  const HeldEntry& inner = ctx->held[inner_i];
  uint8_t dep = dep_of(outer.mode, inner.mode);
  // Most often empty (nothing held but the pair): inline, no allocation on every nesting.
  absl::InlinedVector<uint64_t, 4> gates;
  for (uint64_t id : all_gates)
    if (id != outer.instance_id) gates.push_back(id);
  auto rev = instance_pairs.find(std::make_pair(inner.instance_id, outer.instance_id));
  bool nested_before_the_other_way = rev != instance_pairs.end();  // (rev does not outlive an insert)
  if (nested_before_the_other_way && strong_pair(rev->second.dep, dep)) {
    std::vector<uint64_t> common;
    auto rg = rev->second.gates();
    std::set_intersection(gates.begin(), gates.end(), rg.begin(), rg.end(), std::back_inserter(common));
    if (common.empty() || opt.report_guarded_cycles)
      report_instance_cycle(ctx, outer_i, rev->second, common);
  }
  auto [it, fresh] = instance_pairs.try_emplace(std::make_pair(outer.instance_id, inner.instance_id));
  InstancePair& p = it->second;
  if (!fresh) {
    p.dep |= dep;
    // Nested again under the same locks (a loop): nothing to narrow.
    auto pg = p.gates();
    if (std::includes(gates.begin(), gates.end(), pg.begin(), pg.end())) return;
    absl::InlinedVector<uint64_t, 4> both;
    std::set_intersection(gates.begin(), gates.end(), pg.begin(), pg.end(), std::back_inserter(both));
    st.memory_bytes -= p.extra_bytes();
    p.assign(p.held(), both);
    st.memory_bytes += p.extra_bytes();
    return;
  }
  capture_held(ctx, ctx->held[inner_i]);
  capture_outer(ctx, ctx->held[outer_i]);
  p.outer = intern_evidence(held_evidence(ctx, ctx->held[outer_i]));
  p.inner = intern_evidence(held_evidence(ctx, ctx->held[inner_i]));
  // The classes held below the inner lock, for the report: all of them, or the outermost
  // kPairHeldKept / 4 and the nearest rest when there are more.
  // (Two ranges, not a walk that skips the middle: that walk was N steps per pair.)
  size_t keep_low = kPairHeldKept / 4;
  size_t low_end = inner_i > kPairHeldKept ? keep_low : inner_i;
  size_t high_begin = inner_i > kPairHeldKept ? inner_i - (kPairHeldKept - keep_low) : inner_i;
  // Just the outer lock below the inner one (most pairs) is kept as nothing: the report knows it.
  absl::InlinedVector<uint64_t, kPairHeldKept> held;
  if (inner_i > 1) {
    for (size_t i = 0; i < low_end; ++i) held.push_back(ctx->held[i].cls);
    for (size_t i = high_begin; i < inner_i; ++i) held.push_back(ctx->held[i].cls);
  }
  p.assign(held, gates);
  p.dep = dep;
  st.memory_bytes += kPairBytes + p.extra_bytes();
}

std::string Validator::Impl::instance_name(ClassId cls, uint64_t lock) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, " [0x%" PRIx64 "]", lock);
  return name_of(cls) + buf;
}

// ---------------------------------------------------------------- edges
std::vector<ClassId> Validator::Impl::current_gates(const ContextState* ctx, size_t prev_i, size_t next_i) const {
  std::vector<ClassId> g;
  if (!opt.gate_locks || next_i < 2) return g;  // a gate needs a third held lock
  uint8_t irqc = ctx->held[next_i].irq_ctx;
  ClassId p = ctx->held[prev_i].cls, n = ctx->held[next_i].cls;
  for (size_t i = 0; i < next_i; ++i) {
    const HeldEntry& h = ctx->held[i];
    if (i == prev_i || h.irq_ctx != irqc || h.mode != Mode::write) continue;
    if (h.cls == p || h.cls == n || !classes[h.cls].gate_candidate) continue;
    g.push_back(h.cls);
  }
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  return g;
}

uint32_t Validator::Impl::intern_gates(std::vector<ClassId> g) {
  if (g.empty()) return 0;
  gate_sets.push_back(std::move(g));
  return uint32_t(gate_sets.size() - 1);
}

// After `ei` joined from's out-list: a class whose list just outgrew kScanDegree has all its
// out-edges indexed; one past it has the new edge indexed at the slot find_edge reported.
void Validator::Impl::index_edge(ClassId from, ClassId to, uint32_t ei, size_t slot) {
  const EdgeList& out = classes[from].out;
  if (out.size() <= kScanDegree) return;
  if (out.size() > kScanDegree + 1) {
    edge_index.insert_at(slot, from, to, ei);
    return;
  }
  for (uint32_t e : out) edge_index.insert(from, edge_to(e), e);
}

void Validator::Impl::check_prev_add(ContextState* ctx, size_t prev_i, size_t next_i) {
  HeldEntry prev = ctx->held[prev_i];  // a copy: its stack is filled in below, as the entry's is
  if (prev.cls == ctx->held[next_i].cls) return;
  size_t slot = SIZE_MAX;
  uint32_t found = find_edge(prev.cls, ctx->held[next_i].cls, slot);
  // The acquisition's stack is evidence for a new or changed edge only: a new chain made of
  // known edges (most of them, in a program with deep chains) unwinds nothing.
  const HeldEntry& top = ctx->held[next_i];
  if (found != EdgeIndex::kNone && (edges[found].dep | dep_of(prev.mode, top.mode)) == edges[found].dep &&
      !edges[found].gates) {
    if (!edges[found].guarded) bump_cycle_count(found);
    return;
  }
  capture_held(ctx, ctx->held[next_i]);
  const HeldEntry next = ctx->held[next_i];
  uint8_t dep = dep_of(prev.mode, next.mode);
  std::vector<ClassId> gates = current_gates(ctx, prev_i, next_i);

  if (found != EdgeIndex::kNone) {
    EdgeInfo& e = edges[found];
    bool changed = false;
    if ((e.dep | dep) != e.dep) {
      e.dep |= dep;
      changed = true;
    }
    if (e.gates) {
      const auto& old = gate_sets[e.gates];
      std::vector<ClassId> inter;
      std::set_intersection(old.begin(), old.end(), gates.begin(), gates.end(),
                            std::back_inserter(inter));
      if (inter.size() != old.size()) {
        e.gates = intern_gates(std::move(inter));
        changed = true;
      }
    }
    if (!changed) {
      if (!e.guarded) bump_cycle_count(found);
      return;
    }
    // A stronger kind or fewer gates: the checks may answer differently now.
    bool possible = e.back || back_edges > 0;
    if (possible) check_cycle(ctx, found, prev, next);
    check_irq_usage(ctx, prev, next, found);
    return;
  }

  // A new edge.
  uint32_t ei = uint32_t(edges.size());
  EdgeInfo e;
  e.dep = dep;
  e.gates = intern_gates(std::move(gates));
  prev.site.stack = capture_outer(ctx, ctx->held[prev_i]);  // the copy too: it is the evidence
  e.from_ev = intern_evidence(held_evidence(ctx, prev));
  e.to_ev = intern_evidence(evidence(ctx, next.site, next.mode, next.trylock, true));
  if (classes[prev.cls].inferred || classes[next.cls].inferred) edge_locks.emplace(ei, std::make_pair(prev.lock, next.lock));
  // The held classes: implied when they are just the edge's two ends (held = 0), i.e. prev is
  // directly below next and at the bottom of their interrupt context's run.
  bool just_ends = next_i == prev_i + 1 && prev.irq_ctx == next.irq_ctx &&
                   (prev_i == 0 || ctx->held[prev_i - 1].irq_ctx != next.irq_ctx);
  if (!just_ends) {
    size_t run = held_pool.size();
    held_pool.push_back(0);
    for (size_t i = 0; i <= next_i; ++i)
      if (ctx->held[i].irq_ctx == next.irq_ctx) held_pool.push_back(ctx->held[i].cls);
    held_pool[run] = uint32_t(held_pool.size() - run - 1);
    e.held_run = true;
    held_runs.emplace(ei, uint32_t(run));
  }
  edges.push_back(e);
  pk_edges.push_back(PkEdge{prev.cls, next.cls});
  if (edges[ei].gates) gated_edges.push_back(ei);
  {
    EdgeList& out = classes[prev.cls].out;
    EdgeList& in = classes[next.cls].in;
    size_t before = out.heap_bytes() + in.heap_bytes();
    out.push_back(ei, out_nbr(ei), [this](uint32_t x) { return out_nbr(x); });
    in.push_back(ei, in_nbr(ei), [this](uint32_t x) { return in_nbr(x); });
    adjacency_heap_bytes += out.heap_bytes() + in.heap_bytes() - before;
  }
  index_edge(prev.cls, next.cls, ei, slot);
  st.edges++;

  bool possible_cycle;
  if (back_edges == 0 && classes[prev.cls].rank < classes[next.cls].rank) {
    possible_cycle = false;
  } else {
    bool ordered = pk_insert(prev.cls, next.cls);
    if (!ordered) {
      edges[ei].back = true;
      pk_edges[ei].to_back |= kPkBack;
      classes[prev.cls].out.mark_last(kPkBack);  // it was pushed last on both lists, above
      classes[next.cls].in.mark_last(kPkBack);
      back_edges++;
    }
    possible_cycle = !ordered || back_edges > 0;
  }
  if (possible_cycle) check_cycle(ctx, ei, prev, next);
  check_irq_usage(ctx, prev, next, ei);
}

void Validator::Impl::bump_cycle_count(uint32_t ei) {
  // Re-observing the closing edge of a reported cycle on a new chain counts as a repeat.
  if (closing_edge_finding.empty()) return;
  auto it = closing_edge_finding.find(ei);
  if (it != closing_edge_finding.end()) {
    findings[it->second].count++;
    ++report_events;
  }
}

void Validator::Impl::check_cycle(ContextState* ctx, uint32_t ei, const HeldEntry& prev, const HeldEntry& next) {
  const std::vector<ClassId>& gates = gate_sets[edges[ei].gates];
  bool unguarded;
  uint32_t hit = search_cycle(prev.cls, prev.mode, next.cls, next.mode, gates, unguarded);
  if (hit == UINT32_MAX) return;
  std::vector<uint32_t> path = path_edges(hit);
  path.push_back(ei);  // the new edge closes the cycle: next -> … -> prev -> next
  if (unguarded) {
    report_cycle(ctx, path, FindingType::circular_dependency, {});
  } else if (opt.report_guarded_cycles) {
    // The common gates: those of the new edge that no path edge lacks.
    std::vector<ClassId> common;
    for (size_t b = 0; b < std::min<size_t>(gates.size(), 8); ++b)
      if (!(nodes[hit].mask & (1u << b))) common.push_back(gates[b]);
    report_cycle(ctx, path, FindingType::guarded_cycle, common);
  }
}

// A class seen with a second instance can no longer serve as a gate (two threads may hold two
// different instances of it). Remove it from every gate set and re-check the edges it guarded.
void Validator::Impl::drop_gate_class(ClassId cls) {
  classes[cls].gate_candidate = false;
  std::vector<uint32_t> affected;
  for (uint32_t ei : gated_edges) {
    auto& g = gate_sets[edges[ei].gates];
    auto it = std::find(g.begin(), g.end(), cls);
    if (it == g.end()) continue;
    std::vector<ClassId> ng(g.begin(), g.end());
    ng.erase(ng.begin() + (it - g.begin()));
    edges[ei].gates = intern_gates(std::move(ng));
    affected.push_back(ei);
  }
  std::erase_if(gated_edges, [&](uint32_t ei) { return edges[ei].gates == 0; });
  for (uint32_t ei : affected) recheck_edge(ei);
}

// Re-runs the cycle search for an existing edge using its recorded evidence.
void Validator::Impl::recheck_edge(uint32_t ei) {
  const EdgeInfo& e = edges[ei];
  if (!e.back && back_edges == 0) return;
  HeldEntry prev{}, next{};
  prev.cls = edge_from(ei);
  prev.mode = evidence_pool[e.from_ev].mode;
  next.cls = edge_to(ei);
  next.mode = evidence_pool[e.to_ev].mode;
  check_cycle(nullptr, ei, prev, next);
}

}  // namespace lockhound
