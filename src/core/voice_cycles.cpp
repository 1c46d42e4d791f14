// The words for cycles: possible ones (lock-order cycles of any length, guarded ones, two locks
// of one class in both orders, BSD WITNESS reversals) and those that really happened (wait-for
// cycles of threads, tasks or processes, file locks included).
#include <cctype>

#include "core/voice_internal.h"

namespace lockhound::voice {
namespace {

// Past this many locks a cycle's scenario shows its two ends and counts the middle: the table
// would otherwise grow with the square of the cycle.
constexpr size_t kScenarioColumns = 6;

std::vector<std::string> cycle_locks(const Finding& f) {
  std::vector<std::string> names;
  for (const auto& e : f.chain) names.push_back(e.from);
  if (names.empty()) names = f.classes;
  return names;
}

std::string cycle_summary(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::vector<std::string> ring = names;
  ring.push_back(names.front());
  return join_some(ring, " --> ", 8);
}

// Column i holds lock i of the cycle and then wants lock i+1: everyone takes their first lock,
// then everyone asks for the next one, and nobody can go on.
Scenario cycle_scenario(const Finding& f, const std::vector<std::string>& columns) {
  Scenario sc;
  size_t n = f.chain.size();
  if (n == 0) return sc;
  std::vector<size_t> shown;
  bool cut = n > kScenarioColumns;
  for (size_t i = 0; i < n; ++i)
    if (!cut || i < kScenarioColumns - 2 || i >= n - 2) shown.push_back(i);
  for (size_t k = 0; k < shown.size(); ++k) {
    if (cut && k == kScenarioColumns - 2)
      sc.columns.push_back("… " + std::to_string(n - kScenarioColumns) + " more");
    sc.columns.push_back(columns[shown[k]]);
  }
  size_t width = sc.columns.size();
  auto row_for = [&](size_t k, std::string cell) {
    std::vector<std::string> row(width);
    size_t col = (cut && k >= kScenarioColumns - 2) ? k + 1 : k;
    row[col] = std::move(cell);
    return row;
  };
  auto middle = [&](const char* what) {
    std::vector<std::string> row(width);
    row[kScenarioColumns - 2] = what;
    return row;
  };
  for (size_t k = 0; k < shown.size(); ++k) {
    if (cut && k == kScenarioColumns - 2) sc.rows.push_back(middle("(each takes its lock)"));
    const Edge& e = f.chain[shown[k]];
    sc.rows.push_back(row_for(k, scenario_step(e.from_site.mode, e.from)));
  }
  for (size_t k = 0; k < shown.size(); ++k) {
    if (cut && k == kScenarioColumns - 2) sc.rows.push_back(middle("(each wants the next)"));
    const Edge& e = f.chain[shown[k]];
    sc.rows.push_back(row_for(k, scenario_step(e.to_site.mode, e.to)));
  }
  return sc;
}

bool any_site(const Finding& f) {
  for (const auto& e : f.chain)
    if (!e.to_site.stack.empty() || !e.from_site.stack.empty()) return true;
  return false;
}

void word_guarded(Finding& f, const std::vector<std::string>& order_sites) {
  std::string guard = fact::get(f, fact::kGuardedBy);
  const Edge& last = f.chain.back();
  f.explanation = "The orders " + join_some(order_sites, ", ") +
                  " form a cycle, but every edge was taken while holding " + guard +
                  ", so the threads involved cannot interleave: not a deadlock today.";
  f.fix = "Nothing is required now; the cycle becomes a deadlock as soon as one of these paths runs without " +
          guard + ". To be robust, take " + last.to + " before " + last.from + " at " +
          site_of(last.to_site) + " as well.";
}

void word_instances(Finding& f) {
  // Two locks of one kind (made at one place) in both orders: the fix is an order between
  // objects of one kind, not between two kinds of lock.
  const Edge& first = f.chain.front();
  const Edge& last = f.chain.back();
  std::string s1 = site_of(first.to_site), s2 = site_of(last.to_site);
  f.explanation = "Two locks of one kind are each taken while the other is held: " + who(first.to_site) +
                  " takes " + first.to + " while holding " + first.from + " (at " + s1 + "), " +
                  who(last.to_site) + " takes " + last.to + " while holding " + last.from + " (at " + s2 +
                  "). When both run at the same time, each holds one lock and waits forever for the other.";
  f.fix = "Where two locks of this kind are held at once (" + s1 + (s1 == s2 ? "" : ", " + s2) +
          "), take them in one fixed order, for instance by address or by an id the objects carry, or take "
          "both with one call that avoids the deadlock (std::scoped_lock, std::lock).";
}

}  // namespace

void word_cycle(Finding& f) {
  std::vector<std::string> names = cycle_locks(f);
  f.summary = cycle_summary(names);
  std::vector<std::string> columns;
  for (size_t i = 0; i < f.chain.size(); ++i) columns.push_back("CPU" + std::to_string(i));
  f.scenario = cycle_scenario(f, columns);
  if (f.chain.empty() || names.size() < 2) {
    f.explanation = "The locks " + f.summary + " are taken in orders that form a cycle.";
    f.fix = "Take these locks in one global order everywhere.";
    return;
  }
  std::vector<std::string> order_sites;
  for (const auto& e : f.chain)
    order_sites.push_back(e.from + " before " + e.to + " (" + site_of(e.to_site) + ")");
  if (f.type == FindingType::guarded_cycle) return word_guarded(f, order_sites);
  if (fact::has(f, fact::kInstances) && f.chain.size() == 2) return word_instances(f);

  // The last edge is the one that closed the cycle: Z held, A taken. Every other path already
  // orders A before Z.
  const Edge& last = f.chain.back();
  const std::string a = prose_name(names, last.to);
  const std::string z = prose_name(names, last.from);
  std::string now = site_of(last.to_site);
  std::vector<std::string> earlier;
  for (size_t i = 0; i + 1 < f.chain.size(); ++i)
    earlier.push_back(site_of(f.chain[i].to_site, "an earlier path"));
  std::vector<std::string> briefs;
  for (const auto& n : names) briefs.push_back(prose_name(names, n));
  std::string ordered = join_some(briefs, " --> ", 8);  // A --> … --> Z: the chain's own order
  std::string subject = who(last.to_site);
  if (f.chain.size() == 2) {
    f.explanation = subject + " takes " + a + " while holding " + z + " (at " + now + "), but " + z +
                    " was taken while holding " + a + " before (at " + earlier[0] +
                    "): two " + party_noun(f, 2) + " on these paths can each hold one lock and wait forever for the other.";
  } else {
    f.explanation = subject + " takes " + a + " while holding " + z + " (at " + now + "), closing a cycle of " +
                    std::to_string(names.size()) + " locks that other paths already ordered " + ordered + " (" +
                    join_some(earlier, ", ") + "): " + party_noun(f, 2) + " on these paths can deadlock in a ring.";
  }
  // Where the held lock was taken, when the evidence shows the user's code (only the lock call's
  // own frame, std::mutex::lock in a build without inlining, says nothing worth repeating).
  bool held_known = user_frame(last.from_site.stack) ||
                    (!last.from_site.site.function.empty() && !is_plumbing(last.from_site.site)) ||
                    (!last.from_site.stack.empty() && !is_plumbing(last.from_site.stack.front()));
  std::string held_at = held_known ? " (taken at " + site_of(last.from_site) + ")" : "";
  f.fix = "Take " + a + " before " + z + " at " + now + ": release " + z + held_at + " first, or take " + a +
          " earlier, so that every path takes them in the order " + ordered + "; or remove " +
          (earlier.size() == 1 ? "the other dependency (" : "one of the other dependencies (") + join_some(earlier, ", ") + ").";
  if (!any_site(f))
    f.fix += " This input records no sites: `lockhound trace` on a lock trace of the same workload names them.";
  if (fact::get(f, fact::kSeverity) == "note") {
    // A class inferred from one init site entered and left through different locks.
    f.explanation += " But the locks of one class on this cycle were different locks at each end (see "
                     "\"different locks of\" above), and no lock of that class was seen playing both parts: as "
                     "seen, the cycle cannot close. A note, not a deadlock.";
    std::string then = f.fix;
    if (!then.empty()) then[0] = char(std::tolower(static_cast<unsigned char>(then[0])));
    f.fix = "Nothing is required while those locks never swap roles; if one lock of that class can be taken in "
            "both places, " + then;
  }
}

void word_wait_cycle(Finding& f) {
  const auto& ps = f.participants;
  size_t n = ps.size();
  std::vector<std::string> names, resources, sites;
  bool joins = false;
  for (const auto& p : ps) {
    names.push_back(participant_label(f, p));
    resources.push_back(p.waits_for);
    sites.push_back(site_of(p.stack, ""));
    joins |= p.state == "joining";
  }
  bool files = f.type == FindingType::filelock_deadlock;
  if (fact::has(f, fact::kForkHolder)) {
    // A fork child waits for a lock that a thread of its parent held at the fork: no cycle, and
    // the holder does not exist in this process.
    std::string lock = resources.empty() || resources.front().empty() ? (f.classes.empty() ? "the lock" : f.classes.front())
                                                                      : resources.front();
    std::string holder = fact::get(f, fact::kForkHolder);
    std::string waiter = names.empty() ? "a thread" : names.front();
    f.summary = waiter + " waits for " + lock + ", held by " + holder +
                " when the parent called fork(): that thread does not exist in this process, so " + lock +
                " is never released";
    f.explanation = "fork() copies only the thread that calls it. " + holder + " held " + lock +
                    " at that moment, so in the child the lock stays taken for ever and every thread that waits for "
                    "it hangs.";
    f.fix = "Between fork() and exec in the child, take no lock another thread may hold (call only "
            "async-signal-safe functions, or use posix_spawn); or take " + lock +
            " in a pthread_atfork() prepare handler and release it in the parent and child handlers, so that no "
            "other thread holds it across the fork.";
    return;
  }
  // Summary: each party waits for what the next one holds.
  std::vector<std::string> parts;
  for (size_t i = 0; i < n; ++i) {
    const auto& p = ps[i];
    std::string next = names[(i + 1) % n];
    if (p.state == "joining") {
      parts.push_back(names[i] + " waits in pthread_join for " + next + " to end");
      continue;
    }
    parts.push_back(names[i] + " waits for " + p.waits_for + " held by " + next);
  }
  f.summary = join_some(parts, ", ");

  // Scenario: one column per party; first every hold, then every blocked request.
  if (n > 0) {
    bool cut = n > kScenarioColumns;
    std::vector<size_t> shown;
    for (size_t i = 0; i < n; ++i)
      if (!cut || i < kScenarioColumns - 2 || i >= n - 2) shown.push_back(i);
    for (size_t i : shown) f.scenario.columns.push_back(files ? (ps[i].pid >= 0 ? "pid " + std::to_string(ps[i].pid) : names[i]) : names[i]);
    for (size_t k = 0; k < shown.size(); ++k) {
      size_t i = shown[k];
      std::vector<std::string> row(shown.size());
      const std::string& held = ps[(i + n - 1) % n].state == "joining" ? std::string() : resources[(i + n - 1) % n];
      if (held.empty()) continue;
      row[k] = files ? "holds " + held : "lock(" + held + ");";
      f.scenario.rows.push_back(std::move(row));
    }
    for (size_t k = 0; k < shown.size(); ++k) {
      size_t i = shown[k];
      std::vector<std::string> row(shown.size());
      if (ps[i].state == "joining") row[k] = "join(" + names[(i + 1) % n] + "); blocks";
      else row[k] = files ? "waits for " + resources[i] : "lock(" + resources[i] + "); blocks";
      f.scenario.rows.push_back(std::move(row));
    }
  }

  std::string noun = party_noun(f, n);
  if (files) {
    std::string kinds = fact::get(f, fact::kLockTypes);
    bool posix_only = kinds == "POSIX lock";
    f.explanation = "Each process holds a file lock that the next one is blocked on, so none can proceed. " +
                    std::string(posix_only ? "The kernel normally refuses such a POSIX wait with EDEADLK; this cycle "
                                             "got past it (threads of one process, or locks taken over NFS)."
                                           : "The kernel detects deadlocks for POSIX record locks only, so " +
                                                 (kinds.empty() ? std::string("these") : kinds) +
                                                 " waits like these hang forever.");
    std::string kill;
    for (const auto& p : ps)
      if (p.pid > 0) {
        kill = "kill " + std::to_string(p.pid);
        break;
      }
    f.fix = "Take these locks in one global order in every process (for example sorted by path), or take the "
            "second one with LOCK_NB / F_SETLK and back off on failure." +
            (kill.empty() ? std::string() : " To recover now, end one of the processes (" + kill + ").");
    return;
  }
  std::vector<std::string> asks;
  for (size_t i = 0; i < n; ++i)
    if (!sites[i].empty() && ps[i].state != "joining")
      asks.push_back(names[i] + " asks for " + resources[i] + " at " + sites[i]);
  std::string where = asks.empty() ? "" : " Sites: " + join_some(asks, "; ") + ".";
  if (n == 1 && !joins) {
    f.explanation = "The " + noun + " waits for " + resources[0] +
                    ", which it holds itself (a non-recursive lock taken twice): it can never be released.";
    f.fix = "Do not take " + resources[0] + " again while holding it" +
            (sites[0].empty() ? "" : " at " + sites[0]) +
            ": release it first, or use a recursive lock if re-entry is intended.";
    return;
  }
  if (joins) {
    f.explanation = "These " + noun + " are deadlocked now: a thread waits in pthread_join for another to end while "
                    "holding a lock that one needs (directly or through the others), so neither can go on.";
    std::vector<std::string> fixes;
    for (size_t i = 0; i < n; ++i) {
      if (ps[i].state != "joining") continue;
      std::string joined = names[(i + 1) % n];
      std::string held = held_names(ps[i].held);
      if (held.empty()) held = "the locks it holds";
      fixes.push_back("Release " + held + " before " + names[i] + " joins " + joined + ": " + joined +
                      " (or a thread it waits for) needs " + (ps[i].held.size() == 1 ? "it" : "one of them") +
                      " to finish.");
    }
    f.fix = join(fixes, " ");
    return;
  }
  std::vector<std::string> order(resources.begin(), resources.end());
  f.explanation = "These " + noun + " are deadlocked now: each one waits for a lock that the next one holds, and "
                  "none of them can go on (a lock-order inversion that really happened, not a possible one).";
  f.fix = "Take these locks in one global order on every path (for example always " + join_some(order, ", ") +
          "), or take them together (std::scoped_lock, std::lock)." + where +
          (noun == "tasks" ? " The tasks cannot recover by themselves: the machine needs a reboot."
                           : " The process cannot recover by itself: restart it.");
}

}  // namespace lockhound::voice
