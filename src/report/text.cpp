// Text report: reads like lockdep (rule, title, rule, the chain with both sites per edge, the
// CPU0/CPU1 scenario, *** DEADLOCK ***, held locks), then the root cause and the fix.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/sites.h"
#include "report/report_internal.h"

namespace lockhound {
namespace {

std::string rule(char c, size_t n) { return std::string(std::max<size_t>(n, 20), c); }

// ANSI colours, when the caller asked for them (a terminal; never in files, pipes or with
// NO_COLOR: the CLI decides). Only the lines a reader scans for are coloured.
struct Paint {
  bool on = false;
  std::string operator()(std::string_view code, std::string_view s) const {
    if (!on || s.empty()) return std::string(s);
    return fmt::format("\033[{}m{}\033[0m", code, s);
  }
};
constexpr std::string_view kBold = "1", kRed = "1;31", kYellow = "1;33", kCyan = "1;36", kGreen = "1;32";

std::string_view severity_color(const Finding& f) {
  std::string_view s = report::level_of(f);
  return s == "error" ? kRed : s == "note" ? kCyan : kYellow;
}

// A stack, innermost frame first. With `fold`, a run of two or more library frames (libstdc++,
// libc, lockhound) is one line, when the stack has a frame of the user's code to show instead.
void put_stack(std::string& out, const Stack& s, const char* indent, bool fold) {
  if (s.empty()) {
    out += indent;
    out += "(no stack recorded)\n";
    return;
  }
  fold = fold && std::any_of(s.begin(), s.end(), [](const Frame& f) {
           return library_of(f).empty() && !describe_frame(f).empty();
         });
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    std::vector<std::string_view> libs;
    while (fold && j < s.size() && !library_of(s[j]).empty()) {
      std::string_view lib = library_of(s[j]);
      if (std::find(libs.begin(), libs.end(), lib) == libs.end()) libs.push_back(lib);
      ++j;
    }
    if (j - i >= 2) {
      std::string names;
      for (auto l : libs) names += (names.empty() ? "" : ", ") + std::string(l);
      out += fmt::format("{}... {} frames in {}\n", indent, j - i, names);
      i = j;
      continue;
    }
    const Frame& fr = s[i];
    std::string d = describe_frame(fr);
    if (d.empty()) d = "?";
    out += fmt::format("{}#{} {}{}\n", indent, i, d, fr.inlined ? " [inlined]" : "");
    ++i;
  }
}

// A statistic's name for a count of one: its first plural word made singular ("lock classes" ->
// "lock class", "dependencies" -> "dependency", "files parsed" -> "file parsed").
std::string singular(const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t end = name.find(' ', start);
    if (end == std::string::npos) end = name.size();
    std::string_view w(name.data() + start, end - start);
    if (w.size() > 2 && w.back() == 's') {
      std::string out = name.substr(0, start);
      if (w.ends_with("ies")) out += std::string(w.substr(0, w.size() - 3)) + "y";
      else if (w.ends_with("sses")) out += std::string(w.substr(0, w.size() - 2));
      else out += std::string(w.substr(0, w.size() - 1));
      return out + name.substr(end);
    }
    start = end + 1;
  }
  return name;
}

std::string acq_head(const Acquisition& a) {
  std::string s = a.lock;
  if (!a.mode.empty() && a.mode != "write") s += " (" + a.mode + ")";
  if (!a.context.empty()) s += " by " + a.context;
  if (!a.irq.empty()) s += " in " + a.irq + " context";
  return s;
}

void put_held(std::string& out, const std::vector<HeldLock>& held, const std::string& who) {
  if (held.empty()) {
    out += fmt::format("no locks held by {}.\n", who.empty() ? "the context" : who);
    return;
  }
  out += fmt::format("{} lock{} held by {}:\n", held.size(), held.size() == 1 ? "" : "s",
                     who.empty() ? "the context" : who);
  for (size_t i = 0; i < held.size(); ++i) {
    const auto& h = held[i];
    std::string site = describe_frame(h.site);
    out += fmt::format(" #{}: {}{}{}{}\n", i, h.address.empty() ? "" : h.address + " ", "(" + h.name + ")",
                       h.usage, site.empty() ? "" : ", at: " + site);
  }
}

