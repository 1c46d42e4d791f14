// `lockhound run [options] -- PROG ARGS`: runs an unmodified, dynamically linked program with
// liblockhound.so preloaded. Every flag is a LOCKHOUND_OPTIONS key (docs/runtime.md); the program
// keeps its pid, output and exit status, except that a run with findings exits with --exitcode
// (66 by default), like the sanitizers.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/common.h"
#include "runtime/launcher.h"
#include "runtime/options.h"

namespace lockhound::cli {

namespace {

struct RunArgs {
  OutputOptions out;
  bool halt_on_error = false;
  int exitcode = -1;
  std::string fail_on;
  int stack_depth = -1;
  int watchdog_ms = -1;
  int spin_ms = -1;
  bool watchdog_abort = false;
  std::string suppressions;
  bool no_default_suppressions = false;
  bool no_follow_children = false;
  bool no_summary = false;
  int max_memory_mb = -1;
  bool verbose = false;
  std::string raw_options;
  std::string db;
};


}  // namespace

void register_run(CLI::App& app, Action& action) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a program under lockhound's runtime (LD_PRELOAD; no recompile): every lock-order "
             "problem the run reveals, actual deadlocks, a summary at exit");
  cmd->footer(
      "Example: lockhound run -- ./server --port 8080\n"
      "Reports go to stderr, or to PREFIX.PID per process with -o PREFIX (children included).\n"
      "Exit status: the program's own, or --exitcode (66) when something --fail-on names was found.\n"
      "Flags map to LOCKHOUND_OPTIONS keys; see docs/runtime.md.");
  add_output_options(cmd, args->out);
  cmd->add_flag("--halt-on-error", args->halt_on_error, "Exit at the first finding");
  cmd->add_option("--exitcode", args->exitcode, "Exit status when something was found (default 66)")
      ->check(CLI::Range(0, 255));
  cmd->add_option("--fail-on", args->fail_on,
                  "Which findings fail the run (--exitcode): deadlocks (default), hazards (deadlocks "
                  "and hazards) or all (notes too); docs/runtime.md lists the severities")
      ->check(CLI::IsMember({"deadlocks", "hazards", "all"}));
  cmd->add_option("--stack-depth", args->stack_depth, "Frames kept per stack (default 32)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--watchdog-ms", args->watchdog_ms,
                  "A lock wait longer than this looks for an actual deadlock (default 2000, 0 off)")
      ->check(CLI::Range(0, 86'400'000));
  cmd->add_option("--spin-ms", args->spin_ms,
                  "A spinlock spun on longer than this is reported (default 1000, 0 off)")
      ->check(CLI::Range(0, 86'400'000));
  cmd->add_flag("--watchdog-abort", args->watchdog_abort,
                "abort() (core dump) after reporting an actual deadlock");
  cmd->add_option("--suppressions", args->suppressions,
                  "File of findings to ignore: class:PAT, function:PAT, file:PAT, type:PAT, "
                  "thread:PAT (a line's terms joined by && must all match)");
  cmd->add_flag("--no-default-suppressions", args->no_default_suppressions,
                "Do not apply lockhound's built-in rules (known deliberate patterns, docs/runtime.md)");
  cmd->add_flag("--no-follow-children", args->no_follow_children,
                "Do not check child processes the program starts");
  cmd->add_flag("--no-summary", args->no_summary, "No summary at exit (text format)");
  cmd->add_option("--max-memory-mb", args->max_memory_mb, "Engine memory budget (default 2048)")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--db", args->db,
                  "At each process's end, add its lock-order graph and findings to this lock-order database "
                  "(LOCKHOUND_DB; docs/database.md)");
  cmd->add_flag("-v,--verbose", args->verbose, "Say what the runtime does");
  cmd->add_option("--options", args->raw_options, "Extra LOCKHOUND_OPTIONS (k=v:k=v)");
  // Options stop at the program's name (as with env, timeout, valgrind): everything from there
  // on is the program's, "--" or not.
  cmd->prefix_command();

  action = nullptr;
  cmd->callback([cmd, args, &action] {
    action = [cmd, args]() -> int {
      // The program and its arguments: what the parser left, verbatim and in order, without the
      // "--" that may separate them from run's options.
      std::vector<std::string> argv = cmd->remaining();
      if (const auto& tail = run_after_dashes()) {
        // `run OPTIONS -- PROG ARGS`; or `run OPTIONS PROG ARGS -- MORE`, where the "--" is the
        // program's own.
        if (!argv.empty()) argv.push_back("--");
        argv.insert(argv.end(), tail->begin(), tail->end());
      }
      if (argv.empty()) {
        std::cerr << "lockhound run: expected a program to run: lockhound run [options] -- PROG ARGS\n";
        return kUsage;
      }
      // Only the flags given: LOCKHOUND_OPTIONS in the environment holds unless a flag says otherwise.
      std::string opts;
      auto add = [&](const std::string& kv) { opts = runtime::join_options(opts, kv); };
      if (cmd->get_option("--format")->count()) add("format=" + args->out.format);
      if (!args->out.output.empty() && args->out.output != "-") {
        char buf[PATH_MAX];
        // Absolute: the program may change directory before a process writes its report.
        std::string abs = args->out.output[0] == '/' ? args->out.output
                          : std::string(getcwd(buf, sizeof buf) ? buf : ".") + "/" + args->out.output;
        add("log_path=" + abs);
      }
      if (args->out.show_guarded) add("show_guarded=1");
      if (args->out.full_stacks) add("full_stacks=1");
      if (!args->out.source_root.empty()) {
        char root[PATH_MAX];
        add("source_root=" + std::string(realpath(args->out.source_root.c_str(), root) ? root : args->out.source_root));
      }
      if (args->out.graph == "all" && (args->out.format == "dot" || args->out.format == "html"))
        std::cerr << "lockhound run: --graph all: the runtime draws the findings' classes and edges\n";
      if (args->halt_on_error) add("halt_on_error=1");
      if (args->exitcode >= 0) add("exitcode=" + std::to_string(args->exitcode));
      if (!args->fail_on.empty()) add("fail_on=" + args->fail_on);
      if (args->stack_depth > 0) add("stack_depth=" + std::to_string(args->stack_depth));
      if (args->watchdog_ms >= 0) add("watchdog_ms=" + std::to_string(args->watchdog_ms));
      if (args->spin_ms >= 0) add("spin_ms=" + std::to_string(args->spin_ms));
      if (args->watchdog_abort) add("watchdog_abort=1");
      if (!args->suppressions.empty()) {
        if (access(args->suppressions.c_str(), R_OK) != 0) {
          std::cerr << "lockhound run: cannot read suppressions file " << args->suppressions << "\n";
          return kUsage;
        }
        std::ifstream in(args->suppressions);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        runtime::Suppressions supp;
        std::vector<std::string> errors;
        if (!supp.parse(text, args->suppressions, errors)) {
          for (const auto& e : errors) std::cerr << "lockhound run: " << e << "\n";
          return kUsage;
        }
        char buf[PATH_MAX];
        add("suppressions=" + std::string(realpath(args->suppressions.c_str(), buf) ? buf : args->suppressions.c_str()));
      }
      if (args->no_default_suppressions) add("default_suppressions=0");
      if (args->no_follow_children) add("follow_children=0");
      if (args->no_summary) add("summary=0");
      if (args->max_memory_mb > 0) add("max_memory_mb=" + std::to_string(args->max_memory_mb));
      if (args->verbose) add("verbosity=1");
      if (!args->db.empty()) {
        char buf[PATH_MAX];
        add("db=" + (args->db[0] == '/' ? args->db : std::string(getcwd(buf, sizeof buf) ? buf : ".") + "/" + args->db));
      }
      if (!args->raw_options.empty()) add(args->raw_options);
      runtime::Options check;
      const char* env = getenv("LOCKHOUND_OPTIONS");
      auto errors = runtime::parse_options(runtime::join_options(env ? env : "", opts), check);
      if (!errors.empty()) {
        for (const auto& e : errors) std::cerr << "lockhound run: " << e << "\n";
        return kUsage;
      }
      // JSON goes to one file per process: mixed into the program's stderr, several processes'
      // documents would run together and nothing would parse.
      if (check.format == "json" && check.log_path.empty()) {
        char buf[PATH_MAX];
        std::string prefix = std::string(getcwd(buf, sizeof buf) ? buf : ".") + "/lockhound-report";
        add("log_path=" + prefix);
        std::cerr << "lockhound run: JSON reports go to " << prefix << ".PID, one per process (-o PREFIX chooses)\n";
      }
      std::vector<std::string> searched;
      std::string lib = runtime::find_runtime_library(searched);
      if (lib.empty()) {
        std::cerr << "lockhound run: cannot find liblockhound.so; looked in:\n";
        for (const auto& s : searched) std::cerr << "  " << s << "\n";
        std::cerr << "set LOCKHOUND_RUNTIME=/path/to/liblockhound.so\n";
        return kUsage;
      }
      auto info = runtime::inspect_program(argv.front());
      if (info.directory) {
        std::cerr << "lockhound run: " << argv.front() << " is a directory, not a program\n";
        return kUsage;
      }
      if (!info.found) {
        std::cerr << "lockhound run: " << argv.front() << ": program not found\n";
        return kUsage;
      }
      if (info.setid)
        std::cerr << "lockhound run: warning: " << info.path
                  << " is set-user-ID or set-group-ID: the kernel ignores LD_PRELOAD for it, so it runs "
                     "unchecked (run it as its own user without the bit, or link it with -llockhound)\n";
      if (info.elf && !info.dynamic)
        std::cerr << "lockhound run: warning: " << info.path
                  << " is statically linked; LD_PRELOAD cannot reach its locks (link it "
                     "dynamically, or with -llockhound)\n";
      runtime::exec_under_runtime(lib, opts, argv);
      std::cerr << "lockhound run: cannot execute " << argv.front() << ": " << std::strerror(errno) << "\n";
      return kUsage;
    };
  });
}

}  // namespace lockhound::cli
