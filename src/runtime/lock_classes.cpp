// Lock classes of real code: a lock made by an init call is classed by the place it was made (the
// call and the frames outward), a static one by its symbol, any other by its address and
// lifetime. Each lock carries its class in a tag for the fast path. Modules that dlclose takes away.
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
#include <fstream>
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
// cycle. The name (made when first needed: site_name) is the init site and its caller,
// "init_fn (file:line) from caller (file:line)", plus as many outer frames as it takes to tell it
// from classes named before it.
ClassId class_for_site(const SiteKey& key, LockKind kind, const ApiSite* api) {
  Runtime& r = rt();
  if (api && api->file) {
    std::string name = std::string(api->func ? api->func : "?") + " (" +
                       base_name(api->file) + ":" + std::to_string(api->line) + ")";
    return r.v->lock_class(name, kind);
  }
  auto it = r.site_classes.find(key);
  if (it != r.site_classes.end()) return it->second;
  ClassId cls = r.v->unique_class("", kind);
  // A guess: locks made at one place are often nested on purpose (parent and child, a table's
  // buckets); the engine checks such nesting per pair of locks rather than calling it recursive.
  r.v->set_class_inferred(cls);
  r.site_classes.emplace(key, cls);
  r.unnamed.push_back({Runtime::Unnamed::init_site, kind, cls, uint32_t(r.unnamed_sites.size())});
  r.unnamed_sites.push_back(key);
  return cls;
}

// A frame as a class name says where: "transfer (bank.cpp:31)", the function without its
// parameters (a class name carries several of these; C++ signatures made them unreadable).
std::string frame_place(const Frame& f) {
  return symbolize::without_parameters(f.function) + " (" + base_name(f.file) + ":" + std::to_string(f.line) + ")";
}

// Line `line` of a source file, "" when it cannot be read or was changed after `object` (the
// module whose debug information named it) was built: its lines may no longer be the ones the
// line table counts, and a name read from another line would be wrong. The last file read is
// kept: a run names its classes in a batch, most of them from a few files.
std::string source_line(const std::string& file, unsigned line, const std::string& object) {
  static std::string cached_file;
  static std::vector<std::string> cached_lines;
  if (file.empty() || line == 0) return "";
  // A regular file of a source's size only: the debug information may name anything
  // (/dev/zero would be read for ever, a named pipe with no writer waited on).
  struct stat src, obj;
  if (stat(file.c_str(), &src) != 0 || !S_ISREG(src.st_mode) || src.st_size > (64 << 20)) return "";
  if (!object.empty() && stat(object.c_str(), &obj) == 0 &&
      (src.st_mtim.tv_sec > obj.st_mtim.tv_sec ||
       (src.st_mtim.tv_sec == obj.st_mtim.tv_sec && src.st_mtim.tv_nsec > obj.st_mtim.tv_nsec)))
    return "";
  if (file != cached_file) {
    cached_file = file;
    cached_lines.clear();
    std::ifstream in(file);
    std::string l;
    while (in && cached_lines.size() < 1000000 && std::getline(in, l)) cached_lines.push_back(std::move(l));
  }
  return line <= cached_lines.size() ? cached_lines[line - 1] : "";
}

std::string site_name(const SiteKey& key) {
  Runtime& r = rt();
  // The places, innermost first: the init call's line, the functions it was inlined into (a
  // helper inlined into main is "from main", not from main's caller), then each caller's; and
  // the lock as the init call's line writes it (`t->buckets[i]`).
  std::vector<std::string> places{describe_site(key[0])};
  std::string expr;
  r.report_lock.lock();
  const std::vector<Frame> inlined = sym().frames(key[0]);
  r.report_lock.unlock();
  for (size_t k = 1; k < inlined.size(); ++k)
    if (!inlined[k].function.empty() && !inlined[k].file.empty() && inlined[k].line)
      places.push_back(frame_place(inlined[k]));
  for (size_t i = 1; i < kSiteFrames && key[i]; ++i) places.push_back(describe_site(key[i]));
  if (!inlined.empty() && inlined[0].line)
    expr = symbolize::lock_expression(source_line(inlined[0].file, inlined[0].line, inlined[0].object),
                                         inlined[0].column);
  std::string name = (expr.empty() ? "" : expr + " initialised in ") + places[0];
  for (size_t i = 1; i < places.size(); ++i) {
    if (i >= 2 && !r.site_names.contains(name)) break;
    name += " from " + places[i];
  }
  std::string plain = name;
  for (int n = 2; r.site_names.contains(name); ++n)  // the same lines, other addresses
    name = plain + " #" + std::to_string(n);
  r.site_names.insert(name);
  return name;
}

