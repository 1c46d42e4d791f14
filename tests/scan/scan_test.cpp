// `lockhound scan` against the team's real kernel cases (../shared/testdata/static), the
// feasibility study's fixtures (../shared/research/static-feasibility) and the seeds' examples.
// Every assertion is on structure: finding type, lock classes, functions on the evidence paths.
#include <regex>

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include "core/facts.h"
#include "scan_helpers.h"

namespace lockhound::scan::testing {
namespace {

using lockhound::testing::shared_dir;
using lockhound::testing::source_dir;

fs::path case_dir(const std::string& name) { return shared_dir() / "testdata" / "static" / name; }

// ------------------------------------------------------------------ ../shared/testdata/static
TEST(ScanTestdata, Solos001SoftirqUnsafeLock) {
  LOCKHOUND_REQUIRE_SHARED();
  auto before = scan_files({(case_dir("001-solos-cli-queue-lock-bh") / "before.c").string()});
  ASSERT_EQ(before.stats.failed, 0u);
  auto hits = matching(before.findings, FindingType::inconsistent_lock_state, {"struct solos_card::cli_queue_lock"});
  ASSERT_EQ(hits.size(), 1u) << describe(before.findings);
  const Finding& f = *hits[0];
  EXPECT_TRUE(names_function(f, "console_show")) << describe(before.findings);
  EXPECT_TRUE(names_function(f, "solos_bh"));
  EXPECT_TRUE(names_function(f, "fpga_probe_part")) << "the tasklet_init registration path";
  bool softirq = false;
  for (const auto& a : f.acquisitions) softirq |= a.irq == "softirq";
  EXPECT_TRUE(softirq);

  auto after = scan_files({(case_dir("001-solos-cli-queue-lock-bh") / "after.c").string()});
  EXPECT_TRUE(after.findings.empty()) << describe(after.findings);
}

TEST(ScanTestdata, Xdmac003MissingUnlockOnEarlyReturn) {
  LOCKHOUND_REQUIRE_SHARED();
  fs::path src = case_dir("003-at-xdmac-tasklet-missing-unlock") / "before.c";
  auto before = scan_files({src.string()});
  auto hits = matching(before.findings, FindingType::missing_unlock, {"struct at_xdmac_chan::lock"}, "at_xdmac_tasklet");
  ASSERT_EQ(hits.size(), 1u) << describe(before.findings);
  // The report points at the bare `return;` after the irq_status check: the first plain return
  // after the spin_lock_irq().
  std::ifstream in(src);
  std::string line;
  unsigned n = 0, lock_line = 0, ret_line = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!lock_line && line.find("spin_lock_irq(&atchan->lock)") != std::string::npos) lock_line = n;
    if (lock_line && !ret_line && std::regex_match(line, std::regex("\\s*return;\\s*"))) ret_line = n;
  }
  ASSERT_GT(ret_line, 0u);
  const Finding& f = *hits[0];
  ASSERT_EQ(f.acquisitions.size(), 2u);
  EXPECT_EQ(f.acquisitions[1].mode, "return");
  ASSERT_FALSE(f.acquisitions[1].stack.empty());
  EXPECT_EQ(f.acquisitions[1].stack[0].line, ret_line);
  ASSERT_FALSE(f.acquisitions[0].stack.empty());
  EXPECT_EQ(f.acquisitions[0].stack[0].line, lock_line);

  auto after = scan_files({(case_dir("003-at-xdmac-tasklet-missing-unlock") / "after.c").string()});
  EXPECT_TRUE(matching(after.findings, FindingType::missing_unlock, {}).empty()) << describe(after.findings);
  EXPECT_TRUE(matching(after.findings, FindingType::recursive_locking, {}).empty()) << describe(after.findings);
}

TEST(ScanTestdata, Nci005GfpKernelTwoCallsDown) {
  LOCKHOUND_REQUIRE_SHARED();
  auto before = scan_files({(case_dir("005-nci-uart-gfp-kernel-under-rx-lock") / "before.c").string()});
  auto hits = matching(before.findings, FindingType::sleeping_in_invalid_context, {"struct nci_uart::rx_lock"});
  ASSERT_EQ(hits.size(), 1u) << describe(before.findings);
  // The call chain nci_uart_tty_receive -> nci_uart_default_recv_buf -> nci_skb_alloc (-> alloc_skb).
  const Finding& f = *hits[0];
  std::vector<std::string> chain;
  for (const auto& a : f.acquisitions)
    if (a.stack.size() >= 3) {
      for (const auto& fr : a.stack) chain.push_back(fr.function);
      EXPECT_NE(a.lock.find("alloc_skb"), std::string::npos) << a.lock;
    }
  EXPECT_EQ(chain, (std::vector<std::string>{"nci_skb_alloc", "nci_uart_default_recv_buf", "nci_uart_tty_receive"}));

  auto after = scan_files({(case_dir("005-nci-uart-gfp-kernel-under-rx-lock") / "after.c").string()});
  EXPECT_TRUE(after.findings.empty()) << describe(after.findings);
}

