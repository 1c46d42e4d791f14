// The whole-program half of `lockhound scan`: summaries over the call graph, and replay into the
// engine.
//
// Input: every TU's facts (facts.h). For each function, bottom-up over the call graph (strongly
// connected components iterated to a fixpoint for recursion), a forward dataflow over its reduced
// CFG computes a summary: the lock events it causes (an acquisition, a sleeping call, a wait for a
// callback) each with the locks it holds then relative to the function's entry, the caller's
// locks it has released by then, the interrupt-state change and the source path down to the call
// that did it; plus what it returns holding, what it releases of its caller's, and its interrupt
// state on return. States are disjunctive per block (bounded; beyond the bound new states are
// dropped), correlated branch conditions and trylock results prune infeasible paths. A call site
// composes the callee's events with the caller's held set and interrupt state; the call chain
// grows by one frame. Events are deduplicated by (held locks, lock, interrupt state), keeping the
// first path, so summaries stay linear in practice.
//
// Roots (functions no one calls, and every registered callback in its context) replay their
// events into the Validator, one fresh engine context per event: the engine does every check.
// The one finding established here is missing_unlock (a return path keeps a lock that other paths
// of the same function release), reported through Validator::report.
#pragma once

#include <cstdint>
#include <vector>

#include "core/validator.h"
#include "scan/facts.h"

namespace lockhound::scan {

struct AnalysisStats {
  uint64_t functions = 0;
  uint64_t roots = 0;
  uint64_t events = 0;        // events replayed into the engine
  uint64_t callbacks = 0;     // registered callbacks
};

void analyze_program(const std::vector<const TuFacts*>& tus, Validator& v, AnalysisStats& stats);

}  // namespace lockhound::scan
