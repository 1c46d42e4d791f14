// `lockhound report DB...`: the lock-order databases' runs merged into one graph, checked by the
// engine: the problems no single run showed, each edge with the runs that took it.
#include <iostream>

#include "cli/common.h"
#include "db/database.h"

namespace lockhound::cli {

void register_report(CLI::App& app, Action& action) {
  struct Opts {
    std::vector<std::string> files;
    bool all = false;
    OutputOptions out;
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "report", "Check the union of the runs in lock-order databases (LOCKHOUND_DB, --db): the problems no single run showed");
  cmd->add_option("files", opts->files, "Database files (several merge: one per CI machine)")->required();
  cmd->add_flag("--all", opts->all, "Also the problems single runs reported themselves");
  add_output_options(cmd, opts->out);
  cmd->footer(
      "Record: LOCKHOUND_DB=locks.db lockhound run -- ./test_a; lockhound check --db locks.db b.lh (docs/database.md)\n"
      "Exit status: 0 clean, 1 findings, 2 usage error, 3 a file that is not a lockhound database.\n"
      "Example: lockhound report locks.db");
  cmd->callback([&action, opts] {
    action = [opts] {
      db::MergeOptions mo;
      mo.all = opts->all;
      mo.whole_graph = opts->out.graph == "all";
      db::MergedReport r;
      std::string error;
      if (!db::merged_report(opts->files, mo, r, error)) {
        std::cerr << "lockhound report: " << error << "\n";
        return int(kInputError);
      }
      ReportMeta meta;
      meta.command = "report";
      meta.inputs = opts->files;
      meta.stats = {{"runs", r.runs.size()},
                    {"lock classes", r.classes},
                    {"dependencies", r.edges},
                    {"classes with interrupt usage", r.usage_classes},
                    {"problems single runs reported", r.shown_by_runs}};
      Section runs{"runs", "", nlohmann::json::array()};
      for (const auto& run : r.runs) {
        runs.text += db::describe_run(run) + ": " + run.info.source + ", " + std::to_string(run.edges) + " edges, " +
                     std::to_string(run.findings) + " findings\n";
        runs.data.push_back({{"label", run.label},
                             {"source", run.info.source},
                             {"program", run.info.program},
                             {"arguments", run.info.arguments},
                             {"pid", run.info.pid},
                             {"time", run.info.time},
                             {"cwd", run.info.cwd},
                             {"git_commit", run.info.git_commit},
                             {"host", run.info.host},
                             {"edges", run.edges},
                             {"findings", run.findings}});
      }
      if (!runs.text.empty()) runs.text += "\n";
      meta.sections.push_back(std::move(runs));
      meta.graph = std::move(r.graph);
      meta.whole_graph = mo.whole_graph;
      return emit_report(r.findings, meta, opts->out);
    };
  });
}

}  // namespace lockhound::cli
