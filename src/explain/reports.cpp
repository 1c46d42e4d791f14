#include "explain/reports.h"

#include "core/facts.h"
#include "core/sites.h"
#include "core/voice.h"

#include <algorithm>
#include <map>

namespace lockhound::explain {

// ---- headlines -------------------------------------------------------------------------------

namespace {

std::string_view strip_prefix_words(std::string_view t) {
  for (bool again = true; again;) {
    again = false;
    for (std::string_view p : {"watchdog: ", "NMI watchdog: ", "rcu: ", "witness: ", "kernel: "}) {
      if (starts_with(t, p)) {
        t = trim(t.substr(p.size()));
        again = true;
      }
    }
  }
  return t;
}

}  // namespace

std::optional<Headline> detect_headline(std::string_view line) {
  std::string_view t = trim(line);
  if (t.size() < 8) return std::nullopt;
  bool bracket = false;
  if (starts_with(t, "[ ") && ends_with(t, " ]")) {
    t = trim(t.substr(2, t.size() - 4));
    bracket = true;
  }
  t = strip_prefix_words(t);
  std::string_view sev;
  for (std::string_view p : {"WARNING: ", "INFO: ", "BUG: "}) {
    if (starts_with(t, p)) {
      sev = p;
      t = trim(t.substr(p.size()));
      break;
    }
  }
  if (auto type = match_kernel_headline(t, sev)) {
    Headline h;
    h.kind = HeadlineKind::report;
    h.type = *type;
    h.title = std::string(t);
    return h;
  }
  if (starts_with(t, "Showing all locks held in the system")) {
    Headline h;
    h.kind = HeadlineKind::locks_dump;
    h.title = std::string(t);
    return h;
  }
  // Other reports end whatever report came before them.
  if (!bracket) {
    std::string_view raw = trim(line);
    for (std::string_view p :
         {"general protection fault", "BUG: KASAN", "BUG: unable to handle", "Unable to handle kernel",
          "Kernel panic - not syncing", "------------[ cut here ]------------", "Oops: ",
          "<<<<<<<<<<<<<<< tail report", "sysrq: ", "BUG: kernel NULL pointer", "kernel BUG at",
          "==================================================================", "UBSAN: "}) {
      if (starts_with(raw, p)) return Headline{};
    }
    if ((sev == "BUG: " || sev == "WARNING: ") && !contains(t, "lockdep is turned off")) return Headline{};
  }
  return std::nullopt;
}

// ---- reading one report ----------------------------------------------------------------------

namespace {

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
  std::string jiffies, starved;
  std::string last_function;
  std::string spin_lock_name;
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
      : lines_(lines), view_(view) {
    p.type = h.type;
    p.title = h.title;
  }

  void run();
  Parsed p;
  size_t consumed = 1;

 private:
  const LogLine& at(size_t i) const { return lines_[view_[i]]; }
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

bool is_rule(std::string_view t) {
  if (t.size() < 10) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return c == '='; }) ||
         std::all_of(t.begin(), t.end(), [](char c) { return c == '-'; });
}

void merge_lock(LockRef& into, const LockRef& from) {
  // syzbot repeats a lock line once per inlined frame; the last one has the real symbol.
  if (from.has_site && (!into.has_site || into.site.inlined)) {
    into.site = from.site;
    into.has_site = true;
  }
}

std::string after(std::string_view s, std::string_view key) {
  size_t p = s.find(key);
  if (p == std::string_view::npos) return "";
  return std::string(trim(s.substr(p + key.size())));
}

