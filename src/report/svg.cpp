// The graph drawn by Graphviz: `dot -Tsvg` as a child process (no library linked in, so the
// runtime's preload library carries no Graphviz and a crash or a leak in Graphviz stays in its
// own process). Bounded in time: a huge graph is killed and the page lists its edges instead.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "report/report.h"

extern char** environ;

namespace lockhound {
namespace {

std::string find_on_path(const char* name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty()) {
      std::string full = dir + "/" + name;
      struct stat st {};
      if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0) return full;
    }
    start = end + 1;
  }
  return "";
}

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += size_t(n);
  }
  return true;
}

}  // namespace

std::string svg_from_dot(const std::string& dot_source, int timeout_ms) {
  std::string dot = find_on_path("dot");
  if (dot.empty()) return "";
  // The graph goes through a file: dot reads it whole before writing, and a child that dies
  // early cannot raise SIGPIPE in this process.
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/lockhound-graph-XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  int in = ::mkstemp(name.data());
  if (in < 0) return "";
  std::string file(name.data());
  bool written = write_all(in, dot_source);
  ::close(in);
  int out[2];
  if (!written || ::pipe2(out, O_CLOEXEC) != 0) {
    ::unlink(file.c_str());
    return "";
  }

  // The child's environment: ours less what would load lockhound into it.
  std::vector<char*> env;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0 && std::strncmp(*e, "LOCKHOUND_", 10) != 0) env.push_back(*e);
  env.push_back(nullptr);
  std::string arg0 = "dot", arg1 = "-Tsvg";
  char* argv[] = {arg0.data(), arg1.data(), file.data(), nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, dot.c_str(), &fa, nullptr, argv, env.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  std::string svg;
  bool timed_out = false;
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[65536];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{out[0], POLLIN, 0};
      int r = ::poll(&p, 1, int(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      svg.append(buf, size_t(n));
    }
    if (timed_out) ::kill(pid, SIGKILL);
    int status = 0;
    // The program may reap children itself (a SIGCHLD handler): then the status is lost, and
    // what dot wrote decides.
    pid_t w;
    do w = ::waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    if (w == pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) svg.clear();
  }
  ::close(out[0]);
  ::unlink(file.c_str());
  if (timed_out) return "";
  size_t at = svg.find("<svg");
  size_t end = svg.rfind("</svg>");
  if (at == std::string::npos || end == std::string::npos || end < at) return "";
  return svg.substr(at, end + 6 - at);
}

}  // namespace lockhound