TEST(ScanTestdata, Vsock014InversionThroughOpsStructAndRelock) {
  LOCKHOUND_REQUIRE_SHARED();
  auto before = scan_files({(case_dir("014-vsock-register-mutex-vs-sk-lock") / "before.c").string()});
  auto hits = matching(before.findings, FindingType::circular_dependency, {"vsock_register_mutex", "struct sock::sk_lock"});
  ASSERT_EQ(hits.size(), 1u) << describe(before.findings);
  const Finding& f = *hits[0];
  for (const char* fn : {"vsock_connect", "vsock_assign_transport", "virtio_transport_release", "virtio_transport_wait_close"})
    EXPECT_TRUE(names_function(f, fn)) << fn << "\n" << describe(before.findings);

  auto after = scan_files({(case_dir("014-vsock-register-mutex-vs-sk-lock") / "after.c").string()});
  EXPECT_TRUE(matching(after.findings, FindingType::circular_dependency, {}).empty()) << describe(after.findings);
  EXPECT_TRUE(matching(after.findings, FindingType::recursive_locking, {}).empty()) << describe(after.findings);
}

// For every case folder, present and future: after.c repeats none of before.c's findings.
TEST(ScanTestdata, EveryFixedFileDropsTheBugsFindings) {
  LOCKHOUND_REQUIRE_SHARED();
  size_t cases = 0;
  for (const auto& e : fs::directory_iterator(shared_dir() / "testdata" / "static")) {
    if (!fs::exists(e.path() / "before.c") || !fs::exists(e.path() / "after.c")) continue;
    ++cases;
    auto before = scan_files({(e.path() / "before.c").string()});
    auto after = scan_files({(e.path() / "after.c").string()});
    EXPECT_EQ(before.stats.failed + after.stats.failed, 0u) << e.path();
    EXPECT_FALSE(before.findings.empty()) << e.path();
    for (const auto& f : after.findings)
      for (const auto& b : before.findings)
        EXPECT_FALSE(f.type == b.type && f.classes == b.classes) << e.path() << ": after.c still reports\n" << describe({f});
  }
  EXPECT_GE(cases, 4u);
}

