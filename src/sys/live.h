// The live system, read through /proc: file locks and who waits for them, tasks in D state with
// their wait channel and kernel stack, /proc/lock_stat, /proc/lockdep and /proc/lockdep_stats.
//
// Needs no privileges for what needs none: unreadable files (kernel stacks, other users'
// file descriptors, root-only lockdep files) are listed as "cannot read PATH: REASON" in the
// report, and absent ones (a kernel without CONFIG_LOCK_STAT) as notes; everything readable is
// still analyzed. The /proc root is a parameter so tests can point it at a fake tree.
#pragma once

#include <string>

#include "sys/sys_report.h"

namespace lockhound::sys {

struct LiveOptions {
  std::string proc_root = "/proc";
  size_t top = 10;           // most contended lock classes to show
  bool dstate = true;        // scan every thread for D state
  bool kernel_stacks = true; // read /proc/PID/task/TID/stack where readable
};

SysReport collect_live(const LiveOptions& options);

// The pieces, for tests and for `attach`-style reuse.
ProcessFacts gather_process_facts(const ProcLocks& locks, const LiveOptions& options,
                                  std::vector<std::string>& unreadable);
void scan_dstate(const LiveOptions& options, SysReport& report);
// Parses a kernel stack as /proc/PID/stack prints it ("[<0>] futex_wait_queue+0x60/0xa0").
Stack parse_kernel_stack(std::string_view text);

}  // namespace lockhound::sys
