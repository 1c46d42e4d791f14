// The runtime's state and slow paths: initialisation, per-thread state, lock classes for real
// code, stacks, reports, the summary, fork, the watchdog. See runtime_internal.h for the rules.
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
#include "runtime/runtime_internal.h"
#include "symbolize/symbolize.h"

namespace lockhound::runtime {

std::atomic<int> g_state{static_cast<int>(State::uninit)};
__thread ThreadLocal t_local __attribute__((tls_model("initial-exec")));
std::atomic<uint32_t> g_sig_epoch{2};  // never 0, the epoch of a thread without state
std::atomic<uint64_t> g_fast_epoch{uint64_t{kFastOff} << 32};
std::atomic<uint64_t> g_pair_epoch{0};
alignas(16) std::atomic<uint64_t> g_pair_cache[kPairSlots];
namespace {
// The validated-chain table before the first chain: mask 0, one empty slot.
const uint64_t g_empty_table[2] = {0, 0};
}  // namespace
std::atomic<const uint64_t*> g_fast_table{g_empty_table};
uint64_t g_tag_salt = 0;
bool g_fast = false;

// ------------------------------------------------------------------------- internal lock
void InternalLock::lock() {
  int c = 0;
  for (int spin = 0; spin < 100; ++spin) {
    c = 0;
    if (state_.compare_exchange_strong(c, 1, std::memory_order_acquire)) return;
    __builtin_ia32_pause();
  }
  if (c != 2) c = state_.exchange(2, std::memory_order_acquire);
  while (c != 0) {
    syscall(SYS_futex, reinterpret_cast<int*>(&state_), FUTEX_WAIT_PRIVATE, 2, nullptr, nullptr, 0);
    c = state_.exchange(2, std::memory_order_acquire);
  }
}

void InternalLock::unlock() {
  if (state_.exchange(0, std::memory_order_release) == 2)
    syscall(SYS_futex, reinterpret_cast<int*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

namespace {

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
  absl::flat_hash_map<uint64_t, LockInfo> locks;
  absl::flat_hash_map<SiteKey, ClassId> site_classes;  // init site and its callers
  absl::flat_hash_set<std::string> site_names;          // the names those classes took
  absl::flat_hash_map<uint64_t, uint32_t> generations;   // address-named lock lifetimes
  // Statically allocated locks: each address is its own class while the same module is loaded
  // there (a destroyed and re-initialised static lock stays in its class). The module is its
  // file and load address, so a library loaded where an unloaded one was starts afresh.
  struct StaticClass {
    ClassId cls;
    std::string module;
  };
  absl::flat_hash_map<uint64_t, StaticClass> static_classes;
  absl::flat_hash_map<std::string, std::pair<uint64_t, std::string>> static_names;  // name -> lock, module
  std::vector<Range> static_ranges;                       // writable PT_LOAD segments
  unsigned long long dl_adds = ~0ull, dl_subs = ~0ull;
  uint64_t self_lo = 0, self_hi = 0;                      // liblockhound.so's own image
  // Stacks already interned, by their program counters: a call path seen before costs its
  // unwind and one lookup, not a vector of frames (most new chains come from known paths).
  absl::flat_hash_map<std::vector<uint64_t>, StackId, PcsHash, PcsEq> stacks_by_pcs;
  // Validated fast-path chains (see fast_acquire): the published table, its key count, and
  // every table ever published (readers may still be probing an old one; never freed).
  uint64_t* fast_cur = nullptr;
  size_t fast_keys = 0;
  std::vector<uint64_t*> fast_tables;
  uint64_t fast_acquisitions_done = 0;                    // of threads that have ended
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
  std::atomic<size_t> reported{0};
  int log_fd = -1;
  int log_pid = 0;
  bool log_written = false;   // this process wrote to its PREFIX.PID
  bool log_failed = false;    // PREFIX.PID could not be created: the reports go to stderr
  int stderr_copy = -1;
  dev_t stderr_dev = 0;
  ino_t stderr_ino = 0;
  int pid = 0;
  std::string program;
  int run_pid = 0;  // LOCKHOUND_RUN_PID at start: the process `lockhound run` started (0: none)
  std::string comm;  // the process's name (/proc/self/comm) at start: a new thread's name
  bool finished = false;
  int final_status = 0;
  bool stopped_noted = false;
};

alignas(Runtime) unsigned char g_storage[sizeof(Runtime)];
Runtime* g_rt = nullptr;
std::atomic<uint64_t> g_handled{0};     // bit n: signal n has a handler installed through us
pthread_key_t g_thread_key;

__thread const ApiSite* t_api_site __attribute__((tls_model("initial-exec"))) = nullptr;

Runtime& rt() { return *g_rt; }

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

// ------------------------------------------------------------------------- module ranges
// Every loaded segment (code and data), for what a dlclose unmapped.
int collect_segments(struct dl_phdr_info* info, size_t, void* arg) {
  auto* out = static_cast<std::vector<Range>*>(arg);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD) out->push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
  }
  return 0;
}

int collect_ranges(struct dl_phdr_info* info, size_t, void* arg) {
  auto* out = static_cast<std::vector<Range>*>(arg);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W))
      out->push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
  }
  return 0;
}

int read_counters(struct dl_phdr_info* info, size_t size, void* arg) {
  auto* r = static_cast<Runtime*>(arg);
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
    if (info->dlpi_adds != r->dl_adds || info->dlpi_subs != r->dl_subs) {
      r->dl_adds = info->dlpi_adds;
      r->dl_subs = info->dlpi_subs;
      r->static_ranges.clear();
    }
  }
  return 1;  // the counters are the same in every entry: stop after the first
}

bool is_static(uint64_t addr) {
  Runtime& r = rt();
  dl_iterate_phdr(read_counters, &r);
  if (r.static_ranges.empty()) {
    dl_iterate_phdr(collect_ranges, &r.static_ranges);
    std::sort(r.static_ranges.begin(), r.static_ranges.end(),
              [](const Range& a, const Range& b) { return a.lo < b.lo; });
  }
  auto it = std::upper_bound(r.static_ranges.begin(), r.static_ranges.end(), addr,
                             [](uint64_t a, const Range& rg) { return a < rg.lo; });
  if (it == r.static_ranges.begin()) return false;
  --it;
  return addr >= it->lo && addr < it->hi;
}

symbolize::Symbolizer& sym() {
  Runtime& r = rt();
  if (!r.sym) r.sym = new symbolize::Symbolizer(0);
  return *r.sym;
}

// ------------------------------------------------------------------------- class naming
const char* kind_prefix(LockKind kind) {
  switch (kind) {
    case LockKind::pthread_rwlock: return "rwlock";
    case LockKind::pthread_spinlock: return "spinlock";
    default: return "mutex";
  }
}

