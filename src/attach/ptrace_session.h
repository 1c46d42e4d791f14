// PtraceSession: stops every thread of a running process with ptrace, lets the caller read
// registers and memory, and detaches leaving the process as it was.
//
// Threads are seized (PTRACE_SEIZE, no options) and stopped with PTRACE_INTERRUPT, so nothing
// is injected into the process: no SIGSTOP, no changed signal dispositions. A thread blocked in a
// system call (futex) is interrupted and the kernel restarts the call when the thread resumes
// after PTRACE_DETACH. A signal that arrived while stopping is remembered and re-delivered at
// detach. A process that was already stopped (SIGSTOP) stays stopped. Threads created while
// attaching are picked up by re-reading /proc/PID/task until it is stable.
//
// Not thread-safe: one session per thread of the caller, and every ptrace call must come from the
// thread that attached (a kernel rule).
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lockhound::attach {

class PtraceSession {
 public:
  PtraceSession() = default;
  PtraceSession(const PtraceSession&) = delete;
  PtraceSession& operator=(const PtraceSession&) = delete;
  ~PtraceSession() { detach(); }

  // Stops every thread of `pid`. On failure detaches what it attached and explains in `error`
  // (permission problems name /proc/sys/kernel/yama/ptrace_scope and an existing tracer).
  bool attach(pid_t pid, std::string& error);
  // Resumes every thread (idempotent).
  void detach();

  pid_t pid() const { return pid_; }
  const std::vector<pid_t>& threads() const { return threads_; }
  bool registers(pid_t tid, user_regs_struct& regs) const;
  // Reads target memory; false when the range is not mapped or not readable.
  bool read_memory(uint64_t address, void* out, size_t size) const;

 private:
  pid_t pid_ = -1;
  std::vector<pid_t> threads_;
  std::map<pid_t, int> pending_signal_;  // signal to re-deliver at detach
};

// "…/yama/ptrace_scope is 1 (…)" or "" when Yama is absent; for error messages.
std::string ptrace_scope_hint();

}  // namespace lockhound::attach
