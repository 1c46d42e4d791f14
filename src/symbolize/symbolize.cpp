#include "symbolize/symbolize.h"
#include "symbolize/big_stack.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dlfcn.h>
#include <link.h>
#include <fcntl.h>
#include <unistd.h>
#include <unwind.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <absl/container/flat_hash_map.h>

namespace lockhound::symbolize {

namespace {

struct Collect {
  uint64_t* pcs;
  uint64_t* cfas;  // capture_stack_cfa's; null for capture_stack
  size_t max;
  size_t n;
  size_t skip;
};

_Unwind_Reason_Code collect_frame(_Unwind_Context* ctx, void* arg) {
  auto* c = static_cast<Collect*>(arg);
  int before_insn = 0;
  uintptr_t ip = _Unwind_GetIPInfo(ctx, &before_insn);
  if (ip == 0) return _URC_END_OF_STACK;
  // A signal frame's ip is the interrupted instruction itself; every other frame holds a return
  // address. Store both as return addresses so consumers always look up pc - 1.
  if (before_insn) ip += 1;
  if (c->skip > 0) {
    --c->skip;
    return _URC_NO_REASON;
  }
  // The context's CFA is that of the frame it was unwound from (the callee of the frame at ip):
  // the frame's own CFA comes with the next frame (capture_stack_cfa shifts it into place).
  if (c->cfas) c->cfas[c->n] = _Unwind_GetCFA(ctx);
  c->pcs[c->n++] = ip;
  return c->n >= c->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

std::string base_name(const char* path) {
  if (!path) return {};
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The best name of a function DIE: the demangled linkage name (qualified, with parameters for
// C++), else the plain DWARF name.
std::string die_function_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, at, &attr)) {
      if (const char* s = dwarf_formstring(&attr)) return demangle(s);
    }
  }
  // A function's out-of-line copy (a clone GCC made, `assign.constprop.0` in the symbol table)
  // has its name on the abstract instance it refers to.
  const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  return name ? name : "";
}

// ---- naming a lock inside a static object by its members (DWARF) --------------------------

// Follows typedefs and cv-qualifiers to the type itself; false when there is none. The last
// typedef's name on the way goes to `typedef_name` when asked for.
bool strip_type(Dwarf_Die* type, const char** typedef_name = nullptr) {
  for (int depth = 0; depth < 32; ++depth) {
    int tag = dwarf_tag(type);
    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
        tag != DW_TAG_atomic_type)
      return true;
    if (tag == DW_TAG_typedef && typedef_name && dwarf_diename(type)) *typedef_name = dwarf_diename(type);
    Dwarf_Attribute attr;
    if (!dwarf_attr_integrate(type, DW_AT_type, &attr) || !dwarf_formref_die(&attr, type)) return false;
  }
  return false;
}

bool type_of(Dwarf_Die* die, Dwarf_Die* type) {
  Dwarf_Attribute attr;
  return dwarf_attr_integrate(die, DW_AT_type, &attr) && dwarf_formref_die(&attr, type);
}

// A name the implementation reserves (`_M_mutex`, `__data`): the standard library's and the C
// library's insides, below what the user wrote.
bool reserved_name(const char* n) {
  return n && n[0] == '_' && (n[1] == '_' || (n[1] >= 'A' && n[1] <= 'Z'));
}

