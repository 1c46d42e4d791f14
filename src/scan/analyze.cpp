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
namespace {

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

Path leaf(const std::string& fn, const std::string& file, uint32_t line) {
  auto n = std::make_shared<PathNode>();
  n->frame.function = fn;
  n->frame.file = file;
  n->frame.line = line;
  return n;
}
Path extend(const Path& inner, const std::string& fn, const std::string& file, uint32_t line) {
  auto n = std::make_shared<PathNode>();
  n->frame.function = fn;
  n->frame.file = file;
  n->frame.line = line;
  n->inner = inner;
  return n;
}
Stack materialize(const Path& p) {
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
IrqD compose(IrqD outer, IrqD inner, const std::vector<int8_t>& outer_saved) {
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

std::string lock_key(const LockRef& l) { return l.cls + "\x1f" + l.inst; }

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

bool same_lock(const LockRef& a, const LockRef& b) {
  if (a.cls.empty() || b.cls.empty()) return a.inst == b.inst && a.inst != "?";
  return a.cls == b.cls && a.inst == b.inst;
}

// Index of the held entry a release of `l` matches: same instance first, else the innermost of
// the same class (another expression for the same lock).
int match_held(const std::vector<Held>& held, const LockRef& l) {
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
  std::unordered_map<std::string, Summary> summaries;
  std::set<std::string> waited_objects;
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
  void index() {
    for (size_t t = 0; t < p_.tus.size(); ++t) {
      const TuFacts* tu = p_.tus[t];
      for (const auto& f : tu->functions) p_.fns.emplace(f.key, std::make_pair(&f, t));
      for (const auto& b : tu->bindings) {
        auto& v = p_.bindings[b.field];
        if (std::find(v.begin(), v.end(), b.fn) == v.end()) v.push_back(b.fn);
      }
    }
    for (const auto& [key, ft] : p_.fns) {
      auto& out = callees_[key];
      for (const auto& b : ft.first->blocks)
        for (const auto& op : b.ops) {
          if (op.kind == OpKind::wait) p_.waited_objects.insert(op.lock.cls);
          if (op.kind != OpKind::call) continue;
          for (const auto& t : resolve(op)) {
            if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
          }
        }
      for (const auto& c : out)
        if (c != key) callers_[c]++;
    }
    st_.functions = p_.fns.size();
    // Class names of structs defined in .c files: plain unless two files define the same name.
    std::unordered_map<std::string, std::set<std::string>> defined;
    auto note = [&](const std::string& cls) {
      auto m = cls.find('\x01');
      if (m != std::string::npos) defined[cls.substr(0, m)].insert(cls.substr(m + 1));
    };
    for (const TuFacts* tu : p_.tus) {
      for (const auto& f : tu->functions)
        for (const auto& b : f.blocks)
          for (const auto& op : b.ops) {
            note(op.lock.cls);
            note(op.nest.cls);
            for (const auto& a : op.args) note(a.lock.cls);
          }
      for (const auto& r : tu->registrations) note(r.object);
    }
    for (const auto& [base, files] : defined) multiply_defined_[base] = files.size() > 1;
  }

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

  std::vector<std::string> resolve(const Op& op) const {
    std::vector<std::string> r;
    for (const auto& t : op.targets) {
      if (t.rfind("field:", 0) == 0) {
        auto it = p_.bindings.find(t.substr(6));
        if (it != p_.bindings.end())
          for (const auto& f : it->second)
            if (p_.fns.count(f)) r.push_back(f);
      } else if (p_.fns.count(t)) {
        r.push_back(t);
      } else {
        // A static function of another TU never matches; an extern one by its plain name.
        auto pos = t.rfind(':');
        if (pos != std::string::npos && p_.fns.count(t.substr(pos + 1))) r.push_back(t.substr(pos + 1));
      }
    }
    return r;
  }

  // ------------------------------------------------------------ call graph order (Tarjan)
  void order_and_summarise() {
    std::unordered_map<std::string, int> index, low;
    std::unordered_set<std::string> on_stack;
    std::vector<std::string> stack;
    int counter = 0;
    std::vector<std::string> keys;
    for (const auto& [k, _] : p_.fns) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    // Iterative Tarjan: frames of (node, next callee index).
    for (const auto& start : keys) {
      if (index.count(start)) continue;
      std::vector<std::pair<std::string, size_t>> frames{{start, 0}};
      index[start] = low[start] = counter++;
      stack.push_back(start);
      on_stack.insert(start);
      while (!frames.empty()) {
        auto& [node, i] = frames.back();
        const auto& cs = callees_[node];
        if (i < cs.size()) {
          const std::string c = cs[i++];
          if (!index.count(c)) {
            index[c] = low[c] = counter++;
            stack.push_back(c);
            on_stack.insert(c);
            frames.push_back({c, 0});
          } else if (on_stack.count(c)) {
            low[node] = std::min(low[node], index[c]);
          }
          continue;
        }
        if (low[node] == index[node]) {
          std::vector<std::string> scc;
          while (true) {
            std::string w = stack.back();
            stack.pop_back();
            on_stack.erase(w);
            scc.push_back(w);
            if (w == node) break;
          }
          summarise_scc(scc);
        }
        std::string done = node;
        frames.pop_back();
        if (!frames.empty()) low[frames.back().first] = std::min(low[frames.back().first], low[done]);
      }
    }
    for (auto& [k, fs] : missing_)
      for (auto& f : fs) v_.report(std::move(f));
  }

  void summarise_scc(const std::vector<std::string>& scc) {
    bool recursive = scc.size() > 1;
    if (!recursive) {
      const auto& cs = callees_[scc[0]];
      recursive = std::find(cs.begin(), cs.end(), scc[0]) != cs.end();
    }
    int rounds = recursive ? kSccRounds : 1;
    for (int r = 0; r < rounds; ++r) {
      size_t before = 0, after = 0;
      for (const auto& k : scc) before += p_.summaries[k].events.size() + p_.summaries[k].exit_held.size();
      for (const auto& k : scc) summarise(k);
      for (const auto& k : scc) after += p_.summaries[k].events.size() + p_.summaries[k].exit_held.size();
      if (r > 0 && before == after) break;
    }
    for (const auto& k : scc) p_.summaries[k].done = true;
  }

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

  const std::string& file_of(const Ctx& c, const SrcLoc& l) const {
    static const std::string none = "?";
    return l.file < c.tu->files.size() ? c.tu->files[l.file] : none;
  }

  LockRef local(const Ctx& c, LockRef l, const SrcLoc& loc) const {
    if (l.inst.rfind("v:", 0) == 0) l.inst = c.f->key + "|" + l.inst;
    if (l.inst == "?" || l.inst.find('?') != std::string::npos)
      l.inst = "?@" + file_of(c, loc) + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
    return l;
  }

  void emit(Ctx& c, Event e) {
    if (c.sum->events.size() >= kEventsPerFunction) return;
    std::string k = std::to_string(int(e.kind)) + lock_key(e.what.lock) + char('0' + int(e.what.mode)) +
                    (e.what.trylock ? "t" : "") + std::to_string(e.what.subclass) + "@" +
                    std::to_string(e.what.irq.hard) + "," + std::to_string(e.what.irq.soft) + "/" + e.text +
                    std::to_string(e.gfp_param) + "#";
    for (const auto& h : e.held) k += lock_key(h.lock) + char('0' + int(h.mode)) + std::to_string(h.irq.hard) + "|";
    k += "#";
    for (const auto& r : e.released) k += lock_key(r) + "|";
    k += "#";
    for (const auto& [pk, pv] : e.pre) k += pk + (pv ? "=1|" : "=0|");
    if (!c.sum->event_keys.insert(k).second) return;
    c.sum->events.push_back(std::move(e));
  }

  // The state's branch facts a caller can name (not about this function's locals).
  static std::vector<std::pair<std::string, bool>> facts_of(const State& s) {
    std::vector<std::pair<std::string, bool>> out;
    // Only bit flags travel: they are what kernel code sets in one function and tests in another
    // (a "resetting" bit); carrying every branch fact would multiply the events for little gain.
    for (const auto& kv : s.conds)
      if (kv.first.rfind("bit(", 0) == 0 && kv.first.find("v:") == std::string::npos && kv.first.find('?') == std::string::npos)
        out.push_back(kv);
    return out;
  }

  // Replaces every "$k" in a fact's text by the call's argument k. False when an argument that is
  // needed cannot be named in the caller.
  static bool subst_text(std::string& text, const std::vector<ArgFact>& args) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '$' || i + 1 >= text.size() || !isdigit(static_cast<unsigned char>(text[i + 1]))) {
        out += text[i];
        continue;
      }
      size_t n = i + 1;
      while (n < text.size() && isdigit(static_cast<unsigned char>(text[n]))) ++n;
      size_t k = std::stoul(text.substr(i + 1, n - i - 1));
      if (k >= args.size() || args[k].lock.inst.empty() || args[k].lock.inst.find('?') != std::string::npos) return false;
      out += args[k].lock.inst;
      i = n - 1;
    }
    text = std::move(out);
    return true;
  }

