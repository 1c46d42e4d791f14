// Function bodies: each function's CFG read block by block into lock, sleep, wait and call
// operations, branch conditions (trylock results, bit tests) and returns.
#include "scan/extract_internal.h"

#include <bit>

namespace lockhound::scan::detail {

using namespace clang;

int Extractor::token_for(const ValueDecl* d) {
  auto [it, fresh] = var_token_.emplace(d, next_token_);
  if (fresh) ++next_token_;
  return it->second;
}

int Extractor::token_of_call(const CallExpr* ce) {
  auto [it, fresh] = call_token_.emplace(ce, next_token_);
  if (fresh) ++next_token_;
  return it->second;
}

// Canonical text of a condition, and the variables it reads; false when it calls something.
bool Extractor::cond_text(const Expr* e, std::string& s, std::vector<std::string>& vars) const {
  e = strip(e);
  if (!e) return false;
  if (auto* il = dyn_cast<IntegerLiteral>(e)) {
    s += std::to_string(il->getValue().getZExtValue());
    return true;
  }
  // An enumerator (`wait_type == WaitSleep`) by its value, so that a caller's constant argument
  // can decide the branch (Analyzer::do_call).
  if (auto* dr = dyn_cast<DeclRefExpr>(e); dr && isa<EnumConstantDecl>(dr->getDecl())) {
    s += std::to_string(cast<EnumConstantDecl>(dr->getDecl())->getInitVal().getExtValue());
    return true;
  }
  if (isa<DeclRefExpr>(e) || isa<MemberExpr>(e)) {
    std::string t = inst_text(e);
    if (t == "?") return false;
    s += t;
    vars.push_back(t);
    if (auto* me = dyn_cast<MemberExpr>(e)) {
      // A write to the base pointer kills the fact too.
      std::vector<std::string> inner;
      std::string ignored;
      cond_text(me->getBase(), ignored, inner);
      vars.insert(vars.end(), inner.begin(), inner.end());
    }
    return true;
  }
  if (auto* uo = dyn_cast<UnaryOperator>(e)) {
    s += UnaryOperator::getOpcodeStr(uo->getOpcode()).str() + "(";
    if (!cond_text(uo->getSubExpr(), s, vars)) return false;
    s += ")";
    return !uo->isIncrementDecrementOp();
  }
  if (auto* bo = dyn_cast<BinaryOperator>(e)) {
    if (bo->isAssignmentOp()) return false;
    s += "(";
    if (!cond_text(bo->getLHS(), s, vars)) return false;
    s += BinaryOperator::getOpcodeStr(bo->getOpcode()).str();
    if (!cond_text(bo->getRHS(), s, vars)) return false;
    s += ")";
    return true;
  }
  Expr::EvalResult r;
  if (e->EvaluateAsInt(r, ctx_)) {
    s += std::to_string(r.Val.getInt().getExtValue());
    return true;
  }
  return false;
}

bool Extractor::is_bit_test(const CallExpr* ce) {
  const FunctionDecl* fd = ce->getDirectCallee();
  const CallApi* api = fd ? lookup_call(fd->getName()) : nullptr;
  return api && api->bit == CallApi::Bit::test;
}

// "bit(NR,ADDR)" for a bit operation with a constant bit number and a nameable address.
bool Extractor::bit_key(const CallExpr* ce, std::string& key) const {
  if (ce->getNumArgs() < 2) return false;
  Expr::EvalResult r;
  if (!ce->getArg(0)->EvaluateAsInt(r, ctx_)) return false;
  std::string addr = inst_text(ce->getArg(1));
  if (addr.find('?') != std::string::npos) return false;
  key = "bit(" + std::to_string(r.Val.getInt().getExtValue()) + "," + addr + ")";
  return true;
}

// The value of an expression that is a constant, looking through statement expressions (whose
// value is their last expression, whatever they call before it).
bool Extractor::constant_value(const Expr* e, int64_t& v) const {
  e = strip(e);
  for (int depth = 0; e && depth < 8; ++depth) {
    auto* se = dyn_cast<StmtExpr>(e);
    if (!se) break;
    const CompoundStmt* body = se->getSubStmt();
    const Expr* last = body && !body->body_empty() ? dyn_cast<Expr>(body->body_back()) : nullptr;
    e = last ? strip(last) : nullptr;
  }
  Expr::EvalResult r;
  if (!e || e->HasSideEffects(ctx_) || !e->EvaluateAsInt(r, ctx_)) return false;
  v = r.Val.getInt().getExtValue();
  return true;
}

Cond Extractor::make_cond(const Expr* c) {
  Cond cond;
  const Expr* e = strip(c);
  bool neg = false;
  while (true) {
    // test_bit() is a macro choosing between two inlines on a condition the compiler folds.
    if (auto* co = dyn_cast_or_null<ConditionalOperator>(e)) {
      bool which = false;
      if (co->getCond()->EvaluateAsBooleanCondition(which, ctx_)) {
        e = strip(which ? co->getTrueExpr() : co->getFalseExpr());
        continue;
      }
      // Both arms test the same bit (const_test_bit / _test_bit): either will do.
      auto* a = dyn_cast<CallExpr>(strip(co->getTrueExpr()));
      auto* b = dyn_cast<CallExpr>(strip(co->getFalseExpr()));
      std::string ka, kb;
      if (a && b && is_bit_test(a) && is_bit_test(b) && bit_key(a, ka) && bit_key(b, kb) && ka == kb) {
        e = a;
        continue;
      }
    }
    // A statement expression's value is its last expression: spin_trylock_irqsave() is
    // `({ local_irq_save(f); trylock(l) ? 1 : ({ local_irq_restore(f); 0; }); })`.
    if (auto* se = dyn_cast_or_null<StmtExpr>(e)) {
      const CompoundStmt* body = se->getSubStmt();
      const Expr* last = body && !body->body_empty() ? dyn_cast<Expr>(body->body_back()) : nullptr;
      if (!last) break;
      e = strip(last);
      continue;
    }
    // `c ? 1 : 0` (arms of constant truth, as trylock macros return) is `c`, or `!c`.
    if (auto* co = dyn_cast_or_null<ConditionalOperator>(e)) {
      int64_t t = 0, f = 0;
      if (constant_value(co->getTrueExpr(), t) && constant_value(co->getFalseExpr(), f) && (t != 0) != (f != 0)) {
        if (t == 0) neg = !neg;
        e = strip(co->getCond());
        continue;
      }
    }
    if (auto* uo = dyn_cast_or_null<UnaryOperator>(e); uo && uo->getOpcode() == UO_LNot) {
      neg = !neg;
      e = strip(uo->getSubExpr());
      continue;
    }
    if (auto* bo = dyn_cast_or_null<BinaryOperator>(e); bo && (bo->getOpcode() == BO_EQ || bo->getOpcode() == BO_NE)) {
      Expr::EvalResult r;
      const Expr* other = nullptr;
      if (bo->getRHS()->EvaluateAsInt(r, ctx_) && r.Val.getInt() == 0) other = bo->getLHS();
      else if (bo->getLHS()->EvaluateAsInt(r, ctx_) && r.Val.getInt() == 0) other = bo->getRHS();
      if (other) {
        if (bo->getOpcode() == BO_EQ) neg = !neg;
        e = strip(other);
        continue;
      }
    }
    break;
  }
  if (!e) return cond;
  cond.negate = neg;
  // `x->flags & FLAG` with a one-bit FLAG is test_bit(n, &x->flags): the same key, so that the
  // two spellings correlate, and the fact travels into callees as a bit does (bnx2x's IS_VF(bp)
  // in its timer and IS_PF(bp) three calls down).
  if (auto* bo = dyn_cast<BinaryOperator>(e); bo && bo->getOpcode() == BO_And) {
    int64_t mask = 0;
    const Expr* word = nullptr;
    if (constant_value(bo->getRHS(), mask)) word = bo->getLHS();
    else if (constant_value(bo->getLHS(), mask)) word = bo->getRHS();
    std::string addr = word ? inst_text(word) : "?";
    if (word && mask > 0 && (mask & (mask - 1)) == 0 && addr.find('?') == std::string::npos &&
        word->getType()->isIntegerType()) {
      cond.key = "bit(" + std::to_string(std::countr_zero(uint64_t(mask))) + ",&" + addr + ")";
      cond.vars = {"&" + addr};
      return cond;
    }
  }
  if (auto* ce = dyn_cast<CallExpr>(e)) {
    const FunctionDecl* fd = ce->getDirectCallee();
    const CallApi* api = fd ? lookup_call(fd->getName()) : nullptr;
    std::string key;
    if (api && api->bit == CallApi::Bit::test && bit_key(ce, key)) {
      cond.key = key;
      std::string addr = inst_text(ce->getArg(1));
      cond.vars = {addr};
      return cond;
    }
    cond.token = token_of_call(ce);
    return cond;
  }
  if (auto* dr = dyn_cast<DeclRefExpr>(e)) {
    auto it = var_token_.find(dr->getDecl());
    if (it != var_token_.end()) cond.token = it->second;
  }
  std::string s;
  std::vector<std::string> vars;
  // `a != b` is the negation of `a == b`, keyed as it: the two spellings correlate (ns83820's
  // rx_refill locks `if (gfp == GFP_ATOMIC)` and unlocks `if (gfp != GFP_ATOMIC)`).
  if (auto* ne = dyn_cast<BinaryOperator>(e); ne && ne->getOpcode() == BO_NE) {
    std::string l, r;
    if (cond_text(strip(ne->getLHS()), l, vars) && cond_text(strip(ne->getRHS()), r, vars)) {
      cond.key = "(" + l + "==" + r + ")";
      cond.negate = !cond.negate;
      std::sort(vars.begin(), vars.end());
      vars.erase(std::unique(vars.begin(), vars.end()), vars.end());
      cond.vars = std::move(vars);
    }
    return cond;
  }
  if (cond_text(e, s, vars)) {
    cond.key = s;
    std::sort(vars.begin(), vars.end());
    vars.erase(std::unique(vars.begin(), vars.end()), vars.end());
    cond.vars = std::move(vars);
  }
  return cond;
}

void Extractor::add_kill(Block& b, const Expr* lhs, SourceLocation loc) {
  std::string t = inst_text(lhs);
  if (t == "?") return;
  Op op;
  op.kind = OpKind::kill;
  op.loc = where(loc);
  op.vars.push_back(t);
  // A variable holding a trylock's result: its new value says nothing of that lock.
  if (auto* dr = dyn_cast<DeclRefExpr>(strip(lhs)))
    if (auto it = var_token_.find(dr->getDecl()); it != var_token_.end()) op.vars.push_back(token_fact(it->second));
  b.ops.push_back(std::move(op));
}

void Extractor::lock_op(Block& b, const CallExpr* ce, const LockApi& api, std::string_view name) {
  Op op;
  op.kind = api.acquire ? OpKind::acquire : OpKind::release;
  op.loc = where(ce->getBeginLoc());
  op.api = std::string(name);
  if (api.lock_arg < 0) {
    op.lock.cls = std::string(api.member);
    op.lock.inst = "g:" + op.lock.cls;
    op.lock.kind = api.kind;
  } else {
    if (unsigned(api.lock_arg) >= ce->getNumArgs()) return;
    const Expr* arg = ce->getArg(unsigned(api.lock_arg));
    if (!api.member.empty()) {
      // lock_sock(sk): the lock is a field of the argument's struct.
      QualType t = arg->IgnoreParenImpCasts()->getType();
      std::string rec = "?";
      if (t->isPointerType())
        if (auto* rt = t->getPointeeType()->getAs<RecordType>()) rec = record_name(rt->getDecl());
      op.lock.cls = "struct " + rec + "::" + std::string(api.member);
      std::string base = inst_text(arg);
      op.lock.inst = base == "?" ? "?" : base + "->" + std::string(api.member);
      op.lock.kind = api.kind;
    } else if (!lock_of(arg, api.kind, op.lock)) {
      return;
    }
  }
  op.mode = api.mode;
  op.read_irq_recursive = api.read_irq_recursive;
  op.trylock = api.trylock;
  op.try_zero = api.try_zero;
  op.irq = api.irq;
  if (api.trylock || api.interruptible) op.token = token_of_call(ce);
  if (api.nested && api.extra_arg >= 0 && unsigned(api.extra_arg) < ce->getNumArgs()) {
    Expr::EvalResult r;
    if (ce->getArg(unsigned(api.extra_arg))->EvaluateAsInt(r, ctx_))
      op.subclass = uint8_t(std::min<int64_t>(7, std::max<int64_t>(0, r.Val.getInt().getExtValue())));
  }
  if (api.nest_lock && api.extra_arg >= 0 && unsigned(api.extra_arg) < ce->getNumArgs())
    lock_of(ce->getArg(unsigned(api.extra_arg)), LockKind::other, op.nest);
  b.ops.push_back(std::move(op));
}

std::string Extractor::arg_text(const Expr* e) const {
  SourceRange r = e->getSourceRange();
  CharSourceRange cr = CharSourceRange::getTokenRange(sm_.getExpansionRange(r).getAsRange());
  bool invalid = false;
  StringRef t = Lexer::getSourceText(cr, sm_, ctx_.getLangOpts(), &invalid);
  if (invalid || t.size() > 40) return "";
  return t.str();
}

void Extractor::sleep_op(Block& b, const CallExpr* ce, const std::string& name, int gfp_arg) {
  Op op;
  op.kind = OpKind::sleep;
  op.loc = where(ce->getBeginLoc());
  op.api = name;
  op.what = name;
  if (gfp_arg >= 0) {
    if (unsigned(gfp_arg) >= ce->getNumArgs()) return;
    const Expr* a = ce->getArg(unsigned(gfp_arg));
    Expr::EvalResult r;
    if (a->EvaluateAsInt(r, ctx_)) {
      if (!(r.Val.getInt().getZExtValue() & gfp_bit_)) return;
      std::string t = arg_text(a);
      op.what = name + "(" + (t.empty() ? "gfp" : t) + ")";
    } else {
      int p = param_of(a);
      if (p < 0) return;  // flags we cannot evaluate: no evidence
      op.gfp_param = p;
      op.what = name + "(" + arg_text(a) + ")";
    }
  }
  b.ops.push_back(std::move(op));
}

int Extractor::gfp_param_index(const FunctionDecl* fd) {
  for (unsigned i = 0; i < fd->getNumParams(); ++i) {
    QualType t = fd->getParamDecl(i)->getType();
    if (auto* tt = t->getAs<TypedefType>(); tt && tt->getDecl()->getName() == "gfp_t") return int(i);
  }
  return -1;
}

// atomic_notifier_chain_register(&panic_notifier_list, &nb): nb's notifier_call runs from panic(),
// which has turned local interrupts off first (Extractor::run marks its registration).
void Extractor::note_panic_notifier(const std::string& name, const CallExpr* ce) {
  if (name != "atomic_notifier_chain_register" || ce->getNumArgs() < 2) return;
  auto var = [&](const Expr* e) -> const VarDecl* {
    e = strip(e);
    if (auto* uo = dyn_cast_or_null<UnaryOperator>(e); uo && uo->getOpcode() == UO_AddrOf) e = strip(uo->getSubExpr());
    auto* dr = dyn_cast_or_null<DeclRefExpr>(e);
    return dr ? dyn_cast<VarDecl>(dr->getDecl()) : nullptr;
  };
  const VarDecl* list = var(ce->getArg(0));
  const VarDecl* nb = var(ce->getArg(1));
  if (list && nb && list->getName() == "panic_notifier_list") panic_notifiers_.insert(nb->getCanonicalDecl());
}

void Extractor::call_expr(Block& b, const CallExpr* ce) {
  const FunctionDecl* fd = ce->getDirectCallee();
  if (fd) {
    std::string name = fd->getName().str();
    // guard()'s constructor and destructor: the cleanup variable stands for the lock (guard()).
    if (name.rfind("class_", 0) == 0 &&
        (llvm::StringRef(name).endswith("_constructor") || llvm::StringRef(name).endswith("_destructor")))
      return;
    note_panic_notifier(name, ce);
    if (const CallApi* api = lookup_call(name)) {
      if (api->lock) lock_op(b, ce, *api->lock, name);
      if (api->irq != IrqOp::none) {
        Op op;
        op.kind = OpKind::irq;
        op.irq_op = api->irq;
        op.api = name;
        op.loc = where(ce->getBeginLoc());
        b.ops.push_back(std::move(op));
      }
      if (api->bit == CallApi::Bit::set || api->bit == CallApi::Bit::clear || api->bit == CallApi::Bit::test_set ||
          api->bit == CallApi::Bit::test_clear) {
        std::string key;
        if (bit_key(ce, key)) {
          Op op;
          op.kind = OpKind::assume;
          op.api = name;
          op.what = key;
          op.fact_value = api->bit == CallApi::Bit::set || api->bit == CallApi::Bit::test_set;
          op.loc = where(ce->getBeginLoc());
          b.ops.push_back(std::move(op));
        }
      }
      if (api->sleeps) sleep_op(b, ce, name, api->gfp_arg);
      if (api->wait_object_arg >= 0 && unsigned(api->wait_object_arg) < ce->getNumArgs()) {
        std::string obj = object_of(ce->getArg(unsigned(api->wait_object_arg)));
        if (!obj.empty()) {
          Op op;
          op.kind = OpKind::wait;
          op.api = name;
          op.what = name;
          op.lock.cls = obj;
          op.loc = where(ce->getBeginLoc());
          b.ops.push_back(std::move(op));
        }
      }
      if (api->queue_work_arg >= 0 && unsigned(api->queue_work_arg) < ce->getNumArgs()) {
        std::string work = object_of(ce->getArg(unsigned(api->queue_work_arg)));
        std::string queue = api->queue_arg < 0 ? "system_wq"
                            : unsigned(api->queue_arg) < ce->getNumArgs() ? object_of(ce->getArg(unsigned(api->queue_arg)))
                                                                          : "";
        if (!work.empty() && !queue.empty()) {
          Op op;
          op.kind = OpKind::queue;
          op.api = name;
          op.what = queue;
          op.lock.cls = work;
          op.loc = where(ce->getBeginLoc());
          b.ops.push_back(std::move(op));
        }
      }
      for (const EntryApi& en : api->entries) {
        if (unsigned(en.callback_arg) >= ce->getNumArgs()) continue;
        for (const FunctionDecl* cb : function_refs(ce->getArg(unsigned(en.callback_arg)))) {
          want(cb);
          Registration r;
          r.fn = key_of(cb);
          r.context = en.context;
          if (en.object_arg >= 0 && unsigned(en.object_arg) < ce->getNumArgs())
            r.object = object_of(ce->getArg(unsigned(en.object_arg)));
          r.via = name;
          r.registrar = fn_name_;
          r.loc = where(ce->getBeginLoc());
          out_.facts.registrations.push_back(std::move(r));
        }
      }
      return;
    }
    const FunctionDecl* def = nullptr;
    if (!fd->hasBody(def)) {
      int g = gfp_param_index(fd);
      if (g >= 0) sleep_op(b, ce, name, g);
      if (fd->getBuiltinID() || g >= 0) return;
    }
    if (fd->getBuiltinID()) return;
    Op op;
    op.kind = OpKind::call;
    op.api = name;
    op.loc = where(ce->getBeginLoc());
    op.targets.push_back(key_of(fd));
    fill_args(op, ce);
    if (def) want(def);
    b.ops.push_back(std::move(op));
    // A function passed as an argument: the callee's calls through that parameter reach it
    // (bound like a struct field, for every caller: "param:callee#i").
    for (unsigned i = 0; i < ce->getNumArgs(); ++i)
      if (const FunctionDecl* cb = function_ref(ce->getArg(i))) {
        out_.facts.bindings.push_back({"param:" + key_of(fd) + "#" + std::to_string(i), key_of(cb), ""});
        want(cb);
      }
    return;
  }
  // A call through a pointer: resolved later through the field's bindings.
  const Expr* callee = strip(ce->getCallee());
  if (auto* uo = dyn_cast_or_null<UnaryOperator>(callee); uo && uo->getOpcode() == UO_Deref) callee = strip(uo->getSubExpr());
  // Through a parameter: the functions callers pass there.
  if (int p = param_of(callee); p >= 0 && fn_) {
    Op op;
    op.kind = OpKind::call;
    op.api = cast<DeclRefExpr>(callee)->getDecl()->getName().str();
    op.loc = where(ce->getBeginLoc());
    op.targets.push_back("field:param:" + key_of(fn_) + "#" + std::to_string(p));
    fill_args(op, ce);
    b.ops.push_back(std::move(op));
    return;
  }
  if (auto* me = dyn_cast_or_null<MemberExpr>(callee)) {
    if (auto* fdl = dyn_cast<FieldDecl>(me->getMemberDecl())) {
      Op op;
      op.kind = OpKind::call;
      op.api = fdl->getName().str();
      op.loc = where(ce->getBeginLoc());
      op.targets.push_back("field:" + field_class(fdl));
      fill_args(op, ce);
      b.ops.push_back(std::move(op));
    }
  }
}

void Extractor::fill_args(Op& op, const CallExpr* ce) {
  for (unsigned i = 0; i < ce->getNumArgs(); ++i) {
    const Expr* a = ce->getArg(i);
    ArgFact f;
    f.param = param_of(a);
    Expr::EvalResult r;
    if (f.param < 0 && !a->HasSideEffects(ctx_) && a->getType()->isIntegerType() && a->EvaluateAsInt(r, ctx_)) {
      f.has_value = true;
      f.value = r.Val.getInt().getZExtValue();
    }
    if (a->getType()->isPointerType()) {
      LockRef l;
      if (lock_of(a, LockKind::other, l)) f.lock = l;
      else f.lock.inst = inst_text(a);
      if (f.lock.cls.empty()) f.lock.kind = LockKind::other;
    }
    op.args.push_back(std::move(f));
  }
}

void Extractor::statement(Block& b, const Stmt* s) {
  if (auto* ce = dyn_cast<CallExpr>(s)) {
    call_expr(b, ce);
    // &var passed to a call may change it.
    for (unsigned i = 0; i < ce->getNumArgs(); ++i)
      if (auto* uo = dyn_cast<UnaryOperator>(strip(ce->getArg(i))); uo && uo->getOpcode() == UO_AddrOf)
        if (isa<DeclRefExpr>(strip(uo->getSubExpr()))) add_kill(b, uo->getSubExpr(), ce->getBeginLoc());
    return;
  }
  if (auto* bo = dyn_cast<BinaryOperator>(s)) {
    if (!bo->isAssignmentOp()) return;
    add_kill(b, bo->getLHS(), bo->getBeginLoc());
    if (auto* me = dyn_cast<MemberExpr>(strip(bo->getLHS())))
      if (auto* fd = dyn_cast<FieldDecl>(me->getMemberDecl()))
        if (auto* target = function_ref(bo->getRHS()))
          bind_field(fd, target, me->getBase(), bo->getBeginLoc(), fn_name_, false,
                     "asg:" + fn_name_ + "|" + field_class(fd).substr(0, field_class(fd).rfind("::")));
    return;
  }
  if (auto* uo = dyn_cast<UnaryOperator>(s)) {
    if (uo->isIncrementDecrementOp()) add_kill(b, uo->getSubExpr(), uo->getBeginLoc());
    return;
  }
  if (auto* ds = dyn_cast<DeclStmt>(s)) {
    for (const Decl* d : ds->decls()) {
      auto* vd = dyn_cast<VarDecl>(d);
      if (!vd) continue;
      auto g = guard_scope_.find(vd);
      if (g != guard_scope_.end()) guard(b, vd, g->second);
      if (vd->hasInit() && !vd->hasGlobalStorage()) {
        Op op;
        op.kind = OpKind::kill;
        op.loc = where(vd->getLocation());
        op.vars.push_back("v:" + vd->getName().str());
        b.ops.push_back(std::move(op));
      }
    }
    return;
  }
  if (auto* rs = dyn_cast<ReturnStmt>(s)) {
    Op op;
    op.kind = OpKind::ret;
    op.loc = where(rs->getBeginLoc());
    // The returned constant (args[0]) tells a conditional acquire (`return 0` holding the lock,
    // `return -EINTR` without it) from an error path that forgot to unlock.
    Expr::EvalResult r;
    if (rs->getRetValue() && !rs->getRetValue()->HasSideEffects(ctx_) && rs->getRetValue()->getType()->isIntegerType() &&
        rs->getRetValue()->EvaluateAsInt(r, ctx_)) {
      ArgFact v;
      v.has_value = true;
      v.value = uint64_t(r.Val.getInt().getExtValue());
      op.args.push_back(v);
    }
    b.ops.push_back(std::move(op));
  }
}

// guard(name)(&l): a cleanup variable initialised by class_<name>_constructor(&l).
void Extractor::guard(Block& b, const VarDecl* vd, uint32_t scope_end) {
  auto* ce = dyn_cast_or_null<CallExpr>(vd->getInit() ? strip(vd->getInit()) : nullptr);
  if (!ce || !ce->getDirectCallee()) return;
  std::string ctor = ce->getDirectCallee()->getName().str();
  const std::string pre = "class_", post = "_constructor";
  if (ctor.size() <= pre.size() + post.size() || ctor.rfind(pre, 0) != 0 ||
      ctor.compare(ctor.size() - post.size(), post.size(), post) != 0)
    return;
  std::string gname = ctor.substr(pre.size(), ctor.size() - pre.size() - post.size());
  std::string_view api = lookup_guard(gname);
  const CallApi* c = api.empty() ? nullptr : lookup_call(api);
  if (!c || !c->lock) return;
  size_t before = b.ops.size();
  lock_op(b, ce, *c->lock, api);
  if (b.ops.size() > before) {
    b.ops.back().scope_end = scope_end;
    b.ops.back().trylock = false;
  }
}

bool Extractor::calls_noreturn(const CFGBlock& blk) {
  for (const CFGElement& el : blk)
    if (auto s = el.getAs<CFGStmt>())
      if (auto* ce = dyn_cast<CallExpr>(s->getStmt())) {
        if (auto* fd = ce->getDirectCallee())
          if (fd->isNoReturn() || fd->hasAttr<NoReturnAttr>() || fd->getName() == "__builtin_unreachable" ||
              fd->getName() == "__builtin_trap")
            return true;
      }
  return false;
}

void Extractor::analyse(const FunctionDecl* fd) {
  fn_ = fd;
  fn_name_ = fd->getName().str();
  var_token_.clear();
  call_token_.clear();
  guard_scope_.clear();
  next_token_ = 0;
  Stmt* body = fd->getBody();
  if (!body) return;
  PrePass pre(*this);
  pre.TraverseStmt(body);

  CFG::BuildOptions bo;
  bo.PruneTriviallyFalseEdges = true;
  std::unique_ptr<CFG> cfg = CFG::buildCFG(fd, body, &ctx_, bo);
  if (!cfg) return;

  FunctionFacts f;
  f.key = key_of(fd);
  f.name = fn_name_;
  f.loc = where(fd->getLocation());
  f.end_line = sm_.getExpansionLineNumber(body->getEndLoc());
  f.file_scope = in_main(fd->getLocation());
  f.blocks.resize(cfg->getNumBlockIDs());
  f.entry = int32_t(cfg->getEntry().getBlockID());
  f.exit = int32_t(cfg->getExit().getBlockID());
  for (const CFGBlock* blk : *cfg) {
    Block& b = f.blocks[blk->getBlockID()];
    for (const CFGElement& el : *blk)
      if (auto s = el.getAs<CFGStmt>()) statement(b, s->getStmt());
    for (auto it = blk->succ_begin(); it != blk->succ_end(); ++it) {
      const CFGBlock* sb = it->getReachableBlock();
      b.succ.push_back(sb ? int32_t(sb->getBlockID()) : -1);
    }
    if (b.succ.size() == 2)
      if (const Stmt* c = blk->getTerminatorCondition(true))
        if (auto* ce = dyn_cast<Expr>(c)) b.cond = make_cond(ce);
    bool to_exit = false;
    for (int32_t s : b.succ) to_exit |= s == f.exit;
    bool has_ret = false;
    for (const Op& op : b.ops) has_ret |= op.kind == OpKind::ret;
    if (blk->getBlockID() != unsigned(f.exit) && to_exit && !has_ret) {
      if (calls_noreturn(*blk)) {
        b.succ.clear();  // never returns
      } else if (b.succ.size() == 1) {
        Op op;
        op.kind = OpKind::ret;
        op.loc = where(body->getEndLoc());
        b.ops.push_back(std::move(op));
      } else {
        // Falling off the end on one edge only (a loop's exit): a return block for that edge.
        Block rb;
        Op op;
        op.kind = OpKind::ret;
        op.loc = where(body->getEndLoc());
        rb.ops.push_back(std::move(op));
        rb.succ.push_back(f.exit);
        auto id = int32_t(f.blocks.size());
        for (auto& s : f.blocks[blk->getBlockID()].succ)
          if (s == f.exit) s = id;
        f.blocks.push_back(std::move(rb));
      }
    }
  }
  compress(f);
  out_.facts.functions.push_back(std::move(f));
}

// Drops empty pass-through blocks so cached facts stay small.
void Extractor::compress(FunctionFacts& f) {
  auto forward = [&](int32_t b) {
    for (int guard = 0; b >= 0 && guard < 64; ++guard) {
      const Block& blk = f.blocks[size_t(b)];
      if (!blk.ops.empty() || blk.succ.size() != 1 || b == f.exit || blk.succ[0] == b) break;
      b = blk.succ[0];
    }
    return b;
  };
  for (auto& b : f.blocks)
    for (auto& s : b.succ)
      if (s >= 0) s = forward(s);
  f.entry = forward(f.entry);
  // Renumber reachable blocks only.
  std::vector<int32_t> id(f.blocks.size(), -1);
  std::vector<int32_t> order{f.entry};
  id[size_t(f.entry)] = 0;
  for (size_t i = 0; i < order.size(); ++i)
    for (int32_t s : f.blocks[size_t(order[i])].succ)
      if (s >= 0 && id[size_t(s)] < 0) {
        id[size_t(s)] = int32_t(order.size());
        order.push_back(s);
      }
  if (id[size_t(f.exit)] < 0) {
    id[size_t(f.exit)] = int32_t(order.size());
    order.push_back(f.exit);
  }
  std::vector<Block> nb;
  nb.reserve(order.size());
  for (int32_t o : order) {
    Block b = std::move(f.blocks[size_t(o)]);
    for (auto& s : b.succ) s = s >= 0 ? id[size_t(s)] : -1;
    nb.push_back(std::move(b));
  }
  f.exit = id[size_t(f.exit)];
  f.entry = 0;
  f.blocks = std::move(nb);
}

void Extractor::collect_includes() {
  FileID main = sm_.getMainFileID();
  const FileEntry* mfe = sm_.getFileEntryForID(main);
  for (auto it = sm_.fileinfo_begin(); it != sm_.fileinfo_end(); ++it) {
    const FileEntry* fe = it->first;
    if (!fe || fe == mfe) continue;
    IncludedFile inc;
    inc.path = fe->tryGetRealPathName().empty() ? fe->getName().str() : fe->tryGetRealPathName().str();
    inc.size = uint64_t(fe->getSize());
    inc.mtime = int64_t(fe->getModificationTime());
    out_.includes.push_back(std::move(inc));
  }
}

}  // namespace lockhound::scan::detail