// ".audit_mu", ".workers[3].mu": the members of `type` that `offset` lies in, down to a member
// the user did not write (a library type's insides), a union or a scalar. What is left of the
// offset below the deepest member named stays in `rest`.
std::string member_path(Dwarf_Die type, uint64_t offset, uint64_t& rest) {
  std::string path;
  for (int depth = 0; depth < 16; ++depth) {
    if (!strip_type(&type)) break;
    int tag = dwarf_tag(&type);
    if (tag == DW_TAG_array_type) {
      Dwarf_Die elem;
      Dwarf_Word esize = 0;
      if (!type_of(&type, &elem) || dwarf_aggregate_size(&elem, &esize) != 0 || esize == 0) break;
      // Dimensions after the first are folded into the index: `a[2][3]` of ints is `a[1][2]`
      // at offset 20; name the flat element, which is unambiguous.
      Dwarf_Die sub;
      std::vector<uint64_t> dims;
      if (dwarf_child(&type, &sub) == 0) {
        do {
          if (dwarf_tag(&sub) != DW_TAG_subrange_type) continue;
          Dwarf_Word count = 0;
          Dwarf_Attribute attr;
          if (dwarf_attr(&sub, DW_AT_count, &attr) && dwarf_formudata(&attr, &count) == 0) {
          } else if (dwarf_attr(&sub, DW_AT_upper_bound, &attr) && dwarf_formudata(&attr, &count) == 0) {
            ++count;
          }
          dims.push_back(count);
        } while (dwarf_siblingof(&sub, &sub) == 0);
      }
      uint64_t index = offset / esize;
      offset %= esize;
      // Row-major: the last dimension varies fastest.
      std::vector<uint64_t> idx(dims.size() ? dims.size() : 1, 0);
      for (size_t d = idx.size(); d-- > 0;) {
        uint64_t n = d < dims.size() && dims[d] ? dims[d] : ~0ull;
        idx[d] = d == 0 ? index : index % n;
        index = d == 0 ? 0 : index / n;
      }
      for (uint64_t i : idx) path += "[" + std::to_string(i) + "]";
      type = elem;
      continue;
    }
    if (tag != DW_TAG_structure_type && tag != DW_TAG_class_type) break;
    Dwarf_Die child;
    bool found = false, stop = false;
    if (dwarf_child(&type, &child) == 0) {
      do {
        int ctag = dwarf_tag(&child);
        if (ctag != DW_TAG_member && ctag != DW_TAG_inheritance) continue;
        Dwarf_Attribute attr;
        Dwarf_Word at = 0;
        if (!dwarf_attr(&child, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &at) != 0)
          continue;  // a static member, or a location given as an expression
        Dwarf_Die mtype;
        Dwarf_Word msize = 0;
        if (!type_of(&child, &mtype) || dwarf_aggregate_size(&mtype, &msize) != 0) continue;
        if (offset < at || offset >= at + msize) continue;
        const char* name = dwarf_diename(&child);
        if (ctag == DW_TAG_member && (reserved_name(name) || !name)) {
          stop = true;  // the library's insides: the member named so far is the lock
          break;
        }
        if (ctag == DW_TAG_member) path += std::string(".") + name;
        offset -= at;
        type = mtype;
        found = true;
        break;
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    if (!found || stop) break;
  }
  rest = offset;
  return path;
}

// ---- naming a lock inside an object the calling code points at (DWARF locations) -----------

// The type a variable's type names once typedefs and qualifiers are gone, and its name: the
// type's own, else the last typedef's (`typedef struct { … } account_t`). False: none.
bool named_type(Dwarf_Die* type, std::string& name) {
  const char* typedef_name = nullptr;
  if (!strip_type(type, &typedef_name)) return false;
  const char* own = dwarf_diename(type);
  name = own ? own : typedef_name ? typedef_name : "";
  return true;
}

// "ns::Outer::Inner": a type's name with the namespaces and classes it is declared in.
std::string qualified_name(Dwarf_Die* type, const std::string& name) {
  std::string q = name;
  Dwarf_Die* chain = nullptr;
  int m = dwarf_getscopes_die(type, &chain);
  for (int i = 1; i < m; ++i) {  // chain[0] is the type itself
    int tag = dwarf_tag(&chain[i]);
    if (tag != DW_TAG_namespace && tag != DW_TAG_structure_type && tag != DW_TAG_class_type) continue;
    const char* outer = dwarf_diename(&chain[i]);
    q = std::string(outer ? outer : "(anonymous namespace)") + "::" + q;
  }
  std::free(chain);
  return q;
}

// Where a variable is at one point, from its location expression: its value (a pointer or a
// reference: `value` set) or the address of its object. Only the forms a compiler gives a
// variable kept in a register or the frame: reg, breg (+ stack_value), fbreg.
struct Place {
  bool ok = false, value = false;
  uint64_t at = 0;
};
Place place_of(const Dwarf_Op* ops, size_t n, const CallRegisters& regs, bool have_fb, uint64_t fb) {
  Place p;
  if (n == 0) return p;
  unsigned atom = ops[0].atom;
  if ((atom >= DW_OP_reg0 && atom <= DW_OP_reg31) || atom == DW_OP_regx) {
    uint64_t r = atom == DW_OP_regx ? ops[0].number : atom - DW_OP_reg0;
    if (n == 1 && regs.has(r)) p = {true, true, regs.value[r]};
    return p;
  }
  uint64_t base = 0;
  int64_t off = 0;
  if ((atom >= DW_OP_breg0 && atom <= DW_OP_breg31) || atom == DW_OP_bregx) {
    uint64_t r = atom == DW_OP_bregx ? ops[0].number : atom - DW_OP_breg0;
    if (!regs.has(r)) return p;
    base = regs.value[r];
    off = static_cast<int64_t>(atom == DW_OP_bregx ? ops[0].number2 : ops[0].number);
  } else if (atom == DW_OP_fbreg && have_fb) {
    base = fb;
    off = static_cast<int64_t>(ops[0].number);
  } else {
    return p;
  }
  if (n == 1) return {true, false, base + static_cast<uint64_t>(off)};
  if (n == 2 && ops[1].atom == DW_OP_stack_value) return {true, true, base + static_cast<uint64_t>(off)};
  return p;
}

// The frame base of the function a scope list ends in (its DW_AT_frame_base at `at`): the CFA
// (`cfa`, when known) or a register plus an offset.
bool frame_base(Dwarf_Die* scopes, int n, Dwarf_Addr at, const CallRegisters& regs, bool have_cfa, uint64_t cfa,
                uint64_t& fb) {
  for (int i = 0; i < n; ++i) {
    if (dwarf_tag(&scopes[i]) != DW_TAG_subprogram) continue;
    Dwarf_Attribute attr;
    Dwarf_Op* ops = nullptr;
    size_t nops = 0;
    if (!dwarf_attr_integrate(&scopes[i], DW_AT_frame_base, &attr) ||
        dwarf_getlocation_addr(&attr, at, &ops, &nops, 1) != 1 || nops != 1)
      return false;
    if (ops[0].atom == DW_OP_call_frame_cfa) {
      fb = cfa;
      return have_cfa;
    }
    Place p = place_of(ops, 1, regs, false, 0);
    fb = p.at;
    return p.ok && !p.value;
  }
  return false;
}

bool library_type(const std::string& qualified) {
  return qualified.rfind("std::", 0) == 0 || qualified.rfind("__gnu_cxx::", 0) == 0 ||
         qualified.rfind("__", 0) == 0;
}

// Separate debug information from local files only: by build ID under /usr/lib/debug, then by
// the debug link next to the object. libdw's standard callback also asks debuginfod servers,
// which initialises curl and TLS — network access, and locks, inside a lock call of the program.
int find_local_debuginfo(Dwfl_Module* mod, void**, const char*, Dwarf_Addr, const char* file_name,
                         const char* debuglink_file, GElf_Word, char** debuginfo_file_name) {
  std::vector<std::string> candidates;
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  int len = dwfl_module_build_id(mod, &bits, &vaddr);
  if (len > 1 && bits) {
    static const char digits[] = "0123456789abcdef";
    std::string p = "/usr/lib/debug/.build-id/";
    p += digits[bits[0] >> 4];
    p += digits[bits[0] & 15];
    p += '/';
    for (int i = 1; i < len; ++i) {
      p += digits[bits[i] >> 4];
      p += digits[bits[i] & 15];
    }
    candidates.push_back(p + ".debug");
  }
  if (debuglink_file && file_name) {
    std::string dir = file_name;
    size_t slash = dir.rfind('/');
    dir = slash == std::string::npos ? std::string(".") : dir.substr(0, slash);
    candidates.push_back(dir + "/" + debuglink_file);
    candidates.push_back(dir + "/.debug/" + debuglink_file);
    candidates.push_back("/usr/lib/debug" + dir + "/" + debuglink_file);
  }
  for (const auto& c : candidates) {
    if (file_name && c == file_name) continue;
    int fd = ::open(c.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      *debuginfo_file_name = strdup(c.c_str());
      return fd;
    }
  }
  return -1;
}

}  // namespace

// libunwind's unw_backtrace caches what it learns about each return address, so unwinding the
// same code paths again costs a fraction of libgcc's _Unwind_Backtrace (which interprets the
// unwind tables every time). It is loaded privately (RTLD_LOCAL): libunwind also defines the
// _Unwind_* entry points, and the program's exceptions and cancellation must keep libgcc's.
using BacktraceFn = int (*)(void**, int);
static std::atomic<BacktraceFn> g_unw_backtrace{nullptr};

bool load_fast_unwinder() {
  if (g_unw_backtrace.load()) return true;
  void* h = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_LOCAL);
  if (!h) return false;
  auto fn = reinterpret_cast<BacktraceFn>(dlsym(h, "unw_backtrace"));
  if (!fn) return false;
  g_unw_backtrace.store(fn);
  return true;
}

static std::atomic<uint64_t> g_signal_return{0};
void set_signal_return(uint64_t pc) { g_signal_return.store(pc, std::memory_order_relaxed); }
uint64_t signal_return() { return g_signal_return.load(std::memory_order_relaxed); }

__attribute__((noinline)) size_t capture_stack(uint64_t* pcs, size_t max, size_t skip) {
  if (max == 0) return 0;
  if (BacktraceFn fn = g_unw_backtrace.load(std::memory_order_relaxed)) {
    void* buf[320];
    size_t want = std::min<size_t>(max + skip + 1, 320);  // + 1: this function's own frame
    int n = fn(buf, static_cast<int>(want));
    uint64_t sigreturn = g_signal_return.load(std::memory_order_relaxed);
    size_t out = 0;
    for (size_t i = skip + 1; i < static_cast<size_t>(std::max(n, 0)) && out < max; ++i) {
      uint64_t pc = reinterpret_cast<uint64_t>(buf[i]);
      // After the handler's return to the trampoline comes the interrupted instruction itself.
      if (sigreturn && i > 0 && reinterpret_cast<uint64_t>(buf[i - 1]) == sigreturn) pc += 1;
      pcs[out++] = pc;
    }
    return out;
  }
  Collect c{pcs, nullptr, max, 0, skip + 1};  // + 1: this function's own frame
  _Unwind_Backtrace(collect_frame, &c);
  return c.n;
}