  static void set_fact(State& s, const std::string& key, bool value) {
    for (auto& kv : s.conds)
      if (kv.first == key) {
        kv.second = value;
        return;
      }
    if (s.conds.size() >= kMaxConds) s.conds.erase(s.conds.begin());
    s.conds.emplace_back(key, value);
    std::sort(s.conds.begin(), s.conds.end());
  }

  void release_from(Ctx& c, State& s, const LockRef& l, bool direct, const Path* at = nullptr) {
    if (!l.cls.empty()) c.sum->released_classes.insert(l.cls);
    int i = match_held(s.held, l);
    if (i >= 0) {
      s.held.erase(s.held.begin() + i);
      if (direct && !l.cls.empty() && std::find(s.dropped.begin(), s.dropped.end(), l.cls) == s.dropped.end() &&
          s.dropped.size() < 8)
        s.dropped.push_back(l.cls);
      return;
    }
    // Released again on a path that already released it here: a double unlock.
    bool again = std::find(s.dropped.begin(), s.dropped.end(), l.cls) != s.dropped.end();
    for (const auto& r : s.released)
      if (same_lock(r, l)) return;
    s.released.push_back(l);
    if (direct && again && !l.cls.empty() && acquires_directly(*c.f, l.cls) && !c.unmatched.count(l.cls))
      c.unmatched[l.cls] = {l, at ? *at : Path()};
  }

