// Internal to scan's whole-program analysis: paths, events, summaries and the Analyzer, whose
// work is in three files: analyze.cpp (the call graph, bottom-up summaries), analyze_flow.cpp (one
// function's dataflow over its blocks, calls composed from summaries) and analyze_replay.cpp (the
// events replayed into the engine from every root).
#pragma once

#include "scan/analyze.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "scan/api.h"

namespace lockhound::scan {
namespace detail {

constexpr size_t kStatesPerBlock = 24;
constexpr size_t kMaxHeld = 12;
constexpr size_t kMaxConds = 8;
constexpr size_t kEventsPerFunction = 1500;
constexpr size_t kStepsPerFunction = 60000;
constexpr int kSccRounds = 4;

// ---------------------------------------------------------------- paths
struct PathNode {
  Frame frame;
  std::shared_ptr<const PathNode> inner;  // toward the lock call
};
using Path = std::shared_ptr<const PathNode>;

inline Path leaf(const std::string& fn, const std::string& file, uint32_t line) {
  auto n = std::make_shared<PathNode>();
  n->frame.function = fn;
  n->frame.file = file;
  n->frame.line = line;
  return n;
}
inline Path extend(const Path& inner, const std::string& fn, const std::string& file, uint32_t line) {
  auto n = std::make_shared<PathNode>();
  n->frame.function = fn;
  n->frame.file = file;
  n->frame.line = line;
  n->inner = inner;
  return n;
}
inline Stack materialize(const Path& p) {
  Stack s;
  for (const PathNode* n = p.get(); n; n = n->inner.get()) s.push_back(n->frame);
  std::reverse(s.begin(), s.end());
  return s;
}

// ---------------------------------------------------------------- interrupt state
// Relative to a function's entry: hard 0 = unchanged, 1 = disabled, 2 = enabled, 3 = restored
// to what the caller saved (spin_unlock_irqrestore of the caller's flags); soft = net count of
// bottom-half disables.
struct IrqD {
  int8_t hard = 0;
  int8_t soft = 0;
  bool operator==(const IrqD&) const = default;
};
inline IrqD compose(IrqD outer, IrqD inner, const std::vector<int8_t>& outer_saved) {
  IrqD r;
  r.hard = inner.hard ? inner.hard : outer.hard;
  if (inner.hard == 3 && !outer_saved.empty()) r.hard = outer_saved.back();
  r.soft = int8_t(std::clamp(outer.soft + inner.soft, -4, 4));
  return r;
}

// ---------------------------------------------------------------- events
struct Held {
  LockRef lock;
  Mode mode = Mode::write;
  bool read_irq_recursive = false;
  bool trylock = false;
  uint8_t subclass = 0;
  LockRef nest;
  IrqD irq;               // interrupt state when it was taken
  Path path;
  int32_t token = -1;     // trylock (or interruptible lock) whose result is not tested yet
  bool try_zero = false;  // ... taken when that result is 0
  uint32_t scope_end = 0; // guard(): released past this line
  uint32_t scope_file = 0;
  std::string api;
};

enum class EvKind : uint8_t { acquire, sleep, wait };

struct Event {
  EvKind kind = EvKind::acquire;
  Held what;                       // the acquisition (sleep/wait: site, irq, object class)
  std::vector<Held> held;          // held then, outermost first
  std::vector<LockRef> released;   // the caller's locks released by then
  std::string text;                // sleep: "msleep"
  int32_t gfp_param = -1;
  // Branch facts on the path to it that callers can check ("bit(3,&$0->flags)" = false): a caller
  // in which the fact is known to be the other way never reaches this event.
  std::vector<std::pair<std::string, bool>> pre;
};

struct Summary {
  std::vector<Event> events;
  std::unordered_set<std::string> event_keys;
  std::vector<Held> exit_held;
  std::vector<LockRef> exit_released;
  IrqD exit_irq;
  std::set<std::string> released_classes;
  bool done = false;
};

inline std::string lock_key(const LockRef& l) { return l.cls + "\x1f" + l.inst; }

struct State {
  std::vector<Held> held;
  std::vector<LockRef> released;
  IrqD irq;
  std::vector<int8_t> saved;
  std::vector<std::pair<std::string, bool>> conds;
  std::vector<std::string> dropped;  // classes this function held and released on this path

