// One function's dataflow: a set of held-lock states per block of its CFG, branches correlated on
// their conditions, calls composed from the callees' summaries, and the function's summary.
#include "scan/analyze_internal.h"

#include <cctype>
#include <cstring>

namespace lockhound::scan::detail {

const std::string& Analyzer::file_of(const Ctx& c, const SrcLoc& l) const {
  static const std::string none = "?";
  return l.file < c.tu->files.size() ? c.tu->files[l.file] : none;
}

LockRef Analyzer::local(const Ctx& c, LockRef l, const SrcLoc& loc) const {
  if (l.inst.rfind("v:", 0) == 0) l.inst = c.f->key + "|" + l.inst;
  if (l.inst == "?" || l.inst.find('?') != std::string::npos)
    l.inst = "?@" + file_of(c, loc) + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
  return l;
}

void Analyzer::emit(Ctx& c, Event e) {
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

namespace {

// A condition on the function's own integer parameters and constants only ("($1==2)", "$0",
// "(($2&4)!=0)"): what a caller's constant argument can decide.
bool on_params_only(const std::string& key) {
  if (key.find('$') == std::string::npos) return false;
  for (char ch : key)
    if (std::isalpha(static_cast<unsigned char>(ch)) || ch == ':' || ch == '?' || ch == '.' || ch == '_' || ch == '[')
      return false;
  return true;
}

// The value of a condition's text made of constants only (cond_text's grammar: numbers,
// "op(x)", "(x op y)"); false when it is not.
bool eval_const(const std::string& t, size_t& i, int64_t& v) {
  if (i >= t.size()) return false;
  if (std::isdigit(static_cast<unsigned char>(t[i]))) {
    size_t n = i;
    while (n < t.size() && std::isdigit(static_cast<unsigned char>(t[n]))) ++n;
    if (n - i > 18) return false;
    v = std::stoll(t.substr(i, n - i));
    i = n;
    return true;
  }
  if (t[i] == '(') {
    int64_t a = 0, b = 0;
    ++i;
    if (!eval_const(t, i, a)) return false;
    size_t op = i;
    while (i < t.size() && std::strchr("=!<>&|^+-*/%", t[i])) ++i;
    std::string o = t.substr(op, i - op);
    if (!eval_const(t, i, b) || i >= t.size() || t[i] != ')') return false;
    ++i;
    if (o == "==") v = a == b;
    else if (o == "!=") v = a != b;
    else if (o == "<") v = a < b;
    else if (o == ">") v = a > b;
    else if (o == "<=") v = a <= b;
    else if (o == ">=") v = a >= b;
    else if (o == "&") v = a & b;
    else if (o == "|") v = a | b;
    else if (o == "^") v = a ^ b;
    else if (o == "&&") v = a && b;
    else if (o == "||") v = a || b;
    else if (o == "+") v = a + b;
    else if (o == "-") v = a - b;
    else return false;
    return true;
  }
  char u = t[i];
  if ((u == '!' || u == '~' || u == '-') && i + 1 < t.size() && t[i + 1] == '(') {
    i += 2;
    int64_t a = 0;
    if (!eval_const(t, i, a) || i >= t.size() || t[i] != ')') return false;
    ++i;
    v = u == '!' ? !a : u == '~' ? ~a : -a;
    return true;
  }
  return false;
}

}  // namespace

bool Analyzer::const_truth(const std::string& text, bool& truth) {
  if (text.find('$') != std::string::npos) return false;
  size_t i = 0;
  int64_t v = 0;
  if (!eval_const(text, i, v) || i != text.size()) return false;
  truth = v != 0;
  return true;
}

// The state's branch facts a caller can name (not about this function's locals).
std::vector<std::pair<std::string, bool>> Analyzer::facts_of(const State& s) {
  std::vector<std::pair<std::string, bool>> out;
  // Bit flags travel: they are what kernel code sets in one function and tests in another (a
  // "resetting" bit). So do tests of integer parameters against constants: a caller passing a
  // constant decides them (typhoon_reset(ioaddr, WaitNoSleep) never reaches its msleep). Other
  // branch facts would multiply the events for little gain.
  for (const auto& kv : s.conds)
    if ((kv.first.rfind("bit(", 0) == 0 && kv.first.find("v:") == std::string::npos && kv.first.find('?') == std::string::npos) ||
        on_params_only(kv.first))
      out.push_back(kv);
  return out;
}

// Replaces every "$k" in a fact's text by the call's argument k: the lock or object it names, the
// caller's parameter it passes on, or its constant value (a value that may be a negative number
// in the callee's terms is not used). False when an argument that is needed cannot be named in
// the caller.
bool Analyzer::subst_text(std::string& text, const std::vector<ArgFact>& args) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size() || !isdigit(static_cast<unsigned char>(text[i + 1]))) {
      out += text[i];
      continue;
    }
    size_t n = i + 1;
    while (n < text.size() && isdigit(static_cast<unsigned char>(text[n]))) ++n;
    size_t k = std::stoul(text.substr(i + 1, n - i - 1));
    if (k >= args.size()) return false;
    const ArgFact& a = args[k];
    if (!a.lock.inst.empty() && a.lock.inst.find('?') == std::string::npos) {
      out += a.lock.inst;
    } else if (a.has_value && a.value < (uint64_t(1) << 31)) {
      out += std::to_string(a.value);
    } else if (a.param >= 0 && a.lock.inst.empty()) {
      out += "$" + std::to_string(a.param);
    } else {
      return false;
    }
    i = n - 1;
  }
  text = std::move(out);
  return true;
}