  // Whether the function itself (not a callee) acquires a lock of this class somewhere.
  static bool acquires_directly(const FunctionFacts& f, const std::string& cls) {
    for (const auto& b : f.blocks)
      for (const auto& op : b.ops)
        if (op.kind == OpKind::acquire && op.lock.cls == cls) return true;
    return false;
  }

  void acquire_into(Ctx& c, State& s, Held h) {
    // Re-taking a lock of the caller's that this function released: it is the caller's again.
    for (size_t i = 0; i < s.released.size(); ++i)
      if (same_lock(s.released[i], h.lock)) {
        Event e;
        e.kind = EvKind::acquire;
        e.held = s.held;
        e.released = s.released;  // still released at this moment: the caller's copy is not held
        e.what = h;
        e.pre = facts_of(s);
        emit(c, std::move(e));
        s.released.erase(s.released.begin() + long(i));
        return;
      }
    Event e;
    e.kind = EvKind::acquire;
    e.held = s.held;
    e.released = s.released;
    e.what = h;
    e.pre = facts_of(s);
    emit(c, std::move(e));
    // The same lock taken twice: the engine reports the self-deadlock; the path goes no further
    // in reality, so the second entry must not make a later return look unbalanced.
    for (const auto& x : s.held)
      if (same_lock(x.lock, h.lock) && h.lock.inst.rfind("?@", 0) != 0) return;
    if (s.held.size() < kMaxHeld) s.held.push_back(std::move(h));
  }

  void expire_guards(Ctx& c, State& s, const SrcLoc& at, bool all) {
    for (int i = int(s.held.size()) - 1; i >= 0; --i) {
      const Held& h = s.held[size_t(i)];
      if (!h.scope_end) continue;
      if (all || (h.scope_file == at.file && at.line > h.scope_end)) {
        LockRef l = h.lock;
        s.held.erase(s.held.begin() + i);
        if (!l.cls.empty()) c.sum->released_classes.insert(l.cls);
      }
    }
  }

  static void irq_apply(State& s, IrqEffect eff, bool acquire) {
    switch (eff) {
      case IrqEffect::none: break;
      case IrqEffect::irq: s.irq.hard = acquire ? 1 : 2; break;
      case IrqEffect::irqsave:
        if (acquire) {
          s.saved.push_back(s.irq.hard);
          s.irq.hard = 1;
        } else if (!s.saved.empty()) {
          s.irq.hard = s.saved.back();
          s.saved.pop_back();
        } else {
          s.irq.hard = 3;
        }
        break;
      case IrqEffect::bh: s.irq.soft = int8_t(std::clamp(s.irq.soft + (acquire ? 1 : -1), -4, 4)); break;
    }
  }

  // Substitutes the callee's parameters by the call's arguments. False: the lock cannot be named.
  static bool subst(LockRef& l, const std::vector<ArgFact>& args) {
    if (l.inst.size() >= 2 && l.inst[0] == '$') {
      size_t n = 1;
      while (n < l.inst.size() && isdigit(static_cast<unsigned char>(l.inst[n]))) ++n;
      size_t k = std::stoul(l.inst.substr(1, n - 1));
      std::string rest = l.inst.substr(n);
      if (k >= args.size()) {
        if (l.cls.empty()) return false;
        l.inst = "?";
        return true;
      }
      const ArgFact& a = args[k];
      if (l.cls.empty()) {
        if (a.lock.cls.empty() || !rest.empty()) return false;
        l.cls = a.lock.cls;
        if (l.kind == LockKind::other) l.kind = a.lock.kind;
      }
      std::string base = a.lock.inst.empty() ? "?" : a.lock.inst;
      l.inst = base.find('?') != std::string::npos ? "?" : base + rest;
    }
    return true;
  }

  bool subst_held(Ctx& c, Held& h, const std::vector<ArgFact>& args, const Op& call, const State& s) {
    if (!subst(h.lock, args)) return false;
    if (!h.nest.cls.empty() || !h.nest.inst.empty()) subst(h.nest, args);
    h.lock = local(c, h.lock, call.loc);
    h.irq = compose(s.irq, h.irq, s.saved);
    h.path = extend(h.path, c.f->name, file_of(c, call.loc), call.loc.line);
    h.scope_end = 0;
    h.token = -1;
    return true;
  }

