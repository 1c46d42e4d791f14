// Validator: lockhound's lock-dependency engine (lockdep's model, made more precise).
//
// Feed it lock events from any source (a scenario file, a kernel trace, the runtime under
// LD_PRELOAD, the annotation API); read back every distinct locking problem as a Finding.
//
// What it detects, with lockdep's semantics (see DESIGN.md "Checks"):
//   - circular lock dependencies of any length, with lockdep's recursive-read rules (only
//     "strong" cycles are deadlocks) — and, beyond lockdep, cycles every edge of which was taken
//     under one common exclusively held lock are reported as guarded_cycle, not as deadlocks;
//   - recursive locking (same class; same instance is a certain self-deadlock); for classes a
//     front end inferred, two locks of the class nested in both orders (set_class_inferred);
//   - inconsistent irq usage of one class, and irq-safe -> irq-unsafe orders, found whether the
//     edge or the usage comes last (irq lock inversion), for hardirq, softirq and signal context;
//   - invalid wait context (sleeping lock under a spinning lock or in irq context) and sleeping
//     calls in atomic context;
//   - bad unlock balance, locks held at context exit or when returning to user space, held locks
//     destroyed, nest locks not held.
//
// What it refuses: nothing is silently capped. There is no limit on classes, edges, chains,
// held-lock depth or cycle length other than memory. Problems are never reported only once per
// run: each distinct problem (by signature) becomes one Finding whose count grows with repeats.
//
// Costs: an acquisition whose held-lock chain was seen before costs a hash of the chain key,
// a lookup in the chain cache and a usage-bit test; graph work happens only on new chains. New
// edges are checked against a dynamic topological order (Pearce–Kelly), so an edge that agrees
// with the order costs O(1); only edges against the order search the graph.
//
// Thread safety: none. A Validator is a plain object with no global state; callers that feed it
// from several threads serialise the calls. Context handles stay valid until end_context().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/types.h"

