#include "explain/logtext.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace lockhound::explain {

// ---- string helpers --------------------------------------------------------------------------

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }
size_t cut_start(std::string_view t, std::string_view phrase, size_t max_cut) {
  t = trim(t);
  for (size_t k = 0; k <= max_cut && k < phrase.size(); ++k) {
    std::string_view rest = phrase.substr(k);
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    if (!t.empty() && t[0] == rest[0] && t.substr(0, rest.size()) == rest) return k;
  }
  return std::string_view::npos;
}
static bool hexdigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
static bool digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(std::string_view s) {
  if (starts_with(s, "0x")) s.remove_prefix(2);
  return !s.empty() && std::all_of(s.begin(), s.end(), hexdigit);
}
bool is_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), digit); }
int64_t to_int(std::string_view s, int64_t fallback) {
  if (!is_digits(s) || s.size() > 18) return fallback;
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// ---- normalization ---------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

bool is_month(std::string_view s) {
  return std::find(kMonths.begin(), kMonths.end(), s) != kMonths.end();
}
bool is_day(std::string_view s) { return std::find(kDays.begin(), kDays.end(), s) != kDays.end(); }

// "hh:mm:ss" with an optional fraction.
size_t match_clock(std::string_view s, size_t i) {
  if (i + 8 > s.size()) return 0;
  if (!(digit(s[i]) && digit(s[i + 1]) && s[i + 2] == ':' && digit(s[i + 3]) && digit(s[i + 4]) &&
        s[i + 5] == ':' && digit(s[i + 6]) && digit(s[i + 7])))
    return 0;
  size_t j = i + 8;
  if (j < s.size() && (s[j] == '.' || s[j] == ',')) {
    ++j;
    while (j < s.size() && digit(s[j])) ++j;
  }
  return j - i;
}

// "[  123.456789]" -> length, or 0.
size_t match_timestamp(std::string_view s) {
  if (s.empty() || s[0] != '[') return 0;
  size_t i = 1;
  while (i < s.size() && s[i] == ' ') ++i;
  size_t d = i;
  while (i < s.size() && digit(s[i])) ++i;
  if (i == d || i >= s.size() || s[i] != '.') return 0;
  ++i;
  size_t f = i;
  while (i < s.size() && digit(s[i])) ++i;
  if (i == f || i >= s.size() || s[i] != ']') return 0;
  return i + 1;
}

// What a line cut at the start keeps of "[  123.456789]" or "[ T3699]": "456789]", ".456789]",
// "T3699]", "]" -> length (tag set for a caller id with its letter), or 0. Followed by a space, the
// rest of the prefix ("[ T3699]") or the end of the line.
size_t match_prefix_fragment(std::string_view s, std::string& tag) {
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  size_t letter = std::string_view::npos;
  if (i < s.size() && (s[i] == 'T' || s[i] == 'C')) letter = i++;
  size_t d = i;
  while (i < s.size() && digit(s[i])) ++i;
  if (letter == std::string_view::npos && i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && digit(s[i])) ++i;
  }
  if (letter != std::string_view::npos && i == d) return 0;
  if (i >= s.size() || s[i] != ']' || i > 20) return 0;
  if (i + 1 < s.size() && s[i + 1] != ' ' && s[i + 1] != '[') return 0;
  if (letter != std::string_view::npos) tag = std::string(s.substr(letter, i - letter));
  return i + 1;
}

// "[ T3699]" / "[    C1]" -> length, tag.
size_t match_caller(std::string_view s, std::string& tag) {
  if (s.empty() || s[0] != '[') return 0;
  size_t i = 1;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i >= s.size() || (s[i] != 'T' && s[i] != 'C')) return 0;
  size_t k = i + 1;
  while (k < s.size() && digit(s[k])) ++k;
  if (k == i + 1 || k >= s.size() || s[k] != ']') return 0;
  tag = std::string(s.substr(i, k - i));
  return k + 1;
}