// "comm:pid" (hung task, soft lockup) -> task.
TaskRef parse_colon_task(std::string_view s) {
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
bool task_before(std::string_view t, std::string_view marker, TaskRef& task) {
  size_t p = t.find(marker);
  if (p == std::string_view::npos || p == 0) return false;
  std::string_view who = t.substr(0, p);
  // "syz-executor.5/31323 [HC0[0]:SC0[0]:HE0:SE1]"
  if (size_t b = who.find(" ["); b != std::string_view::npos) who = who.substr(0, b);
  task = parse_task(who);
  return true;
}

void Reader::push_frame(const FrameParse& fp) {
  // Hard lockup: frames before the end of the NMI are the watchdog's own; the stuck code follows.
  if (p.type == FindingType::hard_lockup && target_ && fp.end_of_exception) target_->clear();
  if (all_target_ && fp.stackish) {
    if (fp.frame) all_target_->push_back(*fp.frame);
  }
  if (fp.frame && target_) {
    target_->push_back(*fp.frame);
    ++frames_since_enter_;
  }
}

std::string Reader::join_torn(std::string first, bool chain_entry) {
  std::string acc = std::move(first);
  for (int n = 0; n < 4 && pos_ + 1 < view_.size(); ++n) {
    bool torn = lock_ref_is_torn(acc);
    bool need_colon = chain_entry && !ends_with(trim(acc), ":");
    if (!torn && !need_colon) break;
    std::string_view next = trim(at(pos_ + 1).text);
    if (next.empty() || parse_frame(next).stackish || detect_headline(next)) break;
    acc += std::string(next);
    ++pos_;
  }
  return acc;
}

bool Reader::handle_expect(std::string_view t) {
  if (expect_ == Slot::none) return false;
  std::string text(t);
  if (lock_ref_is_torn(text)) text = join_torn(text, false);
  auto ref = parse_lock_ref(text);
  if (!ref) {
    expect_ = Slot::none;
    return false;
  }
  auto it = p.locks.find(expect_);
  if (it == p.locks.end()) {
    p.locks[expect_] = *ref;
    expect_name_ = ref->name;
  } else if (ref->name == expect_name_) {
    merge_lock(it->second, *ref);
  } else {
    expect_ = Slot::none;
    return false;
  }
  return true;
}

bool Reader::handle_common(std::string_view raw, std::string_view t) {
  if (t.empty()) {
    if (in_scenario_ && scen_rows_) in_scenario_ = false;
    target_ = nullptr;
    held_index_ = -1;
    return true;
  }
  if (is_rule(t)) return true;
  if (auto hh = parse_held_header(t)) {
    TaskLocks tl;
    tl.task = hh->task;
    tl.count = hh->count;
    p.held.push_back(std::move(tl));
    held_index_ = static_cast<int>(p.held.size()) - 1;
    held_torn_ = false;
    target_ = nullptr;
    in_scenario_ = false;
    return true;
  }
  if (held_index_ >= 0) {
    if (held_torn_) {
      if (auto ref = parse_lock_ref(t)) {
        p.held[static_cast<size_t>(held_index_)].locks.push_back(to_held(*ref));
        held_torn_ = false;
        return true;
      }
    }
    if (t.size() >= 3 && t[0] == '#' && t.back() == ':' && t.find(' ') == std::string_view::npos) {
      held_torn_ = true;  // "#0:" with its lock cut off
      return true;
    }
    if (auto he = parse_held_entry(t)) {
      auto& list = p.held[static_cast<size_t>(held_index_)].locks;
      size_t idx = static_cast<size_t>(std::max(0, he->first));
      if (idx < list.size() && list[idx].name == he->second.name) {
        if (he->second.has_site && list[idx].site.inlined) list[idx].site = he->second.site;
      } else {
        list.push_back(to_held(he->second));
      }
      return true;
    }
  }
  if (t == "stack backtrace:" || starts_with(t, "stack backtrace")) {
    p.saw_backtrace = true;
    enter_backtrace(&p.backtrace);
    return true;
  }
  if (t == "Call Trace:" || t == "Call trace:" || t == "Backtrace:" || starts_with(t, "Call Trace:")) {
    p.saw_call_trace = true;
    if (!backtrace_mode_ || target_ == nullptr) enter_backtrace(&p.backtrace);
    return true;
  }
  // lockdep's own scenario table: recognised and skipped (the finding layer draws the scenario
  // from the chain; the table stays in `raw`).
  if (contains(t, "Possible unsafe locking scenario") || contains(t, "Possible interrupt unsafe locking scenario")) {
    in_scenario_ = true;
    scen_rows_ = false;
    p.saw_scenario = true;
    return true;
  }
  if (in_scenario_) {
    if (starts_with(t, "CPU0") || starts_with(t, "----")) return true;
    for (std::string_view step : {"lock(", "rlock(", "sync(", "<Interrupt>", "local_irq_disable", "local_bh_disable",
                                  "unlock(", "<Signal>"})
      if (starts_with(t, step)) return scen_rows_ = true;
  }
  if (contains(t, "*** DEADLOCK ***")) {
    p.saw_deadlock = true;
    in_scenario_ = false;
    return true;
  }
  if (starts_with(t, "CPU: ") && contains(t, "PID: ")) {
    p.details.emplace_back("cpu", after(t, "CPU: ").substr(0, after(t, "CPU: ").find(' ')));
    return true;
  }
  if (starts_with(t, "irq event stamp:") || starts_with(t, "hardirqs last") || starts_with(t, "softirqs last")) {
    target_ = nullptr;
    std::string_view k = t.substr(0, t.find(" at ("));
    if (starts_with(t, "hardirqs last") || starts_with(t, "softirqs last")) {
      size_t c = t.find("): ");
      if (c != std::string_view::npos) p.details.emplace_back(std::string(trim(k)), std::string(trim(t.substr(c + 3))));
    }
    return true;
  }
  if (starts_with(t, "other info that might help us debug this") ||
      starts_with(t, "May be due to missing lock nesting notation") ||
      starts_with(t, "which lock already depends on the new lock") ||
      starts_with(t, "the existing dependency chain") || starts_with(t, "and interrupts could create") ||
      starts_with(t, "INFO: lockdep is turned off") || starts_with(t, "turning off the locking correctness validator") ||
      starts_with(t, "Not tainted") || starts_with(t, "Tainted:") ||
      starts_with(t, "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\"")) {
    if (starts_with(t, "May be due")) p.details.emplace_back("hint", "missing lock nesting notation");
    if (starts_with(t, "INFO: lockdep is turned off")) p.details.emplace_back("lockdep", "turned off");
    if (starts_with(t, "turning off")) p.details.emplace_back("lockdep", "turned off by this report");
    return true;
  }
  FrameParse fp = parse_frame(t);
  if (fp.stackish) {
    push_frame(fp);
    return true;
  }
  if (is_dump_noise(t)) return true;
  // The kernel identification line right after the headline rule: "6.1.192 #2 Tainted: ...".
  if (contains(t, " Not tainted") || contains(t, " Tainted: ")) return true;
  return false;
}

bool Reader::handle_type(std::string_view raw, std::string_view t) {
  using FT = FindingType;
  (void)raw;
  if (nest_expected_) {
    nest_expected_ = false;
    if (!t.empty() && !detect_headline(t) && !contains(t, "fault") && !contains(t, "KASAN") &&
        t.size() < 200 && !contains(t, ": ")) {
      p.nest_lock = std::string(t);
      return true;
    }
  }
  if (preempt_expected_) {
    preempt_expected_ = false;
    FrameParse fp = parse_frame(t);
    if (fp.frame) {
      p.preempt_site = *fp.frame;
      p.has_preempt_site = true;
      return true;
    }
  }
  if (release_site_expected_) {
    release_site_expected_ = false;
    FrameParse fp = parse_frame(t);
    if (fp.frame) {
      p.release_site = *fp.frame;
      p.has_release_site = true;
      return true;
    }
  }
  // Torn "-> #N (" entries and every other line that starts one.
  if (starts_with(t, "-> #")) {
    std::string joined = join_torn(std::string(t), true);
    std::string_view j = joined;
    size_t k = 4;
    while (k < j.size() && j[k] >= '0' && j[k] <= '9') ++k;
    int n = static_cast<int>(to_int(j.substr(4, k - 4), 0));
    std::string_view rest = trim(j.substr(k));
    if (ends_with(rest, ":")) rest.remove_suffix(1);
    if (auto ref = parse_lock_ref(rest)) {
      auto& e = p.entries[n];
      e.name = ref->name;
      e.usage = ref->usage;
      e.order = p.entries.size();
      target_ = &e.stack;
    } else {
      target_ = nullptr;
    }
    dep_mode_ = false;
    return true;
  }
  if (starts_with(t, "Chain exists of:")) {
    if (pos_ + 1 < view_.size()) {
      std::string_view next = trim(at(pos_ + 1).text);
      if (contains(next, " --> ")) {
        ++pos_;
        p.chain_line.clear();
        size_t b = 0;
        while (true) {
          size_t e = next.find(" --> ", b);
          p.chain_line.emplace_back(trim(next.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b)));
          if (e == std::string_view::npos) break;
          b = e + 5;
        }
      }
    }
    return true;
  }
  switch (p.type) {
    case FT::circular_dependency:
    case FT::recursive_locking:
      if (task_before(t, " is trying to acquire lock:", p.task)) {
        expect_ = Slot::trying;
        expect_name_.clear();
        return true;
      }
      if (starts_with(t, "but task is already holding lock:")) {
        expect_ = Slot::holding;
        return true;
      }
      if (starts_with(t, "and the lock comparison function returns")) return true;
      break;
    case FT::inconsistent_lock_state:
      if (starts_with(t, "inconsistent {")) {
        size_t a = t.find('{'), b = t.find('}');
        size_t c = t.find('{', b == std::string_view::npos ? 0 : b), d = t.find('}', c == std::string_view::npos ? 0 : c);
        if (a != std::string_view::npos && b != std::string_view::npos && c != std::string_view::npos &&
            d != std::string_view::npos && b > a && d > c) {
          p.prev_usage = std::string(t.substr(a + 1, b - a - 1));
          p.new_usage = std::string(t.substr(c + 1, d - c - 1));
        }
        return true;
      }
      if (ends_with(t, "takes:") && task_before(t, " [HC", p.task)) {
        size_t b = t.find(" [HC");
        size_t e = t.find("] takes:");
        if (b != std::string_view::npos && e != std::string_view::npos && e > b)
          p.irq_ctx = std::string(t.substr(b + 2, e - b - 2));
        expect_ = Slot::this_lock;
        return true;
      }
      if (ends_with(t, "takes:")) {
        task_before(t, " takes:", p.task);
        expect_ = Slot::this_lock;
        return true;
      }
      if (t.size() > 2 && t[0] == '{' && ends_with(t, "state was registered at:")) {
        target_ = &p.registered;
        return true;
      }
      // Abbreviated reports (commit messages) print the lock without its "takes:" line.
      if (p.locks.find(Slot::this_lock) == p.locks.end() && !t.empty() && t[0] != '#' && !contains(t, " at (")) {
        if (auto ref = parse_lock_ref(t); ref && (!ref->address.empty() || !ref->usage.empty())) {
          p.locks[Slot::this_lock] = *ref;
          return true;
        }
      }
      break;
    case FT::irq_lock_inversion:
    case FT::irq_safe_unsafe_order: {
      if (task_before(t, " just changed the state of lock:", p.task)) {
        expect_ = Slot::this_lock;
        return true;
      }
      if (starts_with(t, "but this lock took another, ") || starts_with(t, "but this lock was taken by another, ")) {
        p.forwards = starts_with(t, "but this lock took");
        std::string_view rest = t.substr(p.forwards ? 28 : 36);
        size_t e = rest.find(p.forwards ? "-unsafe" : "-safe");
        if (e != std::string_view::npos) p.state = std::string(rest.substr(0, e));
        expect_ = Slot::other;
        return true;
      }
      if (contains(t, " is trying to acquire:") && task_before(t, " is trying to acquire:", p.task)) {
        expect_ = Slot::next;
        return true;
      }
      if (starts_with(t, "and this task is already holding:")) {
        expect_ = Slot::prev;
        return true;
      }
      if (starts_with(t, "which would create a new lock dependency:")) {
        if (pos_ + 1 < view_.size() && contains(at(pos_ + 1).text, ") -> (")) ++pos_;
        return true;
      }
      if (starts_with(t, "but this new dependency connects a ")) {
        std::string_view rest = t.substr(35);
        size_t e = rest.find("-irq-safe");
        if (e != std::string_view::npos) p.state = std::string(rest.substr(0, e));
        expect_ = Slot::safe;
        return true;
      }
      if (starts_with(t, "to a ") && contains(t, "-irq-unsafe lock:")) {
        expect_ = Slot::unsafe;
        return true;
      }
      if (starts_with(t, "... which became ") && contains(t, "-irq-safe at:")) {
        target_ = &p.safe_stack;
        return true;
      }
      if (starts_with(t, "... which became ") && contains(t, "-irq-unsafe at:")) {
        target_ = &p.unsafe_stack;
        return true;
      }
      if (t == "...") return true;
      if (starts_with(t, "the shortest dependencies between") || starts_with(t, "the dependencies between") ||
          (starts_with(t, "and ") && contains(t, "-irq-unsafe lock:"))) {
        dep_mode_ = true;
        target_ = nullptr;
        return true;
      }
      if (dep_mode_ && starts_with(t, "-> (")) {
        std::string_view rest = t.substr(3);
        if (size_t ops = rest.find(" ops:"); ops != std::string_view::npos) rest = rest.substr(0, ops);
        if (ends_with(rest, " {")) rest.remove_suffix(2);
        DepBlock d;
        if (auto ref = parse_lock_ref(rest)) d.name = ref->name;
        p.deps.push_back(std::move(d));
        target_ = nullptr;
        return true;
      }
      if (dep_mode_ && !p.deps.empty() && ends_with(t, " at:") && !starts_with(t, "...")) {
        p.deps.back().usages.emplace_back(std::string(t.substr(0, t.size() - 4)), Stack{});
        target_ = &p.deps.back().usages.back().second;
        return true;
      }
      if (dep_mode_ && !p.deps.empty() && starts_with(t, "... acquired at:")) {
        target_ = &p.deps.back().acquired;
        return true;
      }
      if (dep_mode_ && (t == "}" || starts_with(t, "... key"))) {
        target_ = nullptr;
        return true;
      }
      break;
    }
    case FT::bad_unlock_balance:
      if (contains(t, " is trying to release lock (")) {
        task_before(t, " is trying to release lock (", p.task);
        size_t b = t.find("release lock (") + 13;
        int depth = 0;
        size_t e = std::string_view::npos;
        for (size_t i = b; i < t.size(); ++i) {
          if (t[i] == '(') ++depth;
          else if (t[i] == ')' && --depth == 0) {
            e = i;
            break;
          }
        }
        if (e != std::string_view::npos) p.released = std::string(t.substr(b + 1, e - b - 1));
        release_site_expected_ = true;
        return true;
      }
      if (starts_with(t, "but there are no more locks to release")) {
        p.saw_no_more = true;
        return true;
      }
      break;
    case FT::lock_held_returning_to_user:
      if (task_before(t, " is leaving the kernel with locks still held", p.task)) return true;
      break;
    case FT::held_lock_freed:
      if (task_before(t, " is freeing memory ", p.task)) {
        expect_ = Slot::freed;
        std::string range = after(t, " is freeing memory ");
        p.details.emplace_back("freed", range.substr(0, range.find(',')));
        return true;
      }
      break;
    case FT::nested_lock_not_taken:
    case FT::invalid_wait_context:
      if (task_before(t, " is trying to lock:", p.task)) {
        expect_ = Slot::trying;
        return true;
      }
      if (starts_with(t, "but this task is not holding:")) {
        nest_expected_ = true;
        return true;
      }
      if (starts_with(t, "context-{")) {
        p.context_wait = std::string(t.substr(8));
        return true;
      }
      break;
    case FT::sleeping_in_invalid_context:
    case FT::scheduling_while_atomic:
      if (starts_with(t, "in_atomic(): ")) {
        for (std::string_view key : {"in_atomic()", "irqs_disabled()", "non_block", "pid", "name"}) {
          std::string k = std::string(key) + ": ";
          size_t q = t.find(k);
          if (q == std::string_view::npos) continue;
          std::string_view v = t.substr(q + k.size());
          if (key != "name") v = v.substr(0, v.find(','));
          p.details.emplace_back(std::string(key), std::string(trim(v)));
        }
        std::string name = after(t, "name: ");
        std::string pid = after(t, "pid: ");
        p.task.comm = name;
        p.task.pid = to_int(pid.substr(0, pid.find(',')));
        return true;
      }
      if (starts_with(t, "preempt_count: ") || starts_with(t, "RCU nest depth: ")) {
        p.details.emplace_back(std::string(t.substr(0, t.find(':'))), after(t, ": "));
        return true;
      }
      if (starts_with(t, "Preemption disabled at:")) {
        std::string rest = after(t, "Preemption disabled at:");
        FrameParse fp = parse_frame(rest);
        if (fp.frame) {
          p.preempt_site = *fp.frame;
          p.has_preempt_site = true;
        } else {
          preempt_expected_ = true;
        }
        return true;
      }
      if (starts_with(t, "Thread overran stack")) {
        p.details.emplace_back("stack", std::string(t));
        return true;
      }
      break;
    case FT::hung_task:
      if (starts_with(t, "task:") && contains(t, "state:")) {
        std::string st = after(t, "state:");
        p.details.emplace_back("state", st.substr(0, 1));
        return true;
      }
      if (contains(t, " is blocked on a ") && contains(t, " owned by task ")) {
        std::string owner = after(t, " owned by task ");
        if (ends_with(owner, ".")) owner.pop_back();
        p.owner = parse_colon_task(owner);
        p.details.emplace_back("blocker", std::string(t));
        return true;
      }
      if (contains(t, " blocked on a semaphore likely last held by task ")) {
        std::string owner = after(t, " last held by task ");
        p.owner = parse_colon_task(owner);
        p.details.emplace_back("blocker", std::string(t));
        return true;
      }
      if (t == "Call Trace:" || t == "Call trace:") {
        p.saw_call_trace = true;
        enter_backtrace(&p.task_stack);
        all_target_ = &p.task_stack_all;
        return true;
      }
      // old sched_show_task: "syz-executor4   D21856  8442   4763 0x80000002"
      if (!p.task.comm.empty() && starts_with(t, p.task.comm) && contains(t, " D")) {
        p.details.emplace_back("state", "D");
        return true;
      }
      break;
    case FT::soft_lockup:
    case FT::hard_lockup:
      if (starts_with(t, "Pid: ") && contains(t, "comm: ")) {
        std::string pid = after(t, "Pid: ");
        p.task.pid = to_int(pid.substr(0, pid.find(',')));
        std::string comm = after(t, "comm: ");
        p.task.comm = comm.substr(0, comm.find(' '));
        return true;
      }
      if (p.type == FT::soft_lockup && (t == "Call Trace:" || t == "Call trace:") && !p.backtrace.empty()) {
        backtrace_mode_ = true;
        target_ = nullptr;  // only the first dump is the stuck one
        return true;
      }
      if (p.type == FT::hard_lockup && starts_with(t, "CPU: ") && contains(t, "PID: ")) {
        std::string pid = after(t, "PID: ");
        p.task.pid = to_int(pid.substr(0, pid.find(' ')));
        std::string comm = after(t, "Comm: ");
        p.task.comm = comm.substr(0, comm.find(' '));
        return true;
      }
      break;
    case FT::rcu_stall: {
      std::string_view s = t;
      if (starts_with(s, "rcu: ")) s = trim(s.substr(5));
      if (contains(s, "jiffies") && starts_with(s, "(")) {
        std::string j = after(s, "t=");
        p.jiffies = j.substr(0, j.find(' '));
        return true;
      }
      if (contains(s, " kthread starved for ")) {
        std::string j = after(s, " kthread starved for ");
        p.starved = j.substr(0, j.find(' '));
        return true;
      }
      if (s.size() > 2 && s[0] >= '0' && s[0] <= '9' && contains(s, ": (") && contains(s, "idle=")) {
        p.stall_cpus.emplace_back(s.substr(0, s.find('-')));
        return true;
      }
      if (starts_with(s, "NMI backtrace for cpu ")) {
        stall_nmi_ = true;
        backtrace_mode_ = false;
        if (p.backtrace.empty()) target_ = &p.backtrace;
        else target_ = nullptr;
        return true;
      }
      if (starts_with(s, "Sending NMI from CPU") || starts_with(s, "RCU grace-period kthread stack dump") ||
          starts_with(s, "All QSes seen") || starts_with(s, "Tasks blocked on level") ||
          starts_with(s, "Unless rcu_") || contains(s, "->state=")) {
        return true;
      }
      if ((t == "Call Trace:" || t == "Call trace:") && stall_nmi_) {
        return true;  // keep the NMI target chosen above
      }
      // "rcu_preempt     R  running task    22872    10      2 0x80000000"
      if (contains(s, " running task ")) return true;
      break;
    }
    case FT::spinlock_lockup_suspected:
    case FT::spinlock_recursion:
    case FT::spinlock_bad_magic:
      if (starts_with(t, "lock: ")) {
        std::string_view v = t.substr(6);
        std::string_view name = v.substr(0, v.find(','));
        Frame f;
        FrameParse fp = parse_frame(name);
        p.spin_lock_name = fp.frame && !fp.frame->function.empty() ? fp.frame->function : std::string(trim(name));
        std::string owner = after(t, ".owner: ");
        p.owner = parse_task(owner.substr(0, owner.find(',')));
        p.details.emplace_back("lock", std::string(trim(v)));
        return true;
      }
      break;
    case FT::workqueue_leaked_lock:
      if (starts_with(t, "last function: ")) {
        p.last_function = after(t, "last function: ");
        return true;
      }
      break;
    case FT::witness_lock_order_reversal:
      if (starts_with(t, "1st ") || starts_with(t, "2nd ") || starts_with(t, "3rd ")) {
        WitLock w;
        std::string_view rest = trim(t.substr(4));
        size_t sp = rest.find(' ');
        if (sp != std::string_view::npos && is_hex(rest.substr(0, sp))) {
          w.address = std::string(rest.substr(0, sp));
          rest = trim(rest.substr(sp));
        }
        if (size_t at = rest.find(" @ "); at != std::string_view::npos) {
          w.where = std::string(trim(rest.substr(at + 3)));
          rest = rest.substr(0, at);
        }
        rest = trim(rest);
        if (ends_with(rest, ")")) {
          size_t o = rest.rfind(" (");
          if (o != std::string_view::npos) {
            w.witness = std::string(rest.substr(o + 2, rest.size() - o - 3));
            w.name = std::string(trim(rest.substr(0, o)));
          }
        }
        if (w.witness.empty()) w.witness = std::string(rest);
        if (w.name.empty()) w.name = w.witness;
        p.wit.push_back(std::move(w));
        return true;
      }
      if (starts_with(t, "lock order \"") && contains(t, "\" -> \"")) {
        WitOrder o;
        size_t a = 12, b = t.find('"', a);
        if (b != std::string_view::npos) o.from = std::string(t.substr(a, b - a));
        size_t c = t.find("-> \"");
        if (c != std::string_view::npos) {
          size_t d = t.find('"', c + 4);
          if (d != std::string_view::npos) o.to = std::string(t.substr(c + 4, d - c - 4));
        }
        p.worders.push_back(std::move(o));
        target_ = &p.worders.back().stack;
        return true;
      }
      if (starts_with(t, "ddb{") || starts_with(t, "Stopped at")) {
        target_ = nullptr;
        return true;
      }
      break;
    default:
      break;
  }
  return false;
}

