// The whole-program analysis: functions indexed, the call graph walked bottom-up in strongly
// connected components (a fixpoint for recursion), each function summarised once its callees are.
#include "scan/analyze_internal.h"

namespace lockhound::scan::detail {

// ------------------------------------------------------------ indexing
void Analyzer::index() {
  for (size_t t = 0; t < p_.tus.size(); ++t) {
    const TuFacts* tu = p_.tus[t];
    for (const auto& f : tu->functions) p_.fns.emplace(f.key, std::make_pair(&f, t));
    for (const auto& b : tu->bindings) {
      auto& v = p_.bindings[b.field];
      if (std::find(v.begin(), v.end(), b.fn) == v.end()) v.push_back(b.fn);
      if (!b.group.empty()) {
        p_.binding_groups[b.field][b.fn].insert(b.group);
        p_.group_fields[b.group].insert(b.field);
      }
    }
  }
  // A call through a function parameter reaches what the callers pass there, but the summaries
  // are not per caller: with two functions passed at one place (an iterator called with one
  // callback under a lock and another without), each caller would seem to call both. Such a
  // call stays unresolved; one function passed by every caller is resolved.
  for (auto& [key, fns] : p_.bindings)
    if (key.rfind("param:", 0) == 0 && fns.size() > 1) fns.clear();
  for (const auto& [key, ft] : p_.fns) {
    auto& out = callees_[key];
    for (const auto& b : ft.first->blocks)
      for (const auto& op : b.ops) {
        if (op.kind == OpKind::wait) p_.waited_objects.insert(op.lock.cls);
        if (op.kind == OpKind::queue) p_.queues_of[op.lock.cls].insert(op.what);
        if (op.kind != OpKind::call) continue;
        for (const auto& t : resolve(op)) {
          if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
        }
      }
    for (const auto& c : out)
      if (c != key) callers_[c]++;
  }
  st_.functions = p_.fns.size();
  // Class names of structs defined in .c files: plain unless two files define the same name.
  std::unordered_map<std::string, std::set<std::string>> defined;
  auto note = [&](const std::string& cls) {
    auto m = cls.find('\x01');
    if (m != std::string::npos) defined[cls.substr(0, m)].insert(cls.substr(m + 1));
  };
  for (const TuFacts* tu : p_.tus) {
    for (const auto& f : tu->functions)
      for (const auto& b : f.blocks)
        for (const auto& op : b.ops) {
          note(op.lock.cls);
          note(op.nest.cls);
          for (const auto& a : op.args) note(a.lock.cls);
        }
    for (const auto& r : tu->registrations) note(r.object);
  }
  for (const auto& [base, files] : defined) multiply_defined_[base] = files.size() > 1;
}

std::vector<std::string> Analyzer::resolve(const Op& op) const {
  std::vector<std::string> r;
  for (const auto& t : op.targets) {
    if (t.rfind("field:", 0) == 0) {
      auto it = p_.bindings.find(t.substr(6));
      if (it != p_.bindings.end())
        for (const auto& f : it->second)
          if (p_.fns.count(f)) r.push_back(f);
    } else if (p_.fns.count(t)) {
      r.push_back(t);
    } else {
      // A static function of another TU never matches; an extern one by its plain name.
      auto pos = t.rfind(':');
      if (pos != std::string::npos && p_.fns.count(t.substr(pos + 1))) r.push_back(t.substr(pos + 1));
    }
  }
  return r;
}

// ------------------------------------------------------------ call graph order (Tarjan)
void Analyzer::order_and_summarise() {
  std::unordered_map<std::string, int> index, low;
  std::unordered_set<std::string> on_stack;
  std::vector<std::string> stack;
  int counter = 0;
  std::vector<std::string> keys;
  for (const auto& [k, _] : p_.fns) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  // Iterative Tarjan: frames of (node, next callee index).
  for (const auto& start : keys) {
    if (index.count(start)) continue;
    std::vector<std::pair<std::string, size_t>> frames{{start, 0}};
    index[start] = low[start] = counter++;
    stack.push_back(start);
    on_stack.insert(start);
    while (!frames.empty()) {
      auto& [node, i] = frames.back();
      const auto& cs = callees_[node];
      if (i < cs.size()) {
        const std::string c = cs[i++];
        if (!index.count(c)) {
          index[c] = low[c] = counter++;
          stack.push_back(c);
          on_stack.insert(c);
          frames.push_back({c, 0});
        } else if (on_stack.count(c)) {
          low[node] = std::min(low[node], index[c]);
        }
        continue;
      }
      if (low[node] == index[node]) {
        std::vector<std::string> scc;
        while (true) {
          std::string w = stack.back();
          stack.pop_back();
          on_stack.erase(w);
          scc.push_back(w);
          if (w == node) break;
        }
        summarise_scc(scc);
      }
      std::string done = node;
      frames.pop_back();
      if (!frames.empty()) low[frames.back().first] = std::min(low[frames.back().first], low[done]);
    }
  }
  for (auto& [k, fs] : missing_)
    for (auto& f : fs) v_.report(std::move(f));
}

void Analyzer::summarise_scc(const std::vector<std::string>& scc) {
  bool recursive = scc.size() > 1;
  if (!recursive) {
    const auto& cs = callees_[scc[0]];
    recursive = std::find(cs.begin(), cs.end(), scc[0]) != cs.end();
  }
  int rounds = recursive ? kSccRounds : 1;
  for (int r = 0; r < rounds; ++r) {
    size_t before = 0, after = 0;
    for (const auto& k : scc) before += p_.summaries[k].events.size() + p_.summaries[k].exit_held.size();
    for (const auto& k : scc) summarise(k);
    for (const auto& k : scc) after += p_.summaries[k].events.size() + p_.summaries[k].exit_held.size();
    if (r > 0 && before == after) break;
  }
  for (const auto& k : scc) p_.summaries[k].done = true;
}

void Analyzer::summarise(const std::string& key) {
  auto it = p_.fns.find(key);
  if (it == p_.fns.end()) return;
  Summary fresh;
  Summary& prev = p_.summaries[key];
  // Keep the previous round's events while recomputing (recursive calls read them).
  Ctx c{it->second.first, p_.tus[it->second.second], &fresh, {}, {}, {}};
  const FunctionFacts& f = *c.f;
  if (f.blocks.empty()) return;
  std::vector<std::vector<std::string>> seen(f.blocks.size());
  std::vector<std::pair<int32_t, State>> work{{f.entry, State{}}};
  size_t steps = 0;
  // Current summary visible to recursive calls during this round.
  fresh.exit_held = prev.exit_held;
  fresh.exit_released = prev.exit_released;
  fresh.exit_irq = prev.exit_irq;
  while (!work.empty() && steps++ < kStepsPerFunction) {
    auto [bi, st] = std::move(work.back());
    work.pop_back();
    if (bi < 0 || size_t(bi) >= f.blocks.size()) continue;
    if (!admit(seen[size_t(bi)], st)) continue;
    const Block& b = f.blocks[size_t(bi)];
    for (State& out : run_block(c, b, std::move(st))) {
      if (b.succ.size() == 2) {
        branch(c, b, std::move(out), work);
      } else {
        for (size_t i = 0; i < b.succ.size(); ++i)
          if (b.succ[i] >= 0) work.emplace_back(b.succ[i], i + 1 < b.succ.size() ? out : std::move(out));
      }
    }
  }
  finish(c, prev, fresh);
  if (std::getenv("LOCKHOUND_SCAN_DEBUG")) dump(f, prev);
}

void Analyzer::dump(const FunctionFacts& f, const Summary& s) {
  std::fprintf(stderr, "fn %s: %zu blocks, %zu events, exit holds %zu\n", f.key.c_str(), f.blocks.size(), s.events.size(),
               s.exit_held.size());
  for (size_t i = 0; i < f.blocks.size(); ++i) {
    const Block& b = f.blocks[i];
    std::fprintf(stderr, "  B%zu ->", i);
    for (auto x : b.succ) std::fprintf(stderr, " %d", x);
    if (!b.cond.key.empty() || b.cond.token >= 0) std::fprintf(stderr, " [cond %s%s tok %d]", b.cond.negate ? "!" : "", b.cond.key.c_str(), b.cond.token);
    std::fprintf(stderr, "\n");
    for (const auto& op : b.ops)
      std::fprintf(stderr, "    op%d %s %s|%s line %u tok %d\n", int(op.kind), op.api.c_str(), op.lock.cls.c_str(), op.lock.inst.c_str(), op.loc.line, op.token);
  }
  for (const auto& e : s.events) {
    std::fprintf(stderr, "  ev%d %s|%s irq %d/%d held:", int(e.kind), e.what.lock.cls.c_str(), e.what.lock.inst.c_str(), e.what.irq.hard, e.what.irq.soft);
    for (const auto& h : e.held) std::fprintf(stderr, " %s|%s", h.lock.cls.c_str(), h.lock.inst.c_str());
    std::fprintf(stderr, " rel:");
    for (const auto& r : e.released) std::fprintf(stderr, " %s|%s", r.cls.c_str(), r.inst.c_str());
    std::fprintf(stderr, " %s\n", e.text.c_str());
  }
}

}  // namespace lockhound::scan::detail

namespace lockhound::scan {

void analyze_program(const std::vector<const TuFacts*>& tus, Validator& v, AnalysisStats& stats) {
  detail::Program p;
  p.tus = tus;
  detail::Analyzer a(p, v, stats);
  a.run();
}

}  // namespace lockhound::scan