__attribute__((noinline)) size_t capture_stack_cfa(uint64_t* pcs, uint64_t* cfas, size_t max, size_t skip) {
  if (max == 0) return 0;
  Collect c{pcs, cfas, max, 0, skip + 1};  // + 1: this function's own frame
  _Unwind_Backtrace(collect_frame, &c);
  for (size_t i = 0; i + 1 < c.n; ++i) cfas[i] = cfas[i + 1];
  if (c.n > 0) cfas[c.n - 1] = ~uint64_t{0};  // the outermost frame read: its CFA is past the rest
  return c.n;
}

namespace {
// The arguments of the template argument list that opens at text[open] ('<'), split at its
// top-level commas and trimmed; `close` is set to its '>'. False when it does not close.
bool template_args(const std::string& text, size_t open, std::vector<std::string>& args, size_t& close) {
  args.clear();
  int depth = 0;
  size_t start = open + 1;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (c == '<' || c == '(' || c == '[') {
      ++depth;
    } else if (c == '>' || c == ')' || c == ']') {
      if (--depth == 0) {
        if (c != '>') return false;
        args.push_back(text.substr(start, i - start));
        close = i;
        break;
      }
    } else if (c == ',' && depth == 1) {
      args.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) return false;
  for (auto& a : args) {
    size_t b = a.find_first_not_of(' '), e = a.find_last_not_of(' ');
    a = b == std::string::npos ? "" : a.substr(b, e - b + 1);
  }
  return true;
}
// Equal but for spaces ("std::allocator<int> >" and "std::allocator<int>>").
bool same_type(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  for (;;) {
    while (i < a.size() && a[i] == ' ') ++i;
    while (j < b.size() && b[j] == ' ') ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (a[i++] != b[j++]) return false;
  }
}
}  // namespace

std::string tidy_std_types(std::string name) {
  if (name.find("std::") == std::string::npos) return name;
  // The library's own spellings of its aliases.
  static const std::pair<const char*, const char*> kAliases[] = {
      {"std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >", "std::string"},
      {"std::__cxx11::basic_string<wchar_t, std::char_traits<wchar_t>, std::allocator<wchar_t> >", "std::wstring"},
      {"std::__cxx11::basic_string<char8_t, std::char_traits<char8_t>, std::allocator<char8_t> >", "std::u8string"},
      {"std::__cxx11::basic_string<char16_t, std::char_traits<char16_t>, std::allocator<char16_t> >", "std::u16string"},
      {"std::__cxx11::basic_string<char32_t, std::char_traits<char32_t>, std::allocator<char32_t> >", "std::u32string"},
      {"std::basic_string<char, std::char_traits<char>, std::allocator<char> >", "std::string"},
      {"std::basic_string_view<char, std::char_traits<char> >", "std::string_view"},
      {"std::basic_string_view<wchar_t, std::char_traits<wchar_t> >", "std::wstring_view"},
      {"std::basic_ostream<char, std::char_traits<char> >", "std::ostream"},
      {"std::basic_istream<char, std::char_traits<char> >", "std::istream"},
      {"std::basic_iostream<char, std::char_traits<char> >", "std::iostream"},
      {"std::basic_ofstream<char, std::char_traits<char> >", "std::ofstream"},
      {"std::basic_ifstream<char, std::char_traits<char> >", "std::ifstream"},
      {"std::basic_fstream<char, std::char_traits<char> >", "std::fstream"},
      {"std::__cxx11::basic_ostringstream<char, std::char_traits<char>, std::allocator<char> >", "std::ostringstream"},
      {"std::__cxx11::basic_istringstream<char, std::char_traits<char>, std::allocator<char> >", "std::istringstream"},
      {"std::__cxx11::basic_stringstream<char, std::char_traits<char>, std::allocator<char> >", "std::stringstream"},
  };
  for (const auto& [from, to] : kAliases)
    for (size_t at; (at = name.find(from)) != std::string::npos;) name.replace(at, std::strlen(from), to);
  // Default template arguments of the containers and smart pointers, when they are the defaults.
  // Outer lists first; a list whose arguments changed is looked at again (nested containers).
  static const std::pair<const char*, int> kTemplates[] = {
      {"std::vector<", 0}, {"std::deque<", 0}, {"std::__cxx11::list<", 0}, {"std::list<", 0},
      {"std::forward_list<", 0}, {"std::set<", 1}, {"std::multiset<", 1}, {"std::map<", 2},
      {"std::multimap<", 2}, {"std::unordered_set<", 3}, {"std::unordered_multiset<", 3},
      {"std::unordered_map<", 4}, {"std::unordered_multimap<", 4}, {"std::unique_ptr<", 5}};
  std::vector<std::string> a;
  for (int pass = 0; pass < 16; ++pass) {
    bool changed = false;
    for (const auto& [tmpl, kind] : kTemplates)
      for (size_t at = name.find(tmpl); at != std::string::npos; at = name.find(tmpl, at + 1)) {
        if (at > 0 && (std::isalnum(static_cast<unsigned char>(name[at - 1])) || name[at - 1] == '_' || name[at - 1] == ':'))
          continue;  // part of a longer name ("mystd::vector<")
        size_t open = at + std::strlen(tmpl) - 1, close = 0;
        if (!template_args(name, open, a, close) || a.empty()) continue;
        size_t keep = a.size();
        const std::string& k = a[0];
        auto is = [&](size_t i, const std::string& want) { return i < a.size() && same_type(a[i], want); };
        std::string pair = a.size() > 1 ? "std::pair<" + k + " const, " + a[1] + ">" : "";
        switch (kind) {
          case 0: if (a.size() == 2 && is(1, "std::allocator<" + k + ">")) keep = 1; break;
          case 1: if (a.size() == 3 && is(1, "std::less<" + k + ">") && is(2, "std::allocator<" + k + ">")) keep = 1; break;
          case 2: if (a.size() == 4 && is(2, "std::less<" + k + ">") && is(3, "std::allocator<" + pair + ">")) keep = 2; break;
          case 3:
            if (a.size() == 4 && is(1, "std::hash<" + k + ">") && is(2, "std::equal_to<" + k + ">") &&
                is(3, "std::allocator<" + k + ">"))
              keep = 1;
            break;
          case 4:
            if (a.size() == 5 && is(2, "std::hash<" + k + ">") && is(3, "std::equal_to<" + k + ">") &&
                is(4, "std::allocator<" + pair + ">"))
              keep = 2;
            break;
          case 5: if (a.size() == 2 && is(1, "std::default_delete<" + k + ">")) keep = 1; break;
        }
        if (keep == a.size()) continue;
        std::string args;
        for (size_t i = 0; i < keep; ++i) args += (i ? ", " : "") + a[i];
        if (!args.empty() && args.back() == '>') args += ' ';  // as the demangler spells "> >"
        name.replace(open + 1, close - open - 1, args);
        changed = true;
      }
    if (!changed) break;
  }
  for (size_t at; (at = name.find("std::__cxx11::")) != std::string::npos;) name.erase(at + 5, 9);
  return name;
}

