// Advice: the root cause in one sentence and the fix, written from a finding's structure.
//
// Every front end's findings get the same voice: write_advice() reads the type, the chain, the
// acquisitions and their sites and fills Finding::explanation and Finding::fix, naming the exact
// site to change (function and file:line when known, else the address). Call it again after a
// symbolizer has filled in frames, so the text names functions instead of addresses.
#pragma once

#include <string>

#include "core/finding.h"

namespace lockhound {

// Fills explanation and fix (overwriting both).
void write_advice(Finding& f);

// "bad_function (abba.c:12)", "m2_init+0x3c/0x90", "0x4011d6", or "" when nothing is known.
std::string describe_frame(const Frame& fr);
// The most telling frame of a stack: the first one outside lockhound and the lock library.
std::string describe_site(const Stack& stack);

}  // namespace lockhound
