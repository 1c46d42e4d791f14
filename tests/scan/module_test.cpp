// `lockhound scan`'s C parser is the module lockhound-scan.so, loaded only when scan parses C
// (src/scan/module.h): the lockhound executable links neither clang nor LLVM, every other command
// (and scan's --help, --list-api) starts without loading them, scan still finds through the module,
// and a missing or broken module is a clear error that names where it looked.
#include "scan_helpers.h"

namespace lockhound::scan::testing {
namespace {

using lockhound::testing::source_dir;

// The DT_NEEDED entries of an ELF file, by `readelf -d`.
std::vector<std::string> needed(const std::string& file) {
  CliRun r = run_sh("readelf -d " + sh_quote(file));
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> out;
  std::string key = "Shared library: [";
  for (size_t p = r.out.find(key); p != std::string::npos; p = r.out.find(key, p + 1)) {
    size_t b = p + key.size(), e = r.out.find(']', b);
    out.push_back(r.out.substr(b, e - b));
  }
  return out;
}

bool names_clang(const std::vector<std::string>& libs) {
  for (const auto& l : libs)
    if (l.rfind("libclang", 0) == 0 || l.rfind("libLLVM", 0) == 0) return true;
  return false;
}

// The objects the loader initialised in a run with LD_DEBUG=libs (the log in `err`).
std::vector<std::string> initialised(const std::string& err) {
  std::vector<std::string> out;
  std::string key = "calling init: ";
  for (size_t p = err.find(key); p != std::string::npos; p = err.find(key, p + 1)) {
    size_t b = p + key.size(), e = err.find('\n', b);
    out.push_back(err.substr(b, e - b));
  }
  return out;
}

bool loaded(const std::vector<std::string>& objs, const std::string& name) {
  for (const auto& o : objs)
    if (fs::path(o).filename().string().rfind(name, 0) == 0) return true;
  return false;
}

std::string cli() { return sh_quote(LOCKHOUND_CLI); }
std::string seed(const std::string& f) { return sh_quote((source_dir() / "examples" / "scan" / f).string()); }

TEST(ScanModule, CommandLinksNoClangTheModuleDoes) {
  std::vector<std::string> cmd = needed(LOCKHOUND_CLI);
  ASSERT_FALSE(cmd.empty()) << "readelf found no NEEDED entries in " << LOCKHOUND_CLI;
  EXPECT_FALSE(names_clang(cmd)) << "the lockhound executable links clang or LLVM";
  EXPECT_TRUE(names_clang(needed(LOCKHOUND_SCAN_MODULE_FILE))) << "the module is where clang went";
}

TEST(ScanModule, LoadedOnlyWhenScanParses) {
  for (std::string args : {"--version", "scan --help", "scan --list-api", "check --help"}) {
    CliRun r = run_sh("LD_DEBUG=libs " + cli() + " " + args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
    auto objs = initialised(r.err);
    ASSERT_FALSE(objs.empty()) << "no LD_DEBUG=libs log from `lockhound " << args << "`";
    EXPECT_FALSE(loaded(objs, "libclang-cpp") || loaded(objs, "libLLVM") || loaded(objs, "lockhound-scan"))
        << "`lockhound " << args << "` loaded clang";
  }
  CliRun r = run_sh("LD_DEBUG=libs " + cli() + " scan --no-cache --format json " + seed("seed_abba.c"));
  EXPECT_EQ(r.status, 1) << r.err;
  auto objs = initialised(r.err);
  EXPECT_TRUE(loaded(objs, "lockhound-scan.so") && loaded(objs, "libclang-cpp")) << r.err;
  ASSERT_TRUE(r.json.is_object()) << r.out;
  bool cycle = false;
  for (const auto& f : r.json["findings"])
    cycle |= f["type"] == "circular_dependency" && f["classes"].dump().find("lock1") != std::string::npos;
  EXPECT_TRUE(cycle) << r.out;
}

TEST(ScanModule, MissingOrBrokenModuleIsAClearError) {
  // The command alone, away from the build tree: no module anywhere it looks.
  fs::path dir = make_temp_dir("module");
  fs::copy_file(LOCKHOUND_CLI, dir / "lockhound");
  if (fs::exists("/usr/local/lib/lockhound/lockhound-scan.so") || fs::exists("/usr/local/lib/lockhound-scan.so"))
    GTEST_SKIP() << "a lockhound-scan.so is installed under /usr/local";
  std::string lh = sh_quote((dir / "lockhound").string());
  CliRun r = run_sh("env -u LOCKHOUND_SCAN_MODULE " + lh + " scan --no-cache " + seed("seed_abba.c"));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("cannot find lockhound-scan.so"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir / "lockhound-scan.so").string()), std::string::npos) << "names where it looked:\n" << r.err;
  EXPECT_NE(r.err.find((dir / "../lib/lockhound/lockhound-scan.so").string()), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  // What needs no parser still works without it.
  EXPECT_EQ(run_sh(lh + " scan --help").status, 0);
  CliRun api = run_sh(lh + " scan --list-api");
  EXPECT_EQ(api.status, 0) << api.err;
  EXPECT_NE(api.out.find("spin_lock"), std::string::npos);

  // A file that is not a module: dlopen's reason.
  std::ofstream(dir / "lockhound-scan.so") << std::string(4096, 'x') << "\n";  // not ELF
  r = run_sh(lh + " scan --no-cache " + seed("seed_abba.c"));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("cannot load " + (dir / "lockhound-scan.so").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid ELF header"), std::string::npos) << "dlerror()'s words:\n" << r.err;

  // An ELF shared object without the entry point (liblockhound.so is one), named by the variable.
  fs::remove(dir / "lockhound-scan.so");
  r = run_sh("LOCKHOUND_SCAN_MODULE=" + sh_quote(LOCKHOUND_RUNTIME_FILE) + " " + lh + " scan --no-cache " + seed("seed_abba.c"));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("is not lockhound's scan module"), std::string::npos) << r.err;

  // The variable wins over the build tree's module, and is where a moved command finds it.
  r = run_sh("LOCKHOUND_SCAN_MODULE=" + sh_quote(LOCKHOUND_SCAN_MODULE_FILE) + " " + lh + " scan --no-cache " +
             seed("seed_abba.c"));
  EXPECT_EQ(r.status, 1) << r.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lockhound::scan::testing