// ------------------------------------------------------------------ static-feasibility
TEST(ScanFeasibility, PthreadFixture) {
  LOCKHOUND_REQUIRE_SHARED();
  auto r = scan_files({(shared_dir() / "research" / "static-feasibility" / "pthread" / "pthread_bugs.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  auto& fs_ = r.findings;
  auto abba = matching(fs_, FindingType::circular_dependency, {"log_mu", "struct account::mu"});
  ASSERT_EQ(abba.size(), 1u) << describe(fs_);
  EXPECT_TRUE(names_function(*abba[0], "deposit"));
  EXPECT_TRUE(names_function(*abba[0], "audit"));
  EXPECT_EQ(matching(fs_, FindingType::recursive_locking, {"struct account::mu"}, "twice").size(), 1u) << describe(fs_);
  EXPECT_EQ(matching(fs_, FindingType::missing_unlock, {"struct account::mu"}, "withdraw").size(), 1u) << describe(fs_);
  // sleep() while holding the account's mutex: a hazard, every other thread waits as long.
  EXPECT_EQ(matching(fs_, FindingType::blocking_call_under_lock, {"struct account::mu"}, "slow").size(), 1u)
      << describe(fs_);
  // Unlocking out of order is not a bug.
  for (const auto& f : fs_) EXPECT_FALSE(names_function(f, "out_of_order_unlock")) << describe({f});
}

// lockbugs.c is a real module: built against Debian's headers with bear, scanned with -p.
TEST(ScanFeasibility, KernelModuleBuiltWithKbuild) {
  LOCKHOUND_REQUIRE_SHARED();
  std::string headers = kernel_headers();
  if (headers.empty()) GTEST_SKIP() << "skipped: no /usr/src/linux-headers-*-amd64 (apt-get install linux-headers-amd64)";
  if (!have_program("bear") || !have_program("make")) GTEST_SKIP() << "skipped: bear or make missing";
  fs::path dir = make_temp_dir("lockbugs");
  fs::path fixture = shared_dir() / "research" / "static-feasibility" / "mod";
  fs::copy_file(fixture / "lockbugs.c", dir / "lockbugs.c");
  fs::copy_file(fixture / "Kbuild", dir / "Kbuild");
  std::string cmd = "cd " + sh_quote(dir.string()) + " && bear --output compile_commands.json -- make -C " +
                    sh_quote(headers) + " M=" + sh_quote(dir.string()) + " modules >build.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << lockhound::testing::read_file(dir / "build.log");

  CliRun run = run_cli("scan --no-cache -p " + sh_quote((dir / "compile_commands.json").string()) + " --format json");
  ASSERT_EQ(run.status, 1) << run.err;
  ASSERT_TRUE(run.json.is_object()) << run.out;
  struct Want {
    const char* type;
    std::vector<std::string> classes;
    const char* function;
  };
  const std::vector<Want> bugs = {
      {"inconsistent_lock_state", {"struct my_dev::lock"}, "bug_irq_unsafe"},
      {"inconsistent_lock_state", {"struct my_dev::stats_lock"}, "bug_bh_unsafe"},
      {"circular_dependency", {"struct my_dev::lock", "struct my_port::port_lock"}, "path_ba"},
      {"circular_dependency", {"global_mutex", "struct my_dev::cfg_mutex", "third_mutex"}, "cyc3"},
      {"sleeping_in_invalid_context", {"global_lock"}, "bug_sleep_under_spinlock"},
      {"invalid_wait_context", {"struct my_dev::cfg_mutex", "struct my_dev::lock"}, "bug_sleep_via_callee"},
      {"sleeping_in_invalid_context", {"struct my_dev::stats_lock"}, "bug_copy_under_lock"},
      {"invalid_wait_context", {"struct my_dev::cfg_mutex"}, "bug_irq_sleeps"},
      {"recursive_locking", {"struct my_dev::stats_lock"}, "bug_double_lock"},
      {"recursive_locking", {"struct my_dev::cfg_mutex"}, "bug_double_lock_caller"},
      {"missing_unlock", {"struct my_dev::cfg_mutex"}, "bug_missing_unlock"},
  };
  auto functions = [](const nlohmann::json& f) {
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
  };
  const auto& findings = run.json["findings"];
  for (const auto& w : bugs) {
    bool found = false;
    for (const auto& f : findings) {
      if (f["type"] != w.type) continue;
      bool classes = true;
      for (const auto& c : w.classes)
        classes &= std::find(f["classes"].begin(), f["classes"].end(), c) != f["classes"].end();
      auto fns = functions(f);
      if (classes && std::find(fns.begin(), fns.end(), w.function) != fns.end()) found = true;
    }
    EXPECT_TRUE(found) << "BUG in " << w.function << " not reported as " << w.type;
  }
  for (const auto& f : findings)
    for (const auto& fn : functions(f))
      EXPECT_TRUE(fn.rfind("ok_", 0) != 0) << "a correct variant is reported: " << f.dump();
  EXPECT_EQ(run.json["stats"]["files failed"], 0);
  fs::remove_all(dir);
}

// ------------------------------------------------------------------ examples/scan
TEST(ScanExamples, SeedsReportedAndFixedTwinsClean) {
  fs::path ex = source_dir() / "examples" / "scan";
  struct Want {
    const char* file;
    FindingType type;
    std::vector<std::string> classes;
    const char* function;
  };
  const std::vector<Want> wants = {
      {"seed_irq_spinlock.c", FindingType::inconsistent_lock_state, {"lock2"}, "some_function"},
      {"seed_abba.c", FindingType::circular_dependency, {"lock1", "lock2"}, "another_function"},
      {"seed_sleep_under_spinlock.c", FindingType::sleeping_in_invalid_context, {"cfg_lock"}, "reconfigure"},
      {"seed_unreleased_lock.c", FindingType::missing_unlock, {"dev_lock"}, "set_mode"},
  };
  for (const auto& w : wants) {
    auto r = scan_files({(ex / w.file).string()});
    EXPECT_FALSE(matching(r.findings, w.type, w.classes, w.function).empty()) << w.file << "\n" << describe(r.findings);
    std::string fixed = std::string(w.file);
    fixed.replace(fixed.size() - 2, 2, "_fixed.c");
    auto f = scan_files({(ex / fixed).string()});
    EXPECT_EQ(f.stats.failed, 0u);
    EXPECT_TRUE(f.findings.empty()) << fixed << "\n" << describe(f.findings);
  }
}

// ------------------------------------------------------------------ CLI behaviour
TEST(ScanCli, KeepsGoingPastAFileThatFailsToParse) {
  fs::path dir = make_temp_dir("cli");
  fs::copy_file(source_dir() / "examples" / "scan" / "kapi.h", dir / "kapi.h");
  fs::copy_file(source_dir() / "examples" / "scan" / "seed_abba.c", dir / "good.c");
  std::ofstream(dir / "broken.c") << "void f(void) { this is not C }\n";
  CliRun r = run_cli("scan --no-cache " + sh_quote(dir.string()) + " --format json");
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("broken.c: error:"), std::string::npos) << r.err;
  ASSERT_TRUE(r.json.is_object()) << r.out;
  EXPECT_EQ(r.json["stats"]["files failed"], 1);
  bool cycle = false;
  for (const auto& f : r.json["findings"]) cycle |= f["type"] == "circular_dependency";
  EXPECT_TRUE(cycle) << "the good file's finding is still reported";

  EXPECT_EQ(run_cli("scan").status, 2);
  EXPECT_EQ(run_cli("scan --no-cache " + sh_quote((dir / "missing.c").string())).status, 3);
  CliRun clean = run_cli("scan --no-cache " + sh_quote((source_dir() / "examples" / "scan" / "seed_abba_fixed.c").string()));
  EXPECT_EQ(clean.status, 0) << clean.out << clean.err;
  fs::remove_all(dir);
}

// -p takes the build directory too, as clang's tools do; a directory without the file is a usage
// error that says what to make.
TEST(ScanCli, CompileCommandsByTheirDirectory) {
  fs::path dir = make_temp_dir("cli_p");
  fs::copy_file(source_dir() / "examples" / "scan" / "kapi.h", dir / "kapi.h");
  fs::copy_file(source_dir() / "examples" / "scan" / "seed_abba.c", dir / "seed_abba.c");
  nlohmann::json db = nlohmann::json::array();
  db.push_back({{"directory", dir.string()}, {"file", "seed_abba.c"}, {"arguments", {"cc", "-c", "seed_abba.c"}}});
  std::ofstream(dir / "compile_commands.json") << db.dump();
  CliRun r = run_cli("scan --no-cache -p " + sh_quote(dir.string()) + " --format json");
  EXPECT_EQ(r.status, 1) << r.err;
  ASSERT_TRUE(r.json.is_object()) << r.out << r.err;
  EXPECT_EQ(r.json["stats"]["files parsed"], 1);
  bool cycle = false;
  for (const auto& f : r.json["findings"]) cycle |= f["type"] == "circular_dependency";
  EXPECT_TRUE(cycle) << r.out;

  fs::remove(dir / "compile_commands.json");
  CliRun none = run_cli("scan --no-cache -p " + sh_quote(dir.string()));
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("without compile_commands.json"), std::string::npos) << none.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lockhound::scan::testing

namespace lockhound::scan::testing {
namespace {

// A bit set in a caller is a fact in the callee: the wait behind `!test_bit()` is unreachable from
// the work item that set the bit, reachable from the one that did not.
TEST(ScanFacts, BitSetInCallerPrunesCalleePath) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "bitflag.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_TRUE(matching(r.findings, FindingType::recursive_locking, {"struct adapter::reset_task"}).empty())
      << describe(r.findings);
  auto self = matching(r.findings, FindingType::recursive_locking, {"struct adapter::other_task"}, "other_task");
  ASSERT_EQ(self.size(), 1u) << describe(r.findings);
  // The work item's run is not a lock: the report says it waits for itself, and where.
  EXPECT_EQ(lockhound::fact::get(*self[0], lockhound::fact::kCallbacks), "struct adapter::other_task");
  EXPECT_NE(self[0]->explanation.find("waits for itself"), std::string::npos) << self[0]->explanation;
  EXPECT_NE(self[0]->fix.find("from inside it (down_and_stop (") , std::string::npos) << self[0]->fix;
}

}  // namespace
}  // namespace lockhound::scan::testing

namespace lockhound::scan::testing {
namespace {

// A constant argument decides the callee's branches on that parameter, through a wrapper that
// forwards it too: a sleep or a mutex behind `wait_type == WAIT_SLEEP` or `if (can_block)` is
// reached only from the callers that pass the value that takes the branch.
TEST(ScanFacts, AConstantArgumentDecidesTheCalleesBranches) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "const_arg.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_EQ(matching(r.findings, FindingType::sleeping_in_invalid_context, {}, "bad_timer").size(), 1u) << describe(r.findings);
  EXPECT_EQ(matching(r.findings, FindingType::invalid_wait_context, {"struct dev::cfg"}, "lock_timer").size(), 1u)
      << describe(r.findings);
  for (const auto& f : r.findings) {
    EXPECT_FALSE(names_function(f, "ok_timer")) << describe({f});
    EXPECT_FALSE(names_function(f, "poll_timer")) << describe({f});
  }
  EXPECT_EQ(r.findings.size(), 2u) << describe(r.findings);
}

// disable_irq_nosync_lockdep_irqsave() keeps the handler off this CPU: the section under it is
// not an irq-unsafe use of the handler's lock; the same section without it is.
TEST(ScanFacts, TheDevicesInterruptLineOffIsInterruptsOff) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "irq_line.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_EQ(matching(r.findings, FindingType::inconsistent_lock_state, {"struct nic::stats_lock"}, "bad_xmit").size(), 1u)
      << describe(r.findings);
  EXPECT_EQ(r.findings.size(), 1u) << describe(r.findings);
}

// No reported path goes round a recursion and on (a function appears twice in a stack only as its
// innermost frame), and what does not go round it is still reported.
TEST(ScanFacts, APathDoesNotGoRoundARecursionAndOn) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "recursion.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  size_t stacks = 0;
  auto check = [&](const Stack& s) {
    ++stacks;
    for (size_t i = 1; i < s.size(); ++i)
      for (size_t j = i + 1; j < s.size(); ++j)
        EXPECT_NE(s[i].function, s[j].function) << "a path round the recursion: " << describe(r.findings);
  };
  for (const auto& f : r.findings) {
    for (const auto& a : f.acquisitions) check(a.stack);
    for (const auto& e : f.chain) check(e.to_site.stack);
  }
  EXPECT_EQ(matching(r.findings, FindingType::recursive_locking, {"struct dev::stat_lock"}, "touch").size(), 1u)
      << describe(r.findings);
  EXPECT_GT(stacks, 0u);
}

