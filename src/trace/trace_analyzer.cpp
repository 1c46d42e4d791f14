#include "trace/trace_analyzer.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <array>
#include <deque>
#include <set>
#include <string>
#include <utility>

#include "core/sites.h"
#include "core/voice.h"
#include "trace/line_reader.h"
#include "trace/lockdep_classes.h"

namespace lockhound::trace {
namespace {

// What the front end knows about one class beyond what the engine keeps.
struct ClassInfo {
  std::string name;
  uint32_t index = 0;         // position in TraceAnalyzer::Impl::class_list
  ClassId id = kNoClass;
  LockKind kind = LockKind::other;
  bool check = true;          // false: lockdep does not validate it (check=0 maps)
  Mode read_mode = Mode::recursive_read;  // how a "read" acquisition of it counts
};

// An acquisition of a class seen for the first time, held back until the task's next event:
// a contention_begin right after it tells what kind of lock it is (a class's kind is fixed when
// the engine first sees it).
struct PendingAcquire {
  uint64_t addr = 0;
  std::string name;
  bool read = false;
  IrqInfo irq;
  uint64_t line = 0;
  std::vector<Frame> frames;
};

// One lock the task holds, as the front end tracks it (the engine keeps its own stack; this
// one decides nesting subclasses and skips releases of locks taken before the trace began).
struct HeldShadow {
  uint64_t addr;
  ClassId cls;
  uint8_t subclass;
  bool exclusive;
};

struct TaskState {
  Context ctx = nullptr;
  std::vector<HeldShadow> held;
  // The last exclusive locks this task released. Releasing one of them again, without taking it
  // in between, is a provable double unlock: an exclusive lock cannot also have been held since
  // before the trace began (taking it again in the trace would have been recursive locking).
  std::array<uint64_t, 16> released{};
  uint8_t released_next = 0;
  uint64_t key = 0;
  std::string name;           // "comm/pid", as lockdep prints tasks
  int irq_bits = -1;          // the last interrupt state given to the engine
  bool has_pending = false;
  PendingAcquire pending;
};

// absl's string_view is its own type in Debian's build: convert for heterogeneous lookups.
absl::string_view av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool looks_kernel_pointer(uint64_t a) { return (a >> 48) == 0xffff || (a >> 56) == 0xff; }

// Which kind of lock a contention_begin's flags prove (LCB_F_*, kernel/locking/*.c in 6.1).
LockKind kind_from_contention(uint32_t f) {
  if (f & kContentionMutex) return LockKind::mutex;          // __mutex_lock_common
  if (f & kContentionRt) return LockKind::mutex;             // rt_mutex: sleeps
  if (f & kContentionPercpu) return LockKind::rw_semaphore;  // percpu_rw_semaphore
  bool rw = f & (kContentionRead | kContentionWrite);
  if (f & kContentionSpin) return rw ? LockKind::rwlock : LockKind::spinlock;  // qrwlock / qspinlock
  if (rw) return LockKind::rw_semaphore;                     // rwsem_down_*_slowpath
  return LockKind::other;                                    // semaphores pass 0: no proof
}

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }
bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// Read-side classes lockdep takes as non-recursive readers (read=1): rw_semaphores and
// percpu rw_semaphores. Named from the well-known kernel spellings; anything else that is read
// counts as a recursive reader, the choice that cannot invent a cycle.
bool name_is_rwsem(std::string_view n) {
  return contains(n, "rwsem") || contains(n, "mmap_lock") || contains(n, "mmap_sem") ||
         ends_with(n, "_sem") || contains(n, "i_mutex_key") || contains(n, "i_mutex_dir_key") ||
         contains(n, "s_umount") || n == "sb_writers" || n == "cpu_hotplug_lock" ||
         contains(n, "->i_rwsem");
}

}  // namespace

struct TraceAnalyzer::Impl {
  TraceOptions options;
  Validator validator;
  TraceParser parser;
  TraceStats stats;
  std::vector<Diagnostic> diagnostics;