// Set while after_dlclose names classes from the modules as they were: the symbolizer's map must
// not be refreshed then, or it would forget the module that just went.
bool g_map_as_it_was = false;

void refresh_map() {
  if (!g_map_as_it_was) sym().refresh();
}

std::string api_site_name(const ApiSite* api) {
  return std::string(api->func ? api->func : "?") + " (" + base_name(api->file) + ":" + std::to_string(api->line) + ")";
}

// Where a lock with no init call and no symbol (a std::mutex member of an object made with new)
// was first locked: the first frame of the user's code on the stack of its class's first use
// (past libc, libstdc++ and the toolchain's headers; lockhound's own frames are not in it),
// "function (file:line)"; "" when that frame has no function and line. Under the report lock, as
// every use of the symbolizer.
std::string first_lock_site(std::span<const Frame> stack, size_t* user_at = nullptr, Frame* user = nullptr) {
  Runtime& r = rt();
  std::string name;
  if (user_at) *user_at = SIZE_MAX;
  r.report_lock.lock();
  refresh_map();  // a module loaded or unloaded since the map was read (dlopen'ed plugins)
  // Stops at the user's frame, named or not: nothing further out is where it was locked, and
  // resolving further out would reach libc's thread start, whose line table is large.
  bool user_frame = false;
  for (size_t i = 0; i < stack.size() && !user_frame; ++i) {
    if (!stack[i].function.empty()) {  // named already: the API's site, or a signal frame
      if (stack[i].file.empty() || !stack[i].line || is_plumbing(stack[i])) continue;
      name = frame_place(stack[i]);
      break;
    }
    for (const Frame& fr : sym().frames(stack[i].pc)) {
      if (is_plumbing(fr)) continue;
      if (!fr.function.empty() && !fr.file.empty() && fr.line) {
        name = frame_place(fr);
        if (user_at) *user_at = i;
        if (user) *user = fr;
      }
      user_frame = true;
      break;
    }
  }
  r.report_lock.unlock();
  return name;
}

// A static lock's name: its symbol ("lock"), with its file when two statics of a module share
// it ("lock (queue.c)", from the debug information), else its library's file when another
// library has a static of that name ("lock (libplugin.so)"), else its address too.
std::string symbol_name(uint64_t lock, LockKind kind) {
  Runtime& r = rt();
  std::string name;
  r.report_lock.lock();
  refresh_map();
  bool ok = sym().describe_data(lock, name);
  r.report_lock.unlock();
  if (!ok) name = std::string(kind_prefix(kind)) + "@" + hex(lock);
  auto sc = r.static_classes.find(lock);
  std::string module = sc != r.static_classes.end() ? sc->second.module : std::string();
  auto owner = r.static_names.try_emplace(name, lock, module).first;
  if (owner->second != std::pair(lock, module)) {
    std::string object = module.substr(0, module.rfind('@'));
    name += " (" + std::filesystem::path(object).filename().string() + ")";
    owner = r.static_names.try_emplace(name, lock, module).first;
    if (owner->second != std::pair(lock, module)) name += "@" + hex(lock);
  }
  return name;
}

