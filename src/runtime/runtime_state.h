// The runtime's state and the functions its rooms share (internal to src/runtime; interpose.cpp
// and api.cpp do not include it: they call the operations in operations.h).
//
// One Runtime object holds everything the runtime keeps beyond the threads' own state: the
// engine, the registry of threads, lock classes, output and report bookkeeping. Two locks guard
// it: `lock` (the engine, the registry, the class maps) and `report_lock` (the symbolizer, output
// and report bookkeeping); a function's comment says which it expects held.
#pragma once

#include <link.h>

#include <array>
#include <atomic>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "core/finding.h"
#include "core/table_memory.h"
#include "core/validator.h"
#include "runtime/options.h"
#include "runtime/operations.h"
#include "symbolize/symbolize.h"

namespace lockhound::runtime {

struct LockInfo {
  ClassId cls = kNoClass;
  bool by_address = false;  // class named after this instance (no init call seen)
  bool tagged = false;      // the lock carries its class tag (see fast_acquire)
  bool site_class = false;  // its class is its init site's (inferred: pairs checked per lock)
  int8_t spin = -1;         // the class is a spinning lock (cached; -1 = not looked up yet)
};

struct Range {
  uint64_t lo, hi;
};

// Captured stacks by their program counters, looked up with a span (no copy, no frames built).
struct PcsHash {
  using is_transparent = void;
  size_t operator()(std::span<const uint64_t> pcs) const {
    uint64_t h = 0x84222325CBF29CE4ull;
    for (uint64_t pc : pcs) h = (h ^ pc) * 0x100000001B3ull ^ (h >> 31);
    return h;
  }
};
struct PcsEq {
  using is_transparent = void;
  bool operator()(std::span<const uint64_t> a, std::span<const uint64_t> b) const {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
};

// The place a lock was made: the init call's return address and the next frames outwards.
constexpr size_t kSiteFrames = 4;
using SiteKey = std::array<uint64_t, kSiteFrames>;

struct Runtime {
  Options opts;
  Suppressions supp;
  InternalLock lock;         // the engine, registry, class maps
  InternalLock report_lock;  // symbolizer, output, report bookkeeping
  Validator* v = nullptr;
  ThreadState* threads = nullptr;
  uint64_t unnamed_threads = 0;  // "thread N" names given so far
  // Threads fork() did not copy into this process (linked by `next`): what they held stays held.
  ThreadState* orphans = nullptr;
  uint64_t next_thread_id = 1;
  engine::AddressMap<LockInfo> locks;
  absl::flat_hash_map<SiteKey, ClassId> site_classes;  // init site and its callers
  absl::flat_hash_set<std::string> site_names;          // the names those classes took
  absl::flat_hash_map<uint64_t, uint32_t> generations;   // address-named lock lifetimes
  // Heap locks named by where they were first locked: how many took each name so far.
  absl::flat_hash_map<std::string, uint32_t> first_lock_sites;
  // Static locks destroyed at least once: their next life is a new lock with a class of its own
  // (the init site's, or address and lifetime), never the symbol's class and its edges.
  absl::flat_hash_set<uint64_t> static_destroyed;
  // Statically allocated locks: each address is its own class while the same module is loaded
  // there (a destroyed and re-initialised static lock stays in its class). The module is its
  // file and load address, so a library loaded where an unloaded one was starts afresh.
  struct StaticClass {
    ClassId cls;
    std::string module;
  };
  absl::flat_hash_map<uint64_t, StaticClass> static_classes;
  absl::flat_hash_map<std::string, std::pair<uint64_t, std::string>> static_names;  // name -> lock, module
  // Classes whose names are made when first needed (name_classes, the engine's hook), in the
  // order the classes were made, which is the order they are named in ("#2" goes to the later
  // one). Naming reads debug information: most runs never report, and a run that does names its
  // classes once, then. What each needs: an init site (index in unnamed_sites), a static lock's
  // address, or a heap lock's address and lifetime (where it was first locked is the stack of
  // its class's first use, which the engine keeps: Validator::first_use_stack).
  struct Unnamed {
    enum How : uint8_t { init_site, symbol, first_lock } how;
    LockKind kind;
    ClassId cls;
    uint32_t index = 0;       // init_site: unnamed_sites; first_lock: the address's lifetime
    uint32_t regs = 0;        // first_lock: 1 + its index in unnamed_regs (0: none)
    uint64_t lock = 0;        // symbol, first_lock
  };
  std::deque<Unnamed> unnamed;  // a deque: growing copies nothing (a record per heap lock)
  // A heap lock's first lock call: the caller's stack and frame pointers and callee-saved
  // registers (rsp, rbp, rbx, r12-r15), each as its distance below the lock (kFar: more than
  // 2 GiB away, of no use for naming it). Kept only when one of them is near the lock.
  struct FirstCall {
    static constexpr int32_t kFar = INT32_MIN;
    int32_t below[7];
  };
  std::deque<FirstCall> unnamed_regs;
  // During on_acquire: the registers the interposer saved for this acquisition's lock, or null.
  const CallRegs* call_regs = nullptr;
  CallFrame call_frame;
  size_t unnamed_done = 0;
  std::vector<SiteKey> unnamed_sites;
  std::vector<Range> static_ranges;                       // writable PT_LOAD segments
  unsigned long long dl_adds = ~0ull, dl_subs = ~0ull;
  uint64_t self_lo = 0, self_hi = 0;                      // liblockhound.so's own image
  // Stacks already interned, by their program counters: a call path seen before costs its
  // unwind and one lookup, not a vector of frames (most new chains come from known paths).
  absl::flat_hash_map<std::vector<uint64_t>, StackId, PcsHash, PcsEq> stacks_by_pcs;
  // Stacks of lock calls unwound, and known from a thread's stack memo instead (stack_memo.h).
  uint64_t stack_unwinds = 0, stack_memo_hits = 0;
  // Validated fast-path chains (see fast_acquire): the published table, its key count, and
  // every table ever published (readers may still be probing an old one; never freed).
  uint64_t* fast_cur = nullptr;
  size_t fast_keys = 0;
  std::vector<uint64_t*> fast_tables;
  uint64_t fast_acquisitions_done = 0;                    // of threads that have ended
  uint64_t pair_lookups_done = 0;                         // of threads that have ended
  uint64_t replays = 0;                                   // engine acquisitions that were syncs
  std::vector<Finding> pending;                           // found under `lock`, not yet printed
  std::atomic<bool> has_pending{false};
  uint64_t inits_since_check = 0;
  std::atomic<uint64_t> lock_lifetimes{0};                         // locks seen (each lifetime once)
  // Report side (report_lock).
  symbolize::Symbolizer* sym = nullptr;
  std::vector<Finding> own_findings;                      // watchdog findings
  absl::flat_hash_set<std::string> own_keys;              // the watchdog's dedup keys
  // Signatures as found (frames unnamed): suppressed ones, and those inherited across fork.
  absl::flat_hash_set<std::string> suppressed;
  absl::flat_hash_set<std::string> baseline;
  absl::flat_hash_set<std::string> printed;  // completed signatures printed as found (text)
  std::atomic<size_t> reported{0};
  int log_fd = -1;
  int log_pid = 0;
  bool log_written = false;   // this process wrote to its PREFIX.PID
  bool log_failed = false;    // PREFIX.PID out of reach and no spool: this process stays silent
  // PREFIX.PID could not be created (a change of user): the report went to the run's spool
  // directory instead (run_dir/NAME.PID), never to the program's stderr.
  bool log_spooled = false;
  int stderr_copy = -1;
  dev_t stderr_dev = 0;
  ino_t stderr_ino = 0;
  int pid = 0;
  std::string program;
  int run_pid = 0;  // LOCKHOUND_RUN_PID at start: the process `lockhound run` started (0: none)
  // LOCKHOUND_RUN_LOG at start: the run's record of its followed processes, one line each
  // ("pid problems acquisitions spooled failing program"), which the started process reads at its end.
  // It lives in a directory of its own, writable by any user (sticky, like /tmp): the spool of
  // reports whose PREFIX.PID a process could not create after a change of user.
  std::string run_log;
  std::string run_dir;
  std::string comm;  // the process's name (/proc/self/comm) at start: a new thread's name
  bool finished = false;
  int final_status = 0;
  bool stopped_noted = false;
};

extern Runtime* g_rt;
inline Runtime& rt() { return *g_rt; }
extern std::atomic<uint64_t> g_handled;  // bit n: signal n has a handler installed through us
extern pthread_key_t g_thread_key;
extern __thread const ApiSite* t_api_site __attribute__((tls_model("initial-exec")));

// --- lock_classes.cpp: lock classes of real code (init sites, statics, addresses), class tags, modules
std::vector<std::pair<uint64_t, uint64_t>> loaded_segments();
std::string describe_site(uint64_t ip);
symbolize::Symbolizer& sym();
int collect_segments(struct dl_phdr_info* info, size_t, void* arg);
int collect_ranges(struct dl_phdr_info* info, size_t, void* arg);
int read_counters(struct dl_phdr_info* info, size_t size, void* arg);
bool is_static(uint64_t addr);
const char* kind_prefix(LockKind kind);
ClassId class_for_site(const SiteKey& key, LockKind kind, const ApiSite* api);
// What a heap lock's class name says between its kind and the place it was first locked.
inline constexpr const char* kFirstLockedIn = " first locked in ";
LockInfo class_for_instance(uint64_t lock, LockKind kind, const ApiSite* api = nullptr);
void end_lifetime(uint64_t lock);
void check_memory();
void write_tag(uint64_t* slot, uint64_t tag);
uint64_t* side_tag_slot_claim(uint64_t lock);
void write_first_tag(uint64_t lock, LockKind kind, uint64_t* slot, uint64_t tag);
LockInfo& lock_info(uint64_t lock, LockKind kind, uint64_t* tag_slot, const ApiSite* api = nullptr);
// The engine's ValidatorHooks::name_classes: names every class still unnamed up to `cls`
// (internal lock held).
void name_classes(ClassId cls);
void name_frames_before_they_go(const std::vector<std::pair<uint64_t, uint64_t>>& gone);
void after_dlclose(const std::vector<std::pair<uint64_t, uint64_t>>& before);

// --- output.cpp: log files, reports as found, the final report and the summary
void write_document(const std::string& text);
void json_snapshot();
std::vector<Finding> final_findings(ValidatorStats& stats);
std::string log_file_name(int pid);
std::string base_name(const std::string& path);
std::string hex(uint64_t v);
void write_all(int fd, const std::string& s);
int start_stderr();
void open_log();
int log_fd();
void remove_unused_log();
void note(const std::string& msg);
void stop(const std::string& why);
void fill_frame(Frame& f);
void symbolize_finding(Finding& f);
bool counts(const Finding& f);
void flush_pending();
void before_credentials_change();
[[noreturn]] void halt(int code);
size_t finding_count();
void print_report_now();
bool quiet_child();
int finish(int status);

// --- db_record.cpp: the process's graph and findings into the lock-order database (db=FILE)
void record_run(const std::vector<Finding>& findings);

// --- watchdog.cpp: hangs that really happen (wait-for cycles, joins, fork orphans, spinning)
std::string short_name(const ThreadState* t);
std::vector<HeldLock> held_of(const ThreadState* t);
std::string lock_class_name(uint64_t lock);
std::string lock_label(uint64_t lock);
ThreadState* registry_find_owner(uint64_t lock, const ThreadState* waiter);
Stack program_stack(const uint64_t* pcs, size_t n);
bool own_seen(const std::string& key);
ThreadState* thread_by_handle(uint64_t handle);
Participant participant_of(const ThreadState* t, const char* state);
void own_finding(Finding&& f, const std::string& key);
uint64_t now_ns();
void begin_join(ThreadState* ts, pthread_t thread);
void end_join(ThreadState* ts);
void on_orphan_wait(ThreadState* ts, uint64_t lock, int owner_tid, uint64_t ip);
void on_stall(ThreadState* ts, uint64_t lock, bool spin, uint64_t ip);

// --- runtime.cpp: start, threads, the engine behind the fast path, lock operations, fork
std::string thread_comm(int tid);
std::string read_text_file(const std::string& path, bool& ok);
bool fast_place(uint64_t* t, uint64_t key);
void fast_insert(uint64_t key);
uint64_t salt_of(Context ctx);
void mirror_state(ThreadState* ts);
void sync_held(ThreadState* ts);
void settle_holders(uint64_t lock);
void drop_orphan_holds(uint64_t lock);
StackId capture_hook(Context, uint64_t lock, uint64_t ip);
StackId held_stack_hook(Context, uint64_t lock, uint64_t ip);
void finding_hook(const Finding& f);
void fork_prepare();
void fork_parent();
void fork_child();
void thread_key_destructor(void* arg);
void init_runtime();
const Options& options();
void ensure_init();
ThreadState* self_slow();
bool compute_signals_enabled(const sigset_t& mask);
void on_destroy(uint64_t lock, LockKind, uint64_t ip, const ApiSite* api, uint64_t* tag_slot);
bool chain_named(ThreadState* ts);
void compact_held(ThreadState* ts);
void on_acquire(ThreadState* ts, uint64_t lock, LockKind kind, Mode mode, bool trylock, uint64_t ip, const ApiSite* api, unsigned subclass, uint64_t nest_lock, uint64_t* tag_slot, CallFrame frame);
void on_release(ThreadState* ts, uint64_t lock, uint64_t ip, const ApiSite* api);
void on_might_sleep(ThreadState* ts, const char* what, uint64_t ip, const ApiSite* api);
void on_thread_end(ThreadState* ts, bool thread_gone);
void on_irq(ThreadState* ts, Irq irq, bool enter);
void on_irq_enable(ThreadState* ts, Irq irq, bool enable);
void on_mask_change(ThreadState* ts);
bool signal_handled(int sig);
void set_signal_handled(int sig, bool handled);
void rename_thread(ThreadState* t, const char* name);
void set_thread_name(ThreadState* ts, const char* name);
void on_thread_named(pthread_t thread, const char* name);

}  // namespace lockhound::runtime