// dmesg -T: "[Sat Nov 21 22:12:17 2026]".
size_t match_human_time(std::string_view s) {
  if (s.size() < 26 || s[0] != '[' || !is_day(s.substr(1, 3)) || s[4] != ' ' ||
      !is_month(s.substr(5, 3)))
    return 0;
  size_t close = s.find(']');
  if (close == std::string_view::npos || close > 40) return 0;
  if (match_clock(s, close - 13) == 0 && match_clock(s, close - 14) == 0) {
    // tolerate any clock position inside the brackets
    bool found = false;
    for (size_t i = 8; i + 8 <= close; ++i)
      if (match_clock(s, i)) found = true;
    if (!found) return 0;
  }
  return close + 1;
}

// syslog / journalctl: "Nov 21 22:12:17 " or "2026-11-21T22:12:17.123+0000 " -> length, or 0.
size_t match_syslog_time(std::string_view s) {
  if (s.size() >= 16 && is_month(s.substr(0, 3)) && s[3] == ' ') {
    size_t i = 4;
    if (s[i] == ' ') ++i;
    size_t d = i;
    while (i < s.size() && digit(s[i])) ++i;
    if (i == d || i - d > 2 || i >= s.size() || s[i] != ' ') return 0;
    ++i;
    size_t c = match_clock(s, i);
    if (!c) return 0;
    return i + c;
  }
  if (s.size() >= 19 && digit(s[0]) && digit(s[1]) && digit(s[2]) && digit(s[3]) && s[4] == '-' &&
      digit(s[5]) && digit(s[6]) && s[7] == '-' && digit(s[8]) && digit(s[9]) &&
      (s[10] == 'T' || s[10] == ' ')) {
    size_t c = match_clock(s, 11);
    if (!c) return 0;
    size_t i = 11 + c;
    // timezone: Z, +0000, +00:00
    if (i < s.size() && s[i] == 'Z') ++i;
    else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
      while (i < s.size() && (digit(s[i]) || s[i] == ':')) ++i;
    }
    return i;
  }
  return 0;
}

// After a syslog time: "host kernel: " (also "kernel[0]:"): returns the length to drop.
size_t match_host_kernel(std::string_view s) {
  size_t sp = s.find(' ');
  if (sp == std::string_view::npos || sp == 0) return 0;
  std::string_view rest = s.substr(sp + 1);
  if (starts_with(rest, "kernel:")) return sp + 1 + 7;
  if (starts_with(rest, "kernel[")) {
    size_t c = rest.find("]:");
    if (c != std::string_view::npos && c < 16) return sp + 1 + c + 2;
  }
  return 0;
}

void strip_ansi(std::string& s) {
  if (s.find('\x1b') == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && !(s[j] >= '@' && s[j] <= '~')) ++j;
      i = j;
      continue;
    }
    out.push_back(s[i]);
  }
  s = std::move(out);
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string qp_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '=' && i + 2 < s.size()) {
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h >= 0 && l >= 0 && (std::isupper(static_cast<unsigned char>(s[i + 1])) || digit(s[i + 1])) &&
          (std::isupper(static_cast<unsigned char>(s[i + 2])) || digit(s[i + 2]))) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

struct Physical {
  std::string text;
  size_t line;
  std::string raw;     // a quoted line before its quote markers were removed ("" when not quoted)
  size_t depth = 0;    // quote markers removed ('>' count); 0 when not quoted
};

}  // namespace