// A heap lock's name: "mutex first locked in transfer (bank.cpp:31)", "… #2" for the next lock
// first locked there; by address and lifetime when no frame there has a line.
std::string first_lock_name(const Runtime::Unnamed& u) {
  Runtime& r = rt();
  StackId first = r.v->first_use_stack(u.cls);
  size_t user_at = SIZE_MAX;
  Frame user;
  std::string site = first == kNoStack ? std::string() : first_lock_site(r.v->stack(first), &user_at, &user);
  if (!site.empty()) {
    std::string name = std::string(kind_prefix(u.kind));
    // In the frame that made the lock call itself (its inlined functions included), the
    // registers saved at that call find the variable the lock lies in: "Account::mu".
    if (u.regs && user_at == 0) {
      const Runtime::FirstCall& fc = r.unnamed_regs[u.regs - 1];
      static constexpr int kDwarfReg[7] = {7, 6, 3, 12, 13, 14, 15};  // rsp rbp rbx r12-r15
      symbolize::CallRegisters regs;
      for (int i = 0; i < 7; ++i)
        if (fc.below[i] != Runtime::FirstCall::kFar) regs.set(kDwarfReg[i], u.lock - static_cast<int64_t>(fc.below[i]));
      std::string member;
      r.report_lock.lock();
      bool named = sym().describe_object_at(r.v->stack(first)[0].pc, regs, u.lock, member);
      r.report_lock.unlock();
      if (named) name = std::move(member);
    }
    // Else as the source line writes it (`from->mu`), when the source is there to read.
    if (name == kind_prefix(u.kind)) {
      std::string expr = symbolize::lock_expression(source_line(user.file, user.line, user.object), user.column);
      if (!expr.empty()) name = std::move(expr);
    }
    name += kFirstLockedIn + site;
    uint32_t& seen = r.first_lock_sites[name];
    if (++seen > 1) name += " #" + std::to_string(seen);
    return name;
  }
  std::string name = std::string(kind_prefix(u.kind)) + "@" + hex(u.lock);
  if (u.index) name += "#" + std::to_string(u.index + 1);
  return name;
}

void name_classes(ClassId cls) {
  Runtime& r = rt();
  while (r.unnamed_done < r.unnamed.size() && r.unnamed[r.unnamed_done].cls <= cls) {
    const Runtime::Unnamed u = r.unnamed[r.unnamed_done++];
    std::string name;
    switch (u.how) {
      case Runtime::Unnamed::init_site: name = site_name(r.unnamed_sites[u.index]); break;
      case Runtime::Unnamed::symbol: name = symbol_name(u.lock, u.kind); break;
      case Runtime::Unnamed::first_lock: name = first_lock_name(u); break;
    }
    r.v->set_class_name(u.cls, std::move(name));
  }
  if (r.unnamed_done == r.unnamed.size() && r.unnamed_done > 0) {  // all named: let the records go
    r.unnamed = {};
    r.unnamed_done = 0;
    r.unnamed_sites = {};
    r.unnamed_regs = {};
  }
}

// The caller's registers at this lock's first lock call (saved by the interposer for this call),
// each kept as its distance below the lock, when one of them is near it: the caller's variable
// the lock lies in is found from them when the class is named. 1 + the record's index, or 0.
uint32_t keep_first_call(uint64_t lock) {
  Runtime& r = rt();
  if (!r.call_regs || r.call_regs->lock != lock) return 0;
  const CallRegs& c = *r.call_regs;
  const uint64_t regs[7] = {r.call_frame.sp, r.call_frame.fp, c.rbx, c.r12, c.r13, c.r14, c.r15};
  Runtime::FirstCall fc;
  bool near = false;
  for (int i = 0; i < 7; ++i) {
    int64_t d = static_cast<int64_t>(lock - regs[i]);
    bool fits = regs[i] != 0 && d > Runtime::FirstCall::kFar && d <= INT32_MAX;
    fc.below[i] = fits ? static_cast<int32_t>(d) : Runtime::FirstCall::kFar;
    near |= fits && d > -(int64_t{1} << 20) && d < (int64_t{1} << 20);  // into an object it may lie in
  }
  if (!near) return 0;
  r.unnamed_regs.push_back(fc);
  return static_cast<uint32_t>(r.unnamed_regs.size());
}

