// Internal to explain: the log's lines with their transport removed, and the small grammars that
// every kernel report is built from (stack frames, lock descriptions, "N locks held by" lists).
//
// normalize_log() undoes what happened to the text on its way to the user — quoted-printable,
// "> " mail quoting, syslog / journalctl / dmesg -T / timestamp / caller-id / console-level
// prefixes, CRs, rsyslog's #012 — and keeps, per line, the 1-based input line number and the
// caller-id tag ("T3699", "C1"; "" when absent) so that a report's lines can be told apart from
// other CPUs' lines interleaved with them. All parsers here are hand-written (no std::regex: its
// recursion overflows the stack on long lines) and accept any byte string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"

namespace lockhound::explain {

struct LogLine {
  std::string text;   // message text, prefixes removed; leading spaces kept (they carry structure)
  size_t line = 0;    // 1-based line in the input
  std::string tag;    // caller id without brackets and spaces: "T3699", "C1"; "" when none
  bool cut = false;   // it began with the end of a timestamp or caller id ("300000] "): the line
                      // lost its first characters on the way (a console or a web view cut it)
};

struct NormalizedLog {
  std::vector<LogLine> lines;
  bool binary = false;          // mostly non-text bytes: the input is not a log
  size_t binary_line = 0;
};

NormalizedLog normalize_log(std::string_view input);

// ---- small string helpers ------------------------------------------------------------------
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view p);
bool ends_with(std::string_view s, std::string_view p);
bool contains(std::string_view s, std::string_view p);
// A line cut at the start: how many characters of `phrase` are missing at the start of `t`
// (trimmed) when `t` begins with the rest of it, at most `max_cut`; npos when it does not. 0 when
// `t` begins with the whole phrase. Leading spaces of what is left of the phrase are ignored.
size_t cut_start(std::string_view t, std::string_view phrase, size_t max_cut);
bool is_hex(std::string_view s);
bool is_digits(std::string_view s);
int64_t to_int(std::string_view s, int64_t fallback = -1);

// ---- stack frames --------------------------------------------------------------------------
struct FrameParse {
  std::optional<Frame> frame;  // set for a usable frame
  bool unreliable = false;     // "? func+0x.." (a guess of the unwinder)
  bool stackish = false;       // a frame, a marker (<IRQ>, </TASK>) or an unreliable frame
  bool end_of_exception = false;  // "<<EOE>>", "</NMI>", "<EOI>": the interrupted code follows
};
// Accepts every frame form seen in kernel logs: "func+0x1/0x2 [mod]", "[<ffff..>] func+0x1/0x2",
// "[<c01a>] (func+0x1/0x2) from [<c01b>] (caller)", "func+0x1/0x2 file.c:12", "func file.h:3
// [inline]", "#3  func+0x4b", "func() at func+0x18", "0x7e93c548".
FrameParse parse_frame(std::string_view line);
// Registers, code bytes, "CPU: .. PID: ..", "Hardware name:", markers: lines that belong to a
// stack dump without being frames.
bool is_dump_noise(std::string_view line);

// ---- locks -----------------------------------------------------------------------------------
struct LockRef {
  std::string address;  // instance, when printed
  std::string name;     // class name as printed
  std::string usage;    // "{+.+.}" with braces, "" when absent
  std::string wait;     // "{3:3}" with braces, "" when absent
  Frame site;           // ", at: site"
  bool has_site = false;
};
// "[ADDR ](NAME){USAGE}-{x:y}, at: SITE" and its older forms; nullopt when `text` is not one or
// its parentheses do not close (a torn line: join the next lines and retry).
// With `cut_address`, the line may have lost its first characters: an address shorter than usual
// is accepted and dropped unless it still has 8 or 16 digits.
std::optional<LockRef> parse_lock_ref(std::string_view text, bool cut_address = false);
// True when `text` starts a lock description whose parentheses are still open at its end.
bool lock_ref_is_torn(std::string_view text);
HeldLock to_held(const LockRef& r);

// "comm/pid" (comm may itself hold '/', as in "kworker/0:4/5097").
struct TaskRef {
  std::string comm;
  int64_t pid = -1;
};
TaskRef parse_task(std::string_view comm_pid);
std::string task_label(const TaskRef& t);

// "N lock(s) held by comm/pid:" / "no locks held by comm/pid." -> count (0 for "no"), task.
struct HeldHeader {
  int count = 0;
  TaskRef task;
};
// With `cut` (the line may have lost its first characters), also what is left of one: "locks held
// by comm/pid:" (count 0: its digits may be gone).
std::optional<HeldHeader> parse_held_header(std::string_view trimmed, bool cut = false);
// " #N: [addr] (name)..." -> N and the lock. With `cut`, also what is left of one ("0: ADDR
// (name)...", ": ADDR (name)...", "ADDR (name){usage}, at: ..."), numbered `next`.
std::optional<std::pair<int, LockRef>> parse_held_entry(std::string_view trimmed, bool cut = false, size_t next = 0);

}  // namespace lockhound::explain