// The path's ops fact for a struct type: "ops:" + the type + "=" + the groups its methods may
// still come from, sorted, separated by '\x1e'.
bool Analyzer::same_group(const State& s, const Op& op, const std::string& target, std::string& fact) const {
  for (const auto& t : op.targets) {
    if (t.rfind("field:", 0) != 0) continue;
    std::string field = t.substr(6);
    auto fg = p_.binding_groups.find(field);
    if (fg == p_.binding_groups.end()) continue;
    auto groups = fg->second.find(target);
    if (groups == fg->second.end()) continue;  // reached another way (a parameter's binding)
    auto sep = field.rfind("::");
    if (sep == std::string::npos) continue;
    std::string prefix = "ops:" + field.substr(0, sep) + "=";
    auto join = [&](const std::set<std::string>& gs) {
      std::string k = prefix;
      for (const auto& g : gs) k += (k.size() > prefix.size() ? "\x1e" : "") + g;
      return k;
    };
    for (const auto& [k, v] : s.conds) {
      if (!v || k.rfind(prefix, 0) != 0) continue;
      std::set<std::string> chosen, both;
      for (size_t a = prefix.size(); a <= k.size();) {
        size_t b = k.find('\x1e', a);
        if (b == std::string::npos) b = k.size();
        chosen.insert(k.substr(a, b - a));
        a = b + 1;
      }
      for (const auto& g : chosen) {
        auto gf = p_.group_fields.find(g);
        if (gf == p_.group_fields.end() || !gf->second.count(field)) return true;  // stores nothing here
        if (groups->second.count(g)) both.insert(g);
      }
      if (both.empty()) return false;
      if (both.size() < chosen.size()) fact = join(both);
      return true;
    }
    fact = join(groups->second);
    return true;
  }
  return true;
}

void Analyzer::set_fact(State& s, const std::string& key, bool value) {
  for (auto& kv : s.conds)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  if (s.conds.size() >= kMaxConds) s.conds.erase(s.conds.begin());
  s.conds.emplace_back(key, value);
  std::sort(s.conds.begin(), s.conds.end());
}

