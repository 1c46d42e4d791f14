#include "attach/ptrace_session.h"

#include <dirent.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace lockhound::attach {

namespace {

std::vector<pid_t> list_tasks(pid_t pid) {
  std::vector<pid_t> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end && *end == 0 && v > 0) out.push_back(static_cast<pid_t>(v));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string status_field(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return {};
}

}  // namespace

std::string ptrace_scope_hint() {
  std::ifstream f("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  if (!(f >> scope)) return {};
  std::string what;
  switch (scope) {
    case 0: what = "classic: any process of the same user"; break;
    case 1: what = "restricted: only descendants, unless the target allows it; run as root or "
                   "with CAP_SYS_PTRACE, or `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`";
      break;
    case 2: what = "admin-only: needs CAP_SYS_PTRACE (run as root)"; break;
    case 3: what = "no attach: ptrace is disabled until reboot"; break;
    default: what = "unknown"; break;
  }
  return "/proc/sys/kernel/yama/ptrace_scope is " + std::to_string(scope) + " (" + what + ")";
}

bool PtraceSession::attach(pid_t pid, std::string& error) {
  detach();
  pid_ = pid;
  if (::kill(pid, 0) != 0 && errno == ESRCH) {
    error = "no process " + std::to_string(pid);
    return false;
  }
  std::set<pid_t> seen;
  for (int round = 0; round < 100; ++round) {
    bool added = false;
    for (pid_t tid : list_tasks(pid)) {
      if (seen.count(tid)) continue;
      seen.insert(tid);
      if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
        int e = errno;
        if (e == ESRCH) continue;  // the thread ended meanwhile
        std::string tracer = status_field(pid, "TracerPid");
        error = "cannot attach to " + std::string(tid == pid ? "process " : "thread ") +
                std::to_string(tid) + ": " + std::strerror(e);
        if (e == EPERM) {
          if (!tracer.empty() && tracer != "0")
            error += "; it is already traced by pid " + tracer + " (a debugger or strace?)";
          std::string hint = ptrace_scope_hint();
          error += hint.empty() ? "; attaching needs the same user as the target, or root / "
                                  "CAP_SYS_PTRACE"
                                : "; " + hint;
        }
        detach();
        pid_ = -1;
        return false;
      }
      threads_.push_back(tid);
      added = true;
      if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) continue;
      for (;;) {
        int status = 0;
        pid_t w = ::waitpid(tid, &status, __WALL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
          threads_.pop_back();  // gone
          break;
        }
        if (WIFSTOPPED(status)) {
          int sig = WSTOPSIG(status);
          bool event_stop = (status >> 16) == PTRACE_EVENT_STOP;
          // A signal-delivery stop came first: the thread is stopped all the same; give the
          // signal back at detach so the process sees it as if we had never been there.
          if (!event_stop && sig != SIGTRAP) pending_signal_[tid] = sig;
          break;
        }
      }
    }
    if (!added) break;
  }
  std::sort(threads_.begin(), threads_.end());
  if (threads_.empty()) {
    error = "process " + std::to_string(pid) + " has no threads left to attach to";
    pid_ = -1;
    return false;
  }
  return true;
}

void PtraceSession::detach() {
  for (pid_t tid : threads_) {
    auto it = pending_signal_.find(tid);
    long sig = it == pending_signal_.end() ? 0 : it->second;
    ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(sig));
  }
  threads_.clear();
  pending_signal_.clear();
}

bool PtraceSession::registers(pid_t tid, user_regs_struct& regs) const {
  return ::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0;
}

bool PtraceSession::read_memory(uint64_t address, void* out, size_t size) const {
  if (pid_ <= 0 || size == 0) return false;
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(size)) return true;
  // Fallback through ptrace, a word at a time (process_vm_readv can be filtered by seccomp).
  if (threads_.empty()) return false;
  auto* dst = static_cast<unsigned char*>(out);
  for (size_t off = 0; off < size; off += sizeof(long)) {
    errno = 0;
    long word = ::ptrace(PTRACE_PEEKDATA, threads_.front(),
                         reinterpret_cast<void*>(address + off), nullptr);
    if (errno != 0) return false;
    std::memcpy(dst + off, &word, std::min(sizeof(long), size - off));
  }
  return true;
}

}  // namespace lockhound::attach
