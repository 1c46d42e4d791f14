// Internal to the finding layer: the helpers every family of findings words itself with, and
// the per-family entry points voice.cpp dispatches to. Not for front ends.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/facts.h"
#include "core/finding.h"
#include "core/sites.h"

namespace lockhound::voice {

// Each family fills summary, scenario, explanation and fix (title and signature are voice.cpp's).
void word_cycle(Finding& f);          // circular_dependency, guarded_cycle, witness_lock_order_reversal
void word_wait_cycle(Finding& f);     // actual_deadlock, filelock_deadlock
void word_recursion(Finding& f);      // recursive_locking, spinlock_recursion
void word_irq(Finding& f);            // inconsistent_lock_state, irq_lock_inversion, irq_safe_unsafe_order
void word_sleep(Finding& f);          // invalid_wait_context, sleeping_in_invalid_context, scheduling_while_atomic,
                                      // blocking_call_under_lock
void word_held(Finding& f);           // bad_unlock_balance, still_has_locks_held, lock_held_returning_to_user,
                                      // held_lock_freed, missing_unlock, workqueue_leaked_lock, nested_lock_not_taken
void word_callbacks(Finding& f);      // any finding naming a callback's run (fact::kCallbacks)
void word_hang(Finding& f);           // hung_task, soft_lockup, hard_lockup, rcu_stall, spinlock_lockup_suspected,
                                      // spinlock_bad_magic, max_too_low, non_static_key

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
// A recursive_locking finding about a trylock of a lock the thread already holds (it fails every
// time, and never hangs): its instance fact says "same lock instance, tried…".
inline bool tried_while_held(const Finding& f) {
  return f.type == FindingType::recursive_locking && starts_with(fact::get(f, fact::kInstance), "same lock instance, tried");
}
inline bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::string join(const std::vector<std::string>& v, std::string_view sep);
// A list of items for a sentence: all of them when few, else the first and last few with the
// count of the rest ("a, b, c, … 9,994 more …, x, y"), so prose stays short for huge cycles.
std::string join_some(const std::vector<std::string>& v, std::string_view sep, size_t keep = 6);
// How an explanation and a fix name a lock: a class named by where a run met it ("Account::mu
// first locked in transfer (bank.cpp:31)", "t->buckets[i] initialised in make_table (t.c:9) from
// main (t.c:40)") by the words before that place, when they say more than the lock's kind and no
// other of the finding's locks (`names`) shortens to the same words; summaries, chains, scenarios
// and stacks keep the whole name.
std::string prose_name(const std::vector<std::string>& names, const std::string& name);
std::string held_names(const std::vector<HeldLock>& held);
// A context as the sentence's subject: "thread 2 (tid 4312)", "insmod/42 (in hardirq context)".
std::string who(const Acquisition& a, std::string_view fallback = "one path");
// A participant's name without the "(tid N)" the runtime adds: "thread 2", "main thread".
std::string short_name(const std::string& name);
std::string participant_label(const Finding& f, const Participant& p);  // "insmod/42", "thread 2"
// "lock(x);" or "rlock(x);" for a mode string ("write", "read", "recursive-read", "try", …).
std::string scenario_step(std::string_view mode, const std::string& lock);
// A context-noun for the input: "tasks" for the kernel's, "threads" otherwise.
std::string party_noun(const Finding& f, size_t n);
// The acquisition (of `lock`, when given) in interrupt `irq`, else in any interrupt.
const Acquisition* acquisition_in(const Finding& f, const std::string& irq, const std::string& lock = {});
// One (of `lock`, when given) other than `in` that `irq` can interrupt: in process context first,
// else in another interrupt (a timer's softirq runs with hardirqs enabled).
const Acquisition* acquisition_outside(const Finding& f, const std::string& irq, const Acquisition* in,
                                       const std::string& lock = {});

}  // namespace lockhound::voice
