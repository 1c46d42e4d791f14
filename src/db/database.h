// The lock-order database: the lock-order graph of many runs in one SQLite file, and the checks
// of the engine over their union.
//
// One run sees only the orders it happened to take. Each run (`lockhound run` through the
// runtime's `db=FILE`, `check --db`, `trace --db`) adds to one file what its engine learned: the
// lock classes by their stable names, every dependency edge with the evidence of its first
// occurrence (both sites, the locks held), each class's interrupt usage, the run's findings with
// their signatures, and the run itself (program, arguments, pid, time, working directory, git
// commit). `merged_report` loads one or more such files, replays the union of their graphs into
// a fresh Validator (a front end stating facts: classes, usage, edges) and returns the problems
// the engine finds there, each chain edge carrying the evidence and the runs that contributed it.
//
// What it promises:
//   - Many processes may write one file at once (a parallel test suite): WAL journal, a busy
//     timeout, one transaction per run; nothing written is lost, and a writer never waits longer
//     than its timeout (then write_run fails with the reason; the caller warns and goes on).
//   - A file is read only if it is a lockhound database of exactly this schema version
//     (PRAGMA application_id and user_version); anything else (not SQLite, another program's
//     SQLite file, an older or newer schema) is refused with a message naming the file and what
//     was expected. docs/database.md documents the schema.
//   - Classes named after an address (`mutex@0x…`: no symbol, no init site) or after where a
//     heap lock was first locked (`mutex first locked in f (a.cpp:3) #2`: one class per lock,
//     numbered in the run's order) mean nothing in another process; they are kept per run
//     (ClassRecord::local) and never merged across runs.
//
// Thread safety: every call opens its own connection; calls may run in parallel threads and
// processes. Costs: write_run is one transaction of O(classes + edges + findings) rows;
// merged_report replays each distinct edge once and reads evidence only for the edges of
// findings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/types.h"
#include "core/validator.h"

namespace lockhound::db {

// PRAGMA application_id of a lockhound database: "lkhd".
inline constexpr int32_t kApplicationId = 0x6c6b6864;
// PRAGMA user_version: the schema this lockhound reads and writes (docs/database.md).
inline constexpr int kSchemaVersion = 1;

// The run that contributed facts.
struct RunInfo {
  std::string source;                  // the front end: "run", "check", "trace"
  std::string program;                 // the program's path, or the input file
  std::vector<std::string> arguments;  // the whole command line, argv[0] first
  int64_t pid = 0;
  std::string time;                    // when the run was recorded, UTC ("2026-12-06T04:13:00Z")
  std::string cwd;
  std::string git_commit;              // HEAD of the repository around cwd; "" outside one
  std::string host;
};

struct ClassRecord {
  std::string name;
  LockKind kind = LockKind::other;
  uint32_t usage = 0;   // core/usage_bits.h
  bool local = false;   // named after an address: meaningful in this run only
};

// What one run adds to a database.
struct RunRecord {
  RunInfo run;
  std::vector<ClassRecord> classes;
  std::vector<Edge> edges;         // the graph, each edge with its first evidence
  std::vector<Finding> findings;   // completed (signature set)
};

// A RunInfo for this process: pid, time, cwd, host and git commit filled in.
RunInfo this_run(std::string source, std::string program, std::vector<std::string> arguments);
// This process's command line (/proc/self/cmdline), argv[0] first.
std::vector<std::string> process_arguments();
// The commit HEAD names in the git repository containing `dir` (read from .git, no git
// process), or "" when there is none.
std::string git_commit(const std::string& dir);
// The classes (name, kind, usage) and edges of `v`. `local` says which class names are not
// stable across processes; by default, names with "@0x" or " first locked in " in them.
void add_graph(const Validator& v, RunRecord& rec);
bool address_named(const std::string& class_name);

struct WriteOptions {
  int busy_timeout_ms = 30000;  // the longest a writer waits for others
};
// Adds `rec` to the database at `path` (created when missing) in one transaction. Returns "" or
// the reason it could not ("locks.db: not a lockhound database (…)").
std::string write_run(const std::string& path, const RunRecord& rec, const WriteOptions& options = {});

// A run as stored.
struct StoredRun {
  std::string label;   // "run 3", or "a.db run 3" when several files are read
  int64_t id = 0;
  RunInfo info;
  uint64_t edges = 0, findings = 0;
};
// "run 3 (prog, pid 42, 2026-12-06T04:13:00Z, commit 0123456789ab)": how findings name a run.
std::string describe_run(const StoredRun& r);

struct MergeOptions {
  bool all = false;          // also the problems single runs reported (default: only new ones)
  bool whole_graph = false;  // fill MergedReport::graph
};

struct MergedReport {
  std::vector<Finding> findings;
  std::vector<StoredRun> runs;
  uint64_t classes = 0, edges = 0, usage_classes = 0;
  uint64_t shown_by_runs = 0;  // problems of the merged graph a single run had already reported
  std::vector<Edge> graph;     // MergeOptions::whole_graph
};

// Loads every file, merges the graphs (classes by name, edges by their classes) and runs the
// engine's checks over the union. False with `error` when a file cannot be read as a lockhound
// database of this schema.
bool merged_report(const std::vector<std::string>& paths, const MergeOptions& options, MergedReport& out,
                   std::string& error);

// Every problem the files show: their runs' findings and those of their merged graph, one per
// signature (`lockhound diff`).
bool all_problems(const std::vector<std::string>& paths, std::vector<Finding>& out, std::string& error);

// The findings of `now` whose signature is not among `before`'s.
std::vector<Finding> new_findings(const std::vector<Finding>& before, const std::vector<Finding>& now);

}  // namespace lockhound::db
