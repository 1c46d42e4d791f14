// The lock-order database in process: runs written to real SQLite files and read back merged,
// the evidence codec, files that are not ours refused, git commits read from .git.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/facts.h"
#include "core/voice.h"
#include "db/codec.h"
#include "db/database.h"
#include "scenario/scenario.h"

namespace lockhound::db {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/lockhound-db-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// A scenario through the engine, as one run: its graph and findings.
RunRecord scenario_run(const std::string& name, const std::string& text) {
  ScenarioChecker checker(name);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    checker.line(std::string_view(text).substr(pos, nl - pos));
    pos = nl + 1;
  }
  ScenarioResult r = checker.finish();
  RunRecord rec;
  rec.run = this_run("check", name, {"lockhound", "check", name});
  add_graph(checker.validator(), rec);
  rec.findings = r.findings;
  return rec;
}

const char kAB[] = "spinlock_t a, b;\ncpu CPU0 in f:\n  spin_lock(&a);\n  spin_lock(&b);\n  spin_unlock(&b);\n  spin_unlock(&a);\n";
const char kBA[] = "spinlock_t a, b;\ncpu CPU1 in g:\n  spin_lock(&b);\n  spin_lock(&a);\n  spin_unlock(&a);\n  spin_unlock(&b);\n";

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

void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(Database, TwoHalvesOfAnAbbaMakeACycleNamingBothRuns) {
  TempDir t;
  std::string db = t / "locks.db";
  RunRecord ab = scenario_run("ab.lh", kAB), ba = scenario_run("ba.lh", kBA);
  EXPECT_TRUE(ab.findings.empty());
  EXPECT_TRUE(ba.findings.empty());
  ASSERT_EQ(write_run(db, ab), "");
  ASSERT_EQ(write_run(db, ba), "");
  EXPECT_EQ(count(db, "SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(count(db, "SELECT count(*) FROM edges"), 2);
  EXPECT_EQ(count(db, "PRAGMA user_version"), kSchemaVersion);

  MergedReport r;
  std::string error;
  ASSERT_TRUE(merged_report({db}, {}, r, error)) << error;
  ASSERT_EQ(r.runs.size(), 2u);
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.type, FindingType::circular_dependency);
  EXPECT_EQ(f.source, "report");
  ASSERT_EQ(f.chain.size(), 2u);
  std::string runs = fact::get(f, fact::kRuns);
  EXPECT_NE(runs.find("run 1 (ab.lh"), std::string::npos) << runs;
  EXPECT_NE(runs.find("run 2 (ba.lh"), std::string::npos) << runs;
  // The chain carries each run's own evidence: the statement's function in the scenario.
  bool saw_f = false, saw_g = false;
  for (const auto& e : f.chain)
    for (const auto* side : {&e.from_site, &e.to_site})
      for (const auto& fr : side->stack) {
        saw_f |= fr.function == "f";
        saw_g |= fr.function == "g";
      }
  EXPECT_TRUE(saw_f && saw_g);
  // The same ABBA in one scenario has the same signature: one problem, whoever found it.
  RunRecord both = scenario_run("abba.lh", std::string(kAB) +
                                               "cpu CPU1 in g:\n  spin_lock(&b);\n  spin_lock(&a);\n  spin_unlock(&a);\n  spin_unlock(&b);\n");
  ASSERT_EQ(both.findings.size(), 1u);
  EXPECT_EQ(both.findings[0].signature, f.signature);
}

TEST(Database, AProblemARunReportedIsNotNewButShownWithAll) {
  TempDir t;
  std::string db = t / "locks.db";
  RunRecord both = scenario_run("abba.lh", std::string(kAB) +
                                               "cpu CPU1 in g:\n  spin_lock(&b);\n  spin_lock(&a);\n  spin_unlock(&a);\n  spin_unlock(&b);\n");
  ASSERT_EQ(both.findings.size(), 1u);
  ASSERT_EQ(write_run(db, both), "");
  MergedReport r;
  std::string error;
  ASSERT_TRUE(merged_report({db}, {}, r, error)) << error;
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.shown_by_runs, 1u);
  MergeOptions all;
  all.all = true;
  ASSERT_TRUE(merged_report({db}, all, r, error)) << error;
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].signature, both.findings[0].signature);
}

