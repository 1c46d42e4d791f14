// Kernel lock-event trace text, one line at a time: ftrace's `trace` / `trace_pipe` files and
// `perf script` output of the `lock:` tracepoints (lock_acquire, lock_release, lock_contended,
// lock_acquired, contention_begin, contention_end).
//
// What it accepts:
//   - ftrace lines "COMM-PID [CPU] FLAGS TIMESTAMP: EVENT: PAYLOAD" with 5 irq-info flag columns
//     (5.x/6.x: irqs-off/BH-disabled, need-resched, hardirq/softirq, preempt-depth,
//     migrate-disable), 4 columns (older kernels), or none (options/irq-info off); an optional
//     "(TGID)" column (options/record-tgid); '#' header lines, whose legend tells whether the
//     first flag column includes BH-disabled;
//   - perf script lines "COMM PID[/TID] [CPU] TIMESTAMP: lock:EVENT: PAYLOAD" (CPU optional),
//     and the callchain lines that follow each event with `perf script -g`.
// Events other than the lock ones are recognised as such (kind `other`) and carry no payload.
//
// What it promises: parsing never allocates and never throws; a TraceEvent's string_views point
// into the line passed to parse() and die with it. A line that is not understood yields
// LineKind::malformed with a message saying what was expected, so the caller can report
// "FILE:LINE: error: expected …" and go on with the next line.
//
// Cost: one left-to-right pass over the line; no regular expressions.
#pragma once

#include <cstdint>
#include <string_view>

namespace lockhound::trace {

enum class EventType : uint8_t {
  lock_acquire,
  lock_release,
  lock_contended,
  lock_acquired,
  contention_begin,
  contention_end,
  other,  // some other tracepoint in the same trace: ignored
};
std::string_view event_type_name(EventType t);

// contention_begin flags (include/trace/events/lock.h LCB_F_*).
enum ContentionFlag : uint32_t {
  kContentionSpin = 1u << 0,
  kContentionRead = 1u << 1,
  kContentionWrite = 1u << 2,
  kContentionRt = 1u << 3,
  kContentionPercpu = 1u << 4,
  kContentionMutex = 1u << 5,
};

// The interrupt state ftrace recorded with the event (its irq-info columns).
struct IrqInfo {
  bool known = false;         // the line had irq-info columns
  bool bh_known = false;      // the first column can say "BH disabled" ('b' / 'D'), 5.18+
  bool irqs_off = false;      // 'd' or 'D' (or 'X': the arch cannot tell; taken as off)
  bool bh_off = false;        // 'b' or 'D'
  bool hardirq = false;       // 'h', 'H' (hardirq on top of a softirq), 'z'/'Z' (NMI)
  bool softirq = false;       // 's', 'H'
  bool nmi = false;           // 'z', 'Z'
  uint8_t preempt_depth = 0;  // 4th column, hex digit or '.'
};

struct TraceEvent {
  EventType type = EventType::other;
  std::string_view event;     // the event name as written ("lock_acquire", "sched_switch")
  std::string_view comm;      // task name ("<idle>", "kworker/0:1", "<...>" when unknown)
  int64_t pid = -1;           // the task (thread id); 0 = a CPU's idle task
  int cpu = -1;               // -1 when the line had no CPU column
  IrqInfo irq;
  uint64_t timestamp_ns = 0;  // as printed, converted to nanoseconds when it has a fraction
  // Lock events:
  uint64_t addr = 0;          // lockdep_map address (lock_*) or lock address (contention_*)
  std::string_view name;      // class name (lock_* events); may contain spaces
  bool trylock = false;       // lock_acquire "try "
  bool read = false;          // lock_acquire "read " (shared, recursive or not)
  uint32_t contention_flags = 0;  // contention_begin, ContentionFlag bits
  int32_t ret = 0;            // contention_end
};

// One perf callchain line: "\tffffffff822014be __pv_queued_spin_lock_slowpath+0x10e ([kernel.kallsyms])".
struct CallchainFrame {
  uint64_t pc = 0;
  std::string_view function;  // without the offset
  std::string_view offset;    // "+0x10e", may be empty
  std::string_view object;    // "[kernel.kallsyms]", may be empty
};

enum class LineKind : uint8_t {
  event,       // a trace event (TraceEvent filled)
  frame,       // a perf callchain line (CallchainFrame filled)
  header,      // a '#' comment / header line
  blank,       // empty or whitespace only (perf separates events with them)
  malformed,   // not understood; `error` says what was expected
};

struct ParsedLine {
  LineKind kind = LineKind::blank;
  TraceEvent event;
  CallchainFrame frame;
  std::string_view error;     // static text, for malformed lines
};

// Parses lines of one input. Stateful only for what headers say about later lines (whether
// the flag columns carry BH-disabled); one parser per input.
class TraceParser {
 public:
  // `line` without its newline (a trailing '\r' is ignored).
  ParsedLine parse(std::string_view line);
  void parse(std::string_view line, ParsedLine& out);

  // What the '#' header legend said: +1 the irqs-off column includes BH-disabled, 0 it does
  // not, -1 no legend seen (then 5 flag columns are taken to include it, 4 not).
  int bh_legend() const { return bh_legend_; }

 private:
  void parse_header(std::string_view line);
  int bh_legend_ = -1;
};

}  // namespace lockhound::trace
