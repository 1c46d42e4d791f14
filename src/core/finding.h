// The common report model: what every front end produces and every renderer consumes.
//
// A Finding is one distinct problem (deduplicated by its signature) with its occurrence count.
// It is self-contained: names, stacks and held locks are copied in as text or raw addresses, so a
// finding can be rendered, serialised and merged without the engine or the input that made it.
// Frames may carry only a pc until a symbolizer fills in function/file/line before rendering.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lockhound {

// DESIGN.md's finding types. The JSON `type` of a finding is type_name(type).
enum class FindingType : uint8_t {
  circular_dependency,
  recursive_locking,
  inconsistent_lock_state,
  irq_lock_inversion,
  irq_safe_unsafe_order,
  invalid_wait_context,
  sleeping_in_invalid_context,
  scheduling_while_atomic,
  bad_unlock_balance,
  lock_held_returning_to_user,
  still_has_locks_held,
  held_lock_freed,
  nested_lock_not_taken,
  max_too_low,
  lockdep_internal_error,
  hung_task,
  soft_lockup,
  hard_lockup,
  rcu_stall,
  spinlock_lockup_suspected,
  spinlock_recursion,
  spinlock_bad_magic,
  spinlock_already_unlocked,
  workqueue_leaked_lock,
  workqueue_lockup,
  non_static_key,
  witness_lock_order_reversal,
  missing_unlock,
  guarded_cycle,
  actual_deadlock,
  filelock_deadlock,
  blocking_call_under_lock,
};

std::string_view type_name(FindingType t);
// lockdep-style headline, e.g. "possible circular locking dependency detected".
std::string_view type_title(FindingType t);
// "error" for real deadlocks and corruption, "warning" for hazards, "note" for guarded cycles.
std::string_view type_severity(FindingType t);
// A few sentences for a reader who meets the type for the first time: what it means and how it
// is usually fixed (the help text of SARIF's rules, the HTML report's legend).
std::string_view type_help(FindingType t);

// The headlines the kernel (lockdep, the spinlock debug code, the hang detectors) and BSD's
// WITNESS print for each type, as data: `explain` recognises reports by them. `text` is the
// headline with its "WARNING: " / "BUG: " / "INFO: " word removed.
struct KernelHeadline {
  enum class Match : uint8_t { prefix, exact, suffix, contains };
  FindingType type;
  Match match;
  std::string_view text;
  std::string_view also = {};     // a second piece the headline must contain, when not empty
  // The word that must introduce it: "" any (or none), "BUG: " / "INFO: " that one, "*" any
  // word but not none, "-" none.
  std::string_view severity = {};
};
// In the order they must be tried (the more specific first).
std::span<const KernelHeadline> kernel_headlines();
// The type whose kernel headline `t` (severity word removed) is, or nullopt. `severity` is the
// word that introduced it ("WARNING: ", "BUG: ", "INFO: " or "").
std::optional<FindingType> match_kernel_headline(std::string_view t, std::string_view severity);

struct Frame {
  uint64_t pc = 0;           // 0 when unknown
  std::string function;      // demangled where possible
  std::string offset;        // kernel "+0x64/0x80" when the input gave one
  std::string file;
  unsigned line = 0;
  std::string object;        // DSO or kernel module, when known
  bool inlined = false;
  unsigned column = 0;       // 0 when unknown (debug information's column of the call)
};

using Stack = std::vector<Frame>;

// One lock as held by a context at some moment (lockdep's " #0: (name), at: site").
struct HeldLock {
  std::string name;          // class name as the source prints it
  std::string address;       // instance, when known ("ffff888012345678", "0x7ffd…")
  std::string mode;          // "write", "read", "recursive-read"; "" when unknown
  std::string usage;         // lockdep usage string "{+.+.}" when the input had one
  Frame site;                // where it was taken
  // The whole stack of that acquisition when the input recorded one: a front end that
  // symbolizes late picks `site` from it (its user frame) and may then drop it.
  Stack stack;
};

// One acquisition used as evidence: `lock` taken in `context`, at `stack`, with `held` held.
struct Acquisition {
  std::string lock;
  std::string mode;          // "write", "read", "recursive-read", "try"
  std::string context;       // "thread 2 (tid 4312)", "task insmod/42", "T1"
  std::string irq;           // "", "hardirq", "softirq", "signal"
  bool irqs_enabled = true;  // the interrupt of interest was enabled at that moment
  Stack stack;
  // The lock call itself, when the input names it apart from the stack (lockdep's ", at:
  // site"): more exact than the stack where the call was inlined.
  Frame site;
  // The locking function called ("spin_lock_bh"), when the input knows it and its stack does not
  // show it (scan: a stack ends at the caller's line); the fix names the call to change.
  std::string call;
  std::vector<HeldLock> held;
};

// One dependency edge `from` -> `to`: `to` was taken while `from` was held.
struct Edge {
  std::string from;
  std::string to;
  Acquisition from_site;     // where `from` was taken (the holder side)
  Acquisition to_site;       // where `to` was taken while `from` was held
  std::string dep;           // lockdep's edge kind: "EN", "ER", "SN", "SR"; "" when unknown
  std::vector<std::string> gates;  // locks held exclusively around both (gate-lock evidence)
};

// A task or thread named by the finding (hung tasks, actual deadlocks, the reporting task).
struct Participant {
  std::string name;          // comm or thread name
  int64_t pid = -1;
  std::string state;         // "D", "blocked", "running", …
  std::string waits_for;     // the lock it is blocked on, for wait-for cycles
  std::vector<HeldLock> held;
  Stack stack;
};

// The "Possible unsafe locking scenario" table: one or two columns (CPU0, CPU1) of steps.
struct Scenario {
  std::vector<std::string> columns;                 // {"CPU0"}, {"CPU0", "CPU1"}, …
  std::vector<std::vector<std::string>> rows;       // one step per row, "" in idle columns
};

struct Finding {
  FindingType type = FindingType::circular_dependency;
  std::string source;              // front end: "check", "run", "trace", "explain", "sys", "attach"
  std::string title;               // the headline as the report prints it
  std::string summary;             // one line: "&a->lock --> &b->lock --> &a->lock"
  std::vector<std::string> classes;
  std::vector<Edge> chain;         // cycles: every edge of the cycle in order; irq: safe..unsafe
  std::vector<Acquisition> acquisitions;  // single-acquisition findings (recursive, wait, usage)
  std::vector<Participant> participants;
  Scenario scenario;
  std::string explanation;         // root cause in one sentence
  std::string fix;                 // what to change, naming the site
  std::vector<std::pair<std::string, std::string>> details;  // extra facts, in order
  std::string location;            // input position: "file:line" of the report or event
  std::string raw;                 // the original report text (explain), when there is one
  uint64_t count = 1;              // occurrences of the same signature
  std::string signature;           // dedupe key; equal signatures are one problem
};

}  // namespace lockhound