// "function (file:line)" for a call site, or "function (object+0xoff)" without line information.
std::string describe_site(uint64_t ip) {
  Runtime& r = rt();
  std::string name;
  r.report_lock.lock();
  const auto& frames = sym().frames(ip);
  // The innermost frame: the function (possibly inlined) whose line the call is on.
  const Frame& inner = frames.front();
  // Without parameters: a class name carries two to four of these, and C++ signatures made them
  // unreadable; the place (file:line or module offset) tells overloads apart.
  std::string func = symbolize::without_parameters(inner.function.empty() ? frames.back().function
                                                                          : inner.function);
  std::string object;
  uint64_t offset = 0;
  if (!func.empty() && !inner.file.empty() && inner.line)
    name = func + " (" + base_name(inner.file) + ":" + std::to_string(inner.line) + ")";
  else if (sym().locate(ip, object, offset))  // no line information: the call's place in its module
    name = (func.empty() ? "" : func + " ") + "(" + base_name(object) + "+" + hex(offset) + ")";
  else
    name = "init@" + hex(ip);
  r.report_lock.unlock();
  return name;
}

// The class of a runtime-initialised lock: where it was made, its init call site and the three
// frames outwards. One frame is not enough in real code: libraries create every lock through
// one helper (OpenSSL's CRYPTO_THREAD_lock_new), and a class per helper would merge unrelated
// locks. Two are not either: a C++ lock type's constructor calls its base's (HotSpot's Monitor
// and Mutex around PlatformMonitor), so every lock of a program like the JVM fell into two
// classes, and their nesting in both orders (different locks, in rank order) was reported as a
// cycle. The name is the init site and its caller, "init_fn (file:line) from caller
// (file:line)", plus as many outer frames as it takes to tell it from classes named before it.
ClassId class_for_site(const SiteKey& key, LockKind kind, const ApiSite* api) {
  Runtime& r = rt();
  if (api && api->file) {
    std::string name = std::string(api->func ? api->func : "?") + " (" +
                       base_name(api->file) + ":" + std::to_string(api->line) + ")";
    return r.v->lock_class(name, kind);
  }
  auto it = r.site_classes.find(key);
  if (it != r.site_classes.end()) return it->second;
  std::string name = describe_site(key[0]);
  for (size_t i = 1; i < kSiteFrames && key[i]; ++i) {
    if (i >= 2 && !r.site_names.contains(name)) break;
    name += " from " + describe_site(key[i]);
  }
  std::string plain = name;
  for (int n = 2; r.site_names.contains(name); ++n)  // the same lines, other addresses
    name = plain + " #" + std::to_string(n);
  r.site_names.insert(name);
  ClassId cls = r.v->unique_class(name, kind);
  // A guess: locks made at one place are often nested on purpose (parent and child, a table's
  // buckets); the engine checks such nesting per pair of locks rather than calling it recursive.
  r.v->set_class_inferred(cls);
  r.site_classes.emplace(key, cls);
  return cls;
}

// The class of a lock first seen at lock time (static initialiser, std::mutex): a static lock is
// named by its symbol; any other lock is a class of its own, named by address and lifetime.
LockInfo class_for_instance(uint64_t lock, LockKind kind) {
  Runtime& r = rt();
  LockInfo li;
  if (is_static(lock)) {
    std::string name, object;
    uint64_t offset = 0;
    r.report_lock.lock();
    sym().refresh();  // a module loaded or unloaded since the map was read: cheap otherwise
    bool ok = sym().describe_data(lock, name);
    if (ok) sym().locate(lock, object, offset);
    r.report_lock.unlock();
    if (!ok) name = std::string(kind_prefix(kind)) + "@" + hex(lock);
    std::string module = object + "@" + hex(lock - offset);
    auto it = r.static_classes.find(lock);
    if (it != r.static_classes.end() && it->second.module == module) {
      li.cls = it->second.cls;
      return li;
    }
    // A variable's name is not unique. Statics of one name in two files of a module come named
    // with their files ("lock (queue.c)"); the same name in two libraries (or in a library loaded
    // where another was) is told apart here: the first keeps it, another gets its library's file
    // ("lock (libplugin.so)"), and its address if that is not enough.
    auto owner = r.static_names.try_emplace(name, lock, module).first;
    if (owner->second != std::pair(lock, module)) {
      name += " (" + std::filesystem::path(object).filename().string() + ")";
      owner = r.static_names.try_emplace(name, lock, module).first;
      if (owner->second != std::pair(lock, module)) name += "@" + hex(lock);
    }
    li.cls = r.v->unique_class(name, kind);
    r.static_classes[lock] = {li.cls, std::move(module)};
    return li;
  }
  std::string name = std::string(kind_prefix(kind)) + "@" + hex(lock);
  auto g = r.generations.find(lock);
  if (g != r.generations.end()) name += "#" + std::to_string(g->second + 1);
  // Address and lifetime make the name unique: no other lock can ask for this class by name.
  li.cls = r.v->unique_class(std::move(name), kind);
  li.by_address = true;
  return li;
}

// ------------------------------------------------------------------------- fast path support
bool fast_place(uint64_t* t, uint64_t key) {
  for (uint64_t i = key;; ++i) {
    uint64_t& slot = t[1 + (i & t[0])];
    if (slot == key) return false;
    if (slot == 0) {
      __atomic_store_n(&slot, key, __ATOMIC_RELAXED);
      return true;
    }
  }
}

// Publishes a validated chain key (internal lock held). The table stays at most half full; a
// bigger one is filled completely before readers can see it.
void fast_insert(uint64_t key) {
  Runtime& r = rt();
  uint64_t* t = r.fast_cur;
  if (!t || (r.fast_keys + 1) * 2 > t[0] + 1) {
    size_t cap = t ? (t[0] + 1) * 2 : 4096;
    auto* nt = static_cast<uint64_t*>(std::calloc(cap + 1, sizeof(uint64_t)));
    if (!nt) return;  // the chain stays on the slow path
    nt[0] = cap - 1;
    if (t)
      for (size_t i = 1; i <= t[0] + 1; ++i)
        if (t[i]) fast_place(nt, t[i]);
    r.fast_tables.push_back(nt);
    r.fast_cur = t = nt;
    g_fast_table.store(nt, std::memory_order_release);
  }
  if (fast_place(t, key)) r.fast_keys++;
}

uint64_t salt_of(Context ctx) { return uint64_t{rt().v->irq_state(ctx)} << kSaltShift; }

