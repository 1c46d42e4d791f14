#include "attach/attach.h"

#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "attach/process_symbols.h"
#include "attach/ptrace_session.h"
#include "core/facts.h"
#include "core/sites.h"
#include "core/voice.h"
#include "core/waitfor.h"
#include "report/report.h"

namespace lockhound::attach {

namespace {

constexpr int kFutexWait = 0, kFutexLockPi = 6, kFutexWaitBitset = 9, kFutexLockPi2 = 13;
constexpr uint32_t kFutexTidMask = 0x3fffffff;
constexpr int kMutexRobust = 16, kMutexPrioInherit = 32;  // glibc PTHREAD_MUTEX_*_NP flags in __kind

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

bool is_libc_frame(const Frame& f) {
  return contains(f.object, "libc.so") || contains(f.object, "libpthread") ||
         f.function.rfind("__pthread", 0) == 0 || f.function.rfind("pthread_", 0) == 0 ||
         f.function.rfind("__lll", 0) == 0 || f.function.rfind("___pthread", 0) == 0 ||
         f.function.rfind("__futex", 0) == 0 || f.function.rfind("futex_", 0) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

std::string op_name(int op_full) {
  int op = op_full & 127;
  std::string n;
  switch (op) {
    case kFutexWait: n = "FUTEX_WAIT"; break;
    case kFutexLockPi: n = "FUTEX_LOCK_PI"; break;
    case kFutexWaitBitset: n = "FUTEX_WAIT_BITSET"; break;
    case kFutexLockPi2: n = "FUTEX_LOCK_PI2"; break;
    default: n = "op " + std::to_string(op); break;
  }
  if (op_full & 128) n += "_PRIVATE";
  return n;
}

}  // namespace

std::string_view wait_kind_name(WaitKind k) {
  switch (k) {
    case WaitKind::mutex: return "mutex";
    case WaitKind::rwlock_read: return "rwlock (read)";
    case WaitKind::rwlock_write: return "rwlock (write)";
    case WaitKind::condvar: return "condition variable";
    case WaitKind::join: return "thread exit";
    case WaitKind::futex: return "futex";
  }
  return "futex";
}

std::optional<LockWait> classify_wait(const Stack& stack, const std::optional<FutexCall>& futex) {
  if (!futex) return std::nullopt;
  std::optional<WaitKind> kind;
  size_t at = 0;
  bool internal = false;
  for (size_t i = 0; i < stack.size() && !kind; ++i) {
    const std::string& fn = stack[i].function;
    if (contains(fn, "lll_lock_wait_private")) {
      kind = WaitKind::futex;
      internal = true;
    } else if (contains(fn, "rwlock_wrlock") || contains(fn, "rwlock_timedwrlock") ||
               contains(fn, "rwlock_clockwrlock")) {
      kind = WaitKind::rwlock_write;
    } else if (contains(fn, "rwlock_rdlock") || contains(fn, "rwlock_timedrdlock") ||
               contains(fn, "rwlock_clockrdlock")) {
      kind = WaitKind::rwlock_read;
    } else if (contains(fn, "pthread_join") || contains(fn, "pthread_clockjoin") ||
               contains(fn, "pthread_timedjoin") || contains(fn, "pthread_tryjoin")) {
      kind = WaitKind::join;
    } else if (contains(fn, "cond_wait") || contains(fn, "cond_timedwait") ||
               contains(fn, "cond_clockwait")) {
      kind = WaitKind::condvar;
    } else if (contains(fn, "lll_lock_wait") || contains(fn, "mutex_lock") ||
               contains(fn, "mutex_timedlock") || contains(fn, "mutex_clocklock") ||
               contains(fn, "lll_robust") || contains(fn, "lll_clocklock")) {
      kind = WaitKind::mutex;
    }
    if (kind) at = i;
  }
  int op = futex->op & 127;
  if (!kind) {
    // No libc symbols: glibc's lock protocol still shows in the call (a contended lll_lock waits
    // for the value 2; PI mutexes use FUTEX_LOCK_PI).
    if ((op == kFutexWait && futex->val == 2) || op == kFutexLockPi || op == kFutexLockPi2)
      kind = WaitKind::mutex;
    else if (op == kFutexWait || op == kFutexWaitBitset)
      kind = WaitKind::futex;
    else
      return std::nullopt;
  }
  LockWait w;
  w.kind = *kind;
  w.futex = futex->uaddr;
  w.futex_value = futex->val;
  w.lock = futex->uaddr;
  if (internal) w.owner_note = "a lock internal to glibc (stdio, malloc, dynamic loader …)";
  // The frame that asked for the lock: the first one outside libc below the lock function.
  w.call_frame = at;
  for (size_t j = at; j < stack.size(); ++j)
    if (!is_libc_frame(stack[j])) {
      w.call_frame = j;
      break;
    }
  return w;
}

namespace {

struct MutexWord {
  int32_t lock;
  uint32_t count;
  int32_t owner;
  uint32_t nusers;
  int32_t kind;
};
static_assert(sizeof(MutexWord) == 20);

struct RwlockWords {  // glibc __pthread_rwlock_arch_t, x86-64
  uint32_t readers, writers, wrphase_futex, writers_futex, pad3, pad4;
  int32_t cur_writer, shared;
  int8_t rwelision;
  uint8_t pad1[7];
  uint64_t pad2;
  uint32_t flags;
};
static_assert(offsetof(RwlockWords, cur_writer) == 24);
static_assert(offsetof(RwlockWords, flags) == 48);

}  // namespace

AttachReport attach_and_diagnose(pid_t pid, const AttachOptions& options) {
  AttachReport rep;
  rep.pid = pid;
  std::string proc = "/proc/" + std::to_string(pid);
  rep.command = read_text(proc + "/comm");
  PtraceSession session;
  if (!session.attach(pid, rep.error)) return rep;
  rep.attached = true;

  ProcessSymbols syms;
  std::string serr;
  bool have_syms = syms.open(pid, serr);
  if (!have_syms) rep.notes.push_back("no stacks: " + serr);

  std::set<pid_t> tids(session.threads().begin(), session.threads().end());
  for (pid_t tid : session.threads()) {
    ThreadReport t;
    t.tid = tid;
    t.name = read_text(proc + "/task/" + std::to_string(tid) + "/comm");
    if (have_syms) t.stack = syms.unwind(tid, &t.unwind_error, options.max_frames);
    std::optional<FutexCall> fc;
#if defined(__x86_64__)
    user_regs_struct regs;
    if (session.registers(tid, regs) && static_cast<long>(regs.orig_rax) == SYS_futex) {
      fc = FutexCall{regs.rdi, static_cast<int>(regs.rsi & ~uint64_t{256}),
                     static_cast<uint32_t>(regs.rdx)};
      t.syscall = "futex(" + hex(regs.rdi) + ", " + op_name(static_cast<int>(regs.rsi & 255)) +
                  ", " + std::to_string(static_cast<uint32_t>(regs.rdx)) + ")";
    }
#endif
    t.wait = classify_wait(t.stack, fc);
    if (t.wait) {
      LockWait& w = *t.wait;
      auto name_at = [&](uint64_t addr, const char* what) {
        if (have_syms)
          if (auto ds = syms.data_symbol(addr)) {
            w.named_by_symbol = ds->offset == 0;
            return ds->offset == 0 ? ds->name : ds->name + "+" + std::to_string(ds->offset);
          }
        return std::string(what) + " " + hex(addr);
      };
      switch (w.kind) {
        case WaitKind::mutex: {
          w.name = name_at(w.lock, "mutex");
          MutexWord m{};
          if (session.read_memory(w.lock, &m, sizeof m)) {
            uint32_t owner = (m.kind & (kMutexRobust | kMutexPrioInherit))
                                 ? static_cast<uint32_t>(m.lock) & kFutexTidMask
                                 : static_cast<uint32_t>(m.owner);
            if (owner == 0) {
              w.owner_note = "owner not recorded in the lock word (lock " + hex(uint32_t(m.lock)) + ")";
            } else if (tids.count(static_cast<pid_t>(owner))) {
              w.owners.push_back(static_cast<pid_t>(owner));
            } else if (std::filesystem::exists("/proc/" + std::to_string(owner))) {
              w.owners.push_back(static_cast<pid_t>(owner));
              w.owner_note = "owner tid " + std::to_string(owner) + " is outside this process "
                             "(a process-shared mutex)";
            } else {
              w.owners.push_back(static_cast<pid_t>(owner));
              w.owner_note = "owner thread " + std::to_string(owner) + " has exited";
            }
          } else {
            w.owner_note = "cannot read the mutex at " + hex(w.lock);
          }
          break;
        }
        case WaitKind::rwlock_read:
        case WaitKind::rwlock_write: {
          // The futex is one of the rwlock's words (__writers_futex at 12, __wrphase_futex at 8,
          // __readers at 0): find the start by symbol, else by the words that make sense.
          uint64_t best = 0;
          int best_score = -1;
          for (uint64_t off : {12u, 8u, 0u}) {
            if (w.futex < off) continue;
            uint64_t base = w.futex - off;
            int score = 0;
            if (have_syms)
              if (auto ds = syms.data_symbol(base); ds && ds->offset == 0) score += 10;
            RwlockWords r{};
            if (!session.read_memory(base, &r, sizeof r)) continue;
            if (r.flags <= 2) score += 2;
            if (r.shared == 0 || r.shared == 1) score += 1;
            if (r.cur_writer == 0 || tids.count(r.cur_writer)) score += 2;
            if (score > best_score) {
              best_score = score;
              best = base;
            }
          }
          if (best_score >= 0) {
            w.lock = best;
            RwlockWords r{};
            session.read_memory(best, &r, sizeof r);
            if (r.cur_writer > 0) w.owners.push_back(r.cur_writer);
            uint32_t readers = r.readers >> 3;  // PTHREAD_RWLOCK_READER_SHIFT
            if (readers)
              w.owner_note = "held for reading by " + std::to_string(readers) +
                             " reader(s); glibc does not record which threads";
          }
          w.name = name_at(w.lock, "rwlock");
          break;
        }
        case WaitKind::condvar: {
          if (have_syms)
            if (auto ds = syms.data_symbol(w.futex)) {
              w.lock = w.futex - ds->offset;
              w.name = ds->name;
              w.named_by_symbol = true;
            }
          if (w.name.empty()) w.name = "condition variable near " + hex(w.futex);
          w.owner_note = "waits for a signal or broadcast (a condition variable has no owner)";
          break;
        }
        case WaitKind::join: {
          // glibc's pthread_join sleeps on the joined thread's tid word until the kernel clears
          // it at that thread's exit: the value it waits on is the tid.
          pid_t joined = static_cast<pid_t>(w.futex_value);
          w.name = "exit of thread " + std::to_string(joined);
          if (joined > 0) w.owners.push_back(joined);
          break;
        }
        case WaitKind::futex:
          w.name = name_at(w.lock, "futex");
          break;
      }
    }
    rep.threads.push_back(std::move(t));
  }
  session.detach();  // the rest works on copies

  // The wait-for graph of threads and locks.
  std::map<pid_t, const ThreadReport*> by_tid;
  for (const auto& t : rep.threads) by_tid[t.tid] = &t;
  auto label = [&](pid_t tid) {
    auto it = by_tid.find(tid);
    std::string n = it == by_tid.end() ? std::string() : it->second->name;
    return "thread " + std::to_string(tid) + (n.empty() ? "" : " (" + n + ")");
  };
  WaitForGraph g;
  std::map<uint64_t, const LockWait*> locks;
  std::map<pid_t, std::vector<const LockWait*>> owned;
  for (const auto& t : rep.threads) {
    g.add_party(static_cast<uint64_t>(t.tid), label(t.tid));
    if (!t.wait) continue;
    const LockWait& w = *t.wait;
    g.add_resource(w.lock, w.name);
    g.add_wait(static_cast<uint64_t>(t.tid), w.lock);
    if (!locks.count(w.lock)) {
      locks[w.lock] = &w;
      for (pid_t o : w.owners) {
        g.add_owner(w.lock, static_cast<uint64_t>(o));
        if (w.kind != WaitKind::join) owned[o].push_back(&w);  // a thread "owns" its own exit
      }
    }
  }
  auto held_of = [&](pid_t tid) {
    std::vector<HeldLock> held;
    for (const LockWait* w : owned[tid]) {
      HeldLock h;
      h.name = w->name;
      h.address = hex(w->lock);
      h.mode = w->kind == WaitKind::rwlock_write || w->kind == WaitKind::rwlock_read ? "write" : "";
      held.push_back(std::move(h));
    }
    return held;
  };


  for (const auto& cyc : g.cycles()) {
    std::vector<WaitStep> steps;
    for (const auto& st : cyc) {
      pid_t tid = static_cast<pid_t>(st.party);
      const ThreadReport& t = *by_tid[tid];
      const LockWait& w = *t.wait;
      WaitStep ws;
      ws.join = w.kind == WaitKind::join;
      ws.resource = w.name;
      ws.party.name = label(tid);
      ws.party.pid = tid;
      ws.party.state = "blocked in " + std::string(wait_kind_name(w.kind)) + " wait" +
                       (t.syscall.empty() ? "" : ": " + t.syscall);
      ws.party.held = held_of(tid);
      ws.party.stack = t.stack;
      steps.push_back(std::move(ws));
    }
    // Where each held lock was taken is not recoverable from a stopped process: no chain; the
    // participants (held, waits for, stack) carry the cycle.
    Finding f = wait_cycle_finding(FindingType::actual_deadlock, std::move(steps), "attach");
    f.chain.clear();
    fact::set(f, fact::kPid, std::to_string(pid) + (rep.command.empty() ? "" : " (" + rep.command + ")"));
    fact::set(f, "owners", "read from glibc's lock words (pthread_mutex_t.__owner, pthread_rwlock_t.__cur_writer)");
    f.location = "pid " + std::to_string(pid);
    complete_finding(f);
    rep.findings.push_back(std::move(f));
  }

  // A mutex whose owner thread has exited can never be unlocked: its waiters hang forever.
  for (const auto& [addr, w] : locks) {
    if (w->owner_note.find("has exited") == std::string::npos) continue;
    Finding f;
    f.type = FindingType::still_has_locks_held;
    f.source = "attach";
    f.classes = {w->name};
    for (const auto& t : rep.threads)
      if (t.wait && t.wait->lock == addr) {
        Participant p;
        p.name = t.name;
        p.pid = t.tid;
        p.state = "blocked in mutex wait";
        p.waits_for = w->name + " (" + hex(addr) + ")";
        p.stack = t.stack;
        f.participants.push_back(std::move(p));
      }
    fact::set(f, fact::kOwner, "thread " + std::to_string(w->owners.front()));
    f.location = "pid " + std::to_string(pid);
    complete_finding(f);
    rep.findings.push_back(std::move(f));
  }
  return rep;
}

std::string render_threads_text(const AttachReport& r) {
  std::string out;
  size_t blocked = 0, joining = 0;
  for (const auto& t : r.threads)
    if (t.wait) (t.wait->kind == WaitKind::join ? joining : blocked)++;
  out += "Process " + std::to_string(r.pid) + (r.command.empty() ? "" : " (" + r.command + ")") +
         ": " + std::to_string(r.threads.size()) + " thread" + (r.threads.size() == 1 ? "" : "s") +
         ", " + std::to_string(blocked) + " blocked on locks" +
         (joining ? ", " + std::to_string(joining) + " in pthread_join" : "") + "\n";
  std::map<pid_t, std::string> names;
  for (const auto& t : r.threads) names[t.tid] = t.name;
  auto who = [&](pid_t tid) {
    auto it = names.find(tid);
    return "thread " + std::to_string(tid) +
           (it == names.end() || it->second.empty() ? "" : " (" + it->second + ")");
  };
  for (const auto& t : r.threads) {
    out += "  " + who(t.tid) + ": ";
    if (t.wait) {
      const LockWait& w = *t.wait;
      out += "waits for " + (w.kind == WaitKind::join ? w.name
                                                        : std::string(wait_kind_name(w.kind)) + " " + w.name);
      if (!w.owners.empty() && w.kind != WaitKind::join) {
        out += ", owned by ";
        for (size_t k = 0; k < w.owners.size(); ++k) out += (k ? ", " : "") + who(w.owners[k]);
      }
      if (!w.owner_note.empty()) out += " (" + w.owner_note + ")";
      out += "\n";
      for (size_t i = 0; i < t.stack.size(); ++i)
        out += "      #" + std::to_string(i) + " " + describe_frame(t.stack[i]) + "\n";
    } else {
      std::string top = t.stack.empty() ? std::string("?") : describe_frame(t.stack.front());
      out += (t.syscall.empty() ? "running or in a system call" : t.syscall) + ", at " + top + "\n";
    }
    if (!t.unwind_error.empty()) out += "      (unwinding stopped: " + t.unwind_error + ")\n";
  }
  for (const auto& n : r.notes) out += "note: " + n + "\n";
  return out;
}

nlohmann::json threads_json(const AttachReport& r) {
  using nlohmann::json;
  json threads = json::array();
  for (const auto& t : r.threads) {
    json st = json::array();
    for (const auto& f : t.stack)
      st.push_back({{"pc", hex(f.pc)}, {"function", f.function}, {"offset", f.offset},
                    {"file", f.file}, {"line", f.line}, {"object", f.object}});
    json j = {{"tid", t.tid}, {"name", t.name}, {"syscall", t.syscall}, {"stack", st}};
    if (t.wait) {
      j["waits_for"] = {{"kind", std::string(wait_kind_name(t.wait->kind))},
                        {"lock", t.wait->name},
                        {"address", hex(t.wait->lock)},
                        {"futex", hex(t.wait->futex)},
                        {"owners", t.wait->owners},
                        {"note", t.wait->owner_note}};
    }
    threads.push_back(std::move(j));
  }
  return {{"pid", r.pid}, {"command", r.command}, {"threads", threads}, {"notes", r.notes}};
}

Section process_section(const AttachReport& report) {
  return Section{"process", render_threads_text(report), threads_json(report)};
}

}  // namespace lockhound::attach
