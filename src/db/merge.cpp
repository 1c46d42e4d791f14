// Reading databases: the union of their graphs replayed into the engine, findings with the
// runs behind each edge; and the problems two databases differ by.
#include <algorithm>
#include <memory>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <nlohmann/json.hpp>

#include "core/facts.h"
#include "core/usage_bits.h"
#include "core/voice.h"
#include "db/codec.h"
#include "db/database.h"
#include "db/sqlite.h"

namespace lockhound::db {
namespace {

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct MergedClass {
  std::string name;  // the class's name in the merged graph (its key; local ones tagged with their run)
  LockKind kind = LockKind::other;
  uint32_t usage = 0;
};

struct File {
  std::string path;
  Connection conn;
  absl::flat_hash_map<int64_t, size_t> runs;         // run id -> index in MergedReport::runs
  absl::flat_hash_map<int64_t, uint32_t> to_merged;  // class row id -> merged class
  absl::flat_hash_map<uint32_t, int64_t> from_merged;
  absl::flat_hash_map<std::string, uint32_t> by_key;  // class key -> merged class (gates)
};

// One distinct way an edge was taken, as replayed.
struct Replay {
  uint32_t from, to;
  int from_mode, to_mode, irq;
  std::vector<uint32_t> gates;
};

}  // namespace

std::string describe_run(const StoredRun& r) {
  std::string s = r.label + " (" + base_name(r.info.program);
  if (r.info.pid) s += ", pid " + std::to_string(r.info.pid);
  if (!r.info.time.empty()) s += ", " + r.info.time;
  if (!r.info.git_commit.empty()) s += ", commit " + r.info.git_commit.substr(0, 12);
  return s + ")";
}

namespace {

std::string read_error(const File& f, const std::string& what) { return f.path + ": cannot read " + what + ": " + f.conn.error(); }

bool load_runs(File& f, bool many, MergedReport& out, std::string& error) {
  Statement s(f.conn.get(),
              "SELECT id, source, program, arguments, pid, time, cwd, git_commit, host, "
              "(SELECT count(*) FROM edge_runs WHERE run = runs.id), "
              "(SELECT count(*) FROM findings WHERE run = runs.id) FROM runs ORDER BY id");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    StoredRun r;
    r.id = s.i64(0);
    r.label = (many ? base_name(f.path) + " run " : std::string("run ")) + std::to_string(r.id);
    r.info.source = s.text(1);
    r.info.program = s.text(2);
    auto args = nlohmann::json::parse(s.view(3), nullptr, false);
    if (args.is_array())
      for (const auto& a : args)
        if (a.is_string()) r.info.arguments.push_back(a.get<std::string>());
    r.info.pid = s.i64(4);
    r.info.time = s.text(5);
    r.info.cwd = s.text(6);
    r.info.git_commit = s.text(7);
    r.info.host = s.text(8);
    r.edges = uint64_t(s.i64(9));
    r.findings = uint64_t(s.i64(10));
    f.runs.emplace(r.id, out.runs.size());
    out.runs.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    error = read_error(f, "its runs");
    return false;
  }
  return true;
}

bool load_classes(File& f, const MergedReport& out, std::vector<MergedClass>& classes,
                  absl::flat_hash_map<std::string, uint32_t>& by_name, std::string& error) {
  Statement s(f.conn.get(), "SELECT id, key, name, kind, run FROM classes ORDER BY id");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    std::string name = s.text(1);
    if (!s.null(4)) {
      // A class named after an address: its run's alone.
      auto run = f.runs.find(s.i64(4));
      name = s.text(2) + " [" + (run != f.runs.end() ? out.runs[run->second].label : "run " + std::to_string(s.i64(4))) + "]";
    }
    auto [it, fresh] = by_name.try_emplace(name, uint32_t(classes.size()));
    if (fresh) {
      MergedClass c;
      c.name = name;
      if (!lock_kind_from_name(s.view(3), c.kind)) c.kind = LockKind::other;
      classes.push_back(std::move(c));
    }
    f.to_merged.emplace(s.i64(0), it->second);
    f.from_merged.emplace(it->second, s.i64(0));
    f.by_key.emplace(s.text(1), it->second);
  }
  if (rc != SQLITE_DONE) {
    error = read_error(f, "its classes");
    return false;
  }
  Statement u(f.conn.get(), "SELECT class, bits FROM usage");
  while ((rc = u.step()) == SQLITE_ROW) {
    auto it = f.to_merged.find(u.i64(0));
    if (it != f.to_merged.end()) classes[it->second].usage |= uint32_t(u.i64(1)) & usage::kAll;
  }
  if (rc != SQLITE_DONE) {
    error = read_error(f, "its usage");
    return false;
  }
  return true;
}

