// The watchdog's findings: hangs that really happen. A thread blocked past the threshold is checked
// for a wait-for cycle (locks, and joins of threads that wait for the joiner's locks); a fork child
// waiting for a lock its parent's other thread held; a spinlock spun on for too long.
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

ThreadState* registry_find_owner(uint64_t lock, const ThreadState* waiter) {
  for (ThreadState* t = rt().threads; t; t = t->next) {
    size_t n = 0;
    for (const auto& h : t->held) n += h.lock == lock;
    if (t == waiter) n -= n > 0;  // the waiter's own entry for it is the pending one
    if (n) return t;
  }
  return nullptr;
}

std::string lock_label(uint64_t lock) {
  Runtime& r = rt();
  auto it = r.locks.find(lock);
  std::string name = it != r.locks.end() ? std::string(r.v->class_name(it->second.cls)) : "?";
  return name + " (" + hex(lock) + ")";
}

std::string lock_class_name(uint64_t lock) {
  Runtime& r = rt();
  auto it = r.locks.find(lock);
  return it != r.locks.end() ? std::string(r.v->class_name(it->second.cls)) : hex(lock);
}

std::vector<HeldLock> held_of(const ThreadState* t) {
  std::vector<HeldLock> out;
  uint64_t w = t->waiting_on.load(std::memory_order_relaxed);
  size_t pending = t->held.size();
  if (w)
    for (size_t i = t->held.size(); i > 0; --i)
      if (t->held[i - 1].lock == w) {
        pending = i - 1;
        break;
      }
  for (size_t i = 0; i < t->held.size(); ++i) {
    if (i == pending || t->held[i].hole()) continue;
    const auto& h = t->held[i];
    HeldLock hl;
    hl.name = lock_class_name(h.lock);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRIx64, h.lock);
    hl.address = buf;
    hl.mode = h.mode() == Mode::write ? "write" : h.mode() == Mode::read ? "read" : "recursive-read";
    hl.site.pc = h.site_ip();
    out.push_back(std::move(hl));
  }
  return out;
}

// A stack a thread captured of itself, without lockhound's own frames on top (the interposer),
// at most stack_depth frames.
Stack program_stack(const uint64_t* pcs, size_t n) {
  Runtime& r = rt();
  Stack s;
  size_t first = 0;
  while (first < n && pcs[first] - 1 >= r.self_lo && pcs[first] - 1 < r.self_hi) ++first;
  for (size_t i = first; i < n && s.size() < static_cast<size_t>(r.opts.stack_depth); ++i) {
    Frame f;
    f.pc = pcs[i];
    s.push_back(std::move(f));
  }
  return s;
}

// Whether the runtime's own check (watchdog, fork) has already reported the problem it knows
// by `key` (its own dedup key: which threads, which lock instance).
bool own_seen(const std::string& key) {
  Runtime& r = rt();
  r.report_lock.lock();
  bool seen = r.own_keys.contains(key);
  r.report_lock.unlock();
  return seen;
}

std::string short_name(const ThreadState* t) { return t->name.substr(0, t->name.find(" (tid ")); }

// The registered thread whose handle is `handle`, if any.
ThreadState* thread_by_handle(uint64_t handle) {
  for (ThreadState* t = rt().threads; t; t = t->next)
    if (static_cast<uint64_t>(t->handle) == handle) return t;
  return nullptr;
}

Participant participant_of(const ThreadState* t, const char* state) {
  Participant p;
  p.name = short_name(t);  // the renderer adds the tid
  p.pid = t->tid;
  p.state = state;
  uint64_t w = t->waiting_on.load(std::memory_order_relaxed);
  if (w) p.waits_for = lock_label(w);
  p.held = held_of(t);
  if (t->stalled) p.stack = program_stack(t->stall_pcs, t->stall_depth);
  if (t->joining && !w) {
    ThreadState* j = thread_by_handle(t->joining);
    p.waits_for = "the end of " + (j ? j->name : std::string("a thread")) + " (pthread_join)";
    p.stack = program_stack(t->join_pcs, t->join_depth);
  }
  return p;
}


void own_finding(Finding&& f, const std::string& key) {
  // Called under the internal lock: queue like the engine's findings, keep a copy for the end.
  Runtime& r = rt();
  f.source = "run";
  complete_finding(f);
  r.pending.push_back(f);
  r.has_pending.store(true, std::memory_order_release);
  r.report_lock.lock();
  r.own_keys.insert(key);
  r.own_findings.push_back(std::move(f));
  r.report_lock.unlock();
}

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void begin_join(ThreadState* ts, pthread_t thread) {
  Guard g;  // a signal handler's locks pass through while this thread holds the runtime's lock
  uint64_t pcs[32];
  size_t n = symbolize::capture_stack(pcs, 32, 1);  // from the interposer's caller
  Runtime& r = rt();
  r.lock.lock();
  std::copy(pcs, pcs + n, ts->join_pcs);
  ts->join_depth = n;
  ts->joining = static_cast<uint64_t>(thread);
  r.lock.unlock();
}

void end_join(ThreadState* ts) {
  Guard g;
  Runtime& r = rt();
  r.lock.lock();
  ts->joining = 0;
  r.lock.unlock();
}

