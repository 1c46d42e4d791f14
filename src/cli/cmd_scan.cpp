// `lockhound scan [PATHS...] [-p compile_commands.json] [-j N] [--cache DIR|--no-cache] [-- flags]`:
// the static front end for C source (docs/scan.md). Options, --help, --list-api and the report are
// here; parsing C is clang's, in the module lockhound-scan.so loaded only when it is needed
// (scan/module.h), so that the lockhound executable does not link clang.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <iostream>

#include "cli/common.h"
#include "runtime/launcher.h"
#include "scan/api.h"
#include "scan/module.h"
#include "scan/scan.h"

namespace lockhound::cli {

namespace {

// Finds and loads lockhound-scan.so (where: runtime/launcher.h), or says on stderr why not and
// returns null. Loaded once; never unloaded (clang's libraries register things at load time).
const scan::ScanModule* load_scan_module() {
  std::vector<std::string> searched;
  std::string path = runtime::find_beside_executable("LOCKHOUND_SCAN_MODULE", scan::kModuleFile, "../scan", searched);
  if (path.empty()) {
    std::cerr << "lockhound scan: cannot find " << scan::kModuleFile << " (the C parser, installed with lockhound); looked in:\n";
    for (const auto& s : searched) std::cerr << "  " << s << "\n";
    std::cerr << "(set LOCKHOUND_SCAN_MODULE to its path)\n";
    return nullptr;
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    std::cerr << "lockhound scan: cannot load " << path << ": " << (why ? why : "unknown error") << "\n";
    return nullptr;
  }
  using Entry = const scan::ScanModule* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, scan::kModuleSymbol));
  if (!entry) {
    const char* why = dlerror();
    std::cerr << "lockhound scan: " << path << " is not lockhound's scan module: " << (why ? why : "no entry point") << "\n";
    return nullptr;
  }
  const scan::ScanModule* m = entry();
  if (!m || std::string(m->version) != LOCKHOUND_VERSION || m->layout != scan::module_layout()) {
    std::cerr << "lockhound scan: " << path << " is from another build of lockhound (version "
              << (m ? m->version : "?") << ", this is " << LOCKHOUND_VERSION << "); install both from one build\n";
    return nullptr;
  }
  return m;
}

}  // namespace

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
  cmd->add_option("-p,--compile-commands", opts->db,
                  "compile_commands.json (e.g. from `bear -- make ...`), or the directory that holds it");
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
      // -p DIR, as clang's tools take it: the build directory that holds compile_commands.json.
      std::error_code ec;
      if (!opts->db.empty() && std::filesystem::is_directory(opts->db, ec)) {
        std::filesystem::path in_dir = std::filesystem::path(opts->db) / "compile_commands.json";
        if (!std::filesystem::exists(in_dir, ec)) {
          std::cerr << "lockhound scan: " << opts->db << " is a directory without compile_commands.json"
                    << " (make one with `bear -- make ...`, or CMake's -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)\n";
          return int(kUsage);
        }
        opts->db = in_dir.string();
      }
      scan::ScanOptions so;
      so.paths = opts->paths;
      so.compile_db = opts->db;
      so.extra_flags = opts->flags;
      const scan::ScanModule* module = load_scan_module();
      if (!module) return int(kUsage);
      if (opts->print_commands) {
        for (const auto& c : module->commands(so)) {
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
      scan::ScanResult r = module->run(so);
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
      if (s.modules) meta.stats.emplace_back("modules analysed apart", s.modules);
      int rc = emit_report(r.findings, meta, opts->out);
      if (rc == kUsage) return rc;
      return input_error ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