bool load_edges(File& f, std::vector<Replay>& replays, absl::flat_hash_set<std::string>& seen, std::string& error) {
  Statement s(f.conn.get(),
              "SELECT DISTINCT e.from_class, e.to_class, r.from_mode, r.to_mode, r.irq, r.gates "
              "FROM edge_runs r JOIN edges e ON e.id = r.edge ORDER BY e.id");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    auto a = f.to_merged.find(s.i64(0)), b = f.to_merged.find(s.i64(1));
    if (a == f.to_merged.end() || b == f.to_merged.end() || a->second == b->second) continue;
    Replay r{a->second, b->second, int(s.i64(2)), int(s.i64(3)), int(s.i64(4)), {}};
    std::string_view gates = s.view(5);
    while (!gates.empty()) {
      size_t nl = gates.find('\n');
      std::string_view g = gates.substr(0, nl);
      auto it = f.by_key.find(std::string(g));
      if (it != f.by_key.end() && it->second != r.from && it->second != r.to &&
          std::find(r.gates.begin(), r.gates.end(), it->second) == r.gates.end())
        r.gates.push_back(it->second);
      gates = nl == std::string_view::npos ? std::string_view() : gates.substr(nl + 1);
    }
    // The same way of taking an edge from another file adds nothing.
    std::string key = std::to_string(r.from) + ":" + std::to_string(r.to) + ":" + std::to_string(r.from_mode) + ":" +
                      std::to_string(r.to_mode) + ":" + std::to_string(r.irq);
    for (uint32_t g : r.gates) key += ":" + std::to_string(g);
    if (!seen.insert(std::move(key)).second) continue;
    replays.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    error = read_error(f, "its edges");
    return false;
  }
  return true;
}

uint8_t enabled_kinds(uint32_t bits) {
  // Never seen with usage (its usage was inconsistent in its run, or the run did not say):
  // as a thread takes locks, everything enabled.
  if (bits == 0) return 7;
  uint8_t m = 0;
  for (int k = 0; k < kIrqKinds; ++k)
    if (bits & (usage::mask(Irq(k), true, false) | usage::mask(Irq(k), true, true))) m |= uint8_t(1u << k);
  return m;
}

