// `lockhound trace [FILE|-]`: a kernel lock-event trace (ftrace or perf script text of the
// lock:* events) through the engine; every problem in the trace, not just lockdep's first.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cli/common.h"
#include "trace/lockdep_classes.h"
#include "db/database.h"
#include "trace/trace_analyzer.h"

namespace lockhound::cli {

void register_trace(CLI::App& app, Action& action) {
  struct Opts {
    std::string file = "-";
    size_t max_errors = 50;
    std::string progress = "auto";
    std::string lockdep;
    std::string db;
    OutputOptions out;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "trace", "Check a kernel lock trace (ftrace or perf script of the lock:* events) for locking problems");
  cmd->add_option("file", opts->file, "Trace text ('-' or nothing: stdin)");
  cmd->add_option("--max-errors", opts->max_errors,
                  "List at most N malformed lines (all are counted)")
      ->capture_default_str();
  cmd->add_option("--lockdep", opts->lockdep,
                  "The same boot's /proc/lockdep: tells annotated nesting (spin_lock_nested) from "
                  "recursive locking, which a trace alone cannot")
      ->type_name("FILE");
  cmd->add_option("--db", opts->db, "Add the trace's lock-order graph and findings to this lock-order database (docs/database.md)");
  add_progress_option(cmd, opts->progress);
  add_output_options(cmd, opts->out);
  cmd->footer(
      "Capture: echo 1 > /sys/kernel/tracing/events/lock/enable; ...; cat /sys/kernel/tracing/trace > t.txt\n"
      "     or: perf record -a -g -e 'lock:*' -- sleep 5; perf script > t.txt   (see docs/trace.md)\n"
      "Exit status: 0 clean, 1 findings, 2 usage error, 3 bad input (findings still reported).\n"
      "Example: lockhound trace trace.txt");
  cmd->callback([&action, opts] {
    action = [opts] {
      bool from_stdin = opts->file.empty() || opts->file == "-";
      std::string name = from_stdin ? "<stdin>" : opts->file;
      int fd = 0;
      if (!from_stdin) {
        fd = ::open(opts->file.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat dst {};
        if (fd >= 0 && ::fstat(fd, &dst) == 0 && S_ISDIR(dst.st_mode)) {
          ::close(fd);
          print_diagnostics({Diagnostic{opts->file, 0, opts->file + " is a directory (trace reads one trace)", true}});
          return int(kInputError);
        }
        if (fd < 0) {
          print_diagnostics({Diagnostic{opts->file, 0, "cannot open " + opts->file + ": " + std::strerror(errno), true}});
          return int(kInputError);
        }
      } else if (::isatty(0)) {
        std::fprintf(stderr, "lockhound: reading standard input, which is a terminal: paste the trace and end it "
                             "with Ctrl-D, or give a file\n");
      }
      trace::LockdepClasses classes;
      if (!opts->lockdep.empty()) {
        std::string text, why;
        std::vector<Diagnostic> ld;
        if (!read_input(opts->lockdep, text, why)) {
          print_diagnostics({Diagnostic{opts->lockdep, 0, why, true}});
          return int(kInputError);
        }
        bool any = trace::parse_lockdep_classes(text, opts->lockdep, classes, ld, opts->max_errors);
        if (!any)
          ld.push_back(Diagnostic{opts->lockdep, 0,
                                  "no lock class found: expected the text of /proc/lockdep (\"all lock classes:\" "
                                  "and lines \"ADDRESS OPS: N FD: N BD: N USAGE: NAME\")",
                                  true});
        if (print_diagnostics(ld) && !any) return int(kInputError);
      }
      trace::TraceOptions topt;
      topt.input_name = name;
      if (!opts->lockdep.empty()) topt.lockdep = &classes;
      topt.max_diagnostics = opts->max_errors;
      trace::TraceAnalyzer analyzer(topt);

      ReadProgress progress(opts->progress, "trace");
      struct stat st {};
      progress.begin(name, ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? uint64_t(st.st_size) : 0);
      std::string read_error;
      bool ok = trace::analyze_fd(fd, analyzer, read_error, progress.enabled() ? &ReadProgress::update_cb : nullptr,
                                  &progress);
      if (!from_stdin) ::close(fd);
      progress.clear();

      std::vector<Diagnostic> diags = analyzer.diagnostics();
      if (!ok) diags.push_back(Diagnostic{name, 0, "read error: " + read_error, true});
      if (ok && analyzer.stats().lines == 0) diags.push_back(Diagnostic{name, 0, "empty input", false});
      bool input_error = print_diagnostics(diags) || analyzer.malformed_lines() > 0 || !ok;
      if (analyzer.malformed_lines() > 0)
        std::fprintf(stderr, "%s: %llu malformed line(s) skipped\n", name.c_str(),
                     static_cast<unsigned long long>(analyzer.malformed_lines()));

      trace::TraceStats ts = analyzer.stats();
      ValidatorStats vs = analyzer.validator().stats();
      ReportMeta meta;
      meta.command = "trace";
      meta.inputs.push_back(name);
      meta.stats = {{"lines", ts.lines},
                    {"lock events", ts.events - ts.other_events},
                    {"tasks", ts.tasks},
                    {"lock classes", vs.classes},
                    {"classes of proven kind", ts.kinds_proven},
                    {"dependencies", vs.edges},
                    {"malformed lines", ts.malformed}};
      if (!opts->lockdep.empty()) {
        meta.stats.push_back({"nested classes the class list shows annotated", ts.nested_confirmed});
        meta.stats.push_back({"unannotated nestings (recursive locking)", ts.nested_unannotated});
      }
      if (ts.nested_assumed > 0) {
        meta.stats.push_back({"nested classes taken as annotated", ts.nested_assumed});
        if (opts->out.format == "text")
          std::fprintf(stderr,
                       "lockhound trace: %llu class(es) had two locks held at once, taken as an annotated "
                       "nesting (spin_lock_nested and the like): a trace carries no subclass%s. Give the "
                       "same boot's /proc/lockdep with --lockdep FILE to report the unannotated ones as "
                       "recursive locking, as lockdep does.\n",
                       static_cast<unsigned long long>(ts.nested_assumed),
                       opts->lockdep.empty() ? "" : " (these classes are not in the --lockdep file)");
      }
      if (opts->out.graph == "all") {
        meta.graph = analyzer.validator().dependency_edges();
        meta.whole_graph = true;
      }
      std::vector<Finding> findings = analyzer.findings();
      if (!opts->db.empty()) {
        db::RunRecord rec;
        rec.run = db::this_run("trace", name, db::process_arguments());
        db::add_graph(analyzer.validator(), rec);
        rec.findings = findings;
        std::string why = db::write_run(opts->db, rec);
        if (!why.empty()) {
          std::fprintf(stderr, "lockhound trace: %s\n", why.c_str());
          input_error = true;
        }
      }
      int rc = emit_report(findings, meta, opts->out);
      if (rc == kUsage) return rc;
      return input_error ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