bool Reader::handle_title_fields() {
  using FT = FindingType;
  std::string_view t = p.title;
  switch (p.type) {
    case FT::still_has_locks_held:
      task_before(t, " still has locks held", p.task);
      break;
    case FT::max_too_low:
      p.details.emplace_back("limit", std::string(t.substr(0, t.find(' '))));
      break;
    case FT::sleeping_in_invalid_context:
      p.at_file = after(t, "invalid context at ");
      break;
    case FT::scheduling_while_atomic: {
      std::string rest = after(t, "scheduling while atomic:");
      size_t last = rest.rfind('/');
      if (last != std::string::npos) {
        p.preempt_count = rest.substr(last + 1);
        p.task = parse_task(rest.substr(0, last));
      }
      break;
    }
    case FT::workqueue_leaked_lock: {
      // "kworker/0:1/0x00000000/123": comm / preempt count / pid
      std::string rest = after(t, "atomic:");
      size_t last = rest.rfind('/');
      if (last != std::string::npos) {
        p.task.pid = to_int(rest.substr(last + 1));
        std::string head = rest.substr(0, last);
        size_t mid = head.rfind('/');
        if (mid != std::string::npos) {
          p.preempt_count = head.substr(mid + 1);
          p.task.comm = head.substr(0, mid);
        }
      }
      break;
    }
    case FT::hung_task: {
      std::string rest = after(t, "task ");
      size_t b = rest.find(" blocked for more than ");
      if (b != std::string::npos) {
        p.task = parse_colon_task(rest.substr(0, b));
        std::string secs = rest.substr(b + 23);
        p.seconds = to_int(secs.substr(0, secs.find(' ')));
      }
      break;
    }
    case FT::soft_lockup: {
      std::string cpu = after(t, "CPU#");
      p.cpu = to_int(cpu.substr(0, cpu.find(' ')));
      std::string secs = after(t, "stuck for ");
      p.seconds = to_int(secs.substr(0, secs.find_first_not_of("0123456789")));
      size_t b = t.rfind('['), e = t.rfind(']');
      if (b != std::string_view::npos && e != std::string_view::npos && e > b)
        p.task = parse_colon_task(t.substr(b + 1, e - b - 1));
      break;
    }
    case FT::hard_lockup: {
      std::string cpu = after(t, "on cpu ");
      p.cpu = to_int(cpu.substr(0, cpu.find(' ')));
      break;
    }
    case FT::spinlock_lockup_suspected:
    case FT::spinlock_recursion:
    case FT::spinlock_bad_magic: {
      std::string cpu = after(t, "CPU#");
      size_t comma = cpu.find(',');
      p.cpu = to_int(cpu.substr(0, comma));
      if (comma != std::string::npos) {
        std::string who = std::string(trim(cpu.substr(comma + 1)));
        p.task = parse_task(who.substr(0, who.find(',')));
      }
      break;
    }
    case FT::rcu_stall: {
      std::string_view s = t;
      size_t sp = s.find(' ');
      if (sp != std::string_view::npos) p.details.emplace_back("flavor", std::string(s.substr(0, sp)));
      break;
    }
    default:
      break;
  }
  return true;
}