  void do_call(Ctx& c, State& s, const Op& op, const std::string& target, std::vector<State>& out) {
    Summary& cs = p_.summaries[target];
    const auto caller_facts = facts_of(s);
    for (const Event& ce : cs.events) {
      Event e = ce;
      // Facts the callee's path needs, in the caller's terms: a contradiction means this caller
      // never reaches the event (a bit it set, a flag it tested).
      std::vector<std::pair<std::string, bool>> pre = caller_facts;
      bool reachable = true;
      for (auto [k, v] : ce.pre) {
        if (!subst_text(k, op.args)) continue;
        bool known = false;
        for (const auto& [ck, cv] : s.conds)
          if (ck == k) {
            known = true;
            reachable &= cv == v;
          }
        if (!known) pre.emplace_back(k, v);
      }
      if (!reachable) continue;
      std::sort(pre.begin(), pre.end());
      pre.erase(std::unique(pre.begin(), pre.end()), pre.end());
      e.pre = std::move(pre);
      if (!subst_held(c, e.what, op.args, op, s)) continue;
      if (e.kind == EvKind::sleep && e.gfp_param >= 0) {
        if (size_t(e.gfp_param) >= op.args.size()) continue;
        const ArgFact& a = op.args[size_t(e.gfp_param)];
        if (a.has_value) {
          if (!(a.value & p_.gfp_bit)) continue;
          e.gfp_param = -1;
          char buf[32];
          std::snprintf(buf, sizeof buf, " with gfp 0x%llx", static_cast<unsigned long long>(a.value));
          e.text += buf;
        } else if (a.param >= 0) {
          e.gfp_param = a.param;
        } else {
          continue;
        }
      }
      bool ok = true;
      std::vector<Held> inner;
      for (Held h : e.held) {
        if (!subst_held(c, h, op.args, op, s)) {
          ok = false;
          break;
        }
        inner.push_back(std::move(h));
      }
      if (!ok) continue;
      std::vector<Held> held = s.held;
      std::vector<LockRef> released = s.released;
      for (LockRef r : e.released) {
        if (!subst(r, op.args)) continue;
        r = local(c, r, op.loc);
        int i = match_held(held, r);
        if (i >= 0) held.erase(held.begin() + i);
        else released.push_back(r);
      }
      for (auto& h : inner)
        if (held.size() < kMaxHeld) held.push_back(std::move(h));
      e.held = std::move(held);
      e.released = std::move(released);
      // A lock the callee takes that the caller released here (and took again) is not held.
      emit(c, std::move(e));
    }
    State n = s;
    for (LockRef r : cs.exit_released) {
      if (!subst(r, op.args)) continue;
      r = local(c, r, op.loc);
      release_from(c, n, r, false);
    }
    for (Held h : cs.exit_held) {
      if (!subst_held(c, h, op.args, op, s)) continue;
      // Taken again after the callee released the caller's own: nothing changes for the caller.
      bool back = false;
      for (size_t i = 0; i < n.released.size(); ++i)
        if (same_lock(n.released[i], h.lock)) {
          n.released.erase(n.released.begin() + long(i));
          back = true;
          break;
        }
      if (!back && n.held.size() < kMaxHeld) n.held.push_back(std::move(h));
    }
    n.irq = compose(n.irq, cs.exit_irq, n.saved);
    if (cs.exit_irq.hard == 3 && !n.saved.empty()) n.saved.pop_back();
    for (const auto& rc : cs.released_classes) c.sum->released_classes.insert(rc);
    out.push_back(std::move(n));
  }