// The fast path's copy of the thread's engine state (internal lock held).
void mirror_state(ThreadState* ts) {
  Validator& v = *rt().v;
  if (!ts->ctx) {
    ts->salt = kNoSalt;
    ts->alone_ok = false;
    ts->alone_tag = ~0ull;
    ts->parent_low = parent_low(kNoSalt);
    return;
  }
  ts->salt = salt_of(ts->ctx);
  ts->parent_low = parent_low(ts->salt);
  ts->code_bits = code_bits(ts->salt);
  ts->want[0] = v.usage_wanted(ts->ctx, Mode::write);
  ts->want[1] = v.usage_wanted(ts->ctx, Mode::read);
  // For chain heads only (nothing held on the runtime's stack): the engine's stack may still show
  // a spinlock the fast path has since released.
  ts->alone_ok = v.may_sleep_holding_nothing(ts->ctx);
  ts->alone_tag = ts->alone_ok ? make_tag(0, 0, ts->want[0]) & kTagUsageMask : ~0ull;
}

// Brings the engine's copy of `ts`'s held stack up to date (internal lock held). The runtime's
// stack only ever loses entries anywhere and gains them on top, so the engine's copy is turned
// into it by dropping what is gone and replaying what is new; the replayed acquisitions are on
// validated chains in the interrupt state the engine is still in, so they add nothing new.
void sync_held(ThreadState* ts) {
  Runtime& r = rt();
  Validator& v = *r.v;
  Context ctx = ts->ctx;
  const HeldStack& h = ts->held;
  size_t i = 0, j = 0;
  while (i < v.held_count(ctx)) {
    Validator::HeldInfo e = v.held_at(ctx, i);
    // The same acquisition: the same lock, mode and site. A lock released on the fast path (the
    // engine was not told) and taken again elsewhere is a new acquisition: kept, the engine's
    // entry would name the old site in reports.
    if (j < h.n && e.lock == h[j].lock && e.mode == h[j].mode() && e.trylock == h[j].trylock() &&
        e.ip == h[j].ip) {
      ++i;
      ++j;
    } else if (j < h.n && !v.lock_known(h[j].lock)) {
      ++j;  // destroyed while held: the engine has already dropped it
    } else {
      v.drop_held(ctx, i);
    }
  }
  for (; j < h.n; ++j) {
    AcquireFlags fl;
    fl.mode = h[j].mode();
    fl.trylock = h[j].trylock();
    if (v.acquire_if_known(ctx, h[j].lock, fl, Site{h[j].ip, kNoStack})) r.replays++;
  }
}

// Before a lifetime ends: if any thread may hold the lock, every thread's engine stack is brought
// up to date, so "held lock freed" is judged on what is really held.
void settle_holders(uint64_t lock) {
  Runtime& r = rt();
  bool held = r.v->lock_held(lock);
  for (ThreadState* t = r.threads; t && !held; t = t->next)
    for (size_t i = 0; i < t->held.size() && !held; ++i) held = t->held[i].lock == lock;
  if (!held) return;
  for (ThreadState* t = r.threads; t; t = t->next)
    if (t->ctx) sync_held(t);
}

// A lock that a thread left behind by fork() held, initialised again or destroyed in the child:
// the usual remedy there, not a held lock freed. The thread that is not here lets go of it.
void drop_orphan_holds(uint64_t lock) {
  if (!g_fork_orphans.load(std::memory_order_relaxed)) return;
  Runtime& r = rt();
  for (ThreadState* t = r.orphans; t; t = t->next) {
    bool has = false;
    for (size_t i = 0; i < t->held.size(); ++i) has |= t->held[i].lock == lock;
    if (!has) continue;
    if (t->ctx) sync_held(t);
    while (fast_release(t, lock)) {
    }
    if (t->ctx) sync_held(t);
  }
}

void end_lifetime(uint64_t lock) {
  Runtime& r = rt();
  auto it = r.locks.find(lock);
  if (it == r.locks.end()) return;
  if (it->second.by_address) r.generations[lock]++;
  if (it->second.site_class) g_pair_epoch.fetch_add(1, std::memory_order_relaxed);
  r.locks.erase(it);
}

void check_memory() {
  Runtime& r = rt();
  if (++r.inits_since_check < 65536) return;
  r.inits_since_check = 0;
  uint64_t bytes = r.v->stats().memory_bytes + (r.fast_cur ? (r.fast_cur[0] + 1) * 16 : 0);
  if (bytes > static_cast<uint64_t>(r.opts.max_memory_mb) << 20)
    stop("memory budget of " + std::to_string(r.opts.max_memory_mb) +
         " MiB reached (max_memory_mb)");
}

void write_tag(uint64_t* slot, uint64_t tag) { __atomic_store_n(slot, tag, __ATOMIC_RELAXED); }

}  // namespace

