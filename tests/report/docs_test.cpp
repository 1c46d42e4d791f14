// docs/reports.md's examples run: every `    $ command` line of the document, in a scratch
// directory that sees the source tree's examples/ and the build (as build/), with the lockhound
// command first on PATH. Each must succeed (exit 0, or 1 for findings, 66 for `run`'s) and write
// what its -o names.
#include <filesystem>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "report/cli_helpers.h"

namespace lockhound {
namespace {
using namespace lockhound::testing;
namespace fs = std::filesystem;

TEST(Docs, ReportsExamplesRun) {
  LOCKHOUND_REQUIRE_TOOL(have_program("dot"), "Graphviz (dot)");
  std::istringstream doc(read_file(source_dir() / "docs/reports.md"));
  std::vector<std::string> commands;
  std::string line;
  while (std::getline(doc, line))
    if (line.rfind("    $ ", 0) == 0) commands.push_back(line.substr(6));
  ASSERT_GE(commands.size(), 5u);

  fs::path dir = artifacts() / "docs";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_directory_symlink(source_dir() / "examples", dir / "examples");
  fs::create_directory_symlink(binary_dir(), dir / "build");
  std::string path = "PATH='" + (binary_dir() / "src/cli").string() + "':\"$PATH\"";
  std::regex output(R"re(-o (\S+))re");
  for (const auto& cmd : commands) {
    CmdResult r = run_cmd("cd '" + dir.string() + "' && " + path + " " + cmd + " >/dev/null");
    bool run = cmd.find("lockhound run") == 0;
    if (run && kSanitized) continue;  // the preloaded runtime cannot run under ASan
    EXPECT_TRUE(r.rc == 0 || r.rc == 1 || (run && r.rc == 66)) << cmd << ": exit " << r.rc;
    std::smatch m;
    if (!std::regex_search(cmd, m, output)) continue;
    std::string out = m[1];
    bool found = fs::exists(dir / out);
    for (const auto& e : fs::directory_iterator(dir))
      found = found || (run && e.path().filename().string().rfind(out + ".", 0) == 0);
    EXPECT_TRUE(found) << cmd << " wrote no " << out;
  }
}

}  // namespace
}  // namespace lockhound
