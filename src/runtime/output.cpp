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

// A descriptor this process image inherited for `path`: PREFIX.PID opened by the same process
// before a change of user and kept across its exec (before_credentials_change), which the new
// image, as the new user, could not open again. -1 if none.
int inherited_log(const std::string& path) {
  char link[4096];
  for (int fd = 3; fd < 1024; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) continue;
    char name[40];
    std::snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(name, link, sizeof link);
    if (n > 0 && static_cast<size_t>(n) == path.size() && path.compare(0, path.size(), link, size_t(n)) == 0 &&
        (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
      return fd;
  }
  return -1;
}

// Opens (creates) PREFIX.PID for this process: on first use, and before the process changes its
// user or group (before_credentials_change), as servers such as nginx do in their workers: the
// new user may not create files where the old one could. Out of reach (a process started after
// a change of user, a compiler under varnish's jail), the report goes to the run's spool
// directory, and the run's process moves it to PREFIX.PID at its end (or says where it is); with
// no run around, the process stays silent. Never into the program's stderr: the program's own
// output is not the place for a report, and several processes' documents would run together.
void open_log() {
  Runtime& r = rt();
  int pid = static_cast<int>(getpid());
  if (r.log_pid == pid && (r.log_fd >= 0 || r.log_failed)) return;
  if (r.log_fd >= 0) ::close(r.log_fd);
  std::string path = log_file_name(pid);
  // JSON is one document, rewritten in place as findings come (write_document); text is appended.
  int append = r.opts.format != "text" ? 0 : O_APPEND;
  r.log_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | append | O_CLOEXEC, 0644);
  r.log_pid = pid;
  r.log_written = false;
  r.log_spooled = false;
  if (r.log_fd >= 0) return;
  int err = errno;
  r.log_fd = inherited_log(path);
  if (r.log_fd >= 0) {
    if (append) ::lseek(r.log_fd, 0, SEEK_END);
    return;
  }
  if (!r.run_dir.empty()) {
    std::string spool = r.run_dir + "/" + base_name(r.opts.log_path) + "." + std::to_string(pid);
    r.log_fd = ::open(spool.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (r.log_fd >= 0) {
      r.log_spooled = true;
      return;
    }
  }
  r.log_failed = true;
  if (!quiet_child() && r.run_dir.empty())
    write_all(start_stderr(), "==" + std::to_string(pid) + "== lockhound: cannot create " + path + " (" +
                                  strerror(err) + "); this process's reports are lost\n");
}

// Where output goes: stderr, or PREFIX.PID (opened on first use, and again in a forked child);
// -1 when PREFIX.PID is out of reach (writes to it do nothing).
int log_fd() {
  Runtime& r = rt();
  if (r.opts.log_path.empty()) return start_stderr();
  open_log();
  if (r.log_fd < 0) return -1;
  r.log_written = true;
  return r.log_fd;
}

// At exit: a PREFIX.PID opened before a change of user and never written to is removed (when the
// new user may), as a process with nothing to say that never opened one leaves none.
void remove_unused_log() {
  Runtime& r = rt();
  if (r.opts.log_path.empty() || r.log_written || r.log_spooled) return;
  std::string path = log_file_name(static_cast<int>(getpid()));
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(path.c_str());
}

void note(const std::string& msg) {
  // Called with report_lock held or before threads exist. Never into a JSON document.
  int fd = rt().opts.format != "text" ? start_stderr() : log_fd();
  if (fd < 0) return;
  write_all(fd, "==" + std::to_string(getpid()) + "== lockhound: " + msg + "\n");
}

// The process's JSON report as it stands (report_lock held): in PREFIX.PID it replaces the
// document before it, so that the file always holds one whole report, the findings so far
// included, whatever ends the process (a fatal signal, a kill, _exit). On stderr, appended.
void write_document(const std::string& text) {
  Runtime& r = rt();
  int fd = log_fd();
  if (fd < 0) return;
  if (r.opts.log_path.empty() || fd != r.log_fd) {
    write_all(fd, text);
    return;
  }
  if (::ftruncate(fd, 0) != 0) return;
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::pwrite(fd, text.data() + off, text.size() - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// The report (JSON, SARIF, DOT or HTML) of the findings so far, written after each new finding (not at exit: the
// final one has the whole run's figures). report_lock not held.
void json_snapshot() {
  Runtime& r = rt();
  if (r.opts.format == "text" || r.opts.log_path.empty()) return;
  ValidatorStats st;
  auto fs = final_findings(st);
  ReportMeta meta;
  meta.command = "run";
  meta.inputs = {r.program};
  meta.stats = {{"pid", static_cast<uint64_t>(r.pid)}, {"acquisitions", st.acquisitions}};
  meta.sections.push_back(Section{"process", "", {{"finished", false}, {"pid", r.pid}}});
  RenderOptions ro;
  ro.show_guarded = r.opts.show_guarded;
  ro.full_stacks = r.opts.full_stacks;
  ro.source_root = r.opts.source_root;
  std::string text = render_report(r.opts.format, fs, meta, ro);
  r.report_lock.lock();
  if (!r.finished) write_document(text);
  r.report_lock.unlock();
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
  // The lock call inlined into the user's function (std::mutex::lock, __gthread_mutex_lock):
  // the site is the user's own line, the first frame of the expansion that is not plumbing.
  const Frame* user = user_frame(fs);
  f = user ? *user : fs.front();
  if (fs.size() > 1 && !user) {
    // A held lock's site is one frame: name the real function, at the innermost line.
    f.function = outer.function;
  }
  f.inlined = false;
  if (!file.empty()) {
    f.file = file;
    f.line = line;
  }
}

void symbolize_finding(Finding& f) {
  auto& s = sym();
  auto held = [&](std::vector<HeldLock>& hs) {
    for (auto& h : hs) {
      if (h.stack.empty()) {
        fill_frame(h.site);
        continue;
      }
      // The acquisition's whole stack: its site is the user's frame, past std::lock_guard,
      // std::mutex::lock and __gthread_mutex_lock.
      s.fill(h.stack);
      if (const Frame* u = user_frame(h.stack)) h.site = *u;
      else fill_frame(h.site);
      h.site.inlined = false;
      h.stack.clear();
    }
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

// Notes (guarded cycles and the like) count only when asked for (show_guarded, fail_on=all).
bool counts(const Finding& f) {
  return finding_severity(f) != "note" || rt().opts.show_guarded || rt().opts.fail_on == "all";
}

// The finding sets the exit status (and stops a halt_on_error run): its severity is one that
// fail_on names.
bool fails(const Finding& f) {
  const std::string& p = rt().opts.fail_on;
  int limit = p == "all" ? 2 : p == "hazards" ? 1 : 0;
  return counts(f) && severity_rank(finding_severity(f)) <= limit;
}


// Symbolizes, filters and prints newly found problems. Called without the internal lock.
void flush_pending() {
  Runtime& r = rt();
  std::vector<Finding> batch;
  r.lock.lock();
  batch.swap(r.pending);
  r.has_pending.store(false, std::memory_order_relaxed);
  r.lock.unlock();
  bool halt_now = false, new_findings = false;
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
    // Several engine findings may be one problem (a hazard grouped by its two sites): printed once.
    if (!r.printed.insert(f.signature).second) continue;
    r.reported.fetch_add(1, std::memory_order_relaxed);
    if (r.opts.format == "text") {
      RenderOptions ro;
      ro.full_stacks = r.opts.full_stacks;
      write_all(log_fd(), render_finding_text(f, ro));
    }
    if (r.opts.halt_on_error && fails(f)) halt_now = true;
    new_findings = true;
  }
  r.report_lock.unlock();
  if (halt_now) halt(r.opts.exitcode ? r.opts.exitcode : 1);
  if (new_findings) json_snapshot();
}


void before_credentials_change() {
  if (g_state.load() != static_cast<int>(State::ready) || rt().opts.log_path.empty()) return;
  // A vfork child shares the parent's memory (and so r.log_fd) but not its descriptors.
  if (static_cast<int>(getpid()) != rt().pid) return;
  Guard g;
  Runtime& r = rt();
  r.report_lock.lock();
  open_log();
  // Kept across an exec of this process (setpriv, su, a jail that execs a compiler): the new
  // image, as the new user, finds it by its name (inherited_log) where it may not create it.
  if (r.log_fd >= 0 && !r.log_spooled) ::fcntl(r.log_fd, F_SETFD, 0);
  r.report_lock.unlock();
}

// Acquisitions the fast path took without the engine, and its lookups of the pair cache, all
// threads.
static std::pair<uint64_t, uint64_t> fast_acquisitions() {
  Runtime& r = rt();
  r.lock.lock();
  uint64_t n = r.fast_acquisitions_done, pairs = r.pair_lookups_done;
  for (ThreadState* t = r.threads; t; t = t->next) {
    n += t->fast_acquisitions;
    pairs += t->pair_lookups;
  }
  r.lock.unlock();
  return {n, pairs};
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
    ro.full_stacks = rt().opts.full_stacks;
    ro.source_root = rt().opts.source_root;
    std::string text = render_report(rt().opts.format, fs, meta, ro);
    rt().report_lock.lock();
    if (rt().opts.format != "text") write_document(text);
    else write_all(log_fd(), text);
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

// The run's record of followed processes (LOCKHOUND_RUN_LOG): each other process adds its line at
// its end; the process `lockhound run` started reads them at its end, so that a problem found in
// a child (a script's command) decides the run's exit status too.
void record_followed(size_t problems, size_t failing, uint64_t acquisitions) {
  Runtime& r = rt();
  if (r.run_log.empty() || !quiet_child()) return;
  int fd = ::open(r.run_log.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;  // gone (the run ended) or out of reach after a change of user
  write_all(fd, std::to_string(getpid()) + " " + std::to_string(problems) + " " + std::to_string(acquisitions) + " " +
                    (r.log_spooled ? "1 " : "0 ") + std::to_string(failing) + " " + base_name(r.program) + "\n");
  ::close(fd);
}

struct Followed {
  size_t processes = 0, with_problems = 0, failing = 0;  // failing: with findings fail_on names
  uint64_t acquisitions = 0;
  std::string problem_pids;
  size_t spooled = 0;    // reports written to the spool, out of reach of PREFIX.PID
  size_t unmoved = 0;    // … of which this process could not move to PREFIX.PID either
};

// A report from the spool to PREFIX.PID, where this process may write (the program before
// its change of user, or one that never changed it). False: it stays in the spool.
bool move_spooled(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return true;
  if (errno != EXDEV) return false;
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return false;
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = out >= 0;
  char buf[65536];
  for (ssize_t n; ok && (n = ::read(in, buf, sizeof buf)) > 0;) {
    ssize_t w = ::write(out, buf, size_t(n));
    ok = w == n;
  }
  ::close(in);
  if (out >= 0) ::close(out);
  if (ok) ::unlink(from.c_str());
  return ok;
}

Followed read_followed() {
  Runtime& r = rt();
  Followed f;
  if (r.run_log.empty() || quiet_child()) return f;
  int fd = ::open(r.run_log.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return f;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  ::close(fd);
  // Emptied where it cannot be removed (this process changed user too: the spool stays).
  if (::unlink(r.run_log.c_str()) != 0) ::truncate(r.run_log.c_str(), 0);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) break;
    unsigned long long pid = 0, problems = 0, acq = 0;
    int spooled = 0;
    unsigned long long failing = 0;
    char prog[256] = "";
    if (std::sscanf(text.c_str() + pos, "%llu %llu %llu %d %llu %255s", &pid, &problems, &acq, &spooled, &failing,
                    prog) >= 5) {
      f.processes++;
      if (failing) f.failing++;
      f.acquisitions += acq;
      if (problems) {
        f.with_problems++;
        f.problem_pids += (f.problem_pids.empty() ? "" : ", ") + std::to_string(pid) + " (" + prog + ")";
      }
      if (spooled) {
        f.spooled++;
        std::string name = base_name(r.opts.log_path) + "." + std::to_string(pid);
        if (!move_spooled(r.run_dir + "/" + name, log_file_name(static_cast<int>(pid)))) f.unmoved++;
      }
    }
    pos = end + 1;
  }
  return f;
}

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
    record_run(fs);
    r.report_lock.lock();
    r.finished = true;
    size_t problems = 0, failing = 0;
    std::map<std::string, size_t> by_type;
    for (const auto& f : fs) {
      if (!counts(f)) continue;
      ++problems;
      if (fails(f)) ++failing;
      by_type[std::string(type_name(f.type))]++;
    }
    size_t threads = 0;
    for (ThreadState* t = r.threads; t; t = t->next) ++threads;
    Followed followed = read_followed();
    if (r.opts.format != "text") {
      auto fast = fast_acquisitions();
      ReportMeta meta;
      meta.command = "run";
      meta.inputs = {r.program};
      meta.stats = {{"pid", static_cast<uint64_t>(r.pid)},
                    {"locks", r.lock_lifetimes.load()},
                    {"live_locks", st.instances},
                    {"classes", st.classes},
                    {"unnamed_classes", st.unnamed_classes},
                    {"edges", st.edges},
                    {"chains", st.chains},
                    {"acquisitions", st.acquisitions},
                    {"fast_acquisitions", fast.first},
                    {"pair_cache_lookups", fast.second},
                    {"contexts", st.contexts},
                    {"stacks_unwound", r.stack_unwinds},
                    {"stacks_from_memo", r.stack_memo_hits},
                    {"suppressed", r.suppressed.size()}};
      if (followed.processes) {
        meta.stats.emplace_back("followed_processes", followed.processes);
        meta.stats.emplace_back("followed_with_problems", followed.with_problems);
        meta.stats.emplace_back("followed_acquisitions", followed.acquisitions);
        meta.stats.emplace_back("followed_reports_out_of_reach", followed.unmoved);
      }
      meta.sections.push_back(Section{"process", "", {{"finished", true}, {"pid", r.pid}}});
      if (followed.unmoved)
        meta.sections.push_back(Section{"spool", "", {{"directory", r.run_dir}, {"reports", followed.unmoved}}});
      RenderOptions ro;
      ro.show_guarded = r.opts.show_guarded;
      ro.full_stacks = r.opts.full_stacks;
      ro.source_root = r.opts.source_root;
      write_document(render_report(r.opts.format, fs, meta, ro));
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
        // What decides the exit status, when it is not everything found.
        if (failing < problems)
          line += ", " + std::to_string(problems - failing) + " not failing the run (fail_on=" + r.opts.fail_on + ")";
      }
      if (!r.suppressed.empty()) line += ", " + std::to_string(r.suppressed.size()) + " suppressed";
      auto count = [](uint64_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
      };
      if (followed.processes)
        line += "; " + std::to_string(followed.processes) + (followed.processes == 1 ? " process" : " processes") +
                " it started (" + count(followed.acquisitions, "acquisition", "acquisitions") + ")" +
                (followed.with_problems ? ", " + std::to_string(followed.with_problems) + " with problems: pid " +
                                              followed.problem_pids
                                        : std::string(", no problems"));
      if (followed.unmoved)
        line += "; " + count(followed.unmoved, "report", "reports") + " of processes that changed user in " + r.run_dir;
      line += "\n==" + std::to_string(r.pid) + "== lockhound: " + count(r.lock_lifetimes.load(), "lock", "locks") +
              ", " + count(st.classes, "class", "classes") + ", " + count(st.edges, "edge", "edges") + ", " +
              count(st.chains, "chain", "chains") + ", " + count(st.acquisitions, "acquisition", "acquisitions") +
              ", " + count(st.contexts, "thread", "threads") + "\n";
      if (r.opts.verbosity >= 2)
        line += "==" + std::to_string(r.pid) + "== lockhound: engine: " +
                count(st.graph_searches, "graph search", "graph searches") + ", order respaced " +
                count(st.renumbers, "time", "times") +
                (st.renumbers ? " (" + count(st.respaced_classes, "class", "classes") + " moved)" : "") + ", about " +
                std::to_string(st.memory_bytes >> 20) + " MiB (" +
                std::to_string(st.classes ? st.class_bytes / st.classes : 0) + " bytes per class, " +
                std::to_string(st.edges ? st.edge_bytes / st.edges : 0) + " per edge), " +
                count(st.unnamed_classes, "class", "classes") + " never named (no report needed them); " +
                count(r.stack_unwinds, "stack", "stacks") + " unwound, " + std::to_string(r.stack_memo_hits) +
                " known without unwinding (the threads' stack memos)\n";
      write_all(log_fd(), line);
    }
    if (r.log_fd >= 0 && (r.log_written || r.log_spooled)) ::fsync(r.log_fd);
    remove_unused_log();
    // Counted in the run's record once its report is complete (spooled or not).
    record_followed(problems, failing, st.acquisitions);
    if (!quiet_child() && !r.run_dir.empty()) {
      // The run ends here: its spool goes unless reports are left in it that this process could
      // not put in place (it changed user too). Then, and only then, one line says where they are.
      size_t left = followed.unmoved + (r.log_spooled ? 1 : 0);
      if (left == 0) ::rmdir(r.run_dir.c_str());
      else if (r.log_spooled || r.opts.format != "text")
        write_all(start_stderr(), "==" + std::to_string(r.pid) + "== lockhound: " + std::to_string(left) +
                                      (left == 1 ? " report" : " reports") + " could not be written as " +
                                      r.opts.log_path + ".PID after a change of user; " +
                                      (left == 1 ? "it is" : "they are") + " in " + r.run_dir + "\n");
    }
    bool found = failing > 0 || followed.failing > 0;
    r.final_status = found && r.opts.exitcode ? r.opts.exitcode : status;
    r.report_lock.unlock();
    return r.final_status;
  } catch (...) {
    return status;
  }
}

}  // namespace lockhound::runtime
