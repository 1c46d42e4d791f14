#include "sys/lockdep_dump.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "sys/text_util.h"

namespace lockhound::sys {

size_t LockdepDump::edges() const {
  size_t n = 0;
  for (const auto& c : classes) n += c.after.size();
  return n;
}

namespace {

bool usage_chars(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c != '.' && c != '+' && c != '-' && c != '?') return false;
  return true;
}

}  // namespace

LockdepDump parse_lockdep(std::string_view input, std::string_view file) {
  LockdepDump out;
  auto error = [&](size_t lineno, std::string msg) {
    out.diagnostics.push_back({std::string(file), lineno, std::move(msg), true});
  };
  text::for_each_line(input, [&](size_t lineno, std::string_view raw) {
    std::string_view line = text::trim(raw);
    if (line.empty() || line == "all lock classes:") return;
    if (line.starts_with("->")) {
      // " -> [ffffffff81a45ad8] resource_lock"
      std::string_view s = text::trim(line.substr(2));
      if (!s.starts_with("[") || s.find(']') == std::string_view::npos) {
        error(lineno, "expected \"-> [KEY] NAME\"");
        return;
      }
      size_t close = s.find(']');
      std::string_view name = text::trim(s.substr(close + 1));
      if (name.empty()) {
        error(lineno, "expected a class name after \"-> [KEY]\"");
        return;
      }
      if (out.classes.empty()) {
        error(lineno, "dependency line before any lock class line");
        return;
      }
      out.classes.back().after.push_back({lineno, std::string(s.substr(1, close - 1)),
                                          std::string(name)});
      return;
    }
    // "KEY OPS: n FD: n BD: n USAGE: NAME"; every part between KEY and ": NAME" is optional.
    size_t sp = line.find_first_of(" \t:");
    std::string_view key = line.substr(0, sp);
    if (!text::is_hex(key) || key.size() < 8) {
      error(lineno, "expected a lock class line \"KEY OPS: n FD: n BD: n USAGE: NAME\" or a "
                    "dependency \"-> [KEY] NAME\"");
      return;
    }
    LockdepClass c;
    c.line = lineno;
    c.key = key;
    std::string_view rest = line.substr(key.size());
    bool named = false;
    while (!rest.empty()) {
      while (!rest.empty() && text::is_space(rest.front())) rest.remove_prefix(1);
      if (rest.starts_with(":")) {  // ": NAME"
        c.name = text::trim(rest.substr(1));
        named = true;
        break;
      }
      std::optional<uint64_t>* field = nullptr;
      size_t skip = 0;
      if (rest.starts_with("OPS:")) field = &c.ops, skip = 4;
      else if (rest.starts_with("FD:")) field = &c.forward, skip = 3;
      else if (rest.starts_with("BD:")) field = &c.backward, skip = 3;
      if (field) {
        rest.remove_prefix(skip);
        while (!rest.empty() && text::is_space(rest.front())) rest.remove_prefix(1);
        size_t e = 0;
        while (e < rest.size() && rest[e] >= '0' && rest[e] <= '9') ++e;
        auto v = text::to_int<uint64_t>(rest.substr(0, e));
        if (!v) {
          error(lineno, "expected a number after OPS:/FD:/BD:");
          return;
        }
        *field = *v;
        rest.remove_prefix(e);
        continue;
      }
      size_t e = rest.find(':');
      std::string_view usage = rest.substr(0, e);
      if (e == std::string_view::npos || !usage_chars(usage)) {
        error(lineno, "expected usage characters (\"+.+.\") followed by \": NAME\"");
        return;
      }
      c.usage = usage;
      rest.remove_prefix(e);
    }
    if (!named || c.name.empty()) {
      error(lineno, "expected \": NAME\" at the end of the lock class line");
      return;
    }
    out.classes.push_back(std::move(c));
  });
  return out;
}

bool looks_like_lockdep(std::string_view input) {
  if (input.substr(0, 4096).find("all lock classes:") != std::string_view::npos) return true;
  auto d = parse_lockdep(input.substr(0, std::min<size_t>(input.size(), 4096)));
  return !d.classes.empty() && d.diagnostics.size() <= 1 &&
         (d.classes.front().forward.has_value() || !d.classes.front().usage.empty());
}