// The merged graph through the engine: classes, their usage, then every distinct edge, each in a
// context in the interrupt state its classes were used in.
std::vector<Finding> replay(const std::vector<MergedClass>& classes, const std::vector<Replay>& replays,
                            bool whole_graph, MergedReport& out) {
  ValidatorOptions vo;
  vo.source = "report";
  vo.show_addresses = false;
  Validator v(vo);
  std::vector<ClassId> ids(classes.size());
  for (size_t i = 0; i < classes.size(); ++i) {
    ids[i] = v.unique_class(classes[i].name, classes[i].kind);
    v.lock_init(i + 1, ids[i]);
  }
  Context enabled[8];
  for (int m = 0; m < 8; ++m) {
    enabled[m] = v.context(uint64_t(m + 1), "merged graph");
    for (int k = 0; k < kIrqKinds; ++k)
      if (!(m & (1 << k))) v.irq_disable(enabled[m], Irq(k));
  }
  Context in_irq[kIrqKinds];
  for (int k = 0; k < kIrqKinds; ++k) {
    in_irq[k] = v.context(uint64_t(20 + k), std::string("merged graph, in ") + std::string(irq_name(Irq(k))));
    v.irq_enter(in_irq[k], Irq(k));
  }
  auto take = [&](Context c, uint64_t lock, Mode mode, bool trylock = false) {
    AcquireFlags fl;
    fl.mode = mode;
    fl.trylock = trylock;
    v.acquire(c, lock, fl, Site{});
  };
  for (size_t i = 0; i < classes.size(); ++i) {
    uint32_t bits = classes[i].usage;
    if (!bits) continue;
    out.usage_classes++;
    for (int k = 0; k < kIrqKinds; ++k)
      for (bool read : {false, true})
        if (bits & usage::mask(Irq(k), false, read)) {
          take(in_irq[k], i + 1, read ? Mode::read : Mode::write);
          v.release(in_irq[k], i + 1, Site{});
        }
    for (bool read : {false, true}) {
      uint8_t m = 0;
      for (int k = 0; k < kIrqKinds; ++k)
        if (bits & usage::mask(Irq(k), true, read)) m |= uint8_t(1u << k);
      if (!m) continue;
      take(enabled[m], i + 1, read ? Mode::read : Mode::write);
      v.release(enabled[m], i + 1, Site{});
    }
  }
  auto mode_of = [](int code) {
    return code == 1 ? Mode::read : code == 2 ? Mode::recursive_read : Mode::write;
  };
  for (const auto& r : replays) {
    Context c = r.irq >= 1 && r.irq <= kIrqKinds
                    ? in_irq[r.irq - 1]
                    : enabled[enabled_kinds(classes[r.from].usage) & enabled_kinds(classes[r.to].usage)];
    for (uint32_t g : r.gates) take(c, g + 1, Mode::write);
    take(c, r.from + 1, mode_of(r.from_mode), r.from_mode == 3);
    take(c, r.to + 1, mode_of(r.to_mode));
    v.release(c, r.to + 1, Site{});
    v.release(c, r.from + 1, Site{});
    for (size_t i = r.gates.size(); i-- > 0;) v.release(c, r.gates[i] + 1, Site{});
  }
  out.classes = classes.size();
  out.edges = v.stats().edges;
  if (whole_graph) out.graph = v.dependency_edges();
  return v.findings();
}

// The stored evidence and the runs of each edge of a finding's chain.
bool attach_runs(Finding& f, std::vector<std::unique_ptr<File>>& files,
                 const absl::flat_hash_map<std::string, uint32_t>& by_name, const MergedReport& out,
                 std::string& error) {
  std::string runs_fact;
  for (auto& e : f.chain) {
    auto a = by_name.find(e.from), b = by_name.find(e.to);
    if (a == by_name.end() || b == by_name.end()) continue;
    std::string runs;
    bool have_evidence = false;
    for (auto& file : files) {
      auto fa = file->from_merged.find(a->second), fb = file->from_merged.find(b->second);
      if (fa == file->from_merged.end() || fb == file->from_merged.end()) continue;
      Statement s(file->conn.get(),
                  "SELECT r.run, r.evidence FROM edge_runs r JOIN edges e ON e.id = r.edge "
                  "WHERE e.from_class = ? AND e.to_class = ? ORDER BY r.run");
      s.bind(1, fa->second).bind(2, fb->second);
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto run = file->runs.find(s.i64(0));
        if (run == file->runs.end()) continue;
        const StoredRun& sr = out.runs[run->second];
        runs += (runs.empty() ? "" : ", ") + describe_run(sr);
        if (have_evidence) continue;
        Edge stored = e;
        std::string why;
        if (!decode_evidence(s.view(1), stored, why)) {
          error = file->path + ": the evidence of edge " + e.from + " -> " + e.to + " in " + sr.label +
                  " is damaged (" + why + ")";
          return false;
        }
        have_evidence = true;
        e.from_site = std::move(stored.from_site);
        e.to_site = std::move(stored.to_site);
        e.from_site.lock = e.from;
        e.to_site.lock = e.to;
        for (auto* side : {&e.from_site, &e.to_site})
          side->context = (side->context.empty() ? "" : side->context + " of ") + sr.label;
        if (!stored.dep.empty()) e.dep = stored.dep;
      }
      if (rc != SQLITE_DONE) {
        error = read_error(*file, "an edge's runs");
        return false;
      }
    }
    if (!runs.empty()) runs_fact += (runs_fact.empty() ? "" : "; ") + e.from + " -> " + e.to + ": " + runs;
  }
  // The context the engine names is the replay's: name the run's thread that closed the chain.
  if (!f.chain.empty() && f.participants.size() == 1 && !f.chain.back().to_site.context.empty()) {
    f.participants[0].name = f.chain.back().to_site.context;
    if (!f.chain.back().to_site.held.empty()) f.participants[0].held = f.chain.back().to_site.held;
  }
  if (!runs_fact.empty()) fact::set(f, fact::kRuns, std::move(runs_fact));
  complete_finding(f);
  return true;
}

}  // namespace