void Reader::run() {
  handle_title_fields();
  int unknown_run = 0;
  const int kMaxUnknown = 40;
  while (pos_ < view_.size()) {
    std::string_view raw = at(pos_).text;
    std::string_view t = trim(raw);
    if (backtrace_mode_) {
      if (t.empty()) {
        if (frames_since_enter_ > 0 || (target_ && !target_->empty())) break;
        consumed = ++pos_;
        continue;
      }
      FrameParse fp = parse_frame(t);
      if (fp.stackish) {
        push_frame(fp);
        consumed = ++pos_;
        continue;
      }
      if (is_dump_noise(t)) {
        consumed = ++pos_;
        continue;
      }
      if (handle_type(raw, t) || handle_common(raw, t)) {
        consumed = ++pos_;
        continue;
      }
      // Another CPU's line inside the dump: skip it when the dump goes on right after.
      bool more = false;
      for (size_t k = pos_ + 1; k < view_.size() && k <= pos_ + 2; ++k)
        if (parse_frame(at(k).text).frame) more = true;
      if (!more) break;
      ++pos_;
      continue;
    }
    bool handled = handle_expect(t) || handle_type(raw, t) || handle_common(raw, t);
    if (handled) {
      unknown_run = 0;
      consumed = ++pos_;
    } else {
      if (++unknown_run > kMaxUnknown) break;
      ++pos_;
    }
  }
}

