// Runtime options: LOCKHOUND_OPTIONS (colon-separated key=value, like TSAN_OPTIONS) and the
// suppressions file. Shared by the preload library and `lockhound run`, which turns its flags
// into the same string so both accept exactly the same keys.
//
// Keys (docs/runtime.md has the full table):
//   log_path=PREFIX       each process writes PREFIX.PID (default: stderr)
//   format=text|json|sarif|dot|html   text: findings as found + summary at exit; the others: one
//                         report at exit (docs/json-format.md, docs/reports.md)
//   source_root=DIR       sarif: file locations relative to DIR
//   halt_on_error=0|1     exit (with exitcode) at the first unsuppressed finding
//   exitcode=N            exit status of a process that found something (default 66; 0 = keep)
//   fail_on=deadlocks|hazards|all   which findings set exitcode (and stop halt_on_error): those
//                         of severity deadlock (default), also hazards, or also notes
//   stack_depth=N         frames kept per stack (default 32)
//   watchdog_ms=N         a lock wait longer than this looks for an actual deadlock (0 = off)
//   spin_ms=N             a spinlock spun on longer than this is reported (0 = off)
//   watchdog_abort=0|1    abort() (core dump) after reporting an actual deadlock
//   suppressions=FILE     findings to drop (see Suppressions)
//   default_suppressions=0|1  also apply lockhound's built-in rules (default 1, see below)
//   show_guarded=0|1      guarded cycles count as findings and are printed
//   full_stacks=0|1       text reports show every frame (default: library frames folded)
//   follow_children=0|1   child processes inherit the runtime (default 1)
//   summary=0|1           print the summary at exit (default 1)
//   max_memory_mb=N       the engine's memory budget; past it lockhound stops (default 2048)
//   verbosity=N           0 quiet, 1 notes about what the runtime does
//   fast_path=0|1         validated chains skip the engine (default 1; 0 sends every event to it)
//   db=FILE               at exit, add the process's lock-order graph, usage and findings to the
//                         lock-order database FILE (docs/database.md); LOCKHOUND_DB=FILE says the same
//
// Parsing never throws: unknown keys and bad values become error strings and the defaults stay.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"

namespace lockhound::runtime {

struct Options {
  std::string log_path;
  std::string format = "text";
  std::string source_root;
  bool halt_on_error = false;
  int exitcode = 66;
  std::string fail_on = "deadlocks";
  int stack_depth = 32;
  int watchdog_ms = 2000;
  int spin_ms = 1000;
  bool watchdog_abort = false;
  std::string suppressions;
  bool default_suppressions = true;
  bool show_guarded = false;
  bool full_stacks = false;
  bool follow_children = true;
  bool summary = true;
  int max_memory_mb = 2048;
  int verbosity = 0;
  bool fast_path = true;
  std::string db;
};

// Applies "k=v:k=v" on top of `opts`. Returns one message per problem ("unknown option 'x'").
std::vector<std::string> parse_options(std::string_view text, Options& opts);

// Every key parse_options accepts, for `lockhound run --help` and validation.
const std::vector<std::string_view>& option_keys();

// Suppressions: one rule per line, "KIND:PATTERN", '#' starts a comment. KIND is
//   class     a lock class name involved in the finding
//   function  a function in any stack of the finding
//   file      a source file in any stack of the finding (matched against the full path)
//   type      the finding type ("circular_dependency")
//   thread    a thread involved in the finding, as the report names it ("VM Thread (tid 42)")
// PATTERN is a shell glob (* ? [..]); a plain word matches as a substring ("*word*"). Terms
// joined by "&&" on one line must all match: "type:still_has_locks_held && thread:worker*".
class Suppressions {
 public:
  // Parses `text`; problems go to `errors` as "FILE:LINE: error: …".
  bool parse(std::string_view text, std::string_view file_name, std::vector<std::string>& errors);
  // The rule that matches, or "" when none does. Stacks must be symbolized already.
  std::string match(const Finding& f) const;
  size_t size() const { return rules_.size(); }

 private:
  struct Term {
    std::string kind, pattern;
  };
  struct Rule {
    std::vector<Term> terms;
    std::string text;
  };
  static bool term_matches(const Term& t, const Finding& f);
  std::vector<Rule> rules_;
};

// lockhound's built-in rules (option default_suppressions): programs that end a thread holding
// a lock on purpose, where the report would be a false alarm on every run. Each rule says why.
extern const char kDefaultSuppressions[];

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace lockhound::runtime