// A lock named by a local variable, met again in another activation of the same function (a
// handler re-entered through a driver callback), is another instance of its class; a lock the
// caller passes on to a helper that takes it again is the same one.
TEST(ScanFacts, ALocalOfAnotherActivationIsAnotherInstance) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "stacked_ports.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  auto mux = matching(r.findings, FindingType::recursive_locking, {"struct mux::lock"}, "mux_rx");
  ASSERT_EQ(mux.size(), 1u) << describe(r.findings);
  EXPECT_EQ(lockhound::fact::get(*mux[0], lockhound::fact::kInstance).rfind("another instance", 0), 0u)
      << describe(r.findings);
  auto dev = matching(r.findings, FindingType::recursive_locking, {"struct dev::lock"}, "bump");
  ASSERT_EQ(dev.size(), 1u) << describe(r.findings);
  EXPECT_EQ(lockhound::fact::get(*dev[0], lockhound::fact::kInstance), "same lock instance: a certain self-deadlock")
      << describe(r.findings);
}

// A notifier registered on panic_notifier_list runs with interrupts off (panic() turns them off
// first); one on another chain does not.
TEST(ScanFacts, APanicNotifierRunsWithInterruptsOff) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "panic_notifier.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_EQ(matching(r.findings, FindingType::inconsistent_lock_state, {"struct bmc::rcv_lock"}, "reboot_event").size(), 1u)
      << describe(r.findings);
  EXPECT_EQ(r.findings.size(), 1u) << describe(r.findings);
}