void Analyzer::release_from(Ctx& c, State& s, const LockRef& l, bool direct, const Path* at) {
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
bool Analyzer::acquires_directly(const FunctionFacts& f, const std::string& cls) {
  for (const auto& b : f.blocks)
    for (const auto& op : b.ops)
      if (op.kind == OpKind::acquire && op.lock.cls == cls) return true;
  return false;
}

void Analyzer::acquire_into(Ctx& c, State& s, Held h) {
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

void Analyzer::expire_guards(Ctx& c, State& s, const SrcLoc& at, bool all) {
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

void Analyzer::irq_apply(State& s, IrqEffect eff, bool acquire) {
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

// A lock named by a local variable of this function ("f|v:p->lock") that comes back in a callee's
// event was taken by another activation of this function (the call chain re-entered it): its
// local is another variable, so not provably the same lock. ps2mult_interrupt takes the lock of
// the port's own multiplexer and, through serio_interrupt and a driver's callback, could reach
// ps2mult_interrupt again for another port: "another instance", not a certain self-deadlock.
void Analyzer::other_activation(const Ctx& c, LockRef& l, const SrcLoc& call) const {
  const std::string own = c.f->key + "|v:";
  if (l.inst.compare(0, own.size(), own) == 0)
    l.inst += "@" + std::to_string(call.line) + ":" + std::to_string(call.col);
}

// Substitutes the callee's parameters by the call's arguments. False: the lock cannot be named.
bool Analyzer::subst(LockRef& l, const std::vector<ArgFact>& args) {
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

bool Analyzer::subst_held(Ctx& c, Held& h, const std::vector<ArgFact>& args, const Op& call, const State& s) {
  if (!subst(h.lock, args)) return false;
  if (!h.nest.cls.empty() || !h.nest.inst.empty()) subst(h.nest, args);
  h.lock = local(c, h.lock, call.loc);
  h.irq = compose(s.irq, h.irq, s.saved);
  h.path = extend(h.path, c.f->name, file_of(c, call.loc), call.loc.line);
  h.scope_end = 0;
  h.token = -1;
  return true;
}

void Analyzer::do_call(Ctx& c, State& s, const Op& op, const std::string& target, std::vector<State>& out) {
  Summary& cs = p_.summaries[target];
  const auto caller_facts = facts_of(s);
  for (const Event& ce : cs.events) {
    // An event whose path already passed through this function, and went on from it, comes
    // round a recursive call chain (ipmi: smi_send -> ... -> a receive handler run inline ->
    // i_ipmi_request -> smi_send). Such chains are guarded by state the analysis does not
    // track (run_to_completion, set only on panic) and were reported as a lock taken twice. The
    // path's innermost frame is not looked at: f holding a lock and calling f, which takes it
    // again, is still found.
    bool round = false;
    for (const PathNode* n = ce.what.path.get(); n && n->inner && !round; n = n->inner.get())
      round = n->frame.function == c.f->name;
    if (round) continue;
    Event e = ce;
    // Facts the callee's path needs, in the caller's terms: a contradiction means this caller
    // never reaches the event (a bit it set, a flag it tested).
    std::vector<std::pair<std::string, bool>> pre = caller_facts;
    bool reachable = true;
    for (auto [k, v] : ce.pre) {
      if (!subst_text(k, op.args)) continue;
      if (bool t; const_truth(k, t)) {  // decided by the constants this call passes
        reachable &= t == v;
        continue;
      }
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
    other_activation(c, e.what.lock, op.loc);
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
      other_activation(c, h.lock, op.loc);
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
std::vector<State> Analyzer::run_block(Ctx& c, const Block& b, State s) {
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
          if (op.token >= 0) {  // a new result: what the last one was tested to be is stale
            std::string tk = token_fact(op.token);
            st.conds.erase(std::remove_if(st.conds.begin(), st.conds.end(), [&](const auto& kv) { return kv.first == tk; }),
                           st.conds.end());
          }
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
          // Through a field, the targets of one group only (same_group); all of them if the
          // facts rule every one out (they do not, but a path is never lost to them).
          std::vector<std::pair<const std::string*, std::string>> go;  // target, fact to record
          for (const auto& t : targets) {
            std::string fact;
            if (same_group(st, op, t, fact)) go.emplace_back(&t, std::move(fact));
          }
          if (go.empty())
            for (const auto& t : targets) go.emplace_back(&t, std::string());
          for (const auto& [t, fact] : go) {
            if (fact.empty()) {
              do_call(c, st, op, *t, next);
              continue;
            }
            State s2 = st;
            std::string type = fact.substr(0, fact.find('=') + 1);
            std::erase_if(s2.conds, [&](const auto& kv) { return kv.first.rfind(type, 0) == 0; });
            set_fact(s2, fact, true);
            do_call(c, s2, op, *t, next);
          }
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
        case OpKind::queue:  // read by index(): where a callback runs, not what this path holds
          next.push_back(std::move(st));
          break;
        case OpKind::ret:
          expire_guards(c, st, op.loc, true);
          c.returns.emplace_back(std::move(st), op.loc);
          c.ret_ops.push_back(&op);
          break;
      }
    }
    if (next.size() > 1) {
      std::vector<std::string> seen;
      std::vector<State> kept;
      for (State& st : next)
        if (admit(seen, st)) kept.push_back(std::move(st));
      next = std::move(kept);
    }
    cur = std::move(next);
    if (cur.empty()) break;
  }
  return cur;
}

bool Analyzer::admit(std::vector<std::string>& seen, State& st) {
  std::string k = st.key();
  if (std::find(seen.begin(), seen.end(), k) != seen.end()) return false;
  if (seen.size() >= kStatesPerBlock) {
    // The ops facts stay: without them a path that took one group's lock would release it
    // through another group's method (same_group).
    std::erase_if(st.conds, [](const auto& kv) { return kv.first.rfind("ops:", 0) != 0; });
    k = st.key();
    if (std::find(seen.begin(), seen.end(), k) != seen.end() || seen.size() >= 2 * kStatesPerBlock) return false;
  }
  seen.push_back(std::move(k));
  return true;
}

void Analyzer::branch(Ctx& c, const Block& b, State s, std::vector<std::pair<int32_t, State>>& work) {
  const Cond& cond = b.cond;
  for (int side = 0; side < 2; ++side) {
    int32_t to = b.succ[size_t(side)];
    if (to < 0) continue;
    bool truth = side == 0;           // the condition as written holds on succ[0]
    bool val = truth != cond.negate;  // value of the stripped expression
    State n = s;
    if (cond.token >= 0) {
      // A trylock's result tested again (the `!` around spin_trylock_irqsave's statement
      // expression, after its own `?:`) goes the way it went the first time.
      std::string tk = token_fact(cond.token);
      bool consistent = true, known = false;
      for (const auto& [k, v] : n.conds)
        if (k == tk) known = true, consistent = v == val;
      if (!consistent) continue;
      for (size_t i = 0; i < n.held.size(); ++i) {
        Held& h = n.held[i];
        if (h.token != cond.token) continue;
        bool success = val != h.try_zero;
        if (success) {
          h.token = -1;
        } else {
          n.held.erase(n.held.begin() + long(i));
        }
        if (!known) set_fact(n, tk, val);
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
bool Analyzer::conditional_acquire(const Ctx& c, const std::vector<size_t>& holding) {
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

void Analyzer::finish(Ctx& c, Summary& prev, Summary& fresh) {
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

}  // namespace lockhound::scan::detail
