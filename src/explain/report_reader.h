// Internal to explain: one report being read. Reader walks a report's lines (its own view of the
// log) and fills Parsed, the union of everything any report type may carry; build_facts() turns
// Parsed into a finding's facts. reports.cpp drives both (read_report).
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/finding.h"
#include "explain/logtext.h"
#include "explain/reports.h"

namespace lockhound::explain {

struct ChainEntry {
  std::string name;
  std::string usage;
  Stack stack;
  size_t order = 0;
};

struct DepBlock {
  std::string name;
  std::vector<std::pair<std::string, Stack>> usages;  // "HARDIRQ-ON-W" -> stack
  Stack acquired;
};

struct WitLock {
  std::string address, name, witness, where;
};

struct WitOrder {
  std::string from, to;
  Stack stack;
};

enum class Slot { none, trying, holding, this_lock, other, safe, unsafe, freed, next, prev };

// Everything any report type may carry; each type reads the fields it has.
struct Parsed {
  FindingType type{};
  std::string title;
  TaskRef task;
  std::map<Slot, LockRef> locks;
  std::map<int, ChainEntry> entries;
  std::vector<std::string> chain_line;
  std::string prev_usage, new_usage, irq_ctx;
  Stack registered, safe_stack, unsafe_stack;
  std::vector<DepBlock> deps;
  std::string state;  // HARDIRQ, SOFTIRQ, HARDIRQ-READ, ...
  bool forwards = true;
  std::string released;
  Frame release_site;
  bool has_release_site = false;
  std::string nest_lock;
  std::string context_wait;
  std::string at_file;
  std::string preempt_count;
  Frame preempt_site;
  bool has_preempt_site = false;
  int64_t seconds = -1;
  int64_t cpu = -1;
  Stack task_stack;
  Stack task_stack_all;
  TaskRef owner;
  std::vector<std::string> stall_cpus;
  std::vector<std::string> stall_tasks;  // expedited stalls: pids of blocking tasks
  std::string jiffies, starved;
  std::string last_function;
  std::string spin_lock_name;
  std::string hang_kind;               // hung task: "I/O wait", "can't die"; "" for plain "blocked"
  std::string stall_kind;              // rcu: "expedited", "tasks"
  std::string pool;                    // workqueue lockup
  std::vector<std::string> in_flight;  // workqueue lockup: "pid:function" of running work items
  std::string check, check_at, check_function;  // lockdep self-check: condition, file:line, function
  std::vector<WitLock> wit;
  std::vector<WitOrder> worders;
  Stack backtrace;
  std::vector<TaskLocks> held;
  std::vector<std::pair<std::string, std::string>> details;
  bool saw_backtrace = false, saw_deadlock = false, saw_no_more = false, saw_scenario = false;
  bool saw_call_trace = false;
};

class Reader {
 public:
  Reader(const std::vector<LogLine>& lines, const std::vector<size_t>& view, const Headline& h)
      : lines_(lines), view_(view), cut_(h.was_cut ? std::max<size_t>(h.cut, 1) : 0) {
    p.type = h.type;
    p.title = h.title;
  }

  void run();
  Parsed p;
  size_t consumed = 1;

