#include "trace/trace_parser.h"

#include <array>

namespace lockhound::trace {
namespace {

constexpr bool is_space(char c) { return c == ' ' || c == '\t'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

// Parses a decimal number that fills `s` exactly.
bool parse_uint(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + uint64_t(c - '0');
  }
  out = v;
  return true;
}

// Parses a hex number (optional 0x) that fills `s` exactly.
bool parse_hex(std::string_view s, uint64_t& out) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int h = hex_value(c);
    if (h < 0) return false;
    v = (v << 4) | uint64_t(h);
  }
  out = v;
  return true;
}

// "9.944922:" or "123456:" (counter clocks). Returns false when `tok` is not a timestamp.
bool parse_timestamp(std::string_view tok, uint64_t& ns) {
  if (tok.size() < 2 || tok.back() != ':') return false;
  tok.remove_suffix(1);
  size_t dot = tok.find('.');
  uint64_t secs = 0;
  if (dot == std::string_view::npos) {
    if (!parse_uint(tok, secs)) return false;
    ns = secs;
    return true;
  }
  std::string_view frac = tok.substr(dot + 1);
  if (!parse_uint(tok.substr(0, dot), secs) || frac.empty() || frac.size() > 9) return false;
  uint64_t f = 0;
  if (!parse_uint(frac, f)) return false;
  for (size_t i = frac.size(); i < 9; ++i) f *= 10;
  ns = secs * 1000000000ull + f;
  return true;
}

struct KnownEvent {
  std::string_view name;
  EventType type;
};
constexpr std::array<KnownEvent, 6> kEvents{{
    {"lock_acquire", EventType::lock_acquire},
    {"lock_release", EventType::lock_release},
    {"lock_contended", EventType::lock_contended},
    {"lock_acquired", EventType::lock_acquired},
    {"contention_begin", EventType::contention_begin},
    {"contention_end", EventType::contention_end},
}};

EventType classify_event(std::string_view name) {
  if (name.starts_with("lock:")) name.remove_prefix(5);
  for (const auto& e : kEvents)
    if (e.name == name) return e.type;
  return EventType::other;
}

// The irq-info columns: 4 or 5 characters. Returns false when `tok` is not such a field.
bool parse_flags(std::string_view tok, int bh_legend, IrqInfo& irq) {
  if (tok.size() != 4 && tok.size() != 5) return false;
  char a = tok[0], n = tok[1], h = tok[2], p = tok[3];
  if (a != '.' && a != 'd' && a != 'D' && a != 'b' && a != 'X') return false;
  if (n != '.' && n != 'N' && n != 'n' && n != 'p' && n != 'B' && n != 'L' && n != 'b')
    return false;
  if (h != '.' && h != 'h' && h != 'H' && h != 's' && h != 'z' && h != 'Z') return false;
  int depth = p == '.' ? 0 : hex_value(p);
  if (depth < 0) return false;
  if (tok.size() == 5 && tok[4] != '.' && hex_value(tok[4]) < 0) return false;
  irq.known = true;
  irq.bh_known = bh_legend >= 0 ? bh_legend == 1 : tok.size() == 5;
  irq.irqs_off = a == 'd' || a == 'D' || a == 'X';
  irq.bh_off = a == 'b' || a == 'D';
  irq.nmi = h == 'z' || h == 'Z';
  irq.hardirq = h == 'h' || h == 'H' || irq.nmi;
  irq.softirq = h == 's' || h == 'H';
  irq.preempt_depth = uint8_t(depth);
  return true;
}

// Splits off the first whitespace-delimited token of `s`.
std::string_view next_token(std::string_view& s) {
  s = trim_left(s);
  size_t end = 0;
  while (end < s.size() && !is_space(s[end])) ++end;
  std::string_view tok = s.substr(0, end);
  s.remove_prefix(end);
  return tok;
}

