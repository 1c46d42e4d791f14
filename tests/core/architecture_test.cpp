// The rooms and what may call what (docs/architecture.md), checked on the source: a part includes
// only the parts below it, and a part's internal headers are included only inside that part.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;

// Each part and the parts it may include. cli wires everything together.
const std::map<std::string, std::set<std::string>> kAllowed = {
    {"core", {}},
    {"report", {"core"}},
    {"scenario", {"core"}},
    {"symbolize", {"core"}},
    {"trace", {"core"}},
    {"explain", {"core"}},
    {"scan", {"core"}},
    {"sys", {"core", "report"}},
    {"attach", {"core", "report", "symbolize"}},
    {"db", {"core"}},
    {"runtime", {"core", "report", "symbolize", "db", "lockhound"}},
    {"cli", {"core", "report", "scenario", "symbolize", "runtime", "trace", "explain", "scan", "sys", "attach", "db"}},
};

// Headers that are a part's inside: nobody outside the part includes them.
const std::set<std::string> kInternal = {
    "core/engine.h", "core/voice_internal.h", "explain/report_reader.h", "explain/logtext.h",
    "runtime/runtime_state.h", "runtime/fastpath.h", "runtime/glibc_mutex.h", "runtime/thread_state.h",
    "scan/analyze_internal.h", "scan/extract_internal.h", "db/sqlite.h",
};

TEST(Architecture, PartsIncludeOnlyWhatTheyMay) {
  std::regex include(R"(^\s*#\s*include\s+"([a-z_]+)/([^"]+)\")");
  std::vector<std::string> bad;
  fs::path src = fs::path(LOCKHOUND_SOURCE_DIR) / "src";
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(src)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    if (ext != ".h" && ext != ".cpp" && ext != ".def") continue;
    std::string part = fs::relative(e.path(), src).begin()->string();
    auto allowed = kAllowed.find(part);
    if (allowed == kAllowed.end()) {
      bad.push_back("a part docs/architecture.md does not list: src/" + part);
      continue;
    }
    ++files;
    std::ifstream in(e.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      std::string to = m[1], header = m[1].str() + "/" + m[2].str();
      std::string where = fs::relative(e.path(), LOCKHOUND_SOURCE_DIR).string() + ":" + std::to_string(n);
      if (to != part && !allowed->second.count(to)) bad.push_back(where + ": " + part + " includes " + header);
      if (to != part && kInternal.count(header)) bad.push_back(where + ": includes " + header + ", internal to " + to);
    }
  }
  EXPECT_GT(files, 50u);
  std::string all;
  for (const auto& b : bad) all += b + "\n";
  EXPECT_TRUE(bad.empty()) << all;
}

}  // namespace
