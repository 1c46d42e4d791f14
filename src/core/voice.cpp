// The finding layer: dispatch, titles, signatures and the builder of wait-for cycles. The words
// of each family of findings live in voice_<family>.cpp.
#include "core/voice.h"

#include <algorithm>
#include <cctype>

#include "core/types.h"
#include "core/voice_internal.h"

namespace lockhound {
namespace voice {

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string join_some(const std::vector<std::string>& v, std::string_view sep, size_t keep) {
  if (v.size() <= keep + 2) return join(v, sep);
  size_t head = keep / 2 + keep % 2, tail = keep / 2;
  std::string out;
  for (size_t i = 0; i < head; ++i) out += (i ? std::string(sep) : "") + v[i];
  out += std::string(sep) + "… " + std::to_string(v.size() - head - tail) + " more …";
  for (size_t i = v.size() - tail; i < v.size(); ++i) out += std::string(sep) + v[i];
  return out;
}

std::string prose_name(const std::vector<std::string>& names, const std::string& name) {
  auto shorten = [](const std::string& n) {
    for (const char* place : {" first locked in ", " initialised in "})
      if (size_t at = n.find(place); at != std::string::npos && at > 0) return n.substr(0, at);
    return n;
  };
  std::string brief = shorten(name);
  if (brief == name || brief == "mutex" || brief == "rwlock" || brief == "spinlock") return name;
  for (const auto& other : names)
    if (other != name && shorten(other) == brief) return name;
  return brief;
}

std::string held_names(const std::vector<HeldLock>& held) {
  std::vector<std::string> n;
  for (const auto& h : held) n.push_back(h.name);
  return join_some(n, ", ");
}

std::string who(const Acquisition& a, std::string_view fallback) {
  std::string s = a.context.empty() ? std::string(fallback) : a.context;
  if (!a.irq.empty()) s += " (in " + a.irq + " context)";
  return s;
}

std::string short_name(const std::string& name) {
  size_t p = name.find(" (tid ");
  return p == std::string::npos ? name : name.substr(0, p);
}

std::string participant_label(const Finding& f, const Participant& p) {
  // Kernel tasks and processes go by comm/pid; a program's threads by their names (the pid
  // there is a thread id, shown with the participant, not in every sentence).
  bool by_pid = f.source != "run" && f.source != "check" && f.source != "scan";
  if (by_pid && p.pid >= 0 && p.name.find(std::to_string(p.pid)) == std::string::npos)
    return p.name + "/" + std::to_string(p.pid);
  return short_name(p.name);
}

std::string scenario_step(std::string_view mode, const std::string& lock) {
  bool read = contains(mode, "read");
  return (read ? "rlock(" : "lock(") + lock + ");";
}

std::string party_noun(const Finding& f, size_t n) {
  bool kernel = f.source == "explain" || f.source == "trace" || f.source == "sys" || f.source == "import";
  if (f.type == FindingType::filelock_deadlock) return n == 1 ? "process" : "processes";
  return kernel ? (n == 1 ? "task" : "tasks") : (n == 1 ? "thread" : "threads");
}

const Acquisition* acquisition_in(const Finding& f, const std::string& irq, const std::string& lock) {
  for (const auto& a : f.acquisitions)
    if (a.irq == irq && (lock.empty() || a.lock == lock)) return &a;
  for (const auto& a : f.acquisitions)
    if (!a.irq.empty() && (lock.empty() || a.lock == lock)) return &a;
  return nullptr;
}

const Acquisition* acquisition_outside(const Finding& f, const std::string& irq, const Acquisition* in,
                                       const std::string& lock) {
  for (const auto& a : f.acquisitions)
    if (&a != in && a.irq.empty() && (lock.empty() || a.lock == lock)) return &a;
  for (const auto& a : f.acquisitions)
    if (&a != in && a.irq != irq && (lock.empty() || a.lock == lock)) return &a;
  return nullptr;
}

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string title_of(const Finding& f) {
  using FT = FindingType;
  switch (f.type) {
    case FT::recursive_locking:
      if (tried_while_held(f)) return "trylock of a lock the " + party_noun(f, 1) + " already holds";
      break;
    case FT::irq_safe_unsafe_order: {
      std::string st = fact::get(f, fact::kState);
      if (st.empty()) st = upper(fact::get(f, fact::kInterrupt));
      if (st.empty()) break;
      return st + "-safe -> " + st + "-unsafe lock order detected";
    }
    case FT::actual_deadlock: {
      if (fact::has(f, fact::kForkHolder)) return "actual deadlock: a lock held by a thread fork() did not copy";
      size_t n = f.participants.size();
      std::string pid = fact::get(f, fact::kPid);
      std::string of = pid.empty() ? "" : " of pid " + pid;
      if (n == 1) return "actual deadlock: a " + party_noun(f, 1) + of + " waits for a lock it holds";
      if (n > 1) return "actual deadlock: " + std::to_string(n) + " " + party_noun(f, n) + of + " wait for each other";
      break;
    }
    case FT::filelock_deadlock: {
      size_t n = f.participants.size();
      if (n == 1) return "file-lock deadlock: 1 process waits for itself";
      if (n > 1) return "file-lock deadlock: " + std::to_string(n) + " processes wait for each other";
      break;
    }
    case FT::max_too_low:
      if (fact::has(f, fact::kLimit)) return "lockdep limit too low: " + fact::get(f, fact::kLimit);
      break;
    case FT::hung_task:
      if (!f.participants.empty() && fact::has(f, fact::kSeconds)) {
        std::string hang = fact::get(f, fact::kHang);
        std::string how = hang == "I/O wait"    ? " blocked in I/O wait for more than "
                          : hang == "can't die" ? " can't die for more than "
                                                : " blocked for more than ";
        return "task " + participant_label(f, f.participants.front()) + how + fact::get(f, fact::kSeconds) +
               " seconds";
      }
      break;
    case FT::rcu_stall: {
      std::string kind = fact::get(f, fact::kStallKind);
      if (kind == "expedited") return "RCU expedited stall";
      if (kind == "tasks") return "RCU Tasks stall: a task did not reach a quiescent state";
      break;
    }
    case FT::workqueue_lockup:
      if (fact::has(f, fact::kPool) && fact::has(f, fact::kSeconds))
        return "workqueue lockup: pool " + fact::get(f, fact::kPool) + " stuck for " + fact::get(f, fact::kSeconds) +
               "s";
      break;
    case FT::lockdep_internal_error:
      if (fact::has(f, fact::kFunction))
        return "lockdep internal error in " + fact::get(f, fact::kFunction) + ": lockdep turned off";
      break;
    case FT::soft_lockup:
      if (fact::has(f, fact::kCpu) && fact::has(f, fact::kSeconds))
        return "soft lockup: CPU#" + fact::get(f, fact::kCpu) + " stuck for " + fact::get(f, fact::kSeconds) + "s";
      break;
    case FT::spinlock_bad_magic:
    case FT::spinlock_recursion:
      if (fact::has(f, fact::kMessage)) return fact::get(f, fact::kMessage);
      break;
    default:
      break;
  }
  return std::string(type_title(f.type));
}

// The cycle `names` read from its smallest rotation, in whichever direction reads smaller: the
// same cycle gives the same list whichever lock a front end printed first and whichever way
// round it walked it.
std::vector<std::string> canonical_cycle(std::vector<std::string> names) {
  size_t n = names.size();
  if (n < 2) return names;
  auto best_rotation = [n](const std::vector<std::string>& v) {
    size_t best = 0;
    for (size_t s = 1; s < n; ++s) {
      if (v[s] > v[best]) continue;
      for (size_t k = 0; k < n; ++k) {
        const std::string& a = v[(s + k) % n];
        const std::string& b = v[(best + k) % n];
        if (a != b) {
          if (a < b) best = s;
          break;
        }
      }
    }
    std::vector<std::string> out;
    out.reserve(n);
    for (size_t k = 0; k < n; ++k) out.push_back(v[(best + k) % n]);
    return out;
  };
  std::vector<std::string> fwd = best_rotation(names);
  std::reverse(names.begin(), names.end());
  std::vector<std::string> bwd = best_rotation(names);
  return std::min(fwd, bwd);
}

// The function a stack's site is in: stable across builds and runs (no line, no address).
std::string site_function(const Stack& s) {
  const Frame* f = user_frame(s);
  if (!f) return "";
  if (!f->function.empty()) return f->function;
  if (!f->file.empty()) return f->file.substr(f->file.rfind('/') + 1);
  // No symbols: the place in its object ("unbound+0x7854b"), stable across runs of one build.
  return f->object.substr(f->object.rfind('/') + 1) + f->offset;
}

std::string site_function(const Acquisition& a) {
  if (!a.site.function.empty() && !is_plumbing(a.site)) return a.site.function;
  return site_function(a.stack);
}

std::vector<std::string> cycle_names(const Finding& f) {
  if (f.chain.empty()) return f.classes;
  std::vector<std::string> names;
  for (const auto& e : f.chain) names.push_back(e.from);
  return names;
}

}  // namespace
}  // namespace voice