// Everything before the timestamp: "COMM-PID [(TGID)] [CPU] [FLAGS]" (ftrace) or
// "COMM PID[/TID] [[CPU]]" (perf).
const char* parse_prefix(std::string_view head, int bh_legend, TraceEvent& ev) {
  head = trim(head);
  if (head.empty()) return "expected 'TASK-PID [CPU]' before the timestamp";
  // Flags: the last token, when it follows the "[CPU]" column.
  size_t last_space = head.find_last_of(" \t");
  bool cpu_before_last = last_space != std::string_view::npos &&
                         trim(head.substr(0, last_space)).ends_with(']');
  if (cpu_before_last && head.back() != ']') {
    std::string_view tok = head.substr(last_space + 1);
    if (!parse_flags(tok, bh_legend, ev.irq))
      return "expected irq-info flags like 'd.h2.' after the CPU column";
    head = trim(head.substr(0, last_space));
  }
  // CPU: "[003]".
  if (!head.empty() && head.back() == ']') {
    size_t open = head.rfind('[');
    if (open == std::string_view::npos) return "expected '[CPU]'";
    uint64_t cpu = 0;
    if (!parse_uint(head.substr(open + 1, head.size() - open - 2), cpu) || cpu > 1u << 20)
      return "expected a CPU number in '[CPU]'";
    ev.cpu = int(cpu);
    head = trim(head.substr(0, open));
  }
  // TGID column "(  544)" or "(-------)".
  if (!head.empty() && head.back() == ')') {
    size_t open = head.rfind('(');
    if (open == std::string_view::npos) return "expected '(TGID)'";
    head = trim(head.substr(0, open));
  }
  // Trailing task id, preceded by '-' (ftrace "comm-pid"), ' ' (perf "comm tid") or '/'
  // (perf "comm pid/tid").
  size_t end = head.size();
  size_t start = end;
  while (start > 0 && is_digit(head[start - 1])) --start;
  if (start == end) return "expected 'TASK-PID' (a task name and a pid)";
  uint64_t pid = 0;
  if (!parse_uint(head.substr(start), pid) || pid > INT32_MAX) return "expected a pid";
  ev.pid = int64_t(pid);
  if (start == 0) {
    ev.comm = {};
    return nullptr;
  }
  char sep = head[start - 1];
  std::string_view comm = head.substr(0, start - 1);
  if (sep == '/') {  // perf "pid/tid": drop the pid
    size_t s2 = comm.size();
    while (s2 > 0 && is_digit(comm[s2 - 1])) --s2;
    comm = comm.substr(0, s2);
  } else if (sep != '-' && !is_space(sep)) {
    return "expected 'TASK-PID' (a task name and a pid)";
  }
  ev.comm = trim(comm);
  return nullptr;
}

