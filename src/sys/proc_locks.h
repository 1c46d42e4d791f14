// Parser of /proc/locks: the kernel's table of file locks (POSIX record locks, flock, OFD locks,
// leases) and of the requests blocked behind them.
//
// Accepts what kernels print and have printed (fs/locks.c lock_get_status): waiter lines
// ("N: -> …", one more leading space per level of the blocker tree), OFD locks with pid -1,
// the pre-5.15 MANDATORY column, the old "READ  " spacing, devices wider than two hex digits
// ("103:02:4194737"), "<none>:0" for locks without an inode, and the same text after "lock:\t"
// in /proc/PID/fdinfo/FD. A malformed line becomes an error diagnostic naming its line; every
// other line is still parsed, so nothing before (or after) it is lost. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace lockhound::sys {

struct FileLock {
  size_t line = 0;            // 1-based line in the input
  uint64_t id = 0;            // the kernel's running number; waiters repeat their blocker's
  unsigned depth = 0;         // 0: a granted lock; N: a request blocked N levels down its tree
  std::string type;           // POSIX, FLOCK, OFDLCK, ACCESS, LEASE, DELEG, UNKNOWN
  std::string flavor;         // ADVISORY, MANDATORY, *NOINODE*; leases: ACTIVE, BREAKING, BREAKER
  std::string access;         // WRITE, READ, UNLCK (whatever word the kernel printed)
  int64_t pid = 0;            // -1 for OFD locks (owned by an open file, not a process)
  bool has_inode = true;      // false for "<none>:0"
  uint32_t major = 0, minor = 0;
  uint64_t inode = 0;
  int64_t start = 0;
  std::optional<int64_t> end;  // nullopt = EOF (to the end of the file, or a whole-file lock)
  // For a waiter: the index (into the parsed vector) of the entry it is queued behind, the
  // holder for depth 1, a waiter one level up otherwise. npos when the input did not show it.
  size_t blocker = static_cast<size_t>(-1);

  bool waiter() const { return depth > 0; }
  // "fe:00:10953092" as the kernel prints device and inode (two hex digits at least each).
  std::string file_key() const;
  // "0 EOF" / "100 199".
  std::string range() const;
};

struct ProcLocks {
  std::vector<FileLock> locks;
  std::vector<Diagnostic> diagnostics;
};

// Parses the whole text; `file` names the input in diagnostics.
ProcLocks parse_proc_locks(std::string_view text, std::string_view file = "/proc/locks");

// Parses one entry ("1: FLOCK  ADVISORY  WRITE 987 00:19:12345 0 EOF"). On failure returns
// nullopt and says what was expected in `error`.
std::optional<FileLock> parse_proc_locks_line(std::string_view line, std::string* error);

// True when `text` looks like /proc/locks (used to tell saved /proc files apart).
bool looks_like_proc_locks(std::string_view text);

}  // namespace lockhound::sys