bool merged_report(const std::vector<std::string>& paths, const MergeOptions& options, MergedReport& out,
                   std::string& error) {
  try {
    out = MergedReport{};
    std::vector<std::unique_ptr<File>> files;
    for (const auto& p : paths) {
      auto f = std::make_unique<File>();
      f->path = p;
      error = f->conn.open_read(p);
      if (!error.empty()) return false;
      files.push_back(std::move(f));
    }
    bool many = files.size() > 1;
    std::vector<MergedClass> classes;
    absl::flat_hash_map<std::string, uint32_t> by_name;
    std::vector<Replay> replays;
    absl::flat_hash_set<std::string> seen;
    absl::flat_hash_set<std::string> shown;  // signatures some run reported
    for (auto& f : files) {
      if (!f->conn.exec("BEGIN")) {  // one consistent view while writers go on
        error = read_error(*f, "it");
        return false;
      }
      if (!load_runs(*f, many, out, error) || !load_classes(*f, out, classes, by_name, error) ||
          !load_edges(*f, replays, seen, error))
        return false;
      Statement s(f->conn.get(), "SELECT DISTINCT signature FROM findings");
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) shown.insert(s.text(0));
      if (rc != SQLITE_DONE) {
        error = read_error(*f, "its findings");
        return false;
      }
    }
    seen.clear();
    std::vector<Finding> found = replay(classes, replays, options.whole_graph, out);
    replays.clear();
    for (auto& f : found) {
      if (!options.all && shown.contains(f.signature)) {
        out.shown_by_runs++;
        continue;
      }
      if (!attach_runs(f, files, by_name, out, error)) return false;
      out.findings.push_back(std::move(f));
    }
    if (options.all) {
      for (auto& file : files) {
        Statement s(file->conn.get(), "SELECT id, run, finding FROM findings ORDER BY id");
        int rc;
        while ((rc = s.step()) == SQLITE_ROW) {
          Finding f;
          std::string why;
          if (!decode_finding(s.view(2), f, why)) {
            error = file->path + ": finding " + std::to_string(s.i64(0)) + " is damaged (" + why + ")";
            return false;
          }
          out.findings.push_back(std::move(f));
        }
        if (rc != SQLITE_DONE) {
          error = read_error(*file, "its findings");
          return false;
        }
      }
      merge_same_findings(out.findings);
    }
    for (auto& f : files) f->conn.exec("COMMIT");
    return true;
  } catch (const std::exception& e) {
    error = std::string("cannot read the databases: ") + e.what();
    return false;
  }
}

bool all_problems(const std::vector<std::string>& paths, std::vector<Finding>& out, std::string& error) {
  MergeOptions o;
  o.all = true;
  MergedReport r;
  if (!merged_report(paths, o, r, error)) return false;
  out = std::move(r.findings);
  return true;
}

std::vector<Finding> new_findings(const std::vector<Finding>& before, const std::vector<Finding>& now) {
  absl::flat_hash_set<std::string> old;
  for (const auto& f : before) old.insert(f.signature);
  std::vector<Finding> out;
  for (const auto& f : now)
    if (!old.contains(f.signature)) out.push_back(f);
  return out;
}

}  // namespace lockhound::db