NormalizedLog normalize_log(std::string_view input) {
  NormalizedLog out;
  // Binary input: mostly control bytes. A few stray NULs (serial consoles emit them) are fine.
  size_t ctrl = 0, first_ctrl_line = 0, ln = 1;
  for (char ch : input) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\n') ++ln;
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x1b) {
      ++ctrl;
      if (!first_ctrl_line) first_ctrl_line = ln;
    }
  }
  if (!input.empty() && ctrl * 10 > input.size()) {
    out.binary = true;
    out.binary_line = first_ctrl_line;
  }

  // 1. physical lines, CRs and NULs dropped, mail quoting removed.
  std::vector<Physical> phys;
  std::vector<size_t> extra;  // per line: spaces after its quote markers
  phys.reserve(input.size() / 48 + 1);
  extra.reserve(input.size() / 48 + 1);
  size_t start = 0, lineno = 1;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    std::string s;
    s.reserve(nl - start);
    for (size_t i = start; i < nl; ++i)
      if (input[i] != '\r' && input[i] != '\0') s.push_back(input[i]);
    strip_ansi(s);
    // "> " quoting, possibly nested ("> > ", ">> ") and indented by the mail client ("  > "). A
    // bare '>' followed by text (KASAN's ">ffff8880..: fb fb") is not quoting.
    size_t lead = 0;
    while (lead < s.size() && (s[lead] == ' ' || s[lead] == '\t')) ++lead;
    size_t q = lead, depth = 0;
    while (q < s.size() && s[q] == '>' && (q + 1 == s.size() || s[q + 1] == ' ' || s[q + 1] == '>')) {
      ++q;
      ++depth;
      size_t r = q;
      while (r < s.size() && s[r] == ' ') ++r;
      bool marker = r < s.size() && s[r] == '>' && (r + 1 == s.size() || s[r + 1] == ' ' || s[r + 1] == '>');
      if (marker) q = r;  // "> > " and ">  > ": the next marker
      else if (q < s.size() && s[q] == ' ') ++q;
    }
    Physical p{std::string(), lineno, depth ? s : std::string(), depth};
    size_t sp = 0;
    if (depth) {
      s.erase(0, q);
      while (sp < s.size() && s[sp] == ' ') ++sp;
      if (sp == s.size()) sp = std::string::npos;  // an empty quoted line says nothing of indentation
    }
    p.text = std::move(s);
    if (!(nl == input.size() && start == input.size() && p.text.empty() && !depth)) {
      phys.push_back(std::move(p));
      extra.push_back(sp);
    }
    ++lineno;
    if (nl == input.size()) break;
    start = nl + 1;
  }
  // Quoted text indented further by the mail client ("> " then four spaces on every line): the
  // indentation every line of a quoted block shares is removed, the structure beyond it kept.
  for (size_t i = 0; i < phys.size();) {
    if (!phys[i].depth) {
      ++i;
      continue;
    }
    size_t j = i, common = std::string::npos;
    while (j < phys.size() && phys[j].depth) common = std::min(common, extra[j++]);
    if (common != std::string::npos && common > 0)
      for (size_t k = i; k < j; ++k)
        if (extra[k] != std::string::npos) phys[k].text.erase(0, common);
    i = j;
  }

  // 2. quoted-printable: soft line breaks ("=" at the end) and =XX escapes.
  size_t soft = 0, escapes = 0;
  auto soft_break = [](const std::string& t) { return ends_with(t, "=") && !ends_with(t, "=="); };
  for (const auto& p : phys) {
    if (soft_break(p.text)) ++soft;
    for (size_t i = p.text.find("=3D"); i != std::string::npos; i = p.text.find("=3D", i + 1)) ++escapes;
    for (size_t i = p.text.find("=20"); i != std::string::npos; i = p.text.find("=20", i + 1)) ++escapes;
  }
  bool qp = soft >= 2 || (escapes >= 1 && soft >= 1) || escapes >= 3;
  // A line continued after a soft break carries quote markers when the text was quoted after it
  // was encoded; when it was encoded after quoting, a '>' there is text. The message says which:
  // its continuation lines mostly carry the markers of the line they continue, or mostly not.
  bool quoted_continuations = true;
  if (qp) {
    size_t with = 0, without = 0;
    for (size_t i = 0; i + 1 < phys.size(); ++i) {
      if (!phys[i].depth || !soft_break(phys[i].text)) continue;
      (phys[i + 1].depth == phys[i].depth ? with : without) += 1;
    }
    quoted_continuations = with >= without;
  }
  std::vector<Physical> logical;
  if (!qp) logical = std::move(phys);
  else logical.reserve(phys.size());
  for (size_t i = 0; qp && i < phys.size(); ++i) {
    Physical cur{std::string(), phys[i].line, std::string(), 0};
    std::string acc = phys[i].text;
    while (soft_break(acc) && i + 1 < phys.size()) {
      acc.pop_back();
      ++i;
      acc += quoted_continuations || !phys[i - 1].depth || !phys[i].depth ? phys[i].text : phys[i].raw;
    }
    cur.text = qp_decode(acc);
    logical.push_back(std::move(cur));
  }

  // 3. rsyslog's "#012" stands for an embedded newline.
  std::vector<Physical> split;
  bool escaped = std::any_of(logical.begin(), logical.end(),
                             [](const Physical& l) { return l.text.find("#012") != std::string::npos; });
  if (!escaped) split = std::move(logical);
  else split.reserve(logical.size());
  std::vector<Physical> none;
  for (auto& l : escaped ? logical : none) {
    if (l.text.find("#012") == std::string::npos) {
      split.push_back(std::move(l));
      continue;
    }
    std::string_view s = l.text;
    size_t b = 0;
    while (true) {
      size_t e = s.find("#012", b);
      std::string part(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
      split.push_back({std::move(part), l.line, std::string(), 0});
      if (e == std::string_view::npos) break;
      b = e + 4;
    }
  }

  // 4. prefixes.
  size_t last_prefix_width = 0;
  bool last_had_prefix = false;
  out.lines.reserve(split.size());
  for (auto& p : split) {
    std::string_view s = p.text;
    std::string tag;
    size_t consumed = 0;
    bool any = false, syslog_seen = false, cut = false;
    for (int guard = 0; guard < 8; ++guard) {
      std::string_view r = s.substr(consumed);
      size_t n = 0;
      if (r.size() >= 3 && r[0] == '<' && digit(r[1])) {
        size_t k = 1;
        while (k < r.size() && k < 5 && digit(r[k])) ++k;
        if (k < r.size() && r[k] == '>') n = k + 1;
      }
      if (!n) n = match_timestamp(r);
      if (!n) {
        std::string t;
        n = match_caller(r, t);
        if (n) tag = t;
      }
      if (!n) n = match_human_time(r);
      if (!n && consumed == 0) {
        std::string t;
        n = match_prefix_fragment(r, t);
        if (n) {
          if (!t.empty()) tag = t;
          cut = true;
        }
      }
      if (!n && !syslog_seen) {
        n = match_syslog_time(r);
        if (n) {
          syslog_seen = true;
          size_t k = n;
          while (k < r.size() && r[k] == ' ') ++k;
          size_t h = match_host_kernel(r.substr(k));
          if (h) n = k + h;
        }
      }
      if (!n && any && !syslog_seen) {
        // journalctl -o short-monotonic: "[  12.345678] host kernel: "
        size_t k = 0;
        while (k < r.size() && r[k] == ' ') ++k;
        size_t h = match_host_kernel(r.substr(k));
        if (h && k <= 1) n = k + h;
      }
      if (!n) break;
      any = true;
      consumed += n;
      if (consumed < s.size() && s[consumed] == ' ') ++consumed;
    }
    if (!any) {
      // Console text of user space printed on the same line before the kernel's message
      // ("login: [   16.304411] INFO: ..."): the message starts at the timestamp.
      for (size_t k = s.find('['); k != std::string_view::npos && k > 0; k = s.find('[', k + 1)) {
        size_t n = match_timestamp(s.substr(k));
        if (!n || k + n >= s.size()) continue;
        consumed = k + n;
        if (consumed < s.size() && s[consumed] == ' ') ++consumed;
        any = true;
        std::string t2;
        if (size_t c = match_caller(s.substr(consumed), t2)) {
          tag = t2;
          consumed += c;
          if (consumed < s.size() && s[consumed] == ' ') ++consumed;
        }
        break;
      }
    }
    std::string text(s.substr(consumed));
    if (!any && last_had_prefix && last_prefix_width > 0) {
      // A continuation line of a multi-line printk: indented by the width of the prefix.
      size_t sp = 0;
      while (sp < text.size() && text[sp] == ' ') ++sp;
      if (sp >= last_prefix_width) text.erase(0, last_prefix_width);
    }
    if (any) {
      last_had_prefix = true;
      last_prefix_width = consumed;
    }
    out.lines.push_back({std::move(text), p.line, std::move(tag), cut});
  }
  return out;
}

