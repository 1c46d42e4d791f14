#include "trace/lockdep_classes.h"

#include <cctype>

namespace lockhound::trace {
namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

void split_class_name(std::string_view full, std::string& base, int& subclass) {
  subclass = 0;
  // The subclass: a trailing "/N" (lockdep prints it only for N > 0).
  if (size_t slash = full.rfind('/'); slash != std::string_view::npos && all_digits(full.substr(slash + 1)) &&
                                      full.size() - slash <= 3) {
    subclass = std::stoi(std::string(full.substr(slash + 1)));
    full = full.substr(0, slash);
  }
  // The version: a trailing "#N" for the second and later keys of one name.
  if (size_t hash = full.rfind('#'); hash != std::string_view::npos && all_digits(full.substr(hash + 1)))
    full = full.substr(0, hash);
  base.assign(full);
}

bool parse_lockdep_classes(std::string_view text, const std::string& input_name, LockdepClasses& out,
                           std::vector<Diagnostic>& diags, size_t max_diagnostics) {
  size_t line_no = 0, complaints = 0;
  auto complain = [&](std::string msg) {
    if (complaints++ < max_diagnostics) diags.push_back(Diagnostic{input_name, line_no, std::move(msg), true});
  };
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    std::string_view t = trim(line);
    if (t.empty() || t == "all lock classes:" || t.substr(0, 2) == "->") continue;
    // "ffffffff81abe100 OPS:     402 FD:   13 BD:    6 +.+.: console_lock"
    size_t sp = t.find(' ');
    std::string_view addr = t.substr(0, sp);
    bool hex = !addr.empty() && addr.size() <= 16;
    for (char c : addr) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
    size_t bd = t.find(" BD:");
    if (!hex || bd == std::string_view::npos) {
      complain("expected a /proc/lockdep class line (\"ADDRESS OPS: N FD: N BD: N USAGE: NAME\"), found \"" +
               std::string(t.substr(0, 60)) + "\"");
      continue;
    }
    std::string_view rest = trim(t.substr(bd + 4));
    size_t num_end = 0;
    while (num_end < rest.size() && std::isdigit(static_cast<unsigned char>(rest[num_end]))) ++num_end;
    rest = trim(rest.substr(num_end));
    // The usage string ("+.+.", "-.-.", "....") ends at the first ": ".
    size_t colon = rest.find(": ");
    if (num_end == 0 || colon == std::string_view::npos || colon > 16) {
      complain("expected \"BD: N USAGE: NAME\" after the address, found \"" + std::string(t.substr(0, 60)) + "\"");
      continue;
    }
    std::string_view name = trim(rest.substr(colon + 2));
    if (name.empty()) {
      complain("a class line without a class name");
      continue;
    }
    std::string base;
    int sub = 0;
    split_class_name(name, base, sub);
    out.subclasses[base].insert(sub);
    ++out.entries;
  }
  return out.entries > 0;
}

}  // namespace lockhound::trace
