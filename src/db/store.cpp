// Writing a run into a database: the run, its classes, usage, edges and findings, one
// transaction.
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <absl/container/flat_hash_map.h>
#include <nlohmann/json.hpp>

#include "db/codec.h"
#include "db/database.h"
#include "db/sqlite.h"

namespace lockhound::db {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

bool is_hash(const std::string& s) {
  if (s.size() != 40 && s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The commit `ref` names in the git directory (loose ref, or packed-refs).
std::string resolve_ref(const std::string& gitdir, const std::string& ref) {
  std::string loose = read_first_line(gitdir + "/" + ref);
  if (is_hash(loose)) return loose;
  std::ifstream packed(gitdir + "/packed-refs");
  std::string line;
  while (std::getline(packed, line)) {
    if (line.size() > 41 && line[40] == ' ' && line.compare(41, std::string::npos, ref) == 0) {
      std::string h = line.substr(0, 40);
      if (is_hash(h)) return h;
    }
  }
  return "";
}

int mode_code(const std::string& mode) {
  if (mode == "read") return 1;
  if (mode == "recursive-read") return 2;
  if (mode == "try") return 3;
  return 0;
}
int irq_code(const std::string& irq) {
  if (irq == "hardirq") return 1;
  if (irq == "softirq") return 2;
  if (irq == "signal") return 3;
  return 0;
}

bool is_busy(int code) { return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED; }

}  // namespace

std::string git_commit(const std::string& dir) {
  std::string p = dir;
  for (int depth = 0; depth < 256 && !p.empty(); ++depth) {
    std::string dotgit = p + "/.git";
    struct stat st {};
    if (::stat(dotgit.c_str(), &st) == 0) {
      std::string gitdir = dotgit;
      if (S_ISREG(st.st_mode)) {  // a worktree or submodule: "gitdir: PATH"
        std::string line = read_first_line(dotgit);
        if (line.rfind("gitdir: ", 0) != 0) return "";
        gitdir = line.substr(8);
        if (!gitdir.empty() && gitdir[0] != '/') gitdir = p + "/" + gitdir;
      }
      std::string head = read_first_line(gitdir + "/HEAD");
      if (is_hash(head)) return head;
      if (head.rfind("ref: ", 0) != 0) return "";
      std::string ref = head.substr(5);
      std::string h = resolve_ref(gitdir, ref);
      if (!h.empty()) return h;
      std::string common = read_first_line(gitdir + "/commondir");
      if (common.empty()) return "";
      if (common[0] != '/') common = gitdir + "/" + common;
      return resolve_ref(common, ref);
    }
    if (p == "/") break;
    size_t slash = p.rfind('/');
    p = slash == 0 ? "/" : p.substr(0, slash == std::string::npos ? 0 : slash);
  }
  return "";
}

RunInfo this_run(std::string source, std::string program, std::vector<std::string> arguments) {
  RunInfo r;
  r.source = std::move(source);
  r.program = std::move(program);
  r.arguments = std::move(arguments);
  r.pid = ::getpid();
  time_t now = ::time(nullptr);
  struct tm tm {};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  r.time = buf;
  char dir[PATH_MAX];
  if (::getcwd(dir, sizeof dir)) r.cwd = dir;
  char host[256] = "";
  if (::gethostname(host, sizeof host - 1) == 0) r.host = host;
  if (!r.cwd.empty()) r.git_commit = git_commit(r.cwd);
  return r;
}

std::vector<std::string> process_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\0', pos);
    if (end == std::string::npos) end = text.size();
    args.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return args;
}

// A lock named after its address, or a heap lock named after where it was first locked
// ("mutex first locked in transfer (bank.cpp:31) #2": the count depends on the run's order).
bool address_named(const std::string& name) {
  return name.find("@0x") != std::string::npos || name.find(" first locked in ") != std::string::npos;
}

void add_graph(const Validator& v, RunRecord& rec) {
  ValidatorStats st = v.stats();
  rec.classes.reserve(rec.classes.size() + st.classes);
  for (ClassId c = 0; c < st.classes; ++c) {
    ClassRecord cr;
    cr.name = std::string(v.class_name(c));
    cr.kind = v.class_kind(c);
    cr.usage = v.class_usage(c);
    cr.local = address_named(cr.name);
    rec.classes.push_back(std::move(cr));
  }
  for (auto& e : v.dependency_edges()) rec.edges.push_back(std::move(e));
}

namespace {

// One attempt at the whole transaction; "" or the reason, with `busy` set when another writer
// kept the file past the timeout (worth another attempt).
std::string write_once(Connection& c, const RunRecord& rec, bool& busy) {
  busy = false;
  sqlite3* db = c.get();
  auto fail = [&](const std::string& what) {
    busy = is_busy(c.error_code());
    std::string why = c.path() + ": " + what + ": " + c.error();
    c.exec("ROLLBACK");
    return why;
  };
  if (!c.exec("BEGIN IMMEDIATE")) {
    busy = is_busy(c.error_code());
    return c.path() + ": cannot start a transaction: " + c.error();
  }
  bool fresh = false;
  std::string why = c.check_schema(fresh);
  if (!why.empty()) {
    c.exec("ROLLBACK");
    return why;
  }
  if (fresh) {
    if (!c.exec(kSchemaSql)) return fail("cannot create the schema");
    std::string pragmas = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                          "; PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
    if (!c.exec(pragmas.c_str())) return fail("cannot set the schema version");
  }
  int64_t run_id = 0;
  {
    Statement s(db, "INSERT INTO runs(source, program, arguments, pid, time, cwd, git_commit, host) "
                    "VALUES(?,?,?,?,?,?,?,?) RETURNING id");
    nlohmann::json args = rec.run.arguments;
    s.bind(1, rec.run.source).bind(2, rec.run.program)
        .bind(3, args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        .bind(4, rec.run.pid).bind(5, rec.run.time).bind(6, rec.run.cwd).bind(7, rec.run.git_commit)
        .bind(8, rec.run.host);
    if (s.step() != SQLITE_ROW) return fail("cannot record the run");
    run_id = s.i64(0);
  }
  const std::string run_tag = " [run " + std::to_string(run_id) + "]";
  // Classes by name in this run -> row id, and name -> key (for gates).
  absl::flat_hash_map<std::string, std::pair<int64_t, std::string>> ids;
  {
    Statement cls(db, "INSERT INTO classes(key, name, kind, run) VALUES(?,?,?,?) "
                      "ON CONFLICT(key) DO UPDATE SET key = excluded.key RETURNING id");
    Statement use(db, "INSERT OR REPLACE INTO usage(class, run, bits) VALUES(?,?,?)");
    for (const auto& k : rec.classes) {
      if (ids.contains(k.name)) continue;
      std::string key = k.local ? k.name + run_tag : k.name;
      cls.bind(1, key).bind(2, k.name).bind(3, kind_name(k.kind));
      if (k.local) cls.bind(4, run_id);  // else NULL: reset() clears the bindings
      if (cls.step() != SQLITE_ROW) return fail("cannot record class " + k.name);
      int64_t id = cls.i64(0);
      cls.step();
      cls.reset();
      ids.emplace(k.name, std::pair(id, key));
      if (k.usage) {
        use.bind(1, id).bind(2, run_id).bind(3, int64_t(k.usage));
        if (use.step() != SQLITE_DONE) return fail("cannot record usage");
        use.reset();
      }
    }
  }
  {
    Statement cls(db, "INSERT INTO classes(key, name, kind, run) VALUES(?,?,?,?) "
                      "ON CONFLICT(key) DO UPDATE SET key = excluded.key RETURNING id");
    auto class_id = [&](const std::string& name, int64_t& id, std::string& key) {
      auto it = ids.find(name);
      if (it != ids.end()) {
        id = it->second.first;
        key = it->second.second;
        return true;
      }
      // An edge's class the record did not list: named as the edge names it.
      bool local = address_named(name);
      key = local ? name + run_tag : name;
      cls.bind(1, key).bind(2, name).bind(3, "lock");
      if (local) cls.bind(4, run_id);
      if (cls.step() != SQLITE_ROW) return false;
      id = cls.i64(0);
      cls.step();
      cls.reset();
      ids.emplace(name, std::pair(id, key));
      return true;
    };
    Statement edge(db, "INSERT INTO edges(from_class, to_class) VALUES(?,?) "
                       "ON CONFLICT(from_class, to_class) DO UPDATE SET from_class = excluded.from_class RETURNING id");
    Statement er(db, "INSERT OR IGNORE INTO edge_runs(edge, run, from_mode, to_mode, irq, gates, evidence) "
                     "VALUES(?,?,?,?,?,?,?)");
    for (const auto& e : rec.edges) {
      int64_t from = 0, to = 0;
      std::string from_key, to_key;
      if (!class_id(e.from, from, from_key) || !class_id(e.to, to, to_key)) return fail("cannot record a class");
      edge.bind(1, from).bind(2, to);
      if (edge.step() != SQLITE_ROW) return fail("cannot record an edge");
      int64_t edge_id = edge.i64(0);
      edge.step();
      edge.reset();
      std::string gates;
      for (const auto& g : e.gates) {
        int64_t gid = 0;
        std::string gkey;
        if (!class_id(g, gid, gkey)) return fail("cannot record a class");
        if (!gates.empty()) gates += '\n';
        gates += gkey;
      }
      er.bind(1, edge_id).bind(2, run_id).bind(3, mode_code(e.from_site.mode)).bind(4, mode_code(e.to_site.mode))
          .bind(5, irq_code(e.to_site.irq)).bind(6, gates).bind(7, encode_evidence(e));
      if (er.step() != SQLITE_DONE) return fail("cannot record an edge");
      er.reset();
    }
  }
  {
    Statement fs(db, "INSERT INTO findings(run, signature, type, count, finding) VALUES(?,?,?,?,?)");
    for (const auto& f : rec.findings) {
      fs.bind(1, run_id).bind(2, f.signature).bind(3, type_name(f.type)).bind(4, int64_t(f.count))
          .bind(5, encode_finding(f));
      if (fs.step() != SQLITE_DONE) return fail("cannot record a finding");
      fs.reset();
    }
  }
  if (!c.exec("COMMIT")) return fail("cannot commit");
  return "";
}

}  // namespace

std::string write_run(const std::string& path, const RunRecord& rec, const WriteOptions& options) {
  try {
    Connection c;
    std::string why = c.open_write(path, options.busy_timeout_ms);
    if (!why.empty()) return why;
    // What the file is, before anything changes it (another program's database is left alone).
    bool fresh = false;
    why = c.check_schema(fresh);
    if (!why.empty()) return why;
    // WAL: readers never block the writer, and a writer's commit is an append. NORMAL: a commit
    // survives the process dying (not the machine losing power), which is what a test run needs.
    if (!c.exec("PRAGMA journal_mode = WAL") && !is_busy(c.error_code()))
      return path + ": cannot use a write-ahead log: " + c.error();
    c.exec("PRAGMA synchronous = NORMAL");
    // A big program's graph is one transaction of a hundred MB: with SQLite's default 2 MB page
    // cache it spills into the log mid-transaction and reads its own pages back from it. Up to
    // 64 MB are kept (allocated only as the transaction grows).
    c.exec("PRAGMA cache_size = -65536");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
    for (;;) {
      bool busy = false;
      why = write_once(c, rec, busy);
      if (why.empty() || !busy || std::chrono::steady_clock::now() >= deadline) return why;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (const std::exception& e) {
    return path + ": " + e.what();
  }
}

}  // namespace lockhound::db