// ---- frames ----------------------------------------------------------------------------------

namespace {

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$';
}

// "func+0x1/0x2" / "func+0x4b" / "func" at the start of s: returns length and fills frame.
size_t parse_symbol(std::string_view s, Frame& f) {
  size_t i = 0;
  while (i < s.size() && ident_char(s[i])) ++i;
  if (i == 0) return 0;
  f.function = std::string(s.substr(0, i));
  if (i + 3 < s.size() + 1 && i < s.size() && s[i] == '+' && starts_with(s.substr(i + 1), "0x")) {
    size_t j = i + 3;
    while (j < s.size() && hexdigit(s[j])) ++j;
    if (j < s.size() && s[j] == '/' && starts_with(s.substr(j + 1), "0x")) {
      j += 3;
      while (j < s.size() && hexdigit(s[j])) ++j;
    }
    f.offset = std::string(s.substr(i, j - i));
    return j;
  }
  return i;
}

// " [module]" / " file.c:12" / " [inline]" after a symbol.
void parse_frame_tail(std::string_view rest, Frame& f, bool& has_file) {
  has_file = false;
  while (true) {
    rest = trim(rest);
    if (rest.empty()) return;
    if (rest[0] == '[') {
      size_t c = rest.find(']');
      if (c == std::string_view::npos) return;
      std::string_view inner = rest.substr(1, c - 1);
      if (inner == "inline") f.inlined = true;
      else if (!inner.empty() && !starts_with(inner, "<")) f.object = std::string(inner);
      rest = rest.substr(c + 1);
      continue;
    }
    size_t sp = rest.find(' ');
    std::string_view tok = rest.substr(0, sp);
    size_t colon = tok.rfind(':');
    if (colon != std::string_view::npos && colon > 0 && is_digits(tok.substr(colon + 1)) &&
        contains(tok.substr(0, colon), ".")) {
      f.file = std::string(tok.substr(0, colon));
      f.line = static_cast<unsigned>(to_int(tok.substr(colon + 1), 0));
      has_file = true;
    }
    if (sp == std::string_view::npos) return;
    rest = rest.substr(sp);
  }
}

