#include "explain/explain.h"

#include <algorithm>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/facts.h"
#include "core/voice.h"
#include "core/waitfor.h"
#include "explain/logtext.h"
#include "explain/reports.h"

namespace lockhound::explain {
namespace {

bool is_rule_line(std::string_view t) {
  t = trim(t);
  if (t.size() < 10) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return c == '='; }) ||
         std::all_of(t.begin(), t.end(), [](char c) { return c == '-'; });
}

std::string raw_text(const std::vector<LogLine>& lines, const std::vector<size_t>& idx) {
  std::vector<std::string_view> out;
  for (size_t i : idx) out.push_back(lines[i].text);
  while (!out.empty() && (trim(out.back()).empty() || is_rule_line(out.back()))) out.pop_back();
  std::string s;
  for (auto l : out) {
    s += l;
    s += '\n';
  }
  return s;
}

// A task blocked in one of these waits for the lock at the top of its held list.
bool waits_on_a_lock(const Stack& s) {
  for (const auto& f : s) {
    std::string_view fn = f.function;
    for (std::string_view p : {"__mutex_lock", "mutex_lock", "down_read", "down_write", "rwsem_down",
                               "__down", "percpu_down", "__percpu_down", "rt_mutex", "__rt_mutex",
                               "ww_mutex", "__ww_mutex", "rt_spin_lock", "rtlock_slowlock", "lock_sock"})
      if (starts_with(fn, p)) return true;
    if (fn == "down") return true;
  }
  return false;
}

struct PartyInfo {
  TaskRef task;
  std::vector<HeldLock> held;
  std::string waits_for;
  const ReadReport* hung = nullptr;
};

std::string lock_label(const HeldLock& h) {
  return h.address.empty() ? h.name : h.name + " (" + h.address + ")";
}