std::string_view finding_severity(const Finding& f) {
  using FT = FindingType;
  std::string_view by_type = type_severity(f.type);
  if (by_type == "note" || fact::get(f, fact::kSeverity) == "note" || voice::tried_while_held(f)) return "note";
  if (by_type == "warning") return "hazard";
  // Under a user-space spinlock, a lock that may sleep makes the spinners burn CPU while the
  // holder blocks; nothing waits for ever unless a cycle says so (and that is its own finding).
  if (f.type == FT::invalid_wait_context && fact::get(f, fact::kSpinKind) == kind_name(LockKind::pthread_spinlock))
    return "hazard";
  return "deadlock";
}

int severity_rank(std::string_view severity) {
  if (severity == "deadlock") return 0;
  if (severity == "hazard") return 1;
  return 2;
}

std::string finding_signature(const Finding& f) {
  using FT = FindingType;
  using namespace voice;
  std::string sig(type_name(f.type));
  auto add = [&sig](const std::string& s) { sig += "|" + s; };
  switch (f.type) {
    case FT::circular_dependency:
    case FT::guarded_cycle:
    case FT::witness_lock_order_reversal:
      if (fact::has(f, fact::kInstances)) {
        // Two locks of one class in both orders: the class and the two places that nest them.
        add(join(f.classes, ","));
        std::vector<std::string> sites;
        for (const auto& e : f.chain) sites.push_back(site_function(e.to_site));
        std::sort(sites.begin(), sites.end());
        add(join(sites, ","));
        break;
      }
      add(join(canonical_cycle(cycle_names(f)), ","));
      break;
    case FT::actual_deadlock:
    case FT::filelock_deadlock:
      add(join(canonical_cycle(f.classes), ","));
      break;
    case FT::inconsistent_lock_state:
    case FT::irq_lock_inversion:
    case FT::irq_safe_unsafe_order:
      add(join(f.classes, ","));
      add(fact::get(f, fact::kInterrupt));
      break;
    case FT::hung_task:
    case FT::soft_lockup:
    case FT::hard_lockup:
    case FT::rcu_stall:
      // The same stuck task or CPU reported again later (with a larger time) is one problem; an
      // expedited or RCU Tasks stall is not the same problem as a normal grace-period stall.
      if (f.type == FT::rcu_stall) add(fact::get(f, fact::kFlavor) + "/" + fact::get(f, fact::kStallKind));
      if (!f.participants.empty()) {
        const auto& p = f.participants.front();
        add(f.type == FT::hung_task ? p.name : "");
        add(site_function(p.stack));
        add(p.stack.empty() ? "" : p.stack.front().function);
      }
      break;
    case FT::max_too_low:
      add(fact::get(f, fact::kLimit));
      break;
    case FT::workqueue_lockup: {
      // The pool and the work functions running on it (without the workers' pids).
      add(fact::get(f, fact::kPool));
      std::string fns, items = fact::get(f, fact::kInFlight);
      for (size_t b = 0; b < items.size();) {
        size_t e = items.find(", ", b);
        std::string item = items.substr(b, e == std::string::npos ? std::string::npos : e - b);
        fns += item.substr(item.find(':') + 1) + ",";
        b = e == std::string::npos ? items.size() : e + 2;
      }
      add(fns);
      break;
    }
    case FT::lockdep_internal_error:
      add(fact::get(f, fact::kCheck));
      add(fact::get(f, fact::kAt));
      add(fact::get(f, fact::kFunction));
      break;
    case FT::still_has_locks_held:
    case FT::lock_held_returning_to_user:
    case FT::nested_lock_not_taken:
      add(join(f.classes, ","));
      break;
    case FT::missing_unlock:
      add(join(f.classes, ","));
      add(fact::get(f, fact::kFunction));
      break;
    case FT::invalid_wait_context:
      if (finding_severity(f) == "hazard") {
        // One code pattern, one finding: the site that takes the sleeping lock and the site
        // that took the spinning one, whatever the classes (a hash table's bins, one class per
        // table, all go through the same two lines).
        for (const auto& a : f.acquisitions) add(site_function(a));
        break;
      }
      [[fallthrough]];
    case FT::sleeping_in_invalid_context:
    case FT::blocking_call_under_lock:
      // The classes and the function of the call that may sleep.
      add(join(f.classes, ","));
      if (!f.acquisitions.empty()) add(site_function(f.acquisitions.front()));
      break;
    case FT::recursive_locking:
      // A place, as below; a trylock of a held lock is not the same problem as a lock of it.
      add(join(f.classes, ","));
      if (!f.acquisitions.empty()) add(site_function(f.acquisitions.back()));
      if (tried_while_held(f)) add("try");
      break;
    default: {
      // A place: the classes and the function of the decisive acquisition (the last one).
      add(join(f.classes, ","));
      if (!f.acquisitions.empty()) add(site_function(f.acquisitions.back()));
      else if (!f.participants.empty()) add(site_function(f.participants.front().stack));
      break;
    }
  }
  return sig;
}