  // Applies the ops of a block; returns the states leaving it (empty when every path returned).
  std::vector<State> run_block(Ctx& c, const Block& b, State s) {
    std::vector<State> cur{std::move(s)};
    for (const Op& op : b.ops) {
      std::vector<State> next;
      for (State& st : cur) {
        expire_guards(c, st, op.loc, false);
        switch (op.kind) {
          case OpKind::acquire: {
            Held h;
            h.lock = local(c, op.lock, op.loc);
            h.mode = op.mode;
            h.read_irq_recursive = op.read_irq_recursive;
            h.trylock = op.trylock;
            h.subclass = op.subclass;
            h.nest = op.nest;
            h.token = op.token;
            h.try_zero = op.try_zero;
            h.scope_end = op.scope_end;
            h.scope_file = op.loc.file;
            h.api = op.api;
            h.path = leaf(c.f->name, file_of(c, op.loc), op.loc.line);
            irq_apply(st, op.irq, true);
            h.irq = st.irq;
            acquire_into(c, st, std::move(h));
            next.push_back(std::move(st));
            break;
          }
          case OpKind::release: {
            Path at = leaf(c.f->name, file_of(c, op.loc), op.loc.line);
            release_from(c, st, local(c, op.lock, op.loc), true, &at);
            irq_apply(st, op.irq, false);
            next.push_back(std::move(st));
            break;
          }
          case OpKind::irq:
            switch (op.irq_op) {
              case IrqOp::disable: st.irq.hard = 1; break;
              case IrqOp::enable: st.irq.hard = 2; break;
              case IrqOp::save: irq_apply(st, IrqEffect::irqsave, true); break;
              case IrqOp::restore: irq_apply(st, IrqEffect::irqsave, false); break;
              case IrqOp::bh_disable: irq_apply(st, IrqEffect::bh, true); break;
              case IrqOp::bh_enable: irq_apply(st, IrqEffect::bh, false); break;
              case IrqOp::none: break;
            }
            next.push_back(std::move(st));
            break;
          case OpKind::sleep:
          case OpKind::wait: {
            Event e;
            e.kind = op.kind == OpKind::sleep ? EvKind::sleep : EvKind::wait;
            e.what.lock = op.lock;
            e.what.irq = st.irq;
            e.what.path = leaf(c.f->name, file_of(c, op.loc), op.loc.line);
            e.what.api = op.api;
            e.held = st.held;
            e.released = st.released;
            e.text = op.what;
            e.gfp_param = op.gfp_param;
            e.pre = facts_of(st);
            emit(c, std::move(e));
            next.push_back(std::move(st));
            break;
          }
          case OpKind::call: {
            auto targets = resolve(op);
            if (targets.empty()) {
              next.push_back(std::move(st));
              break;
            }
            for (const auto& t : targets) do_call(c, st, op, t, next);
            break;
          }
          case OpKind::kill: {
            auto& cs = st.conds;
            cs.erase(std::remove_if(cs.begin(), cs.end(),
                                    [&](const auto& kv) {
                                      for (const auto& var : op.vars)
                                        if (kv.first.find(var) != std::string::npos) return true;
                                      return false;
                                    }),
                     cs.end());
            next.push_back(std::move(st));
            break;
          }
          case OpKind::assume:
            set_fact(st, op.what, op.fact_value);
            next.push_back(std::move(st));
            break;
          case OpKind::ret:
            expire_guards(c, st, op.loc, true);
            c.returns.emplace_back(std::move(st), op.loc);
            c.ret_ops.push_back(&op);
            break;
        }
      }
      cur = std::move(next);
      if (cur.empty()) break;
    }
    return cur;
  }

  void summarise(const std::string& key) {
    auto it = p_.fns.find(key);
    if (it == p_.fns.end()) return;
    Summary fresh;
    Summary& prev = p_.summaries[key];
    // Keep the previous round's events while recomputing (recursive calls read them).
    Ctx c{it->second.first, p_.tus[it->second.second], &fresh, {}, {}, {}};
    const FunctionFacts& f = *c.f;
    if (f.blocks.empty()) return;
    std::vector<std::vector<std::string>> seen(f.blocks.size());
    std::vector<std::pair<int32_t, State>> work{{f.entry, State{}}};
    size_t steps = 0;
    // Current summary visible to recursive calls during this round.
    fresh.exit_held = prev.exit_held;
    fresh.exit_released = prev.exit_released;
    fresh.exit_irq = prev.exit_irq;
    while (!work.empty() && steps++ < kStepsPerFunction) {
      auto [bi, st] = std::move(work.back());
      work.pop_back();
      if (bi < 0 || size_t(bi) >= f.blocks.size()) continue;
      auto& seen_b = seen[size_t(bi)];
      std::string k = st.key();
      if (std::find(seen_b.begin(), seen_b.end(), k) != seen_b.end()) continue;
      if (seen_b.size() >= kStatesPerBlock) {
        // Merge beyond the bound: forget branch facts, and give up on the state if still new.
        st.conds.clear();
        k = st.key();
        if (std::find(seen_b.begin(), seen_b.end(), k) != seen_b.end() || seen_b.size() >= 2 * kStatesPerBlock) continue;
      }
      seen_b.push_back(k);
      const Block& b = f.blocks[size_t(bi)];
      for (State& out : run_block(c, b, std::move(st))) {
        if (b.succ.size() == 2) {
          branch(c, b, std::move(out), work);
        } else {
          for (size_t i = 0; i < b.succ.size(); ++i)
            if (b.succ[i] >= 0) work.emplace_back(b.succ[i], i + 1 < b.succ.size() ? out : std::move(out));
        }
      }
    }
    finish(c, prev, fresh);
    if (std::getenv("LOCKHOUND_SCAN_DEBUG")) dump(f, prev);
  }