TEST(ScanFacts, DoubleUnlockIsBadUnlockBalanceCorrelatedBranchesAreNot) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "unlock_balance.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_EQ(matching(r.findings, FindingType::bad_unlock_balance, {"struct a::mu"}, "drop").size(), 1u) << describe(r.findings);
  for (const auto& f : r.findings) {
    EXPECT_FALSE(has_class(f, "struct b::mu")) << describe({f});
    EXPECT_FALSE(has_class(f, "struct c::mu")) << describe({f});
  }
}

}  // namespace
}  // namespace lockhound::scan::testing

namespace lockhound::scan::testing {
namespace {

// Kernel locking patterns written for lockhound (tests/scan/data/patterns): each bug beside its
// fix, and correct code that a checker can mistake for a bug. A file's second line names the
// finding types it must produce, exactly ("nothing" for none).
std::vector<std::string> pattern_files() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(source_dir() / "tests" / "scan" / "data" / "patterns"))
    if (e.path().extension() == ".c") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class ScanPatterns : public ::testing::TestWithParam<std::string> {};

TEST_P(ScanPatterns, ReportsExactlyWhatTheCaseExpects) {
  fs::path file = source_dir() / "tests" / "scan" / "data" / "patterns" / GetParam();
  std::string text = lockhound::testing::read_file(file);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(\* expect: ([a-z_ ]+) \*/)"))) << file;
  std::multiset<std::string> want;
  std::istringstream words(m[1].str());
  for (std::string w; words >> w;)
    if (w != "nothing") want.insert(w);
  CliRun r = run_cli("scan --no-cache " + sh_quote(file.string()) + " --format json");
  ASSERT_TRUE(r.json.is_object()) << r.out << r.err;
  EXPECT_EQ(r.json["stats"]["files failed"], 0) << r.err;
  std::multiset<std::string> got;
  for (const auto& f : r.json["findings"]) got.insert(f["type"].get<std::string>());
  EXPECT_EQ(got, want) << r.out;
  EXPECT_EQ(r.status, want.empty() ? 0 : 1);
}

// A fix names the call the code makes: scan's stacks end at the caller's line, so the call comes
// from the scan itself (Acquisition::call), not from a frame.
TEST(ScanPatternsFix, NamesTheLockingCallTheCodeMakes) {
  fs::path file = source_dir() / "tests" / "scan" / "data" / "patterns" / "p9_bh_vs_irq_before.c";
  CliRun r = run_cli("scan --no-cache " + sh_quote(file.string()) + " --format json");
  ASSERT_TRUE(r.json.is_object()) << r.out << r.err;
  ASSERT_EQ(r.json["findings"].size(), 1u) << r.out;
  std::string fix = r.json["findings"][0].value("fix", "");
  EXPECT_NE(fix.find("Make the spin_lock_bh() of struct mii::lock"), std::string::npos) << fix;
  EXPECT_NE(fix.find("spin_lock_irqsave()"), std::string::npos) << fix;
}

// A flush of a workqueue waits for every work item queued on it: under a lock an item takes, a
// deadlock, worded as the flush it is.
TEST(ScanPatternsFix, AFlushUnderALockItsWorkTakesIsWordedAsAFlush) {
  fs::path file = source_dir() / "tests" / "scan" / "data" / "patterns" / "q1_flushwq_before.c";
  CliRun r = run_cli("scan --no-cache " + sh_quote(file.string()) + " --format json");
  ASSERT_TRUE(r.json.is_object()) << r.out << r.err;
  ASSERT_EQ(r.json["findings"].size(), 1u) << r.out;
  const auto& f = r.json["findings"][0];
  EXPECT_NE(f.value("explanation", "").find("A work item queued on the workqueue struct q1::wq takes struct q1::lock"),
            std::string::npos) << f.dump(2);
  EXPECT_NE(f.value("fix", "").find("do not flush struct q1::wq while holding struct q1::lock"), std::string::npos)
      << f.dump(2);
}

INSTANTIATE_TEST_SUITE_P(Cases, ScanPatterns, ::testing::ValuesIn(pattern_files()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return i.param.substr(0, i.param.size() - 2);
                         });

}  // namespace
}  // namespace lockhound::scan::testing