std::string demangle(std::string_view name) {
  // Symbol versions ("__libc_start_main@@GLIBC_2.34") are noise in a stack, and so are the
  // suffixes of the copies GCC makes of a function (`assign.constprop.0`, `f.part.0.isra.0`,
  // `f.cold`): the source names the function once.
  if (auto at = name.find('@'); at != std::string_view::npos && at > 0) name = name.substr(0, at);
  for (std::string_view clone : {".constprop.", ".isra.", ".part.", ".cold", ".lto_priv.", ".localalias"})
    if (auto at = name.find(clone); at != std::string_view::npos && at > 0) name = name.substr(0, at);
  if (name.size() < 2 || name[0] != '_' || name[1] != 'Z') return std::string(name);
  std::string copy(name);
  int status = 0;
  char* out = abi::__cxa_demangle(copy.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !out) return copy;
  std::string result(out);
  std::free(out);
  return tidy_std_types(std::move(result));
}

std::string without_parameters(std::string_view name) {
  // Trailing qualifiers after the parameter list: " const", " volatile", " &", " &&", " noexcept".
  for (bool more = true; more;) {
    more = false;
    for (std::string_view q : {" const", " volatile", " &&", " &", " noexcept"})
      if (name.size() > q.size() && name.substr(name.size() - q.size()) == q) {
        name.remove_suffix(q.size());
        more = true;
      }
  }
  if (name.empty() || name.back() != ')') return std::string(name);
  // The '(' that opens the last parameter list: parentheses balance inside it.
  int depth = 0;
  for (size_t i = name.size(); i-- > 0;) {
    if (name[i] == ')') ++depth;
    else if (name[i] == '(' && --depth == 0) {
      // "operator()" with no parameter list after it (a lambda's body as DWARF names it): the
      // parentheses are the operator's name.
      if (i == 0 || name.substr(0, i).ends_with("operator")) return std::string(name);
      return std::string(name.substr(0, i));
    }
  }
  return std::string(name);
}

struct Symbolizer::Impl {
  pid_t pid = 0;
  Dwfl_Callbacks callbacks{};
  Dwfl* dwfl = nullptr;
  char* debuginfo_path = nullptr;
  absl::flat_hash_map<uint64_t, std::vector<Frame>> code_cache;
  // The CFA rule at an address, once looked up: register (kRsp, kRbp; 0 = no usable rule) and
  // offset. The runtime asks at every new edge whose first lock a fast path took: the lookup goes
  // through libdw (and a search for debug files when .eh_frame has no entry) on the big stack.
  absl::flat_hash_map<uint64_t, std::pair<uint8_t, int64_t>> cfa_rules;

  // Each module's defined symbols sorted by address. libdw's own lookup (dwfl_module_addrinfo)
  // walks the whole symbol table on every call: in a large stripped program (node: tens of
  // thousands of dynamic symbols) naming a few hundred lock init sites took most of a short run.
  struct Sym {
    uint64_t lo, size;
    const char* name;  // in libelf's string table: valid until the map is read again
    int rank;          // among symbols at one address: sized before sizeless, exported first
    const char* file;  // a local symbol's source file (the STT_FILE before it), else nullptr
    bool shared_name = false;  // a local object whose name another object of the module has
  };
  absl::flat_hash_map<Dwfl_Module*, std::vector<Sym>> symtabs;

