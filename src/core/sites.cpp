#include "core/sites.h"

#include <cinttypes>
#include <cstdio>

namespace lockhound {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

// Function-name prefixes of lock implementations, lock validators and the code that reports a
// hang: kernel (lockdep, spinlock and mutex internals, the scheduler's entry points), BSD
// WITNESS, glibc's pthread and C11 threads, libstdc++'s lock types, and lockhound's own API.
constexpr std::string_view kUserMachinery[] = {
    "lockhound", "pthread_", "__pthread", "___pthread", "__lll_", "lll_", "__GI_", "__futex",
    "futex_", "mtx_", "cnd_", "__gthread", "std::", "__gnu_cxx::", "__cxxabiv1::",
};
// The kernel's: they apply to kernel frames (and to inputs that do not say where a frame lives),
// never to a program's own functions: a user's `schedule()` or `print_totals()` is user code.
constexpr std::string_view kKernelMachinery[] = {
    // kernel lock implementations and lockdep
    "lock_acquire", "__lock_acquire", "lock_release", "__lock_release", "validate_chain",
    "check_prev", "check_noncircular", "check_irq_usage", "check_usage", "check_deadlock", "print_",
    "mark_lock", "mark_usage", "mark_held_locks", "_raw_", "__raw_", "do_raw_", "__mutex_",
    "mutex_lock", "mutex_unlock", "down_read", "down_write", "__down", "rwsem_", "percpu_down",
    "__percpu_down", "rt_spin", "rt_mutex", "__rt_mutex", "rt_read", "rt_write", "ww_mutex",
    "__ww_mutex", "spin_lock", "spin_unlock", "read_lock", "write_lock", "queued_",
    "native_queued", "__pv_queued", "lock_sock_nested", "lock_sock", "_atomic_dec_and_lock",
    "lock_map_acquire", "rcu_lock_acquire", "rcu_read_lock", "__rcu_read_lock",
    "fs_reclaim_acquire", "touch_wq_lockdep_map", "percpu_rwsem", "register_lock_class",
    "look_up_lock_class", "lockdep_", "__lockdep_init_map", "debug_check", "debug_lockdep",
    // reporting and waiting
    "dump_stack", "__dump_stack", "show_stack", "dump_backtrace", "trace_hardirqs", "__might_sleep",
    "___might_sleep", "__might_resched", "might_sleep", "__schedule", "schedule",
    "preempt_schedule", "context_switch", "__schedule_bug", "kasan_", "__kasan", "__sanitizer",
    "arch_stack_walk", "stack_trace_save", "save_stack", "unwind_", "nmi_cpu_backtrace",
    "nmi_trigger", "watchdog_", "__warn", "warn_slowpath", "report_bug", "handle_bug",
    "exc_invalid_op", "asm_exc", "wait_for_completion", "__wait_for_common", "wait_for_common",
    "do_wait_for_common", "io_schedule", "bit_wait", "out_of_line_wait", "__flush_work",
    "flush_work", "start_flush_work", "__sb_start_write", "sb_start_write", "percpu_ref",
    "msleep", "usleep_range", "schedule_timeout", "do_nanosleep",
    // BSD WITNESS and friends
    "witness_", "rw_enter", "rrw_enter", "mtx_enter", "__mtx_enter", "db_enter",
};

// Shared objects whose frames are never the user's code.
constexpr std::string_view kRuntimeObjects[] = {
    "liblockhound", "libc.so", "libpthread.so", "ld-linux", "libstdc++.so", "libgcc_s.so",
    "libc++.so", "libc++abi.so",
};

std::string basename_if_long(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && path.size() > 40) return path.substr(slash + 1);
  return path;
}

}  // namespace

bool is_plumbing(const Frame& fr) {
  std::string_view fn = fr.function;
  for (auto p : kUserMachinery)
    if (starts_with(fn, p)) return true;
  // A template's return type first: "void std::__invoke_impl<…>(…)".
  if (size_t sp = fn.substr(0, fn.find('(')).find(" std::"); sp != std::string_view::npos && fn.find('(') > sp)
    return true;
  // A frame of a user-space program or library (the runtime and attach name its file).
  bool user_space = starts_with(fr.object, "/");
  if (!user_space) {
    for (auto p : kKernelMachinery)
      if (starts_with(fn, p)) return true;
    // The kernel's bare down()/up() semaphore calls.
    if (fn == "down" || fn == "up") return true;
  }
  for (auto o : kRuntimeObjects)
    if (contains(fr.object, o)) return true;
  // Code inlined from the toolchain's and libc's headers (gthr-default.h, bits/std_mutex.h).
  if (starts_with(fr.file, "/usr/include/") || starts_with(fr.file, "/usr/lib/gcc/") ||
      contains(fr.file, "/include/c++/"))
    return true;
  return false;
}