TEST(Database, SeveralFilesMergeAndNameTheirFile) {
  TempDir t;
  ASSERT_EQ(write_run(t / "a.db", scenario_run("ab.lh", kAB)), "");
  ASSERT_EQ(write_run(t / "b.db", scenario_run("ba.lh", kBA)), "");
  MergedReport r;
  std::string error;
  ASSERT_TRUE(merged_report({t / "a.db", t / "b.db"}, {}, r, error)) << error;
  ASSERT_EQ(r.findings.size(), 1u);
  std::string runs = fact::get(r.findings[0], fact::kRuns);
  EXPECT_NE(runs.find("a.db run 1"), std::string::npos) << runs;
  EXPECT_NE(runs.find("b.db run 1"), std::string::npos) << runs;
  // Each alone: nothing.
  ASSERT_TRUE(merged_report({t / "a.db"}, {}, r, error)) << error;
  EXPECT_TRUE(r.findings.empty());
}

TEST(Database, ClassesNamedByAddressAreNotMergedAcrossRuns) {
  TempDir t;
  std::string db = t / "locks.db";
  auto run = [](const std::string& from, const std::string& to) {
    RunRecord rec;
    rec.run = this_run("run", "prog", {"prog"});
    rec.classes = {{from, LockKind::pthread_mutex, 0, address_named(from)},
                   {to, LockKind::pthread_mutex, 0, address_named(to)}};
    Edge e;
    e.from = from;
    e.to = to;
    e.from_site.lock = from;
    e.to_site.lock = to;
    rec.edges.push_back(e);
    return rec;
  };
  ASSERT_EQ(write_run(db, run("table_lock", "mutex@0x55d0c0a01040")), "");
  ASSERT_EQ(write_run(db, run("mutex@0x55d0c0a01040", "table_lock")), "");
  EXPECT_EQ(count(db, "SELECT count(*) FROM classes"), 3);
  MergedReport r;
  std::string error;
  ASSERT_TRUE(merged_report({db}, {}, r, error)) << error;
  EXPECT_TRUE(r.findings.empty());
  // Named by symbol, the same two are one pair of classes, and a cycle.
  ASSERT_EQ(write_run(db, run("table_lock", "index_lock")), "");
  ASSERT_EQ(write_run(db, run("index_lock", "table_lock")), "");
  ASSERT_TRUE(merged_report({db}, {}, r, error)) << error;
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, FindingType::circular_dependency);
  // Heap locks named by where they were first locked are numbered in each run's order: local too.
  std::string heap = "mutex first locked in transfer (bank.cpp:31) #2";
  EXPECT_TRUE(address_named(heap));
  ASSERT_EQ(write_run(db, run("audit_lock", heap)), "");
  ASSERT_EQ(write_run(db, run(heap, "audit_lock")), "");
  ASSERT_TRUE(merged_report({db}, {}, r, error)) << error;
  EXPECT_EQ(r.findings.size(), 1u);
}

TEST(Database, ThreadsWritingAtOnceLoseNothing) {
  TempDir t;
  std::string db = t / "locks.db";
  constexpr int kWriters = 8;
  std::atomic<int> failed{0};
  std::mutex errors_lock;
  std::string errors;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      RunRecord rec;
      rec.run = this_run("run", "writer" + std::to_string(i), {});
      std::string a = "L" + std::to_string(i), b = "L" + std::to_string(i + 1);
      rec.classes = {{a, LockKind::pthread_mutex, 0, false}, {b, LockKind::pthread_mutex, 0, false}};
      Edge e;
      e.from = a;
      e.to = b;
      rec.edges.push_back(e);
      std::string why = write_run(db, rec);
      if (!why.empty()) {
        failed++;
        std::lock_guard<std::mutex> g(errors_lock);
        errors += why + "\n";
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0) << errors;
  EXPECT_EQ(count(db, "SELECT count(*) FROM runs"), kWriters);
  EXPECT_EQ(count(db, "SELECT count(*) FROM edges"), kWriters);
  EXPECT_EQ(count(db, "SELECT count(*) FROM classes"), kWriters + 1);
}

