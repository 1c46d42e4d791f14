// What the report tests share: running the lockhound command (from the source tree, so paths in
// reports are stable), the tools that check its output (python3-jsonschema, Graphviz, Chromium)
// and where artifacts go (build/tests/report/artifacts).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/testdata.h"

namespace lockhound::testing {

struct CmdResult {
  int rc = -1;
  std::string out;
};

// Runs `cmd` with /bin/sh in the source tree, capturing stdout (stderr passes through).
inline CmdResult run_cmd(const std::string& cmd) {
  std::string full = "cd '" + source_dir().string() + "' && " + cmd;
  CmdResult r;
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The build is instrumented (LOCKHOUND_SANITIZE): the preloaded runtime cannot run then.
#ifdef LOCKHOUND_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

inline std::string lockhound() { return (binary_dir() / "src/cli/lockhound").string(); }

inline std::filesystem::path artifacts() {
  std::filesystem::path d = binary_dir() / "tests/report/artifacts";
  std::filesystem::create_directories(d);
  return d;
}

inline bool have_program(const std::string& name) {
  return run_cmd("command -v " + name + " >/dev/null 2>&1").rc == 0;
}

// A Python that has `module` (Debian's python3-* packages are for /usr/bin/python3), or "".
inline std::string python_with(const std::string& module) {
  for (const char* py : {"/usr/bin/python3", "python3"})
    if (run_cmd(std::string(py) + " -c 'import " + module + "' >/dev/null 2>&1").rc == 0) return py;
  return "";
}

// A tool the test needs but the machine lacks: a skip that says so on a developer's machine,
// a failure in CI (where scripts/setup.sh installs it, so its absence is a broken setup).
#define LOCKHOUND_REQUIRE_TOOL(present, what)                                                  \
  do {                                                                                         \
    if (!(present)) {                                                                          \
      if (std::getenv("CI")) FAIL() << what << " is missing in CI (scripts/setup.sh installs it)"; \
      GTEST_SKIP() << "skipped: " << what << " is not installed (scripts/setup.sh installs it)"; \
    }                                                                                          \
  } while (0)

}  // namespace lockhound::testing