  const std::vector<Sym>& symtab(Dwfl_Module* mod) {
    auto [it, fresh] = symtabs.try_emplace(mod);
    if (!fresh) return it->second;
    std::vector<Sym>& out = it->second;
    int n = dwfl_module_getsymtab(mod);
    const char* file = nullptr;  // the symbol table lists each file's local symbols after it
    for (int i = 1; i < n; ++i) {
      GElf_Sym sym;
      GElf_Addr addr = 0;
      GElf_Word shndx = 0;
      const char* name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, nullptr, nullptr);
      // Undefined and absolute symbols name no place in the module (a version definition such
      // as LIBO_UDK_3.9 is an absolute object at 0: it named whole stretches of stripped code).
      if (name && *name && GELF_ST_TYPE(sym.st_info) == STT_FILE) {
        file = name;
        continue;
      }
      if (!name || !*name || sym.st_shndx == SHN_UNDEF || shndx == SHN_ABS || sym.st_shndx == SHN_ABS)
        continue;
      int type = GELF_ST_TYPE(sym.st_info);
      if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE && type != STT_GNU_IFUNC)
        continue;
      if (type == STT_OBJECT && sym.st_size == 0) continue;  // a data label covers no code
      int bind = GELF_ST_BIND(sym.st_info);
      int rank = (sym.st_size ? 0 : 2) + (bind == STB_LOCAL ? 1 : 0);
      out.push_back(Sym{addr, sym.st_size, name, rank, bind == STB_LOCAL ? file : nullptr});
    }
    // Among aliases of equal rank the public spelling wins ("opendir", a weak alias, over the
    // global "__opendir"), as the dynamic linker's dladdr answers.
    auto underscores = [](const char* s) { return s[0] == '_' ? (s[1] == '_' ? 2 : 1) : 0; };
    std::sort(out.begin(), out.end(), [&](const Sym& a, const Sym& b) {
      if (a.lo != b.lo) return a.lo < b.lo;
      if (a.rank != b.rank) return a.rank < b.rank;
      return underscores(a.name) < underscores(b.name);
    });
    // `static pthread_mutex_t lock` in two files: both are named with their file, whichever is
    // asked about first, so that a name means the same variable in every run.
    absl::flat_hash_map<std::string_view, int> objects;
    for (const Sym& x : out)
      if (x.size) objects[x.name]++;
    for (Sym& x : out)
      if (x.file && x.size && objects[x.name] > 1) x.shared_name = true;
    return out;
  }

  // The symbol covering addr (the best ranked of those that start closest below it), else the
  // nearest sizeless symbol below it, as libdw answers; offset is addr minus its start.
  const Sym* symbol_at(Dwfl_Module* mod, uint64_t addr, uint64_t& offset) {
    const std::vector<Sym>& t = symtab(mod);
    auto it = std::upper_bound(t.begin(), t.end(), addr, [](uint64_t a, const Sym& x) { return a < x.lo; });
    const Sym* sizeless = nullptr;
    // Symbols nest rarely and never deeply: look a few starts back for one that covers addr.
    for (int steps = 0; it != t.begin() && steps < 64; ++steps) {
      --it;
      if (addr < it->lo + it->size) {
        // The best ranked entry at this start (sorted by rank within it).
        auto first = it;
        while (first != t.begin() && (first - 1)->lo == it->lo) --first;
        const Sym* best = &*it;
        for (auto k = first; k != t.end() && k->lo == it->lo; ++k)
          if (addr < k->lo + k->size) {
            best = &*k;
            break;
          }
        offset = addr - best->lo;
        return best;
      }
      if (it->size == 0 && !sizeless) sizeless = &*it;
    }
    if (sizeless) offset = addr - sizeless->lo;
    return sizeless;
  }

  // Each module's variables at fixed addresses (the run-time address, bias added) and their
  // DIEs, read from DWARF once, the first time a static lock of the module is named.
  struct Variables {
    Dwarf* dwarf = nullptr;
    absl::flat_hash_map<uint64_t, Dwarf_Off> at;
  };
  absl::flat_hash_map<Dwfl_Module*, Variables> variables;

  static void index_scope(Dwarf_Die* scope, Dwarf_Addr bias, Variables& v, int depth) {
    Dwarf_Die die;
    if (depth > 8 || dwarf_child(scope, &die) != 0) return;
    do {
      int tag = dwarf_tag(&die);
      if (tag == DW_TAG_namespace) {
        index_scope(&die, bias, v, depth + 1);
        continue;
      }
      if (tag != DW_TAG_variable) continue;
      Dwarf_Attribute attr;
      Dwarf_Op* expr = nullptr;
      size_t len = 0;
      if (!dwarf_attr(&die, DW_AT_location, &attr) || dwarf_getlocation(&attr, &expr, &len) != 0 ||
          len != 1 || expr[0].atom != DW_OP_addr)
        continue;
      v.at.try_emplace(expr[0].number + bias, dwarf_dieoffset(&die));
    } while (dwarf_siblingof(&die, &die) == 0);
  }

  // Every compile unit of a module's DWARF (none when it has none), with its DIE's offset.
  template <class Fn>
  static void for_each_cu(Dwarf* dwarf, Fn&& fn) {
    Dwarf_Off off = 0, next = 0;
    size_t header = 0;
    while (dwarf && dwarf_nextcu(dwarf, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
      Dwarf_Die cu;
      if (dwarf_offdie(dwarf, off + header, &cu)) fn(cu, off + header);
      off = next;
    }
  }

  // A module's compile units by the code they cover, for a module whose compiler wrote no
  // .debug_aranges (clang's DWARF 5 by default): the libdw of Debian 12 (0.188) finds no unit
  // for any address of such a module, so a clang-built program had no file and line anywhere.
  struct CuRange {
    Dwarf_Addr lo, hi;
    Dwarf_Off cu;
  };
  struct CuIndex {
    Dwarf* dwarf = nullptr;
    std::vector<CuRange> ranges;  // sorted by lo
  };
  absl::flat_hash_map<Dwfl_Module*, CuIndex> cu_index;

  // The compile unit that holds `addr` (a module address), libdw's lookup first; null when none.
  Dwarf_Die* cu_at(Dwfl_Module* mod, Dwarf_Addr addr, Dwarf_Addr& bias, Dwarf_Die& storage) {
    if (Dwarf_Die* cu = dwfl_module_addrdie(mod, addr, &bias)) return cu;
    auto [it, fresh] = cu_index.try_emplace(mod);
    CuIndex& x = it->second;
    if (fresh) {
      x.dwarf = dwfl_module_getdwarf(mod, &bias);
      for_each_cu(x.dwarf, [&](Dwarf_Die& cu, Dwarf_Off at) {
        Dwarf_Addr base = 0, lo = 0, hi = 0;
        for (ptrdiff_t r = 0; (r = dwarf_ranges(&cu, r, &base, &lo, &hi)) > 0;)
          if (hi > lo) x.ranges.push_back({lo, hi, at});
      });
      std::sort(x.ranges.begin(), x.ranges.end(), [](const CuRange& a, const CuRange& b) { return a.lo < b.lo; });
    }
    if (!x.dwarf) return nullptr;
    dwfl_module_getdwarf(mod, &bias);
    Dwarf_Addr at = addr - bias;
    auto r = std::upper_bound(x.ranges.begin(), x.ranges.end(), at,
                              [](Dwarf_Addr v, const CuRange& c) { return v < c.lo; });
    for (auto i = r; i != x.ranges.begin();) {  // the nearest ranges starting at or below it
      --i;
      if (at >= i->lo && at < i->hi) return dwarf_offdie(x.dwarf, i->cu, &storage);
      if (r - i > 8) break;
    }
    return nullptr;
  }

  Variables& variables_of(Dwfl_Module* mod) {
    auto [it, fresh] = variables.try_emplace(mod);
    if (!fresh) return it->second;
    Variables& v = it->second;
    Dwarf_Addr bias = 0;
    v.dwarf = dwfl_module_getdwarf(mod, &bias);
    for_each_cu(v.dwarf, [&](Dwarf_Die& cu, Dwarf_Off) { index_scope(&cu, bias, v, 0); });
    return v;
  }

  // ".audit_mu" for a lock at `offset` into the variable that starts at `start`; "" when the
  // module has no DWARF for it or the lock is the variable itself.
  std::string member_of(Dwfl_Module* mod, uint64_t start, uint64_t offset, uint64_t& rest) {
    rest = offset;
    Variables& v = variables_of(mod);
    auto it = v.at.find(start);
    if (it == v.at.end()) return "";
    Dwarf_Die var, type;
    if (!dwarf_offdie(v.dwarf, it->second, &var) || !type_of(&var, &type)) return "";
    return member_path(type, offset, rest);
  }

  Impl() {
    callbacks.find_elf = dwfl_linux_proc_find_elf;
    callbacks.find_debuginfo = find_local_debuginfo;
    callbacks.debuginfo_path = &debuginfo_path;
  }
  ~Impl() {
    if (dwfl) dwfl_end(dwfl);
  }

  // The dynamic linker's counts of objects loaded and unloaded when this process's map was last
  // read. Reading it again (which also drops every module's loaded symbol table) helps only after
  // a dlopen or dlclose; an address that lies in no module (JIT code, an anonymous mapping) asked
  // about again and again re-read it each time: 27 times in a short node run.
  unsigned long long map_adds = 0, map_subs = 0;
  static int read_counts(dl_phdr_info* info, size_t size, void* out) {
    auto* c = static_cast<unsigned long long*>(out);
    if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
      c[0] = info->dlpi_adds;
      c[1] = info->dlpi_subs;
    }
    return 1;  // the counts are the same in every entry
  }
  bool map_changed() {
    if (!dwfl || pid != 0) return true;  // another process: no way to tell
    unsigned long long c[2] = {~0ull, ~0ull};
    dl_iterate_phdr(read_counts, c);
    return c[0] != map_adds || c[1] != map_subs;
  }
  void refresh() {
    if (map_changed()) report();
  }

  void report() {
    if (pid == 0) {
      unsigned long long c[2] = {~0ull, ~0ull};
      dl_iterate_phdr(read_counts, c);
      map_adds = c[0];
      map_subs = c[1];
    }
    symtabs.clear();
    variables.clear();
    cu_index.clear();
    if (dwfl) dwfl_end(dwfl);
    dwfl = dwfl_begin(&callbacks);
    if (!dwfl) return;
    dwfl_report_begin(dwfl);
    if (dwfl_linux_proc_report(dwfl, pid ? pid : getpid()) != 0) {
      // Keep whatever was reported; an unreadable map just means fewer names.
    }
    dwfl_report_end(dwfl, nullptr, nullptr);
  }

  Dwfl_Module* module_of(uint64_t addr) {
    if (!dwfl) report();
    if (!dwfl) return nullptr;
    Dwfl_Module* mod = dwfl_addrmodule(dwfl, addr);
    if (!mod) return nullptr;
    // dwfl_addrmodule may answer with the nearest module below an address that lies in none.
    Dwarf_Addr start = 0, end = 0;
    dwfl_module_info(mod, nullptr, &start, &end, nullptr, nullptr, nullptr, nullptr);
    return addr >= start && addr < end ? mod : nullptr;
  }

  std::vector<Frame> resolve(uint64_t pc, bool return_address) {
    std::vector<Frame> out;
    uint64_t addr = return_address && pc > 0 ? pc - 1 : pc;
    Dwfl_Module* mod = module_of(addr);
    if (!mod) {
      Frame f;
      f.pc = pc;
      out.push_back(std::move(f));
      return out;
    }
    Dwarf_Addr start = 0;
    const char* mainfile = nullptr;
    const char* modname = dwfl_module_info(mod, nullptr, &start, nullptr, nullptr, nullptr,
                                           &mainfile, nullptr);
    std::string object = mainfile ? mainfile : (modname ? modname : "");

    // Symbol table name of the enclosing function.
    uint64_t offset = 0;
    const Sym* sym = symbol_at(mod, addr, offset);
    std::string outer_name = sym ? demangle(sym->name) : "";

    // Source line of the innermost (possibly inlined) code at addr.
    Dwarf_Addr bias = 0;
    Dwarf_Die cu_storage;
    Dwarf_Die* cudie = cu_at(mod, addr, bias, cu_storage);
    std::string file;
    int line = 0, column = 0;
    if (Dwfl_Line* l = dwfl_module_getsrc(mod, addr)) {
      if (const char* src = dwfl_lineinfo(l, nullptr, &line, &column, nullptr, nullptr))
        file = src;
    } else if (Dwarf_Line* dl = cudie ? dwarf_getsrc_die(cudie, addr - bias) : nullptr) {
      if (const char* src = dwarf_linesrc(dl, nullptr, nullptr)) {
        file = src;
        dwarf_lineno(dl, &line);
        dwarf_linecol(dl, &column);
      }
    }

    // Inline expansion. dwarf_getscopes gives the innermost function-like scope at addr; when it
    // is an inlined body, dwarf_getscopes_die walks its concrete parents outwards, each one called
    // from the previous inlined DIE's DW_AT_call_file / DW_AT_call_line.
    // A file named relative to the compilation's directory ("../src/x.c" from a build tree):
    // absolute, so that reports and SARIF's source root see where it lies.
    std::string comp_dir;
    if (cudie) {
      Dwarf_Attribute attr;
      if (const char* d = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr))) comp_dir = d;
    }
    auto absolute = [&](std::string f) {
      if (f.empty() || f[0] == '/' || comp_dir.empty()) return f;
      return std::filesystem::path(comp_dir + "/" + f).lexically_normal().string();
    };
    file = absolute(std::move(file));
    if (cudie) {
      Dwarf_Die* scopes = nullptr;
      int n = dwarf_getscopes(cudie, addr - bias, &scopes);
      Dwarf_Files* files = nullptr;
      size_t nfiles = 0;
      if (dwarf_getsrcfiles(cudie, &files, &nfiles) != 0) files = nullptr;
      int first = -1;
      for (int i = 0; i < n && first < 0; ++i) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) first = i;
      }
      if (first >= 0 && dwarf_tag(&scopes[first]) == DW_TAG_inlined_subroutine) {
        auto add = [&](Dwarf_Die* die, const std::string& f_file, int f_line, int f_column, bool inl) {
          Frame f;
          f.pc = pc;
          f.function = die_function_name(die);
          f.file = f_file;
          f.line = f_line > 0 ? static_cast<unsigned>(f_line) : 0;
          f.column = f_column > 0 ? static_cast<unsigned>(f_column) : 0;
          f.object = object;
          f.inlined = inl;
          out.push_back(std::move(f));
        };
        auto call_site = [&](Dwarf_Die* die, std::string& cfile, int& cline, int& ccolumn) {
          Dwarf_Attribute attr;
          Dwarf_Word call_file = 0, call_line = 0, call_column = 0;
          if (dwarf_attr(die, DW_AT_call_file, &attr)) dwarf_formudata(&attr, &call_file);
          if (dwarf_attr(die, DW_AT_call_line, &attr)) dwarf_formudata(&attr, &call_line);
          if (dwarf_attr(die, DW_AT_call_column, &attr)) dwarf_formudata(&attr, &call_column);
          ccolumn = static_cast<int>(call_column);
          const char* cf = files && call_file < nfiles
                               ? dwarf_filesrc(files, call_file, nullptr, nullptr) : nullptr;
          cfile = absolute(cf ? cf : "");
          cline = static_cast<int>(call_line);
        };
        add(&scopes[first], file, line, column, true);
        std::string cfile;
        int cline = 0, ccolumn = 0;
        call_site(&scopes[first], cfile, cline, ccolumn);
        Dwarf_Die* chain = nullptr;
        int m = dwarf_getscopes_die(&scopes[first], &chain);
        for (int i = 1; i < m; ++i) {
          int tag = dwarf_tag(&chain[i]);
          if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
          add(&chain[i], cfile, cline, ccolumn, tag == DW_TAG_inlined_subroutine);
          if (tag == DW_TAG_subprogram) break;
          call_site(&chain[i], cfile, cline, ccolumn);
        }
        std::free(chain);
        if (!out.empty() && out.back().inlined) {
          // No concrete function found above the inlined bodies: name it from the symbol table.
          Frame f;
          f.pc = pc;
          f.function = outer_name;
          f.file = cfile;
          f.line = cline > 0 ? static_cast<unsigned>(cline) : 0;
          f.column = ccolumn > 0 ? static_cast<unsigned>(ccolumn) : 0;
          f.object = object;
          out.push_back(std::move(f));
        }
        if (!out.empty() && out.back().function.empty()) out.back().function = outer_name;
      }
      std::free(scopes);
    }
    if (out.empty()) {
      Frame f;
      f.pc = pc;
      f.function = outer_name;
      f.file = file;
      f.line = line > 0 ? static_cast<unsigned>(line) : 0;
      f.column = column > 0 ? static_cast<unsigned>(column) : 0;
      f.object = object;
      if (f.function.empty()) f.offset = "+" + hex(addr - start + (return_address ? 1 : 0));
      out.push_back(std::move(f));
    }
    return out;
  }
};