std::vector<std::vector<std::string>> find_cycles(const LockdepDump& dump, size_t limit) {
  // Node ids in name order, so the output is deterministic and each cycle starts at its smallest
  // name (a DFS from each start only visits larger nodes: every elementary cycle once).
  std::map<std::string, size_t> id;
  for (const auto& c : dump.classes) id.emplace(c.name, 0);
  for (const auto& c : dump.classes)
    for (const auto& d : c.after) id.emplace(d.name, 0);
  std::vector<std::string> names;
  for (auto& [n, i] : id) {
    i = names.size();
    names.push_back(n);
  }
  std::vector<std::vector<size_t>> adj(names.size());
  for (const auto& c : dump.classes) {
    size_t a = id[c.name];
    for (const auto& d : c.after) adj[a].push_back(id[d.name]);
  }
  for (auto& v : adj) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  // Only strongly connected components hold cycles: a normal (acyclic) dump costs one Tarjan
  // pass. Inside components, a DFS from each start visits only larger nodes of the same
  // component, so every elementary cycle is found once; `budget` bounds the work on pathological
  // inputs (the number of elementary cycles can be exponential).
  const size_t n = names.size();
  std::vector<size_t> comp(n, SIZE_MAX), index(n, SIZE_MAX), low(n, 0);
  {
    std::vector<size_t> stack;
    std::vector<char> on_stack(n, 0);
    size_t counter = 0, ncomp = 0;
    struct It { size_t node, next; };
    for (size_t root = 0; root < n; ++root) {
      if (index[root] != SIZE_MAX) continue;
      std::vector<It> st{{root, 0}};
      index[root] = low[root] = counter++;
      stack.push_back(root);
      on_stack[root] = 1;
      while (!st.empty()) {
        It& it = st.back();
        if (it.next < adj[it.node].size()) {
          size_t m = adj[it.node][it.next++];
          if (index[m] == SIZE_MAX) {
            index[m] = low[m] = counter++;
            stack.push_back(m);
            on_stack[m] = 1;
            st.push_back({m, 0});
          } else if (on_stack[m]) {
            low[it.node] = std::min(low[it.node], index[m]);
          }
          continue;
        }
        size_t v = it.node;
        st.pop_back();
        if (!st.empty()) low[st.back().node] = std::min(low[st.back().node], low[v]);
        if (low[v] == index[v]) {
          size_t w;
          do {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = 0;
            comp[w] = ncomp;
          } while (w != v);
          ++ncomp;
        }
      }
    }
  }
  std::vector<std::vector<std::string>> out;
  std::vector<char> on_path(n, 0);
  size_t budget = 20'000'000;
  for (size_t start = 0; start < n && out.size() < limit && budget > 0; ++start) {
    struct FrameState { size_t node, next; };
    std::vector<FrameState> st{{start, 0}};
    std::vector<size_t> path{start};
    on_path[start] = 1;
    while (!st.empty() && out.size() < limit && budget > 0) {
      --budget;
      auto& f = st.back();
      if (f.next >= adj[f.node].size()) {
        on_path[f.node] = 0;
        path.pop_back();
        st.pop_back();
        continue;
      }
      size_t m = adj[f.node][f.next++];
      if (comp[m] != comp[start]) continue;
      if (m == start) {
        std::vector<std::string> cyc;
        for (size_t k : path) cyc.push_back(names[k]);
        out.push_back(std::move(cyc));
        continue;
      }
      if (m < start || on_path[m]) continue;
      on_path[m] = 1;
      path.push_back(m);
      st.push_back({m, 0});
    }
    for (size_t k : path) on_path[k] = 0;
  }
  return out;
}

const LockdepStat* LockdepStats::find(std::string_view name) const {
  for (const auto& s : stats)
    if (s.name == name) return &s;
  return nullptr;
}

LockdepStats parse_lockdep_stats(std::string_view input, std::string_view file) {
  LockdepStats out;
  text::for_each_line(input, [&](size_t lineno, std::string_view raw) {
    std::string_view line = text::trim(raw);
    if (line.empty()) return;
    size_t colon = line.rfind(':');
    // "[max: 8192]" holds a colon of its own.
    size_t maxpos = line.find("[max:");
    if (maxpos != std::string_view::npos) colon = line.rfind(':', maxpos);
    if (colon == std::string_view::npos || colon == 0) {
      out.diagnostics.push_back({std::string(file), lineno,
                                 "expected \"name: value\" or \"name: value [max: N]\"", true});
      return;
    }
    LockdepStat s;
    s.line = lineno;
    s.name = text::trim(line.substr(0, colon));
    std::string_view rest = text::trim(line.substr(colon + 1));
    std::string_view value = rest.substr(0, rest.find_first_of(" \t"));
    auto v = text::to_int<uint64_t>(value);
    if (!v) {
      out.diagnostics.push_back({std::string(file), lineno,
                                 "expected a number after \"" + s.name + ":\"", true});
      return;
    }
    s.value = *v;
    size_t m = rest.find("[max:");
    if (m != std::string_view::npos) {
      std::string_view mv = rest.substr(m + 5);
      mv = text::trim(mv.substr(0, mv.find(']')));
      auto mx = text::to_int<uint64_t>(mv);
      if (!mx) {
        out.diagnostics.push_back({std::string(file), lineno, "expected a number after \"[max:\"",
                                   true});
        return;
      }
      s.max = *mx;
    }
    out.stats.push_back(std::move(s));
  });
  return out;
}

bool looks_like_lockdep_stats(std::string_view input) {
  auto head = input.substr(0, 4096);
  return head.find("lock-classes:") != std::string_view::npos &&
         head.find("direct dependencies:") != std::string_view::npos;
}

}  // namespace lockhound::sys
