// The finding layer ("one voice"): everything a person or a tool reads of a finding, derived
// from the facts a front end filled in.
//
// A front end (the engine, the runtime's watchdog, explain, sys, attach, scan) fills a
// Finding's facts: type, classes, chain with evidence, acquisitions, participants, details
// (documented keys), location, raw text. complete_finding() then derives the title, the summary
// line, the unsafe scenario, the explanation, the fix and the signature, so the same problem
// reads the same and has the same signature whatever input found it. Front ends never write
// those fields themselves.
//
// complete_finding() is idempotent: call it again after a symbolizer filled in frames, and the
// prose names functions instead of addresses (the signature never depends on addresses).
#pragma once

#include <string>
#include <vector>

#include "core/finding.h"

namespace lockhound {

// Derives title, summary, scenario, explanation, fix and signature from the facts.
void complete_finding(Finding& f);

// How bad a finding is, from its facts (docs/runtime.md, "Severities"):
//   "deadlock"  can hang or corrupt the program (a lock-order cycle, recursive locking, a lock
//               held when its thread ends, an invalid wait context in the kernel, …);
//   "hazard"    costs time or robustness but cannot hang by itself (a sleeping lock taken under
//               a user-space spinlock, a blocking call under a lock, a lockdep table full);
//   "note"      worth knowing, not a problem today (a guarded cycle, a cycle within one class
//               that no single lock closes, a trylock of a lock the thread holds).
// Renderers print it (JSON `severity`, SARIF `level`), and the runtime's fail_on option picks
// which ones fail a run.
std::string_view finding_severity(const Finding& f);

// 0 for "deadlock", 1 for "hazard", 2 for "note": a finding fails a policy of rank R when its
// rank is at most R.
int severity_rank(std::string_view severity);

// The finding's identity across runs and front ends: its type and the lock classes involved
// (a cycle's rotation and direction normalised), plus the code site for the types whose
// identity is a place. Never contains addresses, pids or counts.
std::string finding_signature(const Finding& f);

// Findings with equal signatures are one problem: keeps the first of each, its count the sum.
// For the end of a run, where findings from several sources (the engine, a watchdog, several
// input files) meet.
void merge_same_findings(std::vector<Finding>& findings);

// One step of a hang that really happened: `party` waits for `resource`, which the next step's
// party holds (the last step's resource is held by the first step's party).
struct WaitStep {
  Participant party;      // name, pid, state, the locks it holds (with sites), its stack
  std::string resource;   // a lock class, a file, …: what it waits for
  bool join = false;      // it waits in pthread_join for the next party to end
};

// The facts of a wait-for cycle (core/waitfor.h finds them) as one finding: `type` is
// actual_deadlock, or filelock_deadlock for file locks. Classes, participants and the lock-level
// chain come from the steps; add what else is known (fact::kPid, …) and call complete_finding().
// One builder for the runtime's watchdog, attach, sys and explain.
Finding wait_cycle_finding(FindingType type, std::vector<WaitStep> steps, std::string source);

}  // namespace lockhound