// Builds the wait-for graph from hung-task reports and the all-locks dump; returns the
// actual-deadlock findings and fills in, per hung task, what it waits for and who holds it.
std::vector<Finding> wait_for_analysis(std::vector<ReadReport>& reports, std::vector<ReadReport>& blocked_only,
                                       const std::vector<TaskLocks>& dump, const std::string& dump_location,
                                       const std::string& dump_raw) {
  std::vector<Finding> out;
  std::unordered_map<int64_t, ReadReport*> hung;
  // SysRq-w's blocked tasks first: a hung-task report of the same pid replaces them.
  for (auto& r : blocked_only)
    if (r.task.pid >= 0) hung[r.task.pid] = &r;
  for (auto& r : reports)
    if (r.hung && r.task.pid >= 0) hung[r.task.pid] = &r;
  if (hung.empty()) return out;

  WaitForGraph g;
  std::map<std::string, uint64_t> resource_ids;
  std::map<uint64_t, std::string> resource_names;
  std::map<uint64_t, PartyInfo> parties;
  auto rid = [&](const HeldLock& h) {
    std::string key = h.address.empty() ? "class:" + h.name : h.address;
    auto [it, fresh] = resource_ids.emplace(key, resource_ids.size() + 1);
    if (fresh) {
      g.add_resource(it->second, lock_label(h));
      resource_names[it->second] = h.name;
    }
    return it->second;
  };
  auto party_id = [](const TaskRef& t) {
    return t.pid >= 0 ? static_cast<uint64_t>(t.pid) : (std::hash<std::string>{}(t.comm) | (1ull << 63));
  };

  for (const auto& tl : dump) {
    uint64_t pid = party_id(tl.task);
    g.add_party(pid, task_label(tl.task));
    PartyInfo& pi = parties[pid];
    pi.task = tl.task;
    pi.held = tl.locks;
    auto h = hung.find(tl.task.pid);
    bool blocked = h != hung.end();
    bool waits_top = blocked && (h->second->task_stack.empty() || waits_on_a_lock(h->second->task_stack));
    if (blocked) pi.hung = h->second;
    for (size_t k = 0; k < tl.locks.size(); ++k) {
      uint64_t r = rid(tl.locks[k]);
      if (waits_top && k + 1 == tl.locks.size()) {
        g.add_wait(pid, r);
        pi.waits_for = lock_label(tl.locks[k]);
      } else {
        g.add_owner(r, pid);
      }
    }
  }
  // Kernels with CONFIG_DETECT_HUNG_TASK_BLOCKER name the likely owner of the mutex a task waits on.
  for (auto& [pid, r] : hung) {
    if (r->likely_owner.pid < 0) continue;
    uint64_t p = static_cast<uint64_t>(pid);
    PartyInfo& pi = parties[p];
    if (pi.task.comm.empty()) pi.task = r->task;
    pi.hung = r;
    g.add_party(p, task_label(r->task));
    uint64_t owner = party_id(r->likely_owner);
    if (parties.find(owner) == parties.end()) {
      parties[owner].task = r->likely_owner;
      g.add_party(owner, task_label(r->likely_owner));
    }
    uint64_t res = 0;
    for (const auto& w : g.waits())
      if (w.party == p) res = w.resource;
    if (!res) {
      HeldLock h;
      h.name = "the mutex " + task_label(r->task) + " waits for";
      res = rid(h);
      g.add_wait(p, res);
      pi.waits_for = h.name;
    }
    g.add_owner(res, owner);
  }

  // Who waits for whom, on each hung task's finding.
  for (const auto& w : g.waits()) {
    auto h = hung.find(static_cast<int64_t>(w.party));
    if (h == hung.end()) continue;
    Finding& f = h->second->finding;
    std::vector<std::string> owners;
    for (uint64_t o : w.owners) owners.push_back(g.party_label(o));
    std::string lock = resource_names.count(w.resource) ? resource_names[w.resource] : g.resource_label(w.resource);
    fact::set(f, fact::kWaitsFor, lock);
    std::string held_by;
    for (size_t i = 0; i < owners.size(); ++i) held_by += (i ? ", " : "") + owners[i];
    fact::set(f, fact::kHeldBy, owners.empty() ? "no task listed in the lock dump" : held_by);
    if (!f.participants.empty()) f.participants.front().waits_for = g.resource_label(w.resource);
  }
  for (auto& [pid, r] : hung) {
    Finding& f = r->finding;
    auto it = parties.find(static_cast<uint64_t>(pid));
    if (it != parties.end()) {
      for (const auto& h : it->second.held)
        if (std::find(f.classes.begin(), f.classes.end(), h.name) == f.classes.end()) f.classes.push_back(h.name);
      if (!f.participants.empty()) f.participants.front().held = it->second.held;
    }
    complete_finding(f);
  }

  for (const auto& cycle : g.cycles()) {
    std::vector<WaitStep> steps;
    for (const auto& st : cycle) {
      const PartyInfo& pi = parties[st.party];
      WaitStep step;
      step.party.name = pi.task.comm;
      step.party.pid = pi.task.pid;
      step.party.state = "D";
      step.party.waits_for = g.resource_label(st.resource);
      step.party.held = pi.held;
      if (pi.hung) step.party.stack = pi.hung->task_stack;
      step.resource = resource_names.count(st.resource) ? resource_names[st.resource] : g.resource_label(st.resource);
      steps.push_back(std::move(step));
    }
    Finding f = wait_cycle_finding(FindingType::actual_deadlock, std::move(steps), "explain");
    f.location = dump_location;
    f.raw = dump_raw;
    complete_finding(f);
    out.push_back(std::move(f));
  }
  return out;
}