namespace lockhound::scan::testing {
namespace {

// A NAPI poll function registered through a local function pointer runs in softirq context, and a
// one-bit mask test (`flags & IS_VF_FLAG`) correlates with its negation three calls down, as a
// test_bit() does: Broadcom's bnx2 and bnx2x shapes (poll_flags.c), clean but for the timer that
// tests nothing.
TEST(ScanFacts, CallbacksThroughLocalPointersAndOneBitMasks) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "poll_flags.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  for (const auto& f : r.findings) {
    EXPECT_FALSE(has_class(f, "struct nic::phy_lock")) << describe({f});
    EXPECT_FALSE(names_function(f, "vf_timer")) << describe({f});
  }
  EXPECT_EQ(matching(r.findings, FindingType::invalid_wait_context, {"struct nic::bulletin_mutex"}, "vf_timer_bad").size(), 1u)
      << describe(r.findings);
}

}  // namespace
}  // namespace lockhound::scan::testing

namespace lockhound::scan::testing {
namespace {

// Forty calls in a row through a pointer with three implementations (ops_chain.c): the states are
// merged after each call, as at a block's entry, so the scan finishes in little memory and finds
// the sleep after the chain. Run in a child limited to 2 GiB of address space: unmerged, the
// states grew as 3^n and the child runs out of memory (a bad_alloc, exit code 3) instead.
int scan_ops_chain_in_2_gib() {
  struct rlimit rl{};
  rl.rlim_cur = rl.rlim_max = size_t(2) << 30;
  setrlimit(RLIMIT_AS, &rl);
  try {
    auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "ops_chain.c").string()});
    if (r.stats.failed != 0) return 1;
    return matching(r.findings, FindingType::sleeping_in_invalid_context, {}, "chain_timer").size() == 1 ? 0 : 1;
  } catch (const std::bad_alloc&) {
    return 3;
  }
}

