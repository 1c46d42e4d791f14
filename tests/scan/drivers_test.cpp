// Slow: real driver directories from Debian's linux-source-6.1, built as out-of-tree modules
// against Debian's headers with bear, scanned end to end. No file may fail to parse, and every
// finding must have a row in docs/scan.md's precision table (written after reading the code):
// a finding nobody has judged fails the test, and so does a row of the directory not found again.
#include <regex>

#include "scan_helpers.h"

namespace lockhound::scan::testing {
namespace {

using lockhound::testing::source_dir;

struct Row {
  std::string driver, type, classes, function;
};

// Rows of the table under "## Precision on real drivers": | driver | type | classes | function | verdict | why |
// (driver: the directory, as the test's parameter names it)
std::vector<Row> precision_rows() {
  std::string docs = lockhound::testing::read_file(source_dir() / "docs" / "scan.md");
  std::vector<Row> rows;
  auto start = docs.find("## Precision on real drivers");
  if (start == std::string::npos) return rows;
  std::istringstream in(docs.substr(start));
  std::string line;
  auto cell = [](std::string s) {
    s = std::regex_replace(s, std::regex("^\\s+|\\s+$"), "");
    if (s.size() >= 2 && s.front() == '`' && s.back() == '`') s = s.substr(1, s.size() - 2);
    return s;
  };
  while (std::getline(in, line)) {
    if (line.rfind("| ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::string cur;
    for (size_t i = 1; i < line.size(); ++i) {
      if (line[i] == '|') {
        cells.push_back(cell(cur));
        cur.clear();
      } else {
        cur += line[i];
      }
    }
    if (cells.size() >= 6 && cells[1] != "type" && cells[1].find("---") == std::string::npos)
      rows.push_back({cells[0], cells[1], cells[2], cells[3]});
  }
  return rows;
}

std::vector<std::string> json_functions(const nlohmann::json& f) {
  std::vector<std::string> out;
  auto add = [&](const nlohmann::json& st) {
    if (st.is_array())
      for (const auto& fr : st) out.push_back(fr.value("function", ""));
  };
  for (const auto& a : f.value("acquisitions", nlohmann::json::array())) add(a.value("stack", nlohmann::json()));
  for (const auto& e : f.value("chain", nlohmann::json::array())) {
    add(e["from_site"].value("stack", nlohmann::json()));
    add(e["to_site"].value("stack", nlohmann::json()));
  }
  return out;
}

class ScanDrivers : public ::testing::TestWithParam<std::string> {};

TEST_P(ScanDrivers, BuildsParsesAndEveryFindingIsJudged) {
  const std::string tarball = "/usr/src/linux-source-6.1.tar.xz";
  std::string headers = kernel_headers();
  if (!fs::exists(tarball)) GTEST_SKIP() << "skipped: no " << tarball << " (apt-get install linux-source-6.1)";
  if (headers.empty()) GTEST_SKIP() << "skipped: no Debian kernel headers (apt-get install linux-headers-amd64)";
  if (!have_program("bear")) GTEST_SKIP() << "skipped: bear missing";
  const std::string rel = GetParam();
  std::string tag = std::regex_replace(rel, std::regex("[^A-Za-z0-9]"), "_");
  fs::path work = make_temp_dir("drv_" + tag);
  std::string extract = "tar -C " + sh_quote(work.string()) + " -xf " + tarball + " linux-source-6.1/" + rel;
  ASSERT_EQ(std::system(extract.c_str()), 0);
  fs::path mod = work / "module";
  fs::copy(work / "linux-source-6.1" / rel, mod, fs::copy_options::recursive);
  std::string build = "cd " + sh_quote(mod.string()) + " && bear --output compile_commands.json -- make -j2 -C " +
                      sh_quote(headers) + " M=" + sh_quote(mod.string()) + " modules >build.log 2>&1";
  ASSERT_EQ(std::system(build.c_str()), 0) << lockhound::testing::read_file(mod / "build.log");

  CliRun r = run_cli("scan --no-cache -j 2 -p " + sh_quote((mod / "compile_commands.json").string()) + " --format json");
  ASSERT_TRUE(r.json.is_object()) << r.err;
  EXPECT_EQ(r.json["stats"]["files failed"], 0) << r.err;
  EXPECT_GT(r.json["stats"]["files parsed"].get<int>(), 0);
  EXPECT_TRUE(r.status == 0 || r.status == 1) << r.err;

  auto rows = precision_rows();
  std::vector<bool> found(rows.size());
  for (const auto& f : r.json["findings"]) {
    std::string type = f["type"];
    std::string classes;
    for (const auto& c : f["classes"]) classes += (classes.empty() ? "" : ", ") + c.get<std::string>();
    auto fns = json_functions(f);
    bool judged = false;
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& row = rows[i];
      if (row.type == type && row.classes == classes && std::find(fns.begin(), fns.end(), row.function) != fns.end())
        judged = found[i] = true;
    }
    EXPECT_TRUE(judged) << "no row in docs/scan.md's precision table for " << type << " [" << classes << "] in "
                        << (fns.empty() ? std::string("?") : fns[0]);
  }
  // And every row of this directory is found again: a finding judged true that goes missing fails.
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].driver != rel) continue;
    EXPECT_TRUE(found[i]) << "not found any more: " << rows[i].type << " [" << rows[i].classes << "] in "
                          << rows[i].function;
  }
  fs::remove_all(work);
}

INSTANTIATE_TEST_SUITE_P(Debian61, ScanDrivers,
                         ::testing::Values("drivers/net/ethernet/intel/e1000", "drivers/usb/serial",
                                           "drivers/net/ethernet/atheros", "drivers/net/ethernet/intel/e1000e"),
                         [](const auto& p) { return std::regex_replace(p.param, std::regex("[^A-Za-z0-9]"), "_"); });

}  // namespace
}  // namespace lockhound::scan::testing