namespace lockhound {

struct ContextState;  // opaque; one per thread / task
using Context = ContextState*;

// Where an event happened. ip is cheap (a return address, an input line number); stack is an
// interned stack id when the caller already has one. When the engine needs evidence and stack is
// kNoStack it asks Hooks::capture_stack, or falls back to a one-frame stack made from ip.
struct Site {
  uint64_t ip = 0;
  StackId stack = kNoStack;
};

// 16 bytes, so that a call passes it by value in two registers (at 24 it went through the
// stack, built by narrow stores and read back wide: a stalled load on every acquisition).
struct AcquireFlags {
  Mode mode = Mode::write;
  bool trylock = false;
  uint8_t subclass = 0;      // lockdep's _nested() annotation: each subclass is its own class
  bool check = true;         // false: track held state only, no dependency validation
  // From a front end that keeps its own cache of the chains the engine validated without a
  // finding (the runtime's fast table): front_cached, this chain is in it, so there is nothing
  // to check; front_caches, it will be once its validation here reports nothing. The engine's
  // chain cache then keeps only the chains that reported (so that their repeats are not
  // reported again): it stays small, and a new chain costs one random cache miss, not two.
  bool front_cached = false;
  bool front_caches = false;
  uint64_t nest_lock = 0;    // instance of the outer lock that serialises same-class nesting
};
static_assert(sizeof(AcquireFlags) == 16);

struct ValidatorOptions {
  // A release of a lock the context does not hold is a bad_unlock_balance finding. Traces that
  // start mid-flight turn this off: the acquisition may predate the trace.
  bool report_unknown_release = true;
  // Cycles guarded by a common lock are reported as guarded_cycle findings (renderers may hide
  // them); false drops them entirely.
  bool report_guarded_cycles = true;
  // Gate-lock analysis (see above). Off: every cycle is a circular_dependency, as in lockdep.
  bool gate_locks = true;
  // A blocking call (sleep, usleep, nanosleep) while the context holds a user-space sleeping lock
  // (pthread mutex or rwlock) is a blocking_call_under_lock hazard: every thread that needs the
  // lock waits as long. Off by default (kernel code sleeps under mutexes by design).
  bool report_blocking_under_lock = false;
  // Held-lock lists show instance addresses (meaningless for scenario files, whose locks have
  // made-up ids).
  bool show_addresses = true;
  // Source tag copied into each finding ("check", "trace", "run", …).
  std::string source = "check";
  // The graph searches mark the classes they reach with their generation, and after this many
  // searches every mark is cleared and the generations start again (at most 2^23, the mark's
  // room; at least 2). Tests lower it to run through many wraps.
  uint32_t search_generations = 1u << 23;
};

struct ValidatorHooks {
  // Called only on slow paths (new chain, new usage, a finding) to capture the current stack, for
  // the acquisition of `lock` at `ip` (lock 0: a site that is no acquisition, or not known). A front
  // end that tells the engine of acquisitions late (its fast path) may be asked about an older
  // acquisition than the call it is making: `lock` tells which.
  std::function<StackId(Context ctx, uint64_t lock, uint64_t ip)> capture_stack;
  // Called once for each new finding (not for repeats), e.g. to print it at once.
  std::function<void(const Finding&)> on_finding;
  // Called when a lock still held becomes the first lock of new evidence (an edge, a pair) and its
  // acquisition left only its return address `ip` (a front end's fast path took it): the stack
  // of that acquisition as far as the current stack still shows it, or kNoStack (then the
  // evidence is the one frame at ip). `lock` is the held lock, which tells the front end which of
  // its own records of held locks is asked about. Asked at most once per held entry. Optional.
  std::function<StackId(Context ctx, uint64_t lock, uint64_t ip)> held_stack;
  // Called when the name of a class made with an empty name is first needed (a finding, the
  // class table): the front end names it, and may name others, with set_class_name. Optional.
  std::function<void(ClassId cls)> name_classes;
};

struct ValidatorStats {
  uint64_t classes = 0, instances = 0, contexts = 0, edges = 0, chains = 0;
  uint64_t acquisitions = 0, releases = 0, findings = 0;
  uint64_t unnamed_classes = 0;  // classes made without a name whose name nothing needed yet
  uint64_t graph_searches = 0;   // searches run (edges against the topological order)
  uint64_t renumbers = 0;        // times the topological order ran out of room and was respaced
  uint64_t respaced_classes = 0; // classes those respacings gave new ranks (the side placed included)
  uint64_t memory_bytes = 0;     // approximate heap held by the graph, chains and stacks
  // Two parts of memory_bytes: what the classes take (records, names, the instance table) and
  // what the edges take (records, index, adjacency, the order's copy, held sets): divided by
  // `classes` and `edges`, the engine's cost per class and per edge.
  uint64_t class_bytes = 0, edge_bytes = 0;
};

class Validator {
 public:
  explicit Validator(ValidatorOptions options = {}, ValidatorHooks hooks = {});
  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // --- classes and instances -------------------------------------------------------------
  // Finds or creates the class with this name. A later call with the same name returns the same
  // class; kind and wait type are set by the first call. WaitType::none means the kind's default.
  ClassId lock_class(std::string_view name, LockKind kind, WaitType wait = WaitType::none);
  // Creates a class that no later lock_class call finds: for names that are unique by
  // construction (a lock named by its address and lifetime), which then skip the name table.
  // An empty name is given later, when it is first needed (ValidatorHooks::name_classes).
  ClassId unique_class(std::string name, LockKind kind, WaitType wait = WaitType::none);
  // Names a class made with unique_class(""); the name must be unique (no lock_class finds it).
  void set_class_name(ClassId cls, std::string name);
  // Changes a class's kind (and wait type; WaitType::none = the kind's default) once the input
  // proves it, e.g. a trace that shows a lock sleeping only after its first acquisitions. Checks
  // use the new wait type from the next acquisition on.
  void set_class_kind(ClassId cls, LockKind kind, WaitType wait = WaitType::none);
  // Marks a class as a front end's guess (the runtime's: locks made at one place) rather than a
  // declared class. Two of its locks nested are then not recursive locking: each pair of locks
  // is remembered in the order it was nested, and a pair nested in both orders is reported as a
  // circular dependency between the two locks. Chains holding such a pair are validated per
  // pair of locks (HeldInfo::per_instance).
  void set_class_inferred(ClassId cls);
  std::string_view class_name(ClassId cls) const;
  LockKind class_kind(ClassId cls) const;

