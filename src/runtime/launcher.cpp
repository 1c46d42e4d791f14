#include "runtime/launcher.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lockhound::runtime {

namespace {

bool is_file(const std::string& p) {
  struct stat st;
  return !p.empty() && stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string self_dir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string p(buf, static_cast<size_t>(n));
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
}

}  // namespace

std::string find_beside_executable(const char* env_var, const std::string& file, const std::string& build_dir,
                                  std::vector<std::string>& searched) {
  std::vector<std::string> candidates;
  if (const char* env = getenv(env_var); env && *env) candidates.push_back(env);
  std::string dir = self_dir();
  if (!dir.empty()) {
    candidates.push_back(dir + "/" + file);
    candidates.push_back(dir + "/../lib/" + file);
#ifdef LOCKHOUND_BINDIR_TO_LIBDIR
    // The install layout (bin -> lib/x86_64-linux-gnu with prefix /usr): wherever the prefix was
    // moved, a `cmake --install --prefix` or a package unpacked into another root.
    candidates.push_back(dir + "/" LOCKHOUND_BINDIR_TO_LIBDIR "/" + file);
    candidates.push_back(dir + "/" LOCKHOUND_BINDIR_TO_LIBDIR "/lockhound/" + file);
#endif
    candidates.push_back(dir + "/../lib/lockhound/" + file);
    candidates.push_back(dir + "/" + build_dir + "/" + file);  // the build tree: src/cli -> src/<part>
  }
  // Nothing here names the build tree by its absolute path: an installed lockhound never loads the
  // build's files (the build tree's own lockhound finds them beside itself, above).
#ifdef LOCKHOUND_INSTALL_LIBDIR
  candidates.push_back(std::string(LOCKHOUND_INSTALL_LIBDIR) + "/" + file);
  candidates.push_back(std::string(LOCKHOUND_INSTALL_LIBDIR) + "/lockhound/" + file);
#endif
  for (const auto& c : candidates) {
    if (std::find(searched.begin(), searched.end(), c) != searched.end()) continue;  // said twice above
    searched.push_back(c);
    if (is_file(c)) {
      char resolved[PATH_MAX];
      return realpath(c.c_str(), resolved) ? std::string(resolved) : c;
    }
  }
  return {};
}

std::string find_runtime_library(std::vector<std::string>& searched) {
  return find_beside_executable("LOCKHOUND_RUNTIME", "liblockhound.so", "../runtime", searched);
}

ProgramInfo inspect_program(const std::string& name) {
  ProgramInfo info;
  if (name.find('/') != std::string::npos) {
    info.path = name;
  } else if (const char* path = getenv("PATH")) {
    std::string list = path;
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t end = list.find(':', pos);
      if (end == std::string::npos) end = list.size();
      std::string d = list.substr(pos, end - pos);
      std::string cand = (d.empty() ? std::string(".") : d) + "/" + name;
      if (is_file(cand) && access(cand.c_str(), X_OK) == 0) {
        info.path = cand;
        break;
      }
      pos = end + 1;
    }
  }
  struct stat st;
  if (!info.path.empty() && ::stat(info.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) info.directory = true;
  if (info.path.empty() || !is_file(info.path)) return info;
  info.found = true;
  // The kernel runs it in secure mode (the loader drops LD_PRELOAD) when the bit changes the user
  // or group: not for root running a root-owned set-user-ID program.
  if (::stat(info.path.c_str(), &st) == 0 &&
      (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getegid())))
    info.setid = true;
  int fd = open(info.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return info;
  Elf64_Ehdr eh;
  if (read(fd, &eh, sizeof eh) == static_cast<ssize_t>(sizeof eh) &&
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64) {
    info.elf = true;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      off_t off = static_cast<off_t>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize);
      if (pread(fd, &ph, sizeof ph, off) != static_cast<ssize_t>(sizeof ph)) break;
      if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC) info.dynamic = true;
    }
  }
  close(fd);
  return info;
}

std::string join_options(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + ":" + b;
}

int exec_under_runtime(const std::string& library, const std::string& options,
                       const std::vector<std::string>& argv) {
  if (argv.empty()) {
    errno = EINVAL;
    return -1;
  }
  std::string preload = library;
  if (const char* old = getenv("LD_PRELOAD"); old && *old) preload += ":" + std::string(old);
  setenv("LD_PRELOAD", preload.c_str(), 1);
  std::string opts = options;
  if (const char* old = getenv("LOCKHOUND_OPTIONS"); old && *old) opts = join_options(old, options);
  setenv("LOCKHOUND_OPTIONS", opts.c_str(), 1);
  // exec keeps the pid: the runtime knows the program from the processes it starts.
  setenv("LOCKHOUND_RUN_PID", std::to_string(getpid()).c_str(), 1);
  // The record every followed process adds its line to (the program reads it at its end and
  // removes it), in a directory of its own that any user may write to (sticky): a process may
  // change its user before it ends, and one that then cannot create its PREFIX.PID puts its
  // report there instead of into the program's stderr.
  char tmpl[] = "/tmp/lockhound-run-XXXXXX";
  if (mkdtemp(tmpl) && chmod(tmpl, 01777) == 0) {
    std::string record = std::string(tmpl) + "/record";
    int fd = open(record.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      fchmod(fd, 0666);
      close(fd);
      setenv("LOCKHOUND_RUN_LOG", record.c_str(), 1);
    }
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  return -1;
}

}  // namespace lockhound::runtime
