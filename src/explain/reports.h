// Internal to explain: recognising report headlines and reading one report into a Finding.
//
// A report is read from a "view": the indices of the log lines that may belong to it (its own
// caller-id tag, or every line when the log has none), from its headline up to the next
// headline. The reader accepts the report's sections in any order, skips lines it does not know
// (other CPUs' output interleaved without tags), rejoins torn lock names, and stops at the end of
// the report's last stack dump or after a long run of foreign lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "explain/logtext.h"

namespace lockhound::explain {

enum class HeadlineKind {
  report,      // a lock or hang report: becomes a finding
  locks_dump,  // "Showing all locks held in the system:": feeds the wait-for graph
  other,       // another kind of report (KASAN, Oops, panic, cut here): ends the previous one
};

struct Headline {
  HeadlineKind kind = HeadlineKind::other;
  FindingType type = FindingType::circular_dependency;
  std::string title;  // the headline without brackets and severity prefix (made whole when cut)
  // The line lost its first characters on the way (a console or a web view cut every line):
  // recognised by what is left of a known headline, at least 60% of it and 12 characters.
  // `cut` is how many it lost, severity word and brackets included.
  bool was_cut = false;
  size_t cut = 0;
};

std::optional<Headline> detect_headline(std::string_view line);

// A task's held locks as listed by lockdep (a report's own list or the all-locks dump).
struct TaskLocks {
  TaskRef task;
  int count = 0;
  std::vector<HeldLock> locks;
};

// One report read from the log.
struct ReadReport {
  Finding finding;
  size_t consumed = 1;          // view entries that belong to the report (headline included)
  bool truncated = false;
  std::string missing;          // what a complete report would still have had
  // For the wait-for analysis of hung tasks.
  bool hung = false;
  TaskRef task;
  Stack task_stack;
  TaskRef likely_owner;         // "is blocked on a mutex likely owned by task X:pid"
};

ReadReport read_report(const std::vector<LogLine>& lines, const std::vector<size_t>& view,
                       const Headline& head, const std::string& location);

// Reads "Showing all locks held in the system:"; returns the tasks and the view entries used.
// `cut`: the dump's lines lost their first characters (its headline was cut).
std::vector<TaskLocks> read_locks_dump(const std::vector<LogLine>& lines,
                                       const std::vector<size_t>& view, size_t& consumed, bool cut = false);

}  // namespace lockhound::explain