  std::deque<ClassInfo> class_list;                       // stable addresses
  absl::flat_hash_map<std::string, uint32_t> class_index;  // name -> class_list index
  // Lock address -> the class last seen there; also the fast path of the name lookup (an
  // address seen before with the same name needs no string hashing).
  absl::flat_hash_map<uint64_t, uint32_t> instance_class;
  absl::flat_hash_map<uint64_t, std::unique_ptr<TaskState>> tasks;
  TaskState* last_task = nullptr;
  bool mutexes_announce_themselves = false;  // a contention_begin with MUTEX was seen

  // The event held back until its callchain (perf -g) is complete.
  std::string bufs[2];
  ParsedLine parsed[2];
  int held_idx = 0;
  uint64_t held_line_no = 0;
  bool have_held = false;
  std::vector<Frame> held_frames;
  size_t held_frame_count = 0;  // frames in use (held_frames is reused, not shrunk)
  bool skipping_frames = false; // frames after a malformed line belong to nothing
  bool ftrace_seen = false;     // an event with irq-info columns: no callchains will follow

  // Evidence for the engine's capture_stack hook: the event being dispatched.
  const TraceEvent* cur_event = nullptr;
  const TaskState* cur_task = nullptr;
  uint64_t cur_line = 0;
  std::string_view cur_name;
  const std::vector<Frame>* cur_frames = nullptr;
  size_t cur_frame_count = 0;

  uint64_t line_no = 0;
  std::set<ClassId> assumed_nesting, confirmed_nesting;  // classes counted in the stats

  static ValidatorOptions make_options(const TraceOptions& o) {
    ValidatorOptions vo;
    // The front end decides which releases of unheld locks are real: it passes the engine only
    // provable double unlocks and drops releases of locks taken before the trace began.
    vo.report_unknown_release = true;
    vo.report_guarded_cycles = o.report_guarded_cycles;
    vo.source = "trace";
    return vo;
  }

  explicit Impl(TraceOptions o)
      : options(std::move(o)),
        validator(make_options(options),
                  ValidatorHooks{[this](Context, uint64_t, uint64_t ip) { return capture(ip); }, {}, {}, {}}) {}

  StackId capture(uint64_t ip) {
    if (cur_frames && cur_frame_count > 0 && ip == cur_line)
      return validator.intern_stack(std::span<const Frame>(cur_frames->data(), cur_frame_count));
    Frame f;
    if (ip == cur_line) {
      f.function = cur_event && cur_event->type == EventType::lock_release ? "release " : "acquire ";
      f.function += cur_name;
    } else {
      f.function = "trace event";
    }
    f.file = options.input_name;
    f.line = unsigned(ip);
    return validator.intern_stack(std::span<const Frame>(&f, 1));
  }

  void diag(uint64_t line, std::string message, bool error = true) {
    if (diagnostics.size() < options.max_diagnostics) {
      diagnostics.push_back(Diagnostic{options.input_name, size_t(line), std::move(message), error});
    } else if (diagnostics.size() == options.max_diagnostics) {
      diagnostics.push_back(Diagnostic{options.input_name, 0,
                                       "further malformed lines are counted but not listed", false});
    }
  }

  TaskState& task_for(const TraceEvent& ev) {
    // Each CPU's idle task is pid 0; they are different tasks.
    uint64_t key = ev.pid > 0 ? uint64_t(ev.pid)
                              : (uint64_t(1) << 62) | uint64_t(ev.cpu < 0 ? 0 : ev.cpu);
    if (last_task && last_task->key == key) return *last_task;
    auto& slot = tasks[key];
    if (!slot) {
      slot = std::make_unique<TaskState>();
      slot->key = key;
      if (ev.pid == 0) {
        slot->name = "swapper/" + std::to_string(ev.cpu < 0 ? 0 : ev.cpu) + "/0";
      } else {
        slot->name = ev.comm.empty() ? std::string("?") : std::string(ev.comm);
        slot->name += '/';
        slot->name += std::to_string(ev.pid);
      }
      slot->ctx = validator.context(key, slot->name);
      ++stats.tasks;
    }
    last_task = slot.get();
    return *slot;
  }

  ClassInfo* find_class(uint64_t addr, std::string_view name) {
    auto ii = instance_class.find(addr);
    if (ii != instance_class.end() && class_list[ii->second].name == name) return &class_list[ii->second];
    auto it = class_index.find(av(name));
    return it == class_index.end() ? nullptr : &class_list[it->second];
  }