uint64_t parse_hex_u64(std::string_view s) {
  if (starts_with(s, "0x")) s.remove_prefix(2);
  uint64_t v = 0;
  for (size_t i = 0; i < s.size() && i < 16; ++i) v = v * 16 + static_cast<uint64_t>(hexval(s[i]));
  return v;
}

}  // namespace

FrameParse parse_frame(std::string_view line) {
  FrameParse r;
  std::string_view s = trim(line);
  // Markers that may precede a frame on the same line: "<NMI>  [<..>] ? func".
  bool marker = false;
  while (!s.empty() && s[0] == '<') {
    size_t c = s.find('>');
    if (c == std::string_view::npos) break;
    if (starts_with(s, "<<EOE>>")) c = 6;
    std::string_view m = s.substr(0, c + 1);
    if (!(m == "<IRQ>" || m == "</IRQ>" || m == "<TASK>" || m == "</TASK>" || m == "<NMI>" ||
          m == "</NMI>" || m == "<EOI>" || m == "<<EOE>>" || m == "<SOFTIRQ>" || m == "</SOFTIRQ>"))
      break;
    marker = true;
    if (m == "<<EOE>>" || m == "</NMI>" || m == "<EOI>") r.end_of_exception = true;
    s = trim(s.substr(c + 1));
  }
  if (s.empty()) {
    r.stackish = marker;
    return r;
  }
  Frame f;
  bool had_pc = false;
  // "[<c0013ea8>] ..." and, on a line that lost its first characters, "<c0013ea8>] ...",
  // "13ea8>] ..." (the address then unknown).
  size_t open = starts_with(s, "[<") ? 2 : starts_with(s, "<") ? 1 : 0;
  size_t close_pc = s.find(">]");
  bool cut_pc = open < 2 && close_pc != std::string_view::npos && close_pc <= 18 &&
                (close_pc == open || is_hex(s.substr(open, close_pc - open)));
  if (open == 2 || cut_pc) {
    size_t c = close_pc;
    if (c == std::string_view::npos || (c > open && !is_hex(s.substr(open, c - open))) || (c == open && open == 2))
      return r;
    if (!cut_pc) f.pc = parse_hex_u64(s.substr(2, c - 2));
    had_pc = true;
    s = trim(s.substr(c + 2));
    if (!s.empty() && s[0] == '(') {  // ARM: "(func+0x1/0x2) from [<..>] (caller)"
      size_t e = s.find(')');
      if (e == std::string_view::npos) return r;
      Frame g;
      g.pc = f.pc;
      if (parse_symbol(s.substr(1, e - 1), g) == 0) return r;
      r.frame = g;
      r.stackish = true;
      return r;
    }
    if (s.empty()) {
      r.stackish = true;
      return r;
    }
  }
  if (starts_with(s, "? ")) {
    r.unreliable = true;
    s = trim(s.substr(2));
  }
  // BSD: "#3  func+0x4b"
  if (!s.empty() && s[0] == '#') {
    size_t k = 1;
    while (k < s.size() && digit(s[k])) ++k;
    if (k == 1 || k >= s.size() || s[k] != ' ') return r;
    s = trim(s.substr(k));
    Frame g;
    size_t n = parse_symbol(s, g);
    if (n == 0 || g.offset.empty()) return r;
    r.frame = g;
    r.stackish = true;
    return r;
  }
  // ddb: "func(args) at func+0x18"
  if (size_t at = s.find(") at "); at != std::string_view::npos && !had_pc) {
    Frame g;
    size_t n = parse_symbol(s.substr(at + 5), g);
    if (n == 0 || g.offset.empty()) return r;
    r.frame = g;
    r.stackish = true;
    return r;
  }
  // bare address "0x7e93c548"
  if (starts_with(s, "0x") && is_hex(s)) {
    f.pc = parse_hex_u64(s);
    if (!r.unreliable) r.frame = f;
    r.stackish = true;
    return r;
  }
  size_t n = parse_symbol(s, f);
  if (n == 0) return r;
  std::string_view rest = s.substr(n);
  if (!rest.empty() && rest[0] != ' ') return r;
  bool has_file = false;
  parse_frame_tail(rest, f, has_file);
  // A plain word is not a frame: require an offset, a file:line, or an address before it.
  if (f.offset.empty() && !has_file && !had_pc) return r;
  // Anything else on the line besides module/file/[inline] means prose, not a frame.
  {
    std::string_view t = trim(rest);
    size_t words = 0;
    for (size_t i = 0; i < t.size(); ++i)
      if (t[i] == ' ' && i + 1 < t.size() && t[i + 1] != ' ') ++words;
    if (!t.empty()) ++words;
    if (words > 3) return r;
  }
  r.stackish = true;
  if (!r.unreliable) r.frame = f;
  return r;
}

