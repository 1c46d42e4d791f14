#include "explain/reports.h"

#include "explain/report_reader.h"

#include "core/facts.h"
#include "core/sites.h"
#include "core/voice.h"

#include <algorithm>
#include <array>
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

// A headline whose line lost its first characters: "ARNING: possible circular locking dependency
// detected", "ossible recursive locking detected", "FO: task foo:12 blocked for more than 120
// seconds.", "NFO: possible circular locking dependency detected ]". What is left must be the end
// of a known headline's start (the headline's own words, not a guess): a severity word cut to at
// least its colon, or at least 60% and 12 characters of the headline's words.
std::optional<Headline> detect_cut_headline(std::string_view line) {
  std::string_view t = trim(line);
  if (t.size() < 12) return std::nullopt;
  // The end of a word before the severity: "tchdog: BUG: soft lockup", "u: INFO: rcu_sched ...".
  for (std::string_view word : {"WARNING: ", "INFO: ", "BUG: "}) {
    size_t w = t.substr(0, 32).find(word);
    if (w == std::string_view::npos || w < 3 || w > 16 || t[w - 2] != ':' || t[w - 1] != ' ') continue;
    if (!std::all_of(t.begin(), t.begin() + static_cast<long>(w) - 2, [](char c) { return c >= 'a' && c <= 'z'; })) continue;
    std::string_view rest = trim(t.substr(w + word.size()));
    if (auto type = match_kernel_headline(strip_prefix_words(rest), word)) {
      Headline h;
      h.kind = HeadlineKind::report;
      h.type = *type;
      h.title = std::string(strip_prefix_words(rest));
      h.was_cut = true;
      return h;
    }
  }
  size_t bracket = 0;
  if (ends_with(t, " ]") && !starts_with(t, "[ ")) {
    t = trim(t.substr(0, t.size() - 2));
    bracket = 2;  // "[ " was cut too
  }
  auto found = [&](FindingType type, std::string title, size_t cut) {
    Headline h;
    h.kind = HeadlineKind::report;
    h.type = type;
    h.title = std::move(title);
    h.was_cut = true;
    h.cut = cut + bracket;
    return h;
  };
  // 1. The severity word (or the word before it) cut: "NG: ", "FO: ", "G: ", "tness: ", or
  // only the bracket of "[ INFO: ... ]".
  if (bracket && (starts_with(t, "INFO: ") || starts_with(t, "BUG: ") || starts_with(t, "WARNING: "))) {
    size_t w = t.find(": ") + 2;
    std::string_view rest = strip_prefix_words(trim(t.substr(w)));
    if (auto type = match_kernel_headline(rest, t.substr(0, w))) return found(*type, std::string(rest), 0);
  }
  size_t colon = t.substr(0, 16).find(": ");
  if (colon != std::string_view::npos && colon > 0 && colon < 13) {
    std::string_view frag = t.substr(0, colon + 2);
    for (std::string_view word : {"WARNING: ", "INFO: ", "BUG: ", "watchdog: ", "witness: ", "rcu: ", "kernel: "}) {
      if (frag.size() >= word.size() || !ends_with(word, frag)) continue;
      std::string_view rest = strip_prefix_words(trim(t.substr(frag.size())));
      std::string_view sev = word[0] >= 'A' && word[0] <= 'Z' ? word : std::string_view();
      for (std::string_view p : {"WARNING: ", "INFO: ", "BUG: "})
        if (sev.empty() && starts_with(rest, p)) {
          sev = p;
          rest = trim(rest.substr(p.size()));
        }
      if (auto type = match_kernel_headline(rest, sev)) return found(*type, std::string(rest), word.size() - frag.size());
    }
  }
  if (size_t k = cut_start(t, "Showing all locks held in the system", 14); k != std::string_view::npos && k > 0) {
    Headline h;
    h.kind = HeadlineKind::locks_dump;
    h.title = "Showing all locks held in the system:";
    h.was_cut = true;
    h.cut = k;
    return h;
  }
  // 2. The headline's own words cut: what is left starts the line, and is long enough to tell.
  // Every place a headline may be cut at, by the character it leaves first (built once).
  struct CutPoint {
    const KernelHeadline* h;
    size_t k;
  };
  static const std::array<std::vector<CutPoint>, 256> points = [] {
    std::array<std::vector<CutPoint>, 256> out;
    for (const auto& h : kernel_headlines()) {
      if (h.match != KernelHeadline::Match::prefix && h.match != KernelHeadline::Match::exact) continue;
      size_t whole = h.text.size() + h.also.size();
      for (size_t k = 1; k < h.text.size(); ++k) {
        size_t kept = h.text.size() - k + h.also.size();
        if (kept < 12 || kept * 10 < whole * 6) break;
        out[static_cast<unsigned char>(h.text[k])].push_back({&h, k});
      }
    }
    return out;
  }();
  for (const auto& [hp, k] : points[static_cast<unsigned char>(t[0])]) {
    const KernelHeadline& h = *hp;
    std::string_view rest = h.text.substr(k);
    if (t.substr(0, rest.size()) != rest) continue;
    if (h.match == KernelHeadline::Match::exact && t.size() != rest.size()) continue;
    if (!h.also.empty() && !contains(t.substr(rest.size()), h.also)) continue;
    std::string title = std::string(h.text.substr(0, k)) + std::string(t);
    // The severity word the kernel prints before it was cut too (its length is not known
    // when the headline may have several: lockdep's WARNING, or INFO before 4.x).
    size_t sev = h.severity == "BUG: " || h.severity == "INFO: " ? h.severity.size() : 0;
    return found(h.type, std::move(title), k + sev);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Headline> detect_headline(std::string_view line) {
  std::string_view t = trim(line);
  if (t.size() < 8) return std::nullopt;
  bool bracket = false;
  bool torn_bracket = false;  // "INFO: ... ]": a line that lost its "[ " (cut at the start)
  if (starts_with(t, "[ ") && ends_with(t, " ]")) {
    t = trim(t.substr(2, t.size() - 4));
    bracket = true;
  } else if (ends_with(t, " ]") && t.find('[') == std::string_view::npos) {
    t = trim(t.substr(0, t.size() - 2));
    torn_bracket = true;
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
    if (torn_bracket) {
      h.was_cut = true;
      h.cut = 2;
    }
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
  if (!bracket) return detect_cut_headline(line);
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
  if (head.was_cut) {
    fact::set(f, fact::kLinesCut, "text");
  } else {
    for (size_t i = 0; i < out.consumed && i < view.size(); ++i)
      if (lines[view[i]].cut) {
        fact::set(f, fact::kLinesCut, "prefix");
        break;
      }
  }
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
                                       size_t& consumed, bool cut) {
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
    if (auto hh = parse_held_header(t, cut)) {
      TaskLocks tl;
      tl.task = hh->task;
      tl.count = hh->count;
      out.push_back(std::move(tl));
      consumed = i + 1;
      unknown = 0;
      continue;
    }
    if (auto he = parse_held_entry(t, cut, out.empty() ? 0 : out.back().locks.size()); he && !out.empty()) {
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

