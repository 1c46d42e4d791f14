// Stack capture and symbolization: return addresses -> function, file, line, object.
//
// Used by the runtime (stacks of acquisitions, names of static locks and init sites), by
// `lockhound attach` (another process's threads) and by the reports. Capture is cheap and
// allocation-free so it can run inside an interposed lock call; symbolization is expensive
// (it reads ELF symbol tables and DWARF) and is meant to run lazily, at report time, with its
// results cached per address.
//
// What it promises:
//   - capture_stack() takes no lock of its own and works from signal handlers; it uses libgcc's
//     unwinder (the one C++ exceptions use) or, after load_fast_unwinder(), libunwind's cached
//     backtrace, which maps its per-thread cache on first use;
//   - Symbolizer resolves addresses in the executable (PIE or not) and every shared library
//     mapped at the time of the last refresh(); it expands inlined calls into frames of their
//     own (innermost first) and demangles C++ names; missing debug information degrades to the
//     symbol table, then to "object+0xoffset", never to an error;
//   - describe_data() names a statically allocated object by its symbol ("ledger_lock"), a lock
//     inside one by the members DWARF says it lies in ("bank.audit_mu", "pool.workers[3].mu";
//     "table+0x40" without debug information), and says whether an address lies in a module's
//     image at all.
//
// Thread safety: capture_stack() is thread-safe. A Symbolizer is not: callers serialise.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"

namespace lockhound::symbolize {

// Return addresses of the calling thread, innermost first, after dropping `skip` frames
// (0 = the caller of capture_stack is the first frame). Returns the number stored.
size_t capture_stack(uint64_t* pcs, size_t max, size_t skip = 0);
// The same with each frame's CFA (canonical frame address: the caller's stack pointer just before
// the call that made the frame) in cfas. Always libgcc's unwinder, which interprets the unwind
// tables every time: for rare paths (a held lock's callers, held_stack_hook).
size_t capture_stack_cfa(uint64_t* pcs, uint64_t* cfas, size_t max, size_t skip = 0);
// Makes capture_stack() use libunwind (loaded privately, if installed), which caches unwind
// information per return address and is several times cheaper on repeated paths; false: not
// available, libgcc's unwinder stays. Call it where loading a library is safe (startup).
bool load_fast_unwinder();
// The address signal handlers return to (the C library's rt_sigreturn trampoline), once known.
// With libunwind, the frame after it in a captured stack is the interrupted instruction itself,
// not a return address: capture_stack adds 1 to it, as libgcc's path does, so consumers can
// always look up pc - 1.
void set_signal_return(uint64_t pc);
uint64_t signal_return();

// "_ZN3foo3barEv" -> "foo::bar()"; anything that is not a mangled C++ name comes back as is.
// The standard library's types read as the source writes them (tidy_std_types).
std::string demangle(std::string_view name);

// A demangled name with the standard library's types as a program writes them:
// "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >" ->
// "std::string", "std::vector<int, std::allocator<int> >" -> "std::vector<int>", the default
// comparators, hashes, allocators and deleters of the containers and std::unique_ptr left out,
// "std::__cxx11::" -> "std::".
std::string tidy_std_types(std::string name);

// A demangled function name without its parameter list and trailing qualifiers, for names that
// must stay short (lock classes): "Monitor::Monitor(int, char const*) const" -> "Monitor::Monitor",
// "std::function<void (int)>::operator()(int) const" -> "std::function<void (int)>::operator()".
std::string without_parameters(std::string_view name);

// The lock a line of source takes at `column` (1-based, the debug information's column of the
// call; 0: unknown, the whole line), as the line writes it: the argument of a lock call or of a
// guard's constructor ("from->mu" in `std::lock_guard<std::mutex> g(from->mu);`, "p->lock" in
// `pthread_mutex_lock(&p->lock);`), or the object of a lock method ("cache_mu" in
// `cache_mu.lock();`). "" when the line does not say it alone: several locks in one call
// (`std::scoped_lock l(a, b)`), a call that goes on to the next line, anything but a plain
// expression of names, members, indices and pointers.
std::string lock_expression(std::string_view text, unsigned column);

// A call's registers as its caller had them at the call, by DWARF's x86-64 numbers (rbx 3,
// rbp 6, rsp 7, r12-r15 12-15): what describe_object_at evaluates variables' locations with.
struct CallRegisters {
  uint64_t value[17] = {};
  uint32_t known = 0;  // bit r: value[r] is known
  void set(int r, uint64_t v) {
    value[r] = v;
    known |= 1u << r;
  }
  bool has(uint64_t r) const { return r < 17 && (known >> r & 1); }
};

class Symbolizer {
 public:
  // pid 0: the calling process.
  explicit Symbolizer(pid_t pid = 0);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Frames for one return address (pc - 1 is looked up, so a call's own line is found), the
  // innermost inlined callee first and the real function last. Never empty: an unknown address
  // gives one frame with only pc set.
  const std::vector<Frame>& frames(uint64_t pc, bool return_address = true);

  // Fills in every frame of `stack` that has a pc and no function yet, expanding inlined calls.
  void fill(Stack& stack);

  // One-line description of a code address: "function (file.c:42)", "function", or
  // "libfoo.so+0x1234"; file is the base name.
  std::string describe_code(uint64_t pc, bool return_address = true);

  // If addr lies in a loaded module's image, sets name to its symbol (inside a larger object:
  // with the members it lies in, down to the first one the user did not write (std::mutex's
  // _M_mutex), then "+0xoff" for what is left) or "module+0xoff" when no symbol covers it, and
  // returns true. A local (static) object whose name another object of the module has too is
  // named with its source file as the symbol table records it: "lock (queue.c)".
  bool describe_data(uint64_t addr, std::string& name);

  // The variable of the caller's code that `addr` lies in, at the call whose return address is
  // `pc` and whose registers were `regs`: among the parameters and variables in scope there (of
  // the inlined functions the call lies in and of the function itself), one whose location the
  // registers give and whose object holds addr as a member the user wrote. A pointer or
  // reference (`this` too) is named by its type, "Account::mu"; an object of the frame by its
  // variable, "bank.audit_mu". False when none is found: no debug information, no location known
  // at that point (entry values, memory), a library's type (std::), or addr not in any of them.
  bool describe_object_at(uint64_t pc, const CallRegisters& regs, uint64_t addr, std::string& name);

  // The CFA of a frame whose return address (or, return_address false, instruction) is `pc`, from
  // the module's call frame information (.eh_frame, else .debug_frame), given the frame's stack
  // pointer `sp` and frame pointer register `fp` (0: unknown) at that point. False when the module
  // has no rule for pc or the rule needs another register or an expression.
  bool frame_cfa(uint64_t pc, uint64_t sp, uint64_t fp, uint64_t& cfa, bool return_address = true);

  // The module an address lies in (its file) and the address's offset from the module's start.
  bool locate(uint64_t addr, std::string& object, uint64_t& offset);

  // Re-reads the memory map if a module was loaded or unloaded since it was last read (for
  // another process: always). Cached results stay.
  void refresh();

  // Drops the cached frames of code addresses in [lo, hi): a module there was unloaded, and the
  // next one loaded there must not be named after it.
  void forget(uint64_t lo, uint64_t hi);

 private:
  bool describe_data_here(uint64_t addr, std::string& name);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lockhound::symbolize