// A task name holding a newline splits the headline that prints it over two lines ("INFO: task
// foo" / "bar:123 blocked for more than 120 seconds."): such a pair is one headline again, the
// newline shown as "\n".
void join_split_headlines(std::vector<LogLine>& lines) {
  std::vector<LogLine> out;
  out.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = trim(lines[i].text);
    bool may = i + 1 < lines.size() && t.size() < 200 &&
               (contains(t, "INFO: task ") || contains(t, "BUG: ") || contains(t, "WARNING: "));
    if (may) {
      auto h = detect_headline(t);
      std::string_view next = trim(lines[i + 1].text);
      if ((!h || h->kind != HeadlineKind::report) && !next.empty() && next.size() < 200) {
        std::string joined = std::string(t) + "\\n" + std::string(next);
        auto j = detect_headline(joined);
        if (j && j->kind == HeadlineKind::report && !detect_headline(next)) {
          LogLine l = std::move(lines[i]);
          l.text = std::move(joined);
          out.push_back(std::move(l));
          ++i;
          continue;
        }
      }
    }
    out.push_back(std::move(lines[i]));
  }
  lines = std::move(out);
}

}  // namespace

// Adds `f` to `res`: a finding with a signature already there adds its count and its location
// to that one.
void add_finding(ExplainResult& res, Finding&& f) {
  for (auto& g : res.findings) {
    if (g.signature != f.signature) continue;
    g.count += f.count;
    bool found = false;
    for (auto& [k, v] : g.details) {
      if (k == "also at") {
        // A log with thousands of repeats keeps the first locations only.
        if (g.count <= 21) v += ", " + f.location;
        else if (g.count == 22) v += ", ...";
        found = true;
      }
    }
    if (!found) g.details.emplace_back("also at", f.location);
    return;
  }
  res.findings.push_back(std::move(f));
}