// ---- building the finding --------------------------------------------------------------------

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

void add_class(std::vector<std::string>& classes, const std::string& name) {
  if (name.empty()) return;
  if (std::find(classes.begin(), classes.end(), name) == classes.end()) classes.push_back(name);
}

const LockRef* lock_of(const Parsed& p, Slot s) {
  auto it = p.locks.find(s);
  return it == p.locks.end() ? nullptr : &it->second;
}

std::string state_irq(const std::string& state) {
  if (contains(state, "SOFTIRQ")) return "softirq";
  if (contains(state, "HARDIRQ")) return "hardirq";
  if (contains(state, "RECLAIM")) return "reclaim";
  if (contains(state, "NMI")) return "nmi";
  return "interrupt";
}

const Stack* usage_stack(const Parsed& p, const std::string& lock, bool in_irq, const std::string& irq_state) {
  for (const auto& d : p.deps) {
    if (d.name != lock) continue;
    for (const auto& [u, st] : d.usages) {
      bool is_in = starts_with(u, "IN-");
      if (is_in == in_irq && contains(u, irq_state) && !st.empty()) return &st;
    }
  }
  return nullptr;
}

const Stack* acquired_stack(const Parsed& p, const std::string& lock) {
  for (const auto& d : p.deps)
    if (d.name == lock && !d.acquired.empty()) return &d.acquired;
  return nullptr;
}