bool is_dump_noise(std::string_view line) {
  std::string_view t = trim(line);
  if (t.empty()) return false;
  static constexpr std::string_view kPrefixes[] = {
      "CPU: ",         "Hardware name:", "Call Trace:",  "Call trace:",   "Backtrace:", "RIP: ",
      "RSP: ",         "RAX: ",          "RDX: ",        "RBP: ",         "R10: ",      "R13: ",
      "R08: ",         "R11: ",          "R14: ",        "Code: ",        "FS: ",       "CS: ",
      "CR2: ",         "DR0: ",          "DR3: ",        "DR6: ",         "PKRU: ",     "pstate:",
      "pc : ",         "lr : ",          "sp : ",        "Exception stack", "Pid: ",    "Modules linked in:",
      "Tainted: ",     "Stack:",         "EIP:",         "EAX:",          "ESI:",       "DS:",
      "Instruction dump:", "NIP:",       "LR:",          "CTR:",          "REGS:",      "MSR:",
      "---[ end trace", "irq event stamp:", "hardirqs last", "softirqs last", "Workqueue:",
      "Sched_ext:",    "Preemption disabled at:", "ORIG_RAX:", "EFLAGS:", "x29:", "x27:",
      "x25:", "x23:", "x21:", "x19:", "x17:", "x15:", "x13:", "x11:", "x9 :", "x7 :", "x5 :", "x3 :",
      "x1 :", "r10:", "r9:", "r8:", "r7:", "r6:", "r5:", "r4:", "r3:", "CR0:", "CR3:", "CR4:",
      "R12: ", "R09: ", "R15: ", "RBX: ", "RSI: ", "RDI: ", "RCX: ", "R8 : ", "R9 : ",
  };
  for (auto p : kPrefixes)
    if (starts_with(t, p)) return true;
  // hex dump of an exception stack: "1e80: 0000 ..."
  size_t c = t.find(": ");
  if (c != std::string_view::npos && c <= 16 && is_hex(t.substr(0, c))) return true;
  // raw stack words: "ffff8800458dfa38 ffffffff82d383a9 ..."
  if (t.size() >= 16 && is_hex(t.substr(0, 16)) && (t.size() == 16 || t[16] == ' ')) return true;
  return false;
}

