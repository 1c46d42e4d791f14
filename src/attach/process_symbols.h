// ProcessSymbols: libdw's view of a stopped process — unwinding each thread's stack (CFI from
// .eh_frame / .debug_frame, through libdw's Dwfl) and symbolizing code and data addresses
// (functions with file:line where debug information exists, static lock objects by their ELF
// symbol). Kept inside src/attach so the ptrace front end does not depend on the runtime's
// symbolizer; it is small and owns one Dwfl for the duration of one attach.
//
// Requires the threads to be ptrace-stopped by the caller (PtraceSession): libdw is told so and
// neither attaches nor detaches on its own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/finding.h"

namespace lockhound::attach {

class ProcessSymbols {
 public:
  ProcessSymbols();
  ~ProcessSymbols();
  ProcessSymbols(const ProcessSymbols&) = delete;
  ProcessSymbols& operator=(const ProcessSymbols&) = delete;

  // Reports the process's modules (/proc/PID/maps) and prepares unwinding of its (stopped)
  // threads. False with `error` when libdw cannot read the process.
  bool open(pid_t pid, std::string& error);

  // The call stack of one stopped thread, innermost first, symbolized. `error` is set (and the
  // frames found so far returned) when unwinding stopped early for a reason other than the end.
  Stack unwind(pid_t tid, std::string* error = nullptr, size_t max_frames = 256);

  // A frame for one code address (`pc` already adjusted to lie inside the call instruction).
  Frame symbolize_code(uint64_t pc);

  // The data symbol covering `address` ("lock_a", "g_state+8"), if a module's symbol table has
  // one. `exact` tells whether the address is the symbol's start.
  struct DataSymbol {
    std::string name;
    uint64_t offset = 0;
    uint64_t size = 0;
    std::string module;
  };
  std::optional<DataSymbol> data_symbol(uint64_t address);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lockhound::attach