uint64_t* side_tag_slot_claim(uint64_t lock) {
  if (uint64_t* slot = side_tag_slot(lock)) return slot;
  SideTag* t = g_side_tags.load(std::memory_order_relaxed);
  if (!t) {
    void* p = mmap(nullptr, kSideTags * sizeof(SideTag), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    t = static_cast<SideTag*>(p);
    g_side_tags.store(t, std::memory_order_release);
  }
  for (int i = 0; i < kSideProbes; ++i) {
    SideTag& e = t[(side_home(lock) + i) & (kSideTags - 1)];
    if (e.lock != 0) continue;
    e.tag = 0;
    __atomic_store_n(&e.lock, lock, __ATOMIC_RELEASE);
    return &e.tag;
  }
  return nullptr;  // full around this address: the lock goes without a tag
}

namespace {
// The first tag of a lock's lifetime: a mutex's child memo belongs to the lifetime before.
void write_first_tag(uint64_t lock, LockKind kind, uint64_t* slot, uint64_t tag) {
  if (kind == LockKind::pthread_mutex) child_memo_clear(reinterpret_cast<pthread_mutex_t*>(lock));
  write_tag(slot, tag);
}

// The lock's record, created on first sight. A lock that carried a tag and no longer does was
// made anew without an init call (a std::mutex constructed where another one lived, a memset, a
// struct copy): a new lifetime, which inherits nothing from the old one.
LockInfo& lock_info(uint64_t lock, LockKind kind, uint64_t* tag_slot) {
  Runtime& r = rt();
  auto it = r.locks.find(lock);
  if (it != r.locks.end()) {
    LockInfo& li = it->second;
    if (!tag_slot) return li;
    uint64_t tag = make_tag(lock, li.cls);
    if ((__atomic_load_n(tag_slot, __ATOMIC_RELAXED) & ~kTagUsageMask) == tag) return li;
    if (!li.tagged) {
      if (li.cls > kMaxTaggedClass) return li;
      write_first_tag(lock, kind, tag_slot, tag);
      li.tagged = true;
      return li;
    }
    settle_holders(lock);
    end_lifetime(lock);
  }
  LockInfo li = class_for_instance(lock, kind);
  r.v->lock_init(lock, li.cls);
  r.lock_lifetimes++;
  check_memory();
  if (tag_slot && li.cls <= kMaxTaggedClass) {
    write_first_tag(lock, kind, tag_slot, make_tag(lock, li.cls));
    li.tagged = true;
  }
  return r.locks.emplace(lock, li).first->second;
}

// ------------------------------------------------------------------------- stacks
StackId capture_hook(Context, uint64_t ip) {
  Runtime& r = rt();
  uint64_t pcs[256];
  size_t want = std::min<size_t>(static_cast<size_t>(r.opts.stack_depth) + 48, 256);
  size_t n = symbolize::capture_stack(pcs, want);
  size_t first = 0;
  while (first < n && pcs[first] - 1 >= r.self_lo && pcs[first] - 1 < r.self_hi) ++first;
  if (first == n) first = 0;
  // The program's frames, compacted in place: the runtime's own frames (the signal trampoline)
  // mean nothing to the reader.
  size_t kept = 0, depth = static_cast<size_t>(r.opts.stack_depth);
  for (size_t i = first; i < n && kept < depth; ++i) {
    if (i > first && pcs[i] - 1 >= r.self_lo && pcs[i] - 1 < r.self_hi) continue;
    pcs[kept++] = pcs[i];
  }
  if (kept == 0 && ip) pcs[kept++] = ip;
  bool api = t_api_site && t_api_site->file && kept > 0;  // the first frame is the API's site
  std::span<const uint64_t> key(pcs, kept);
  if (!api) {
    auto it = r.stacks_by_pcs.find(key);
    if (it != r.stacks_by_pcs.end()) return it->second;
  }
  std::vector<Frame> frames(kept);
  uint64_t sigreturn = symbolize::signal_return();
  for (size_t i = 0; i < kept; ++i) {
    frames[i].pc = pcs[i];
    if (sigreturn && pcs[i] == sigreturn) frames[i].function = "<signal handler called>";  // as gdb says
  }
  if (api) {
    frames[0].file = t_api_site->file;
    frames[0].line = static_cast<unsigned>(t_api_site->line);
    if (t_api_site->func) frames[0].function = t_api_site->func;
  }
  StackId id = r.v->intern_stack(frames);
  if (!api) r.stacks_by_pcs.emplace(std::vector<uint64_t>(key.begin(), key.end()), id);
  return id;
}

void finding_hook(const Finding& f) {
  Runtime& r = rt();
  r.pending.push_back(f);
  r.has_pending.store(true, std::memory_order_release);
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

[[noreturn]] void halt(int code);

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
    if (i == pending) continue;
    const auto& h = t->held[i];
    HeldLock hl;
    hl.name = lock_class_name(h.lock);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRIx64, h.lock);
    hl.address = buf;
    hl.mode = h.mode() == Mode::write ? "write" : h.mode() == Mode::read ? "read" : "recursive-read";
    hl.site.pc = h.ip;
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

}  // namespace

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

namespace {

void fork_prepare() {
  if (g_state.load() == static_cast<int>(State::uninit)) return;
  ++t_local.guard;
  rt().lock.lock();
  rt().report_lock.lock();
}

void fork_parent() {
  if (g_state.load() == static_cast<int>(State::uninit)) return;
  rt().report_lock.unlock();
  rt().lock.unlock();
  --t_local.guard;
}

void fork_child() {
  if (g_state.load() == static_cast<int>(State::uninit)) return;
  Runtime& r = rt();
  r.report_lock.reset();
  r.lock.reset();
  // Only the forking thread lives on. The others' engine contexts stay (their held locks are
  // stuck in the child's copy of memory, as they really are) but leave the registry.
  ThreadState* me = t_local.self != kEnded ? t_local.self : nullptr;
  for (ThreadState *t = r.threads, *next; t; t = next) {
    next = t->next;
    if (t == me) continue;
    t->waiting_on.store(0, std::memory_order_relaxed);
    t->stalled.store(false, std::memory_order_relaxed);
    t->next = r.orphans;
    r.orphans = t;
    if (!t->held.empty()) g_fork_orphans.store(true, std::memory_order_relaxed);
  }
  r.threads = me;
  if (me) {
    me->next = nullptr;
    me->tid = static_cast<int>(syscall(SYS_gettid));
  }
  r.pid = static_cast<int>(getpid());
  r.log_fd = -1;  // the parent's descriptor stays the parent's; log_fd() opens PREFIX.CHILD
  r.log_failed = false;
  r.pending.clear();
  r.has_pending.store(false);
  // Findings inherited from the parent are the parent's to report.
  for (const auto& f : r.v->findings()) r.baseline.insert(f.signature);
  for (const auto& f : r.own_findings) r.baseline.insert(f.signature);
  r.reported.store(0);
  --t_local.guard;
}

void thread_key_destructor(void* arg) {
  auto* ts = static_cast<ThreadState*>(arg);
  if (!ts || g_state.load() != static_cast<int>(State::ready)) return;
  on_thread_end(ts, true);
}

std::string read_text_file(const std::string& path, bool& ok) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ok = fd >= 0;
  if (!ok) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// A thread's name as the kernel knows it (pthread_setname_np, prctl), "" if unknown.
std::string thread_comm(int tid) {
  bool ok = false;
  std::string s = read_text_file("/proc/self/task/" + std::to_string(tid) + "/comm", ok);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

void init_runtime() {
  real::resolve_all();
  g_rt = new (g_storage) Runtime();
  Runtime& r = rt();
  r.pid = static_cast<int>(getpid());
  // Tags written by an earlier process in memory this one maps (a file, shared memory) must not
  // look valid here.
  g_tag_salt = (now_ns() ^ (static_cast<uint64_t>(r.pid) << 32) ^ reinterpret_cast<uint64_t>(&r)) * 0x9E3779B97F4A7C15ull | 1;  // bit 0: see tag_check
  if (const char* root = getenv("LOCKHOUND_RUN_PID")) r.run_pid = std::atoi(root);
  if (const char* env = getenv("LOCKHOUND_OPTIONS")) {
    for (const auto& e : parse_options(env, r.opts))
      write_all(2, "==" + std::to_string(r.pid) + "== lockhound: LOCKHOUND_OPTIONS: " + e + "\n");
  }
  if (r.opts.default_suppressions) {
    std::vector<std::string> errors;  // the built-in text is checked by a unit test
    r.supp.parse(kDefaultSuppressions, "built-in suppressions", errors);
  }
  if (!r.opts.suppressions.empty()) {
    bool ok = false;
    std::string text = read_text_file(r.opts.suppressions, ok);
    std::vector<std::string> errors;
    if (!ok) errors.push_back(r.opts.suppressions + ": error: cannot read the suppressions file");
    else r.supp.parse(text, r.opts.suppressions, errors);
    for (const auto& e : errors) write_all(2, "==" + std::to_string(r.pid) + "== lockhound: " + e + "\n");
  }
  {
    struct stat st;
    if (fstat(2, &st) == 0) {
      r.stderr_copy = fcntl(2, F_DUPFD_CLOEXEC, 200);
      r.stderr_dev = st.st_dev;
      r.stderr_ino = st.st_ino;
    }
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  r.program = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "?";
  r.comm = thread_comm(r.pid);
  if (!r.opts.follow_children) {
    // Children start without the runtime: drop liblockhound from LD_PRELOAD.
    if (const char* pre = getenv("LD_PRELOAD")) {
      std::string kept, list = pre;
      size_t pos = 0;
      while (pos <= list.size()) {
        size_t end = list.find_first_of(": ", pos);
        if (end == std::string::npos) end = list.size();
        std::string item = list.substr(pos, end - pos);
        if (!item.empty() && item.find("liblockhound") == std::string::npos)
          kept += (kept.empty() ? "" : ":") + item;
        pos = end + 1;
      }
      if (kept.empty()) unsetenv("LD_PRELOAD");
      else setenv("LD_PRELOAD", kept.c_str(), 1);
    }
  }
  // The runtime's own code range, so captured stacks start at the program's frame.
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&init_runtime), &info) && info.dli_fbase) {
    struct Find {
      uint64_t base, lo = ~0ull, hi = 0;
    } find{reinterpret_cast<uint64_t>(info.dli_fbase)};
    dl_iterate_phdr(
        [](struct dl_phdr_info* di, size_t, void* arg) {
          auto* fd = static_cast<Find*>(arg);
          if (di->dlpi_addr != fd->base) return 0;
          for (int i = 0; i < di->dlpi_phnum; ++i) {
            const auto& ph = di->dlpi_phdr[i];
            if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
              fd->lo = std::min<uint64_t>(fd->lo, di->dlpi_addr + ph.p_vaddr);
              fd->hi = std::max<uint64_t>(fd->hi, di->dlpi_addr + ph.p_vaddr + ph.p_memsz);
            }
          }
          return 1;
        },
        &find);
    if (find.hi > find.lo) {
      r.self_lo = find.lo;
      r.self_hi = find.hi;
    }
  }
  // A malloc from a shared library other than libc (jemalloc, tcmalloc) takes pthread locks
  // inside its own critical sections; the engine allocates, so tracking those locks could
  // re-enter the allocator while it holds them. Calls from that library pass straight through.
  if (void* m = dlsym(RTLD_DEFAULT, "malloc")) {
    Dl_info mi{};
    Dl_info li{};
    if (dladdr(m, &mi) && mi.dli_fbase && dladdr(reinterpret_cast<void*>(&::getpid), &li) &&
        mi.dli_fbase != li.dli_fbase) {
      struct Find {
        uint64_t base, lo = ~0ull, hi = 0;
        bool main_program = false;
      } fa{reinterpret_cast<uint64_t>(mi.dli_fbase)};
      dl_iterate_phdr(
          [](struct dl_phdr_info* di, size_t, void* arg) {
            auto* fd = static_cast<Find*>(arg);
            bool first = fd->lo == ~0ull && fd->hi == 0 && !fd->main_program;
            (void)first;
            uint64_t base = di->dlpi_addr;
            bool hit = false;
            for (int i = 0; i < di->dlpi_phnum; ++i) {
              const auto& ph = di->dlpi_phdr[i];
              if (ph.p_type == PT_LOAD && base + ph.p_vaddr <= fd->base &&
                  fd->base < base + ph.p_vaddr + ph.p_memsz)
                hit = true;
            }
            if (!hit && base != fd->base) return 0;
            if (di->dlpi_name == nullptr || di->dlpi_name[0] == '\0') fd->main_program = true;
            for (int i = 0; i < di->dlpi_phnum; ++i) {
              const auto& ph = di->dlpi_phdr[i];
              if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
                fd->lo = std::min<uint64_t>(fd->lo, base + ph.p_vaddr);
                fd->hi = std::max<uint64_t>(fd->hi, base + ph.p_vaddr + ph.p_memsz);
              }
            }
            return 1;
          },
          &fa);
      // An allocator linked into the program itself cannot be told apart from the program.
      if (!fa.main_program && fa.hi > fa.lo) {
        g_alloc_lo = fa.lo;
        g_alloc_hi = fa.hi;
      }
    }
  }
  ValidatorOptions vo;
  vo.source = "run";
  vo.report_guarded_cycles = true;
  ValidatorHooks hooks;
  hooks.capture_stack = capture_hook;
  hooks.on_finding = finding_hook;
  r.v = new Validator(vo, hooks);
  g_fast = r.opts.fast_path && mutex_protocol_ok();
  g_fast_epoch.store(uint64_t{g_fast ? g_sig_epoch.load() : kFastOff} << 32);
  symbolize::load_fast_unwinder();
  if (r.opts.fast_path && !g_fast)
    note("this C library's mutexes differ from what the fast path expects; it is off");
  pthread_key_create(&g_thread_key, thread_key_destructor);
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  if (r.opts.verbosity > 0) {
    r.report_lock.lock();
    note("checking " + r.program + " (options: " +
         std::string(getenv("LOCKHOUND_OPTIONS") ? getenv("LOCKHOUND_OPTIONS") : "") + ")");
    r.report_lock.unlock();
  }
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

}  // namespace

