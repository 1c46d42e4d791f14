// explain: kernel logs in, structured findings out.
//
// explain_log() reads the text of a kernel log as people actually have it — dmesg with or without
// timestamps, `dmesg -T`, `journalctl -k`, syslog lines, caller-id prefixes ([T123] / [C1]), raw
// console levels (<4>), serial consoles with torn and interleaved lines, mails with "> " quoting
// and quoted-printable encoding, excerpts indented in commit messages — and turns every lock or
// hang report in it into one lockhound::Finding of the DESIGN.md vocabulary: every lockdep report
// (circular dependency, recursive locking, inconsistent lock state, irq lock inversion,
// irq-safe -> irq-unsafe, bad unlock balance, lock held returning to user space, held lock freed,
// still has locks held, invalid wait context, nested lock not taken, MAX_* too low, non-static
// key), spinlock debug reports, sleeping in atomic context, scheduling while atomic, hung tasks,
// soft and hard lockups, RCU stalls, leaked workqueue locks and BSD WITNESS lock order reversals.
//
// What it promises:
//  - `classes` are the lock names exactly as the report prints them, without `{usage}` and
//    `-{x:y}`; for a cycle the full cycle is rebuilt from the `-> #N` entries (the "Chain exists
//    of:" line leaves out the middle locks), starting at the lock being acquired (#0).
//  - every finding carries its title, a one-line summary, the chain / acquisitions with stacks
//    (function and offset per frame), the tasks involved, lockdep's scenario table, the held
//    locks, `location` ("FILE:LINE" of the report's headline), `raw` (the report's text with the
//    log prefixes removed), a one-sentence root cause and a fix naming the sites from the stacks.
//  - identical reports (same signature) become one finding with a count.
//  - "Showing all locks held in the system" after hung tasks feeds a wait-for graph; a cycle there
//    becomes an `actual_deadlock` finding. A task blocked in mutex_lock() lists the mutex it waits
//    for as its top held lock (lockdep records it before sleeping), so that entry is a wait, not
//    ownership.
//  - it never throws and never crashes on malformed input: what parsed is returned, a report cut
//    off mid-way yields a partial finding plus a warning, and only unreadable (binary) input is an
//    error.
//
// Cost: linear in the input; no global state; safe to call from several threads at once.
#pragma once

#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/finding.h"

namespace lockhound::explain {

struct ExplainResult {
  std::vector<Finding> findings;       // in order of first appearance in the log
  std::vector<Diagnostic> diagnostics;  // warnings for truncated reports; errors for unreadable input
};

// `filename` names the input in locations and diagnostics ("-" or "" reads as "<stdin>");
// `first_line` is the line number of text's first line in it (a log read in parts).
ExplainResult explain_log(std::string_view text, std::string_view filename, size_t first_line = 1);

// A log of any size in bounded memory: read it in parts that end where a report may start (the
// line may_start_report() says yes to), explain each part, and merge the results, which groups
// identical problems across parts as explain_log does within one. A report's hung tasks and its
// "Showing all locks held" dump are analysed together only within one part.
void merge_results(ExplainResult& into, ExplainResult&& part);
bool may_start_report(std::string_view raw_line);

}  // namespace lockhound::explain
