// Locating test inputs: the project's own (tests/data, examples/) and the team's shared real
// captures in ../shared/testdata, which tests read in place and skip when absent.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace lockhound::testing {

inline std::filesystem::path shared_dir() { return LOCKHOUND_SHARED_DIR; }
inline std::filesystem::path source_dir() { return LOCKHOUND_SOURCE_DIR; }
inline std::filesystem::path binary_dir() { return LOCKHOUND_BINARY_DIR; }
inline bool have_shared() { return std::filesystem::exists(shared_dir() / "testdata"); }

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace lockhound::testing

// Use at the top of a test that needs ../shared/testdata.
#define LOCKHOUND_REQUIRE_SHARED()                                            \
  do {                                                                        \
    if (!::lockhound::testing::have_shared()) GTEST_SKIP() << "skipped: no ../shared"; \
  } while (0)