// ------------------------------------------------------------------------- public inside API

const Options& options() { return rt().opts; }

void ensure_init() {
  int s = g_state.load(std::memory_order_acquire);
  if (s != static_cast<int>(State::uninit)) return;
  int expected = static_cast<int>(State::uninit);
  if (!g_state.compare_exchange_strong(expected, static_cast<int>(State::initializing))) return;
  ++t_local.guard;
  try {
    init_runtime();
    g_state.store(static_cast<int>(State::ready), std::memory_order_release);
  } catch (...) {
    g_state.store(static_cast<int>(State::disabled));
    write_all(2, "lockhound: initialisation failed; checking is off, the program runs on\n");
  }
  --t_local.guard;
}

uint64_t g_alloc_lo = 0, g_alloc_hi = 0;

ThreadState* self_slow() {
  ThreadState* ts = t_local.self;
  if (ts == kEnded) return nullptr;
  if (ts) return ts;
  if (t_local.guard || g_state.load(std::memory_order_acquire) != static_cast<int>(State::ready))
    return nullptr;
  Guard g;
  ts = new (std::nothrow) ThreadState();
  if (!ts) return nullptr;
  ts->tid = static_cast<int>(syscall(SYS_gettid));
  ts->tag_salt = g_tag_salt;
  real::thread_sigmask(SIG_BLOCK, nullptr, &ts->mask);
  Runtime& r = rt();
  // A thread named before its first lock (pthread_setname_np by its creator, prctl) keeps that
  // name; a new thread's name is the program's, which says nothing.
  bool main_thread = ts->tid == static_cast<int>(getpid());
  std::string comm = main_thread ? "" : thread_comm(ts->tid);
  r.lock.lock();
  ts->id = r.next_thread_id++;
  ts->handle = pthread_self();
  // Other threads are numbered from 1 in the order they first use a lock, the main thread aside.
  ts->name = (main_thread ? "main thread"
              : !comm.empty() && comm != r.comm ? comm
                                                : "thread " + std::to_string(++r.unnamed_threads)) +
             " (tid " + std::to_string(ts->tid) + ")";
  ts->next = r.threads;
  r.threads = ts;
  r.lock.unlock();
  pthread_setspecific(g_thread_key, ts);
  t_local.self = ts;
  return ts;
}