void complete_finding(Finding& f) {
  using FT = FindingType;
  f.title = voice::title_of(f);
  f.summary.clear();
  f.scenario = {};
  f.explanation.clear();
  f.fix.clear();
  switch (f.type) {
    case FT::circular_dependency:
    case FT::guarded_cycle:
    case FT::witness_lock_order_reversal: voice::word_cycle(f); break;
    case FT::actual_deadlock:
    case FT::filelock_deadlock: voice::word_wait_cycle(f); break;
    case FT::recursive_locking:
    case FT::spinlock_recursion: voice::word_recursion(f); break;
    case FT::inconsistent_lock_state:
    case FT::irq_lock_inversion:
    case FT::irq_safe_unsafe_order: voice::word_irq(f); break;
    case FT::invalid_wait_context:
    case FT::sleeping_in_invalid_context:
    case FT::scheduling_while_atomic:
    case FT::blocking_call_under_lock: voice::word_sleep(f); break;
    case FT::bad_unlock_balance:
    case FT::still_has_locks_held:
    case FT::lock_held_returning_to_user:
    case FT::held_lock_freed:
    case FT::missing_unlock:
    case FT::workqueue_leaked_lock:
    case FT::nested_lock_not_taken: voice::word_held(f); break;
    default: voice::word_hang(f); break;
  }
  voice::word_callbacks(f);
  if (f.explanation.empty()) f.explanation = std::string(type_title(f.type)) + ".";
  if (std::string cut = fact::get(f, fact::kLinesCut); !cut.empty())
    f.explanation += cut == "text"
                         ? " The report's lines came with their first characters cut off (as a console window or a "
                           "web view cuts them): a name at the start of a line may be incomplete."
                         : " The report's lines came with the start of their timestamps cut off; its text is whole.";
  if (f.fix.empty()) f.fix = "See the stacks above for the sites involved.";
  f.signature = finding_signature(f);
}

