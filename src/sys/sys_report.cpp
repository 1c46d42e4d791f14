#include "sys/sys_report.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/facts.h"
#include "core/voice.h"
#include "core/waitfor.h"

namespace lockhound::sys {

namespace {

constexpr uint64_t kUnknownOwner = uint64_t{1} << 62;
constexpr size_t kNone = static_cast<size_t>(-1);

std::string kind_word(const FileLock& l) {
  if (l.type == "FLOCK") return "flock";
  if (l.type == "POSIX") return "POSIX lock";
  if (l.type == "OFDLCK") return "OFD lock";
  if (l.type == "LEASE") return "lease";
  if (l.type == "DELEG") return "delegation";
  if (l.type == "ACCESS") return "access lock";
  return "file lock";
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string fmt_us(double us) {
  char b[64];
  if (us >= 1e6) std::snprintf(b, sizeof b, "%.2f s", us / 1e6);
  else if (us >= 1e3) std::snprintf(b, sizeof b, "%.2f ms", us / 1e3);
  else std::snprintf(b, sizeof b, "%.2f us", us);
  return b;
}

}  // namespace

void analyze_file_locks(const ProcLocks& pl, const ProcessFacts& facts, std::string_view source,
                        std::string_view input, SysReport& report) {
  report.have_locks = true;
  const auto& L = pl.locks;
  for (const auto& l : L) (l.waiter() ? report.file_lock_waiters : report.file_locks)++;

  auto comm_of = [&](int64_t pid) -> std::string {
    auto it = facts.comm.find(pid);
    return it == facts.comm.end() ? std::string() : it->second;
  };
  auto party_of = [&](size_t idx) -> uint64_t {
    if (L[idx].pid > 0) return static_cast<uint64_t>(L[idx].pid);
    auto it = facts.entry_owner.find(idx);
    if (it != facts.entry_owner.end() && it->second > 0) return static_cast<uint64_t>(it->second);
    return kUnknownOwner + idx;  // e.g. an OFD lock whose open file was not traced to a process
  };
  auto pid_of_party = [](uint64_t p) -> int64_t {
    return p >= kUnknownOwner ? -1 : static_cast<int64_t>(p);
  };
  auto party_label = [&](uint64_t p) -> std::string {
    if (p >= kUnknownOwner) {
      const FileLock& l = L[p - kUnknownOwner];
      return "unknown owner of " + kind_word(l) + " #" + std::to_string(l.id);
    }
    std::string c = comm_of(static_cast<int64_t>(p));
    return "pid " + std::to_string(p) + (c.empty() ? "" : " (" + c + ")");
  };
  auto file_of = [&](const FileLock& l) -> std::string {
    auto it = facts.paths.find({l.major, l.minor, l.inode});
    if (it != facts.paths.end()) return it->second;
    return l.has_inode ? "dev:inode " + l.file_key() : std::string("<no inode>");
  };
  auto range_of = [&](const FileLock& l) -> std::string {
    if ((l.type == "POSIX" || l.type == "OFDLCK") && (l.start != 0 || l.end))
      return " bytes " + std::to_string(l.start) + "-" + (l.end ? std::to_string(*l.end) : "EOF");
    return "";
  };
  auto lock_label = [&](const FileLock& l) {
    return l.access + " " + kind_word(l) + " on " + file_of(l) + range_of(l);
  };

  WaitForGraph g;
  std::set<uint64_t> waiting;
  std::map<uint64_t, std::vector<size_t>> held_by;  // party -> granted entries
  for (size_t i = 0; i < L.size(); ++i) {
    uint64_t p = party_of(i);
    g.add_party(p, party_label(p));
    if (!L[i].waiter()) {
      g.add_resource(i, lock_label(L[i]));
      g.add_owner(i, p);
      held_by[p].push_back(i);
    }
  }
  for (size_t i = 0; i < L.size(); ++i) {
    const FileLock& w = L[i];
    if (!w.waiter() || w.blocker == kNone) continue;
    size_t b = w.blocker;
    if (L[b].waiter()) {  // queued behind another pending request: waits for that one to finish
      g.add_resource(b, "pending " + lock_label(L[b]) + " request of " + party_label(party_of(b)));
      g.add_owner(b, party_of(b));
    }
    uint64_t p = party_of(i);
    // A party waits for one thing at a time in the graph; a process with several blocked
    // threads keeps its first wait (the others still show in the waits list below).
    if (waiting.insert(p).second) g.add_wait(p, b);
    FileLockWait fw;
    fw.waiter = pid_of_party(p);
    fw.waiter_comm = comm_of(fw.waiter);
    fw.request = w.access + " " + kind_word(w);
    fw.file = file_of(w);
    fw.line = w.line;
    uint64_t h = party_of(b);
    fw.holders.push_back(pid_of_party(h));
    fw.holder_comms.push_back(comm_of(pid_of_party(h)));
    report.waits.push_back(std::move(fw));
  }

  for (const auto& cyc : g.cycles()) {
    std::vector<WaitStep> steps;
    std::set<std::string> kinds;
    size_t first_line = 0;
    const size_t n = cyc.size();
    for (size_t k = 0; k < n; ++k) {
      const auto& step = cyc[k];
      const FileLock& want = L[step.resource];
      // The waiter entry of this party on this resource, for its line.
      for (const auto& l : L)
        if (l.waiter() && l.blocker != kNone && l.blocker == step.resource &&
            party_of(static_cast<size_t>(&l - L.data())) == step.party) {
          if (first_line == 0 || l.line < first_line) first_line = l.line;
          break;
        }
      kinds.insert(kind_word(want));
      WaitStep ws;
      ws.resource = file_of(want);
      ws.party.pid = pid_of_party(step.party);
      ws.party.name = comm_of(ws.party.pid);
      if (ws.party.name.empty()) ws.party.name = party_label(step.party);
      auto st = facts.state.find(ws.party.pid);
      ws.party.state = st != facts.state.end() ? st->second : "blocked";
      if (auto wc = facts.wchan.find(ws.party.pid); wc != facts.wchan.end()) ws.party.state += ", in " + wc->second;
      for (size_t h : held_by[step.party]) {
        HeldLock hl;
        hl.name = file_of(L[h]);
        hl.address = L[h].file_key();
        hl.mode = lower(L[h].access) + " " + kind_word(L[h]);
        ws.party.held.push_back(std::move(hl));
      }
      auto ks = facts.kernel_stack.find(ws.party.pid);
      if (ks != facts.kernel_stack.end()) ws.party.stack = ks->second;
      steps.push_back(std::move(ws));
    }
    Finding f = wait_cycle_finding(FindingType::filelock_deadlock, std::move(steps), std::string(source));
    // /proc does not say where a lock was taken: no chain, the participants carry the cycle.
    f.chain.clear();
    std::string kind_list;
    for (const auto& kw : kinds) kind_list += (kind_list.empty() ? "" : ", ") + kw;
    fact::set(f, fact::kLockTypes, kind_list);
    f.location = std::string(input) + (first_line ? ":" + std::to_string(first_line) : "");
    complete_finding(f);
    report.findings.push_back(std::move(f));
  }
}

void analyze_lockdep(const LockdepDump& dump, std::string_view source, std::string_view input,
                     SysReport& report) {
  report.have_lockdep = true;
  report.lockdep_classes += dump.classes.size();
  report.lockdep_edges += dump.edges();
  // Where each edge was printed, for the finding's location.
  std::map<std::pair<std::string, std::string>, size_t> edge_line;
  for (const auto& c : dump.classes)
    for (const auto& d : c.after) edge_line.emplace(std::pair{c.name, d.name}, d.line);
  for (const auto& cyc : find_cycles(dump)) {
    Finding f;
    f.type = FindingType::circular_dependency;
    f.source = source;
    f.classes = cyc;
    size_t first = 0;
    for (size_t k = 0; k < cyc.size(); ++k) {
      Edge e;
      e.from = cyc[k];
      e.to = cyc[(k + 1) % cyc.size()];
      e.from_site.lock = e.from;
      e.to_site.lock = e.to;
      size_t ln = edge_line[{e.from, e.to}];
      if (ln && (!first || ln < first)) first = ln;
      f.chain.push_back(std::move(e));
    }
    fact::set(f, "graph", "from /proc/lockdep (" + std::to_string(dump.classes.size()) + " classes, " +
                              std::to_string(dump.edges()) + " direct dependencies)");
    f.location = std::string(input) + (first ? ":" + std::to_string(first) : "");
    complete_finding(f);
    report.findings.push_back(std::move(f));
  }
}

void analyze_lock_stat(const LockStat& stat, size_t top, SysReport& report) {
  report.have_lock_stat = true;
  report.lock_stat_debugging_disabled |= stat.debugging_disabled;
  report.lock_stat_classes += stat.classes.size();
  for (const auto* c : top_contended(stat, top)) report.top_contended.push_back(*c);
  std::stable_sort(report.top_contended.begin(), report.top_contended.end(),
                   [](const LockStatClass& a, const LockStatClass& b) {
                     return a.contentions > b.contentions;
                   });
  if (report.top_contended.size() > top) report.top_contended.resize(top);
}

void analyze_lockdep_stats(const LockdepStats& stats, std::string_view source,
                           std::string_view input, SysReport& report) {
  report.have_lockdep_stats = true;
  for (const auto& s : stats.stats) {
    if (s.max || s.name == "debug_locks") report.lockdep_stats.push_back(s);
    if (s.max && *s.max > 0 && s.value >= *s.max) {
      Finding f;
      f.type = FindingType::max_too_low;
      f.source = source;
      fact::set(f, fact::kLimit, s.name);
      fact::set(f, fact::kValue, std::to_string(s.value));
      fact::set(f, fact::kMax, std::to_string(*s.max));
      f.location = std::string(input) + ":" + std::to_string(s.line);
      complete_finding(f);
      report.findings.push_back(std::move(f));
    }
  }
}

ProcFormat detect_format(std::string_view text) {
  if (looks_like_lock_stat(text)) return ProcFormat::lock_stat;
  if (looks_like_lockdep_stats(text)) return ProcFormat::lockdep_stats;
  if (looks_like_lockdep(text)) return ProcFormat::lockdep;
  if (looks_like_proc_locks(text)) return ProcFormat::locks;
  return ProcFormat::unknown;
}

std::string_view format_name(ProcFormat f) {
  switch (f) {
    case ProcFormat::locks: return "/proc/locks";
    case ProcFormat::lock_stat: return "/proc/lock_stat";
    case ProcFormat::lockdep: return "/proc/lockdep";
    case ProcFormat::lockdep_stats: return "/proc/lockdep_stats";
    case ProcFormat::unknown: break;
  }
  return "unknown";
}

bool import_text(std::string_view text, std::string_view name, size_t top, SysReport& report) {
  report.inputs.emplace_back(name);
  auto take = [&](std::vector<Diagnostic>& d) {
    report.diagnostics.insert(report.diagnostics.end(), d.begin(), d.end());
  };
  bool blank = true;
  for (char c : text) blank &= (c == ' ' || c == '\n' || c == '\t' || c == '\r');
  if (blank) {  // e.g. a saved /proc/locks of a system holding no file locks
    report.diagnostics.push_back({std::string(name), 0, "empty input: nothing to analyze", false});
    return true;
  }
  switch (detect_format(text)) {
    case ProcFormat::locks: {
      auto pl = parse_proc_locks(text, name);
      take(pl.diagnostics);
      analyze_file_locks(pl, {}, "import", name, report);
      return true;
    }
    case ProcFormat::lock_stat: {
      auto ls = parse_lock_stat(text, name);
      take(ls.diagnostics);
      analyze_lock_stat(ls, top, report);
      return true;
    }
    case ProcFormat::lockdep: {
      auto d = parse_lockdep(text, name);
      take(d.diagnostics);
      analyze_lockdep(d, "import", name, report);
      return true;
    }
    case ProcFormat::lockdep_stats: {
      auto s = parse_lockdep_stats(text, name);
      take(s.diagnostics);
      analyze_lockdep_stats(s, "import", name, report);
      return true;
    }
    case ProcFormat::unknown: break;
  }
  report.diagnostics.push_back(
      {std::string(name), 0,
       "not a saved /proc/locks, /proc/lock_stat, /proc/lockdep or /proc/lockdep_stats "
       "(expected \"lock_stat version\", \"all lock classes:\", lockdep_stats counters or "
       "\"ID: TYPE …\" lock lines)",
       true});
  return false;
}

std::string render_summary_text(const SysReport& r) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  if (r.have_locks) {
    line("File locks: " + std::to_string(r.file_locks) + " held, " +
         std::to_string(r.file_lock_waiters) + " blocked requests");
    for (const auto& w : r.waits) {
      std::string who = "pid " + std::to_string(w.waiter) +
                        (w.waiter_comm.empty() ? "" : " (" + w.waiter_comm + ")");
      std::string holders;
      for (size_t k = 0; k < w.holders.size(); ++k)
        holders += (k ? ", " : "") + ("pid " + std::to_string(w.holders[k])) +
                   (w.holder_comms[k].empty() ? "" : " (" + w.holder_comms[k] + ")");
      line("  " + who + " waits for " + w.request + " on " + w.file + ", held by " + holders);
    }
  }
  if (r.have_tasks) {
    line("Tasks in D state (uninterruptible sleep): " + std::to_string(r.dstate.size()) + " of " +
         std::to_string(r.tasks_scanned) + " threads");
    for (const auto& t : r.dstate) {
      line("  pid " + std::to_string(t.pid) + (t.tid != t.pid ? " tid " + std::to_string(t.tid) : "") +
           " (" + t.comm + ")" + (t.wchan.empty() ? "" : " in " + t.wchan));
      for (const auto& fr : t.stack) line("      " + fr.function + fr.offset);
    }
  }
  if (r.have_lock_stat) {
    line("Lock contention (/proc/lock_stat, " + std::to_string(r.lock_stat_classes) +
         " classes" + (r.lock_stat_debugging_disabled ? ", lock debugging disabled" : "") +
         "): most contended");
    if (r.top_contended.empty()) line("  no contention recorded");
    char buf[512];
    for (const auto& c : r.top_contended) {
      std::snprintf(buf, sizeof buf, "  %-36s %10llu contentions, wait total %s avg %s max %s, %llu acquisitions",
                    (c.name + (c.rw ? std::string("-") + c.rw : "")).c_str(),
                    static_cast<unsigned long long>(c.contentions), fmt_us(c.waittime_total).c_str(),
                    fmt_us(c.waittime_avg).c_str(), fmt_us(c.waittime_max).c_str(),
                    static_cast<unsigned long long>(c.acquisitions));
      line(buf);
      if (!c.contention_points.empty())
        line("      most waited at " + c.contention_points.front().symbol + " (" +
             std::to_string(c.contention_points.front().count) + "x)");
    }
  }
  if (r.have_lockdep)
    line("lockdep dependency graph: " + std::to_string(r.lockdep_classes) + " classes, " +
         std::to_string(r.lockdep_edges) + " direct dependencies");
  if (r.have_lockdep_stats) {
    for (const auto& s : r.lockdep_stats) {
      if (s.name == "debug_locks")
        line(std::string("lockdep: ") + (s.value ? "active" : "switched off (debug_locks=0, after a report or a full table)"));
    }
    for (const auto& s : r.lockdep_stats)
      if (s.max && *s.max && s.value * 4 >= *s.max * 3)
        line("lockdep " + s.name + ": " + std::to_string(s.value) + " of " +
             std::to_string(*s.max) + " (" + std::to_string(s.value * 100 / *s.max) + "%)");
  }
  for (const auto& n : r.notes) line("note: " + n);
  if (!r.unreadable.empty()) {
    line("Could not read:");
    for (const auto& u : r.unreadable) line("  " + u);
  }
  return out;
}

nlohmann::json summary_json(const SysReport& r) {
  using nlohmann::json;
  json j = json::object();
  if (r.have_locks) {
    json waits = json::array();
    for (const auto& w : r.waits) {
      json h = json::array();
      for (size_t k = 0; k < w.holders.size(); ++k)
        h.push_back({{"pid", w.holders[k]}, {"command", w.holder_comms[k]}});
      waits.push_back({{"pid", w.waiter}, {"command", w.waiter_comm}, {"request", w.request},
                       {"file", w.file}, {"holders", h}, {"line", w.line}});
    }
    j["file_locks"] = {{"held", r.file_locks}, {"blocked", r.file_lock_waiters}, {"waits", waits}};
  }
  if (r.have_tasks) {
    json tasks = json::array();
    for (const auto& t : r.dstate) {
      json st = json::array();
      for (const auto& fr : t.stack) st.push_back(fr.function + fr.offset);
      tasks.push_back({{"pid", t.pid}, {"tid", t.tid}, {"command", t.comm}, {"wchan", t.wchan},
                       {"stack", st}});
    }
    j["d_state_tasks"] = {{"threads_scanned", r.tasks_scanned}, {"tasks", tasks}};
  }
  if (r.have_lock_stat) {
    json top = json::array();
    for (const auto& c : r.top_contended) {
      json pts = json::array();
      for (const auto& p : c.contention_points)
        pts.push_back({{"count", p.count}, {"ip", p.ip}, {"symbol", p.symbol}});
      json cps = json::array();
      for (const auto& p : c.contending_points)
        cps.push_back({{"count", p.count}, {"ip", p.ip}, {"symbol", p.symbol}});
      top.push_back({{"class", c.name},
                     {"rw", c.rw ? std::string(1, c.rw) : std::string()},
                     {"contentions", c.contentions},
                     {"con_bounces", c.con_bounces},
                     {"waittime_us", {{"min", c.waittime_min}, {"max", c.waittime_max},
                                      {"total", c.waittime_total}, {"avg", c.waittime_avg}}},
                     {"acquisitions", c.acquisitions},
                     {"holdtime_us", {{"min", c.holdtime_min}, {"max", c.holdtime_max},
                                      {"total", c.holdtime_total}, {"avg", c.holdtime_avg}}},
                     {"contention_points", pts},
                     {"contending_points", cps}});
    }
    j["lock_stat"] = {{"classes", r.lock_stat_classes},
                      {"debugging_disabled", r.lock_stat_debugging_disabled},
                      {"top_contended", top}};
  }
  if (r.have_lockdep)
    j["lockdep"] = {{"classes", r.lockdep_classes}, {"direct_dependencies", r.lockdep_edges}};
  if (r.have_lockdep_stats) {
    json s = json::array();
    for (const auto& x : r.lockdep_stats) {
      json e = {{"name", x.name}, {"value", x.value}};
      if (x.max) e["max"] = *x.max;
      s.push_back(e);
    }
    j["lockdep_stats"] = s;
  }
  j["notes"] = r.notes;
  j["unreadable"] = r.unreadable;
  return j;
}

Section system_section(const SysReport& report) {
  return Section{"system", render_summary_text(report), summary_json(report)};
}

}  // namespace lockhound::sys