namespace {
bool compute_signals_enabled(const sigset_t& mask) {
  uint64_t handled = g_handled.load(std::memory_order_relaxed);
  for (int sig = 1; sig < 64; ++sig) {
    if (!(handled & (1ull << sig))) continue;
    // Faults are delivered only at the faulting instruction, never "at any moment".
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
        sig == SIGSYS)
      continue;
    if (!sigismember(&mask, sig)) return true;
  }
  return false;
}
}  // namespace

Engine::Engine(ThreadState* ts) : ts_(ts) {
  Runtime& r = rt();
  r.lock.lock();
  if (!ts) return;
  if (!ts->ctx) {
    ts->ctx = r.v->context(ts->id, ts->name);
    t_local.epoch = g_sig_epoch.load(std::memory_order_relaxed) | 3;  // odd: matches nothing
  }
  ctx_ = ts->ctx;
  if (!ts->handed_off.empty()) {  // released by other threads: no longer held here
    for (uint64_t lock : ts->handed_off) fast_release(ts, lock);
    ts->handed_off.clear();
  }
  uint32_t epoch = g_sig_epoch.load(std::memory_order_relaxed);
  if (t_local.epoch != epoch && ts->signal_depth == 0) {
    t_local.epoch = epoch;
    bool en = compute_signals_enabled(ts->mask);
    if (en != ts->signals_enabled || !en) {
      ts->signals_enabled = en;
      if (en) r.v->irq_enable(ctx_, Irq::signal);
      else r.v->irq_disable(ctx_, Irq::signal);
    }
  }
  sync_held(ts);
  mirror_state(ts);
}

Engine::~Engine() {
  Runtime& r = rt();
  if (ts_) mirror_state(ts_);
  r.lock.unlock();
  if (r.has_pending.load(std::memory_order_acquire)) {
    try {
      flush_pending();
    } catch (...) {
      stop("internal error while reporting");
    }
  }
}

Validator& Engine::v() { return *rt().v; }

// ------------------------------------------------------------------------- operations
__attribute__((noinline)) void on_init(uint64_t lock, LockKind kind, uint64_t ip, const char* class_name,
             const ApiSite* api, uint64_t* tag_slot) {
  try {
    Engine e(nullptr);
    Runtime& r = rt();
    if (r.locks.contains(lock)) {
      drop_orphan_holds(lock);
      settle_holders(lock);
    }
    end_lifetime(lock);
    LockInfo li;
    if (class_name && *class_name) li.cls = r.v->lock_class(class_name, kind);
    else if (!api && is_static(lock)) li = class_for_instance(lock, kind);  // its own symbol
    else {
      SiteKey key{};
      key[0] = ip;
      if (!api) {
        // Frames: on_init, the interposer, the init site, its callers.
        uint64_t pcs[kSiteFrames];
        size_t n = symbolize::capture_stack(pcs, kSiteFrames, 2);
        if (n > 0 && pcs[0] == ip) std::copy(pcs + 1, pcs + n, key.begin() + 1);
      }
      li.cls = class_for_site(key, kind, api);
      li.site_class = !api;
    }
    r.lock_lifetimes++;
    r.v->lock_init(lock, li.cls);
    if (tag_slot && li.cls <= kMaxTaggedClass) {
      write_first_tag(lock, kind, tag_slot, make_tag(lock, li.cls, r.v->class_usage(li.cls)));
      li.tagged = true;
    }
    r.locks.emplace(lock, li);
    check_memory();
  } catch (...) {
    stop("internal error at lock init");
  }
}

std::vector<std::pair<uint64_t, uint64_t>> loaded_segments() {
  Guard g;
  std::vector<Range> ranges;
  dl_iterate_phdr(collect_segments, &ranges);
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& rg : ranges) out.emplace_back(rg.lo, rg.hi);
  return out;
}

namespace {
// The stacks and findings with frames in code that is gone are named now, from the symbolizer's
// map as it still is (libdw reads the modules from their files, so the old map still names an
// unmapped module), so that a library loaded there later is not named after it; then the map
// and the caches forget those addresses (internal lock held).
void name_frames_before_they_go(const std::vector<std::pair<uint64_t, uint64_t>>& gone) {
  Runtime& r = rt();
  auto in_gone = [&](uint64_t pc) {
    for (const auto& [lo, hi] : gone)
      if (pc > lo && pc <= hi) return true;  // return addresses: pc - 1 lies in the segment
    return false;
  };
  auto touches = [&](std::span<const Frame> s) {
    for (const auto& f : s)
      if (f.pc && f.function.empty() && in_gone(f.pc)) return true;
    return false;
  };
  r.report_lock.lock();
  for (StackId id = 1; id < r.v->stack_count(); ++id) {
    std::span<const Frame> s = r.v->stack(id);
    if (!touches(s)) continue;
    Stack copy(s.begin(), s.end());
    sym().fill(copy);
    r.v->replace_stack(id, std::move(copy));
  }
  r.v->for_each_finding([](Finding& f) { symbolize_finding(f); });
  for (auto& f : r.pending) symbolize_finding(f);
  for (auto& f : r.own_findings) symbolize_finding(f);
  for (const auto& [lo, hi] : gone) sym().forget(lo, hi);
  sym().refresh();
  r.report_lock.unlock();
  for (auto it = r.stacks_by_pcs.begin(); it != r.stacks_by_pcs.end();) {
    bool drop = false;
    for (uint64_t pc : it->first) drop = drop || in_gone(pc);
    if (drop) r.stacks_by_pcs.erase(it++);
    else ++it;
  }
}
}  // namespace