 private:
  const LogLine& at(size_t i) const { return lines_[view_[i]]; }
  // `t` starts with `phrase`; in a report whose lines were cut at the start (its headline says by
  // how much), with what is left of it (at least 6 characters of it).
  bool lead(std::string_view t, std::string_view phrase) const {
    if (starts_with(t, phrase)) return true;
    if (!cut_) return false;
    size_t k = cut_start(t, phrase, cut_ + 1);
    return k != std::string_view::npos && phrase.size() - k >= 6;
  }
  // What follows `phrase` (or what is left of it) in `t`.
  std::string_view after_lead(std::string_view t, std::string_view phrase) const {
    if (starts_with(t, phrase)) return t.substr(phrase.size());
    size_t k = cut_ ? cut_start(t, phrase, cut_ + 1) : std::string_view::npos;
    if (k == std::string_view::npos) return {};
    std::string_view left = phrase.substr(k);
    while (!left.empty() && left[0] == ' ') left.remove_prefix(1);
    return trim(t).substr(left.size());
  }
  // "N locks held by comm/pid:" and, in a cut report, what is left of it ("locks held by ...").
  std::optional<HeldHeader> held_header(std::string_view t) const;
  // `t` is `phrase`, or what is left of it in a cut report.
  bool is(std::string_view t, std::string_view phrase) const {
    if (t == phrase) return true;
    if (!cut_ || !lead(t, phrase)) return false;
    return ends_with(phrase, trim(t));
  }
  bool handle_title_fields();
  bool handle_type(std::string_view raw, std::string_view t);
  bool handle_common(std::string_view raw, std::string_view t);
  bool handle_expect(std::string_view t);
  std::string join_torn(std::string first, bool chain_entry);
  void set_target(Stack* s) { target_ = s; }
  void push_frame(const FrameParse& fp);
  void enter_backtrace(Stack* s) {
    target_ = s;
    backtrace_mode_ = true;
    frames_since_enter_ = 0;
  }

  const std::vector<LogLine>& lines_;
  const std::vector<size_t>& view_;
  size_t cut_ = 0;           // characters every line lost at its start (0: not cut)
  bool in_chain_ = false;    // after "the existing dependency chain": entries may have lost "-> #N"
  int unnumbered_ = 0;       // chain entries whose number was cut off, in order
  size_t pos_ = 1;
  Stack* target_ = nullptr;
  Stack* all_target_ = nullptr;  // hung tasks also keep unreliable frames
  bool backtrace_mode_ = false;
  int frames_since_enter_ = 0;
  Slot expect_ = Slot::none;
  std::string expect_name_;
  int held_index_ = -1;
  // A held-lock entry torn by another CPU's output (" #0: " alone on its line): the lock that
  // belongs to it arrives on a later line, possibly after foreign lines.
  bool held_torn_ = false;
  bool in_scenario_ = false;
  bool scen_rows_ = false;  // a step of lockdep's scenario table was seen
  bool nest_expected_ = false;
  bool dep_mode_ = false;
  bool preempt_expected_ = false;
  bool release_site_expected_ = false;
  bool stall_nmi_ = false;
};

// Small helpers shared by the reader's files.
inline bool is_rule(std::string_view t) {
  if (t.size() < 10) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return c == '='; }) ||
         std::all_of(t.begin(), t.end(), [](char c) { return c == '-'; });
}

inline void merge_lock(LockRef& into, const LockRef& from) {
  // syzbot repeats a lock line once per inlined frame; the last one has the real symbol.
  if (from.has_site && (!into.has_site || into.site.inlined)) {
    into.site = from.site;
    into.has_site = true;
  }
}

inline std::string after(std::string_view s, std::string_view key) {
  size_t p = s.find(key);
  if (p == std::string_view::npos) return "";
  return std::string(trim(s.substr(p + key.size())));
}

// "comm:pid" (hung task, soft lockup) -> task.
inline TaskRef parse_colon_task(std::string_view s) {
  TaskRef t;
  size_t c = s.rfind(':');
  if (c != std::string_view::npos && is_digits(s.substr(c + 1))) {
    t.comm = std::string(s.substr(0, c));
    t.pid = to_int(s.substr(c + 1));
  } else {
    t.comm = std::string(s);
  }
  return t;
}

// "X is trying ..." -> task from the text before `marker`.
inline bool task_before(std::string_view t, std::string_view marker, TaskRef& task) {
  size_t p = t.find(marker);
  if (p == std::string_view::npos || p == 0) return false;
  std::string_view who = t.substr(0, p);
  // "syz-executor.5/31323 [HC0[0]:SC0[0]:HE0:SE1]"
  if (size_t b = who.find(" ["); b != std::string_view::npos) who = who.substr(0, b);
  task = parse_task(who);
  return true;
}

// A report's facts from what the reader parsed (report_facts.cpp).
void build_facts(const Parsed& p, Finding& f);
Participant reporting_task(const Parsed& p);
std::string join(const std::vector<std::string>& v, std::string_view sep);

}  // namespace lockhound::explain