// ---- locks -----------------------------------------------------------------------------------

std::optional<LockRef> parse_lock_ref(std::string_view text, bool cut_address) {
  std::string_view s = trim(text);
  LockRef r;
  size_t sp = s.find(' ');
  if (!s.empty() && s[0] != '(' && sp != std::string_view::npos && sp >= (cut_address ? 1 : 8) && sp <= 18 &&
      is_hex(s.substr(0, sp))) {
    if (!cut_address || sp == 8 || sp == 16 || sp == 18) r.address = std::string(s.substr(0, sp));
    s = trim(s.substr(sp));
  }
  if (s.empty() || s[0] != '(') return std::nullopt;
  int depth = 0;
  size_t close = std::string_view::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    else if (s[i] == ')') {
      if (--depth == 0) {
        close = i;
        break;
      }
    }
  }
  if (close == std::string_view::npos) return std::nullopt;
  r.name = std::string(trim(s.substr(1, close - 1)));
  if (r.name.empty()) return std::nullopt;
  std::string_view rest = s.substr(close + 1);
  if (!rest.empty() && rest[0] == '{') {
    size_t e = rest.find('}');
    if (e != std::string_view::npos) {
      r.usage = std::string(rest.substr(0, e + 1));
      rest = rest.substr(e + 1);
    }
  }
  if (starts_with(rest, "-{")) {
    size_t e = rest.find('}');
    if (e != std::string_view::npos) {
      r.wait = std::string(rest.substr(1, e));
      rest = rest.substr(e + 1);
    }
  }
  size_t at = rest.find("at:");
  if (at != std::string_view::npos) {
    std::string_view site = trim(rest.substr(at + 3));
    FrameParse fp = parse_frame(site);
    if (fp.frame) {
      r.site = *fp.frame;
      r.has_site = true;
    } else if (!site.empty()) {
      r.site.function = std::string(site.substr(0, site.find(' ')));
      r.has_site = true;
    }
  }
  return r;
}