  ClassInfo& class_for(std::string_view name, LockKind proven) {
    auto it = class_index.find(av(name));
    if (it != class_index.end()) {
      ClassInfo& known = class_list[it->second];
      // A class first met without proof of its kind is upgraded when the proof comes later
      // (a mutex whose first contention shows only after some acquisitions).
      if (known.kind == LockKind::other && known.check && proven != LockKind::other) {
        known.kind = proven;
        ++stats.kinds_proven;
        validator.set_class_kind(known.id, proven);
        if (proven == LockKind::rw_semaphore || proven == LockKind::rwlock) known.read_mode = Mode::read;
      }
      return known;
    }
    ClassInfo info;
    WaitType wait = WaitType::none;
    if (name == "rcu_read_lock" || name == "rcu_read_lock_bh" || name == "rcu_read_lock_sched") {
      // rcu_lock_acquire(): read=2, check=0; lockdep's inner wait type is "spinning"
      // (LD_WAIT_CONFIG), so sleeping inside an RCU read-side section is caught.
      info.kind = LockKind::rcu;
      wait = WaitType::spin;
      info.check = false;
    } else if (name == "rcu_callback" || name == "rcu_read_lock_trace" ||
               name == "&dev->mutex") {
      info.check = false;  // rcu_lock_acquire() maps and the no-validate class
    } else if (proven != LockKind::other) {
      info.kind = proven;
      ++stats.kinds_proven;
    }
    if (info.kind == LockKind::rw_semaphore || info.kind == LockKind::rwlock ||
        (info.kind == LockKind::other && name_is_rwsem(name)))
      info.read_mode = Mode::read;
    info.id = validator.lock_class(name, info.kind, wait);
    info.name.assign(name);
    info.index = uint32_t(class_list.size());
    ++stats.classes;
    class_index.emplace(info.name, info.index);
    class_list.push_back(std::move(info));
    return class_list.back();
  }

  void apply_irq(TaskState& t, const IrqInfo& irq) {
    bool hard = irq.known && irq.hardirq;
    bool soft = irq.known && irq.softirq;
    // Without irq-info columns nothing is known: no interrupt context, interrupts "enabled"
    // (so no interrupt usage can conflict and no wait-context check sees atomic context).
    bool hard_on = !irq.known || !irq.irqs_off;
    bool soft_on = !irq.known || (irq.bh_known && !irq.bh_off && !irq.softirq && !irq.hardirq);
    int bits = int(hard) | int(soft) << 1 | int(hard_on) << 2 | int(soft_on) << 3;
    if (bits == t.irq_bits) return;
    t.irq_bits = bits;
    validator.set_irq_state(t.ctx, hard, soft, hard_on, soft_on);
  }

  void do_acquire(TaskState& t, uint64_t addr, std::string_view name, ClassInfo& cls,
                  bool read, bool trylock, const IrqInfo& irq, uint64_t line,
                  const std::vector<Frame>* frames, size_t frame_count, const TraceEvent* ev) {
    apply_irq(t, irq);
    auto [it, inserted] = instance_class.try_emplace(addr, cls.index);
    if (inserted || it->second != cls.index) {
      // A new lock at this address, or its memory now holds a lock of another class (a
      // lockdep_map copied to the stack, freed and reused memory): a new lifetime.
      it->second = cls.index;
      validator.lock_init(addr, cls.id);
    }
    AcquireFlags flags;
    if (read) {
      flags.mode = cls.read_mode;
      // rwlock_t readers are recursive in interrupt context (read_lock_is_recursive()).
      if (cls.kind == LockKind::rwlock && irq.known && (irq.hardirq || irq.softirq))
        flags.mode = Mode::recursive_read;
    }
    flags.trylock = trylock;
    flags.check = cls.check;
    // The trace does not carry lockdep's subclass. Another instance of the same class already
    // held means a _nested() annotation (mmap_write_lock_nested, spin_lock_nested on page-table
    // and dentry locks): without one lockdep would have reported it and stopped. So the n-th
    // nested instance gets subclass n, and only re-taking the same instance is recursion.
    unsigned same_class = 0;
    bool same_instance = false;
    for (const HeldShadow& h : t.held) {
      if (h.cls != cls.id) continue;
      if (h.addr == addr) {
        same_instance = true;
        flags.subclass = h.subclass;
        break;
      }
      ++same_class;
    }
    const LockdepClasses* lc = options.lockdep;
    if (!same_instance && same_class > 0 && same_class < 8 && lc && lc->knows(name) && !lc->nests(name)) {
      // The class list names this class and no subclass of it: no _nested() annotation ever
      // ran for it on this boot, so this is the recursive locking lockdep reports (subclass 0).
      ++stats.nested_unannotated;
    } else if (!same_instance && same_class > 0) {
      flags.subclass = uint8_t(same_class < 7 ? same_class : 7);
      if (same_class >= 8) flags.check = false;  // beyond lockdep's 8 subclasses: a nest_lock user
      bool confirmed = lc && lc->nests(name);
      if ((confirmed ? confirmed_nesting : assumed_nesting).insert(cls.id).second)
        ++(confirmed ? stats.nested_confirmed : stats.nested_assumed);
    }
    t.held.push_back(HeldShadow{addr, cls.id, flags.subclass, flags.mode == Mode::write});
    cur_task = &t;
    cur_event = ev;
    cur_line = line;
    cur_name = name;
    cur_frames = frames;
    cur_frame_count = frame_count;
    validator.acquire(t.ctx, addr, flags, Site{line, kNoStack});
    cur_frames = nullptr;
    cur_event = nullptr;
  }