  // Starts a new lifetime of the lock instance `lock` in class `cls`. An address that is
  // initialised again (after destroy, or reused memory) is a new instance: nothing of the old
  // lifetime carries over except the class graph, which belongs to classes.
  void lock_init(uint64_t lock, ClassId cls);
  // Ends a lifetime. If some context still holds it: held_lock_freed. ctx may be null.
  // unloaded: the lock's memory went with its library (dlclose), and the report says so.
  void lock_destroy(Context ctx, uint64_t lock, Site site, bool unloaded = false);
  bool lock_known(uint64_t lock) const;

  // --- contexts ---------------------------------------------------------------------------
  // Finds or creates the context `id`, named `name` in reports (e.g. "T1", "insmod/42").
  Context context(uint64_t id, std::string_view name);
  // Renames a context: every report, including those about what it did before, uses the new name.
  void rename_context(Context ctx, std::string_view name);
  // The context ends (thread exit). Locks still held: still_has_locks_held. The handle dies.
  void end_context(Context ctx, Site site);
  // Kernel task returning to user space with locks held: lock_held_returning_to_user.
  void return_to_user(Context ctx, Site site);
  std::string_view context_name(Context ctx) const;
  // Some context holds this lock instance.
  bool lock_held(uint64_t lock) const;

  // Interrupt state. enter/exit nest; enable/disable set the flag (they do not count).
  void irq_enter(Context ctx, Irq irq);
  void irq_exit(Context ctx, Irq irq);
  void irq_enable(Context ctx, Irq irq);
  void irq_disable(Context ctx, Irq irq);
  bool in_irq(Context ctx, Irq irq) const;
  bool irq_enabled(Context ctx, Irq irq) const;
  // Sets the whole state at once (trace input knows it per event, not as transitions).
  void set_irq_state(Context ctx, bool in_hardirq, bool in_softirq, bool hardirqs_enabled,
                     bool softirqs_enabled);

  // --- lock events ------------------------------------------------------------------------
  // An acquisition. A lock never passed to lock_init gets a class of its own named lock@<addr>.
  void acquire(Context ctx, uint64_t lock, AcquireFlags flags, Site site);
  // acquire() for a lock that has an instance (lock_init, or an earlier acquisition); false and
  // nothing done otherwise. One table lookup where lock_known() then acquire() make two.
  bool acquire_if_known(Context ctx, uint64_t lock, AcquireFlags flags, Site site);
  void release(Context ctx, uint64_t lock, Site site);
  // An explicit "this may sleep" (msleep, a blocking call, a condition wait).
  void might_sleep(Context ctx, Site site, std::string_view what = "might_sleep");

  // --- stacks -----------------------------------------------------------------------------
  StackId intern_stack(std::span<const Frame> frames);
  std::span<const Frame> stack(StackId id) const;
  // The stack of the class's first use (its first acquisition, as the engine kept it for the
  // usage rules), or kNoStack: where a lock first seen at lock time was first locked.
  StackId first_use_stack(ClassId cls) const;
  size_t stack_count() const;
  // Rewrites stored evidence in place: a front end that must resolve frames before their code
  // goes away (the runtime, at dlclose). The stack keeps its id; interning the same pcs again
  // without names makes a new stack.
  void replace_stack(StackId id, std::vector<Frame> frames);
  void for_each_finding(const std::function<void(Finding&)>& fn);

  // A finding a front end established from its own facts (a function returning with a lock
  // held, from the static scan): completed by the finding layer (core/voice.h), deduplicated
  // with the engine's own findings by signature (a repeat bumps the count), and passed to
  // ValidatorHooks::on_finding like them.
  void report(Finding facts);

