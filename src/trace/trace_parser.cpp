#include "trace/trace_parser.h"

#include <array>
#include <cstring>

namespace lockhound::trace {
namespace {

constexpr bool is_space(char c) { return c == ' ' || c == '\t'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr int hex_value_slow(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
constexpr std::array<int8_t, 256> kHex = [] {
  std::array<int8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[size_t(i)] = int8_t(hex_value_slow(char(i)));
  return t;
}();
inline int hex_value(char c) { return kHex[uint8_t(c)]; }

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
  if (name.size() < 12 || (name[0] != 'l' && name[0] != 'c')) return EventType::other;
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
inline std::string_view next_token(std::string_view& s) {
  const char* p = s.data();
  const char* e = p + s.size();
  while (p < e && is_space(*p)) ++p;
  const char* b = p;
  // Tokens end at a space (memchr is much faster than a byte loop); a tab inside is rare.
  const char* q = static_cast<const char*>(std::memchr(p, ' ', size_t(e - p)));
  if (!q) q = e;
  if (const void* tab = std::memchr(p, '\t', size_t(q - p))) q = static_cast<const char*>(tab);
  s = std::string_view(q, size_t(e - q));
  return std::string_view(b, size_t(q - b));
}

// Everything before the timestamp: "COMM-PID [(TGID)] [CPU] [FLAGS]" (ftrace) or
// "COMM PID[/TID] [[CPU]]" (perf). Scanned right to left: the task name may contain anything.
const char* parse_prefix(std::string_view head, int bh_legend, TraceEvent& ev) {
  const char* b = head.data();
  const char* e = b + head.size();
  auto skip_spaces = [&] {
    while (e > b && is_space(e[-1])) --e;
  };
  skip_spaces();
  if (e == b) return "expected 'TASK-PID [CPU]' before the timestamp";
  if (e[-1] != ']') {
    // Flags, when a "[CPU]" column precedes them.
    const char* f = e;
    while (f > b && !is_space(f[-1])) --f;
    const char* before = f;
    while (before > b && is_space(before[-1])) --before;
    if (before > b && before[-1] == ']') {
      if (!parse_flags(std::string_view(f, size_t(e - f)), bh_legend, ev.irq))
        return "expected irq-info flags like 'd.h2.' after the CPU column";
      e = before;
    }
  }
  if (e[-1] == ']') {
    const char* open = e - 1;
    while (open > b && open[-1] != '[') --open;
    if (open == b) return "expected '[CPU]'";
    uint64_t cpu = 0;
    if (!parse_uint(std::string_view(open, size_t(e - 1 - open)), cpu) || cpu > 1u << 20)
      return "expected a CPU number in '[CPU]'";
    ev.cpu = int(cpu);
    e = open - 1;
    skip_spaces();
  }
  if (e > b && e[-1] == ')') {  // TGID column "(  544)" or "(-------)"
    const char* open = e - 1;
    while (open > b && open[-1] != '(') --open;
    if (open == b) return "expected '(TGID)'";
    e = open - 1;
    skip_spaces();
  }
  // Trailing task id, preceded by '-' (ftrace "comm-pid"), ' ' (perf "comm tid") or '/'
  // (perf "comm pid/tid").
  const char* d = e;
  while (d > b && is_digit(d[-1])) --d;
  if (d == e) return "expected 'TASK-PID' (a task name and a pid)";
  uint64_t pid = 0;
  if (!parse_uint(std::string_view(d, size_t(e - d)), pid) || pid > INT32_MAX) return "expected a pid";
  ev.pid = int64_t(pid);
  if (d == b) {
    ev.comm = {};
    return nullptr;
  }
  char sep = d[-1];
  e = d - 1;
  if (sep == '/') {  // perf "pid/tid": drop the pid
    while (e > b && is_digit(e[-1])) --e;
  } else if (sep != '-' && !is_space(sep)) {
    return "expected 'TASK-PID' (a task name and a pid)";
  }
  skip_spaces();
  while (b < e && is_space(*b)) ++b;
  ev.comm = std::string_view(b, size_t(e - b));
  return nullptr;
}

const char* parse_payload(std::string_view p, TraceEvent& ev) {
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
      ev.name = p;
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
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || is_space(line.back())))
    line.remove_suffix(1);
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

  // Find the timestamp: the token "DIGITS[.DIGITS]" right before the first ": " that is
  // followed by an event token "NAME:". The task name before it may contain spaces (and, in
  // theory, ": "), so candidates are tried left to right.
  const char* ts_begin = nullptr;
  std::string_view after_ts, ev_tok;
  for (size_t colon = s.find(": "); colon != std::string_view::npos; colon = s.find(": ", colon + 1)) {
    size_t tstart = colon;
    while (tstart > 0 && !is_space(s[tstart - 1])) --tstart;
    uint64_t ns = 0;
    if (tstart == colon || !is_digit(s[tstart]) ||
        !parse_timestamp(s.substr(tstart, colon - tstart + 1), ns))
      continue;
    std::string_view look = s.substr(colon + 1);
    std::string_view tok = next_token(look);
    if (tok.size() < 2 || tok.back() != ':') continue;
    ts_begin = s.data() + tstart;
    out.event.timestamp_ns = ns;
    ev_tok = tok;
    after_ts = look;  // after the event token
    break;
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
