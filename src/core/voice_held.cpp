// The words for what one context does wrong with the locks it holds: taking one again, releasing
// one it does not hold, ending or returning while holding, destroying a held lock, a nest lock
// not held.
#include "core/voice_internal.h"

namespace lockhound::voice {
namespace {

std::string first_lock(const Finding& f) { return f.classes.empty() ? "the lock" : f.classes.front(); }

const Acquisition* acq(const Finding& f, size_t i) {
  return i < f.acquisitions.size() ? &f.acquisitions[i] : nullptr;
}

// The held locks a finding is about: the reporting context's list, else its acquisitions'.
std::vector<HeldLock> held_of(const Finding& f) {
  if (!f.participants.empty() && !f.participants.front().held.empty()) return f.participants.front().held;
  for (const auto& a : f.acquisitions)
    if (!a.held.empty()) return a.held;
  return {};
}

}  // namespace

void word_recursion(Finding& f) {
  std::string lock = first_lock(f);
  // The first and the second acquisition: as two acquisitions (the engine), or as one edge
  // from the lock to itself (a kernel report).
  const Acquisition* a0 = acq(f, 0);
  const Acquisition* a1 = acq(f, 1);
  if (!a1 && !f.chain.empty() && f.chain.front().from == f.chain.front().to) {
    a0 = &f.chain.front().from_site;
    a1 = &f.chain.front().to_site;
  }
  const Acquisition* now_a = a1 ? a1 : a0;
  std::string where = now_a ? site_of(*now_a, "the second acquisition") : "the second acquisition";
  std::string first = a1 && a0 ? site_of(*a0, "an outer call") : "an outer call";
  std::string subject = now_a ? who(*now_a) : "one path";
  std::string instance = fact::get(f, fact::kInstance);
  bool same = starts_with(instance, "same");
  bool another = starts_with(instance, "another");
  bool read_twice = contains(instance, "read twice");
  f.summary = lock + " --> " + lock;
  const std::string named = prose_name({lock}, lock);  // in the explanation and the fix
  if (same && read_twice) {
    f.scenario.columns = {"CPU0", "CPU1"};
    f.scenario.rows = {{scenario_step("read", lock), ""}, {"", scenario_step("write", lock)}, {scenario_step("read", lock), ""}};
  } else {
    f.scenario.columns = {"CPU0"};
    f.scenario.rows = {{scenario_step(a0 ? a0->mode : "", lock)}, {scenario_step(now_a ? now_a->mode : "", lock)}};
  }
  if (tried_while_held(f)) {
    // Not a hang: the trylock fails every time while the thread holds the lock (EBUSY), so what
    // the code does when it gets the lock never happens on this path.
    f.scenario.rows = {{scenario_step(a0 ? a0->mode : "", lock)}, {"trylock(" + lock + "); /* fails: held */"}};
    f.explanation = subject + " tries to lock " + named + " at " + where + " while already holding it (taken at " +
                    first + "): the trylock fails every time, for as long as the thread holds the lock, so the "
                    "code that needs the lock there never runs. No hang, but rarely what was meant.";
    f.fix = "Do not try " + named + " again at " + where +
            " while holding it: pass down that the caller holds it (or call a variant that expects it held), "
            "or use a recursive mutex if re-entry is intended.";
    return;
  }
  if (f.type == FindingType::spinlock_recursion) {
    f.explanation = subject + " tries to take spinlock " + named + " at " + where +
                    " while it (or its CPU) already holds it: a certain self-deadlock.";
    f.fix = "Do not take " + named + " again at " + where +
            "; if an interrupt handler takes it, take it with spin_lock_irqsave() in process context.";
    return;
  }
  std::string prim = now_a ? lock_primitive(*now_a) : "";
  std::string annotate = prim.empty() ? "with a subclass (lockdep's _nested(), lockhound_acquire subclass 1)"
                                      : "with " + prim + "_nested(&lock, SINGLE_DEPTH_NESTING) or give the instances "
                                        "separate classes (lockdep_set_class())";
  if (same && read_twice) {
    f.explanation = subject + " read-locks " + named + " at " + where + " while already holding it for reading (taken at " +
                    first + "): the lock makes new readers wait behind a waiting writer, so a writer arriving between "
                    "the two leaves both waiting forever.";
    f.fix = "Do not read-lock " + named + " again at " + where +
            ": take it once, further out, and pass down that it is held; for a pthread rwlock whose readers must "
            "recurse, keep glibc's default reader-preferring kind.";
  } else if (same) {
    f.explanation = subject + " takes " + named + " at " + where + " while already holding the same lock (taken at " +
                    first + "): it waits for itself forever.";
    f.fix = "Do not take " + named + " again at " + where +
            ": release it first, call a variant that expects it held, or use a recursive lock if re-entry is intended.";
  } else if (another) {
    f.explanation = "Two locks of class " + named + " are nested (at " + first + " then " + where +
                    ") with no order between them; two " + party_noun(f, 2) +
                    " nesting them the other way round deadlock.";
    f.fix = "If the nesting has a fixed order (parent before child), annotate the inner acquisition at " + where + " " +
            annotate + "; otherwise never hold two of them at once.";
  } else {
    f.explanation = subject + " takes " + named + " at " + where + " while already holding a lock of the same class "
                    "(taken at " + first + "): a self-deadlock if it is the same instance, a missing nesting "
                    "annotation if it is another one.";
    f.fix = "If it is the same lock, do not take it again at " + where +
            "; if it is another instance taken in a fixed order, annotate the inner acquisition " + annotate + ".";
  }
}

void word_held(Finding& f) {
  using FT = FindingType;
  std::string lock = first_lock(f);
  const Acquisition* a0 = acq(f, 0);
  const Acquisition* a1 = acq(f, 1);
  std::vector<HeldLock> held = held_of(f);
  switch (f.type) {
    case FT::bad_unlock_balance: {
      std::string site = a0 ? site_of(*a0, "this site") : "this site";
      std::string subject = a0 ? who(*a0, "a context") : "a context";
      std::string holder = fact::get(f, fact::kHeldBy);
      f.summary = subject + " releases " + lock + ", which it does not hold";
      if (!holder.empty()) {
        f.explanation = "At " + site + " " + lock + " is released by a context that does not hold it: " + holder +
                        " locked it. A lock handed from one thread to another this way is undefined behaviour for "
                        "pthread mutexes and spinlocks.";
        f.fix = "Let the thread that locks " + lock + " unlock it; to hand work over between threads, signal with a "
                "condition variable or a semaphore instead of the lock.";
        return;
      }
      f.explanation = subject + " releases " + lock + " at " + site +
                      " but holds no such lock: a double unlock, an unlock on a path that never locked, or a lock "
                      "and unlock of different instances.";
      f.fix = "Make the unlock of " + lock + " at " + site +
              " match a lock on the same path: check the error and retry paths that reach it without having taken "
              "the lock, and that lock and unlock use the same object.";
      return;
    }
    case FT::still_has_locks_held:
    case FT::lock_held_returning_to_user: {
      std::vector<std::string> names = f.classes;
      std::string list = join_some(names, ", ");
      std::string taken = a0 ? site_of(*a0, "its acquisition") : "its acquisition";
      std::string subject = !f.participants.empty() ? participant_label(f, f.participants.front())
                            : a0 ? who(*a0, "a context") : "a context";
      if (fact::has(f, fact::kOwner)) {
        // A lock whose owner is gone, seen from its waiters.
        std::vector<std::string> waiters;
        for (const auto& p : f.participants) waiters.push_back(participant_label(f, p));
        f.summary = join_some(waiters, ", ") + " wait for " + lock + ", whose owner " + fact::get(f, fact::kOwner) +
                    " no longer exists";
        f.explanation = "A thread ended without unlocking " + lock + ", so it stays locked forever and every thread "
                        "that waits for it hangs.";
        f.fix = "Unlock on every path out of the thread (RAII: std::lock_guard), or make the mutex robust "
                "(PTHREAD_MUTEX_ROBUST) and handle EOWNERDEAD.";
        return;
      }
      if (f.type == FT::lock_held_returning_to_user) {
        f.summary = subject + " returns to user space holding " + list;
        f.explanation = "A system call of " + subject + " returned to user space with " + list +
                        " still held (taken at " + taken + "); the next task that needs it blocks forever.";
        f.fix = "Release " + list + " on every return path of the system call that takes it at " + taken +
                " (look for an early return or an error path that skips the unlock).";
        return;
      }
      std::string end = !f.participants.empty() ? site_of(f.participants.front().stack, "") : "";
      f.summary = subject + " ended holding " + std::to_string(names.size()) + (names.size() == 1 ? " lock" : " locks") +
                  (names.empty() ? "" : ": " + list);
      f.explanation = subject + " ended" + (end.empty() ? "" : " (at " + end + ")") + " still holding " + list +
                      " (taken at " + taken + "); it is never released, so the next " + party_noun(f, 1) +
                      " that needs it blocks forever.";
      f.fix = "Release " + list + " on every path out of the function that took it at " + taken +
              " (check early returns and error paths; in C++ hold it in a std::lock_guard).";
      return;
    }
    case FT::held_lock_freed: {
      std::string where = a1 ? site_of(*a1, "the free") : "the free";
      std::string taken = a0 ? site_of(*a0, "earlier") : "earlier";
      std::string holder = !f.participants.empty() ? participant_label(f, f.participants.front()) : "its holder";
      bool unloaded = a1 && a1->mode == "unload";
      f.summary = lock + (unloaded ? " unloaded with its library (dlclose) while " : " destroyed while ") + holder +
                  " holds it";
      if (unloaded) {
        f.explanation = lock + " is unloaded with its library (dlclose) at " + where + " while still held (taken at " +
                        taken + ").";
        f.fix = "Release " + lock + " before unloading its library at " + where +
                ", and make sure no thread can still hold it or run the library's code.";
        return;
      }
      f.explanation = lock + " is destroyed or freed at " + where + " while still held (taken at " + taken +
                      "): the unlock that follows touches a dead lock.";
      f.fix = "Release " + lock + " before destroying or freeing it at " + where +
              ", and make sure no other thread can still hold it (reference counting).";
      return;
    }
    case FT::missing_unlock: {
      std::string fn = fact::get(f, fact::kFunction);
      if (fn.empty()) fn = "the function";
      std::string taken = a0 ? site_of(*a0, "its acquisition") : "its acquisition";
      std::string ret = a1 ? site_of(*a1, "a return") : "a return";
      f.summary = fn + " returns holding " + lock + " at " + ret;
      f.explanation = fn + " takes " + lock + " at " + taken + " and returns at " + ret +
                      " still holding it, while its other paths release it: the next caller that takes " + lock +
                      " waits forever.";
      f.fix = "Release " + lock + " before the return at " + ret +
              " (or leave through the function's unlock label), as the other paths do.";
      return;
    }
    case FT::workqueue_leaked_lock: {
      std::string fn = fact::get(f, fact::kFunction);
      if (fn.empty()) fn = "the work function";
      std::string pc = fact::get(f, fact::kPreemptCount);
      f.summary = "work function " + fn + " returned with " +
                  (held.empty() ? "preemption disabled (preempt count " + pc + ")" : held_names(held) + " held");
      f.explanation = "The work function " + fn + " returned to the workqueue with " +
                      (held.empty() ? "preemption still disabled" : held_names(held) + " still held") + ".";
      f.fix = "Release every lock (and re-enable preemption) on every return path of " + fn + ".";
      return;
    }
    case FT::nested_lock_not_taken: {
      std::string nest = f.classes.size() > 1 ? f.classes[1] : "its nest lock (its name was not printed)";
      std::string site = a0 ? site_of(*a0, "this site") : "this site";
      std::string subject = a0 ? who(*a0, "a context") : "a context";
      f.summary = lock + " taken under nest lock " + nest + ", which is not held";
      f.explanation = subject + " takes " + lock + " at " + site + " with a nest_lock annotation naming " + nest +
                      ", but does not hold " + nest + ".";
      f.fix = "Hold " + nest + " when taking " + lock + " at " + site +
              ", or pass the lock that is really held as the nest lock (…_nest_lock()).";
      return;
    }
    default:
      return;
  }
}

}  // namespace lockhound::voice
