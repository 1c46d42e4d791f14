#include "sys/live.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "sys/text_util.h"

namespace lockhound::sys {

namespace {

// Reads a whole (proc) file. On failure returns false with errno's text in `why`.
bool slurp(const std::string& path, std::string& out, std::string* why = nullptr) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (why) *why = std::strerror(errno);
    return false;
  }
  out.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (why) *why = std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

std::string lowercase(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::vector<int64_t> numeric_entries(const std::string& dir) {
  std::vector<int64_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    auto v = text::to_int<int64_t>(e->d_name);
    if (v) out.push_back(*v);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_comm(const std::string& root, int64_t pid) {
  std::string s;
  if (!slurp(root + "/" + std::to_string(pid) + "/comm", s)) return {};
  return std::string(text::trim(s));
}

// "(comm) S ..." -> 'S'; the command may hold spaces and parentheses, so split at the last ')'.
char stat_state(const std::string& stat, std::string* comm = nullptr) {
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return 0;
  if (comm) *comm = stat.substr(open + 1, close - open - 1);
  return stat[close + 2];
}

std::string state_name(char c) {
  switch (c) {
    case 'R': return "R (running)";
    case 'S': return "S (sleeping)";
    case 'D': return "D (disk sleep)";
    case 'T': return "T (stopped)";
    case 't': return "t (tracing stop)";
    case 'Z': return "Z (zombie)";
    default: return std::string(1, c);
  }
}

}  // namespace

Stack parse_kernel_stack(std::string_view textv) {
  Stack st;
  text::for_each_line(textv, [&](size_t, std::string_view line) {
    line = text::trim(line);
    if (line.empty()) return;
    if (line.starts_with("[<")) {
      size_t c = line.find(">]");
      if (c == std::string_view::npos) return;
      line = text::trim(line.substr(c + 2));
    }
    Frame f;
    size_t plus = line.find('+');
    f.function = line.substr(0, plus);
    if (plus != std::string_view::npos) {
      std::string_view off = line.substr(plus);
      size_t sp = off.find(' ');  // "+0x60/0xa0 [module]"
      if (sp != std::string_view::npos) {
        std::string_view mod = text::trim(off.substr(sp));
        if (mod.size() > 2 && mod.front() == '[' && mod.back() == ']')
          f.object = mod.substr(1, mod.size() - 2);
        off = off.substr(0, sp);
      }
      f.offset = off;
    }
    st.push_back(std::move(f));
  });
  return st;
}

ProcessFacts gather_process_facts(const ProcLocks& pl, const LiveOptions& o,
                                  std::vector<std::string>& unreadable) {
  ProcessFacts facts;
  const std::string& root = o.proc_root;
  std::set<int64_t> pids;
  std::set<std::tuple<uint32_t, uint32_t, uint64_t>> files;
  bool ofd = false, ofd_waiter = false;
  for (const auto& l : pl.locks) {
    if (l.pid > 0) pids.insert(l.pid);
    if (l.has_inode) files.insert({l.major, l.minor, l.inode});
    if (l.pid <= 0) {
      ofd = true;
      ofd_waiter |= l.waiter();
    }
  }
  std::set<int64_t> waiters;
  for (const auto& l : pl.locks)
    if (l.waiter() && l.pid > 0) waiters.insert(l.pid);

  // Open files: which path a dev:inode is, and (for OFD locks) which process holds the lock.
  auto scan_fds = [&](int64_t pid, bool want_ofd) {
    std::string fddir = root + "/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(fddir.c_str());
    if (!d) {
      if (errno != ENOENT && pids.count(pid))
        unreadable.push_back("cannot read " + fddir + ": " + lowercase(std::strerror(errno)));
      return;
    }
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string fdpath = fddir + "/" + e->d_name;
      struct stat sb;
      if (::stat(fdpath.c_str(), &sb) != 0) continue;
      std::tuple<uint32_t, uint32_t, uint64_t> key{major(sb.st_dev), minor(sb.st_dev),
                                                   static_cast<uint64_t>(sb.st_ino)};
      if (!files.count(key)) continue;
      if (!facts.paths.count(key)) {
        char target[4096];
        ssize_t n = ::readlink(fdpath.c_str(), target, sizeof target - 1);
        if (n > 0) facts.paths[key] = std::string(target, static_cast<size_t>(n));
      }
      if (want_ofd) {
        // fdinfo lists the locks held through this open file: granted OFD locks name their
        // owner here, where /proc/locks prints pid -1.
        std::string info;
        if (!slurp(root + "/" + std::to_string(pid) + "/fdinfo/" + e->d_name, info)) continue;
        text::for_each_line(info, [&](size_t, std::string_view line) {
          if (!line.starts_with("lock:")) return;
          auto fl = parse_proc_locks_line(line, nullptr);
          if (!fl || fl->type != "OFDLCK") return;
          for (size_t i = 0; i < pl.locks.size(); ++i) {
            const auto& l = pl.locks[i];
            if (!l.waiter() && l.type == "OFDLCK" && l.pid <= 0 && l.major == fl->major &&
                l.minor == fl->minor && l.inode == fl->inode && l.start == fl->start &&
                l.end == fl->end && l.access == fl->access && !facts.entry_owner.count(i))
              facts.entry_owner[i] = pid;
          }
        });
      }
    }
    ::closedir(d);
  };

  std::vector<int64_t> all;
  if (ofd) all = numeric_entries(root);
  for (int64_t pid : pids) scan_fds(pid, ofd);
  if (ofd)
    for (int64_t pid : all)
      if (!pids.count(pid)) scan_fds(pid, true);

  // Blocked OFD requests show pid -1 too: find the thread sleeping in fcntl(fd, F_OFD_SETLKW)
  // on that file (/proc/PID/task/TID/syscall: "72 FD 0x26 …").
  if (ofd_waiter) {
    for (int64_t pid : all) {
      for (int64_t tid : numeric_entries(root + "/" + std::to_string(pid) + "/task")) {
        std::string sc;
        if (!slurp(root + "/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall",
                   sc))
          continue;
        auto tok = text::tokens(sc);
        if (tok.size() < 3 || tok[0] != "72") continue;
        auto fd = text::to_int<int64_t>(tok[1].substr(tok[1].starts_with("0x") ? 2 : 0), 16);
        auto cmd = text::to_int<int64_t>(tok[2].substr(tok[2].starts_with("0x") ? 2 : 0), 16);
        if (!fd || !cmd || *cmd != 38 /* F_OFD_SETLKW */) continue;
        struct stat sb;
        std::string fdpath = root + "/" + std::to_string(pid) + "/fd/" + std::to_string(*fd);
        if (::stat(fdpath.c_str(), &sb) != 0) continue;
        for (size_t i = 0; i < pl.locks.size(); ++i) {
          const auto& l = pl.locks[i];
          if (l.waiter() && l.pid <= 0 && l.major == major(sb.st_dev) &&
              l.minor == minor(sb.st_dev) && l.inode == sb.st_ino && !facts.entry_owner.count(i)) {
            facts.entry_owner[i] = pid;
            waiters.insert(pid);
            pids.insert(pid);
            break;
          }
        }
      }
    }
    for (const auto& [idx, pid] : facts.entry_owner) pids.insert(pid);
  }

  for (int64_t pid : pids) {
    std::string p = root + "/" + std::to_string(pid);
    facts.comm[pid] = read_comm(root, pid);
    std::string st;
    if (slurp(p + "/stat", st)) facts.state[pid] = state_name(stat_state(st));
    if (!waiters.count(pid)) continue;
    // The blocked thread: the one sleeping in flock (73) or fcntl (72); else the main thread.
    int64_t blocked = pid;
    for (int64_t tid : numeric_entries(p + "/task")) {
      std::string sc;
      if (slurp(p + "/task/" + std::to_string(tid) + "/syscall", sc) &&
          (sc.starts_with("73 ") || sc.starts_with("72 "))) {
        blocked = tid;
        break;
      }
    }
    std::string tp = p + "/task/" + std::to_string(blocked);
    std::string wchan;
    if (slurp(tp + "/wchan", wchan) && text::trim(wchan) != "0")
      facts.wchan[pid] = std::string(text::trim(wchan));
    if (o.kernel_stacks) {
      std::string stack, why;
      if (slurp(tp + "/stack", stack, &why))
        facts.kernel_stack[pid] = parse_kernel_stack(stack);
      else
        unreadable.push_back("cannot read " + tp + "/stack: " + lowercase(why));
    }
  }
  return facts;
}

void scan_dstate(const LiveOptions& o, SysReport& report) {
  report.have_tasks = true;
  const std::string& root = o.proc_root;
  for (int64_t pid : numeric_entries(root)) {
    std::string p = root + "/" + std::to_string(pid);
    for (int64_t tid : numeric_entries(p + "/task")) {
      std::string tp = p + "/task/" + std::to_string(tid);
      std::string st, comm;
      if (!slurp(tp + "/stat", st)) continue;  // the thread ended meanwhile
      ++report.tasks_scanned;
      if (stat_state(st, &comm) != 'D') continue;
      DStateTask t;
      t.pid = pid;
      t.tid = tid;
      t.comm = comm;
      std::string w;
      if (slurp(tp + "/wchan", w) && text::trim(w) != "0") t.wchan = text::trim(w);
      if (o.kernel_stacks) {
        std::string stack, why;
        if (slurp(tp + "/stack", stack, &why))
          t.stack = parse_kernel_stack(stack);
        else
          report.unreadable.push_back("cannot read " + tp + "/stack: " + lowercase(why));
      }
      report.dstate.push_back(std::move(t));
    }
  }
}

SysReport collect_live(const LiveOptions& o) {
  SysReport report;
  const std::string& root = o.proc_root;
  auto optional_file = [&](const std::string& name, const char* absent_note,
                           std::string& text) -> bool {
    std::string path = root + "/" + name, why;
    if (slurp(path, text, &why)) {
      report.inputs.push_back(path);
      return true;
    }
    if (errno == ENOENT) report.notes.push_back(absent_note);
    else report.unreadable.push_back("cannot read " + path + ": " + lowercase(why));
    return false;
  };
  std::string text;
  if (optional_file("locks", "no /proc/locks (kernel without CONFIG_FILE_LOCKING)", text)) {
    auto pl = parse_proc_locks(text, root + "/locks");
    report.diagnostics.insert(report.diagnostics.end(), pl.diagnostics.begin(),
                              pl.diagnostics.end());
    ProcessFacts facts = gather_process_facts(pl, o, report.unreadable);
    analyze_file_locks(pl, facts, "sys", root + "/locks", report);
  }
  if (o.dstate) scan_dstate(o, report);
  if (optional_file("lock_stat", "no /proc/lock_stat (kernel built without CONFIG_LOCK_STAT)",
                    text)) {
    auto ls = parse_lock_stat(text, root + "/lock_stat");
    report.diagnostics.insert(report.diagnostics.end(), ls.diagnostics.begin(),
                              ls.diagnostics.end());
    analyze_lock_stat(ls, o.top, report);
  }
  if (optional_file("lockdep", "no /proc/lockdep (kernel built without CONFIG_LOCKDEP)", text)) {
    auto d = parse_lockdep(text, root + "/lockdep");
    report.diagnostics.insert(report.diagnostics.end(), d.diagnostics.begin(),
                              d.diagnostics.end());
    analyze_lockdep(d, "sys", root + "/lockdep", report);
  }
  if (optional_file("lockdep_stats", "no /proc/lockdep_stats (kernel built without CONFIG_LOCKDEP)",
                    text)) {
    auto s = parse_lockdep_stats(text, root + "/lockdep_stats");
    report.diagnostics.insert(report.diagnostics.end(), s.diagnostics.begin(),
                              s.diagnostics.end());
    analyze_lockdep_stats(s, "sys", root + "/lockdep_stats", report);
  }
  return report;
}

}  // namespace lockhound::sys