Symbolizer::Symbolizer(pid_t pid) : impl_(std::make_unique<Impl>()) { impl_->pid = pid; }
Symbolizer::~Symbolizer() = default;

const std::vector<Frame>& Symbolizer::frames(uint64_t pc, bool return_address) {
  uint64_t key = return_address ? pc : pc | (1ull << 63);
  auto it = impl_->code_cache.find(key);
  if (it != impl_->code_cache.end()) return it->second;
  std::vector<Frame> frames;
  on_big_stack([&] {  // libdw's line tables want more stack than a program's thread may have
    frames = impl_->resolve(pc, return_address);
    if (frames.size() == 1 && frames[0].function.empty() && frames[0].object.empty()) {
      // Possibly a module loaded after the last refresh: look once more with a fresh map.
      impl_->refresh();
      frames = impl_->resolve(pc, return_address);
    }
  });
  return impl_->code_cache.emplace(key, std::move(frames)).first->second;
}

void Symbolizer::fill(Stack& stack) {
  Stack out;
  out.reserve(stack.size());
  for (auto& f : stack) {
    if (f.pc == 0 || !f.function.empty()) {
      out.push_back(std::move(f));
      continue;
    }
    const auto& resolved = frames(f.pc);
    for (const auto& r : resolved) {
      Frame copy = r;
      // Keep what the caller knew already (an API call site's file and line).
      if (!f.file.empty() && !copy.inlined) {
        copy.file = f.file;
        copy.line = f.line;
      }
      out.push_back(std::move(copy));
    }
  }
  stack = std::move(out);
}

