// Facts: the documented keys of Finding::details.
//
// A front end states what it knows in a finding's structured fields (classes, chain,
// acquisitions, participants) and, for what has no field of its own, in `details` under one of
// these keys. The finding layer (core/voice.h) reads them to word the report; renderers print
// them as they are. docs/json-format.md lists them. A key a front end invents for itself is
// printed but never read by the finding layer.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"

namespace lockhound::fact {

// Interrupts and usage.
inline constexpr std::string_view kInterrupt = "interrupt";        // hardirq|softirq|signal|reclaim|nmi
inline constexpr std::string_view kUsage = "usage";                // "{HARDIRQ-ON-W} -> {IN-HARDIRQ-W}"
inline constexpr std::string_view kState = "state";                // lockdep's usage state: HARDIRQ, SOFTIRQ-READ
inline constexpr std::string_view kIrqSafe = "irq-safe lock";
inline constexpr std::string_view kIrqUnsafe = "irq-unsafe lock";
inline constexpr std::string_view kNewDependency = "new dependency";  // "a -> b", the edge just added
inline constexpr std::string_view kIrqContext = "context";         // lockdep's "[HC1[1]:SC0[0]:HE0:SE1]" or "context-{3:3}"
// Cycles and instances.
inline constexpr std::string_view kInstance = "instance";          // recursive locking: "same lock instance…", "another instance…"
inline constexpr std::string_view kInstances = "instances";        // a cycle between two locks of one class
inline constexpr std::string_view kGuardedBy = "guarded by";       // the common gate locks of a guarded cycle
// Sleeping and waiting.
inline constexpr std::string_view kReason = "reason";              // why sleeping is not allowed there
// The finding's classes that stand for a callback's run, not a lock (LockKind::callback: a wait
// for a timer, work item or interrupt handler), comma-separated.
inline constexpr std::string_view kCallbacks = "callbacks";
// Those of them that are workqueues (scan: a flush_workqueue() waits for every item queued there),
// comma-separated.
inline constexpr std::string_view kQueues = "queues";
// The kind of the spinning lock held (kind_name: "spinlock", "pthread_spinlock", …). In user
// space (a pthread spinlock) a spinner only burns CPU while the holder sleeps: a hazard.
inline constexpr std::string_view kSpinKind = "spinning lock kind";
// Set to "note" when the facts show the finding cannot hang by itself (a cycle between locks of
// one class that no single lock closes, a trylock of a lock the thread holds): it is worth
// knowing, but is a note (shown with show_guarded), not a deadlock.
inline constexpr std::string_view kSeverity = "severity";
inline constexpr std::string_view kOperation = "operation";        // what may sleep: a lock, "msleep", …
inline constexpr std::string_view kAt = "at";                      // where the kernel's might_sleep check fired (file:line)
inline constexpr std::string_view kPreemptCount = "preempt_count";
inline constexpr std::string_view kPreemptDisabledAt = "preemption disabled at";
inline constexpr std::string_view kIrqsDisabled = "irqs_disabled()";  // "1" when the kernel said so
inline constexpr std::string_view kInAtomic = "in_atomic()";
// Who holds, who waits.
inline constexpr std::string_view kHeldBy = "held by";
inline constexpr std::string_view kWaitsFor = "waits for";
inline constexpr std::string_view kAlsoHeld = "also held";
inline constexpr std::string_view kLikelyOwner = "likely owner";
inline constexpr std::string_view kOwner = "owner";                // a lock's owner that no longer exists
inline constexpr std::string_view kForkHolder = "holder";          // the parent's thread that held it at fork()
inline constexpr std::string_view kFunction = "function";          // the function a finding is about
// Hangs and machines.
inline constexpr std::string_view kCpu = "cpu";
inline constexpr std::string_view kSeconds = "seconds";
inline constexpr std::string_view kThresholdMs = "threshold_ms";
inline constexpr std::string_view kJiffies = "jiffies";
inline constexpr std::string_view kStarved = "kthread starved";
inline constexpr std::string_view kStallCpus = "stalled cpus";
inline constexpr std::string_view kFlavor = "flavor";              // rcu_sched, rcu_preempt, rcu_tasks
inline constexpr std::string_view kHang = "hang";                  // how a hung task waits: "I/O wait", "can't die"
inline constexpr std::string_view kStallKind = "stall kind";       // RCU: "expedited", "tasks" ("" for a normal GP)
inline constexpr std::string_view kPool = "pool";                  // a workqueue worker pool: "cpus=0 node=0 flags=0x0 nice=0"
inline constexpr std::string_view kInFlight = "in-flight";         // work items running on a stuck pool: "123:foo_work_fn"
inline constexpr std::string_view kCheck = "check";                // the condition of a lockdep self-check that failed
inline constexpr std::string_view kMessage = "message";            // the kernel's own words for a lock defect
inline constexpr std::string_view kLimit = "limit";                // lockdep's table that overflowed
inline constexpr std::string_view kValue = "value";
inline constexpr std::string_view kMax = "max";
inline constexpr std::string_view kPid = "pid";                    // the process a finding is about
inline constexpr std::string_view kLockTypes = "lock types";       // file locks: "POSIX lock, FLOCK lock"
inline constexpr std::string_view kNoSites = "sites";              // "not recorded": the input has no stacks
// The report's lines lost their first characters on the way to lockhound (a console or a web view
// cut them): "text" when the text itself lost some (a name at the start of a line may be
// incomplete), "prefix" when only the timestamps or caller ids did.
inline constexpr std::string_view kLinesCut = "lines cut";
// The lock-order database (`lockhound report`): for each edge of the chain, the runs that took it,
// "a -> b: run 1 (prog, pid 42, TIME, commit C), run 3 (…); b -> a: run 2 (…)".
inline constexpr std::string_view kRuns = "runs";

// The value of `key`, or "" when the finding does not state it.
inline std::string get(const Finding& f, std::string_view key) {
  for (const auto& [k, v] : f.details)
    if (k == key) return v;
  return "";
}
// A comma-separated value (kCallbacks, kQueues) as its items; none when not stated.
inline std::vector<std::string> get_list(const Finding& f, std::string_view key) {
  std::string list = get(f, key);
  std::vector<std::string> out;
  for (size_t at = 0; !list.empty() && at <= list.size();) {
    size_t comma = std::min(list.find(',', at), list.size());
    out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}
inline bool has(const Finding& f, std::string_view key) {
  for (const auto& [k, v] : f.details)
    if (k == key) return true;
  return false;
}
// Sets `key` (replacing an earlier value).
inline void set(Finding& f, std::string_view key, std::string value) {
  for (auto& [k, v] : f.details)
    if (k == key) {
      v = std::move(value);
      return;
    }
  f.details.emplace_back(std::string(key), std::move(value));
}

}  // namespace lockhound::fact
