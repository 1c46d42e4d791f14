// Every real report in ../shared/testdata/splats/INDEX.tsv: the right finding type, the lock
// classes exactly as printed, and for cycles / recursion / irq reports the chain the index expects.
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "explain/explain.h"

namespace lockhound::explain {
namespace {

struct Row {
  std::string file, type, source, classes, expected;
};
// ctest's list shows the splat's file, not the row's bytes.
void PrintTo(const Row& r, std::ostream* os) { *os << r.file; }

std::vector<Row> read_index() {
  std::vector<Row> rows;
  std::istringstream in(testing::read_file(testing::shared_dir() / "testdata/splats/INDEX.tsv"));
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    if (line.empty()) continue;
    std::vector<std::string> cols;
    size_t b = 0;
    while (true) {
      size_t e = line.find('\t', b);
      cols.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
      if (e == std::string::npos) break;
      b = e + 1;
    }
    cols.resize(5);
    rows.push_back({cols[0], cols[1], cols[2], cols[3], cols[4]});
  }
  return rows;
}

// "a,b,\"c, d\"" -> {a, b, c, d}; a comma inside parentheses ("per_cpu_ptr(&l, cpu)") or
// quotes belongs to the name.
std::set<std::string> split_classes(const std::string& s) {
  std::set<std::string> out;
  std::string cur;
  bool quoted = false;
  int depth = 0;
  for (char c : s) {
    if (c == '"') {
      quoted = !quoted;
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && !quoted && depth == 0) {
      if (!cur.empty()) out.insert(cur);
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  if (!cur.empty()) out.insert(cur);
  return out;
}

std::string chain_text(const Finding& f) {
  if (f.chain.empty()) return "";
  std::string s = f.chain.front().from;
  for (const auto& e : f.chain) s += " --> " + e.to;
  return s;
}

// The part of `expected` before its closing parenthesised remark, if any ("A --> A (also held:
// ...)"); parentheses inside lock names ("(completion)&req.done") are not remarks.
std::string head_of(const std::string& expected) {
  if (expected.empty() || expected.back() != ')') return expected;
  int depth = 0;
  for (size_t i = expected.size(); i-- > 0;) {
    if (expected[i] == ')') ++depth;
    if (expected[i] == '(' && --depth == 0) {
      if (i > 0 && expected[i - 1] == ' ') return expected.substr(0, i - 1);
      return expected;
    }
  }
  return expected;
}

class SplatIndex : public ::testing::TestWithParam<Row> {};

TEST_P(SplatIndex, ParsedAsIndexed) {
  const Row& row = GetParam();
  auto path = testing::shared_dir() / "testdata/splats" / row.file;
  std::string text = testing::read_file(path);
  ASSERT_FALSE(text.empty()) << path;
  ExplainResult r = explain_log(text, path.string());
  for (const auto& d : r.diagnostics) EXPECT_FALSE(d.error) << format_diagnostic(d);
  ASSERT_EQ(r.findings.size(), 1u) << row.file << ": expected exactly one finding";
  const Finding& f = r.findings.front();
  EXPECT_EQ(type_name(f.type), row.type) << row.file;
  std::set<std::string> got(f.classes.begin(), f.classes.end());
  EXPECT_EQ(got, split_classes(row.classes)) << row.file;
  EXPECT_FALSE(f.raw.empty());
  EXPECT_NE(f.location.find(row.file + ":"), std::string::npos) << f.location;
  EXPECT_FALSE(f.explanation.empty()) << row.file;
  EXPECT_FALSE(f.fix.empty()) << row.file;
  EXPECT_FALSE(f.summary.empty()) << row.file;

  if (row.type == "circular_dependency" || row.type == "witness_lock_order_reversal" ||
      row.type == "recursive_locking" || row.type == "irq_lock_inversion" ||
      row.type == "irq_safe_unsafe_order") {
    EXPECT_EQ(chain_text(f), head_of(row.expected)) << row.file;
  }
  if (row.type == "inconsistent_lock_state") {
    EXPECT_EQ(f.summary, head_of(row.expected)) << row.file;
  }
  if (row.type == "circular_dependency") {
    // Every edge carries the functions and offsets of its `-> #k` stack.
    for (const auto& e : f.chain) {
      ASSERT_FALSE(e.to_site.stack.empty()) << row.file << ": " << e.from << " -> " << e.to;
      EXPECT_FALSE(e.to_site.stack.front().function.empty());
    }
  }
  if (row.expected.find("printed twice") != std::string::npos) {
    EXPECT_EQ(f.count, 2u) << row.file;
  }
}

std::vector<Row> rows_or_empty() {
  if (!testing::have_shared()) return {};
  return read_index();
}

INSTANTIATE_TEST_SUITE_P(Splats, SplatIndex, ::testing::ValuesIn(rows_or_empty()),
                         [](const ::testing::TestParamInfo<Row>& param_info) {
                           std::string n = param_info.param.file.substr(0, param_info.param.file.find('.'));
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SplatIndex);

TEST(SplatIndexFile, HasEveryRow) {
  LOCKHOUND_REQUIRE_SHARED();
  EXPECT_GE(read_index().size(), 36u);
}

// The circular reports' edges point at the functions of each `-> #k` stack.
TEST(SplatDetails, CircularEdgesCarryTheirStacks) {
  LOCKHOUND_REQUIRE_SHARED();
  auto text = testing::read_file(testing::shared_dir() / "testdata/splats/008-circular.txt");
  auto r = explain_log(text, "008");
  ASSERT_EQ(r.findings.size(), 1u);
  const auto& chain = r.findings[0].chain;
  ASSERT_EQ(chain.size(), 3u);
  // rtnl_mutex --> sk_lock-AF_INET6: the `-> #1` stack, sk_lock taken in do_ipv6_setsockopt.
  EXPECT_EQ(chain[0].to, "sk_lock-AF_INET6");
  EXPECT_EQ(chain[0].to_site.stack[0].function, "lock_sock_nested");
  EXPECT_EQ(chain[0].to_site.stack[0].offset, "+0xc2/0x110");
  // The new edge &xt[i].mutex --> rtnl_mutex is the current acquisition in rtnl_lock.
  EXPECT_EQ(chain[2].from, "&xt[i].mutex");
  EXPECT_EQ(chain[2].to, "rtnl_mutex");
  bool saw = false;
  for (const auto& fr : chain[2].to_site.stack) saw |= fr.function == "unregister_netdevice_notifier";
  EXPECT_TRUE(saw);
  EXPECT_NE(r.findings[0].fix.find("Take rtnl_mutex before &xt[i].mutex at rtnl_lock+0x17"), std::string::npos)
      << r.findings[0].fix;
  // Scenario table: one column per lock of the cycle, each takes its lock, then wants the next.
  const auto& sc = r.findings[0].scenario;
  ASSERT_EQ(sc.columns.size(), 3u);
  ASSERT_EQ(sc.rows.size(), 6u);
  EXPECT_EQ(sc.rows[0][0], "lock(rtnl_mutex);");
  EXPECT_EQ(sc.rows[1][1], "lock(sk_lock-AF_INET6);");
  EXPECT_EQ(sc.rows[5][2], "lock(rtnl_mutex);");
}

TEST(SplatDetails, RecursiveTellsInstancesApartWhenPrinted) {
  LOCKHOUND_REQUIRE_SHARED();
  auto text = testing::read_file(testing::shared_dir() / "testdata/splats/022-recursive.txt");
  auto r = explain_log(text, "022");
  ASSERT_EQ(r.findings.size(), 1u);
  // 3.4 prints no instance addresses: both possibilities are named, with the _nested() fix.
  EXPECT_NE(r.findings[0].fix.find("_nested("), std::string::npos) << r.findings[0].fix;
  EXPECT_NE(r.findings[0].fix.find("sysfs_remove_dir+0x9c"), std::string::npos) << r.findings[0].fix;
}

TEST(SplatDetails, TruncatedReportsWarn) {
  LOCKHOUND_REQUIRE_SHARED();
  // 044 stops after "but there are no more locks to release!": a partial finding and a warning.
  auto text = testing::read_file(testing::shared_dir() / "testdata/splats/044-bad-unlock.txt");
  auto r = explain_log(text, "044");
  ASSERT_EQ(r.findings.size(), 1u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_FALSE(r.diagnostics[0].error);
  EXPECT_EQ(r.diagnostics[0].line, 2u);
  EXPECT_NE(r.findings[0].fix.find("writeback_sb_inodes+0x160"), std::string::npos) << r.findings[0].fix;
}

TEST(SplatDetails, HungTaskNamesWhoHoldsTheMutex) {
  LOCKHOUND_REQUIRE_SHARED();
  auto text = testing::read_file(testing::shared_dir() / "testdata/splats/063-hung-task.txt");
  auto r = explain_log(text, "063");
  ASSERT_EQ(r.findings.size(), 1u);  // waiters listed as holders make no cycle
  const auto& f = r.findings[0];
  std::string held_by;
  for (const auto& [k, v] : f.details)
    if (k == "held by") held_by = v;
  // The waiter itself (syz.0.1560) lists the mutex too, but it waits for it: not an owner.
  EXPECT_EQ(held_by, "udevd/6068, syz.7.2174/13857");
  ASSERT_FALSE(f.participants.empty());
  EXPECT_EQ(f.participants[0].pid, 11699);
  EXPECT_EQ(f.participants[0].waits_for, "&disk->open_mutex (ff1100002446e358)");
}

}  // namespace
}  // namespace lockhound::explain