std::string Symbolizer::describe_code(uint64_t pc, bool return_address) {
  const auto& fs = frames(pc, return_address);
  const Frame& f = fs.front();
  if (!f.function.empty()) {
    if (!f.file.empty() && f.line)
      return f.function + " (" + base_name(f.file.c_str()) + ":" + std::to_string(f.line) + ")";
    return f.function;
  }
  if (!fs.back().object.empty()) return base_name(fs.back().object.c_str()) + fs.back().offset;
  return hex(pc);
}

bool Symbolizer::describe_data(uint64_t addr, std::string& name) {
  bool found = false;
  on_big_stack([&] { found = describe_data_here(addr, name); });  // DWARF's variables: deep
  return found;
}

bool Symbolizer::describe_data_here(uint64_t addr, std::string& name) {
  Dwfl_Module* mod = impl_->module_of(addr);
  if (!mod) return false;
  Dwarf_Addr start = 0, end = 0;
  const char* mainfile = nullptr;
  const char* modname =
      dwfl_module_info(mod, nullptr, &start, &end, nullptr, nullptr, &mainfile, nullptr);
  if (!mainfile && (!modname || modname[0] != '/')) return false;  // [stack], [vdso], …
  uint64_t offset = 0;
  const Impl::Sym* sym = impl_->symbol_at(mod, addr, offset);
  if (sym && (offset < sym->size || (sym->size == 0 && offset == 0))) {
    name = demangle(sym->name);
    // Inside a larger object: the members it lies in, as the source names them.
    uint64_t rest = offset;
    if (sym->size) name += impl_->member_of(mod, sym->lo, offset, rest);
    if (rest) name += "+" + hex(rest);
    if (sym->shared_name) name += " (" + base_name(sym->file) + ")";
    return true;
  }
  name = base_name(mainfile ? mainfile : modname) + "+" + hex(addr - start);
  return true;
}

std::string lock_expression(std::string_view text, unsigned column) {
  // The call's argument list: compilers put a call's column at its name, its '(', inside its
  // arguments or at its ')' (GCC, a guard's constructor). So: the list that a name at the column
  // opens, else the innermost list the column lies in.
  bool have_column = column > 0 && column <= text.size();  // else the whole line
  size_t start = have_column ? column - 1 : 0;
  size_t open = std::string_view::npos;
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '>' ||
           c == '-' || c == ']' || c == '[';
  };
  size_t name_end = start;
  while (name_end < text.size() && name_char(text[name_end])) ++name_end;
  if (name_end < text.size() && (text[name_end] == '(' || text[name_end] == '{')) {
    open = name_end;
  } else if (have_column) {
    int depth = 0;
    for (size_t j = start + 1; j-- > 0;) {
      char c = text[j];
      if ((c == ')' || c == '}') && j != start) ++depth;
      else if (c == '(' || c == '{') {
        if (depth == 0) {
          open = j;
          break;
        }
        --depth;
      }
    }
  } else {
    open = text.find_first_of("({");
  }
  if (open == std::string_view::npos) return "";
  // The argument list, balanced (a call that ends on another line says nothing here).
  std::vector<std::string_view> args;
  size_t close = std::string_view::npos, from = open + 1;
  int depth = 0;
  for (size_t i = open; i < text.size() && close == std::string_view::npos; ++i) {
    char c = text[i];
    if (c == '(' || c == '{' || c == '[') ++depth;
    else if (c == ')' || c == '}' || c == ']') {
      if (--depth == 0) close = i;
    } else if (c == ',' && depth == 1) {
      args.push_back(text.substr(from, i - from));
      from = i + 1;
    }
    if (depth < 0) return "";
  }
  if (close == std::string_view::npos) return "";
  args.push_back(text.substr(from, close - from));
  auto trim = [](std::string_view v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    return v;
  };
  // The callee: the name right before the list (`cache_mu.lock`, `pthread_mutex_lock`, `g`).
  size_t callee_end = open;
  while (callee_end > 0 && std::isspace(static_cast<unsigned char>(text[callee_end - 1]))) --callee_end;
  size_t callee_begin = callee_end;
  while (callee_begin > 0 && name_char(text[callee_begin - 1])) --callee_begin;
  std::string_view callee = text.substr(callee_begin, callee_end - callee_begin);
  std::string_view expr;
  size_t dot = callee.rfind('.'), arrow = callee.rfind("->");
  size_t cut = dot == std::string_view::npos ? arrow : arrow == std::string_view::npos ? dot : std::max(dot, arrow);
  if (cut != std::string_view::npos && cut > 0) {
    // A method: a lock method's object (`mu.lock()`, `mu.try_lock_for(10ms)`, abseil's
    // `mu.ReaderLock()`); any other method says nothing of a lock.
    std::string_view method = callee.substr(cut + (callee[cut] == '.' ? 1 : 2));
    if (method.rfind("un", 0) == 0 || method.rfind("Un", 0) == 0 ||
        (method.find("lock") == std::string_view::npos && method.find("Lock") == std::string_view::npos))
      return "";
    expr = callee.substr(0, cut);
  } else if (args.size() == 1 && trim(args[0]).empty()) {
    return "";
  } else {
    // The first argument; the others may only be a guard's tags (std::defer_lock …), or
    // anything for an init call (pthread_mutex_init(&m, &attr), mtx_init(&m, mtx_plain)).
    bool init = callee.find("init") != std::string_view::npos;
    for (size_t i = 1; i < args.size() && !init; ++i) {
      std::string_view tag = trim(args[i]);
      if (tag.rfind("std::", 0) == 0) tag.remove_prefix(5);
      if (tag != "defer_lock" && tag != "adopt_lock" && tag != "try_to_lock") return "";
    }
    expr = trim(args[0]);
    if (!expr.empty() && expr.front() == '&') expr = trim(expr.substr(1));
  }
  std::string out;
  bool word = false;
  for (char c : expr) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (!name_char(c) && c != '*' && c != '(' && c != ')') return "";
    word |= std::isalpha(static_cast<unsigned char>(c)) || c == '_';
    out += c;
  }
  if (!word || out.size() > 96) return "";
  return out;
}

