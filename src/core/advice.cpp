#include "core/advice.h"

#include <cinttypes>
#include <cstdio>
#include <string_view>

namespace lockhound {
namespace {

bool is_plumbing(const Frame& fr) {
  // Frames of the lock implementation itself or of lockhound say nothing about the caller.
  static constexpr std::string_view prefixes[] = {
      "lockhound", "pthread_", "__pthread", "___pthread", "__lll_", "std::mutex", "std::lock",
      "std::unique_lock", "std::shared", "std::scoped_lock", "std::__", "mtx_", "_raw_spin", "__raw_",
      "lock_acquire", "__mutex_lock", "mutex_lock", "spin_lock", "_raw_", "do_raw_", "down_",
  };
  for (auto p : prefixes)
    if (fr.function.compare(0, p.size(), p) == 0) return true;
  if (fr.object.find("liblockhound") != std::string::npos) return true;
  if (fr.object.find("libc.so") != std::string::npos) return true;
  return false;
}

std::string acq_site(const Stack& stack) {
  std::string s = describe_site(stack);
  if (s.empty()) s = "an unknown site";
  return s;
}
std::string acq_site(const Acquisition& a) { return acq_site(a.stack); }

std::string ctx_of(const Acquisition& a) {
  std::string s = a.context.empty() ? "a context" : a.context;
  if (!a.irq.empty()) s += " (in " + a.irq + " context)";
  return s;
}

std::string detail(const Finding& f, std::string_view key) {
  for (const auto& [k, v] : f.details)
    if (k == key) return v;
  return "";
}

std::string irq_disable_verb(const std::string& irq) {
  if (irq == "softirq") return "spin_lock_bh() (or block softirqs with local_bh_disable())";
  if (irq == "signal") return "a signal mask (pthread_sigmask SIG_BLOCK) around it";
  return "spin_lock_irqsave()/spin_unlock_irqrestore()";
}

void cycle_advice(Finding& f) {
  if (f.chain.empty()) {
    f.explanation = "The locks " + f.summary + " are taken in orders that form a cycle.";
    f.fix = "Take these locks in one global order everywhere.";
    return;
  }
  const Edge& last = f.chain.back();
  std::string order;
  for (size_t i = 0; i < f.chain.size(); ++i)
    order += (i ? ", " : "") + f.chain[i].from + " before " + f.chain[i].to + " (" +
             acq_site(f.chain[i].to_site) + ")";
  if (f.type == FindingType::guarded_cycle) {
    f.explanation = "The orders " + order + " form a cycle, but every edge was taken while holding " +
                    detail(f, "guarded by") +
                    ", so the threads involved cannot interleave: not a deadlock today.";
    f.fix = "Nothing is required now; the cycle becomes a deadlock as soon as one of these paths "
            "runs without " + detail(f, "guarded by") +
            ". To be robust, take " + last.to + " before " + last.from + " at " +
            acq_site(last.to_site) + " as well.";
    return;
  }
  if (!detail(f, "instances").empty() && f.chain.size() == 2) {
    // Two locks of one class (made at one place) in both orders: the fix is an order between
    // objects of one kind, not between two kinds of lock.
    const Edge& first = f.chain[0];
    f.explanation = "Two locks of one kind are each taken while the other is held: " +
                    ctx_of(first.to_site) + " takes " + first.to + " while holding " + first.from +
                    " (at " + acq_site(first.to_site) + "), " + ctx_of(last.to_site) + " takes " +
                    last.to + " while holding " + last.from + " (at " + acq_site(last.to_site) +
                    "). When both run at the same time, each holds one lock and waits forever for "
                    "the other.";
    f.fix = "Where two locks of this kind are held at once (" + acq_site(first.to_site) +
            (acq_site(first.to_site) == acq_site(last.to_site) ? "" : ", " + acq_site(last.to_site)) +
            "), take them in one fixed order, for instance by address or by an id the objects "
            "carry, or take both with one call that avoids the deadlock (std::scoped_lock, "
            "std::lock).";
    return;
  }
  f.explanation = "Lock order cycle: " + order + ". When these paths run at the same time, each "
                  "holds one lock and waits forever for the next.";
  f.fix = "Pick one order for " + f.summary.substr(0, f.summary.rfind(" --> ")) +
          " and use it everywhere: at " + acq_site(last.to_site) + " " + ctx_of(last.to_site) +
          " takes " + last.to + " while holding " + last.from + " (taken at " +
          acq_site(last.from_site) + "); take " + last.to + " first, or release " + last.from +
          " before taking it.";
}

}  // namespace

std::string describe_frame(const Frame& fr) {
  std::string s;
  if (!fr.function.empty()) {
    s = fr.function + fr.offset;
  }
  if (!fr.file.empty()) {
    std::string loc = fr.file;
    auto slash = loc.rfind('/');
    if (slash != std::string::npos && loc.size() > 40) loc = loc.substr(slash + 1);
    if (fr.line) loc += ":" + std::to_string(fr.line);
    s = s.empty() ? loc : s + " (" + loc + ")";
  }
  if (s.empty() && fr.pc) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, fr.pc);
    s = buf;
    if (!fr.object.empty()) s += " in " + fr.object;
  }
  return s;
}

