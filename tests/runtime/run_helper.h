// Shared by the runtime's whole-program tests: run a program under the built `lockhound run`
// with JSON reports and collect its exit status, output and per-process reports.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lockhound::rttest {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct ProgRun {
  int exit_code = -1;
  int term_signal = 0;
  pid_t pid = 0;
  std::string out, err;
  json report;                 // the log of the process lockhound run started
  std::vector<json> children;  // logs of other processes
};

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `lockhound run --format json -o DIR/log FLAGS -- PROG ARGS` with stdin from `input`
// ("" = /dev/null). PROG is a name in progs/, an absolute path, or "sys:NAME" (found in PATH).
inline ProgRun run_under(const std::string& prog, const std::vector<std::string>& prog_args,
                         const std::vector<std::string>& flags = {}, int timeout_s = 60,
                         const std::string& input = "") {
  ProgRun r;
  char tmpl[] = "/tmp/lockhound-rt-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  std::string prefix = (dir / "log").string();
  std::vector<std::string> argv = {LOCKHOUND_EXE, "run", "--format", "json", "-o", prefix};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("--");
  argv.push_back(prog.find('/') == std::string::npos && prog.rfind("sys:", 0) != 0
                     ? std::string(RT_PROG_DIR) + "/" + prog
                     : prog.rfind("sys:", 0) == 0 ? prog.substr(4) : prog);
  argv.insert(argv.end(), prog_args.begin(), prog_args.end());
  pid_t pid = fork();
  if (pid == 0) {
    int out = open((dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open(input.empty() ? "/dev/null" : input.c_str(), O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  r.pid = pid;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << prog << " did not finish in " << timeout_s << " s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  r.out = slurp(dir / "stdout");
  r.err = slurp(dir / "stderr");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind("log.", 0) != 0) continue;
    std::string text = slurp(e.path());
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "not JSON: " << e.path() << ":\n" << text;
      continue;
    }
    if (name == "log." + std::to_string(pid)) r.report = j;
    else r.children.push_back(j);
  }
  fs::remove_all(dir);
  return r;
}

inline std::vector<json> of_type(const json& report, const std::string& type) {
  std::vector<json> out;
  if (!report.contains("findings")) return out;
  for (const auto& f : report["findings"])
    if (f["type"] == type) out.push_back(f);
  return out;
}

inline bool has_class(const json& f, const std::string& name) {
  for (const auto& c : f["classes"])
    if (c.get<std::string>() == name) return true;
  return false;
}

// Any frame of any stack in the finding names `function`.
inline bool mentions_function(const json& f, const std::string& function) {
  std::string text = f.dump();
  return text.find("\"function\":\"" + function) != std::string::npos;
}

inline std::string dump(const ProgRun& r) {
  return "exit " + std::to_string(r.exit_code) + " signal " + std::to_string(r.term_signal) +
         "\nstdout:\n" + r.out + "\nstderr:\n" + r.err + "\nreport:\n" + r.report.dump(2);
}

}  // namespace lockhound::rttest
