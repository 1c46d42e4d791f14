// The lock-order database through the commands: halves of an ABBA recorded by `check --db` and by
// real programs under the preload (`run --db`, LOCKHOUND_DB), sixteen processes writing one file at
// once, `report` over the union, `diff` against a baseline, and files that are not databases.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Result {
  int rc = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/lockhound-dbcli-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// Starts `argv` with stdout and stderr into files under `dir` (named by `tag`); env entries are
// added to the environment.
pid_t start(const std::vector<std::string>& argv, const fs::path& dir, const std::string& tag,
            const std::vector<std::string>& env = {}) {
  pid_t pid = fork();
  if (pid == 0) {
    int out = open((dir / (tag + ".out")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open((dir / (tag + ".err")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& e : env) putenv(strdup(e.c_str()));
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  return pid;
}

Result finish(pid_t pid, const fs::path& dir, const std::string& tag, int timeout_s = 300) {
  Result r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / (tag + ".out"));
  r.err = slurp(dir / (tag + ".err"));
  return r;
}

Result lockhound(const std::vector<std::string>& args, const TempDir& t, const std::vector<std::string>& env = {}) {
  static int n = 0;
  std::string tag = "cmd" + std::to_string(n++);
  std::vector<std::string> argv = {LOCKHOUND_EXE};
  argv.insert(argv.end(), args.begin(), args.end());
  return finish(start(argv, t.dir, tag, env), t.dir, tag);
}

std::string data(const std::string& name) { return std::string(DB_DATA_DIR) + "/" + name; }
std::string prog(const std::string& name) { return std::string(DB_PROG_DIR) + "/" + name; }

int64_t count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

json findings_of(const Result& r) {
  json j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("findings")) return json::array();
  return j["findings"];
}

bool has_class(const json& f, const std::string& name) {
  for (const auto& c : f["classes"])
    if (c.get<std::string>() == name) return true;
  return false;
}

#ifdef LOCKHOUND_SANITIZED
#define SKIP_UNDER_SANITIZER() GTEST_SKIP() << "skipped: the preloaded runtime cannot run under ASan"
#else
#define SKIP_UNDER_SANITIZER() \
  do {                         \
  } while (0)
#endif

TEST(DbCommands, TwoScenarioHalvesOfAnAbbaMeetInTheReport) {
  TempDir t;
  std::string db = t / "locks.db";
  Result a = lockhound({"check", "--db", db, data("ab.lh")}, t);
  EXPECT_EQ(a.rc, 0) << a.out << a.err;
  Result b = lockhound({"check", "--db", db, data("ba.lh")}, t);
  EXPECT_EQ(b.rc, 0) << b.out << b.err;
  Result r = lockhound({"report", db, "--format", "json"}, t);
  ASSERT_EQ(r.rc, 1) << r.out << r.err;
  json fs = findings_of(r);
  ASSERT_EQ(fs.size(), 1u) << r.out;
  EXPECT_EQ(fs[0]["type"], "circular_dependency");
  EXPECT_TRUE(has_class(fs[0], "lock1") && has_class(fs[0], "lock2")) << fs[0]["classes"].dump();
  std::string runs = fs[0]["details"].value("runs", "");
  EXPECT_NE(runs.find("run 1 (ab.lh"), std::string::npos) << runs;
  EXPECT_NE(runs.find("run 2 (ba.lh"), std::string::npos) << runs;
  json doc = json::parse(r.out);
  ASSERT_EQ(doc["runs"].size(), 2u);
  EXPECT_EQ(doc["runs"][0]["source"], "check");
  EXPECT_EQ(doc["runs"][1]["program"], data("ba.lh"));
  // The text report says it too, and the other formats render it.
  Result text = lockhound({"report", db}, t);
  EXPECT_EQ(text.rc, 1);
  EXPECT_NE(text.out.find("possible circular locking dependency"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("runs: lock"), std::string::npos) << text.out;
  for (const char* format : {"sarif", "dot", "html"}) {
    Result x = lockhound({"report", db, "--format", format, "-o", t / (std::string("r.") + format)}, t);
    EXPECT_EQ(x.rc, 1) << format << x.err;
    EXPECT_GT(fs::file_size(t / (std::string("r.") + format)), 100u) << format;
  }
}

TEST(DbCommands, TwoProgramHalvesOfAnAbbaUnderThePreloadMeetInTheReport) {
  SKIP_UNDER_SANITIZER();
  TempDir t;
  std::string db = t / "locks.db";
  // One through --db, the other through the environment.
  Result a = lockhound({"run", "--db", db, "--", prog("half_ab")}, t);
  EXPECT_EQ(a.rc, 0) << a.out << a.err;
  EXPECT_NE(a.err.find("no locking problems found"), std::string::npos) << a.err;
  Result b = lockhound({"run", "--", prog("half_ba")}, t, {"LOCKHOUND_DB=" + db});
  EXPECT_EQ(b.rc, 0) << b.out << b.err;
  EXPECT_NE(b.err.find("no locking problems found"), std::string::npos) << b.err;
  EXPECT_EQ(count(db, "SELECT count(*) FROM runs WHERE source = 'run'"), 2);
  Result r = lockhound({"report", db, "--format", "json"}, t);
  ASSERT_EQ(r.rc, 1) << r.out << r.err;
  json fs = findings_of(r);
  ASSERT_EQ(fs.size(), 1u) << r.out;
  EXPECT_EQ(fs[0]["type"], "circular_dependency");
  EXPECT_TRUE(has_class(fs[0], "lock_a") && has_class(fs[0], "lock_b")) << fs[0]["classes"].dump();
  std::string runs = fs[0]["details"].value("runs", "");
  EXPECT_NE(runs.find("(half_ab, pid "), std::string::npos) << runs;
  EXPECT_NE(runs.find("(half_ba, pid "), std::string::npos) << runs;
  // Each edge's evidence is the program's own, symbolized: the function that took the locks.
  ASSERT_EQ(fs[0]["chain"].size(), 2u);
  for (const auto& e : fs[0]["chain"]) EXPECT_NE(e.dump().find("\"work\""), std::string::npos) << e.dump();
  EXPECT_NE(fs[0]["chain"].dump().find("half.c"), std::string::npos);
}

TEST(DbCommands, SixteenProcessesWriteOneDatabaseAtOnce) {
  SKIP_UNDER_SANITIZER();
  TempDir t;
  std::string db = t / "locks.db";
  constexpr int kProcs = 16;
  std::vector<pid_t> pids;
  for (int k = 0; k < kProcs; ++k)
    pids.push_back(start({LOCKHOUND_EXE, "run", "--db", db, "--", prog("chain"), std::to_string(k)}, t.dir,
                         "chain" + std::to_string(k)));
  for (int k = 0; k < kProcs; ++k) {
    Result r = finish(pids[size_t(k)], t.dir, "chain" + std::to_string(k));
    EXPECT_EQ(r.rc, 0) << k << ": " << r.err;
    EXPECT_EQ(r.out, "chain " + std::to_string(k) + " done\n");
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  }
  // Every process is one run with its one edge; the sixteen edges make one chain of 17 classes.
  EXPECT_EQ(count(db, "SELECT count(*) FROM runs"), kProcs);
  EXPECT_EQ(count(db, "SELECT count(*) FROM edges"), kProcs);
  EXPECT_EQ(count(db, "SELECT count(*) FROM edge_runs"), kProcs);
  EXPECT_EQ(count(db, "SELECT count(DISTINCT run) FROM edge_runs"), kProcs);
  EXPECT_EQ(count(db, "SELECT count(*) FROM classes WHERE name LIKE 'links%'"), kProcs + 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM findings"), 0);
  // One transaction each: no run without its edge.
  EXPECT_EQ(count(db, "SELECT count(*) FROM runs WHERE id NOT IN (SELECT run FROM edge_runs)"), 0);
  Result r = lockhound({"report", db, "--format", "json"}, t);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["stats"]["runs"], kProcs);
  EXPECT_EQ(doc["stats"]["dependencies"], kProcs);
}

TEST(DbCommands, DiffShowsOnlyTheNewInversion) {
  TempDir t;
  std::string base = t / "base.db", change = t / "change.db", again = t / "again.db";
  ASSERT_EQ(lockhound({"check", "--db", base, data("ab.lh"), data("bc.lh")}, t).rc, 0);
  ASSERT_EQ(lockhound({"check", "--db", again, data("ab.lh"), data("bc.lh")}, t).rc, 0);
  ASSERT_EQ(lockhound({"check", "--db", change, data("ab.lh"), data("bc.lh")}, t).rc, 0);
  ASSERT_EQ(lockhound({"check", "--db", change, data("ba.lh")}, t).rc, 0);
  Result d = lockhound({"diff", base, change, "--format", "json"}, t);
  EXPECT_EQ(d.rc, 1) << d.out << d.err;
  json fs = findings_of(d);
  ASSERT_EQ(fs.size(), 1u) << d.out;
  EXPECT_EQ(fs[0]["type"], "circular_dependency");
  EXPECT_TRUE(has_class(fs[0], "lock1") && has_class(fs[0], "lock2"));
  EXPECT_FALSE(has_class(fs[0], "lock3"));
  // Equal databases (and a database with itself): nothing, 0.
  Result same = lockhound({"diff", base, again}, t);
  EXPECT_EQ(same.rc, 0) << same.out << same.err;
  Result self = lockhound({"diff", change, change, "--format", "json"}, t);
  EXPECT_EQ(self.rc, 0) << self.out;
  EXPECT_EQ(findings_of(self).size(), 0u);
  // The other way round: the change lost nothing the baseline had.
  EXPECT_EQ(lockhound({"diff", change, base}, t).rc, 0);
}

TEST(DbCommands, FilesThatAreNotDatabasesAreRefused) {
  TempDir t;
  std::string text = t / "notes.txt";
  std::ofstream(text) << "hello\n";
  Result r = lockhound({"report", text}, t);
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("notes.txt: not a lockhound database (not an SQLite file); expected a lockhound lock-order "
                       "database of schema version 1"),
            std::string::npos)
      << r.err;
  Result c = lockhound({"check", "--db", text, data("ab.lh")}, t);
  EXPECT_EQ(c.rc, 3);
  EXPECT_NE(c.err.find("not an SQLite file"), std::string::npos) << c.err;
  EXPECT_EQ(slurp(text), "hello\n");

  std::string newer = t / "newer.db";
  ASSERT_EQ(lockhound({"check", "--db", newer, data("ab.lh")}, t).rc, 0);
  sqlite3* h = nullptr;
  sqlite3_open(newer.c_str(), &h);
  sqlite3_exec(h, "PRAGMA user_version = 7", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  Result n = lockhound({"diff", newer, newer}, t);
  EXPECT_EQ(n.rc, 3);
  EXPECT_NE(n.err.find("written by a newer lockhound (schema version 7; this lockhound reads version 1)"),
            std::string::npos)
      << n.err;
  Result m = lockhound({"report", t / "missing.db"}, t);
  EXPECT_EQ(m.rc, 3);
  EXPECT_NE(m.err.find("missing.db: cannot open"), std::string::npos) << m.err;

  // Under the preload: one warning, the program's own result.
  SKIP_UNDER_SANITIZER();
  Result p = lockhound({"run", "--db", text, "--", prog("half_ab")}, t);
  EXPECT_EQ(p.rc, 0) << p.err;
  EXPECT_EQ(p.out, "half done\n");
  EXPECT_NE(p.err.find("lockhound: warning: the lock-order database was not updated: "), std::string::npos) << p.err;
  EXPECT_EQ(slurp(text), "hello\n");
}

// docs/database.md's examples run: every `    $ command` line, in order, in a scratch directory
// that sees examples/, with the built lockhound first on PATH; each exits 0, or 1 for findings.
TEST(DbCommands, DocumentationExamplesRun) {
  TempDir t;
  fs::create_directory_symlink(fs::path(LOCKHOUND_SOURCE_DIR) / "examples", t.dir / "examples");
  std::istringstream doc(slurp(fs::path(LOCKHOUND_SOURCE_DIR) / "docs/database.md"));
  std::string line;
  int commands = 0;
  std::string path = fs::path(LOCKHOUND_EXE).parent_path().string();
  while (std::getline(doc, line)) {
    if (line.rfind("    $ ", 0) != 0) continue;
    std::string cmd = line.substr(6);
    ++commands;
    Result r = finish(start({"/bin/sh", "-c", "cd '" + t.dir.string() + "' && PATH='" + path + "':\"$PATH\" " + cmd},
                            t.dir, "doc" + std::to_string(commands)),
                      t.dir, "doc" + std::to_string(commands));
    bool diff_or_report = cmd.find("lockhound report") == 0 || cmd.find("lockhound diff") == 0;
    EXPECT_TRUE(r.rc == 0 || (diff_or_report && r.rc == 1)) << cmd << ": exit " << r.rc << "\n" << r.err;
  }
  EXPECT_GE(commands, 6);
  // What the text says the example shows.
  Result diff = lockhound({"diff", t / "baseline.db", t / "locks.db", "--format", "json"}, t);
  EXPECT_EQ(diff.rc, 1);
  ASSERT_EQ(findings_of(diff).size(), 1u);
  EXPECT_TRUE(has_class(findings_of(diff)[0], "accounts") && has_class(findings_of(diff)[0], "journal"));
  EXPECT_EQ(lockhound({"diff", t / "locks.db", t / "locks.db"}, t).rc, 0);
}

}  // namespace