std::string describe_site(const Stack& stack) {
  for (const auto& fr : stack)
    if (!is_plumbing(fr) && (!fr.function.empty() || !fr.file.empty())) return describe_frame(fr);
  for (const auto& fr : stack) {
    std::string s = describe_frame(fr);
    if (!s.empty()) return s;
  }
  return "";
}

void write_advice(Finding& f) {
  const Acquisition* a0 = f.acquisitions.empty() ? nullptr : &f.acquisitions[0];
  const Acquisition* a1 = f.acquisitions.size() > 1 ? &f.acquisitions[1] : nullptr;
  std::string lock = f.classes.empty() ? "the lock" : f.classes[0];
  switch (f.type) {
    case FindingType::circular_dependency:
    case FindingType::guarded_cycle:
      cycle_advice(f);
      return;
    case FindingType::recursive_locking: {
      bool same = detail(f, "instance").rfind("same", 0) == 0;
      std::string where = a1 ? acq_site(a1->stack) : "the second acquisition";
      std::string first = a0 ? acq_site(a0->stack) : "earlier";
      if (same && detail(f, "instance").find("read twice") != std::string::npos) {
        f.explanation = ctx_of(a1 ? *a1 : Acquisition{}) + " read-locks " + lock + " at " + where +
                        " while already holding it for reading (taken at " + first +
                        "): the lock makes new readers wait behind a waiting writer, so a writer "
                        "arriving between the two leaves both waiting forever.";
        f.fix = "Do not read-lock " + lock + " again at " + where +
                ": take it once, further out, and pass down that it is held; for a pthread rwlock "
                "whose readers must recurse, keep glibc's default reader-preferring kind.";
      } else if (same) {
        f.explanation = ctx_of(a1 ? *a1 : Acquisition{}) + " takes " + lock + " at " + where +
                        " while already holding the same lock (taken at " + first +
                        "): it waits for itself forever.";
        f.fix = "Do not take " + lock + " again at " + where +
                ": release it first, call a variant that expects it held, or use a recursive lock "
                "if re-entry is intended.";
      } else {
        f.explanation = "Two locks of class " + lock + " are nested (at " + first + " then " + where +
                        ") with no order between them; two threads nesting them the other way "
                        "round deadlock.";
        f.fix = "If the nesting has a fixed order (parent before child), annotate the inner "
                "acquisition at " + where +
                " with a subclass (lockdep's _nested(), lockhound_acquire subclass 1); otherwise "
                "never hold two of them at once.";
      }
      return;
    }
    case FindingType::inconsistent_lock_state: {
      std::string irq = detail(f, "interrupt");
      const Acquisition* irq_site = nullptr;
      const Acquisition* task_site = nullptr;
      for (const auto& a : f.acquisitions) {
        if (!a.irq.empty() && !irq_site) irq_site = &a;
        if (a.irq.empty() && !task_site) task_site = &a;
      }
      std::string isite = irq_site ? acq_site(irq_site->stack) : "an interrupt handler";
      std::string tsite = task_site ? acq_site(task_site->stack) : "process context";
      f.explanation = lock + " is taken in " + irq + " context (" + isite + ") and also at " + tsite +
                      " with " + irq + "s enabled: if the " + irq + " arrives while " + tsite +
                      " holds it, the handler " +
                      (irq == "signal" ? "waits forever for a lock its own thread holds."
                                       : "spins on a lock its own CPU holds.");
      f.fix = "At " + tsite + " take " + lock + " with " + irq_disable_verb(irq) +
              ", so the " + irq + " cannot interrupt the critical section" +
              (irq == "signal" ? "; or do not take locks in the signal handler at all." : ".");
      return;
    }
    case FindingType::irq_lock_inversion:
    case FindingType::irq_safe_unsafe_order: {
      std::string irq = detail(f, "interrupt");
      std::string safe = detail(f, "irq-safe lock"), unsafe = detail(f, "irq-unsafe lock");
      const Acquisition* unsafe_site = nullptr;
      for (const auto& a : f.acquisitions)
        if (a.lock == unsafe) unsafe_site = &a;
      std::string usite = unsafe_site ? acq_site(unsafe_site->stack) : "the irq-enabled site";
      f.explanation = safe + " is taken in " + irq + " context, and " + f.summary +
                      " makes code holding " + safe + " wait for " + unsafe + ", which is taken at " +
                      usite + " with " + irq + "s enabled: an interrupt there that takes " + safe +
                      " deadlocks against the holder.";
      f.fix = "Take " + unsafe + " with " + irq_disable_verb(irq) + " at " + usite +
              " (and wherever it is taken with " + irq + "s enabled), or stop taking " + unsafe +
              " while holding " + safe + ".";
      return;
    }
    case FindingType::invalid_wait_context:
    case FindingType::sleeping_in_invalid_context: {
      std::string what = detail(f, "operation");
      std::string reason = detail(f, "reason");
      std::string site = a0 ? acq_site(a0->stack) : "this site";
      f.explanation = what + " may sleep, but at " + site + " it runs " + reason +
                      ", where sleeping is not allowed (a spinning holder or an interrupt cannot be "
                      "scheduled away).";
      if (a1)
        f.fix = "Move " + what + " out of the critical section of " + a1->lock + " (taken at " +
                acq_site(a1->stack) + "), or make " + a1->lock +
                " a mutex if the section must sleep (the seeds' \"use mutexes for long sections\").";
      else
        f.fix = "Move " + what + " at " + site + " out of " + (reason.empty() ? "atomic context" : reason.substr(0, reason.find(' ') == std::string::npos ? reason.size() : reason.size())) +
                " (defer it to process context, e.g. a work item).";
      return;
    }
    case FindingType::bad_unlock_balance: {
      std::string site = a0 ? acq_site(a0->stack) : "this site";
      std::string holder = detail(f, "held by");
      if (!holder.empty()) {
        f.explanation = "At " + site + " " + lock + " is released by a context that does not hold it: " +
                        holder + " locked it. A lock handed from one thread to another this way is "
                        "undefined behaviour for pthread mutexes and spinlocks.";
        f.fix = "Let the thread that locks " + lock + " unlock it; to hand work over between "
                "threads, signal with a condition variable or a semaphore instead of the lock.";
        return;
      }
      f.explanation = "At " + site + " " + lock + " is released by a context that does not hold it.";
      f.fix = "Match every unlock of " + lock + " at " + site +
              " with a lock on the same path (look for a double unlock or an unlock on an error path "
              "that never locked).";
      return;
    }
    case FindingType::still_has_locks_held:
    case FindingType::lock_held_returning_to_user:
    case FindingType::missing_unlock: {
      std::string where = a0 ? acq_site(a0->stack) : "its acquisition";
      f.explanation = f.summary + "; " + lock + " (taken at " + where +
                      ") is never released, so the next taker blocks forever.";
      f.fix = "Release " + lock + " on every path that leaves the function which took it at " + where +
              " (check early returns and error paths).";
      return;
    }
    case FindingType::held_lock_freed: {
      std::string where = a1 ? acq_site(a1->stack) : "the free";
      if (a1 && a1->mode == "unload") {
        f.explanation = lock + " is unloaded with its library (dlclose) at " + where +
                        " while still held (taken at " + (a0 ? acq_site(a0->stack) : "earlier") + ").";
        f.fix = "Release " + lock + " before unloading its library at " + where +
                ", and make sure no thread can still hold it or run the library's code.";
        return;
      }
      f.explanation = lock + " is destroyed or freed at " + where + " while still held (taken at " +
                      (a0 ? acq_site(a0->stack) : "earlier") + ").";
      f.fix = "Release " + lock + " before destroying it at " + where +
              ", and make sure no other thread can still hold it (reference counting).";
      return;
    }
    case FindingType::nested_lock_not_taken:
      f.explanation = f.summary + ".";
      f.fix = "Take the nest lock before nesting " + lock + ", or drop the nest_lock annotation.";
      return;
    case FindingType::actual_deadlock:
      f.explanation = "The threads " + f.summary +
                      " are blocked on each other right now: each holds a lock the next one waits for.";
      f.fix = "Make these threads take the locks in one order (see each thread's stack for the site "
              "of the out-of-order acquisition).";
      return;
    default:
      if (f.explanation.empty()) f.explanation = std::string(type_title(f.type)) + ".";
      if (f.fix.empty()) f.fix = "See the stacks above for the site involved.";
      return;
  }
}

}  // namespace lockhound