// The class of a lock first seen at lock time (static initialiser, std::mutex): a static lock is
// a class of its own, named by its symbol; any other lock is a class of its own, named by where it
// was first locked, else by address and lifetime. Named when first needed (name_classes).
LockInfo class_for_instance(uint64_t lock, LockKind kind, const ApiSite* api) {
  Runtime& r = rt();
  LockInfo li;
  // A static lock destroyed before is a new lock now (a recycled slot of a static pool, a static
  // buffer reused with placement new): named by address and lifetime below, never its old class.
  if (is_static(lock) && !r.static_destroyed.contains(lock)) {
    std::string object;
    uint64_t offset = 0;
    r.report_lock.lock();
    sym().refresh();  // a module loaded or unloaded since the map was read: cheap otherwise
    sym().locate(lock, object, offset);
    r.report_lock.unlock();
    std::string module = object + "@" + hex(lock - offset);
    auto it = r.static_classes.find(lock);
    if (it != r.static_classes.end() && it->second.module == module) {
      li.cls = it->second.cls;
      return li;
    }
    li.cls = r.v->unique_class("", kind);
    r.static_classes[lock] = {li.cls, std::move(module)};
    r.unnamed.push_back({Runtime::Unnamed::symbol, kind, li.cls, 0, 0, lock});
    return li;
  }
  li.by_address = true;
  if (api && api->file) {
    // Unique by the count of locks first locked at that place: no other lock can ask for this
    // class by name (its next life after a destroy is named afresh, where it is locked then).
    std::string name = std::string(kind_prefix(kind)) + kFirstLockedIn + api_site_name(api);
    uint32_t& seen = r.first_lock_sites[name];
    if (++seen > 1) name += " #" + std::to_string(seen);
    li.cls = r.v->unique_class(std::move(name), kind);
    return li;
  }
  // Address and lifetime make the name unique: no other lock can ask for this class by name.
  li.cls = r.v->unique_class("", kind);
  auto g = r.generations.find(lock);
  r.unnamed.push_back({Runtime::Unnamed::first_lock, kind, li.cls, g != r.generations.end() ? g->second : 0,
                       keep_first_call(lock), lock});
  return li;
}

void end_lifetime(uint64_t lock) {
  Runtime& r = rt();
  auto it = r.locks.find(lock);
  if (it == r.locks.end()) return;
  if (it->second.by_address) r.generations[lock]++;
  if (it->second.site_class) g_pair_epoch.fetch_add(1, std::memory_order_relaxed);
  r.locks.erase(it);
}

// Called at every lock init and every acquisition the engine sees (internal lock held): the
// engine's own count is cheap to read, so every 1024th event looks, which keeps the overshoot to
// what 1024 new classes, edges or pairs take.
void check_memory() {
  Runtime& r = rt();
  if (++r.inits_since_check < 1024) return;
  r.inits_since_check = 0;
  uint64_t bytes = r.v->stats().memory_bytes + (r.fast_cur ? (r.fast_cur[0] + 1) * 16 : 0);
  if (bytes > static_cast<uint64_t>(r.opts.max_memory_mb) << 20)
    stop("memory budget of " + std::to_string(r.opts.max_memory_mb) +
         " MiB reached (max_memory_mb)");
}

void write_tag(uint64_t* slot, uint64_t tag) { __atomic_store_n(slot, tag, __ATOMIC_RELAXED); }


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

// The first tag of a lock's lifetime: a mutex's child memo belongs to the lifetime before.
void write_first_tag(uint64_t lock, LockKind kind, uint64_t* slot, uint64_t tag) {
  if (kind == LockKind::pthread_mutex) child_memo_clear(reinterpret_cast<pthread_mutex_t*>(lock));
  write_tag(slot, tag);
}

// The lock's record, created on first sight. A lock that carried a tag and no longer does was
// made anew without an init call (a std::mutex constructed where another one lived, a memset, a
// struct copy): a new lifetime, which inherits nothing from the old one.
LockInfo& lock_info(uint64_t lock, LockKind kind, uint64_t* tag_slot, const ApiSite* api) {
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
  LockInfo li = class_for_instance(lock, kind, api);
  r.v->lock_init(lock, li.cls);
  r.lock_lifetimes++;
  check_memory();
  if (tag_slot && li.cls <= kMaxTaggedClass) {
    write_first_tag(lock, kind, tag_slot, make_tag(lock, li.cls));
    li.tagged = true;
  }
  return r.locks.emplace(lock, li).first->second;
}

std::vector<std::pair<uint64_t, uint64_t>> loaded_segments() {
  Guard g;
  std::vector<Range> ranges;
  dl_iterate_phdr(collect_segments, &ranges);
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& rg : ranges) out.emplace_back(rg.lo, rg.hi);
  return out;
}

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
    // Classes still unnamed are named from the modules as they were: their init sites, statics
    // and first-lock stacks may lie in the library that went.
    struct AsItWas {
      AsItWas() { g_map_as_it_was = true; }
      ~AsItWas() { g_map_as_it_was = false; }
    };
    {
      AsItWas keep;
      name_classes(kNoClass - 1);
    }
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

}  // namespace lockhound::runtime
