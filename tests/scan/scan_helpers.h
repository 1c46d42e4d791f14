// Helpers of the scan tests: running a scan in-process or through the CLI, and asking findings
// structured questions (type, classes, functions on the evidence paths) rather than reading prose.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "core/finding.h"
#include "scan/scan.h"

namespace lockhound::scan::testing {

namespace fs = std::filesystem;

inline ScanResult scan_files(std::vector<std::string> paths, std::string db = "") {
  ScanOptions o;
  o.paths = std::move(paths);
  o.compile_db = std::move(db);
  o.use_cache = false;
  o.jobs = 2;
  return run_scan(o);
}

// Every function named on the finding's evidence: acquisitions, both sites of each edge, and
// the participants' stacks.
inline std::vector<std::string> functions_of(const Finding& f) {
  std::vector<std::string> out;
  auto add = [&](const Stack& s) {
    for (const auto& fr : s) out.push_back(fr.function);
  };
  for (const auto& a : f.acquisitions) add(a.stack);
  for (const auto& e : f.chain) {
    add(e.from_site.stack);
    add(e.to_site.stack);
  }
  for (const auto& p : f.participants) add(p.stack);
  return out;
}

inline bool names_function(const Finding& f, const std::string& fn) {
  for (const auto& x : functions_of(f))
    if (x == fn || x.rfind(fn + " (", 0) == 0) return true;
  return false;
}

inline bool has_class(const Finding& f, const std::string& cls) {
  for (const auto& c : f.classes)
    if (c == cls) return true;
  return false;
}

inline std::vector<const Finding*> matching(const std::vector<Finding>& fs, FindingType t,
                                            const std::vector<std::string>& classes, const std::string& fn = "") {
  std::vector<const Finding*> out;
  for (const auto& f : fs) {
    if (f.type != t) continue;
    bool ok = true;
    for (const auto& c : classes) ok &= has_class(f, c);
    if (!fn.empty()) ok &= names_function(f, fn);
    if (ok) out.push_back(&f);
  }
  return out;
}

inline std::string describe(const std::vector<Finding>& fs) {
  std::string s;
  for (const auto& f : fs) {
    s += "  " + std::string(type_name(f.type)) + " [";
    for (const auto& c : f.classes) s += c + ";";
    s += "] in";
    for (const auto& fn : functions_of(f)) s += " " + fn;
    s += "\n";
  }
  return s.empty() ? "  (none)\n" : s;
}

struct CliRun {
  int status = -1;
  std::string out, err;
  nlohmann::json json;
};

// Runs a shell command line; stdout and stderr apart, stdout parsed as JSON when it is JSON.
inline CliRun run_sh(const std::string& cmdline) {
  CliRun r;
  fs::path tmp = fs::temp_directory_path() / ("lh_scan_cli_" + std::to_string(::getpid()) + "_" + std::to_string(rand()));
  std::string cmd = cmdline + " >" + tmp.string() + ".out 2>" + tmp.string() + ".err";
  int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = lockhound::testing::read_file(tmp.string() + ".out");
  r.err = lockhound::testing::read_file(tmp.string() + ".err");
  fs::remove(tmp.string() + ".out");
  fs::remove(tmp.string() + ".err");
  r.json = nlohmann::json::parse(r.out, nullptr, false);
  return r;
}

// Runs the lockhound executable.
inline CliRun run_cli(const std::string& args) { return run_sh(std::string(LOCKHOUND_CLI) + " " + args); }

inline std::string sh_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

inline fs::path make_temp_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("lockhound_scan_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Debian's kernel headers for an out-of-tree module build, or "".
inline std::string kernel_headers() {
  std::error_code ec;
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator("/usr/src", ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind("linux-headers-", 0) == 0 && n.size() > 6 && n.compare(n.size() - 6, 6, "-amd64") == 0 &&
        fs::exists(e.path() / "Makefile"))
      found.push_back(e.path().string());
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? "" : found.back();
}

inline bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace lockhound::scan::testing
