// Output: where reports go (stderr or PREFIX.PID, made before a change of user), findings worded
// and printed as they are found, and at the end the whole report or the summary line.
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <span>
#include <string>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "core/facts.h"
#include "core/sites.h"
#include "core/voice.h"
#include "core/waitfor.h"
#include "report/report.h"
#include "runtime/real.h"
#include "runtime/operations.h"
#include "runtime/runtime_state.h"
#include "symbolize/symbolize.h"

namespace lockhound::runtime {

// "0x" and lower-case hex digits, without printf: every lock first seen by address is named so.
std::string hex(uint64_t v) {
  char buf[18];
  char* p = buf + sizeof buf;
  do {
    *--p = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  *--p = 'x';
  *--p = '0';
  return std::string(p, buf + sizeof buf);
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// stderr as it was at start: programs such as xz and sort close fd 2 before exiting, and nginx's
// workers point it at the server's error log, and the summary must still reach the user. The
// copy is used only while it is still the same file (a program that closes every descriptor may
// reuse the number for something else).
int start_stderr() {
  Runtime& r = rt();
  struct stat st;
  if (r.stderr_copy >= 0 && fstat(r.stderr_copy, &st) == 0 && st.st_dev == r.stderr_dev &&
      st.st_ino == r.stderr_ino)
    return r.stderr_copy;
  return 2;
}

std::string log_file_name(int pid) { return rt().opts.log_path + "." + std::to_string(pid); }

// Opens (creates) PREFIX.PID for this process: on first use, and before the process changes its
// user or group (before_credentials_change), as servers such as nginx do in their workers: the
// new user may not create files where the old one could.
void open_log() {
  Runtime& r = rt();
  int pid = static_cast<int>(getpid());
  if (r.log_fd >= 0 && r.log_pid == pid) return;
  if (r.log_fd >= 0) ::close(r.log_fd);
  std::string path = log_file_name(pid);
  r.log_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  r.log_pid = pid;
  r.log_written = false;
  if (r.log_fd < 0 && !r.log_failed) {
    r.log_failed = true;
    write_all(start_stderr(), "==" + std::to_string(pid) + "== lockhound: cannot create " + path +
                                  " (" + strerror(errno) + "); this process reports to stderr\n");
  }
}

// Where output goes: stderr, or PREFIX.PID (opened on first use, and again in a forked child).
int log_fd() {
  Runtime& r = rt();
  if (r.opts.log_path.empty()) return start_stderr();
  open_log();
  if (r.log_fd < 0) return start_stderr();
  r.log_written = true;
  return r.log_fd;
}

// At exit: a PREFIX.PID opened before a change of user and never written to is removed (when the
// new user may), as a process with nothing to say that never opened one leaves none.
void remove_unused_log() {
  Runtime& r = rt();
  if (r.opts.log_path.empty() || r.log_written) return;
  std::string path = log_file_name(static_cast<int>(getpid()));
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(path.c_str());
}

void note(const std::string& msg) {
  // Called with report_lock held or before threads exist.
  write_all(log_fd(), "==" + std::to_string(getpid()) + "== lockhound: " + msg + "\n");
}

// Stops checking for good: interposers pass straight through from now on.
void stop(const std::string& why) {
  int expected = static_cast<int>(State::ready);
  if (g_state.compare_exchange_strong(expected, static_cast<int>(State::disabled)))
    write_all(2, "==" + std::to_string(getpid()) + "== lockhound: " + why +
                     "; checking stops, the program runs on\n");
}

// ------------------------------------------------------------------------- reports
void fill_frame(Frame& f) {
  if (f.pc == 0 || !f.function.empty()) return;
  const auto& fs = sym().frames(f.pc);
  const Frame& outer = fs.back();
  std::string file = f.file;
  unsigned line = f.line;
  f = fs.front();
  if (fs.size() > 1) {
    // A held lock's site is one frame: name the real function, at the innermost line.
    f.function = outer.function;
    f.inlined = false;
  }
  if (!file.empty()) {
    f.file = file;
    f.line = line;
  }
}

void symbolize_finding(Finding& f) {
  auto& s = sym();
  auto held = [&](std::vector<HeldLock>& hs) {
    for (auto& h : hs) fill_frame(h.site);
  };
  for (auto& e : f.chain) {
    s.fill(e.from_site.stack);
    s.fill(e.to_site.stack);
    held(e.from_site.held);
    held(e.to_site.held);
  }
  for (auto& a : f.acquisitions) {
    s.fill(a.stack);
    held(a.held);
  }
  for (auto& p : f.participants) {
    s.fill(p.stack);
    held(p.held);
  }
}

bool counts(const Finding& f) {
  return f.type != FindingType::guarded_cycle || rt().opts.show_guarded;
}


// Symbolizes, filters and prints newly found problems. Called without the internal lock.
void flush_pending() {
  Runtime& r = rt();
  std::vector<Finding> batch;
  r.lock.lock();
  batch.swap(r.pending);
  r.has_pending.store(false, std::memory_order_relaxed);
  r.lock.unlock();
  bool halt_now = false;
  r.report_lock.lock();
  for (auto& f : batch) {
    if (r.finished) break;
    // A finding is known by the signature it got when found (its frames then were addresses);
    // worded again once its frames have names.
    std::string key = f.signature;
    symbolize_finding(f);
    complete_finding(f);
    if (!r.supp.match(f).empty()) {
      r.suppressed.insert(key);
      continue;
    }
    if (!counts(f)) continue;
    r.reported.fetch_add(1, std::memory_order_relaxed);
    if (r.opts.format == "text") write_all(log_fd(), render_finding_text(f));
    if (r.opts.halt_on_error) halt_now = true;
  }
  r.report_lock.unlock();
  if (halt_now) halt(r.opts.exitcode ? r.opts.exitcode : 1);
}


void before_credentials_change() {
  if (g_state.load() != static_cast<int>(State::ready) || rt().opts.log_path.empty()) return;
  // A vfork child shares the parent's memory (and so r.log_fd) but not its descriptors.
  if (static_cast<int>(getpid()) != rt().pid) return;
  Guard g;
  Runtime& r = rt();
  r.report_lock.lock();
  open_log();
  r.report_lock.unlock();
}

std::vector<Finding> final_findings(ValidatorStats& stats) {
  Runtime& r = rt();
  r.lock.lock();
  std::vector<Finding> all = r.v->findings();
  stats = r.v->stats();
  // Acquisitions: the engine's, less its replays, plus those the fast path took alone.
  stats.acquisitions = stats.acquisitions - std::min(r.replays, stats.acquisitions) +
                       r.fast_acquisitions_done;
  for (ThreadState* t = r.threads; t; t = t->next) stats.acquisitions += t->fast_acquisitions;
  r.lock.unlock();
  r.report_lock.lock();
  for (const auto& f : r.own_findings) all.push_back(f);
  std::vector<Finding> out;
  for (auto& f : all) {
    std::string key = f.signature;
    if (r.baseline.contains(key) || r.suppressed.contains(key)) continue;
    symbolize_finding(f);
    complete_finding(f);
    if (!r.supp.match(f).empty()) {
      r.suppressed.insert(key);
      continue;
    }
    out.push_back(std::move(f));
  }
  merge_same_findings(out);
  r.report_lock.unlock();
  return out;
}

void halt(int code) {
  int status = finish(code);
  real::exit_now(status);
}

size_t finding_count() {
  if (g_state.load() == static_cast<int>(State::uninit)) return 0;
  Guard g;
  Runtime& r = rt();
  r.lock.lock();
  size_t n = r.v->finding_count();
  r.lock.unlock();
  r.report_lock.lock();
  n += r.own_findings.size();
  r.report_lock.unlock();
  return n;
}

void print_report_now() {
  if (g_state.load() == static_cast<int>(State::uninit)) return;
  Guard g;
  try {
    ValidatorStats st;
    auto fs = final_findings(st);
    ReportMeta meta;
    meta.command = "run";
    meta.inputs = {rt().program};
    RenderOptions ro;
    ro.show_guarded = rt().opts.show_guarded;
    ro.source_root = rt().opts.source_root;
    std::string text = render_report(rt().opts.format, fs, meta, ro);
    rt().report_lock.lock();
    write_all(log_fd(), text);
    rt().report_lock.unlock();
  } catch (...) {
    stop("internal error while reporting");
  }
}

// Under `lockhound run`, processes the program starts (shells, pipelines) print their text
// summary only when they found something; the program itself always does.
// Read at start, not at exit: a forked child keeps its parent's value even when the program
// empties its environment (nginx does for its workers).
bool quiet_child() { return rt().run_pid > 0 && rt().run_pid != static_cast<int>(getpid()); }

int finish(int status) {
  int s = g_state.load();
  if (s == static_cast<int>(State::uninit) || s == static_cast<int>(State::initializing))
    return status;
  Runtime& r = rt();
  if (static_cast<int>(getpid()) != r.pid) return status;  // a vfork child: not ours to report
  Guard g;
  try {
    r.report_lock.lock();
    bool done = r.finished;
    r.report_lock.unlock();
    if (done) return r.final_status;
    ValidatorStats st;
    auto fs = final_findings(st);
    r.report_lock.lock();
    r.finished = true;
    size_t problems = 0;
    std::map<std::string, size_t> by_type;
    for (const auto& f : fs) {
      if (!counts(f)) continue;
      ++problems;
      by_type[std::string(type_name(f.type))]++;
    }
    size_t threads = 0;
    for (ThreadState* t = r.threads; t; t = t->next) ++threads;
    if (r.opts.format != "text") {
      ReportMeta meta;
      meta.command = "run";
      meta.inputs = {r.program};
      meta.stats = {{"pid", static_cast<uint64_t>(r.pid)},
                    {"locks", r.lock_lifetimes.load()},
                    {"live_locks", st.instances},
                    {"classes", st.classes},
                    {"edges", st.edges},
                    {"chains", st.chains},
                    {"acquisitions", st.acquisitions},
                    {"contexts", st.contexts},
                    {"suppressed", r.suppressed.size()}};
      RenderOptions ro;
      ro.show_guarded = r.opts.show_guarded;
      ro.source_root = r.opts.source_root;
      write_all(log_fd(), render_report(r.opts.format, fs, meta, ro));
    } else if (r.opts.summary && (problems > 0 || !r.suppressed.empty() || !quiet_child())) {
      std::string line = "==" + std::to_string(r.pid) + "== lockhound: summary for " + r.program + ": ";
      if (problems == 0) {
        line += "no locking problems found";
      } else {
        line += std::to_string(problems) + (problems == 1 ? " problem" : " problems") + " (";
        bool first = true;
        for (const auto& [t, n] : by_type) {
          line += (first ? "" : ", ") + t + " " + std::to_string(n);
          first = false;
        }
        line += ")";
      }
      if (!r.suppressed.empty()) line += ", " + std::to_string(r.suppressed.size()) + " suppressed";
      auto count = [](uint64_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
      };
      line += "\n==" + std::to_string(r.pid) + "== lockhound: " + count(r.lock_lifetimes.load(), "lock", "locks") +
              ", " + count(st.classes, "class", "classes") + ", " + count(st.edges, "edge", "edges") + ", " +
              count(st.chains, "chain", "chains") + ", " + count(st.acquisitions, "acquisition", "acquisitions") +
              ", " + count(st.contexts, "thread", "threads") + "\n";
      if (r.opts.verbosity >= 2)
        line += "==" + std::to_string(r.pid) + "== lockhound: engine: " +
                count(st.graph_searches, "graph search", "graph searches") + ", order respaced " +
                count(st.renumbers, "time", "times") + ", about " +
                std::to_string(st.memory_bytes >> 20) + " MiB\n";
      write_all(log_fd(), line);
    }
    if (r.log_fd >= 0 && r.log_written) ::fsync(r.log_fd);
    remove_unused_log();
    r.final_status = problems > 0 && r.opts.exitcode ? r.opts.exitcode : status;
    r.report_lock.unlock();
    return r.final_status;
  } catch (...) {
    return status;
  }
}

}  // namespace lockhound::runtime