  // A lock_acquire followed directly by this task's lock_acquired of the same lock (the
  // LOCK_CONTENDED() pattern of spinlocks, rwlocks and rwsems) with preemption disabled at the
  // acquisition: spin_lock()/read_lock()/write_lock() disable preemption before lock_acquire,
  // down_read()/down_write() do not, and mutexes announce themselves with contention_begin
  // (MUTEX) first. ftrace's preempt-depth column counts the tracepoint's own level too (6.1:
  // a lock taken with nothing else held shows 2 for a spinlock, 1 for an rwsem), so a depth of
  // at least 2 is required; kernels that do not count the tracepoint prove fewer spinlocks,
  // never more. Only trusted when the trace shows that mutexes emit contention events at all,
  // and never for the first acquisition of a read lock or in an unknown irq state.
  LockKind spin_proof(const PendingAcquire& p) const {
    if (!mutexes_announce_themselves || !p.irq.known || p.irq.preempt_depth < 2) return LockKind::other;
    return p.read ? LockKind::rwlock : LockKind::spinlock;
  }

  void flush_pending(TaskState& t, LockKind proven) {
    if (!t.has_pending) return;
    t.has_pending = false;
    PendingAcquire& p = t.pending;
    ClassInfo& cls = class_for(p.name, proven);
    do_acquire(t, p.addr, p.name, cls, p.read, false, p.irq, p.line, &p.frames, p.frames.size(),
               nullptr);
  }