TEST(Database, FilesNotOursAreRefusedAndLeftAlone) {
  TempDir t;
  std::string error;
  MergedReport r;
  // Not SQLite at all.
  std::string text = t / "notes.txt";
  std::ofstream(text) << "this is not a database\n";
  EXPECT_FALSE(merged_report({text}, {}, r, error));
  EXPECT_NE(error.find("notes.txt: not a lockhound database (not an SQLite file)"), std::string::npos) << error;
  EXPECT_NE(error.find("schema version 1"), std::string::npos) << error;
  std::string why = write_run(text, scenario_run("ab.lh", kAB));
  EXPECT_NE(why.find("not an SQLite file"), std::string::npos) << why;
  std::ifstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "this is not a database");
  // Another program's SQLite database.
  std::string other = t / "other.db";
  exec(other, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)");
  EXPECT_FALSE(merged_report({other}, {}, r, error));
  EXPECT_NE(error.find("other.db: not a lockhound database (an SQLite database of another program"), std::string::npos)
      << error;
  why = write_run(other, scenario_run("ab.lh", kAB));
  EXPECT_NE(why.find("another program"), std::string::npos) << why;
  EXPECT_EQ(count(other, "SELECT count(*) FROM sqlite_master"), 1);
  EXPECT_EQ(count(other, "PRAGMA user_version"), 0);
  // A newer lockhound's.
  std::string newer = t / "newer.db";
  ASSERT_EQ(write_run(newer, scenario_run("ab.lh", kAB)), "");
  exec(newer, "PRAGMA user_version = 2");
  EXPECT_FALSE(merged_report({newer}, {}, r, error));
  EXPECT_NE(error.find("newer.db: written by a newer lockhound (schema version 2; this lockhound reads version 1)"),
            std::string::npos)
      << error;
  why = write_run(newer, scenario_run("ba.lh", kBA));
  EXPECT_NE(why.find("newer lockhound"), std::string::npos) << why;
  EXPECT_EQ(count(newer, "SELECT count(*) FROM runs"), 1);
  // An older one.
  exec(newer, "PRAGMA user_version = 0");
  EXPECT_FALSE(merged_report({newer}, {}, r, error));
  EXPECT_NE(error.find("older than this lockhound reads"), std::string::npos) << error;
  // Empty, missing, a directory.
  std::string empty = t / "empty.db";
  std::ofstream(empty).flush();
  EXPECT_FALSE(merged_report({empty}, {}, r, error));
  EXPECT_NE(error.find("empty.db: not a lockhound database (an empty file)"), std::string::npos) << error;
  EXPECT_FALSE(merged_report({t / "missing.db"}, {}, r, error));
  EXPECT_NE(error.find("missing.db: cannot open: No such file or directory"), std::string::npos) << error;
  EXPECT_FALSE(merged_report({t.dir.string()}, {}, r, error));
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
}

TEST(Database, DamagedEvidenceIsRefusedNotMisread) {
  TempDir t;
  std::string db = t / "locks.db";
  ASSERT_EQ(write_run(db, scenario_run("ab.lh", kAB)), "");
  ASSERT_EQ(write_run(db, scenario_run("ba.lh", kBA)), "");
  exec(db, "UPDATE edge_runs SET evidence = '{\"a\": 3}'");
  MergedReport r;
  std::string error;
  EXPECT_FALSE(merged_report({db}, {}, r, error));
  EXPECT_NE(error.find("is damaged (expected an object for an acquisition)"), std::string::npos) << error;
}