const char* parse_payload(std::string_view p, TraceEvent& ev) {
  p = trim(p);
  std::string_view addr_tok = next_token(p);
  if (!parse_hex(addr_tok, ev.addr)) {
    if (addr_tok != "(____ptrval____)") return "expected a lock address (hex) after the event name";
    ev.addr = 0;
  }
  p = trim_left(p);
  switch (ev.type) {
    case EventType::lock_acquire:
      for (;;) {
        if (p.starts_with("try ")) {
          ev.trylock = true;
          p.remove_prefix(4);
        } else if (p.starts_with("read ")) {
          ev.read = true;
          p.remove_prefix(5);
        } else {
          break;
        }
      }
      [[fallthrough]];
    case EventType::lock_release:
    case EventType::lock_contended:
    case EventType::lock_acquired:
      ev.name = trim(p);
      if (ev.name.empty()) return "expected a lock class name after the address";
      return nullptr;
    case EventType::contention_begin: {
      if (!p.starts_with("(flags=") || p.back() != ')')
        return "expected '(flags=...)' after the lock address";
      std::string_view flags = p.substr(7, p.size() - 8);
      while (!flags.empty()) {
        size_t bar = flags.find('|');
        std::string_view f = flags.substr(0, bar);
        if (f == "SPIN") ev.contention_flags |= kContentionSpin;
        else if (f == "READ") ev.contention_flags |= kContentionRead;
        else if (f == "WRITE") ev.contention_flags |= kContentionWrite;
        else if (f == "RT") ev.contention_flags |= kContentionRt;
        else if (f == "PERCPU") ev.contention_flags |= kContentionPercpu;
        else if (f == "MUTEX") ev.contention_flags |= kContentionMutex;
        else {
          uint64_t v = 0;
          if (!parse_hex(f, v)) return "expected contention flags SPIN|READ|WRITE|RT|PERCPU|MUTEX";
          ev.contention_flags |= uint32_t(v);
        }
        if (bar == std::string_view::npos) break;
        flags.remove_prefix(bar + 1);
      }
      return nullptr;
    }
    case EventType::contention_end: {
      if (!p.starts_with("(ret=") || p.back() != ')') return "expected '(ret=N)' after the lock address";
      std::string_view num = p.substr(5, p.size() - 6);
      bool neg = !num.empty() && num.front() == '-';
      if (neg) num.remove_prefix(1);
      uint64_t v = 0;
      if (!parse_uint(num, v) || v > INT32_MAX) return "expected a number in '(ret=N)'";
      ev.ret = neg ? -int32_t(v) : int32_t(v);
      return nullptr;
    }
    case EventType::other:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

std::string_view event_type_name(EventType t) {
  for (const auto& e : kEvents)
    if (e.type == t) return e.name;
  return "other";
}

void TraceParser::parse_header(std::string_view line) {
  if (line.find("irqs-off/BH-disabled") != std::string_view::npos) bh_legend_ = 1;
  else if (line.find("=> irqs-off") != std::string_view::npos) bh_legend_ = 0;
}

ParsedLine TraceParser::parse(std::string_view line) {
  ParsedLine out;
  parse(line, out);
  return out;
}

void TraceParser::parse(std::string_view line, ParsedLine& out) {
  out.kind = LineKind::malformed;
  out.error = {};
  out.event = TraceEvent{};
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  std::string_view s = trim_left(line);
  if (s.empty()) {
    out.kind = LineKind::blank;
    return;
  }
  if (s.front() == '#') {
    parse_header(s);
    out.kind = LineKind::header;
    return;
  }

  // Find the timestamp: the first token "DIGITS[.DIGITS]:" that is followed by an event token
  // "NAME:". The task name before it may contain spaces, so tokens are scanned, not counted.
  std::string_view rest = s;
  const char* ts_begin = nullptr;
  std::string_view after_ts;
  while (!rest.empty()) {
    std::string_view before = rest;
    std::string_view tok = next_token(rest);
    if (tok.empty()) break;
    uint64_t ns = 0;
    if (tok.back() == ':' && is_digit(tok.front()) && parse_timestamp(tok, ns)) {
      std::string_view look = rest;
      std::string_view ev_tok = next_token(look);
      if (ev_tok.size() >= 2 && ev_tok.back() == ':') {
        ts_begin = before.data() + (before.size() - trim_left(before).size());
        out.event.timestamp_ns = ns;
        after_ts = rest;
        break;
      }
    }
  }
  if (!ts_begin) {
    // A perf callchain line: "\tADDR SYMBOL+OFF (DSO)".
    std::string_view r = s;
    std::string_view addr = next_token(r);
    uint64_t pc = 0;
    if (line.size() > s.size() && parse_hex(addr, pc)) {
      r = trim(r);
      CallchainFrame& f = out.frame;
      f = CallchainFrame{};
      f.pc = pc;
      if (!r.empty() && r.back() == ')') {
        size_t open = r.rfind(" (");
        if (open != std::string_view::npos) {
          f.object = r.substr(open + 2, r.size() - open - 3);
          r = trim(r.substr(0, open));
        } else if (r.front() == '(') {
          f.object = r.substr(1, r.size() - 2);
          r = {};
        }
      }
      size_t plus = r.rfind("+0x");
      if (plus != std::string_view::npos && plus > 0) {
        f.offset = r.substr(plus);
        r = r.substr(0, plus);
      }
      f.function = r;
      out.kind = LineKind::frame;
      return;
    }
    out.error = "expected a trace event line 'TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS'";
    return;
  }

  TraceEvent& ev = out.event;
  if (const char* err = parse_prefix(std::string_view(s.data(), size_t(ts_begin - s.data())),
                                     bh_legend_, ev)) {
    out.error = err;
    return;
  }
  std::string_view ev_tok = next_token(after_ts);
  ev_tok.remove_suffix(1);
  ev.event = ev_tok;
  ev.type = classify_event(ev_tok);
  if (ev.type != EventType::other) {
    if (const char* err = parse_payload(after_ts, ev)) {
      out.error = err;
      return;
    }
  }
  out.kind = LineKind::event;
}

}  // namespace lockhound::trace
