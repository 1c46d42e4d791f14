// TraceAnalyzer: feeds a kernel lock-event trace (ftrace or perf script text, see
// trace_parser.h) through lockhound's engine and returns every problem it shows.
//
// How the trace maps onto the engine (lockdep's own model, so the verdicts match lockdep's):
//   - one engine Context per task (pid; each CPU's idle task, pid 0, is its own task). Events
//     that ftrace marks as hardirq / softirq run on top of the task they interrupted — the
//     TASK-PID column already names it — and go on that task's held stack with that irq
//     context, as lockdep pushes them on `current`'s held_locks;
//   - the interrupt state of each event comes from its irq-info columns: hardirq 'h'/'H',
//     softirq 's'/'H', hardirqs off 'd'/'D', BH disabled 'b'/'D' (5.18+ kernels; on older
//     formats softirqs are taken as disabled, so no softirq-unsafe usage is invented). Without
//     irq-info columns (perf script) no interrupt usage is recorded at all: cycles are still
//     found, irq-state findings cannot be;
//   - classes are lockdep's class names from the events. A class's kind is only set to a
//     sleeping or spinning lock when the trace proves it at the class's first acquisition, which
//     is held back until the task's next event in the same irq context: a contention_begin
//     (MUTEX / RT / PERCPU / rwsem READ|WRITE => sleeping, SPIN alone or with READ|WRITE =>
//     spinning), or a lock_acquired of the same lock with preemption disabled at the
//     acquisition (spin_lock() disables it before lock_acquire, down_*() do not; trusted only
//     once the trace shows mutexes emitting contention events). RCU read-side maps are RCU.
//     Everything else is LockKind::other, which the wait-context checks ignore: a wrong wait
//     type would be a false alarm, a missing one only a missed one;
//   - lockdep validates nothing for rcu_read_lock & co. and for the no-validate class of
//     &dev->mutex (check=0): those are held but not validated here either. NMI events are
//     skipped, as lockdep skips them. Reads are recursive reads unless the class is known to be
//     an rwsem (non-recursive), mirroring lockdep's read=1/read=2 split;
//   - a release of a lock the trace never saw taken is not a finding: the trace starts
//     mid-flight. Only a provable double unlock is (bad_unlock_balance): the task released the
//     same exclusive lock earlier in the trace and did not take it again since. (The engine runs
//     with report_unknown_release on; the front end passes it only those releases.);
//   - the events carry no lockdep subclass. Taking a second instance of a class already held is
//     therefore taken as a _nested() annotation (the n-th nested instance gets subclass n), as
//     lockdep, had it not been annotated, would have reported it and stopped: only re-taking
//     the very same instance is reported as recursive locking.
//
// Memory grows with tasks, classes, lock addresses and the engine's graph, never with the number
// of events. Malformed lines are skipped with a diagnostic (the first max_diagnostics are kept,
// the rest only counted) and everything else is still analysed.
//
// Each acquisition's Site carries its input line number; when the engine needs evidence it gets
// a one-frame stack "TASK: lock_acquire NAME" at FILE:LINE (or the perf -g callchain).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/finding.h"
#include "core/validator.h"
#include "trace/trace_parser.h"

namespace lockhound::trace {

struct LockdepClasses;

struct TraceOptions {
  std::string input_name = "-";   // used in diagnostics and evidence frames
  size_t max_diagnostics = 50;    // malformed lines beyond this are only counted
  bool report_guarded_cycles = true;
  // The same boot's /proc/lockdep class list (--lockdep): two locks of one class nested are an
  // annotated nesting when lockdep registered a subclass of that class, recursive locking when
  // it registered the class and never a subclass. Without it every such nesting is taken as
  // annotated (lockdep stops at the first unannotated one) and counted in nested_assumed.
  const LockdepClasses* lockdep = nullptr;
};

struct TraceStats {
  uint64_t lines = 0, events = 0, malformed = 0, other_events = 0, callchain_frames = 0;
  uint64_t acquires = 0, releases = 0, contended = 0, acquired = 0;
  uint64_t contention_begin = 0, contention_end = 0;
  uint64_t nmi_skipped = 0;        // events in NMI context (lockdep ignores them)
  uint64_t unmatched_releases = 0; // releases of locks taken before the trace began
  uint64_t double_unlocks = 0;     // provable double releases (bad_unlock_balance)
  uint64_t kinds_proven = 0;       // classes whose kind a contention_begin proved
  uint64_t tasks = 0, classes = 0;
  // Two locks of one class nested: classes whose nesting was taken as annotated without
  // knowing (no --lockdep, or a class it does not list), classes the class list shows a
  // subclass of, and nested acquisitions it shows were not annotated (recursive locking).
  uint64_t nested_assumed = 0, nested_confirmed = 0, nested_unannotated = 0;
};

class TraceAnalyzer {
 public:
  explicit TraceAnalyzer(TraceOptions options = {});
  ~TraceAnalyzer();
  TraceAnalyzer(const TraceAnalyzer&) = delete;
  TraceAnalyzer& operator=(const TraceAnalyzer&) = delete;

  // One input line, without its newline. Lines are numbered from 1 in call order.
  void feed_line(std::string_view line);
  // Ends the input (flushes events held back for their callchain or contention info).
  void finish();

  // Every problem found, each with its trace position filled in (location "FILE:LINE").
  std::vector<Finding> findings() const;
  const std::vector<Diagnostic>& diagnostics() const;
  uint64_t malformed_lines() const;
  TraceStats stats() const;
  const Validator& validator() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads `fd` line by line (constant memory) into `analyzer`. `progress`, when set, is called
// every few hundred thousand lines with the bytes consumed so far. Returns false on a read
// error (message in `error`); what was read before it has been analysed.
bool analyze_fd(int fd, TraceAnalyzer& analyzer, std::string& error,
                void (*progress)(uint64_t bytes, void* arg) = nullptr, void* progress_arg = nullptr);

// Convenience for tests and fuzzing: the whole text at once.
void analyze_text(std::string_view text, TraceAnalyzer& analyzer);

}  // namespace lockhound::trace
