#include "sys/proc_locks.h"

#include <cstdio>

#include "sys/text_util.h"

namespace lockhound::sys {

namespace {

bool known_type(std::string_view t) {
  return t == "POSIX" || t == "FLOCK" || t == "OFDLCK" || t == "ACCESS" || t == "LEASE" ||
         t == "DELEG" || t == "UNKNOWN";
}

bool upper_word(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || c == '*' || c == '_')) return false;
  return true;
}

}  // namespace

std::string FileLock::file_key() const {
  if (!has_inode) return "<none>:0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%llu", major, minor,
                static_cast<unsigned long long>(inode));
  return buf;
}

std::string FileLock::range() const {
  return std::to_string(start) + " " + (end ? std::to_string(*end) : std::string("EOF"));
}

std::optional<FileLock> parse_proc_locks_line(std::string_view line, std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<FileLock> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  FileLock fl;
  // fdinfo prints the same entry after "lock:\t".
  std::string_view s = line;
  if (s.starts_with("lock:")) s.remove_prefix(5);
  while (!s.empty() && text::is_space(s.front())) s.remove_prefix(1);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail("expected a lock entry \"ID: TYPE …\" (e.g. \"1: FLOCK  ADVISORY  WRITE 987 "
                "00:19:12345 0 EOF\")");
  auto id = text::to_int<uint64_t>(s.substr(0, colon));
  if (!id) return fail("expected a numeric lock id before ':', found \"" +
                       std::string(s.substr(0, colon)) + "\"");
  fl.id = *id;
  s.remove_prefix(colon + 1);
  // Waiters: "-> " after one space per level of the blocker tree.
  size_t spaces = 0;
  while (spaces < s.size() && s[spaces] == ' ') ++spaces;
  if (s.substr(spaces).starts_with("->")) {
    fl.depth = static_cast<unsigned>(spaces == 0 ? 1 : spaces);
    s.remove_prefix(spaces + 2);
  }
  auto tok = text::tokens(s);
  size_t i = 0;
  auto next = [&]() -> std::string_view { return i < tok.size() ? tok[i++] : std::string_view{}; };
  std::string_view type = next();
  if (!known_type(type))
    return fail("expected a lock type (POSIX, FLOCK, OFDLCK, ACCESS, LEASE, DELEG), found \"" +
                std::string(type) + "\"");
  fl.type = type;
  // LEASE/DELEG carry a state word; POSIX-family and FLOCK a flavor word; UNKNOWN "UNKNOWN".
  std::string_view flavor = next();
  if (!upper_word(flavor))
    return fail("expected ADVISORY, MANDATORY or a lease state after " + fl.type + ", found \"" +
                std::string(flavor) + "\"");
  fl.flavor = flavor;
  std::string_view access = next();
  if (!upper_word(access))
    return fail("expected WRITE, READ or UNLCK, found \"" + std::string(access) + "\"");
  fl.access = access;
  std::string_view pid = next();
  auto p = text::to_int<int64_t>(pid);
  if (!p) return fail("expected a pid, found \"" + std::string(pid) + "\"");
  fl.pid = *p;
  std::string_view dev = next();
  if (dev == "<none>:0") {
    fl.has_inode = false;
  } else {
    size_t c1 = dev.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : dev.find(':', c1 + 1);
    if (c2 == std::string_view::npos)
      return fail("expected MAJOR:MINOR:INODE (e.g. fd:00:2531452), found \"" + std::string(dev) +
                  "\"");
    auto ma = text::to_int<uint32_t>(dev.substr(0, c1), 16);
    auto mi = text::to_int<uint32_t>(dev.substr(c1 + 1, c2 - c1 - 1), 16);
    auto in = text::to_int<uint64_t>(dev.substr(c2 + 1));
    if (!ma || !mi || !in)
      return fail("expected MAJOR:MINOR:INODE in hex:hex:decimal, found \"" + std::string(dev) +
                  "\"");
    fl.major = *ma;
    fl.minor = *mi;
    fl.inode = *in;
  }
  std::string_view start = next();
  auto st = text::to_int<int64_t>(start);
  if (!st) return fail("expected the start offset, found \"" + std::string(start) + "\"");
  fl.start = *st;
  std::string_view end = next();
  if (end != "EOF") {
    auto e = text::to_int<int64_t>(end);
    if (!e) return fail("expected the end offset or EOF, found \"" + std::string(end) + "\"");
    fl.end = *e;
  }
  if (i != tok.size())
    return fail("unexpected text after the range: \"" + std::string(tok[i]) + "\"");
  return fl;
}

ProcLocks parse_proc_locks(std::string_view input, std::string_view file) {
  ProcLocks out;
  text::for_each_line(input, [&](size_t lineno, std::string_view line) {
    if (text::trim(line).empty()) return;
    std::string err;
    auto fl = parse_proc_locks_line(line, &err);
    if (!fl) {
      out.diagnostics.push_back({std::string(file), lineno, err, true});
      return;
    }
    fl->line = lineno;
    if (fl->depth > 0) {
      // The blocker is the nearest earlier entry of the same id one level up.
      for (size_t k = out.locks.size(); k-- > 0;) {
        const FileLock& b = out.locks[k];
        if (b.id != fl->id) break;
        if (b.depth + 1 == fl->depth) {
          fl->blocker = k;
          break;
        }
      }
      if (fl->blocker == static_cast<size_t>(-1))
        out.diagnostics.push_back({std::string(file), lineno,
                                   "waiter without the lock it waits behind (expected an entry "
                                   "with id " + std::to_string(fl->id) + " one level up before it)",
                                   false});
    }
    out.locks.push_back(std::move(*fl));
  });
  return out;
}

bool looks_like_proc_locks(std::string_view input) {
  size_t good = 0, seen = 0;
  bool decided = false;
  text::for_each_line(input, [&](size_t, std::string_view line) {
    if (decided || text::trim(line).empty()) return;
    ++seen;
    if (parse_proc_locks_line(line, nullptr)) ++good;
    if (seen >= 20) decided = true;
  });
  return good > 0 && good * 2 >= seen;
}

}  // namespace lockhound::sys