void after_dlclose(const std::vector<std::pair<uint64_t, uint64_t>>& before) {
  if (g_state.load() != static_cast<int>(State::ready)) return;
  try {
    ThreadState* ts = self();
    Engine e(ts);
    Runtime& r = rt();
    std::vector<std::pair<uint64_t, uint64_t>> now = loaded_segments(), gone;
    for (const auto& seg : before)
      if (std::find(now.begin(), now.end(), seg) == now.end()) gone.push_back(seg);
    if (gone.empty()) return;  // the library stays loaded (other references)
    // is_static() re-reads the module ranges when a module came or went. Every static lock that
    // no longer lies in a loaded module ended with its module: the memory may hold another
    // library's lock next, which must not inherit this one's class (its tag went with the
    // memory; a spinlock's tag lives in the side table and is cleared here).
    std::vector<uint64_t> ended;
    for (const auto& [lock, sc] : r.static_classes)
      if (!is_static(lock)) ended.push_back(lock);
    for (uint64_t lock : ended) {
      r.static_classes.erase(lock);
      if (!r.locks.contains(lock)) continue;
      if (uint64_t* slot = side_tag_slot(lock)) write_tag(slot, 0);
      drop_orphan_holds(lock);
      settle_holders(lock);
      r.v->lock_destroy(e.ctx(), lock, Site{0, kNoStack}, /*unloaded=*/true);
      end_lifetime(lock);
    }
    name_frames_before_they_go(gone);  // after the findings above, which have such frames too
  } catch (...) {
    stop("internal error after dlclose");
  }
}

void on_destroy(uint64_t lock, LockKind, uint64_t ip, const ApiSite* api, uint64_t* tag_slot) {
  try {
    ThreadState* ts = self();
    Engine e(ts);
    Runtime& r = rt();
    if (!r.locks.contains(lock)) return;
    if (tag_slot) write_tag(tag_slot, 0);
    drop_orphan_holds(lock);
    settle_holders(lock);
    t_api_site = api;
    r.v->lock_destroy(e.ctx(), lock, Site{ip, kNoStack});
    t_api_site = nullptr;
    end_lifetime(lock);
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at lock destroy");
  }
}

// Whether every two held entries of one class lie next to each other in the held stack.
bool pairs_adjacent(const HeldStack& h) {
  for (uint32_t j = 2; j < h.n; ++j)
    for (uint32_t i = 0; i + 1 < j; ++i)
      if (same_class(h[i].id, h[j].id)) return false;
  return true;
}

void on_acquire(ThreadState* ts, uint64_t lock, LockKind kind, Mode mode, bool trylock,
                uint64_t ip, const ApiSite* api, unsigned subclass, uint64_t nest_lock,
                uint64_t* tag_slot) {
  try {
    Engine e(ts);
    Runtime& r = rt();
    if (!tag_slot && kind == LockKind::pthread_spinlock) tag_slot = side_tag_slot_claim(lock);
    LockInfo& li = lock_info(lock, kind, tag_slot);
    // An annotated lock's kind comes from its class (set at init); spinning ones guard sleeps.
    if (li.spin < 0) li.spin = default_wait_type(r.v->class_kind(li.cls)) == WaitType::spin;
    bool spin = li.spin > 0;
    ClassId cls = li.cls;
    // A spinning lock's chains are fast only for pthread spinlocks, whose prologue counts the
    // entry in spin_held (an annotated spinning class goes through the engine every time).
    bool fast_ok = li.tagged && (!spin || kind == LockKind::pthread_spinlock) && !api &&
                   subclass == 0 && nest_lock == 0;
    AcquireFlags fl;
    fl.mode = mode;
    fl.trylock = trylock;
    fl.subclass = static_cast<uint8_t>(subclass);
    fl.nest_lock = nest_lock;
    uint64_t reports = r.v->report_events();
    t_api_site = api;
    r.v->acquire(e.ctx(), lock, fl, Site{ip, kNoStack});
    t_api_site = nullptr;
    HeldStack& h = ts->held;
    if (h.n == h.cap) h.grow();  // under the internal lock: other threads read it under that lock
    // Annotated nesting (subclass, nest lock) makes a different chain from a plain acquisition.
    // A tagged plain mutex (kind 0) keeps memos; its entries say so (kMutexIdBit).
    bool tagged_mutex = kind == LockKind::pthread_mutex && tag_slot && li.tagged &&
                        plain_mutex(reinterpret_cast<const pthread_mutex_t*>(lock));
    uint64_t id = fast_id(cls, mode, trylock, ts->salt) | (uint64_t{subclass & 7u} << 3) |
                  (uint64_t{nest_lock != 0} << 6) | (spin ? kSpinIdBit : 0) |
                  (tagged_mutex ? kMutexIdBit : 0) | (g_fast ? 0 : kNoFastPopIdBit);
    uint64_t key = fast_mix((h.data + h.n)[-1].key, id);
    bool pair = h.n > 0 && same_class(h[h.n - 1].id, id);
    if (pair) key = pair_key(key, h[h.n - 1].lock, lock);
    h[h.n] = HeldEntry{lock, ip, id, key};
    h.n++;
    if (spin) ts->spin_held++;
    // The chain goes on the fast path once the engine has taken it without a word: a chain that
    // reports something keeps coming here, so its repeats are counted.
    // A chain holding two locks of one inferred class was validated for those locks only: it
    // may be skipped later only by a key that names them (pair_key), in the pair cache.
    bool per_instance = r.v->held_at(e.ctx(), r.v->held_count(e.ctx()) - 1).per_instance;
    if (fast_ok && per_instance && r.v->report_events() == reports && pairs_adjacent(h))
      pair_insert(key);
    if (fast_ok && !per_instance && r.v->report_events() == reports) {
      fast_insert(key);
      // The key memo serves nested acquisitions (a lone one is decided by the tag's usage bits);
      // the memos never learn a pair's key (fast_probe).
      if (tagged_mutex && h.n > 1 && !pair) write_tag(tag_slot + 1, key);
      if (tagged_mutex && h.n == 2 && mode == Mode::write && !pair)
        if (pthread_mutex_t* parent = memo_parent(ts, h.n - 1))  // below the entry just pushed
          child_memo_add(parent, child_code(id, ts->code_bits));
    }
    // The class's usage as of now, for later lone acquisitions of this lock.
    if (li.tagged && tag_slot) write_tag(tag_slot, make_tag(lock, cls, r.v->class_usage(cls)));
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at lock acquisition");
  }
}

