// lockhound attach: diagnoses a hung process that was not started under lockhound.
//
// Stops every thread with ptrace (PtraceSession), unwinds and symbolizes every stack with libdw
// (ProcessSymbols), finds the threads blocked on pthread mutexes, rwlocks and condition variables,
// reads each mutex's owner from glibc's lock word, builds the wait-for graph (core WaitForGraph)
// and reports every actual deadlock cycle (`actual_deadlock`, every involved thread's stack) and
// mutexes whose owner thread has exited (`still_has_locks_held`); without a cycle, the report's
// summary says who waits for whom. Then detaches, leaving the process as it was.
//
// How a blocked thread is recognised: a thread stopped inside the futex system call
// (orig_rax == SYS_futex on x86-64) has the futex address in rdi. The innermost pthread function
// on its stack says what the futex belongs to (mutex: the futex is &__lock, the mutex's start;
// rwlock: one of its futex words; condvar: a __g_signals word; pthread_join: the joined thread's
// tid word, so the joiner waits for that thread, which can close a cycle too). Without libc symbols, a FUTEX_WAIT
// on value 2 or a FUTEX_LOCK_PI is taken to be a mutex (glibc's lll_lock protocol).
// glibc layout assumed (x86-64, glibc 2.34–2.3x): pthread_mutex_t {int __lock; unsigned __count;
// int __owner; unsigned __nusers; int __kind; …}; pthread_rwlock_t: __cur_writer at offset 24.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.h"

#include "core/finding.h"


namespace lockhound::attach {

enum class WaitKind { mutex, rwlock_read, rwlock_write, condvar, join, futex };
std::string_view wait_kind_name(WaitKind k);  // "mutex", "rwlock (read)", …

struct LockWait {
  WaitKind kind = WaitKind::futex;
  uint64_t lock = 0;            // the lock object's address (mutex/rwlock/condvar start)
  uint64_t futex = 0;           // the futex word the thread sleeps on
  uint32_t futex_value = 0;     // the value it sleeps while the word holds (join: the tid)
  std::string name;             // "lock_a" (static symbol), "g.locks+40", or "mutex 0x5581…"
  bool named_by_symbol = false;
  std::vector<pid_t> owners;    // known owner threads (a write-locked rwlock, a mutex)
  std::string owner_note;       // "owner thread 123 has exited", "held by 2 readers", …
  size_t call_frame = 0;        // index in the stack of the frame that asked for the lock
};

struct ThreadReport {
  pid_t tid = 0;
  std::string name;             // /proc/PID/task/TID/comm
  std::string syscall;          // "futex(0x5581…, FUTEX_WAIT_PRIVATE, 2)" when in one
  Stack stack;
  std::string unwind_error;
  std::optional<LockWait> wait;
};

struct AttachOptions {
  size_t max_frames = 128;
};

struct AttachReport {
  pid_t pid = 0;
  std::string command;
  bool attached = false;
  std::string error;            // why it could not attach (nothing else is then filled in)
  std::vector<ThreadReport> threads;
  std::vector<Finding> findings;
  std::vector<std::string> notes;
};

AttachReport attach_and_diagnose(pid_t pid, const AttachOptions& options = {});

// What a stopped thread is blocked on, from its stack and the futex call in its registers.
// `futex_call` = {uaddr, op (without the private/clock flags), val} when the thread is stopped in
// futex(2). Exposed for tests; no I/O.
struct FutexCall {
  uint64_t uaddr = 0;
  int op = -1;
  uint32_t val = 0;
};
std::optional<LockWait> classify_wait(const Stack& stack, const std::optional<FutexCall>& futex);

// The informational part: every thread, what it waits for, and the stacks of blocked threads.
std::string render_threads_text(const AttachReport& report);
nlohmann::json threads_json(const AttachReport& report);
// Both as the report's "process" section.
Section process_section(const AttachReport& report);

}  // namespace lockhound::attach