Participant reporting_task(const Parsed& p) {
  Participant who;
  who.name = p.task.comm;
  who.pid = p.task.pid;
  who.state = "running";
  for (const auto& h : p.held)
    if (h.task.comm == p.task.comm && h.task.pid == p.task.pid) who.held = h.locks;
  if (who.held.empty() && p.held.size() == 1) who.held = p.held[0].locks;
  who.stack = p.backtrace;
  return who;
}

std::vector<HeldLock> own_held(const Parsed& p) { return reporting_task(p).held; }

// The frame a report printed after a lock's ", at:": the lock call itself.
Frame site_of_lock(const LockRef* lock) { return lock && lock->has_site ? lock->site : Frame{}; }

void build_circular(const Parsed& p, Finding& f) {
  const LockRef* trying = lock_of(p, Slot::trying);
  const LockRef* holding = lock_of(p, Slot::holding);
  std::vector<const ChainEntry*> cyc;
  for (const auto& [k, e] : p.entries) cyc.push_back(&e);
  std::vector<std::string> names;
  std::vector<const Stack*> stacks;
  if (!cyc.empty()) {
    // A chain cut off before its end still starts at the lock being acquired (#0).
    if (p.entries.find(0) == p.entries.end() && trying) {
      names.push_back(trying->name);
      stacks.push_back(nullptr);
    }
    for (const auto* e : cyc) {
      names.push_back(e->name);
      stacks.push_back(&e->stack);
    }
    if (holding && names.back() != holding->name &&
        std::find(names.begin(), names.end(), holding->name) == names.end()) {
      names.push_back(holding->name);
      stacks.push_back(nullptr);
    }
  } else if (p.chain_line.size() >= 2) {
    names = p.chain_line;
  } else {
    if (trying) names.push_back(trying->name);
    if (holding && (!trying || holding->name != trying->name)) names.push_back(holding->name);
  }
  stacks.resize(names.size(), nullptr);
  std::string task = task_label(p.task);
  auto held = own_held(p);
  // Edge i: names[i] held, names[i+1] taken. The last one (back to #0) is the dependency the
  // reporting task is adding now; lockdep's chain lists the others in reverse order.
  for (size_t i = 0; i < names.size() && names.size() >= 2; ++i) {
    size_t j = (i + 1) % names.size();
    Edge e;
    e.from = names[i];
    e.to = names[j];
    e.from_site.lock = names[i];
    e.to_site.lock = names[j];
    if (stacks[j]) e.to_site.stack = *stacks[j];
    if (j == 0) {
      e.to_site.context = task;
      if (e.to_site.stack.empty()) e.to_site.stack = p.backtrace;
      e.to_site.site = site_of_lock(trying);
      e.to_site.held = held;
      e.from_site.site = site_of_lock(holding);
      e.from_site.context = task;
    }
    f.chain.push_back(std::move(e));
  }
  // The cycle's own order, starting at the lock being acquired.
  for (const auto& n : names) add_class(f.classes, n);
}

void build_recursive(const Parsed& p, Finding& f) {
  const LockRef* trying = lock_of(p, Slot::trying);
  const LockRef* holding = lock_of(p, Slot::holding);
  std::string name = trying ? trying->name : holding ? holding->name : "";
  if (name.empty() && !p.wit.empty()) name = p.wit.front().witness;
  add_class(f.classes, name);
  auto held = own_held(p);
  std::vector<std::string> others;
  for (const auto& h : held)
    if (h.name != name) others.push_back(h.name);
  if (!others.empty()) fact::set(f, fact::kAlsoHeld, join(others, ", "));
  // One edge from the lock to itself: where it is held, and where it is taken again.
  Edge e;
  e.from = e.to = name;
  e.from_site.lock = e.to_site.lock = name;
  e.from_site.site = site_of_lock(holding);
  e.from_site.context = task_label(p.task);
  e.to_site.stack = p.backtrace;
  e.to_site.site = site_of_lock(trying);
  e.to_site.context = task_label(p.task);
  e.to_site.held = held;
  f.chain.push_back(std::move(e));
  bool same = trying && holding && !trying->address.empty() && trying->address == holding->address;
  bool different = trying && holding && !trying->address.empty() && !holding->address.empty() &&
                   trying->address != holding->address;
  if (same) fact::set(f, fact::kInstance, "same lock instance (" + trying->address + "): a certain self-deadlock");
  else if (different)
    fact::set(f, fact::kInstance, "another instance of the same class (" + trying->address + ", holding " +
                                      holding->address + ")");
}

void build_inconsistent(const Parsed& p, Finding& f) {
  const LockRef* lock = lock_of(p, Slot::this_lock);
  std::string name = lock ? lock->name : "";
  add_class(f.classes, name);
  fact::set(f, fact::kUsage, "{" + p.prev_usage + "} -> {" + p.new_usage + "}");
  if (!p.irq_ctx.empty()) fact::set(f, fact::kIrqContext, p.irq_ctx);
  bool prev_in = starts_with(p.prev_usage, "IN-");
  const std::string& in_usage = prev_in ? p.prev_usage : p.new_usage;
  std::string irq = state_irq(in_usage);
  fact::set(f, fact::kInterrupt, irq);
  // `registered` is where the earlier usage was recorded; the backtrace, with the lock's own
  // "at:" site, is the usage happening now.
  Acquisition reg, cur;
  reg.lock = cur.lock = name;
  reg.stack = p.registered;
  cur.stack = p.backtrace;
  cur.site = site_of_lock(lock);
  cur.context = task_label(p.task);
  cur.held = own_held(p);
  (prev_in ? reg : cur).irq = irq;
  (prev_in ? cur : reg).irqs_enabled = true;
  (prev_in ? reg : cur).irqs_enabled = false;
  f.acquisitions = {reg, cur};
}