  void dispatch(const TraceEvent& ev, uint64_t line, const std::vector<Frame>* frames,
                size_t frame_count) {
    ++stats.events;
    switch (ev.type) {
      case EventType::lock_acquire: ++stats.acquires; break;
      case EventType::lock_release: ++stats.releases; break;
      case EventType::lock_contended: ++stats.contended; break;
      case EventType::lock_acquired: ++stats.acquired; break;
      case EventType::contention_begin: ++stats.contention_begin; break;
      case EventType::contention_end: ++stats.contention_end; break;
      case EventType::other: ++stats.other_events; return;
    }
    if (ev.irq.nmi) {  // lockdep does not track locks taken in NMI context
      ++stats.nmi_skipped;
      return;
    }
    if (ev.type == EventType::contention_begin && (ev.contention_flags & kContentionMutex))
      mutexes_announce_themselves = true;
    TaskState& t = task_for(ev);
    if (t.has_pending) {
      const PendingAcquire& p = t.pending;
      bool same_context = ev.irq.known == p.irq.known && ev.irq.hardirq == p.irq.hardirq &&
                          ev.irq.softirq == p.irq.softirq;
      if (ev.type == EventType::lock_contended && ev.addr == p.addr) return;  // spin/rwsem slow path next
      if (ev.type == EventType::contention_begin && same_context) {
        // The lock's own address precedes its lockdep_map inside the same object.
        bool plausible = !(looks_kernel_pointer(ev.addr) && looks_kernel_pointer(p.addr)) ||
                         (p.addr >= ev.addr && p.addr - ev.addr < 4096);
        flush_pending(t, plausible ? kind_from_contention(ev.contention_flags) : LockKind::other);
        return;
      }
      if (ev.type == EventType::lock_acquired && ev.addr == p.addr && same_context) {
        flush_pending(t, spin_proof(p));
        return;
      }
      // An interrupt taken between the acquisition and its contention / acquired event runs in
      // another irq context: lockdep adds no dependency across contexts, so the held-back
      // acquisition may wait for the interrupt to end. Anything else ends the wait.
      if (same_context) flush_pending(t, LockKind::other);
    }
    switch (ev.type) {
      case EventType::lock_acquire: {
        ClassInfo* known = find_class(ev.addr, ev.name);
        if (!known && !ev.trylock && !t.has_pending) {  // one held-back acquisition per task
          t.has_pending = true;
          PendingAcquire& p = t.pending;
          p.addr = ev.addr;
          p.name.assign(ev.name);
          p.read = ev.read;
          p.irq = ev.irq;
          p.line = line;
          p.frames.assign(frames ? frames->begin() : std::vector<Frame>::const_iterator{},
                          frames ? frames->begin() + ptrdiff_t(frame_count)
                                 : std::vector<Frame>::const_iterator{});
          return;
        }
        ClassInfo& cls = known ? *known : class_for(ev.name, LockKind::other);
        do_acquire(t, ev.addr, ev.name, cls, ev.read, ev.trylock, ev.irq, line, frames,
                   frame_count, &ev);
        return;
      }
      case EventType::lock_release: {
        // Out-of-order releases are fine; a lock the trace never saw taken was taken before it
        // began and is ignored.
        auto it = std::find_if(t.held.rbegin(), t.held.rend(),
                               [&](const HeldShadow& h) { return h.addr == ev.addr; });
        if (it == t.held.rend()) {
          bool double_unlock = ev.addr != 0 && std::find(t.released.begin(), t.released.end(),
                                                         ev.addr) != t.released.end();
          if (!double_unlock) {
            ++stats.unmatched_releases;
            return;
          }
          ++stats.double_unlocks;  // the engine reports it: bad_unlock_balance
        } else {
          if (it->exclusive) {
            t.released[t.released_next] = ev.addr;
            t.released_next = uint8_t((t.released_next + 1) % t.released.size());
          }
          t.held.erase(std::next(it).base());
        }
        apply_irq(t, ev.irq);
        cur_task = &t;
        cur_event = &ev;
        cur_line = line;
        cur_name = ev.name;
        validator.release(t.ctx, ev.addr, Site{line, kNoStack});
        cur_event = nullptr;
        return;
      }
      default:
        return;  // contention and lock_stat events carry no held-state change
    }
  }

  void flush_held() {
    if (!have_held) return;
    have_held = false;
    dispatch(parsed[held_idx].event, held_line_no, &held_frames, held_frame_count);
  }

  void feed_line(std::string_view line) {
    ++line_no;
    ++stats.lines;
    // Two line buffers: the event held back (its callchain may follow) and the line being read.
    // ftrace text (events with irq-info columns) never has callchains: once it is seen, events
    // are dispatched at once, straight from the reader's buffer.
    int nb = held_idx ^ 1;
    ParsedLine& p = parsed[nb];
    if (!have_held && ftrace_seen) {
      parser.parse(line, p);
      if (p.kind == LineKind::event && p.event.irq.known) {
        skipping_frames = false;
        dispatch(p.event, line_no, nullptr, 0);
        return;
      }
      bufs[nb].assign(line);  // not ftrace after all: parse the kept copy
    } else {
      bufs[nb].assign(line);
    }
    parser.parse(bufs[nb], p);
    if (p.kind == LineKind::event && p.event.irq.known) ftrace_seen = true;
    if (p.kind == LineKind::frame) {
      ++stats.callchain_frames;
      if (!have_held || skipping_frames) return;
      if (held_frames.size() <= held_frame_count) held_frames.emplace_back();
      Frame& f = held_frames[held_frame_count++];
      f.pc = p.frame.pc;
      f.function.assign(p.frame.function);
      f.offset.assign(p.frame.offset);
      f.object.assign(p.frame.object);
      return;
    }
    flush_held();
    skipping_frames = false;
    if (p.kind == LineKind::event && p.event.irq.known) {  // ftrace: nothing to wait for
      dispatch(p.event, line_no, nullptr, 0);
      return;
    }
    if (p.kind == LineKind::event) {
      held_idx = nb;
      have_held = true;
      held_line_no = line_no;
      held_frame_count = 0;
      return;
    }
    handle_non_event(p);
  }

