// The `lockhound` command: parses arguments and hands off to one subcommand.
// Each subcommand lives in cmd_<name>.cpp and is compiled in when that file exists.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace lockhound::cli {
#define LOCKHOUND_COMMAND(name) void register_##name(CLI::App& app, Action& action);
#include "cli/command_list.h"
#undef LOCKHOUND_COMMAND
}  // namespace lockhound::cli

int main(int argc, char** argv) {
  using namespace lockhound::cli;
  // Named, so help says "lockhound" and not the path it was started by (the man pages are made
  // from it).
  CLI::App app{"lockhound: finds deadlocks before they happen and explains the ones that did", "lockhound"};
  app.footer("`lockhound help COMMAND` or `lockhound COMMAND --help` shows a command's options.");
  app.set_version_flag("--version", std::string("lockhound ") + LOCKHOUND_VERSION);
  app.require_subcommand(1);
  Action action;
#define LOCKHOUND_COMMAND(name) register_##name(app, action);
#include "cli/command_list.h"
#undef LOCKHOUND_COMMAND
  // `lockhound help [COMMAND]`, and a word that is no command said as such (CLI11 would call it an
  // unexpected argument).
  std::vector<std::string> args(argv + 1, argv + argc);
  auto is_command = [&](const std::string& w) {
    for (const auto* sub : app.get_subcommands({}))
      if (sub->get_name() == w) return true;
    return false;
  };
  if (!args.empty() && args[0] == "help") {
    if (args.size() == 1) {
      std::cout << app.help();
      return kClean;
    }
    if (!is_command(args[1])) {
      std::cerr << "lockhound: unknown command '" << args[1] << "'\n" << app.help();
      return kUsage;
    }
    std::cout << app.get_subcommand(args[1])->help();
    return kClean;
  }
  if (!args.empty() && !args[0].empty() && args[0][0] != '-' && !is_command(args[0])) {
    std::cerr << "lockhound: unknown command '" << args[0] << "'; the commands are:";
    for (const auto* sub : app.get_subcommands({})) std::cerr << " " << sub->get_name();
    std::cerr << "\n(lockhound --help for what each does)\n";
    return kUsage;
  }
  // `run`'s "--": what follows is the program's, whatever it looks like. It is kept from the
  // option parser (which would read it as its own positionals) and handed to run as is.
  std::vector<char*> parse_argv(argv, argv + argc);
  if (!args.empty() && args[0] == "run")
    for (int i = 2; i < argc; ++i)
      if (std::string(argv[i]) == "--") {
        run_after_dashes().emplace(argv + i + 1, argv + argc);
        parse_argv.resize(size_t(i));
        break;
      }
  try {
    app.parse(int(parse_argv.size()), parse_argv.data());
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
