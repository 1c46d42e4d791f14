// The dynamic topological order of the classes (Pearce–Kelly: an edge that agrees with it costs
// nothing) and the graph searches under lockdep's recursive-read rules and gate locks.
#include "core/engine.h"

namespace lockhound {

// ---------------------------------------------------------------- Pearce–Kelly order
// Keeps classes ranked so that every non-back edge goes from lower to higher rank. Inserting
// from->to against the order looks only at classes between the two ranks, and moves only the
// smaller of the two sets it must separate; if `from` is reachable from `to` the edge closes a
// cycle and stays out of the order (returns false). Moving the smaller side keeps locks first
// seen in an order unrelated to their nesting (100k heap locks visited at random) from costing
// a reorder of everything between them per new edge.
bool Validator::Impl::pk_insert(ClassId from, ClassId to) {
  uint64_t lb = classes[to].rank, ub = classes[from].rank;
  if (ub < lb) return true;
  new_mark_gen();
  // Both searches advance one class at a time and stop when either is complete: only the
  // smaller side is ever explored, and only it moves. F: classes `to` reaches within the
  // window; B: classes within it that reach `from`. `from` in F or `to` in B is a cycle.
  std::vector<ClassId>& fwd = pk_fwd;
  std::vector<ClassId>& bwd = pk_bwd;
  std::vector<ClassId>& fw = pk_work;
  std::vector<ClassId>& bw = pk_work_b;
  fwd.clear();
  bwd.clear();
  fw.assign(1, to);
  bw.assign(1, from);
  mark(classes[to], kMarkFwd);
  mark(classes[from], kMarkBwd);
  for (;;) {
    if (fw.empty()) return pk_move(fwd, from, true);
    fwd.push_back(fw.back());
    fw.pop_back();
    if (!pk_expand<true>(fwd.back(), from, lb, ub, fw)) return false;
    if (bw.empty()) return pk_move(bwd, to, false);
    bwd.push_back(bw.back());
    bw.pop_back();
    if (!pk_expand<false>(bwd.back(), to, lb, ub, bw)) return false;
  }
}

// One step of a pk_insert search (kOut: forward, along c's out-edges; else backward, along its
// in-edges): the other ends inside the window [lb, ub] not reached yet are marked and queued in
// `work`. False when one of them is `stop`: the new edge closes a cycle.
template <bool kOut>
bool Validator::Impl::pk_expand(ClassId c, ClassId stop, uint64_t lb, uint64_t ub, std::vector<ClassId>& work) {
  const EdgeList& list = kOut ? classes[c].out : classes[c].in;
  const uint32_t* nb = list.nbrs();
  for (uint32_t k = 0; k < list.size(); ++k) {
    uint32_t end = nbr_at<kOut>(list, nb, k);
    if (end & kPkBack) continue;
    if (end == stop) return false;
    ClassInfo& ce = classes[end];
    if ((kOut ? ce.rank > ub : ce.rank < lb) || !mark(ce, kOut ? kMarkFwd : kMarkBwd)) continue;
    work.push_back(end);
  }
  return true;
}

// Moves a complete side just past `anchor` (F above the new edge's source, B below its
// target), keeping its inner order. Nothing else ranks between the anchor and its neighbour in
// the order, so every edge into or out of the side stays ordered. Ranks are spaced; when the gap
// there is too narrow, the classes around it are spread out first (respace).
bool Validator::Impl::pk_move(std::vector<ClassId>& side, ClassId anchor, bool above) {
  // Sorted by rank with the ranks side by side (a comparator reading classes[] would miss the
  // cache on every comparison).
  pk_by_rank.clear();
  for (ClassId c : side) pk_by_rank.emplace_back(classes[c].rank, c);
  std::sort(pk_by_rank.begin(), pk_by_rank.end());
  for (size_t k = 0; k < side.size(); ++k) side[k] = pk_by_rank[k].second;
  // The anchor's neighbour on that side is not in the side (its rank is outside the window the
  // searches explored), so taking the side out leaves the anchor and that neighbour adjacent.
  for (ClassId c : side) unlink_rank(c);
  ClassId after = above ? anchor : classes[anchor].lower;         // kNoClass: at the bottom
  ClassId before = after != kNoClass ? classes[after].higher : lowest;  // kNoClass: on top
  if (!place(side, after, before)) respace(after, before, side);
  for (ClassId c : side) {
    link_rank_after(c, after);
    after = c;
  }
  top_rank = classes[highest].rank;
  return true;
}

// Ranks `side` between `after` and `before` (neighbours in the order; kNoClass past an end) where
// there is no room: the classes around that point are spread out evenly, with the side among
// them, over the smallest aligned range of 2^i ranks around it that is sparse enough: at least
// max(2^24, 2^(i/2)) ranks between its classes after the spreading (an order-maintenance list's
// rule: a larger range must leave more room, so that the room made lasts in proportion to the
// classes moved; 2^24 is 24 more halvings at the point). Ranks outside the range stay as they are.
// A run that keeps placing classes at one point moves a few classes at a time, where a renumber
// of the whole order walked every class, one cache miss each in a large graph.
void Validator::Impl::respace(ClassId after, ClassId before, const std::vector<ClassId>& side) {
  uint64_t p = after != kNoClass ? classes[after].rank : classes[before].rank;
  ClassId down = after, up = before;  // the next classes to take in, each way (kNoClass: the end)
  ClassId lowest_in = kNoClass;       // the lowest class taken in below the point
  uint64_t below = 0, over = 0;       // classes taken in below and above the point
  for (int i = 1; i <= 62; ++i) {
    uint64_t size = uint64_t(1) << i, base = p & ~(size - 1);
    for (; down != kNoClass && classes[down].rank >= base; down = classes[down].lower) {
      lowest_in = down;
      ++below;
    }
    for (; up != kNoClass && classes[up].rank - base < size; up = classes[up].higher) ++over;
    uint64_t m = below + over + side.size();
    if (size / (m + 1) < (uint64_t(1) << std::max(kMinRespacedGapLog, i / 2))) continue;  // too dense
    uint64_t step = size / (m + 1), r = base;
    ClassId c = lowest_in;
    for (uint64_t k = 0; k < below; ++k, c = classes[c].higher) classes[c].rank = r += step;
    for (ClassId sc : side) classes[sc].rank = r += step;
    c = before;
    for (uint64_t k = 0; k < over; ++k, c = classes[c].higher) classes[c].rank = r += step;
    st.renumbers++;
    st.respaced_classes += m;
    return;
  }
  // Too dense everywhere (2^31 classes): the whole order, then the side in the room made.
  renumber(2 * side.size() + 2);
  place(side, after, before);
}

// Ranks `side` evenly between `after` and `before` (neighbours in the order; kNoClass past an
// end, where the side gets kRankGap per class), if there is room.
bool Validator::Impl::place(const std::vector<ClassId>& side, ClassId after, ClassId before) {
  uint64_t n = side.size() + 1;
  uint64_t room = n < (uint64_t(1) << 20) ? kRankGap * n : kRankBase;  // past an end of the order
  uint64_t lo = after != kNoClass ? classes[after].rank
                : classes[before].rank > room ? classes[before].rank - room : 0;
  uint64_t hi = before != kNoClass ? classes[before].rank : lo <= ~uint64_t(0) - room ? lo + room : ~uint64_t(0);
  uint64_t step = (hi - lo) / n;
  if (step == 0) return false;
  for (size_t k = 0; k < side.size(); ++k) classes[side[k]].rank = lo + step * (k + 1);
  return true;
}

void Validator::Impl::unlink_rank(ClassId c) {
  ClassInfo& ci = classes[c];
  (ci.lower != kNoClass ? classes[ci.lower].higher : lowest) = ci.higher;
  (ci.higher != kNoClass ? classes[ci.higher].lower : highest) = ci.lower;
  ci.lower = ci.higher = kNoClass;
}

// Links c just above `after` (kNoClass: at the bottom).
void Validator::Impl::link_rank_after(ClassId c, ClassId after) {
  ClassInfo& ci = classes[c];
  ci.lower = after;
  ci.higher = after != kNoClass ? classes[after].higher : lowest;
  (after != kNoClass ? classes[after].higher : lowest) = c;
  (ci.higher != kNoClass ? classes[ci.higher].lower : highest) = c;
}

// Spreads every class out again in the same order, at least `gap` apart, over half of the rank
// range (its middle): a renumber walks every class in the order, one cache miss each in a large
// graph, so it should leave all the room there is. The room above keeps about 10M new classes
// kRankGap apart. Only when respace finds everything dense, or new classes reach the top of the
// range (new_class).
[[gnu::noinline]] void Validator::Impl::renumber(uint64_t gap) {
  gap = std::max<uint64_t>(gap, kRankBase / (classes.size() + 1));
  gap = std::min<uint64_t>(gap, kRankBase / (classes.size() / 2 + 1));  // the lowest stays above 0
  uint64_t r = kRankBase - gap * (classes.size() / 2 + 1);
  for (ClassId c = lowest; c != kNoClass; c = classes[c].higher) classes[c].rank = r += gap;
  top_rank = highest != kNoClass ? classes[highest].rank : kRankBase;
  st.renumbers++;
  st.respaced_classes += classes.size();
}

// ---------------------------------------------------------------- BFS
// Searches for a path to->…->from that, with the new edge from->to, forms a strong cycle.
// Gate handling: `gates` are the gates of the new edge; the mask records which of them some
// edge on the path lacks. A path with every bit set proves an unguarded cycle. Returns the node
// index of the best target (unguarded if any, else the shortest guarded), or UINT32_MAX.
uint32_t Validator::Impl::search_cycle(ClassId from, Mode from_mode, ClassId to, Mode to_mode,
                        const std::vector<ClassId>& gates, bool& unguarded) {
  st.graph_searches++;
  unguarded = false;
  size_t k = std::min<size_t>(gates.size(), 8);
  uint8_t full = uint8_t((1u << k) - 1);
  nodes.clear();
  absl::flat_hash_set<uint64_t> seen;  // used only when there are gates
  new_mark_gen();
  auto visit = [&](ClassId c, bool xr, uint8_t mask) {
    if (k == 0) return mark(classes[c], 1u << xr);
    return seen.insert((uint64_t(c) << 16) | (uint64_t(xr) << 8) | mask).second;
  };
  nodes.push_back(Node{to, to_mode == Mode::recursive_read, 0, UINT32_MAX, UINT32_MAX});
  visit(to, nodes[0].xr, 0);
  uint32_t guarded_hit = UINT32_MAX;
  for (size_t qi = 0; qi < nodes.size(); ++qi) {
    Node n = nodes[qi];
    if (qi > 0 && n.cls == from && (from_mode == Mode::write || !n.xr)) {
      if (n.mask == full) {
        unguarded = true;
        return uint32_t(qi);
      }
      if (guarded_hit == UINT32_MAX) guarded_hit = uint32_t(qi);
      continue;
    }
    for (uint32_t ei : classes[n.cls].out) {
      const EdgeInfo& e = edges[ei];
      bool nxr;
      if (!strong_step(e.dep, n.xr, nxr)) continue;
      uint8_t mask = n.mask;
      if (k) {
        const auto& eg = gate_sets[e.gates];
        for (size_t b = 0; b < k; ++b)
          if (!std::binary_search(eg.begin(), eg.end(), gates[b])) mask |= uint8_t(1u << b);
      }
      // With gates the search runs over (class, mask) states, so a walk could pass a class
      // twice; a deadlock needs a simple cycle (each lock held by one thread), so paths that
      // revisit a class are not extended.
      ClassId d = edge_to(ei);
      if (k && on_path(uint32_t(qi), d)) continue;
      if (!visit(d, nxr, mask)) continue;
      nodes.push_back(Node{d, nxr, mask, uint32_t(qi), ei});
    }
  }
  return guarded_hit;
}

bool Validator::Impl::on_path(uint32_t node, ClassId cls) const {
  for (uint32_t i = node; i != UINT32_MAX; i = nodes[i].parent)
    if (nodes[i].cls == cls) return true;
  return false;
}

std::vector<uint32_t> Validator::Impl::path_edges(uint32_t node) const {
  std::vector<uint32_t> p;
  for (uint32_t i = node; nodes[i].parent != UINT32_MAX; i = nodes[i].parent) p.push_back(nodes[i].edge);
  std::reverse(p.begin(), p.end());
  return p;
}

// BFS for a class (other than the root) whose usage matches `mask`, with _READ bits masked out
// on paths made only of -(xR)-> steps. Returns the node index or UINT32_MAX.
uint32_t Validator::Impl::find_usage(ClassId root, bool root_xr, bool forward, uint32_t mask, bool include_root) {
  st.graph_searches++;
  nodes.clear();
  new_mark_gen();
  nodes.push_back(Node{root, root_xr, 0, UINT32_MAX, UINT32_MAX});
  mark(classes[root], 1u << root_xr);
  for (size_t qi = 0; qi < nodes.size(); ++qi) {
    Node n = nodes[qi];
    if (qi > 0 || include_root) {
      uint32_t u = classes[n.cls].usage & (n.xr ? kNonReadBits : 0xfff);
      if (u & mask) return uint32_t(qi);
    }
    const auto& adj = forward ? classes[n.cls].out : classes[n.cls].in;
    for (uint32_t ei : adj) {
      const EdgeInfo& e = edges[ei];
      bool nxr;
      if (!strong_step(forward ? e.dep : reverse_dep(e.dep), n.xr, nxr)) continue;
      ClassId d = forward ? edge_to(ei) : edge_from(ei);
      if (!mark(classes[d], 1u << nxr)) continue;
      nodes.push_back(Node{d, nxr, 0, uint32_t(qi), ei});
    }
  }
  return UINT32_MAX;
}

// Union of usage bits of everything backward-reachable from root (lockdep's usage_accumulate).
uint32_t Validator::Impl::accumulate_backward(ClassId root, bool root_xr) {
  st.graph_searches++;
  nodes.clear();
  new_mark_gen();
  nodes.push_back(Node{root, root_xr, 0, UINT32_MAX, UINT32_MAX});
  mark(classes[root], 1u << root_xr);
  uint32_t acc = 0;
  for (size_t qi = 0; qi < nodes.size(); ++qi) {
    Node n = nodes[qi];
    acc |= classes[n.cls].usage & (n.xr ? kNonReadBits : 0xfff);
    for (uint32_t ei : classes[n.cls].in) {
      const EdgeInfo& e = edges[ei];
      bool nxr;
      if (!strong_step(reverse_dep(e.dep), n.xr, nxr)) continue;
      ClassId from = edge_from(ei);
      if (!mark(classes[from], 1u << nxr)) continue;
      nodes.push_back(Node{from, nxr, 0, uint32_t(qi), ei});
    }
  }
  return acc;
}

uint32_t Validator::Impl::find_usage_or_self(ClassId root, bool root_xr, uint32_t mask) {
  if (classes[root].usage & mask) {
    nodes.clear();
    nodes.push_back(Node{root, root_xr, 0, UINT32_MAX, UINT32_MAX});
    return 0;
  }
  return find_usage(root, root_xr, false, mask);
}

}  // namespace lockhound