// An acquire and a release through one ops pointer come from the same table (ops_groups.c): a
// loop that pairs them is clean, and a function that acquires twice is still found, for each
// table whose acquire takes a lock. Without the pairing the loop gave two false recursions and a
// false cycle between the two tables' mutexes.
TEST(ScanFacts, MethodsThroughAnOpsPointerComeFromOneTable) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "ops_groups.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_TRUE(matching(r.findings, FindingType::recursive_locking, {}, "write_words").empty());
  EXPECT_TRUE(matching(r.findings, FindingType::circular_dependency, {}, "").empty());
  EXPECT_EQ(matching(r.findings, FindingType::recursive_locking, {"nvm_mutex"}, "take_twice").size(), 1u);
  EXPECT_EQ(matching(r.findings, FindingType::recursive_locking, {"eeprom_mutex"}, "take_twice").size(), 1u);
  EXPECT_EQ(r.findings.size(), 2u);
}

// `a != b` and `a == b` are one condition (eq_ne.c): a function that locks under one and
// unlocks under the other is balanced on every path.
TEST(ScanFacts, ATestAndItsNegationSpelledWithNotEqualCorrelate) {
  auto r = scan_files({(lockhound::testing::source_dir() / "tests" / "scan" / "data" / "eq_ne.c").string()});
  ASSERT_EQ(r.stats.failed, 0u);
  EXPECT_TRUE(matching(r.findings, FindingType::bad_unlock_balance, {}, "fill").empty()) << describe(r.findings);
  EXPECT_TRUE(matching(r.findings, FindingType::recursive_locking, {}, "fill").empty()) << describe(r.findings);
  EXPECT_TRUE(r.findings.empty()) << describe(r.findings);
}

TEST(ScanFacts, ARunOfCallsThroughAnOpsPointerStaysBounded) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow memory does not fit an address-space limit";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::_Exit(scan_ops_chain_in_2_gib()), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace lockhound::scan::testing