bool lock_ref_is_torn(std::string_view text) {
  std::string_view s = trim(text);
  size_t p = s.find('(');
  if (p == std::string_view::npos) return false;
  int depth = 0;
  for (size_t i = p; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    else if (s[i] == ')' && --depth == 0) return false;
  }
  return depth > 0;
}

HeldLock to_held(const LockRef& r) {
  HeldLock h;
  h.name = r.name;
  h.address = r.address;
  h.usage = r.usage;
  if (r.has_site) h.site = r.site;
  return h;
}

TaskRef parse_task(std::string_view comm_pid) {
  TaskRef t;
  std::string_view s = trim(comm_pid);
  size_t slash = s.rfind('/');
  if (slash != std::string_view::npos && is_digits(s.substr(slash + 1))) {
    t.comm = std::string(s.substr(0, slash));
    t.pid = to_int(s.substr(slash + 1));
  } else {
    t.comm = std::string(s);
  }
  return t;
}

std::string task_label(const TaskRef& t) {
  return t.pid >= 0 ? t.comm + "/" + std::to_string(t.pid) : t.comm;
}

std::optional<HeldHeader> parse_held_header(std::string_view t, bool cut) {
  if (cut) {
    if (auto whole = parse_held_header(t)) return whole;
    size_t by = t.find("held by ");
    if (by == std::string_view::npos || by > 12) return std::nullopt;
    std::string_view pre = trim(t.substr(0, by));
    size_t d = 0;
    while (d < pre.size() && digit(pre[d])) ++d;
    std::string_view word = trim(pre.substr(d));
    if (!ends_with("no locks", word) && !ends_with("locks", word) && !ends_with("lock", word)) return std::nullopt;
    HeldHeader h;  // the count may have lost digits: unknown (0)
    std::string_view rest = t.substr(by + 8);
    if (ends_with(rest, ":") || ends_with(rest, ".")) rest.remove_suffix(1);
    h.task = parse_task(rest);
    return h;
  }
  HeldHeader h;
  if (starts_with(t, "no locks held by ")) {
    std::string_view rest = t.substr(17);
    if (ends_with(rest, ".")) rest.remove_suffix(1);
    h.task = parse_task(rest);
    return h;
  }
  size_t sp = t.find(' ');
  if (sp == std::string_view::npos || !is_digits(t.substr(0, sp))) return std::nullopt;
  std::string_view rest = t.substr(sp + 1);
  size_t by;
  if (starts_with(rest, "lock held by ")) by = 13;
  else if (starts_with(rest, "locks held by ")) by = 14;
  else return std::nullopt;
  h.count = static_cast<int>(to_int(t.substr(0, sp), 0));
  rest = rest.substr(by);
  if (ends_with(rest, ":")) rest.remove_suffix(1);
  h.task = parse_task(rest);
  return h;
}

std::optional<std::pair<int, LockRef>> parse_held_entry(std::string_view t, bool cut, size_t next) {
  if (cut) {
    if (auto whole = parse_held_entry(t)) return whole;
    std::string_view r = t;
    size_t k = 0;
    if (!r.empty() && r[0] == '#') ++k;
    while (k < r.size() && digit(r[k])) ++k;
    if (k < r.size() && r[k] == ':') r = trim(r.substr(k + 1));
    auto ref = parse_lock_ref(r, true);
    if (!ref || (!ref->has_site && ref->usage.empty())) return std::nullopt;
    return std::make_pair(static_cast<int>(next), std::move(*ref));
  }
  if (t.size() < 3 || t[0] != '#') return std::nullopt;
  size_t k = 1;
  while (k < t.size() && digit(t[k])) ++k;
  if (k == 1 || k >= t.size() || t[k] != ':') return std::nullopt;
  auto ref = parse_lock_ref(t.substr(k + 1));
  if (!ref) return std::nullopt;
  return std::make_pair(static_cast<int>(to_int(t.substr(1, k - 1), 0)), std::move(*ref));
}

}  // namespace lockhound::explain