  void handle_non_event(const ParsedLine& p) {
    switch (p.kind) {
      case LineKind::malformed:
        ++stats.malformed;
        skipping_frames = true;
        diag(line_no, std::string(p.error));
        return;
      default:
        return;
    }
  }

  void finish() {
    flush_held();
    for (auto& [key, t] : tasks) flush_pending(*t, LockKind::other);
  }

  // Frames the engine made from a bare Site (pc = input line) get the input position.
  void fix_frame(Frame& f, std::string_view lock) const {
    if (f.function.empty() && f.file.empty() && f.pc != 0) {
      f.file = options.input_name;
      f.line = unsigned(f.pc);
      f.function = lock.empty() ? std::string("trace event") : "acquire " + std::string(lock);
      f.pc = 0;
    }
  }
  void fix_acq(Acquisition& a) const {
    for (auto& f : a.stack) fix_frame(f, a.lock);
    for (auto& h : a.held) fix_frame(h.site, h.name);
  }
  // Where the problem showed: the latest trace line among its evidence (the acquisition that
  // closed the cycle, the second conflicting usage).
  static std::string detection_position(const Finding& f, const std::string& input) {
    unsigned best = 0;
    auto scan = [&](const Stack& s) {
      for (const auto& fr : s)
        if (fr.file == input && fr.line > best) best = fr.line;
    };
    for (const auto& e : f.chain) scan(e.to_site.stack);
    for (const auto& a : f.acquisitions) scan(a.stack);
    return best ? input + ":" + std::to_string(best) : std::string();
  }

  std::vector<Finding> findings() const {
    std::vector<Finding> out = validator.findings();
    for (auto& f : out) {
      for (auto& e : f.chain) {
        fix_acq(e.from_site);
        fix_acq(e.to_site);
      }
      for (auto& a : f.acquisitions) fix_acq(a);
      for (auto& p : f.participants) {
        for (auto& fr : p.stack) fix_frame(fr, "");
        for (auto& h : p.held) fix_frame(h.site, h.name);
      }
      if (f.location.empty()) f.location = detection_position(f, options.input_name);
      if (f.source.empty()) f.source = "trace";
      // The engine worded it when the evidence still had bare line numbers: word it again with
      // the trace positions.
      complete_finding(f);
    }
    return out;
  }
};

TraceAnalyzer::TraceAnalyzer(TraceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
TraceAnalyzer::~TraceAnalyzer() = default;

void TraceAnalyzer::feed_line(std::string_view line) { impl_->feed_line(line); }
void TraceAnalyzer::finish() { impl_->finish(); }
std::vector<Finding> TraceAnalyzer::findings() const { return impl_->findings(); }
const std::vector<Diagnostic>& TraceAnalyzer::diagnostics() const { return impl_->diagnostics; }
uint64_t TraceAnalyzer::malformed_lines() const { return impl_->stats.malformed; }
TraceStats TraceAnalyzer::stats() const { return impl_->stats; }
const Validator& TraceAnalyzer::validator() const { return impl_->validator; }

bool analyze_fd(int fd, TraceAnalyzer& analyzer, std::string& error,
                void (*progress)(uint64_t bytes, void* arg), void* progress_arg) {
  LineReader reader(fd);
  std::string_view line;
  uint64_t n = 0;
  while (reader.next(line)) {
    analyzer.feed_line(line);
    if (progress && (++n & 0x3ffff) == 0) progress(reader.bytes_consumed(), progress_arg);
  }
  if (progress) progress(reader.bytes_consumed(), progress_arg);
  analyzer.finish();
  if (!reader.error().empty()) {
    error = reader.error();
    return false;
  }
  return true;
}

void analyze_text(std::string_view text, TraceAnalyzer& analyzer) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    analyzer.feed_line(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  analyzer.finish();
}

}  // namespace lockhound::trace
