// `lockhound sys`: the live system through /proc — file-lock deadlocks (/proc/locks), tasks in
// D state, lock contention (/proc/lock_stat) and lockdep's graph (/proc/lockdep).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/common.h"
#include "sys/live.h"

namespace lockhound::cli {

namespace {

// Shared by sys and import: writes the report (the system summary as its own section), returns
// the exit code.
int write_sys_report(const sys::SysReport& r, ReportMeta meta, const OutputOptions& out) {
  meta.sections.push_back(sys::system_section(r));
  int rc = emit_report(r.findings, meta, out);
  if (rc == kUsage) return rc;
  return print_diagnostics(r.diagnostics) ? int(kInputError) : rc;
}

}  // namespace

void register_sys(CLI::App& app, Action& action) {
  struct Opts {
    OutputOptions out;
    size_t top = 10;
    bool no_dstate = false;
    bool no_stacks = false;
    std::string proc = "/proc";
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "sys", "Diagnose the live system: file-lock deadlocks, D-state tasks, lock contention");
  add_output_options(cmd, opts->out);
  cmd->add_option("--top", opts->top, "Most contended lock classes to show (/proc/lock_stat)")
      ->capture_default_str();
  cmd->add_flag("--no-dstate", opts->no_dstate, "Do not scan threads for D state");
  cmd->add_flag("--no-stacks", opts->no_stacks, "Do not read kernel stacks");
  cmd->add_option("--proc", opts->proc, "Where procfs is mounted")->capture_default_str();
  cmd->footer(
      "Reads /proc/locks (wait-for graph of file locks: flock, POSIX, OFD, leases; the kernel\n"
      "itself detects deadlocks for POSIX record locks only), every thread's state, wchan and\n"
      "kernel stack, /proc/lock_stat and /proc/lockdep where present. Works without root: what\n"
      "it cannot read is listed under \"Could not read\".\n"
      "Exit status: 0 clean, 1 findings, 2 usage error, 3 unparsable /proc content.");
  cmd->callback([&action, opts] {
    action = [opts] {
      struct stat st;
      if (::stat((opts->proc + "/self").c_str(), &st) != 0) {
        std::cerr << "lockhound sys: " << opts->proc << " is not a mounted procfs ("
                  << (::stat(opts->proc.c_str(), &st) != 0 ? std::strerror(errno) : "it has no self entry")
                  << "); --proc names where /proc is mounted\n";
        return int(kUsage);
      }
      sys::LiveOptions lo;
      lo.proc_root = opts->proc;
      lo.top = opts->top;
      lo.dstate = !opts->no_dstate;
      lo.kernel_stacks = !opts->no_stacks;
      sys::SysReport r = sys::collect_live(lo);
      ReportMeta meta;
      meta.command = "sys";
      meta.inputs = r.inputs;
      meta.stats = {{"file locks", r.file_locks},
                    {"blocked file-lock requests", r.file_lock_waiters},
                    {"threads scanned", r.tasks_scanned},
                    {"threads in D state", r.dstate.size()}};
      return write_sys_report(r, meta, opts->out);
    };
  });
}

}  // namespace lockhound::cli
