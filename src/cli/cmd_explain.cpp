// `lockhound explain [FILE|-]`: kernel logs (dmesg, console, journal, mail) in, every lockdep
// splat, lockup and hung-task report out as findings with root cause and fix.
#include <map>

#include "cli/common.h"
#include "core/voice.h"
#include "explain/explain.h"

namespace lockhound::cli {

void register_explain(CLI::App& app, Action& action) {
  struct Opts {
    std::vector<std::string> files;
    OutputOptions out;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "explain", "Parse and explain the lock and hang reports in a kernel log (dmesg, console, journalctl -k)");
  cmd->add_option("files", opts->files, "Kernel logs, or directories of them ('-' or nothing: stdin)");
  add_output_options(cmd, opts->out);
  cmd->footer(
      "Reads lockdep reports (all types), spinlock debug reports, sleeping/scheduling in atomic context,\n"
      "hung tasks (with the wait-for cycle when \"Showing all locks held\" follows), soft and hard\n"
      "lockups, RCU stalls and BSD WITNESS reversals; identical reports are counted once.\n"
      "Exit status: 0 no report in the log, 1 findings, 2 usage error, 3 unreadable input.\n"
      "Example: dmesg | lockhound explain        lockhound explain --format json console.log logs/");
  cmd->callback([&action, opts] {
    action = [opts] {
      std::vector<Diagnostic> diags;
      std::vector<std::string> files = opts->files.empty() ? std::vector<std::string>{"-"} : opts->files;
      files = expand_inputs(files, {}, diags);
      ReportMeta meta;
      meta.command = "explain";
      std::vector<Finding> all;
      bool input_error = false;
      for (const auto& file : files) {
        const std::string name = file == "-" || file.empty() ? "<stdin>" : file;
        std::string text, err;
        if (!read_input(file, text, err)) {
          diags.push_back(Diagnostic{name, 0, err, true});
          input_error = true;
          continue;
        }
        meta.inputs.push_back(name);
        if (text.empty()) diags.push_back(Diagnostic{name, 0, "empty input", false});
        explain::ExplainResult r = explain::explain_log(text, name);
        for (auto& f : r.findings) all.push_back(std::move(f));
        for (auto& d : r.diagnostics) diags.push_back(std::move(d));
      }
      merge_same_findings(all);
      std::map<std::string, uint64_t> per_type;
      uint64_t reports = 0;
      for (const auto& f : all) {
        reports += f.count;
        per_type[std::string(type_name(f.type))] += f.count;
      }
      meta.stats.emplace_back("reports", reports);
      meta.stats.emplace_back("distinct problems", all.size());
      for (const auto& [t, n] : per_type) meta.stats.emplace_back(t, n);
      input_error |= print_diagnostics(diags);
      int rc = emit_report(all, meta, opts->out);
      if (rc == kUsage) return rc;
      return input_error ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
