// Reading one report: the lines of each report type (its headline's fields, the locks it names,
// the stacks it prints under its own headings).
#include "explain/report_reader.h"

#include <algorithm>

namespace lockhound::explain {

namespace {
// The place of a WARNING inside lockdep.c: file:line and the function.
void lockdep_warning_place(std::string_view t, Parsed& p) {
  size_t f = t.find("kernel/locking/lockdep.c:");
  if (f == std::string_view::npos) return;
  std::string_view w = t.substr(f);
  size_t sp = w.find(' ');
  p.check_at = std::string(w.substr(0, sp));
  if (sp == std::string_view::npos) return;
  std::string_view fn = trim(w.substr(sp));
  if (starts_with(fn, "at ")) fn = trim(fn.substr(3));
  FrameParse fp = parse_frame(fn.substr(0, fn.find_first_of(", ")));
  if (fp.frame) p.check_function = fp.frame->function;
}
}  // namespace

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
  // Torn "-> #N (" entries and every other line that starts one. In a report cut at the start,
  // what is left of one: "> #1 (", "#1 (", "1 (", or "(name){usage}:" once the chain began; the
  // entries are numbered by their order then (lockdep prints them from the highest down to #0).
  size_t entry = std::string_view::npos;
  if (starts_with(t, "-> #")) entry = 4;
  else if (cut_ && starts_with(t, "> #")) entry = 3;
  else if (cut_ && starts_with(t, "#") && t.size() > 1 && t[1] >= '0' && t[1] <= '9' && !contains(t, ": ")) entry = 1;
  else if (cut_ && in_chain_ && t[0] >= '0' && t[0] <= '9' && contains(t, " (") && !contains(t, ": ")) entry = 0;
  else if (cut_ && in_chain_ && t[0] == '(' && ends_with(t, ":") && !contains(t, " at: ")) entry = 0;
  if (entry != std::string_view::npos) {
    std::string joined = join_torn(std::string(t), true);
    std::string_view j = joined;
    size_t k = entry;
    while (k < j.size() && j[k] >= '0' && j[k] <= '9') ++k;
    int n = static_cast<int>(to_int(j.substr(entry, k - entry), 0));
    if (cut_) n = -(++unnumbered_);
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
  if (lead(t, "Chain exists of:")) {
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
      if (lead(t, "but task is already holding lock:")) {
        expect_ = Slot::holding;
        return true;
      }
      if (lead(t, "and the lock comparison function returns")) return true;
      break;
    case FT::inconsistent_lock_state:
      if (lead(t, "inconsistent {")) {
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
      if (lead(t, "but this lock took another, ") || lead(t, "but this lock was taken by another, ")) {
        p.forwards = lead(t, "but this lock took");
        std::string_view rest =
            after_lead(t, p.forwards ? "but this lock took another, " : "but this lock was taken by another, ");
        size_t e = rest.find(p.forwards ? "-unsafe" : "-safe");
        if (e != std::string_view::npos) p.state = std::string(rest.substr(0, e));
        expect_ = Slot::other;
        return true;
      }
      if (contains(t, " is trying to acquire:") && task_before(t, " is trying to acquire:", p.task)) {
        expect_ = Slot::next;
        return true;
      }
      if (lead(t, "and this task is already holding:")) {
        expect_ = Slot::prev;
        return true;
      }
      if (lead(t, "which would create a new lock dependency:")) {
        if (pos_ + 1 < view_.size() && contains(at(pos_ + 1).text, ") -> (")) ++pos_;
        return true;
      }
      if (lead(t, "but this new dependency connects a ")) {
        std::string_view rest = after_lead(t, "but this new dependency connects a ");
        size_t e = rest.find("-irq-safe");
        if (e != std::string_view::npos) p.state = std::string(rest.substr(0, e));
        expect_ = Slot::safe;
        return true;
      }
      if (lead(t, "to a ") && contains(t, "-irq-unsafe lock:")) {
        expect_ = Slot::unsafe;
        return true;
      }
      if (lead(t, "... which became ") && contains(t, "-irq-safe at:")) {
        target_ = &p.safe_stack;
        return true;
      }
      if (lead(t, "... which became ") && contains(t, "-irq-unsafe at:")) {
        target_ = &p.unsafe_stack;
        return true;
      }
      if (t == "...") return true;
      if (lead(t, "the shortest dependencies between") || lead(t, "the dependencies between") ||
          (lead(t, "and ") && contains(t, "-irq-unsafe lock:"))) {
        dep_mode_ = true;
        target_ = nullptr;
        return true;
      }
      if (dep_mode_ && lead(t, "-> (")) {
        std::string_view rest = t.substr(3);
        if (size_t ops = rest.find(" ops:"); ops != std::string_view::npos) rest = rest.substr(0, ops);
        if (ends_with(rest, " {")) rest.remove_suffix(2);
        DepBlock d;
        if (auto ref = parse_lock_ref(rest)) d.name = ref->name;
        p.deps.push_back(std::move(d));
        target_ = nullptr;
        return true;
      }
      if (dep_mode_ && !p.deps.empty() && ends_with(t, " at:") && !lead(t, "...")) {
        p.deps.back().usages.emplace_back(std::string(t.substr(0, t.size() - 4)), Stack{});
        target_ = &p.deps.back().usages.back().second;
        return true;
      }
      if (dep_mode_ && !p.deps.empty() && lead(t, "... acquired at:")) {
        target_ = &p.deps.back().acquired;
        return true;
      }
      if (dep_mode_ && (t == "}" || lead(t, "... key"))) {
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
      if (lead(t, "but there are no more locks to release")) {
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
      if (lead(t, "but this task is not holding:")) {
        nest_expected_ = true;
        return true;
      }
      if (lead(t, "context-{")) {
        p.context_wait = std::string(t.substr(8));
        return true;
      }
      break;
    case FT::sleeping_in_invalid_context:
    case FT::scheduling_while_atomic:
      if (lead(t, "in_atomic(): ")) {
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
      if (lead(t, "preempt_count: ") || lead(t, "RCU nest depth: ")) {
        p.details.emplace_back(std::string(t.substr(0, t.find(':'))), after(t, ": "));
        return true;
      }
      if (lead(t, "Preemption disabled at:")) {
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
      if (lead(t, "Thread overran stack")) {
        p.details.emplace_back("stack", std::string(t));
        return true;
      }
      break;
    case FT::hung_task:
      if (lead(t, "task:") && contains(t, "state:")) {
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
      if (is(t, "Call Trace:") || is(t, "Call trace:")) {
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
      if (lead(t, "Pid: ") && contains(t, "comm: ")) {
        std::string pid = after(t, "Pid: ");
        p.task.pid = to_int(pid.substr(0, pid.find(',')));
        std::string comm = after(t, "comm: ");
        p.task.comm = comm.substr(0, comm.find(' '));
        return true;
      }
      if (p.type == FT::soft_lockup && (is(t, "Call Trace:") || is(t, "Call trace:")) && !p.backtrace.empty()) {
        backtrace_mode_ = true;
        target_ = nullptr;  // only the first dump is the stuck one
        return true;
      }
      if (p.type == FT::hard_lockup && lead(t, "CPU: ") && contains(t, "PID: ")) {
        std::string pid = after(t, "PID: ");
        p.task.pid = to_int(pid.substr(0, pid.find(' ')));
        std::string comm = after(t, "Comm: ");
        p.task.comm = comm.substr(0, comm.find(' '));
        return true;
      }
      break;
    case FT::rcu_stall: {
      std::string_view s = t;
      if (lead(s, "rcu: ")) s = trim(s.substr(5));
      if (contains(s, "jiffies") && lead(s, "(")) {
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
      if (lead(s, "NMI backtrace for cpu ")) {
        stall_nmi_ = true;
        backtrace_mode_ = false;
        if (p.backtrace.empty()) target_ = &p.backtrace;
        else target_ = nullptr;
        return true;
      }
      if (lead(s, "Sending NMI from CPU") || lead(s, "RCU grace-period kthread stack dump") ||
          lead(s, "All QSes seen") || lead(s, "Tasks blocked on level") ||
          lead(s, "Unless rcu_") || contains(s, "->state=")) {
        return true;
      }
      if ((is(t, "Call Trace:") || is(t, "Call trace:")) && stall_nmi_) {
        return true;  // keep the NMI target chosen above
      }
      // rcu_tasks: "00000000a1b2c3d4: .. nvcsw: 2/2 holdout: 1 idle_cpu: -1/1", then the holdout task.
      if (p.stall_kind == "tasks" && contains(s, " nvcsw: ") && contains(s, " holdout: ")) return true;
      if (p.stall_kind == "tasks" && lead(s, "task:") && contains(s, " pid:")) {
        if (p.task.comm.empty()) {
          std::string_view comm = s.substr(5, s.find(" state:") - 5);
          p.task.comm = std::string(trim(comm));
          std::string pid = after(s, " pid:");
          p.task.pid = to_int(std::string(trim(pid)).substr(0, std::string(trim(pid)).find(' ')));
          target_ = nullptr;
          if (p.backtrace.empty()) enter_backtrace(&p.backtrace);
        }
        return true;
      }
      // "rcu_preempt     R  running task    22872    10      2 0x80000000"
      if (contains(s, " running task ")) return true;
      break;
    }
    case FT::spinlock_lockup_suspected:
    case FT::spinlock_recursion:
    case FT::spinlock_bad_magic:
    case FT::spinlock_already_unlocked:
      if (lead(t, "lock: ")) {
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
    case FT::workqueue_lockup:
      // "Showing busy workqueues and worker pools:", "workqueue events: flags=0x0",
      // "  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=1/256 refcnt=2", "    in-flight: 45:foo_work_fn [foo]",
      // "    pending: bar_fn, baz_fn", "pool 0: cpus=0 node=0 flags=0x0 nice=0 hung=31s workers=3 idle: 5 6"
      if (lead(t, "in-flight: ")) {
        std::string_view v = t.substr(11);
        size_t b = 0;
        while (b < v.size()) {
          size_t e = v.find(", ", b);
          std::string_view item = trim(v.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
          item = item.substr(0, item.find(' '));
          if (!item.empty()) p.in_flight.emplace_back(item);
          if (e == std::string_view::npos) break;
          b = e + 2;
        }
        return true;
      }
      if (lead(t, "Showing busy workqueues") || lead(t, "workqueue ") || lead(t, "pwq ") ||
          lead(t, "pending: ") || lead(t, "inactive: ") || lead(t, "delayed: ") ||
          (lead(t, "pool ") && contains(t, "cpus=")) || lead(t, "Showing backtraces of running workers"))
        return true;
      break;
    case FT::lockdep_internal_error:
      // The WARNING that follows DEBUG_LOCKS_WARN_ON(...) names the place in lockdep.c.
      if (contains(t, "kernel/locking/lockdep.c:") && contains(t, "WARNING: ")) {
        lockdep_warning_place(t, p);
        return true;
      }
      if (lead(t, "Modules linked in") || lead(t, "turning off the locking correctness validator"))
        return true;
      break;
    case FT::workqueue_leaked_lock:
      if (lead(t, "last function: ")) {
        p.last_function = after(t, "last function: ");
        return true;
      }
      break;
    case FT::witness_lock_order_reversal:
      if (lead(t, "1st ") || lead(t, "2nd ") || lead(t, "3rd ")) {
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
      if (lead(t, "ddb{") || lead(t, "Stopped at")) {
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
      for (auto [words, kind] : {std::pair<std::string_view, std::string_view>{" blocked for more than ", ""},
                                 {" blocked in I/O wait for more than ", "I/O wait"},
                                 {" can't die for more than ", "can't die"}}) {
        size_t b = rest.find(words);
        if (b == std::string::npos) continue;
        p.task = parse_colon_task(rest.substr(0, b));
        std::string secs = rest.substr(b + words.size());
        p.seconds = to_int(secs.substr(0, secs.find(' ')));
        p.hang_kind = std::string(kind);
        break;
      }
      break;
    }
    case FT::workqueue_lockup: {
      // "workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!"
      std::string pool = after(t, "pool ");
      size_t st = pool.find(" stuck for ");
      if (st != std::string::npos) {
        std::string secs = pool.substr(st + 11);
        p.seconds = to_int(secs.substr(0, secs.find_first_not_of("0123456789")));
        pool = pool.substr(0, st);
      }
      p.pool = std::string(trim(pool));
      std::string cpus = after(p.pool, "cpus=");
      cpus = cpus.substr(0, cpus.find(' '));
      if (is_digits(cpus)) p.cpu = to_int(cpus);
      break;
    }
    case FT::lockdep_internal_error: {
      if (starts_with(t, "DEBUG_LOCKS_WARN_ON(")) {
        p.check = std::string(t);
        break;
      }
      // "CPU: 0 PID: 1 at kernel/locking/lockdep.c:232 __lock_acquire+0x1e0b/0x2a40" or
      // "kernel/locking/lockdep.c:232 at __lock_acquire+0x1e0b/0x2a40, CPU#0: swapper/0/1"
      lockdep_warning_place(t, p);
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
    case FT::spinlock_bad_magic:
    case FT::spinlock_already_unlocked: {
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
      if (contains(s, "detected stalls on tasks")) p.stall_kind = "tasks";
      if (contains(s, "detected expedited stalls")) {
        // "{ 1-... P4567 } 21003 jiffies s: 1097 root: 0x2/.": stalled CPUs ("N-....") and
        // blocked tasks ("PNNN") between the braces, then the stall's age.
        p.stall_kind = "expedited";
        size_t b = s.find('{'), e = s.find('}');
        if (b != std::string_view::npos && e != std::string_view::npos && e > b) {
          std::string_view in = s.substr(b + 1, e - b - 1);
          size_t i = 0;
          while (i < in.size()) {
            while (i < in.size() && in[i] == ' ') ++i;
            size_t j = in.find(' ', i);
            std::string_view tok = in.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
            if (!tok.empty() && tok[0] >= '0' && tok[0] <= '9') p.stall_cpus.emplace_back(tok.substr(0, tok.find('-')));
            else if (tok.size() > 1 && tok[0] == 'P' && is_digits(tok.substr(1))) p.stall_tasks.emplace_back(tok.substr(1));
            if (j == std::string_view::npos) break;
            i = j;
          }
          std::string_view rest = trim(s.substr(e + 1));
          if (size_t jf = rest.find(" jiffies"); jf != std::string_view::npos && is_digits(rest.substr(0, jf)))
            p.jiffies = std::string(rest.substr(0, jf));
        }
      }
      break;
    }
    default:
      break;
  }
  return true;
}

}  // namespace lockhound::explain