ExplainResult explain_log(std::string_view text, std::string_view filename, size_t first_line) {
  ExplainResult res;
  std::string file = (filename.empty() || filename == "-") ? std::string("<stdin>") : std::string(filename);
  try {
    NormalizedLog log = normalize_log(text);
    if (first_line > 1) {
      for (auto& l : log.lines) l.line += first_line - 1;
      if (log.binary_line) log.binary_line += first_line - 1;
    }
    if (log.binary)
      res.diagnostics.push_back({file, log.binary_line,
                                 "expected a text kernel log (dmesg, console, journal), found binary data", true});
    join_split_headlines(log.lines);
    const auto& L = log.lines;
    std::vector<char> used(L.size(), 0);
    std::vector<std::optional<Headline>> heads(L.size());
    for (size_t i = 0; i < L.size(); ++i) heads[i] = detect_headline(L[i].text);

    std::vector<ReadReport> reports;
    std::vector<std::vector<size_t>> report_lines;
    std::vector<TaskLocks> dump;
    std::string dump_location, dump_raw;
    constexpr size_t kMaxView = 50000;
    for (size_t i = 0; i < L.size(); ++i) {
      if (used[i] || !heads[i] || heads[i]->kind == HeadlineKind::other) continue;
      std::vector<size_t> view{i};
      const std::string& tag = L[i].tag;
      for (size_t j = i + 1; j < L.size() && j - i < kMaxView; ++j) {
        if (used[j]) continue;
        if (!tag.empty() && !L[j].tag.empty() && L[j].tag != tag) continue;
        // DEBUG_LOCKS_WARN_ON(...) is followed by the WARNING that places it in lockdep.c: one report.
        if (heads[j] && j == i + 1 && heads[i]->type == FindingType::lockdep_internal_error &&
            heads[j]->kind == HeadlineKind::report && heads[j]->type == FindingType::lockdep_internal_error &&
            starts_with(heads[i]->title, "DEBUG_LOCKS_WARN_ON(") && !starts_with(heads[j]->title, "DEBUG_LOCKS")) {
          view.push_back(j);
          continue;
        }
        if (heads[j]) break;
        view.push_back(j);
      }
      if (heads[i]->kind == HeadlineKind::locks_dump) {
        size_t consumed = 1;
        auto tasks = read_locks_dump(L, view, consumed, heads[i]->was_cut);
        std::vector<size_t> got(view.begin(), view.begin() + static_cast<long>(std::min(consumed, view.size())));
        for (size_t k : got) used[k] = 1;
        if (dump_location.empty()) dump_location = file + ":" + std::to_string(L[i].line);
        dump_raw += raw_text(L, got);
        for (auto& t : tasks) dump.push_back(std::move(t));
        continue;
      }
      std::string loc = file + ":" + std::to_string(L[i].line);
      ReadReport rr = read_report(L, view, *heads[i], loc);
      std::vector<size_t> got(view.begin(), view.begin() + static_cast<long>(std::min(rr.consumed, view.size())));
      for (size_t k : got) used[k] = 1;
      std::vector<size_t> raw_idx;
      if (i > 0 && is_rule_line(L[i - 1].text)) raw_idx.push_back(i - 1);
      raw_idx.insert(raw_idx.end(), got.begin(), got.end());
      rr.finding.raw = raw_text(L, raw_idx);
      if (rr.truncated)
        res.diagnostics.push_back({file, L[i].line,
                                   "\"" + rr.finding.title + "\" report is cut off: expected " + rr.missing +
                                       "; reporting what was parsed",
                                   false});
      reports.push_back(std::move(rr));
    }

    // SysRq-w ("Show Blocked State") lists tasks in D state as "task:comm state:D ... pid:N" and
    // their stacks, outside any report: they are blocked parties of the wait-for graph too.
    std::vector<ReadReport> blocked_only;
    for (size_t i = 0; i < L.size(); ++i) {
      std::string_view t = trim(L[i].text);
      if (used[i] || !starts_with(t, "task:") || !contains(t, " state:D")) continue;
      ReadReport b;
      b.hung = true;
      std::string_view comm = t.substr(5, t.find(" state:") - 5);
      b.task.comm = std::string(trim(comm));
      size_t pp = t.find(" pid:");
      if (pp != std::string_view::npos) {
        std::string_view v = trim(t.substr(pp + 5));
        b.task.pid = to_int(v.substr(0, v.find(' ')));
      }
      for (size_t j = i + 1; j < L.size() && j < i + 200; ++j) {
        std::string_view u = trim(L[j].text);
        if (u == "Call Trace:" || u == "Call trace:" || is_dump_noise(u)) continue;
        FrameParse fp = parse_frame(u);
        if (!fp.stackish) break;
        if (fp.frame) b.task_stack.push_back(*fp.frame);
      }
      if (b.task.pid >= 0) blocked_only.push_back(std::move(b));
    }
    std::vector<Finding> extra;
    if (!dump.empty() || std::any_of(reports.begin(), reports.end(), [](const ReadReport& r) {
          return r.hung && r.likely_owner.pid >= 0;
        }))
      extra = wait_for_analysis(reports, blocked_only, dump, dump_location, dump_raw);

    // Group identical problems: the first occurrence keeps its place, later ones add to the count.
    for (auto& r : reports) add_finding(res, std::move(r.finding));
    for (auto& f : extra) add_finding(res, std::move(f));
  } catch (const std::exception& e) {
    res.diagnostics.push_back({file, 0, std::string("internal error while reading the log: ") + e.what(), true});
  }
  return res;
}

void merge_results(ExplainResult& into, ExplainResult&& part) {
  for (auto& f : part.findings) add_finding(into, std::move(f));
  for (auto& d : part.diagnostics) into.diagnostics.push_back(std::move(d));
}

bool may_start_report(std::string_view line) {
  for (std::string_view p : {"======", "------------[ cut here ]", "WARNING: ", "BUG: ", "INFO: task ", "INFO: rcu",
                             "rcu: INFO", "watchdog: BUG", "lock order reversal", "Showing all locks held",
                             "DEBUG_LOCKS_WARN_ON(", " blocked for more than "})
    if (line.find(p) != std::string_view::npos) return true;
  return false;
}

}  // namespace lockhound::explain
