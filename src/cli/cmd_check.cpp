// `lockhound check FILE...`: runs scenario files through the engine.
#include <cstdio>

#include "cli/common.h"
#include "db/database.h"
#include "scenario/scenario.h"

namespace lockhound::cli {

void register_check(CLI::App& app, Action& action) {
  struct Opts {
    std::vector<std::string> files;
    OutputOptions out;
    size_t max_errors = 50;
    std::string db;
    std::string progress = "auto";
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("check", "Check scenario files (docs/scenario-language.md) for locking problems");
  cmd->add_option("files", opts->files, "Scenario files or directories of .lh files ('-' for stdin)")->required();
  add_output_options(cmd, opts->out);
  cmd->add_option("--db", opts->db, "Add each file's lock-order graph and findings to this lock-order database (docs/database.md)");
  cmd->add_option("--max-errors", opts->max_errors, "List at most N input errors (all are counted)")->capture_default_str();
  add_progress_option(cmd, opts->progress);
  cmd->footer(
      "Exit status: 0 clean, 1 findings, 2 usage error, 3 bad input (findings still reported).\n"
      "Example: lockhound check examples/seeds/abba.lh");
  cmd->callback([&action, opts] {
    action = [opts] {
      std::vector<Finding> all;
      std::vector<Diagnostic> diags;
      ReportMeta meta;
      meta.command = "check";
      uint64_t classes = 0, edges = 0, statements = 0;
      bool input_error = false;
      std::vector<std::string> files = expand_inputs(opts->files, {".lh"}, diags);
      ReadProgress progress(opts->progress, "check", files.size());
      for (const auto& file : files) {
        std::string name = file == "-" ? "<stdin>" : file;
        // Line by line: any size of input in bounded memory; binary input refused up front.
        ScenarioChecker checker(name);
        if (!for_each_line(file, name, diags, [&](std::string_view line) { checker.line(line); }, &progress)) {
          input_error = true;
          continue;
        }
        meta.inputs.push_back(name);
        ScenarioResult r = checker.finish();
        if (!opts->db.empty()) {
          db::RunRecord rec;
          rec.run = db::this_run("check", name, db::process_arguments());
          db::add_graph(checker.validator(), rec);
          rec.findings = r.findings;
          std::string why = db::write_run(opts->db, rec);
          if (!why.empty()) {
            std::fprintf(stderr, "lockhound check: %s\n", why.c_str());
            input_error = true;
          }
        }
        for (auto& f : r.findings) all.push_back(std::move(f));
        for (auto& d : r.diagnostics) diags.push_back(std::move(d));
        classes += r.stats.classes;
        edges += r.stats.edges;
        statements += r.statements;
      }
      progress.clear();
      meta.stats = {{"statements", statements}, {"lock classes", classes}, {"dependencies", edges}};
      input_error |= print_diagnostics(diags, opts->max_errors);
      int rc = emit_report(all, meta, opts->out);
      if (rc == kUsage) return rc;
      return input_error ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
