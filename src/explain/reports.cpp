#include "explain/reports.h"

#include "explain/report_reader.h"

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
  build_facts(p, f);
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