std::string_view library_of(const Frame& fr) {
  std::string_view obj = fr.object, fn = fr.function, file = fr.file;
  if (contains(obj, "liblockhound")) return "lockhound";
  if (contains(obj, "libstdc++.so") || contains(obj, "libc++.so") || contains(obj, "libc++abi.so"))
    return "libstdc++";
  if (contains(obj, "libgcc_s.so")) return "libgcc";
  if (contains(obj, "libc.so") || contains(obj, "libpthread.so") || contains(obj, "ld-linux"))
    return "libc";
  // Code of the standard library's headers, inlined into (or instantiated in) the program.
  for (std::string_view p : {"std::", "__gnu_cxx::", "__cxxabiv1::", "__gthread", "void std::", "bool std::"})
    if (starts_with(fn, p)) return "libstdc++";
  if (contains(file, "/include/c++/") || ends_with(file, "gthr-default.h") || ends_with(file, "gthr-posix.h"))
    return "libstdc++";
  if (starts_with(file, "/usr/include/")) return "libc";
  return "";
}

std::string describe_frame(const Frame& fr) {
  std::string s;
  if (!fr.function.empty()) {
    s = fr.function;
    // Kernel frames: "+0x69" without the function's size; the module when it is one.
    std::string off = fr.offset;
    if (size_t sl = off.find('/'); sl != std::string::npos) off.resize(sl);
    s += off;
    if (!off.empty() && !fr.object.empty() && fr.file.empty() && fr.object.find('/') == std::string::npos &&
        !ends_with(fr.object, ".so") && !contains(fr.object, ".so."))
      s += " [" + fr.object + "]";
  }
  if (!fr.file.empty()) {
    std::string loc = basename_if_long(fr.file);
    if (fr.line) loc += ":" + std::to_string(fr.line);
    s = s.empty() ? loc : s + " (" + loc + ")";
  }
  if (s.empty() && !fr.object.empty() && !fr.offset.empty()) {
    // No symbols: the object and the offset in it ("unbound+0x7854b"), as addr2line takes it.
    std::string obj = fr.object.substr(fr.object.rfind('/') + 1);
    return obj + fr.offset;
  }
  if (s.empty() && fr.pc) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, fr.pc);
    s = buf;
    if (!fr.object.empty()) s += " in " + fr.object;
  }
  return s;
}

const Frame* user_frame(const Stack& stack) {
  for (const auto& fr : stack) {
    if (is_plumbing(fr)) continue;
    if (!fr.function.empty() || !fr.file.empty() || fr.pc) return &fr;
  }
  return nullptr;
}

std::string site_of(const Stack& stack, std::string_view fallback) {
  if (const Frame* f = user_frame(stack)) {
    std::string s = describe_frame(*f);
    if (!s.empty()) return s;
  }
  for (const auto& fr : stack) {
    std::string s = describe_frame(fr);
    if (!s.empty()) return s;
  }
  return std::string(fallback);
}

std::string site_of(const Acquisition& a, std::string_view fallback) {
  if ((!a.site.function.empty() || !a.site.file.empty()) && !is_plumbing(a.site)) return describe_frame(a.site);
  return site_of(a.stack, fallback);
}

std::string lock_primitive(const Stack& stack) {
  for (const auto& f : stack) {
    std::string_view fn = f.function;
    if (size_t dot = fn.find('.'); dot != std::string_view::npos) fn = fn.substr(0, dot);
    if (starts_with(fn, "_raw_") || starts_with(fn, "__raw_")) {
      fn.remove_prefix(starts_with(fn, "_raw_") ? 5 : 6);
      return std::string(fn);  // spin_lock, spin_lock_irqsave, read_lock, write_lock_bh, ...
    }
    if (starts_with(fn, "rt_spin_lock")) return "spin_lock";
    if (starts_with(fn, "mutex_lock") || starts_with(fn, "__mutex_lock")) return "mutex_lock";
    if (starts_with(fn, "down_read") || starts_with(fn, "percpu_down_read")) return "down_read";
    if (starts_with(fn, "down_write") || starts_with(fn, "percpu_down_write")) return "down_write";
    if (starts_with(fn, "lock_sock")) return "lock_sock";
    if (fn == "down" || starts_with(fn, "down_interruptible") || starts_with(fn, "down_killable") ||
        starts_with(fn, "down_timeout"))
      return "down";
    if (starts_with(fn, "wait_for_completion")) return "wait_for_completion";
    if (starts_with(fn, "rw_enter") || starts_with(fn, "rrw_enter")) return "rw_enter";
    if (starts_with(fn, "mtx_enter")) return "mtx_enter";
    for (std::string_view p : {"pthread_mutex_lock", "pthread_mutex_trylock", "pthread_rwlock_rdlock",
                               "pthread_rwlock_wrlock", "pthread_spin_lock"})
      if (fn == p || (starts_with(fn, "__") && fn.substr(2) == p) || (starts_with(fn, "___") && fn.substr(3) == p))
        return std::string(p);
  }
  return "";
}

std::string lock_primitive(const Acquisition& a) { return a.call.empty() ? lock_primitive(a.stack) : a.call; }

std::string irqsafe_variant(std::string_view call, bool softirq) {
  std::string base(call);
  for (std::string_view suf : {"_irqsave", "_irq", "_bh", "_nested"})
    if (ends_with(base, suf)) base.resize(base.size() - suf.size());
  if (base.empty()) base = "spin_lock";
  return base + (softirq ? "_bh" : "_irqsave");
}

std::string unlock_variant(std::string_view call) {
  std::string s(call);
  if (size_t p = s.find("lock"); p != std::string::npos) s.replace(p, 4, "unlock");
  if (ends_with(s, "_irqsave")) s.replace(s.size() - 8, 8, "_irqrestore");
  return s;
}

}  // namespace lockhound