bool Symbolizer::describe_object_at(uint64_t pc, const CallRegisters& regs, uint64_t addr, std::string& name) {
  if (pc == 0) return false;
  uint64_t cfa = 0;
  bool have_cfa = regs.has(7) && frame_cfa(pc, regs.value[7], regs.has(6) ? regs.value[6] : 0, cfa);
  bool found = false;
  on_big_stack([&] {  // DWARF's scopes and location lists: deep
    Dwfl_Module* mod = impl_->module_of(pc - 1);
    Dwarf_Addr bias = 0;
    Dwarf_Die cu_storage;
    Dwarf_Die* cudie = mod ? impl_->cu_at(mod, pc - 1, bias, cu_storage) : nullptr;
    if (!cudie) return;
    Dwarf_Addr at = pc - 1 - bias;  // the call instruction
    bool c_language = false;
    switch (dwarf_srclang(cudie)) {
      case DW_LANG_C: case DW_LANG_C89: case DW_LANG_C99: case DW_LANG_C11: c_language = true; break;
      default: break;
    }
    // The innermost scope at the call, then every scope around it: lexical blocks, the inlined
    // functions' bodies and the function's own (dwarf_getscopes alone stops at an inlined body's
    // abstract origin).
    Dwarf_Die* inner = nullptr;
    Dwarf_Die* scopes = nullptr;
    int n = dwarf_getscopes(cudie, at, &inner);
    n = n > 0 ? dwarf_getscopes_die(&inner[0], &scopes) : 0;
    std::free(inner);
    uint64_t fb = 0;
    bool have_fb = n > 0 && frame_base(scopes, n, at, regs, have_cfa, cfa, fb);
    // Innermost scope first: the inlined lock wrappers' parameters (a std::mutex&) name nothing
    // the user wrote and are passed over; the user's function's own come next.
    for (int i = 0; i < n && !found; ++i) {
      int tag = dwarf_tag(&scopes[i]);
      if (tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit) break;
      Dwarf_Die var;
      if (dwarf_child(&scopes[i], &var) != 0) continue;
      do {
        int vtag = dwarf_tag(&var);
        if (vtag != DW_TAG_formal_parameter && vtag != DW_TAG_variable) continue;
        Dwarf_Attribute loc;
        Dwarf_Op* ops = nullptr;
        size_t nops = 0;
        if (!dwarf_attr(&var, DW_AT_location, &loc) || dwarf_getlocation_addr(&loc, at, &ops, &nops, 1) != 1)
          continue;
        Place p = place_of(ops, nops, regs, have_fb, fb);
        Dwarf_Die type;
        std::string type_name;
        if (!p.ok || !type_of(&var, &type) || !named_type(&type, type_name)) continue;
        int ttag = dwarf_tag(&type);
        bool through = ttag == DW_TAG_pointer_type || ttag == DW_TAG_reference_type ||
                       ttag == DW_TAG_rvalue_reference_type;
        if (through != p.value) continue;  // a pointer kept in memory, or an object in a register
        if (through) {
          Dwarf_Die pointee;
          if (!type_of(&type, &pointee) || !named_type(&pointee, type_name)) continue;
          type = pointee;
        }
        int otag = dwarf_tag(&type);
        if (otag != DW_TAG_structure_type && otag != DW_TAG_class_type && (through || otag != DW_TAG_array_type))
          continue;
        Dwarf_Word size = 0;
        if (dwarf_aggregate_size(&type, &size) != 0 || addr < p.at || addr - p.at >= size) continue;
        uint64_t rest = 0;
        std::string path = member_path(type, addr - p.at, rest);
        if (path.empty() || rest != 0) continue;  // the object is the lock, or a library's insides
        if (through) {
          if (type_name.empty() || path[0] != '.') continue;
          std::string q = qualified_name(&type, type_name);
          if (library_type(q)) continue;
          name = (c_language && dwarf_diename(&type) ? "struct " + q : q) + "::" + path.substr(1);
        } else {
          Dwarf_Attribute na;
          const char* vname = dwarf_formstring(dwarf_attr_integrate(&var, DW_AT_name, &na));
          if (!vname) continue;
          name = vname + path;
        }
        found = true;
        break;
      } while (dwarf_siblingof(&var, &var) == 0);
    }
    std::free(scopes);
  });
  return found;
}

bool Symbolizer::frame_cfa(uint64_t pc, uint64_t sp, uint64_t fp, uint64_t& cfa, bool return_address) {
#if !defined(__x86_64__)
  return false;  // the register numbers below are x86-64's
#endif
  constexpr uint8_t kRsp = 7, kRbp = 6;  // DWARF's x86-64 register numbers
  uint64_t addr = return_address ? pc - 1 : pc;
  auto cached = impl_->cfa_rules.find(addr);
  if (cached == impl_->cfa_rules.end()) {
    std::pair<uint8_t, int64_t> rule{0, 0};
    if (Dwfl_Module* mod = impl_->module_of(addr)) {
      on_big_stack([&] {  // libdw reads the module's CFI section on first use
        for (int pass = 0; pass < 2 && !rule.first; ++pass) {
          Dwarf_Addr bias = 0;
          Dwarf_CFI* cfi = pass == 0 ? dwfl_module_eh_cfi(mod, &bias) : dwfl_module_dwarf_cfi(mod, &bias);
          Dwarf_Frame* frame = nullptr;
          if (!cfi || dwarf_cfi_addrframe(cfi, addr - bias, &frame) != 0 || !frame) continue;
          Dwarf_Op* ops = nullptr;
          size_t nops = 0;
          // A register-plus-offset rule comes back as one DW_OP_bregx (libdw's own form for it).
          if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1 && ops[0].atom == DW_OP_bregx &&
              (ops[0].number == kRsp || ops[0].number == kRbp))
            rule = {uint8_t(ops[0].number), static_cast<int64_t>(ops[0].number2)};
          std::free(frame);
        }
      });
    }
    cached = impl_->cfa_rules.emplace(addr, rule).first;
  }
  auto [reg, offset] = cached->second;
  uint64_t base = reg == kRsp ? sp : reg == kRbp ? fp : 0;
  if (!base) return false;
  cfa = base + static_cast<uint64_t>(offset);
  return true;
}

bool Symbolizer::locate(uint64_t addr, std::string& object, uint64_t& offset) {
  Dwfl_Module* mod = impl_->module_of(addr);
  if (!mod) return false;
  Dwarf_Addr start = 0;
  const char* mainfile = nullptr;
  const char* modname =
      dwfl_module_info(mod, nullptr, &start, nullptr, nullptr, nullptr, &mainfile, nullptr);
  object = mainfile ? mainfile : (modname ? modname : "");
  offset = addr - start;
  return true;
}

void Symbolizer::refresh() { impl_->refresh(); }

void Symbolizer::forget(uint64_t lo, uint64_t hi) {
  auto& cache = impl_->code_cache;
  for (auto it = cache.begin(); it != cache.end();) {
    uint64_t pc = it->first & ~(1ull << 63);
    if (pc > lo && pc <= hi) cache.erase(it++);  // return addresses: pc - 1 lies in the range
    else ++it;
  }
  for (auto it = impl_->cfa_rules.begin(); it != impl_->cfa_rules.end();) {
    if (it->first >= lo && it->first < hi) impl_->cfa_rules.erase(it++);
    else ++it;
  }
}

}  // namespace lockhound::symbolize