void on_release(ThreadState* ts, uint64_t lock, uint64_t ip, const ApiSite* api) {
  // Held here: the engine learns of the release at this thread's next slow-path event.
  if (fast_release(ts, lock)) return;
  try {
    Engine e(ts);
    Runtime& r = rt();
    // Not held here and never seen taken anywhere: nothing to balance (taken before the runtime
    // started).
    if (!r.locks.contains(lock)) return;
    drop_orphan_holds(lock);  // a fork child unlocking what a thread left behind held
    // Held by another thread: it is handed over (the engine reports the unlock); that thread
    // drops it, or its later acquisitions would be judged as if it still held the lock.
    ThreadState* owner = nullptr;
    for (ThreadState* t = r.threads; t && !owner; t = t->next)
      if (t != ts && t->ctx)
        for (size_t i = 0; i < t->held.size() && !owner; ++i)
          if (t->held[i].lock == lock) owner = t;
    if (owner) sync_held(owner);  // the engine sees who holds it, for the report
    t_api_site = api;
    r.v->release(e.ctx(), lock, Site{ip, kNoStack});
    t_api_site = nullptr;
    if (owner) owner->handed_off.push_back(lock);
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at lock release");
  }
}

void on_might_sleep(ThreadState* ts, const char* what, uint64_t ip, const ApiSite* api) {
  try {
    Engine e(ts);
    t_api_site = api;
    rt().v->might_sleep(e.ctx(), Site{ip, kNoStack}, what ? what : "might_sleep");
    t_api_site = nullptr;
  } catch (...) {
    t_api_site = nullptr;
    stop("internal error at a sleeping call");
  }
}

void on_thread_end(ThreadState* ts, bool thread_gone) {
  try {
    {
      Engine e(ts);
      Runtime& r = rt();
      r.v->end_context(e.ctx(), Site{});
      ts->ctx = nullptr;
      ts->held.clear();
      ts->spin_held = 0;
      if (!thread_gone) return;  // the thread goes on: its next lock event opens a new context
      r.fast_acquisitions_done += ts->fast_acquisitions;
      for (ThreadState** p = &r.threads; *p; p = &(*p)->next) {
        if (*p == ts) {
          *p = ts->next;
          break;
        }
      }
    }
    Guard g;
    if (t_local.self == ts) {
      t_local.self = kEnded;
      t_local.epoch = 0;  // no fast path from here on (fast_acquiring_thread)
    }
    delete ts;
  } catch (...) {
    stop("internal error at thread exit");
  }
}

void on_irq(ThreadState* ts, Irq irq, bool enter) {
  try {
    Engine e(ts);
    if (enter) rt().v->irq_enter(e.ctx(), irq);
    else rt().v->irq_exit(e.ctx(), irq);
  } catch (...) {
    stop("internal error at interrupt entry");
  }
}

void on_irq_enable(ThreadState* ts, Irq irq, bool enable) {
  try {
    Engine e(ts);
    if (enable) rt().v->irq_enable(e.ctx(), irq);
    else rt().v->irq_disable(e.ctx(), irq);
  } catch (...) {
    stop("internal error at interrupt state change");
  }
}

void on_mask_change(ThreadState* ts) {
  if (ts->signal_depth > 0) return;  // the handler's mask is restored on return
  bool en = compute_signals_enabled(ts->mask);
  if (en == ts->signals_enabled && ts->ctx) return;
  ts->signals_enabled = en;
  on_irq_enable(ts, Irq::signal, en);
}

bool signal_handled(int sig) {
  return sig > 0 && sig < 64 && (g_handled.load(std::memory_order_relaxed) & (1ull << sig));
}

void set_signal_handled(int sig, bool handled) {
  if (sig <= 0 || sig >= 64) return;
  if (handled) g_handled.fetch_or(1ull << sig);
  else g_handled.fetch_and(~(1ull << sig));
  uint32_t e = g_sig_epoch.fetch_add(2) + 2;
  if (e == 0) e = g_sig_epoch.fetch_add(2) + 2;  // wrapped: 0 is the epoch of threads without state
  if (!g_fast) return;
  // Concurrent changes: g_fast_epoch only moves forward.
  uint64_t cur = g_fast_epoch.load();
  while (static_cast<int32_t>(e - static_cast<uint32_t>(cur >> 32)) > 0 &&
         !g_fast_epoch.compare_exchange_weak(cur, uint64_t{e} << 32)) {
  }
}

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::atomic<bool> g_fork_orphans{false};

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
      } else {
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
            if (i == pending) continue;
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
    std::string text = rt().opts.format == "json" ? render_json(fs, meta, ro) : render_text(fs, meta, ro);
    rt().report_lock.lock();
    write_all(log_fd(), text);
    rt().report_lock.unlock();
  } catch (...) {
    stop("internal error while reporting");
  }
}

namespace {
// Under `lockhound run`, processes the program starts (shells, pipelines) print their text
// summary only when they found something; the program itself always does.
// Read at start, not at exit: a forked child keeps its parent's value even when the program
// empties its environment (nginx does for its workers).
bool quiet_child() { return rt().run_pid > 0 && rt().run_pid != static_cast<int>(getpid()); }
}  // namespace

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
    if (r.opts.format == "json") {
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
      write_all(log_fd(), render_json(fs, meta, ro));
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

namespace {
// Names a thread in reports, past ones included (internal lock held).
void rename_thread(ThreadState* t, const char* name) {
  t->name = std::string(name) + " (tid " + std::to_string(t->tid) + ")";
  if (t->ctx) rt().v->rename_context(t->ctx, t->name);
}
}  // namespace

void set_thread_name(ThreadState* ts, const char* name) {
  if (!ts || !name) return;
  Guard g;
  Runtime& r = rt();
  r.lock.lock();
  rename_thread(ts, name);
  ts->api_named = true;
  r.lock.unlock();
}

void on_thread_named(pthread_t thread, const char* name) {
  if (!name || !*name) return;
  Guard g;
  Runtime& r = rt();
  r.lock.lock();
  for (ThreadState* t = r.threads; t; t = t->next)
    if (t->handle == thread && !t->api_named) rename_thread(t, name);
  r.lock.unlock();
}

// ------------------------------------------------------------------------- process start/end
__attribute__((constructor)) static void lockhound_runtime_start() { ensure_init(); }

__attribute__((destructor)) static void lockhound_runtime_end() {
  if (g_state.load() == static_cast<int>(State::uninit) || !g_rt) return;
  Runtime& r = rt();
  if (static_cast<int>(getpid()) != r.pid) return;
  r.report_lock.lock();
  bool done = r.finished;
  r.report_lock.unlock();
  if (done) return;
  // Something was found: end with exitcode, like the sanitizers. stdio is flushed first
  // because _exit skips it.
  int code = finish(0);
  if (code != 0) {
    fflush(nullptr);
    real::exit_now(code);
  }
}

}  // namespace lockhound::runtime
