// `lockhound import FILE...`: saved copies of /proc/locks, /proc/lock_stat, /proc/lockdep and
// /proc/lockdep_stats (each recognised by its content), analyzed as `lockhound sys` would.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/common.h"
#include "sys/sys_report.h"

namespace lockhound::cli {
namespace {

// Reads a saved /proc file whole (its parse holds as much as its text), but looks at the first
// MiB before the rest: what no /proc format starts like (a kernel log, a 70 MB trace, an endless
// pipe) is refused from there, in bounded memory, by import_text's own message.
bool read_known_format(const std::string& path, std::string& text, std::string& error, ReadProgress* progress) {
  constexpr size_t kHead = 1 << 20;
  InputStream in;
  if (!in.open(path, error, progress)) return false;
  bool more = true;
  while (more && text.size() < kHead) more = in.read(text, kHead - text.size());
  if (more && text.find_first_not_of(" \t\r\n") != std::string::npos &&
      sys::detect_format(text) == sys::ProcFormat::unknown)
    return true;  // import_text names what was expected; the rest is never read
  while (more) more = in.read(text, 1 << 20);
  if (!in.error().empty()) {
    error = "error reading " + path + ": " + in.error();
    return false;
  }
  return true;
}

}  // namespace

void register_import(CLI::App& app, Action& action) {
  struct Opts {
    std::vector<std::string> files;
    OutputOptions out;
    size_t top = 10;
    std::string progress = "auto";
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "import", "Analyze saved /proc/locks, /proc/lock_stat, /proc/lockdep, /proc/lockdep_stats");
  cmd->add_option("files", opts->files, "Saved /proc files, or directories of them ('-' for stdin)")->required();
  add_output_options(cmd, opts->out);
  cmd->add_option("--top", opts->top, "Most contended lock classes to show (lock_stat)")
      ->capture_default_str();
  add_progress_option(cmd, opts->progress);
  cmd->footer(
      "Findings: filelock_deadlock (cycles among blocked file locks), circular_dependency (a\n"
      "cycle in lockdep's class graph), max_too_low (a full lockdep table). Contention and graph\n"
      "sizes are shown as a summary.\n"
      "Exit status: 0 clean, 1 findings, 2 usage error, 3 bad input (findings still reported).\n"
      "Example: lockhound import lockdep.txt lock_stat.txt");
  cmd->callback([&action, opts] {
    action = [opts] {
      sys::SysReport r;
      std::vector<std::string> files = expand_inputs(opts->files, {}, r.diagnostics);
      ReadProgress progress(opts->progress, "import", files.size());
      for (const auto& file : files) {
        std::string text, err;
        std::string name = file == "-" ? "<stdin>" : file;
        if (!read_known_format(file, text, err, &progress)) {
          r.diagnostics.push_back(Diagnostic{file, 0, err, true});
          continue;
        }
        if (text.empty()) {
          r.diagnostics.push_back(Diagnostic{name, 0, "empty input", false});
          continue;
        }
        sys::import_text(text, name, opts->top, r);
      }
      progress.clear();
      ReportMeta meta;
      meta.command = "import";
      meta.inputs = r.inputs;
      if (r.have_locks)
        meta.stats.push_back({"file locks", r.file_locks + r.file_lock_waiters});
      if (r.have_lockdep) {
        meta.stats.push_back({"lock classes", r.lockdep_classes});
        meta.stats.push_back({"dependencies", r.lockdep_edges});
      }
      if (r.have_lock_stat) meta.stats.push_back({"lock_stat classes", r.lock_stat_classes});
      meta.sections.push_back(sys::system_section(r));
      int rc = emit_report(r.findings, meta, opts->out);
      if (rc == kUsage) return rc;
      return print_diagnostics(r.diagnostics) ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