void build_irq(const Parsed& p, Finding& f) {
  bool inversion = p.type == FindingType::irq_lock_inversion;
  std::string safe, unsafe;
  std::vector<std::string> path;
  const LockRef* next = lock_of(p, Slot::next);
  const LockRef* prev = lock_of(p, Slot::prev);
  if (inversion) {
    const LockRef* self = lock_of(p, Slot::this_lock);
    const LockRef* other = lock_of(p, Slot::other);
    std::string a = self ? self->name : "", b = other ? other->name : "";
    safe = p.forwards ? a : b;
    unsafe = p.forwards ? b : a;
  } else {
    const LockRef* s = lock_of(p, Slot::safe);
    const LockRef* u = lock_of(p, Slot::unsafe);
    safe = s ? s->name : (prev ? prev->name : "");
    unsafe = u ? u->name : (next ? next->name : "");
  }
  if (p.chain_line.size() >= 2) {
    path = p.chain_line;
  } else {
    add_class(path, safe);
    if (!inversion) {
      if (prev) add_class(path, prev->name);
      if (next) add_class(path, next->name);
    }
    add_class(path, unsafe);
  }
  for (const auto& n : path) add_class(f.classes, n);
  add_class(f.classes, safe);
  add_class(f.classes, unsafe);
  std::string state = p.state.empty() ? "HARDIRQ" : p.state;
  std::string irq_word = state_irq(state);
  std::string base_state = state.substr(0, state.find('-'));
  fact::set(f, fact::kState, state);
  fact::set(f, fact::kInterrupt, irq_word);
  fact::set(f, fact::kIrqSafe, safe);
  fact::set(f, fact::kIrqUnsafe, unsafe);
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    Edge e;
    e.from = path[i];
    e.to = path[i + 1];
    e.from_site.lock = path[i];
    e.to_site.lock = path[i + 1];
    if (const Stack* acq = acquired_stack(p, path[i + 1])) e.to_site.stack = *acq;
    if (!inversion && next && path[i + 1] == next->name && prev && path[i] == prev->name) {
      e.to_site.stack = p.backtrace;
      e.to_site.site = site_of_lock(next);
      e.to_site.context = task_label(p.task);
      e.to_site.held = own_held(p);
    }
    f.chain.push_back(std::move(e));
  }
  // Where `safe` is used in the interrupt and where `unsafe` is taken with it enabled.
  const Stack* in_stack = usage_stack(p, safe, true, base_state);
  if (!in_stack && !p.safe_stack.empty()) in_stack = &p.safe_stack;
  if (!in_stack && inversion && p.forwards) in_stack = &p.backtrace;
  const Stack* on_stack = usage_stack(p, unsafe, false, base_state);
  if (!on_stack && !p.unsafe_stack.empty()) on_stack = &p.unsafe_stack;
  if (!on_stack && inversion && !p.forwards) on_stack = &p.backtrace;
  Acquisition a_in, a_on;
  a_in.lock = safe;
  a_in.irq = irq_word;
  a_in.irqs_enabled = false;
  if (in_stack) a_in.stack = *in_stack;
  a_on.lock = unsafe;
  a_on.irqs_enabled = true;
  if (on_stack) a_on.stack = *on_stack;
  f.acquisitions = {a_in, a_on};
}

void build_held_kind(const Parsed& p, Finding& f) {
  using FT = FindingType;
  auto held = own_held(p);
  std::string task = task_label(p.task);
  Acquisition a;
  a.context = task;
  a.stack = p.backtrace;
  a.held = held;
  // The most recently taken held lock, as the acquisition the report is about.
  auto last_held = [&]() {
    Acquisition h;
    if (held.empty()) return h;
    h.lock = held.back().name;
    h.context = task;
    h.site = held.back().site;
    return h;
  };
  switch (p.type) {
    case FT::bad_unlock_balance:
      add_class(f.classes, p.released);
      for (const auto& h : held) add_class(f.classes, h.name);
      a.lock = p.released;
      a.mode = "release";
      if (p.has_release_site) a.site = p.release_site;
      f.acquisitions.push_back(std::move(a));
      break;
    case FT::lock_held_returning_to_user:
    case FT::still_has_locks_held:
      for (const auto& h : held) add_class(f.classes, h.name);
      if (!held.empty()) f.acquisitions.push_back(last_held());
      break;
    case FT::held_lock_freed: {
      const LockRef* lock = lock_of(p, Slot::freed);
      std::string name = lock ? lock->name : "";
      add_class(f.classes, name);
      for (const auto& h : held) add_class(f.classes, h.name);
      Acquisition taken;
      taken.lock = name;
      taken.context = task;
      taken.site = site_of_lock(lock);
      a.lock = name;
      a.mode = "free";
      f.acquisitions = {taken, a};
      break;
    }
    case FT::workqueue_leaked_lock:
      for (const auto& h : held) add_class(f.classes, h.name);
      if (!p.last_function.empty()) fact::set(f, fact::kFunction, p.last_function);
      if (!p.preempt_count.empty()) fact::set(f, fact::kPreemptCount, p.preempt_count);
      f.acquisitions.push_back(std::move(a));
      break;
    default:
      break;
  }
}

void build_wait_kind(const Parsed& p, Finding& f) {
  using FT = FindingType;
  auto held = own_held(p);
  const LockRef* lock = lock_of(p, Slot::trying);
  std::string name = lock ? lock->name : "";
  Acquisition a;
  a.lock = name;
  a.context = task_label(p.task);
  a.stack = p.backtrace;
  a.site = site_of_lock(lock);
  a.held = held;
  add_class(f.classes, name);
  if (p.type == FT::nested_lock_not_taken) {
    add_class(f.classes, p.nest_lock);  // not printed when lockdep could not read it
  } else {
    for (const auto& h : held) add_class(f.classes, h.name);
    fact::set(f, fact::kIrqContext, "context-" + p.context_wait);
    if (lock && !lock->wait.empty()) fact::set(f, "wait type", lock->wait);
  }
  f.acquisitions.push_back(std::move(a));
}

void build_atomic(const Parsed& p, Finding& f) {
  using FT = FindingType;
  auto held = own_held(p);
  for (const auto& h : held) add_class(f.classes, h.name);
  Acquisition a;
  a.context = task_label(p.task);
  a.stack = p.backtrace;
  a.held = held;
  f.acquisitions.push_back(a);
  if (p.has_preempt_site) fact::set(f, fact::kPreemptDisabledAt, describe_frame(p.preempt_site));
  if (p.type == FT::sleeping_in_invalid_context) fact::set(f, fact::kAt, p.at_file);
  else fact::set(f, fact::kPreemptCount, p.preempt_count);
}

void build_misc(const Parsed& p, Finding& f) {
  using FT = FindingType;
  const Stack& st = p.type == FT::hung_task ? p.task_stack : p.backtrace;
  Participant who;
  who.name = p.task.comm;
  who.pid = p.task.pid;
  who.stack = st;
  if (p.seconds >= 0) fact::set(f, fact::kSeconds, std::to_string(p.seconds));
  if (p.cpu >= 0) fact::set(f, fact::kCpu, std::to_string(p.cpu));
  switch (p.type) {
    case FT::max_too_low:
      fact::set(f, fact::kLimit, p.title.substr(0, p.title.find(' ')));
      break;
    case FT::spinlock_lockup_suspected:
    case FT::spinlock_recursion:
    case FT::spinlock_bad_magic: {
      add_class(f.classes, p.spin_lock_name);
      fact::set(f, fact::kMessage, p.title.substr(0, p.title.find(" on CPU")));
      who.state = "spinning";
      if (!p.owner.comm.empty() && p.owner.comm != "<none>") {
        Participant o;
        o.name = p.owner.comm;
        o.pid = p.owner.pid;
        o.state = "owner";
        f.participants.push_back(o);
      }
      if (p.type == FT::spinlock_recursion) {
        Acquisition a;
        a.lock = p.spin_lock_name;
        a.context = task_label(p.task);
        a.stack = p.backtrace;
        f.acquisitions.push_back(std::move(a));
      }
      break;
    }
    case FT::hung_task:
      who.state = "D";
      // Without a reliable trace, the unreliable frames are all there is.
      if (st.size() < 2) who.stack = p.task_stack_all;
      if (!p.owner.comm.empty()) fact::set(f, fact::kLikelyOwner, task_label(p.owner));
      break;
    case FT::rcu_stall:
      if (!p.stall_cpus.empty()) fact::set(f, fact::kStallCpus, join(p.stall_cpus, ", "));
      if (!p.jiffies.empty()) fact::set(f, fact::kJiffies, p.jiffies);
      if (!p.starved.empty()) fact::set(f, fact::kStarved, p.starved);
      break;
    default:
      break;
  }
  if (!who.name.empty() || !who.stack.empty()) f.participants.insert(f.participants.begin(), who);
}

