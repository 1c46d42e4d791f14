// lockhound sys / import: what the kernel's /proc files say about locks, turned into findings
// (problems only) plus an informational summary (who waits for whom, tasks in D state, the most
// contended lock classes, lockdep's graph size and limits, and what could not be read).
//
// Findings:
//  - filelock_deadlock: a cycle in the wait-for graph of /proc/locks (processes blocked on file
//    locks held by each other). The kernel refuses such waits with EDEADLK for POSIX record
//    locks only; flock and OFD locks (and mixed cycles) hang forever, so lockhound finds them.
//  - circular_dependency: a cycle in /proc/lockdep's class graph (normally impossible: lockdep
//    does not record the edge that closes a cycle, it reports it).
//  - max_too_low: a lockdep table in /proc/lockdep_stats at its limit (lockdep is off then).
// The analysis functions do no I/O: the live reader (live.h) gathers facts about processes and
// passes them in, so the same code serves saved files and the running system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.h"

#include "core/diagnostic.h"
#include "core/finding.h"
#include "sys/lock_stat.h"
#include "sys/lockdep_dump.h"
#include "sys/proc_locks.h"

namespace lockhound::sys {

// What the running system could tell about the processes and files /proc/locks names.
struct ProcessFacts {
  std::map<int64_t, std::string> comm;                                   // pid -> command
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, std::string> paths;  // dev, inode -> path
  std::map<size_t, int64_t> entry_owner;  // lock entry index -> pid, for OFD locks (pid -1)
  std::map<int64_t, std::string> state;   // pid -> "D (disk sleep)", "S (sleeping)", …
  std::map<int64_t, Stack> kernel_stack;  // pid -> kernel stack of its blocked thread
  std::map<int64_t, std::string> wchan;
};

// One blocked file-lock request: `waiter` waits for `lock` (a path or dev:inode) held by `holder`.
struct FileLockWait {
  int64_t waiter = 0;
  std::string waiter_comm;
  std::string request;   // "WRITE flock"
  std::string file;
  std::vector<int64_t> holders;
  std::vector<std::string> holder_comms;
  size_t line = 0;
};

struct DStateTask {
  int64_t pid = 0, tid = 0;
  std::string comm;
  std::string wchan;
  Stack stack;           // kernel stack, when /proc/PID/task/TID/stack was readable
};

struct SysReport {
  std::vector<Finding> findings;
  std::vector<Diagnostic> diagnostics;
  std::vector<std::string> inputs;
  std::vector<std::string> unreadable;   // "cannot read /proc/123/stack: permission denied"
  std::vector<std::string> notes;        // "no /proc/lock_stat (kernel without CONFIG_LOCK_STAT)"

  // /proc/locks
  bool have_locks = false;
  size_t file_locks = 0, file_lock_waiters = 0;
  std::vector<FileLockWait> waits;
  // tasks
  bool have_tasks = false;
  size_t tasks_scanned = 0;
  std::vector<DStateTask> dstate;
  // /proc/lock_stat
  bool have_lock_stat = false;
  bool lock_stat_debugging_disabled = false;
  size_t lock_stat_classes = 0;
  std::vector<LockStatClass> top_contended;
  // /proc/lockdep, /proc/lockdep_stats
  bool have_lockdep = false;
  size_t lockdep_classes = 0, lockdep_edges = 0;
  bool have_lockdep_stats = false;
  std::vector<LockdepStat> lockdep_stats;  // the interesting ones: limits and debug_locks
};

// Front end name for findings: "sys" (live) or "import" (saved files).
void analyze_file_locks(const ProcLocks& locks, const ProcessFacts& facts, std::string_view source,
                        std::string_view input, SysReport& report);
void analyze_lockdep(const LockdepDump& dump, std::string_view source, std::string_view input,
                     SysReport& report);
void analyze_lock_stat(const LockStat& stat, size_t top, SysReport& report);
void analyze_lockdep_stats(const LockdepStats& stats, std::string_view source,
                           std::string_view input, SysReport& report);

// Which /proc file a saved copy is, by content.
enum class ProcFormat { unknown, locks, lock_stat, lockdep, lockdep_stats };
ProcFormat detect_format(std::string_view text);
std::string_view format_name(ProcFormat f);

// `lockhound import`: detects the format of `text` and analyzes it into `report`. Returns false
// (with an error diagnostic) when the format is not recognised.
bool import_text(std::string_view text, std::string_view name, size_t top, SysReport& report);

// The informational part, for people and for machines: the text summary, its JSON, and both
// as the report's "system" section.
std::string render_summary_text(const SysReport& report);
nlohmann::json summary_json(const SysReport& report);
Section system_section(const SysReport& report);

}  // namespace lockhound::sys
