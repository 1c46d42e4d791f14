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

#include "core/finding.h"

namespace lockhound {

// Derives title, summary, scenario, explanation, fix and signature from the facts.
void complete_finding(Finding& f);

// The finding's identity across runs and front ends: its type and the lock classes involved
// (a cycle's rotation and direction normalised), plus the code site for the types whose
// identity is a place. Never contains addresses, pids or counts.
std::string finding_signature(const Finding& f);

}  // namespace lockhound