  // A trylock by `ctx` of `lock` failed because `ctx` itself holds it (a default mutex tried again
  // by its owner fails for as long as the owner holds it): a note-level recursive_locking finding
  // with the stack of the trylock (`site`) and of the acquisition that holds the lock. Nothing
  // when the engine does not see `lock` held by `ctx`. Changes no held state.
  void trylock_held(Context ctx, uint64_t lock, Mode mode, const Site& site);

  // --- a front end's own fast path --------------------------------------------------------
  // A front end may keep its own copy of a context's held stack and skip the engine on
  // acquisitions it can prove the engine would only push (the runtime does, for locks on a
  // validated chain). The contract: every acquisition the front end skipped must be one the engine
  // would have accepted without a finding and without new state (a chain the engine has seen, in
  // the same interrupt state, with the class already carrying the usage bits it would set); before
  // the engine sees anything else of that context, the front end brings the engine's held stack up
  // to date with held_at / drop_held / acquire (dropping what it released, replaying what it
  // took). The numbers below are what the front end needs to make that proof; their layout is
  // core/usage_bits.h.
  size_t held_count(Context ctx) const;
  // The context's held entry i (0 = outermost) as the engine has it.
  struct HeldInfo {
    uint64_t lock;
    Mode mode;
    bool trylock;
    // The entry's chain holds two locks of one inferred class: it is validated for these very
    // locks, so a front end must not skip later acquisitions of the same classes on its own.
    bool per_instance;
    uint64_t ip;  // the acquisition's site (Site::ip)
  };
  HeldInfo held_at(Context ctx, size_t i) const;
  // Drops held entry i without any check (the front end saw it released); the chain keys above
  // it are rebuilt as for an out-of-order release.
  void drop_held(Context ctx, size_t i);
  // Drops the held entries at `indices` (ascending) at once: one pass, the chain keys above the
  // lowest rebuilt once. What a front end uses after many releases it saw on its own (a program
  // that held a thousand locks and let them all go costs one pass, not a thousand).
  void drop_held_many(Context ctx, std::span<const size_t> indices);
  // Advances whenever the context's held entries below the top change without a push (a release,
  // a drop, a held lock destroyed): a front end that keeps a copy of the stack trusts the part it
  // synced last only while this is unchanged.
  uint64_t held_generation(Context ctx) const;
  // The context's interrupt state (usage::irq_state): two contexts with the same number validate
  // an acquisition the same way. usage::kProcessState is a new context's.
  uint32_t irq_state(Context ctx) const;
  // The usage bits an acquisition in `mode` sets in the context's current interrupt state.
  uint32_t usage_wanted(Context ctx, Mode mode) const;
  // Changes each time the context's interrupt state changes: irq_state, usage_wanted and
  // may_sleep_holding_nothing answer the same while it is unchanged.
  uint64_t irq_generation(Context ctx) const;
  // A class's usage bits; 0 for a class whose usage was reported inconsistent (its repeats must
  // reach the engine, which counts them).
  uint32_t class_usage(ClassId cls) const;
  // Whether a sleeping lock may be taken once the context holds nothing: its interrupt state
  // alone (a chain head, whatever the engine's copy of the held stack still shows).
  bool may_sleep_holding_nothing(Context ctx) const;

  // --- results ----------------------------------------------------------------------------
  // Every distinct problem, in the order first found; guarded cycles superseded by a real cycle
  // on the same edge are dropped from this list.
  std::vector<Finding> findings() const;
  size_t finding_count() const;
  // The whole lock-order graph: every dependency edge (class `from` held while class `to` was
  // taken), in the order first seen, each with the evidence of its first occurrence (both
  // sites, lockdep's edge kind, gate locks) in the form a finding's chain carries. For reports
  // at the end of a run (`--graph all`); it copies every edge's evidence.
  std::vector<Edge> dependency_edges() const;
  // Every report event so far, repeats of a known finding included (cheap: a counter).
  uint64_t report_events() const;
  ValidatorStats stats() const;
  // Whether the topological order is whole (for tests): the classes linked lowest to highest
  // with rising ranks, every class in it once, and every edge not marked back going from a lower
  // rank to a higher one. O(classes + edges).
  bool order_consistent() const;
  const ValidatorOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lockhound
