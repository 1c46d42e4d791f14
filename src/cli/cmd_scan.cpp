// `lockhound scan [PATHS...] [-p compile_commands.json] [-j N] [--cache DIR|--no-cache] [-- flags]`:
// the static front end for C source (docs/scan.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <iostream>

#include "cli/common.h"
#include "scan/api.h"
#include "scan/scan.h"

namespace lockhound::cli {

void register_scan(CLI::App& app, Action& action) {
  struct Opts {
    std::vector<std::string> paths;
    std::string db;
    unsigned jobs = 0;
    std::string cache = ".lockhound-cache";
    bool no_cache = false;
    bool list_api = false;
    bool print_commands = false;
    std::string progress = "auto";
    std::vector<std::string> flags;
    OutputOptions out;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("scan", "Find deadlocks in C source without running it (kernel and user space)");
  cmd->add_option("paths", opts->paths, "C files or directories (every .c below); with -p, only these");
  cmd->add_option("-p,--compile-commands", opts->db, "compile_commands.json (e.g. from `bear -- make ...`)");
  cmd->add_option("-j,--jobs", opts->jobs, "Files parsed in parallel (default: one per core)");
  cmd->add_option("--cache", opts->cache, "Directory of cached per-file facts (default ./.lockhound-cache)");
  cmd->add_flag("--no-cache", opts->no_cache, "Parse every file; read and write no cache");
  cmd->add_flag("--list-api", opts->list_api, "Print the locking API table the scan understands (Markdown) and exit");
  cmd->add_flag("--print-commands", opts->print_commands,
                "Print each file's parse command (directory, file, then the clang arguments; tab-separated) and exit");
  add_output_options(cmd, opts->out);
  add_progress_option(cmd, opts->progress);
  cmd->allow_extras();
  cmd->footer(
      "Compiler flags after `--` are added to every file's command.\n"
      "Exit status: 0 clean, 1 findings, 2 usage error, 3 a file failed to parse (everything else\n"
      "is still reported).\n"
      "Examples:\n"
      "  lockhound scan examples/scan/seed_abba.c\n"
      "  lockhound scan src/ -- -Iinclude -DNDEBUG\n"
      "  bear -- make -C /lib/modules/$(uname -r)/build M=$PWD modules\n"
      "  lockhound scan -p compile_commands.json --format json -o findings.json");
  cmd->callback([&action, opts, cmd] {
    for (const auto& x : cmd->remaining()) opts->flags.push_back(x);
    action = [opts] {
      if (opts->list_api) {
        std::cout << scan::api_markdown();
        return int(kClean);
      }
      if (opts->paths.empty() && opts->db.empty()) {
        std::cerr << "lockhound scan: give C files, directories or -p compile_commands.json (see --help)\n";
        return int(kUsage);
      }
      scan::ScanOptions so;
      so.paths = opts->paths;
      so.compile_db = opts->db;
      so.extra_flags = opts->flags;
      if (opts->print_commands) {
        for (const auto& c : scan::scan_commands(so)) {
          for (size_t i = 0; i < c.size(); ++i) std::cout << (i ? "\t" : "") << c[i];
          std::cout << "\n";
        }
        return int(kClean);
      }
      so.jobs = opts->jobs;
      so.cache_dir = opts->cache;
      so.use_cache = !opts->no_cache;
      auto progress = std::make_shared<Progress>(opts->progress);
      if (progress->enabled())
        so.progress = [progress](size_t done, size_t total, const std::string& file) {
          progress->update("lockhound scan [" + std::to_string(done) + "/" + std::to_string(total) + "] " +
                           std::filesystem::path(file).filename().string());
        };
      scan::ScanResult r = scan::run_scan(so);
      progress->clear();
      bool input_error = print_diagnostics(r.diagnostics);
      if (r.usage_error) return int(kUsage);
      ReportMeta meta;
      meta.command = "scan";
      meta.inputs = opts->db.empty() ? opts->paths : std::vector<std::string>{opts->db};
      const auto& s = r.stats;
      meta.stats = {{"files", s.files},           {"files parsed", s.parsed},   {"files from cache", s.cached},
                    {"files failed", s.failed},   {"lines", s.lines},           {"functions", s.functions},
                    {"roots", s.roots},           {"callbacks", s.callbacks},   {"events", s.events},
                    {"lock classes", s.classes},  {"dependencies", s.dependencies}};
      int rc = emit_report(r.findings, meta, opts->out);
      if (rc == kUsage) return rc;
      return input_error ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