  std::string key() const {
    std::string k;
    for (const auto& h : held) k += lock_key(h.lock) + char('0' + int(h.mode)) + std::to_string(h.token) + "|";
    k += "#";
    for (const auto& r : released) k += lock_key(r) + "|";
    k += "#" + std::to_string(irq.hard) + "," + std::to_string(irq.soft) + "#";
    for (auto s : saved) k += char('0' + s);
    k += "#";
    for (const auto& [c, b] : conds) k += c + (b ? "=1|" : "=0|");
    k += "#";
    for (const auto& d : dropped) k += d + "|";
    return k;
  }
};

inline bool same_lock(const LockRef& a, const LockRef& b) {
  if (a.cls.empty() || b.cls.empty()) return a.inst == b.inst && a.inst != "?";
  return a.cls == b.cls && a.inst == b.inst;
}

// Index of the held entry a release of `l` matches: same instance first, else the innermost of
// the same class (another expression for the same lock).
inline int match_held(const std::vector<Held>& held, const LockRef& l) {
  for (int i = int(held.size()) - 1; i >= 0; --i)
    if (same_lock(held[size_t(i)].lock, l)) return i;
  if (!l.cls.empty())
    for (int i = int(held.size()) - 1; i >= 0; --i)
      if (held[size_t(i)].lock.cls == l.cls) return i;
  return -1;
}

struct Program {
  std::vector<const TuFacts*> tus;
  std::unordered_map<std::string, std::pair<const FunctionFacts*, size_t>> fns;  // key -> (fn, tu)
  std::unordered_map<std::string, std::vector<std::string>> bindings;           // field -> fns
  // field -> fn -> the groups (FieldBinding::group) that store fn there; group -> its fields.
  std::unordered_map<std::string, std::unordered_map<std::string, std::set<std::string>>> binding_groups;
  std::unordered_map<std::string, std::set<std::string>> group_fields;
  std::unordered_map<std::string, Summary> summaries;
  std::set<std::string> waited_objects;
  // A work item's object -> the workqueues it is queued on (queue_work(wq, &x->work)).
  std::map<std::string, std::set<std::string>> queues_of;
  uint64_t gfp_bit = kGfpDirectReclaim;
};


class Analyzer {
 public:
  Analyzer(Program& p, Validator& v, AnalysisStats& st) : p_(p), v_(v), st_(st) {}

  void run() {
    index();
    order_and_summarise();
    replay_roots();
    replay_unbalanced();
    add_scan_facts();
  }

 private:
  Program& p_;
  Validator& v_;
  AnalysisStats& st_;
  std::unordered_map<std::string, std::vector<std::string>> callees_;
  std::unordered_map<std::string, int> callers_;
  std::map<std::string, std::vector<Finding>> missing_;  // fn key -> findings, re-made each round
  // fn key -> releases of a lock the function takes elsewhere but does not hold there
  std::map<std::string, std::vector<std::pair<LockRef, Path>>> unbalanced_;

  // ------------------------------------------------------------ indexing
  void index();

  std::unordered_map<std::string, bool> multiply_defined_;
  std::string display(const std::string& cls) const {
    auto m = cls.find('\x01');
    if (m == std::string::npos) return cls;
    std::string base = cls.substr(0, m);
    auto it = multiply_defined_.find(base);
    if (it == multiply_defined_.end() || !it->second) return base;
    std::string file = cls.substr(m + 1);
    auto slash = file.rfind('/');
    return base + " (" + (slash == std::string::npos ? file : file.substr(slash + 1)) + ")";
  }

  std::vector<std::string> resolve(const Op& op) const;

  // ------------------------------------------------------------ call graph order (Tarjan)
  void order_and_summarise();

  void summarise_scc(const std::vector<std::string>& scc);

  // ------------------------------------------------------------ per-function dataflow
  struct Ctx {
    const FunctionFacts* f;
    const TuFacts* tu;
    Summary* sum;
    std::vector<std::pair<State, SrcLoc>> returns;
    std::vector<const Op*> ret_ops;             // the return statement of each of `returns`
    // Releases, on some path, of a lock this very function takes on others (and no path here
    // holds): lock class -> (lock, path of the release).
    std::map<std::string, std::pair<LockRef, Path>> unmatched;
  };

  const std::string& file_of(const Ctx& c, const SrcLoc& l) const;

  LockRef local(const Ctx& c, LockRef l, const SrcLoc& loc) const;

  void emit(Ctx& c, Event e);

  // The state's branch facts a caller can name (not about this function's locals).
  static std::vector<std::pair<std::string, bool>> facts_of(const State& s);

  // Replaces every "$k" in a fact's text by the call's argument k. False when an argument that is
  // needed cannot be named in the caller.
  static bool subst_text(std::string& text, const std::vector<ArgFact>& args);
  // Whether a fact's text, once its parameters are replaced, is a constant, and its truth.
  static bool const_truth(const std::string& text, bool& truth);

