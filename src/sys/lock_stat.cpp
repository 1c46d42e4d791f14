#include "sys/lock_stat.h"

#include <algorithm>

#include "sys/text_util.h"

namespace lockhound::sys {

namespace {

bool is_rule(std::string_view s, char c) { return text::all_of_char(text::trim(s), c); }

}  // namespace

LockStat parse_lock_stat(std::string_view input, std::string_view file) {
  LockStat out;
  // Points follow their class: the first dash rule under a class opens its contention points,
  // the second its contending points.
  int group = 0;
  auto error = [&](size_t lineno, std::string msg) {
    out.diagnostics.push_back({std::string(file), lineno, std::move(msg), true});
  };
  text::for_each_line(input, [&](size_t lineno, std::string_view raw) {
    std::string_view line = text::trim(raw);
    if (line.empty()) return;
    if (line.starts_with("lock_stat version")) {
      out.version = text::trim(line.substr(17));
      return;
    }
    if (line.starts_with("*WARNING*")) {
      out.debugging_disabled = true;
      return;
    }
    if (is_rule(line, '.')) {
      group = 0;
      return;
    }
    auto tok = text::tokens(line);
    if (tok.size() >= 2 && tok[0] == "class" && tok[1] == "name") return;  // column header
    if (is_rule(line, '-')) {  // the full-width rule, or one under a class name
      if (!out.classes.empty() && raw.find_first_not_of(' ') > 0) ++group;
      return;
    }
    if (tok.size() >= 13 && tok[tok.size() - 13].ends_with(":")) {
      LockStatClass c;
      c.line = lineno;
      // The name is everything before the ':' that precedes the twelve numbers (names may hold
      // spaces in principle; they never hold the twelve numbers).
      std::string_view last = tok[tok.size() - 13];
      size_t name_end = static_cast<size_t>(last.data() - line.data()) + last.size() - 1;
      std::string_view name = text::trim(line.substr(0, name_end));
      if (name.size() > 2 && name[name.size() - 2] == '-' &&
          (name.back() == 'W' || name.back() == 'R')) {
        c.rw = name.back();
        name.remove_suffix(2);
      }
      if (name.empty()) {
        error(lineno, "expected a lock class name before ':'");
        return;
      }
      c.name = name;
      const size_t b = tok.size() - 12;
      auto u = [&](size_t k, uint64_t& v) {
        auto x = text::to_int<uint64_t>(tok[b + k]);
        if (x) v = *x;
        return x.has_value();
      };
      auto d = [&](size_t k, double& v) {
        auto x = text::to_decimal(tok[b + k]);
        if (x) v = *x;
        return x.has_value();
      };
      bool ok = u(0, c.con_bounces) && u(1, c.contentions) && d(2, c.waittime_min) &&
                d(3, c.waittime_max) && d(4, c.waittime_total) && d(5, c.waittime_avg) &&
                u(6, c.acq_bounces) && u(7, c.acquisitions) && d(8, c.holdtime_min) &&
                d(9, c.holdtime_max) && d(10, c.holdtime_total) && d(11, c.holdtime_avg);
      if (!ok) {
        error(lineno, "expected twelve numbers after the class name \"" + c.name +
                          "\" (con-bounces contentions waittime-min … holdtime-avg)");
        return;
      }
      out.classes.push_back(std::move(c));
      group = 0;
      return;
    }
    // A contention point: "name count [<ip>] symbol".
    for (size_t k = 1; k + 1 < tok.size(); ++k) {
      if (tok[k + 1].starts_with("[<") && tok[k + 1].ends_with(">]")) {
        auto count = text::to_int<uint64_t>(tok[k]);
        if (!count) break;
        if (out.classes.empty() || group == 0) {
          error(lineno, "contention point outside a lock class block");
          return;
        }
        ContentionPoint p;
        p.count = *count;
        std::string_view ip = tok[k + 1];
        p.ip = ip.substr(2, ip.size() - 4);
        if (k + 2 < tok.size()) {
          std::string_view rest = line.substr(static_cast<size_t>(tok[k + 2].data() - line.data()));
          p.symbol = text::trim(rest);
        }
        auto& cls = out.classes.back();
        (group == 1 ? cls.contention_points : cls.contending_points).push_back(std::move(p));
        return;
      }
    }
    error(lineno, "expected a lock class line (\"name: con-bounces contentions …\"), a contention "
                  "point (\"name count [<ip>] symbol\") or a rule");
  });
  return out;
}

std::vector<const LockStatClass*> top_contended(const LockStat& stat, size_t n) {
  std::vector<const LockStatClass*> v;
  for (const auto& c : stat.classes)
    if (c.contentions > 0) v.push_back(&c);
  std::sort(v.begin(), v.end(), [](const LockStatClass* a, const LockStatClass* b) {
    if (a->contentions != b->contentions) return a->contentions > b->contentions;
    if (a->waittime_total != b->waittime_total) return a->waittime_total > b->waittime_total;
    return a->name < b->name;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

bool looks_like_lock_stat(std::string_view input) {
  return input.substr(0, 4096).find("lock_stat version") != std::string_view::npos;
}

}  // namespace lockhound::sys
