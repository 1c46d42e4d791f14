// The `lockhound` command: parses arguments and hands off to one subcommand.
// Each subcommand lives in cmd_<name>.cpp and is compiled in when that file exists.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace lockhound::cli {
#define LOCKHOUND_COMMAND(name) void register_##name(CLI::App& app, Action& action);
#include "cli/command_list.h"
#undef LOCKHOUND_COMMAND
}  // namespace lockhound::cli

int main(int argc, char** argv) {
  using namespace lockhound::cli;
  CLI::App app{"lockhound: finds deadlocks before they happen and explains the ones that did"};
  app.set_version_flag("--version", std::string("lockhound ") + LOCKHOUND_VERSION);
  app.require_subcommand(1);
  Action action;
#define LOCKHOUND_COMMAND(name) register_##name(app, action);
#include "cli/command_list.h"
#undef LOCKHOUND_COMMAND
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kUsage;
  }
  if (!action) return kUsage;
  try {
    return action();
  } catch (const std::exception& e) {
    std::cerr << "lockhound: internal error: " << e.what() << "\n";
    return kInputError;
  }
}