  static void set_fact(State& s, const std::string& key, bool value);

  void release_from(Ctx& c, State& s, const LockRef& l, bool direct, const Path* at = nullptr);

  // Whether the function itself (not a callee) acquires a lock of this class somewhere.
  static bool acquires_directly(const FunctionFacts& f, const std::string& cls);

  void acquire_into(Ctx& c, State& s, Held h);

  void expire_guards(Ctx& c, State& s, const SrcLoc& at, bool all);

  static void irq_apply(State& s, IrqEffect eff, bool acquire);

  // Substitutes the callee's parameters by the call's arguments. False: the lock cannot be named.
  static bool subst(LockRef& l, const std::vector<ArgFact>& args);

  bool subst_held(Ctx& c, Held& h, const std::vector<ArgFact>& args, const Op& call, const State& s);

  void do_call(Ctx& c, State& s, const Op& op, const std::string& target, std::vector<State>& out);
  // A call through a struct field reaching `target`: false when the path already called another
  // group's method of the same struct type through a pointer, and that group stores a different
  // function in this field (an object's methods come from one group). `fact`: the path's choice
  // to record, when `target` is stored in this field by one group only and none is chosen yet.
  bool same_group(const State& s, const Op& op, const std::string& target, std::string& fact) const;

  // Applies the ops of a block; returns the states leaving it (empty when every path returned).
  std::vector<State> run_block(Ctx& c, const Block& b, State s);
  // Whether `st` is a state not seen yet among `seen` (their keys), bounded: past kStatesPerBlock
  // its branch facts are forgotten first (so it may merge with one seen), past twice that it is
  // dropped. Applied at each block's entry (summarise) and after each op of a block (run_block:
  // a call through a pointer with k targets multiplies the states by k, and a run of such calls
  // in one block, igb_phy_init_script_igp3's 50 calls of phy.ops.write_reg with three
  // implementations, would otherwise make k^50).
  static bool admit(std::vector<std::string>& seen, State& st);

  void summarise(const std::string& key);

  static void dump(const FunctionFacts& f, const Summary& s);

  void branch(Ctx& c, const Block& b, State s, std::vector<std::pair<int32_t, State>>& work);

  // A function that returns holding the lock with a success value (0, or true) and without it
  // with other values tells its callers by the result, like a trylock: not a missing unlock.
  // An error code returned with the lock held is the classic bug and stays reported.
  static bool conditional_acquire(const Ctx& c, const std::vector<size_t>& holding);

  void finish(Ctx& c, Summary& prev, Summary& fresh);

  // ------------------------------------------------------------ replay
  uint64_t next_ctx_ = 1;
  uint64_t next_ip_ = 0x1000;
  std::unordered_map<std::string, uint64_t> instances_;
  std::unordered_map<std::string, uint64_t> ips_;
  // The locking call made at each acquisition's stack ("spin_lock_bh"; "" when two calls share
  // one place): a stack ends at the caller's line, and a fix names the call to change.
  std::unordered_map<std::string, std::string> calls_;

  uint64_t instance(const LockRef& l);
  void other_activation(const Ctx& c, LockRef& l, const SrcLoc& call) const;

  // The engine's site for a stack; `call`, for an acquisition, the locking function called there.
  Site site(const Path& p, std::string_view call = {});
  // Gives the findings the facts only the scan knows and words them again: each acquisition's
  // call (Acquisition::call), and which of its callback classes are workqueues (fact::kQueues).
  void add_scan_facts();

  struct Base {
    bool in_hard = false, in_soft = false, hard_en = true, soft_en = true, signal = false;
  };

  void set_irq(Context ctx, const Base& b, IrqD d, bool all_off = false);

  AcquireFlags flags(const Held& h, const Base& b);

  // An unlock on a path that does not hold the lock, in a function that takes it on others: the
  // engine's bad_unlock_balance, from a context that releases it holding nothing.
  void replay_unbalanced();

  void replay_roots();

  // Where a root runs: a function nobody calls (process context), or a registered callback in
  // the context, interrupt state and lock its caller provides.
  struct Root {
    std::string fn;
    RunContext ctx = RunContext::process;
    std::string object;
    Path reg;  // the registration call, outermost frame
    EntryIrq irqs = EntryIrq::on;
    LockRef held;
  };

  void replay(const Root& r);
};

}  // namespace detail
}  // namespace lockhound::scan
