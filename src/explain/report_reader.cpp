// Reading one report: the lines every report type shares (held-lock lists, stack dumps, lockdep's
// scenario table, torn lock names) and the loop that walks a report's view.
#include "explain/report_reader.h"

#include <algorithm>

namespace lockhound::explain {

std::optional<HeldHeader> Reader::held_header(std::string_view t) const {
  return parse_held_header(t, cut_ > 0);
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
  auto ref = parse_lock_ref(text, cut_ > 0);
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
  if (auto hh = held_header(t)) {
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
    auto he = parse_held_entry(t, cut_ > 0, p.held[static_cast<size_t>(held_index_)].locks.size());
    if (he) {
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
  if (is(t, "stack backtrace:") || lead(t, "stack backtrace")) {
    p.saw_backtrace = true;
    enter_backtrace(&p.backtrace);
    return true;
  }
  if (is(t, "Call Trace:") || is(t, "Call trace:") || is(t, "Backtrace:") || lead(t, "Call Trace:")) {
    p.saw_call_trace = true;
    if (!backtrace_mode_ || target_ == nullptr) enter_backtrace(&p.backtrace);
    return true;
  }
  // lockdep's own scenario table: recognised and skipped (the finding layer draws the scenario
  // from the chain; the table stays in `raw`).
  if (contains(t, "Possible unsafe locking scenario") || contains(t, "Possible interrupt unsafe locking scenario") ||
      lead(t, "Possible unsafe locking scenario") || lead(t, "Possible interrupt unsafe locking scenario")) {
    in_scenario_ = true;
    scen_rows_ = false;
    p.saw_scenario = true;
    return true;
  }
  if (in_scenario_) {
    if (lead(t, "CPU0") || lead(t, "----")) return true;
    for (std::string_view step : {"lock(", "rlock(", "sync(", "<Interrupt>", "local_irq_disable", "local_bh_disable",
                                  "unlock(", "<Signal>"})
      if (starts_with(t, step)) return scen_rows_ = true;
  }
  if (contains(t, "*** DEADLOCK ***") || (cut_ && contains(t, "DEADLOCK ***"))) {
    p.saw_deadlock = true;
    in_scenario_ = false;
    return true;
  }
  if (lead(t, "CPU: ") && contains(t, "PID: ")) {
    p.details.emplace_back("cpu", after(t, "CPU: ").substr(0, after(t, "CPU: ").find(' ')));
    return true;
  }
  if (lead(t, "irq event stamp:") || lead(t, "hardirqs last") || lead(t, "softirqs last")) {
    target_ = nullptr;
    std::string_view k = t.substr(0, t.find(" at ("));
    if (lead(t, "hardirqs last") || lead(t, "softirqs last")) {
      size_t c = t.find("): ");
      if (c != std::string_view::npos) p.details.emplace_back(std::string(trim(k)), std::string(trim(t.substr(c + 3))));
    }
    return true;
  }
  if (lead(t, "other info that might help us debug this") ||
      lead(t, "May be due to missing lock nesting notation") ||
      lead(t, "which lock already depends on the new lock") ||
      lead(t, "the existing dependency chain") || lead(t, "and interrupts could create") ||
      lead(t, "INFO: lockdep is turned off") || lead(t, "turning off the locking correctness validator") ||
      lead(t, "Not tainted") || lead(t, "Tainted:") ||
      starts_with(t, "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\"")) {
    if (lead(t, "the existing dependency chain")) in_chain_ = true;
    if (lead(t, "May be due")) p.details.emplace_back("hint", "missing lock nesting notation");
    if (lead(t, "INFO: lockdep is turned off")) p.details.emplace_back("lockdep", "turned off");
    if (lead(t, "turning off")) p.details.emplace_back("lockdep", "turned off by this report");
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
      for (size_t k = pos_ + 1; k < view_.size() && k <= pos_ + (cut_ ? 4 : 2); ++k)
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
  // A cut report's chain entries were kept by their order (-1 first): the first is the highest.
  if (unnumbered_ > 0) {
    std::map<int, ChainEntry> numbered;
    for (auto& [k, e] : p.entries) numbered[k < 0 ? unnumbered_ + k : k] = std::move(e);
    p.entries = std::move(numbered);
  }
}

}  // namespace lockhound::explain
