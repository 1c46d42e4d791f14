#include "attach/process_symbols.h"

#include "symbolize/symbolize.h"

#include <elfutils/libdwfl.h>

#include <cstdlib>
#include <cstring>

namespace lockhound::attach {

struct ProcessSymbols::Impl {
  char* debuginfo_path = nullptr;
  Dwfl_Callbacks callbacks{};
  Dwfl* dwfl = nullptr;
  pid_t pid = -1;
};

ProcessSymbols::ProcessSymbols() : impl_(std::make_unique<Impl>()) {
  impl_->callbacks.find_elf = dwfl_linux_proc_find_elf;
  impl_->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
  impl_->callbacks.debuginfo_path = &impl_->debuginfo_path;
}

ProcessSymbols::~ProcessSymbols() {
  if (impl_->dwfl) dwfl_end(impl_->dwfl);
}

bool ProcessSymbols::open(pid_t pid, std::string& error) {
  if (impl_->dwfl) dwfl_end(impl_->dwfl);
  impl_->pid = pid;
  impl_->dwfl = dwfl_begin(&impl_->callbacks);
  if (!impl_->dwfl) {
    error = std::string("libdw: ") + dwfl_errmsg(-1);
    return false;
  }
  dwfl_report_begin(impl_->dwfl);
  int r = dwfl_linux_proc_report(impl_->dwfl, pid);
  dwfl_report_end(impl_->dwfl, nullptr, nullptr);
  if (r != 0) {
    error = "cannot read the modules of process " + std::to_string(pid) + ": " +
            (r > 0 ? std::strerror(r) : dwfl_errmsg(-1));
    return false;
  }
  // The caller has stopped every thread with ptrace: libdw must not attach or detach itself.
  r = dwfl_linux_proc_attach(impl_->dwfl, pid, true);
  if (r != 0) {
    error = "libdw cannot prepare unwinding of process " + std::to_string(pid) + ": " +
            (r > 0 ? std::strerror(r) : dwfl_errmsg(-1));
    return false;
  }
  return true;
}

Frame ProcessSymbols::symbolize_code(uint64_t pc) {
  Frame f;
  f.pc = pc;
  if (!impl_->dwfl) return f;
  Dwfl_Module* mod = dwfl_addrmodule(impl_->dwfl, pc);
  if (!mod) return f;
  const char* modname = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr,
                                         nullptr, nullptr);
  if (modname) f.object = modname;
  GElf_Off offset = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, pc, &offset, &sym, nullptr, nullptr, nullptr);
  if (name) {
    f.function = symbolize::demangle(name);
    char buf[32];
    std::snprintf(buf, sizeof buf, "+0x%llx", static_cast<unsigned long long>(offset));
    f.offset = buf;
  }
  if (Dwfl_Line* line = dwfl_module_getsrc(mod, pc)) {
    int lineno = 0;
    const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
    if (file) f.file = file;
    if (lineno > 0) f.line = static_cast<unsigned>(lineno);
  }
  return f;
}

namespace {

struct UnwindState {
  std::vector<uint64_t> pcs;
  size_t max;
};

int frame_cb(Dwfl_Frame* state, void* arg) {
  auto* u = static_cast<UnwindState*>(arg);
  Dwarf_Addr pc = 0;
  bool activation = false;
  if (!dwfl_frame_pc(state, &pc, &activation)) return DWARF_CB_ABORT;
  // A return address points after the call: step back into it so lines and inlining are right.
  u->pcs.push_back(activation ? pc : pc - 1);
  return u->pcs.size() >= u->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

}  // namespace

Stack ProcessSymbols::unwind(pid_t tid, std::string* error, size_t max_frames) {
  Stack out;
  if (!impl_->dwfl) return out;
  UnwindState u{{}, max_frames};
  int r = dwfl_getthread_frames(impl_->dwfl, tid, frame_cb, &u);
  // -1 with frames is how libdw says "no further frame" at the outermost one; only report an
  // error when nothing could be unwound.
  if (r == -1 && u.pcs.empty() && error) *error = dwfl_errmsg(-1);
  for (uint64_t pc : u.pcs) out.push_back(symbolize_code(pc));
  return out;
}

std::optional<ProcessSymbols::DataSymbol> ProcessSymbols::data_symbol(uint64_t address) {
  if (!impl_->dwfl) return std::nullopt;
  Dwfl_Module* mod = dwfl_addrmodule(impl_->dwfl, address);
  if (!mod) return std::nullopt;
  GElf_Off offset = 0;
  GElf_Sym sym;
  const char* name = dwfl_module_addrinfo(mod, address, &offset, &sym, nullptr, nullptr, nullptr);
  if (!name || GELF_ST_TYPE(sym.st_info) == STT_FUNC) return std::nullopt;
  // A nearby symbol that does not cover the address is not this object's name.
  if (sym.st_size != 0 && offset >= sym.st_size) return std::nullopt;
  DataSymbol d;
  d.name = symbolize::demangle(name);
  d.offset = offset;
  d.size = sym.st_size;
  const char* modname = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr,
                                         nullptr, nullptr);
  if (modname) d.module = modname;
  return d;
}

}  // namespace lockhound::attach
