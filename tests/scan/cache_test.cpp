// The scan cache: entries round-trip, anything malformed is refused (and the scan goes on with a
// warning), and an incremental scan re-parses only what changed and finds what a cold scan finds.
#include <random>

#include "scan/api.h"
#include "scan/codec.h"
#include "scan_helpers.h"

namespace lockhound::scan::testing {
namespace {

using lockhound::testing::source_dir;

CacheEntry sample_entry() {
  CacheEntry e;
  e.file = "/src/a.c";
  e.flags_hash = 42;
  e.content_hash = 7;
  e.includes.push_back({"/src/a.h", 120, 1700000000, 99});
  TuFacts& t = e.facts;
  t.main_file = "/src/a.c";
  t.files = {"/src/a.c", "/src/a.h"};
  FunctionFacts f;
  f.key = "/src/a.c:f";
  f.name = "f";
  f.loc = {0, 3, 1};
  f.end_line = 9;
  f.file_scope = true;
  Block b0;
  Op acq;
  acq.kind = OpKind::acquire;
  acq.loc = {0, 4, 2};
  acq.api = "spin_lock_irqsave";
  acq.lock = {"struct dev::lock", "$0->lock", LockKind::spinlock};
  acq.irq = IrqEffect::irqsave;
  acq.token = 3;
  b0.ops.push_back(acq);
  Op call;
  call.kind = OpKind::call;
  call.loc = {1, 5, 3};
  call.targets = {"g", "field:struct ops::release"};
  ArgFact a;
  a.lock = {"struct dev::lock", "$0->lock", LockKind::spinlock};
  a.param = 0;
  call.args = {a, ArgFact{{}, -1, true, 0xcc0}};
  b0.ops.push_back(call);
  b0.cond = {"($0->flags&4)", {"$0", "$0->flags"}, true, -1};
  b0.succ = {1, -1};
  Block b1;
  Op ret;
  ret.kind = OpKind::ret;
  ret.loc = {0, 8, 2};
  b1.ops.push_back(ret);
  b1.succ = {};
  f.blocks = {b0, b1};
  f.entry = 0;
  f.exit = 1;
  t.functions.push_back(f);
  t.registrations.push_back({"/src/a.c:f", RunContext::softirq, "struct dev::timer", "timer_setup", "probe", {0, 20, 2},
                             EntryIrq::on, LockRef{}});
  // An ops-struct method its caller runs with interrupts off, holding a lock (LH_CALLED).
  t.registrations.push_back({"g", RunContext::process, "", "ops struct struct uart_ops", "", {0, 30, 1},
                             EntryIrq::hardirqs_off, {"struct uart_port::lock", "$0->lock", LockKind::spinlock}});
  t.bindings.push_back({"struct ops::release", "g", "init:/src/a.c:40:1"});
  return e;
}

TEST(ScanCodec, RoundTrip) {
  CacheEntry e = sample_entry();
  std::string bytes = encode_entry(e);
  CacheEntry d;
  std::string why;
  ASSERT_TRUE(decode_entry(bytes, d, why)) << why;
  EXPECT_EQ(d.file, e.file);
  EXPECT_EQ(d.includes.size(), 1u);
  EXPECT_EQ(d.includes[0].mtime, e.includes[0].mtime);
  EXPECT_TRUE(d.facts == e.facts);
}

TEST(ScanCodec, RefusesMalformedEntries) {
  std::string bytes = encode_entry(sample_entry());
  CacheEntry d;
  std::string why;
  EXPECT_FALSE(decode_entry("", d, why));
  EXPECT_FALSE(decode_entry("not cbor at all", d, why));
  // Every truncation and many single-byte corruptions are refused or decode to something valid;
  // none may crash (the fuzzer fuzz_scan explores further).
  for (size_t n = 0; n < bytes.size(); n += 7) EXPECT_FALSE(decode_entry(bytes.substr(0, n), d, why)) << n;
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string b = bytes;
    b[rng() % b.size()] = char(rng());
    (void)decode_entry(b, d, why);
  }
  // A successor block outside the function is refused, not trusted.
  CacheEntry bad = sample_entry();
  bad.facts.functions[0].blocks[0].succ = {5};
  EXPECT_FALSE(decode_entry(encode_entry(bad), d, why));
  EXPECT_NE(why.find("successor"), std::string::npos) << why;
}

std::vector<std::string> keys_of(const nlohmann::json& report) {
  std::vector<std::string> k;
  for (const auto& f : report["findings"]) k.push_back(f["type"].get<std::string>() + " " + f["classes"].dump());
  std::sort(k.begin(), k.end());
  return k;
}

// C++ sources are not scanned, and the user is told so and where C++ is checked instead: alone,
// a usage error (exit 2); next to C files, a warning, and the C files are scanned as usual.
TEST(ScanCli, CxxFilesAreSkippedWithAPointerToRun) {
  fs::path dir = make_temp_dir("cxx");
  fs::path ex = source_dir() / "examples" / "scan";
  std::ofstream(dir / "bank.cpp") << "#include <mutex>\nstd::mutex a, b;\nvoid f() { std::lock_guard g(a); std::lock_guard h(b); }\n";
  std::ofstream(dir / "util.cc") << "int g() { return 0; }\n";
  CliRun alone = run_cli("scan --no-cache " + sh_quote((dir / "bank.cpp").string()));
  EXPECT_EQ(alone.status, 2) << alone.err;
  EXPECT_NE(alone.err.find("no C files to scan (1 C++ file skipped"), std::string::npos) << alone.err;
  EXPECT_NE(alone.err.find("lockhound run --"), std::string::npos) << alone.err;
  fs::copy_file(ex / "kapi.h", dir / "kapi.h");
  fs::copy_file(ex / "seed_abba.c", dir / "seed_abba.c");
  CliRun mixed = run_cli("scan --no-cache " + sh_quote(dir.string()) + " --format json");
  EXPECT_EQ(mixed.status, 1) << mixed.err;
  EXPECT_NE(mixed.err.find("warning: 2 C++ files skipped"), std::string::npos) << mixed.err;
  ASSERT_TRUE(mixed.json.is_object()) << mixed.out;
  EXPECT_EQ(mixed.json["stats"]["files parsed"], 1);
  EXPECT_EQ(mixed.json["findings"].size(), 1u);
  fs::remove_all(dir);
}

TEST(ScanCache, IncrementalRescanParsesOnlyTheEditedFile) {
  fs::path dir = make_temp_dir("incr");
  fs::path ex = source_dir() / "examples" / "scan";
  fs::copy_file(ex / "kapi.h", dir / "kapi.h");
  for (const char* f : {"seed_abba.c", "seed_irq_spinlock.c", "seed_unreleased_lock.c"}) fs::copy_file(ex / f, dir / f);
  std::string cache = sh_quote((dir / "cache").string());
  std::string src = sh_quote(dir.string());

  CliRun cold = run_cli("scan --cache " + cache + " " + src + " --format json");
  ASSERT_TRUE(cold.json.is_object()) << cold.err;
  EXPECT_EQ(cold.json["stats"]["files parsed"], 3);
  EXPECT_EQ(cold.json["stats"]["files from cache"], 0);

  CliRun warm = run_cli("scan --cache " + cache + " " + src + " --format json");
  ASSERT_TRUE(warm.json.is_object());
  EXPECT_EQ(warm.json["stats"]["files parsed"], 0);
  EXPECT_EQ(warm.json["stats"]["files from cache"], 3);
  EXPECT_EQ(keys_of(warm.json), keys_of(cold.json));

  // Touching a header without changing it costs a hash, not a parse.
  fs::last_write_time(dir / "kapi.h", fs::last_write_time(dir / "kapi.h") + std::chrono::seconds(5));
  CliRun touched = run_cli("scan --cache " + cache + " " + src + " --format json");
  EXPECT_EQ(touched.json["stats"]["files parsed"], 0);

  // Edit one file: fix the ABBA inversion.
  fs::copy_file(ex / "seed_abba_fixed.c", dir / "seed_abba.c", fs::copy_options::overwrite_existing);
  CliRun incr = run_cli("scan --cache " + cache + " " + src + " --format json");
  ASSERT_TRUE(incr.json.is_object());
  EXPECT_EQ(incr.json["stats"]["files parsed"], 1);
  EXPECT_EQ(incr.json["stats"]["files from cache"], 2);
  CliRun fresh = run_cli("scan --no-cache " + src + " --format json");
  EXPECT_EQ(keys_of(incr.json), keys_of(fresh.json));
  EXPECT_NE(keys_of(incr.json), keys_of(cold.json)) << "the edit changed the findings";

  // A changed header re-parses everything that includes it.
  std::ofstream(dir / "kapi.h", std::ios::app) << "\n/* edited */\n";
  CliRun hdr = run_cli("scan --cache " + cache + " " + src + " --format json");
  EXPECT_EQ(hdr.json["stats"]["files parsed"], 3);
  fs::remove_all(dir);
}

TEST(ScanCache, CorruptEntriesAreIgnoredWithAWarning) {
  fs::path dir = make_temp_dir("corrupt");
  fs::path ex = source_dir() / "examples" / "scan";
  fs::copy_file(ex / "kapi.h", dir / "kapi.h");
  fs::copy_file(ex / "seed_abba.c", dir / "seed_abba.c");
  std::string args = "scan --cache " + sh_quote((dir / "cache").string()) + " " + sh_quote((dir / "seed_abba.c").string()) +
                     " --format json";
  CliRun cold = run_cli(args);
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir / "cache")) {
    std::ofstream(e.path(), std::ios::trunc) << "garbage";
    ++entries;
  }
  ASSERT_EQ(entries, 1u);
  CliRun again = run_cli(args);
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("warning: cache entry"), std::string::npos) << again.err;
  EXPECT_EQ(again.json["stats"]["files parsed"], 1);
  EXPECT_EQ(keys_of(again.json), keys_of(cold.json));
  fs::remove_all(dir);
}

// The API table is data rendered into docs/scan.md: every row must be there.
TEST(ScanApi, DocsListEveryRow) {
  std::string docs = lockhound::testing::read_file(source_dir() / "docs" / "scan.md");
  ASSERT_FALSE(docs.empty());
  for (const auto& name : api_names()) EXPECT_NE(docs.find("`" + name + "`"), std::string::npos) << name;
}

}  // namespace
}  // namespace lockhound::scan::testing
