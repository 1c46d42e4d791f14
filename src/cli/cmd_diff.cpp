// `lockhound diff OLD NEW`: the problems NEW shows that OLD does not (by signature), for gating
// a change in CI.
#include <iostream>

#include "cli/common.h"
#include "db/database.h"

namespace lockhound::cli {

void register_diff(CLI::App& app, Action& action) {
  struct Opts {
    std::string before, after;
    OutputOptions out;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("diff", "The problems a lock-order database shows that a baseline does not");
  cmd->add_option("old", opts->before, "The baseline database")->required();
  cmd->add_option("new", opts->after, "The database of the change")->required();
  add_output_options(cmd, opts->out);
  cmd->footer(
      "Problems are the runs' own findings and those of the merged graph (lockhound report --all),\n"
      "matched by signature.\n"
      "Exit status: 0 nothing new, 1 new problems, 2 usage error, 3 a file that is not a lockhound database.\n"
      "Example: lockhound diff main.db branch.db");
  cmd->callback([&action, opts] {
    action = [opts] {
      std::vector<Finding> before, after;
      std::string error;
      if (!db::all_problems({opts->before}, before, error) || !db::all_problems({opts->after}, after, error)) {
        std::cerr << "lockhound diff: " << error << "\n";
        return int(kInputError);
      }
      std::vector<Finding> fresh = db::new_findings(before, after);
      ReportMeta meta;
      meta.command = "diff";
      meta.inputs = {opts->before, opts->after};
      meta.stats = {{"problems in old", before.size()}, {"problems in new", after.size()}, {"new problems", fresh.size()}};
      // 1 when a new problem is shown (a guarded cycle only with --show-guarded, as everywhere).
      return emit_report(fresh, meta, opts->out);
    };
  });
}

}  // namespace lockhound::cli