void merge_same_findings(std::vector<Finding>& findings) {
  std::vector<Finding> out;
  out.reserve(findings.size());
  std::vector<std::pair<std::string, size_t>> seen;  // signature -> index in out (few findings)
  for (auto& f : findings) {
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == f.signature; });
    if (it != seen.end() && !f.signature.empty()) {
      Finding& kept = out[it->second];
      kept.count += f.count;
      // One pattern over several classes (a hazard grouped by its sites): every class named.
      for (auto& c : f.classes)
        if (std::find(kept.classes.begin(), kept.classes.end(), c) == kept.classes.end()) kept.classes.push_back(c);
      continue;
    }
    seen.emplace_back(f.signature, out.size());
    out.push_back(std::move(f));
  }
  findings = std::move(out);
}

Finding wait_cycle_finding(FindingType type, std::vector<WaitStep> steps, std::string source) {
  Finding f;
  f.type = type;
  f.source = std::move(source);
  size_t n = steps.size();
  for (size_t i = 0; i < n; ++i) {
    WaitStep& s = steps[i];
    const WaitStep& next = steps[(i + 1) % n];
    if (s.join) {
      s.party.state = "joining";
      s.party.waits_for = "the end of " + voice::short_name(next.party.name);
    } else {
      if (std::find(f.classes.begin(), f.classes.end(), s.resource) == f.classes.end()) f.classes.push_back(s.resource);
      s.party.waits_for = s.resource;
    }
  }
  // Lock-level edges: the next party holds this step's resource and waits for its own.
  for (size_t i = 0; i < n && n > 1; ++i) {
    const WaitStep& s = steps[i];
    const WaitStep& next = steps[(i + 1) % n];
    if (s.join || next.join) continue;
    Edge e;
    e.from = s.resource;
    e.to = next.resource;
    e.from_site.lock = e.from;
    e.to_site.lock = e.to;
    e.from_site.context = e.to_site.context = next.party.name;
    for (const auto& h : next.party.held)
      if (h.name == s.resource && (!h.site.function.empty() || !h.site.file.empty() || h.site.pc))
        e.from_site.stack = {h.site};
    e.to_site.stack = next.party.stack;
    e.to_site.held = next.party.held;
    f.chain.push_back(std::move(e));
  }
  for (auto& s : steps) f.participants.push_back(std::move(s.party));
  return f;
}

}  // namespace lockhound
