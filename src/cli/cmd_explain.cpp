// `lockhound explain [FILE|-]`: kernel logs (dmesg, console, journal, mail) in, every lockdep
// splat, lockup and hung-task report out as findings with root cause and fix.
#include <map>

#include "cli/common.h"
#include "explain/explain.h"

namespace lockhound::cli {

void register_explain(CLI::App& app, Action& action) {
  struct Opts {
    std::string file = "-";
    OutputOptions out;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "explain", "Parse and explain the lock and hang reports in a kernel log (dmesg, console, journalctl -k)");
  cmd->add_option("file", opts->file, "Kernel log ('-' or nothing for stdin)")->capture_default_str();
  add_output_options(cmd, opts->out);
  cmd->footer(
      "Reads lockdep reports (all types), spinlock debug reports, sleeping/scheduling in atomic context,\n"
      "hung tasks (with the wait-for cycle when \"Showing all locks held\" follows), soft and hard\n"
      "lockups, RCU stalls and BSD WITNESS reversals; identical reports are counted once.\n"
      "Exit status: 0 no report in the log, 1 findings, 2 usage error, 3 unreadable input.\n"
      "Example: dmesg | lockhound explain        lockhound explain --format json console.log");
  cmd->callback([&action, opts] {
    action = [opts] {
      const std::string name = opts->file == "-" || opts->file.empty() ? "<stdin>" : opts->file;
      std::string text, err;
      ReportMeta meta;
      meta.command = "explain";
      meta.inputs.push_back(name);
      if (!read_input(opts->file, text, err)) {
        print_diagnostics({Diagnostic{name, 0, err, true}});
        return int(kInputError);
      }
      explain::ExplainResult r = explain::explain_log(text, name);
      std::map<std::string, uint64_t> per_type;
      uint64_t reports = 0;
      for (const auto& f : r.findings) {
        reports += f.count;
        per_type[std::string(type_name(f.type))] += f.count;
      }
      meta.stats.emplace_back("reports", reports);
      meta.stats.emplace_back("distinct problems", r.findings.size());
      for (const auto& [t, n] : per_type) meta.stats.emplace_back(t, n);
      bool input_error = print_diagnostics(r.diagnostics);
      int rc = emit_report(r.findings, meta, opts->out);
      if (rc == kUsage) return rc;
      return input_error ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