namespace lockhound::scan::testing {
namespace {

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// Three Kbuild modules in one directory, as ath9k builds them: `hw` (shared register access
// through an ops pointer), `pcidrv` (MMIO writes, called from its interrupt handler) and `usbdrv`
// (writes that take a mutex, called from its timer), both depending on `hw`. Each driver is
// analysed with `hw` and not with the other: the PCI handler never reaches the USB write (as one
// program it did: a mutex in hardirq context), while the USB timer's mutex is still found. Without
// the .mod files the scan is one program and reports the PCI handler too.
TEST(ScanFacts, EachKernelModuleIsAnalysedWithTheModulesItDependsOn) {
  fs::path dir = fs::temp_directory_path() / ("lockhound-modules-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_file(dir / "hw.h", R"(
struct mutex { int o; };
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
struct timer_list { void (*function)(struct timer_list *); };
void timer_setup(struct timer_list *t, void (*fn)(struct timer_list *), unsigned int flags);
typedef int irqreturn_t;
int request_irq(unsigned int irq, irqreturn_t (*handler)(int, void *), unsigned long flags, const char *name, void *dev);
struct hw;
struct hw_ops { void (*write)(struct hw *, unsigned int, unsigned int); };
struct hw { const struct hw_ops *ops; struct mutex io_mutex; struct timer_list timer; unsigned int regs[8]; };
void hw_write(struct hw *h, unsigned int r, unsigned int v);
)");
  write_file(dir / "hw.c", "#include \"hw.h\"\nvoid hw_write(struct hw *h, unsigned int r, unsigned int v) { h->ops->write(h, r, v); }\n");
  write_file(dir / "pcidrv.c", R"(#include "hw.h"
static void pci_write(struct hw *h, unsigned int r, unsigned int v) { h->regs[r & 7] = v; }
static const struct hw_ops pci_ops = { .write = pci_write };
static irqreturn_t pci_isr(int irq, void *dev) { hw_write(dev, 1, 0); return 1; }
int pci_probe(struct hw *h) { h->ops = &pci_ops; return request_irq(5, pci_isr, 0, "pcidrv", h); }
)");
  write_file(dir / "usbdrv.c", R"(#include "hw.h"
#define container_of(p, T, m) ((T *)((char *)(p) - __builtin_offsetof(T, m)))
static void usb_write(struct hw *h, unsigned int r, unsigned int v)
{
	mutex_lock(&h->io_mutex);
	h->regs[r & 7] = v;
	mutex_unlock(&h->io_mutex);
}
static const struct hw_ops usb_ops = { .write = usb_write };
static void usb_poll(struct timer_list *t) { hw_write(container_of(t, struct hw, timer), 2, 0); }
void usb_probe(struct hw *h) { h->ops = &usb_ops; timer_setup(&h->timer, usb_poll, 0); }
)");
  std::string db = "[";
  for (const char* f : {"hw.c", "pcidrv.c", "usbdrv.c"}) {
    if (db.size() > 1) db += ",";
    db += "{\"directory\":\"" + dir.string() + "\",\"file\":\"" + f + "\",\"arguments\":[\"clang\",\"-c\",\"" + f + "\"]}";
  }
  write_file(dir / "compile_commands.json", db + "]");
  auto in_hardirq = [](const ScanResult& r) {
    size_t n = 0;
    for (const auto& f : r.findings) n += names_function(f, "pci_isr");
    return n;
  };
  auto usb_timer = [](const ScanResult& r) {
    return matching(r.findings, FindingType::invalid_wait_context, {"struct hw::io_mutex"}, "usb_poll").size();
  };
  ScanResult one = scan_files({}, (dir / "compile_commands.json").string());
  ASSERT_EQ(one.stats.failed, 0u) << describe(one.findings);
  EXPECT_EQ(one.stats.modules, 0u);
  EXPECT_GE(in_hardirq(one), 1u) << describe(one.findings);  // the control: one program, the false path
  EXPECT_EQ(usb_timer(one), 1u) << describe(one.findings);

  write_file(dir / "hw.mod", (dir / "hw.o").string() + "\n");
  write_file(dir / "pcidrv.mod", (dir / "pcidrv.o").string() + "\n");
  write_file(dir / "usbdrv.mod", (dir / "usbdrv.o").string() + "\n");
  write_file(dir / "hw.mod.c", "MODULE_INFO(depends, \"\");\n");
  write_file(dir / "pcidrv.mod.c", "MODULE_INFO(depends, \"hw,pci_core\");\n");
  write_file(dir / "usbdrv.mod.c", "MODULE_INFO(depends, \"usbcore,hw\");\n");
  ScanResult parts = scan_files({}, (dir / "compile_commands.json").string());
  ASSERT_EQ(parts.stats.failed, 0u) << describe(parts.findings);
  EXPECT_EQ(parts.stats.modules, 2u);
  // The stats count what the groups share once: hw_write is in both, each module's own code in one.
  EXPECT_EQ(one.stats.functions, 7u);
  EXPECT_EQ(parts.stats.functions, one.stats.functions);
  EXPECT_EQ(parts.stats.classes, one.stats.classes);
  EXPECT_EQ(parts.stats.dependencies, one.stats.dependencies);
  EXPECT_EQ(in_hardirq(parts), 0u) << describe(parts.findings);
  EXPECT_EQ(usb_timer(parts), 1u) << describe(parts.findings);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lockhound::scan::testing
