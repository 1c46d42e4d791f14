// Scenario language: a small text format in which a person writes contexts, interrupt state and
// lock acquisitions, so a driver's locking can be modelled and checked by the engine
// (`lockhound check FILE`). It is also the engine's test language. docs/scenario-language.md is
// the reference; examples/ has one scenario per seed bug.
//
//   spinlock lock1, lock2          # declarations: kind and names
//   thread T1 in bad_function:     # a context (thread, task, cpu); statements follow
//     spin_lock(&lock1);           # kernel verbs, pthread verbs, or plain `lock X`
//     spin_lock(&lock2);
//
// Events run in file order; a context header naming an existing context continues it. Every
// statement's site is FILE:LINE in the current function, so reports point at the scenario line.
// Errors name the line and what was expected; valid lines around a bad one still run, so nothing
// already found is lost.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/finding.h"
#include "core/validator.h"

namespace lockhound {

struct ScenarioResult {
  std::vector<Finding> findings;
  std::vector<Diagnostic> diagnostics;
  ValidatorStats stats;
  size_t statements = 0;
};

ScenarioResult check_scenario(std::string_view text, std::string_view filename,
                              ValidatorOptions options = {});

// The same one line at a time, for input of any size in bounded memory: line() each line in
// order (without its newline), then finish() once.
class ScenarioChecker {
 public:
  explicit ScenarioChecker(std::string filename, ValidatorOptions options = {});
  ~ScenarioChecker();
  ScenarioChecker(const ScenarioChecker&) = delete;
  ScenarioChecker& operator=(const ScenarioChecker&) = delete;
  void line(std::string_view line);
  ScenarioResult finish();
  // The engine the lines went through (its graph, for the lock-order database); lives as long as
  // the checker.
  const Validator& validator() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lockhound