void build_witness(const Parsed& p, Finding& f) {
  std::vector<std::string> names;
  if (!p.worders.empty()) {
    add_class(names, p.worders.front().from);
    add_class(names, p.worders.front().to);
  }
  for (const auto& w : p.wit) add_class(names, w.witness);
  for (const auto& n : names) add_class(f.classes, n);
  if (names.size() < 2) return;
  for (size_t i = 0; i < names.size(); ++i) {
    Edge e;
    e.from = names[i];
    e.to = names[(i + 1) % names.size()];
    e.from_site.lock = e.from;
    e.to_site.lock = e.to;
    for (const auto& o : p.worders)
      if (o.from == e.from && o.to == e.to) e.to_site.stack = o.stack;
    if (e.to_site.stack.empty() && i == 0) e.to_site.stack = p.backtrace;
    f.chain.push_back(std::move(e));
  }
}

}  // namespace

ReadReport read_report(const std::vector<LogLine>& lines, const std::vector<size_t>& view,
                       const Headline& head, const std::string& location) {
  using FT = FindingType;
  Reader r(lines, view, head);
  r.run();
  const Parsed& p = r.p;
  ReadReport out;
  out.consumed = std::max<size_t>(1, r.consumed);
  Finding& f = out.finding;
  f.type = head.type;
  f.source = "explain";
  f.location = location;
  switch (head.type) {
    case FT::circular_dependency: build_circular(p, f); break;
    case FT::recursive_locking: build_recursive(p, f); break;
    case FT::inconsistent_lock_state: build_inconsistent(p, f); break;
    case FT::irq_lock_inversion:
    case FT::irq_safe_unsafe_order: build_irq(p, f); break;
    case FT::bad_unlock_balance:
    case FT::lock_held_returning_to_user:
    case FT::held_lock_freed:
    case FT::still_has_locks_held:
    case FT::workqueue_leaked_lock: build_held_kind(p, f); break;
    case FT::nested_lock_not_taken:
    case FT::invalid_wait_context: build_wait_kind(p, f); break;
    case FT::sleeping_in_invalid_context:
    case FT::scheduling_while_atomic: build_atomic(p, f); break;
    case FT::witness_lock_order_reversal: build_witness(p, f); break;
    default: build_misc(p, f); break;
  }
  if (f.participants.empty() && (!p.task.comm.empty() || !p.backtrace.empty()))
    f.participants.push_back(reporting_task(p));
  for (const auto& h : p.held) {
    bool own = h.task.comm == p.task.comm && h.task.pid == p.task.pid;
    if (own || h.locks.empty()) continue;
    Participant o;
    o.name = h.task.comm;
    o.pid = h.task.pid;
    o.held = h.locks;
    f.participants.push_back(std::move(o));
  }
  for (const auto& d : p.details) f.details.push_back(d);

  // Truncation: a lockdep report ends with its stack backtrace; a held list with fewer entries
  // than announced was cut.
  switch (head.type) {
    case FT::circular_dependency:
    case FT::recursive_locking:
    case FT::inconsistent_lock_state:
    case FT::irq_lock_inversion:
    case FT::irq_safe_unsafe_order:
    case FT::bad_unlock_balance:
    case FT::held_lock_freed:
    case FT::still_has_locks_held:
    case FT::nested_lock_not_taken:
    case FT::invalid_wait_context:
      if (!p.saw_backtrace) {
        out.truncated = true;
        out.missing = "its stack backtrace";
      }
      break;
    case FT::hung_task:
      if (!p.saw_call_trace) {
        out.truncated = true;
        out.missing = "the blocked task's call trace";
      }
      break;
    default:
      break;
  }
  if (head.type == FT::circular_dependency && p.entries.empty()) {
    out.truncated = true;
    out.missing = "the dependency chain (-> #N entries)";
  }
  for (const auto& h : p.held) {
    if (!h.locks.empty() && static_cast<int>(h.locks.size()) < h.count) {
      out.truncated = true;
      if (out.missing.empty()) out.missing = "part of the held-locks list of " + task_label(h.task);
    }
  }
  if (out.truncated) f.details.emplace_back("truncated", "report cut off before " + out.missing);
  complete_finding(f);
  if (head.type == FT::hung_task) {
    out.hung = true;
    out.task = p.task;
    out.task_stack = p.task_stack.size() >= 2 ? p.task_stack : p.task_stack_all;
    out.likely_owner = p.owner;
  }
  return out;
}

std::vector<TaskLocks> read_locks_dump(const std::vector<LogLine>& lines, const std::vector<size_t>& view,
                                       size_t& consumed) {
  std::vector<TaskLocks> out;
  consumed = 1;
  int unknown = 0;
  for (size_t i = 1; i < view.size(); ++i) {
    std::string_view t = trim(lines[view[i]].text);
    if (t.empty()) {
      if (!out.empty()) {
        consumed = i + 1;
      }
      continue;
    }
    if (is_rule(t)) {
      consumed = i + 1;
      break;
    }
    if (auto hh = parse_held_header(t)) {
      TaskLocks tl;
      tl.task = hh->task;
      tl.count = hh->count;
      out.push_back(std::move(tl));
      consumed = i + 1;
      unknown = 0;
      continue;
    }
    if (auto he = parse_held_entry(t); he && !out.empty()) {
      auto& list = out.back().locks;
      size_t idx = static_cast<size_t>(std::max(0, he->first));
      if (idx < list.size() && list[idx].name == he->second.name) {
        if (he->second.has_site && list[idx].site.inlined) list[idx].site = he->second.site;
      } else {
        list.push_back(to_held(he->second));
      }
      consumed = i + 1;
      unknown = 0;
      continue;
    }
    if (starts_with(t, "INFO: lockdep is turned off")) {
      consumed = i + 1;
      break;
    }
    if (++unknown > 10) break;
  }
  return out;
}

}  // namespace lockhound::explain