void on_orphan_wait(ThreadState* ts, uint64_t lock, int owner_tid, uint64_t ip) {
  if (owner_tid == 0) return;  // a reader, or not known: never guessed from addresses alone
  try {
    Guard g;
    Runtime& r = rt();
    r.lock.lock();
    ThreadState* holder = nullptr;
    for (ThreadState* t = r.orphans; t && !holder; t = t->next)
      if (t->tid == owner_tid)
        for (const auto& h : t->held)
          if (h.lock == lock) holder = t;
    r.lock.unlock();
    if (!holder) return;
    std::string sig = "actual_deadlock|fork|" + hex(lock);
    if (own_seen(sig)) return;
    ts->stall_depth = symbolize::capture_stack(ts->stall_pcs, 64);
    ts->wait_ip = ip;
    {
      Engine e(ts);
      ts->stalled = true;  // for participant_of: the stack just captured is where it waits
      std::string cls = lock_class_name(lock);
      Finding f;
      f.type = FindingType::actual_deadlock;
      f.classes = {cls};
      uint64_t was_waiting = ts->waiting_on.exchange(lock, std::memory_order_relaxed);
      f.participants.push_back(participant_of(ts, "blocked"));  // its entry for `lock` is not held
      ts->waiting_on.store(was_waiting, std::memory_order_relaxed);
      f.participants.front().waits_for = cls;
      f.participants.push_back(participant_of(holder, "not copied by fork()"));
      fact::set(f, fact::kForkHolder, short_name(holder) + " (tid " + std::to_string(holder->tid) + ") of the parent process");
      ts->stalled = false;
      own_finding(std::move(f), sig);
    }
    if (rt().opts.watchdog_abort) {
      finish(rt().opts.exitcode);
      abort();
    }
  } catch (...) {
    stop("internal error in the watchdog");
  }
}

void on_stall(ThreadState* ts, uint64_t lock, bool spin, uint64_t ip) {
  bool found_deadlock = false;
  try {
    Guard g;
    ts->stall_depth = symbolize::capture_stack(ts->stall_pcs, 64);
    {
      Engine e(ts);
      Runtime& r = rt();
      ts->stalled = true;
      ts->wait_ip = ip;
      if (spin) {
        ThreadState* owner = registry_find_owner(lock, ts);
        ThreadState* orphan = nullptr;  // a holder fork() did not copy (spinlocks keep no owner)
        for (ThreadState* t = owner ? nullptr : r.orphans; t && !orphan; t = t->next)
          for (const auto& h : t->held)
            if (h.lock == lock) orphan = t;
        Finding f;
        f.type = FindingType::spinlock_lockup_suspected;
        f.classes = {lock_class_name(lock)};
        f.participants.push_back(participant_of(ts, "spinning"));
        if (owner && owner != ts) f.participants.push_back(participant_of(owner, owner->stalled ? "blocked" : "running"));
        if (orphan) f.participants.push_back(participant_of(orphan, "not copied by fork()"));
        fact::set(f, fact::kThresholdMs, std::to_string(r.opts.spin_ms));
        std::string key = "spinlock_lockup_suspected|" + lock_label(lock);
        if (!own_seen(key)) own_finding(std::move(f), key);
      }
      // Threads that wait for each other, blocked or spinning: an actual deadlock.
      {
        WaitForGraph g2;
        for (ThreadState* t = r.threads; t; t = t->next) {
          g2.add_party(t->id, t->name);
          uint64_t w = t->waiting_on.load(std::memory_order_relaxed);
          if (w) {
            g2.add_resource(w, lock_label(w));
            g2.add_wait(t->id, w);
          }
          // The entry for the lock being waited for is pushed before the wait (the engine
          // validates before blocking): it is not owned yet.
          size_t pending = t->held.size();
          if (w)
            for (size_t i = t->held.size(); i > 0; --i)
              if (t->held[i - 1].lock == w) {
                pending = i - 1;
                break;
              }
          for (size_t i = 0; i < t->held.size(); ++i) {
            if (i == pending || t->held[i].hole()) continue;
            const auto& h = t->held[i];
            g2.add_resource(h.lock, lock_label(h.lock));
            g2.add_owner(h.lock, t->id);
          }
          // A joiner waits for the joined thread's end, a resource only that thread "holds"
          // (odd ids: lock addresses are even).
          if (ThreadState* j = t->joining && !w ? thread_by_handle(t->joining) : nullptr) {
            uint64_t end = j->id << 1 | 1;
            g2.add_resource(end, "the end of " + short_name(j));
            g2.add_wait(t->id, end);
            g2.add_owner(end, j->id);
          }
        }
        for (const auto& cycle : g2.cycles()) {
          bool all_stalled = true, mine = false;
          std::vector<ThreadState*> members;
          for (const auto& step : cycle) {
            ThreadState* t = nullptr;
            for (ThreadState* x = r.threads; x; x = x->next)
              if (x->id == step.party) t = x;
            if (!t || !(t->stalled || (t->joining && step.resource & 1))) all_stalled = false;
            if (t == ts) mine = true;
            members.push_back(t);
          }
          if (!all_stalled || !mine) continue;
          std::vector<WaitStep> steps;
          std::string key = "actual_deadlock";
          for (size_t i = 0; i < cycle.size(); ++i) {
            const auto& step = cycle[i];
            WaitStep ws;
            ws.join = step.resource & 1;  // odd: a thread's end (see above)
            ws.party = participant_of(members[i], ws.join ? "joining" : "blocked");
            ws.resource = ws.join ? std::string() : lock_class_name(step.resource);
            key += "|" + std::to_string(step.party) + (ws.join ? ":join" : ":" + hex(step.resource));
            steps.push_back(std::move(ws));
          }
          Finding f = wait_cycle_finding(FindingType::actual_deadlock, std::move(steps), "run");
          fact::set(f, fact::kThresholdMs, std::to_string(r.opts.watchdog_ms));
          if (!own_seen(key)) {
            own_finding(std::move(f), key);
            found_deadlock = true;
          }
        }
      }
    }
    if (found_deadlock && rt().opts.watchdog_abort) {
      finish(rt().opts.exitcode);
      abort();
    }
  } catch (...) {
    stop("internal error in the watchdog");
  }
}

}  // namespace lockhound::runtime