  static void dump(const FunctionFacts& f, const Summary& s) {
    std::fprintf(stderr, "fn %s: %zu blocks, %zu events, exit holds %zu\n", f.key.c_str(), f.blocks.size(), s.events.size(),
                 s.exit_held.size());
    for (size_t i = 0; i < f.blocks.size(); ++i) {
      const Block& b = f.blocks[i];
      std::fprintf(stderr, "  B%zu ->", i);
      for (auto x : b.succ) std::fprintf(stderr, " %d", x);
      if (!b.cond.key.empty() || b.cond.token >= 0) std::fprintf(stderr, " [cond %s%s tok %d]", b.cond.negate ? "!" : "", b.cond.key.c_str(), b.cond.token);
      std::fprintf(stderr, "\n");
      for (const auto& op : b.ops)
        std::fprintf(stderr, "    op%d %s %s|%s line %u tok %d\n", int(op.kind), op.api.c_str(), op.lock.cls.c_str(), op.lock.inst.c_str(), op.loc.line, op.token);
    }
    for (const auto& e : s.events) {
      std::fprintf(stderr, "  ev%d %s|%s irq %d/%d held:", int(e.kind), e.what.lock.cls.c_str(), e.what.lock.inst.c_str(), e.what.irq.hard, e.what.irq.soft);
      for (const auto& h : e.held) std::fprintf(stderr, " %s|%s", h.lock.cls.c_str(), h.lock.inst.c_str());
      std::fprintf(stderr, " rel:");
      for (const auto& r : e.released) std::fprintf(stderr, " %s|%s", r.cls.c_str(), r.inst.c_str());
      std::fprintf(stderr, " %s\n", e.text.c_str());
    }
  }

  void branch(Ctx& c, const Block& b, State s, std::vector<std::pair<int32_t, State>>& work) {
    const Cond& cond = b.cond;
    for (int side = 0; side < 2; ++side) {
      int32_t to = b.succ[size_t(side)];
      if (to < 0) continue;
      bool truth = side == 0;           // the condition as written holds on succ[0]
      bool val = truth != cond.negate;  // value of the stripped expression
      State n = s;
      if (cond.token >= 0) {
        for (size_t i = 0; i < n.held.size(); ++i) {
          Held& h = n.held[i];
          if (h.token != cond.token) continue;
          bool success = val != h.try_zero;
          if (success) {
            h.token = -1;
          } else {
            n.held.erase(n.held.begin() + long(i));
          }
          break;
        }
      }
      if (!cond.key.empty()) {
        bool known = false, consistent = true;
        for (const auto& [k, v] : n.conds)
          if (k == cond.key) {
            known = true;
            consistent = v == val;
          }
        if (known && !consistent) continue;
        if (!known) {
          if (n.conds.size() >= kMaxConds) n.conds.erase(n.conds.begin());
          n.conds.emplace_back(cond.key, val);
          std::sort(n.conds.begin(), n.conds.end());
        }
      }
      work.emplace_back(to, std::move(n));
    }
    (void)c;
  }

  // A function that returns holding the lock with a success value (0, or true) and without it
  // with other values tells its callers by the result, like a trylock: not a missing unlock.
  // An error code returned with the lock held is the classic bug and stays reported.
  static bool conditional_acquire(const Ctx& c, const std::vector<size_t>& holding) {
    std::set<int64_t> with, without;
    std::vector<bool> is_holding(c.returns.size(), false);
    for (size_t r : holding) is_holding[r] = true;
    for (size_t r = 0; r < c.returns.size(); ++r) {
      const Op* ret = r < c.ret_ops.size() ? c.ret_ops[r] : nullptr;
      if (!ret || ret->args.empty() || !ret->args[0].has_value) return false;
      auto v = int64_t(ret->args[0].value);
      (is_holding[r] ? with : without).insert(v);
    }
    for (int64_t v : with)
      if (v < 0 || without.count(v)) return false;
    return !with.empty() && !without.empty();
  }

