// `lockhound attach PID`: diagnoses a hung process without restarting it — stops it with
// ptrace, reads every thread's stack and the owners of the locks they wait for, prints the
// actual deadlock cycle (or who waits for whom), and lets it go exactly as it was.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#include "attach/attach.h"
#include "cli/common.h"

namespace lockhound::cli {

void register_attach(CLI::App& app, Action& action) {
  struct Opts {
    int pid = 0;
    std::string pid_text;
    OutputOptions out;
    size_t max_frames = 128;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "attach", "Diagnose a running, hung process: actual deadlock cycle with every thread's stack");
  // Read as text and checked here: CLI11's own message for "abc" or "0" names a numeric range.
  cmd->add_option("pid", opts->pid_text, "Process to diagnose")->required();
  add_output_options(cmd, opts->out);
  cmd->add_option("--max-frames", opts->max_frames, "Deepest stack to unwind")->capture_default_str();
  cmd->footer(
      "Stops every thread with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT: nothing is injected),\n"
      "unwinds the stacks with libdw, reads pthread mutex / rwlock owners from glibc's lock\n"
      "words, and detaches. Needs permission to ptrace the process: the same user and Yama's\n"
      "/proc/sys/kernel/yama/ptrace_scope 0, or root.\n"
      "Exit status: 0 no deadlock, 1 deadlock found, 2 usage error, 3 cannot attach.");
  cmd->callback([&action, opts] {
    action = [opts] {
      char* end = nullptr;
      errno = 0;
      long pid = std::strtol(opts->pid_text.c_str(), &end, 10);
      if (opts->pid_text.empty() || *end || errno || pid <= 0 || pid > INT32_MAX) {
        std::cerr << "lockhound attach: PID must be a positive integer (got '" << opts->pid_text << "')\n";
        return int(kUsage);
      }
      opts->pid = static_cast<int>(pid);
      attach::AttachOptions ao;
      ao.max_frames = opts->max_frames;
      attach::AttachReport r = attach::attach_and_diagnose(opts->pid, ao);
      if (!r.attached) {
        std::cerr << "lockhound attach: " << r.error << "\n";
        return int(kInputError);
      }
      ReportMeta meta;
      meta.command = "attach";
      meta.inputs = {"pid " + std::to_string(opts->pid) + (r.command.empty() ? "" : " (" + r.command + ")")};
      uint64_t blocked = 0;
      for (const auto& t : r.threads) blocked += t.wait.has_value();
      meta.stats = {{"threads", r.threads.size()}, {"blocked on locks", blocked}};
      meta.sections.push_back(attach::process_section(r));
      return emit_report(r.findings, meta, opts->out);
    };
  });
}

}  // namespace lockhound::cli
