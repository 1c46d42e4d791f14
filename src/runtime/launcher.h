// `lockhound run` support: where liblockhound.so is, and how a program is started under it.
//
// The library (and `lockhound scan`'s module, lockhound-scan.so) is looked up, first match wins, in:
//   1. an environment variable ($LOCKHOUND_RUNTIME, $LOCKHOUND_SCAN_MODULE: a path to the file);
//   2. next to the lockhound executable, then ../lib, the install layout's library directory
//      relative to the executable's (e.g. ../lib/x86_64-linux-gnu) and its lockhound/ directory,
//      and ../lib/lockhound (installs, wherever the prefix was moved or unpacked);
//   3. the part's directory in the build tree (src/cli -> src/runtime, src/scan);
//   4. the configured install prefix's library directory and its lockhound/ directory.
// No absolute path into the build tree: an installed lockhound uses the installed files.
// The program is started by exec (same pid, signals and exit status go straight to the caller)
// with LD_PRELOAD extended by the library and LOCKHOUND_OPTIONS extended by the flags.
#pragma once

#include <string>
#include <vector>

namespace lockhound::runtime {

// Returns the file's path (resolved), or "" with `searched` listing every place tried. `build_dir`
// is the build tree's directory of the file relative to the executable's ("../runtime").
std::string find_beside_executable(const char* env_var, const std::string& file, const std::string& build_dir,
                                  std::vector<std::string>& searched);

// liblockhound.so: find_beside_executable("LOCKHOUND_RUNTIME", "liblockhound.so", "../runtime").
std::string find_runtime_library(std::vector<std::string>& searched);

// What ELF says about a program: whether it could be read as ELF, and whether it is dynamically
// linked (has an interpreter), which LD_PRELOAD needs. Scripts (#!) are reported as not ELF.
struct ProgramInfo {
  bool found = false;
  bool elf = false;
  bool dynamic = false;
  std::string path;  // resolved through PATH
  bool directory = false;  // the name is a directory
  bool setid = false;      // set-user-ID or -group-ID to another user: the loader ignores LD_PRELOAD
};
ProgramInfo inspect_program(const std::string& name);

// Joins "a:b" option strings, later keys overriding earlier ones when the runtime parses them.
std::string join_options(const std::string& a, const std::string& b);

// Replaces this process with `argv` under the runtime. Returns only on failure (errno set).
int exec_under_runtime(const std::string& library, const std::string& options,
                       const std::vector<std::string>& argv);

}  // namespace lockhound::runtime