  void finish(Ctx& c, Summary& prev, Summary& fresh) {
    const FunctionFacts& f = *c.f;
    // What every return path holds (trylocks not tested yet and guards excluded).
    std::map<std::string, std::vector<size_t>> held_at;  // lock key -> returns holding it
    for (size_t r = 0; r < c.returns.size(); ++r)
      for (const auto& h : c.returns[r].first.held)
        if (h.token < 0) held_at[lock_key(h.lock)].push_back(r);
    std::set<std::string> inconsistent;
    missing_.erase(f.key);
    for (const auto& [k, rets] : held_at) {
      if (rets.size() == c.returns.size()) continue;
      inconsistent.insert(k);
      // Find the entry (for its class and path) and the first return that keeps it.
      // Only a return statement that keeps the lock on every path reaching it: one reached both
      // with and without the lock (a single exit after a conditional acquisition) is the
      // function's design, not a forgotten unlock.
      std::set<const Op*> without;
      std::vector<bool> holds(c.returns.size(), false);
      for (size_t r : rets) holds[r] = true;
      for (size_t r = 0; r < c.returns.size(); ++r)
        if (!holds[r]) without.insert(c.ret_ops[r]);
      const Held* h = nullptr;
      size_t first = SIZE_MAX;
      for (size_t r : rets)
        if (!without.count(c.ret_ops[r]) && (first == SIZE_MAX || c.returns[r].second.line < c.returns[first].second.line))
          first = r;
      if (first == SIZE_MAX) continue;
      for (const auto& x : c.returns[first].first.held)
        if (lock_key(x.lock) == k) h = &x;
      if (!h || h->lock.cls.empty() || !f.file_scope) continue;
      if (!fresh.released_classes.count(h->lock.cls)) continue;  // acquire-style: callers release
      if (conditional_acquire(c, rets)) continue;
      Finding fd;
      fd.type = FindingType::missing_unlock;
      fd.classes = {display(h->lock.cls)};
      Acquisition acq;
      acq.lock = display(h->lock.cls);
      acq.mode = h->trylock ? "try" : h->mode == Mode::write ? "write" : h->mode == Mode::read ? "read" : "recursive-read";
      acq.context = f.name;
      acq.stack = materialize(h->path);
      Acquisition ret;
      ret.lock = display(h->lock.cls);
      ret.mode = "return";
      ret.context = f.name;
      const SrcLoc& rl = c.returns[first].second;
      Frame fr;
      fr.function = f.name;
      fr.file = file_of(c, rl);
      fr.line = rl.line;
      ret.stack = {fr};
      fd.acquisitions = {std::move(acq), std::move(ret)};
      fd.details = {{"function", f.name}};
      fd.location = fr.file + ":" + std::to_string(fr.line);
      missing_[f.key].push_back(std::move(fd));
    }
    unbalanced_.erase(f.key);
    if (f.file_scope)
      for (const auto& [cls, lp] : c.unmatched) unbalanced_[f.key].push_back(lp);
    fresh.exit_held.clear();
    fresh.exit_released.clear();
    fresh.exit_irq = IrqD{};
    if (!c.returns.empty()) {
      for (const auto& h : c.returns[0].first.held) {
        std::string k = lock_key(h.lock);
        if (h.token >= 0 || inconsistent.count(k)) continue;
        if (held_at[k].size() == c.returns.size()) fresh.exit_held.push_back(h);
      }
      for (const auto& r : c.returns[0].first.released) {
        bool all = true;
        for (const auto& [st, loc] : c.returns) {
          bool found = false;
          for (const auto& x : st.released) found |= same_lock(x, r);
          all &= found;
        }
        if (all) fresh.exit_released.push_back(r);
      }
      IrqD first = c.returns[0].first.irq;
      bool agree = true;
      for (const auto& [st, loc] : c.returns) agree &= st.irq == first;
      if (agree) fresh.exit_irq = first;
    }
    prev = std::move(fresh);
  }

  // ------------------------------------------------------------ replay
  uint64_t next_ctx_ = 1;
  uint64_t next_ip_ = 0x1000;
  std::unordered_map<std::string, uint64_t> instances_;
  std::unordered_map<std::string, uint64_t> ips_;

  uint64_t instance(const LockRef& l) {
    std::string k = lock_key(l);
    auto it = instances_.find(k);
    if (it != instances_.end()) return it->second;
    uint64_t id = instances_.size() + 1;
    instances_.emplace(k, id);
    ClassId cls = v_.lock_class(display(l.cls), l.kind);
    v_.lock_init(id, cls);
    return id;
  }

  Site site(const Path& p) {
    Stack s = materialize(p);
    std::string k;
    for (const auto& fr : s) k += fr.function + "@" + fr.file + ":" + std::to_string(fr.line) + ";";
    auto [it, fresh] = ips_.emplace(k, next_ip_);
    if (fresh) next_ip_ += 4;
    return Site{it->second, v_.intern_stack(s)};
  }

  struct Base {
    bool in_hard = false, in_soft = false, hard_en = true, soft_en = true, signal = false;
  };

  void set_irq(Context ctx, const Base& b, IrqD d, bool all_off = false) {
    bool hard = d.hard == 0 || d.hard == 3 ? b.hard_en : d.hard == 2;
    bool soft = b.soft_en ? d.soft <= 0 : d.soft < 0;
    if (all_off) hard = soft = false;
    v_.set_irq_state(ctx, b.in_hard, b.in_soft, hard, soft);
  }

  AcquireFlags flags(const Held& h, const Base& b) {
    AcquireFlags f;
    f.mode = h.mode;
    if (h.read_irq_recursive && (b.in_hard || b.in_soft)) f.mode = Mode::recursive_read;
    f.trylock = h.trylock;
    f.subclass = h.subclass;
    if (!h.nest.cls.empty()) f.nest_lock = instance(h.nest);
    return f;
  }

  // An unlock on a path that does not hold the lock, in a function that takes it on others: the
  // engine's bad_unlock_balance, from a context that releases it holding nothing.
  void replay_unbalanced() {
    for (const auto& [key, list] : unbalanced_)
      for (const auto& [lock, path] : list) {
        const auto& ft = p_.fns.at(key);
        Context ctx = v_.context(next_ctx_++, ft.first->name);
        Site here = site(path);
        v_.release(ctx, instance(lock), here);
        v_.end_context(ctx, here);
      }
  }