void put_scenario(std::string& out, const Scenario& sc, bool deadlock, const Paint& paint) {
  if (sc.columns.empty() || sc.rows.empty()) return;
  bool interrupt = false;
  for (const auto& r : sc.rows)
    for (const auto& c : r)
      if (c.rfind("<Interrupt", 0) == 0) interrupt = true;
  out += interrupt ? " Possible interrupt unsafe locking scenario:\n\n"
                   : " Possible unsafe locking scenario:\n\n";
  const size_t width = 24;
  std::string head = "       ", dash = "       ";
  for (size_t i = 0; i < sc.columns.size(); ++i) {
    head += fmt::format("{:<{}}", sc.columns[i], width);
    dash += fmt::format("{:<{}}", std::string(sc.columns[i].size(), '-'), width);
  }
  while (!head.empty() && head.back() == ' ') head.pop_back();
  while (!dash.empty() && dash.back() == ' ') dash.pop_back();
  out += head + "\n" + dash + "\n";
  for (const auto& r : sc.rows) {
    std::string line = "  ";
    for (size_t i = 0; i < r.size(); ++i) {
      if (i + 1 == r.size() || std::all_of(r.begin() + long(i) + 1, r.end(), [](const std::string& x) { return x.empty(); })) {
        line += r[i];
        break;
      }
      line += fmt::format("{:<{}}", r[i], i == 0 ? width + 5 : width);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (deadlock) out += "\n " + paint(kRed, "*** DEADLOCK ***") + "\n";
  out += "\n";
}

bool has_site(const Acquisition& a) { return !a.site.function.empty() || !a.site.file.empty() || a.site.pc; }

// An acquisition's stack, led by the lock call's own site when the input named it apart.
void put_acq_stack(std::string& out, const Acquisition& a, const char* indent, bool fold) {
  if (has_site(a)) out += fmt::format("{}(lock call: {})\n", indent, describe_frame(a.site));
  if (!a.stack.empty() || !has_site(a)) put_stack(out, a.stack, indent, fold);
}

void put_edge(std::string& out, const Edge& e, size_t i, size_t n, const Paint& paint, bool fold) {
  out += fmt::format("-> #{} {} --> {}{}\n", i, paint(kBold, e.from), paint(kBold, e.to),
                     e.dep.empty() ? "" : " [" + e.dep + "]");
  // lockdep records only where the second lock was taken; say so instead of an empty stack.
  if (e.from_site.stack.empty() && !has_site(e.from_site)) {
    out += fmt::format("   {} held (where it was taken is not recorded)\n", acq_head(e.from_site));
  } else {
    out += fmt::format("   {} taken at:\n", acq_head(e.from_site));
    put_acq_stack(out, e.from_site, "       ", fold);
  }
  if (e.to_site.stack.empty() && !has_site(e.to_site)) {
    out += fmt::format("   then {} taken while holding it (stack not recorded)\n", acq_head(e.to_site));
  } else {
    out += fmt::format("   then {} taken while holding it, at:\n", acq_head(e.to_site));
    put_acq_stack(out, e.to_site, "       ", fold);
  }
  if (!e.gates.empty()) {
    std::string g;
    for (const auto& x : e.gates) g += (g.empty() ? "" : ", ") + x;
    out += fmt::format("   (both taken under {})\n", g);
  }
  if (i + 1 < n) out += "\n";
}

}  // namespace

std::string render_finding_text(const Finding& f, const RenderOptions& options) {
  Paint paint{options.color};
  bool fold = !options.full_stacks;
  std::string out;
  std::string title = f.title.empty() ? std::string(type_title(f.type)) : f.title;
  std::string_view sev = finding_severity(f);
  std::string head = sev == "note" ? "NOTE: " : sev == "hazard" ? "HAZARD: " : "WARNING: ";
  out += "\n" + rule('=', head.size() + title.size()) + "\n";
  out += paint(severity_color(f), head + title) + "\n";
  std::string sub = fmt::format("lockhound {} [{}]", f.source.empty() ? "" : f.source, type_name(f.type));
  if (f.count > 1) sub += fmt::format(", seen {} times", f.count);
  if (!f.location.empty()) sub += ", at " + f.location;
  out += sub + "\n";
  out += rule('-', head.size() + title.size()) + "\n";
  if (!f.summary.empty()) out += paint(kBold, f.summary) + "\n";
  for (const auto& [k, v] : f.details) out += fmt::format("{}: {}\n", k, v);
  out += "\n";

  if (!f.chain.empty()) {
    bool cycle = f.type == FindingType::circular_dependency || f.type == FindingType::guarded_cycle;
    out += cycle ? fmt::format("the dependency chain ({} edge{} of the cycle):\n\n", f.chain.size(),
                               f.chain.size() == 1 ? "" : "s")
                 : "the dependency chain:\n\n";
    for (size_t i = 0; i < f.chain.size(); ++i) put_edge(out, f.chain[i], i, f.chain.size(), paint, fold);
    out += "\n";
  }
  for (const auto& a : f.acquisitions) {
    out += acq_head(a) + ", at:\n";
    put_acq_stack(out, a, "       ", fold);
    out += "\n";
  }
  put_scenario(out, f.scenario, report::scenario_deadlocks(f), paint);
  for (const auto& p : f.participants) {
    std::string who = p.name + (p.pid >= 0 ? fmt::format("/{}", p.pid) : "");
    if (!p.state.empty()) out += fmt::format("{} state {}\n", who, p.state);
    if (!p.waits_for.empty()) out += fmt::format("{} waits for {}\n", who, p.waits_for);
    put_held(out, p.held, who);
    if (!p.stack.empty()) {
      out += "stack:\n";
      put_stack(out, p.stack, "       ", fold);
    }
    out += "\n";
  }
  if (!f.explanation.empty()) out += paint(kBold, "root cause:") + " " + f.explanation + "\n";
  if (!f.fix.empty()) out += paint(kGreen, "fix:") + " " + f.fix + "\n";
  return out;
}

std::string render_text(const std::vector<Finding>& findings, const ReportMeta& meta,
                        const RenderOptions& options) {
  std::string out;
  for (const auto& sec : meta.sections) out += sec.text;
  std::map<std::string, uint64_t> by_type;
  size_t shown = 0, hidden = 0;
  for (const auto& f : findings) {
    if (finding_severity(f) == "note" && !options.show_guarded) {
      ++hidden;
      continue;
    }
    out += render_finding_text(f, options);
    by_type[std::string(type_name(f.type))] += 1;
    ++shown;
  }
  out += "\n";
  std::string what = meta.inputs.empty() ? "" : " in " + [&] {
    std::string s;
    for (const auto& i : meta.inputs) s += (s.empty() ? "" : ", ") + i;
    return s;
  }();
  if (shown == 0) {
    out += fmt::format("lockhound {}: no locking problems found{}.\n", meta.command, what);
  } else {
    out += Paint{options.color}(kBold, fmt::format("lockhound {}: {} problem{} found{}:", meta.command, shown,
                                                     shown == 1 ? "" : "s", what));
    for (const auto& [t, n] : by_type) out += fmt::format(" {} {}", n, t);
    out += "\n";
  }
  if (hidden)
    out += fmt::format("({} note{} (cycles that cannot close as seen) not shown; --show-guarded shows them)\n",
                       hidden, hidden == 1 ? "" : "s");
  if (!meta.stats.empty()) {
    std::string s;
    for (const auto& [k, v] : meta.stats) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", v, v == 1 ? singular(k) : k);
    out += "stats: " + s + "\n";
  }
  return out;
}

}  // namespace lockhound