TEST(Codec, FindingsAndEvidenceRoundTrip) {
  RunRecord rec = scenario_run("abba.lh", std::string(kAB) +
                                              "cpu CPU1 in g:\n  spin_lock(&b);\n  spin_lock(&a);\n  spin_unlock(&a);\n  spin_unlock(&b);\n");
  ASSERT_EQ(rec.findings.size(), 1u);
  const Finding& f = rec.findings[0];
  Finding back;
  std::string error;
  ASSERT_TRUE(decode_finding(encode_finding(f), back, error)) << error;
  EXPECT_EQ(encode_finding(back), encode_finding(f));
  EXPECT_EQ(back.signature, f.signature);
  EXPECT_EQ(back.chain.size(), f.chain.size());
  EXPECT_EQ(back.scenario.rows, f.scenario.rows);
  Edge e;
  ASSERT_TRUE(decode_evidence(encode_evidence(f.chain[0]), e, error)) << error;
  EXPECT_EQ(e.to_site.stack.size(), f.chain[0].to_site.stack.size());
  EXPECT_EQ(e.to_site.context, f.chain[0].to_site.context);
  // Any bytes in a name: escaped, and a broken UTF-8 sequence replaced, never an unreadable row.
  Edge odd;
  odd.from_site.stack.push_back(Frame{0x1234, "fn\x01\"q\\ \xff é 漢", "", "a\nb.c", 7, "", true, 12});
  odd.to_site.held.push_back(HeldLock{"h", "0x1", "write", "", Frame{}, {}});
  odd.gates = {"g1", "g\t2"};
  Edge odd_back;
  ASSERT_TRUE(decode_evidence(encode_evidence(odd), odd_back, error)) << error << encode_evidence(odd);
  ASSERT_EQ(odd_back.from_site.stack.size(), 1u);
  EXPECT_EQ(odd_back.from_site.stack[0].function, "fn\x01\"q\\ \xef\xbf\xbd é 漢");
  EXPECT_EQ(odd_back.from_site.stack[0].file, "a\nb.c");
  EXPECT_TRUE(odd_back.from_site.stack[0].inlined);
  EXPECT_EQ(odd_back.from_site.stack[0].column, 12u);
  EXPECT_EQ(odd_back.to_site.held.size(), 1u);
  EXPECT_EQ(odd_back.gates, odd.gates);
  EXPECT_EQ(encode_evidence(odd_back), encode_evidence(odd_back));
  for (const char* bad : {"", "[]", "{", "{\"type\": \"no_such\"}", "{\"type\": 7}",
                          "{\"type\": \"circular_dependency\", \"signature\": \"s\", \"chain\": [1]}",
                          "{\"type\": \"circular_dependency\", \"signature\": \"s\", \"count\": -1}"}) {
    Finding x;
    EXPECT_FALSE(decode_finding(bad, x, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(Git, CommitOfTheRepositoryAroundADirectory) {
  TempDir t;
  fs::create_directories(t.dir / "repo/.git/refs/heads");
  fs::create_directories(t.dir / "repo/src/deep");
  std::string sha = "0123456789abcdef0123456789abcdef01234567";
  std::ofstream(t.dir / "repo/.git/HEAD") << "ref: refs/heads/main\n";
  std::ofstream(t.dir / "repo/.git/refs/heads/main") << sha << "\n";
  EXPECT_EQ(git_commit((t.dir / "repo/src/deep").string()), sha);
  // Packed refs only.
  fs::remove(t.dir / "repo/.git/refs/heads/main");
  std::string sha2 = "89abcdef0123456789abcdef0123456789abcdef";
  std::ofstream(t.dir / "repo/.git/packed-refs") << "# pack-refs with: peeled\n" << sha2 << " refs/heads/main\n";
  EXPECT_EQ(git_commit((t.dir / "repo").string()), sha2);
  // Detached.
  std::ofstream(t.dir / "repo/.git/HEAD") << sha << "\n";
  EXPECT_EQ(git_commit((t.dir / "repo/src").string()), sha);
  EXPECT_EQ(git_commit(t.dir.string()), "");
}

}  // namespace
}  // namespace lockhound::db
