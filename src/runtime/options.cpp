#include "runtime/options.h"

#include <fnmatch.h>

#include <charconv>

namespace lockhound::runtime {

namespace {

bool parse_int(std::string_view v, int& out, int lo, int hi) {
  int x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x < lo || x > hi) return false;
  out = x;
  return true;
}

bool parse_bool(std::string_view v, bool& out) {
  if (v == "1" || v == "true" || v == "yes") return out = true, true;
  if (v == "0" || v == "false" || v == "no") return out = false, true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

const std::vector<std::string_view>& option_keys() {
  static const std::vector<std::string_view> keys = {
      "log_path", "format", "halt_on_error", "exitcode", "fail_on", "stack_depth", "watchdog_ms",
      "spin_ms", "watchdog_abort", "suppressions", "default_suppressions", "show_guarded", "full_stacks", "follow_children",
      "summary", "max_memory_mb", "verbosity", "fast_path", "source_root", "db"};
  return keys;
}

std::vector<std::string> parse_options(std::string_view text, Options& o) {
  std::vector<std::string> errors;
  while (!text.empty()) {
    size_t colon = text.find(':');
    std::string_view item = trim(text.substr(0, colon));
    text = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      errors.push_back("option '" + std::string(item) + "' needs a value (key=value)");
      continue;
    }
    std::string_view key = trim(item.substr(0, eq)), v = trim(item.substr(eq + 1));
    bool ok = true;
    if (key == "log_path") o.log_path = std::string(v);
    else if (key == "format") {
      ok = v == "text" || v == "json" || v == "sarif" || v == "dot" || v == "html";
      if (ok) o.format = std::string(v);
    } else if (key == "halt_on_error") ok = parse_bool(v, o.halt_on_error);
    else if (key == "exitcode") ok = parse_int(v, o.exitcode, 0, 255);
    else if (key == "fail_on") {
      ok = v == "deadlocks" || v == "hazards" || v == "all";
      if (ok) o.fail_on = std::string(v);
    }
    else if (key == "stack_depth") ok = parse_int(v, o.stack_depth, 1, 256);
    else if (key == "watchdog_ms") ok = parse_int(v, o.watchdog_ms, 0, 86'400'000);
    else if (key == "spin_ms") ok = parse_int(v, o.spin_ms, 0, 86'400'000);
    else if (key == "watchdog_abort") ok = parse_bool(v, o.watchdog_abort);
    else if (key == "suppressions") o.suppressions = std::string(v);
    else if (key == "default_suppressions") ok = parse_bool(v, o.default_suppressions);
    else if (key == "source_root") o.source_root = std::string(v);
    else if (key == "show_guarded") ok = parse_bool(v, o.show_guarded);
    else if (key == "full_stacks") ok = parse_bool(v, o.full_stacks);
    else if (key == "follow_children") ok = parse_bool(v, o.follow_children);
    else if (key == "summary") ok = parse_bool(v, o.summary);
    else if (key == "max_memory_mb") ok = parse_int(v, o.max_memory_mb, 1, 1 << 24);
    else if (key == "verbosity") ok = parse_int(v, o.verbosity, 0, 3);
    else if (key == "fast_path") ok = parse_bool(v, o.fast_path);
    else if (key == "db") o.db = std::string(v);
    else {
      errors.push_back("unknown option '" + std::string(key) + "'");
      continue;
    }
    if (!ok) errors.push_back("bad value '" + std::string(v) + "' for option '" + std::string(key) + "'");
  }
  return errors;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  std::string p(pattern), t(text);
  if (p.find_first_of("*?[") == std::string::npos) return t.find(p) != std::string::npos;
  return fnmatch(p.c_str(), t.c_str(), 0) == 0;
}

const char kDefaultSuppressions[] =
    "# OpenJDK's VM thread ends at the final safepoint of a shutdown still holding Threads_lock\n"
    "# (SafepointSynchronize::begin takes it and the VM never resumes): deliberate, and the\n"
    "# process exits right after. HotSpot's monitors are os::PlatformMonitor objects.\n"
    "type:still_has_locks_held && thread:VM Thread (tid * && class:os::PlatformMonitor::*\n";

bool Suppressions::parse(std::string_view text, std::string_view file_name,
                         std::vector<std::string>& errors) {
  size_t line_no = 0;
  bool ok = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    Rule rule{{}, std::string(line)};
    bool line_ok = true;
    for (std::string_view rest = line; line_ok;) {
      size_t amp = rest.find("&&");
      std::string_view term = trim(rest.substr(0, amp));
      size_t colon = term.find(':');
      std::string_view kind = colon == std::string_view::npos ? "" : trim(term.substr(0, colon));
      std::string_view pattern = colon == std::string_view::npos ? "" : trim(term.substr(colon + 1));
      if ((kind != "class" && kind != "function" && kind != "file" && kind != "type" &&
           kind != "thread") ||
          pattern.empty()) {
        errors.push_back(std::string(file_name) + ":" + std::to_string(line_no) +
                         ": error: expected 'class:PATTERN', 'function:PATTERN', 'file:PATTERN', "
                         "'type:PATTERN' or 'thread:PATTERN' (several joined by '&&'), found '" +
                         std::string(term) + "'");
        line_ok = false;
        break;
      }
      rule.terms.push_back({std::string(kind), std::string(pattern)});
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 2);
    }
    if (!line_ok) {
      ok = false;
      continue;
    }
    rules_.push_back(std::move(rule));
  }
  return ok;
}

bool Suppressions::term_matches(const Term& t, const Finding& f) {
  auto any_frame = [&](auto&& pred) {
    auto stack_hit = [&](const Stack& s) {
      for (const auto& fr : s)
        if (pred(fr)) return true;
      return false;
    };
    auto held_hit = [&](const std::vector<HeldLock>& held) {
      for (const auto& h : held)
        if (pred(h.site)) return true;
      return false;
    };
    for (const auto& e : f.chain)
      if (stack_hit(e.from_site.stack) || stack_hit(e.to_site.stack)) return true;
    for (const auto& a : f.acquisitions)
      if (stack_hit(a.stack) || held_hit(a.held)) return true;
    for (const auto& p : f.participants)
      if (stack_hit(p.stack) || held_hit(p.held)) return true;
    return false;
  };
  if (t.kind == "type") return glob_match(t.pattern, type_name(f.type));
  if (t.kind == "class") {
    for (const auto& c : f.classes)
      if (glob_match(t.pattern, c)) return true;
    return false;
  }
  if (t.kind == "thread") {
    auto hit = [&](const std::string& name) { return !name.empty() && glob_match(t.pattern, name); };
    for (const auto& e : f.chain)
      if (hit(e.from_site.context) || hit(e.to_site.context)) return true;
    for (const auto& a : f.acquisitions)
      if (hit(a.context)) return true;
    for (const auto& p : f.participants)
      if (hit(p.name)) return true;
    return false;
  }
  if (t.kind == "function")
    return any_frame([&](const Frame& fr) { return !fr.function.empty() && glob_match(t.pattern, fr.function); });
  if (t.kind == "file")
    return any_frame([&](const Frame& fr) { return !fr.file.empty() && glob_match(t.pattern, fr.file); });
  return false;
}

std::string Suppressions::match(const Finding& f) const {
  for (const auto& r : rules_) {
    bool all = true;
    for (const auto& t : r.terms) all = all && term_matches(t, f);
    if (all) return r.text;
  }
  return {};
}

}  // namespace lockhound::runtime