  void replay_roots() {
    // Roots: functions no one calls (process context), and each registered callback.
    struct Root {
      std::string fn;
      RunContext ctx;
      std::string object;
      Path reg;  // the registration call, outermost frame
    };
    std::vector<Root> roots;
    std::set<std::pair<std::string, int>> seen;
    for (size_t t = 0; t < p_.tus.size(); ++t)
      for (const auto& r : p_.tus[t]->registrations) {
        if (!p_.fns.count(r.fn)) continue;
        if (!seen.insert({r.fn, int(r.context)}).second) continue;
        Root root{r.fn, r.context, r.object, nullptr};
        if (!r.registrar.empty()) {
          const auto& files = p_.tus[t]->files;
          root.reg = leaf(r.registrar + " (" + r.via + ")", r.loc.file < files.size() ? files[r.loc.file] : "?", r.loc.line);
        }
        roots.push_back(std::move(root));
        st_.callbacks++;
      }
    std::vector<std::string> keys;
    for (const auto& [k, ft] : p_.fns)
      if (ft.first->file_scope && !callers_.count(k)) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    std::set<std::string> registered;
    for (const auto& [fn, ctx] : seen) registered.insert(fn);
    // A registered callback runs where it is registered, not also as a plain process entry.
    for (const auto& k : keys)
      if (!registered.count(k) && seen.insert({k, int(RunContext::process)}).second)
        roots.push_back({k, RunContext::process, "", nullptr});
    st_.roots = roots.size();
    for (const auto& r : roots) replay(r.fn, r.ctx, r.object, r.reg);
  }

  void replay(const std::string& key, RunContext rc, const std::string& object, const Path& reg) {
    const auto& [f, tu] = p_.fns.at(key);
    const Summary& s = p_.summaries[key];
    Base base;
    if (rc == RunContext::hardirq) base = {true, false, false, false, false};
    if (rc == RunContext::softirq) base = {false, true, true, false, false};
    if (rc == RunContext::signal) base.signal = true;
    bool pseudo = !object.empty() && p_.waited_objects.count(object);
    const auto& files = p_.tus[tu]->files;
    Path entry = leaf(f->name, f->loc.file < files.size() ? files[f->loc.file] : "?", f->loc.line);
    if (reg) {
      auto n = std::make_shared<PathNode>(*reg);
      n->inner = entry;
      entry = n;
    }
    // A callback's paths end at its registration ("fpga_probe_part (tasklet_init)").
    auto outer = [&](const Path& p) {
      if (!reg) return p;
      return extend(p, reg->frame.function, reg->frame.file, reg->frame.line);
    };
    for (const Event& e : s.events) {
      if (e.what.lock.cls.empty() && e.kind != EvKind::sleep) continue;
      if (e.kind == EvKind::sleep && e.gfp_param >= 0) continue;  // depends on an unknown caller
      bool named = true;
      for (const auto& h : e.held) named &= !h.lock.cls.empty();
      if (!named) continue;
      Context ctx = v_.context(next_ctx_++, f->name);
      if (base.signal) v_.irq_enter(ctx, Irq::signal);
      std::vector<uint64_t> taken;
      if (pseudo) {
        set_irq(ctx, base, IrqD{});
        LockRef pl{object, "g:" + object, LockKind::other};
        uint64_t id = instance(pl);
        v_.acquire(ctx, id, AcquireFlags{}, site(entry));
        taken.push_back(id);
      }
      for (const Held& h : e.held) {
        set_irq(ctx, base, h.irq);
        uint64_t id = instance(h.lock);
        v_.acquire(ctx, id, flags(h, base), site(outer(h.path)));
        taken.push_back(id);
      }
      Site here = site(outer(e.what.path));
      switch (e.kind) {
        case EvKind::acquire: {
          set_irq(ctx, base, e.what.irq);
          uint64_t id = instance(e.what.lock);
          v_.acquire(ctx, id, flags(e.what, base), here);
          taken.push_back(id);
          break;
        }
        case EvKind::sleep:
          set_irq(ctx, base, e.what.irq);
          v_.might_sleep(ctx, here, e.text);
          break;
        case EvKind::wait: {
          // lockdep's way: the waiter takes the callback's map with interrupts off, so the map
          // itself is never irq-unsafe.
          set_irq(ctx, base, e.what.irq, true);
          LockRef pl{e.what.lock.cls, "g:" + e.what.lock.cls, LockKind::other};
          uint64_t id = instance(pl);
          v_.acquire(ctx, id, AcquireFlags{}, here);
          v_.release(ctx, id, here);
          break;
        }
      }
      for (auto it = taken.rbegin(); it != taken.rend(); ++it) v_.release(ctx, *it, here);
      if (base.signal) v_.irq_exit(ctx, Irq::signal);
      v_.end_context(ctx, here);
      st_.events++;
    }
  }
};

}  // namespace

void analyze_program(const std::vector<const TuFacts*>& tus, Validator& v, AnalysisStats& stats) {
  Program p;
  p.tus = tus;
  Analyzer a(p, v, stats);
  a.run();
}

}  // namespace lockhound::scan
