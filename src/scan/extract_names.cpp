// Names from the AST: the lock class an expression takes (struct type::field, a global, a
// function-style lock), the objects callbacks are registered on, and ops-struct initializers.
#include "scan/extract_internal.h"

#include <algorithm>

namespace lockhound::scan::detail {

using namespace clang;

std::string Extractor::file_name(SourceLocation loc) const {
  loc = sm_.getExpansionLoc(loc);
  auto fe = sm_.getFileEntryRefForID(sm_.getFileID(loc));
  if (fe) return fe->getName().str();
  return sm_.getFilename(loc).str();
}

SrcLoc Extractor::where(SourceLocation loc) {
  loc = sm_.getExpansionLoc(loc);
  SrcLoc s;
  std::string f = file_name(loc);
  auto [it, fresh] = file_index_.emplace(f, uint32_t(out_.facts.files.size()));
  if (fresh) out_.facts.files.push_back(f);
  s.file = it->second;
  s.line = sm_.getExpansionLineNumber(loc);
  s.col = sm_.getExpansionColumnNumber(loc);
  return s;
}

void Extractor::read_gfp_bit() {
  IdentifierInfo* ii = pp_.getIdentifierInfo("___GFP_DIRECT_RECLAIM");
  const MacroInfo* mi = ii ? pp_.getMacroInfo(ii) : nullptr;
  if (!mi || mi->getNumTokens() != 1) return;
  const Token& t = mi->getReplacementToken(0);
  if (!t.is(tok::numeric_constant)) return;
  std::string s = pp_.getSpelling(t);
  char* end = nullptr;
  uint64_t v = std::strtoull(s.c_str(), &end, 0);
  if (v) gfp_bit_ = v;
}

std::string Extractor::key_of(const FunctionDecl* fd) const {
  fd = fd->getCanonicalDecl();
  if (is_static_fn(fd)) return out_.facts.main_file + ":" + fd->getName().str();
  return fd->getName().str();
}

void Extractor::want(const FunctionDecl* fd) {
  const FunctionDecl* def = nullptr;
  if (!fd->hasBody(def) || !def) return;
  if (!queued_.insert(def).second) return;
  if (!in_main(def->getLocation())) {
    if (++header_functions_ > 2000) return;
  }
  work_.push_back(def);
}

// ------------------------------------------------------------------ lock names
// Instance text in the function's own terms; "?" when it cannot be named.
std::string Extractor::inst_text(const Expr* e) const {
  e = strip(e);
  if (!e) return "?";
  if (auto* dr = dyn_cast<DeclRefExpr>(e)) {
    if (auto* pv = dyn_cast<ParmVarDecl>(dr->getDecl())) return "$" + std::to_string(pv->getFunctionScopeIndex());
    if (auto* vd = dyn_cast<VarDecl>(dr->getDecl()))
      return (vd->hasGlobalStorage() ? "g:" : "v:") + vd->getName().str();
    return "?";
  }
  if (auto* me = dyn_cast<MemberExpr>(e)) {
    std::string b = inst_text(me->getBase());
    if (b == "?") return b;
    return b + (me->isArrow() ? "->" : ".") + me->getMemberDecl()->getName().str();
  }
  if (auto* uo = dyn_cast<UnaryOperator>(e)) {
    std::string b = inst_text(uo->getSubExpr());
    if (b == "?") return b;
    if (uo->getOpcode() == UO_AddrOf) return "&" + b;
    if (uo->getOpcode() == UO_Deref) return "*" + b;
  }
  return "?";
}

LockKind Extractor::kind_from_type(QualType t, LockKind dflt) {
  t = t.getCanonicalType();
  if (t->isPointerType()) t = t->getPointeeType().getCanonicalType();
  if (auto* rt = t->getAs<RecordType>()) {
    std::string n = record_name(rt->getDecl());
    if (n == "raw_spinlock") return LockKind::raw_spinlock;
    if (n == "spinlock") return dflt == LockKind::raw_spinlock ? LockKind::spinlock : dflt;
  }
  return dflt;
}

// The lock an argument expression names. False when it names none we can class.
bool Extractor::lock_of(const Expr* arg, LockKind dflt, LockRef& out) const {
  const Expr* e = strip(arg);
  while (true) {
    if (!e) return false;
    if (auto* uo = dyn_cast<UnaryOperator>(e); uo && (uo->getOpcode() == UO_AddrOf || uo->getOpcode() == UO_Deref)) {
      e = strip(uo->getSubExpr());
      continue;
    }
    if (auto* ce = dyn_cast<CallExpr>(e)) {
      // spinlock_check(l) and friends: the lock API's own identity wrappers.
      auto* fd = ce->getDirectCallee();
      if (fd && ce->getNumArgs() == 1 && fd->getName() == "spinlock_check") {
        e = strip(ce->getArg(0));
        continue;
      }
    }
    break;
  }
  out.kind = kind_from_type(arg->getType(), dflt);
  out.inst = inst_text(e);
  if (auto* me = dyn_cast<MemberExpr>(e)) {
    if (auto* fd = dyn_cast<FieldDecl>(me->getMemberDecl())) {
      out.cls = field_class(fd);
      out.kind = kind_from_type(fd->getType(), dflt);
      return true;
    }
    return false;
  }
  if (auto* dr = dyn_cast<DeclRefExpr>(e)) {
    auto* vd = dyn_cast<VarDecl>(dr->getDecl());
    if (!vd) return false;
    if (isa<ParmVarDecl>(vd) && vd->getType()->isPointerType()) {
      out.cls.clear();  // the caller names it
      return true;
    }
    if (vd->getType()->isPointerType()) return false;  // a local pointer: unknown lock
    out.cls = vd->getName().str();
    if (!vd->hasGlobalStorage()) out.cls = fn_name_ + "::" + out.cls;
    return true;
  }
  if (auto* as = dyn_cast<ArraySubscriptExpr>(e)) {
    LockRef base;
    if (!lock_of(as->getBase(), dflt, base) || base.cls.empty()) return false;
    out.cls = base.cls;
    out.inst = "?";
    return true;
  }
  return false;
}

// The class of the object a callback is registered on (a timer, a work item, an irq number):
// the field reached by the last real pointer dereference, so that timer_setup(&d->timer, ...)
// and del_timer_sync(&d->timer) agree, and `(&d->dwork)->work` names `d->dwork`.
std::string Extractor::object_of(const Expr* arg) const {
  const Expr* e = strip(arg);
  while (e) {
    if (auto* uo = dyn_cast<UnaryOperator>(e); uo && (uo->getOpcode() == UO_AddrOf || uo->getOpcode() == UO_Deref)) {
      e = strip(uo->getSubExpr());
      continue;
    }
    if (auto* me = dyn_cast<MemberExpr>(e)) {
      const Expr* base = strip(me->getBase());
      bool real_arrow = me->isArrow() && !(isa<UnaryOperator>(base) && cast<UnaryOperator>(base)->getOpcode() == UO_AddrOf);
      if (real_arrow || isa<DeclRefExpr>(base))
        if (auto* fd = dyn_cast<FieldDecl>(me->getMemberDecl())) {
          if (real_arrow) return field_class(fd);
          auto* vd = dyn_cast<VarDecl>(cast<DeclRefExpr>(base)->getDecl());
          if (vd && vd->hasGlobalStorage()) return vd->getName().str() + "." + fd->getName().str();
          return field_class(fd);
        }
      e = base;
      continue;
    }
    if (auto* dr = dyn_cast<DeclRefExpr>(e)) {
      if (auto* vd = dyn_cast<VarDecl>(dr->getDecl()); vd && vd->hasGlobalStorage()) return vd->getName().str();
      return "";
    }
    if (auto* as = dyn_cast<ArraySubscriptExpr>(e)) {
      e = strip(as->getBase());
      continue;
    }
    break;
  }
  return "";
}

const FunctionDecl* Extractor::function_ref(const Expr* e) const {
  e = strip(e);
  if (auto* uo = dyn_cast_or_null<UnaryOperator>(e); uo && uo->getOpcode() == UO_AddrOf) e = strip(uo->getSubExpr());
  if (auto* dr = dyn_cast_or_null<DeclRefExpr>(e)) return dyn_cast<FunctionDecl>(dr->getDecl());
  return nullptr;
}

namespace {
// Every expression stored in `var` in `s`: assignments `var = e` (and the arms of a conditional e).
void stores_to(const Stmt* s, const VarDecl* var, std::vector<const Expr*>& out) {
  if (!s) return;
  if (auto* bo = dyn_cast<BinaryOperator>(s); bo && bo->getOpcode() == BO_Assign)
    if (auto* dr = dyn_cast<DeclRefExpr>(bo->getLHS()->IgnoreParenImpCasts()); dr && dr->getDecl() == var)
      out.push_back(bo->getRHS());
  for (const Stmt* c : s->children()) stores_to(c, var, out);
}
}  // namespace

std::vector<const FunctionDecl*> Extractor::function_refs(const Expr* e) const {
  std::vector<const FunctionDecl*> out;
  std::vector<const Expr*> todo{e};
  const VarDecl* local = nullptr;
  for (size_t i = 0; i < todo.size() && i < 64; ++i) {
    const Expr* x = strip(todo[i]);
    if (!x) continue;
    if (const FunctionDecl* f = function_ref(x)) {
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
      continue;
    }
    if (auto* co = dyn_cast<ConditionalOperator>(x)) {
      todo.push_back(co->getTrueExpr());
      todo.push_back(co->getFalseExpr());
      continue;
    }
    // A local variable (once: a pointer copied between locals is not followed).
    auto* dr = dyn_cast<DeclRefExpr>(x);
    auto* vd = dr ? dyn_cast<VarDecl>(dr->getDecl()) : nullptr;
    if (!vd || local || vd->hasGlobalStorage() || isa<ParmVarDecl>(vd) || !fn_ || !fn_->hasBody()) continue;
    local = vd;
    if (vd->hasInit()) todo.push_back(vd->getInit());
    std::vector<const Expr*> stored;
    stores_to(fn_->getBody(), vd, stored);
    todo.insert(todo.end(), stored.begin(), stored.end());
  }
  return out;
}

int Extractor::param_of(const Expr* e) const {
  e = strip(e);
  if (auto* dr = dyn_cast_or_null<DeclRefExpr>(e))
    if (auto* pv = dyn_cast<ParmVarDecl>(dr->getDecl())) return int(pv->getFunctionScopeIndex());
  return -1;
}

// ------------------------------------------------------------------ initializers
void Extractor::bind_field(const FieldDecl* fd, const FunctionDecl* target, const Expr* object, SourceLocation loc,
                  const std::string& registrar, bool ops_struct, const std::string& group) {
  const RecordDecl* rd = fd->getParent();
  std::string field = field_class(fd);
  std::string fkey = key_of(target);
  out_.facts.bindings.push_back({field, fkey, group});
  want(target);
  const FieldApi* api = lookup_field(record_name(rd), fd->getName());
  bool listed = api != nullptr;
  if (!listed && !ops_struct) return;
  Registration r;
  r.fn = fkey;
  if (api) {
    r.context = api->context;
    r.irqs = api->irqs;
    r.held = entry_lock(target, *api);
  }
  r.object = listed && object ? object_of(object) : "";
  r.via = listed ? field : "ops struct " + std::string(rd->isUnion() ? "union " : "struct ") + record_name(rd);
  r.registrar = registrar;
  r.loc = where(loc);
  if (ops_struct && init_var_) var_registrations_[init_var_].push_back(out_.facts.registrations.size());
  out_.facts.registrations.push_back(std::move(r));
}

// The lock a callback's caller holds, in the callback's own terms: a function-style lock, or
// "$N->FIELD" named by the struct the callback's argument N points to.
LockRef Extractor::entry_lock(const FunctionDecl* target, const FieldApi& api) const {
  LockRef l;
  std::string_view held = api.held;
  if (held.empty()) return l;
  if (held[0] != '$') {
    l.cls = std::string(held);
    l.inst = "g:" + l.cls;
    l.kind = api.held_kind;
    return l;
  }
  auto arrow = held.find("->");
  if (arrow == std::string_view::npos) return l;
  unsigned n = unsigned(std::atoi(std::string(held.substr(1, arrow - 1)).c_str()));
  std::string_view field = held.substr(arrow + 2);
  if (n >= target->getNumParams()) return l;
  QualType t = target->getParamDecl(n)->getType();
  if (!t->isPointerType()) return l;
  auto* rt = t->getPointeeType()->getAs<RecordType>();
  if (!rt || !rt->getDecl()->getDefinition()) return l;
  for (const FieldDecl* f : rt->getDecl()->getDefinition()->fields())
    if (f->getName() == llvm::StringRef(field.data(), field.size())) {
      l.cls = field_class(f);
      l.inst = std::string(held);
      l.kind = kind_from_type(f->getType(), api.held_kind);
    }
  return l;
}

void Extractor::scan_initializer(const Expr* init, const std::string& registrar) {
  auto* il = dyn_cast_or_null<InitListExpr>(init ? init->IgnoreParenImpCasts() : nullptr);
  if (!il) return;
  if (il->isSemanticForm() && il->getSyntacticForm()) il = il->isSemanticForm() ? il : il->getSemanticForm();
  const RecordDecl* rd = nullptr;
  if (auto* rt = il->getType()->getAs<RecordType>()) rd = rt->getDecl();
  if (rd) {
    SrcLoc at = where(il->getBeginLoc());
    std::string group = "init:" + (at.file < out_.facts.files.size() ? out_.facts.files[at.file] : std::string()) + ":" +
                        std::to_string(at.line) + ":" + std::to_string(at.col);
    unsigned i = 0;
    for (const FieldDecl* fd : rd->fields()) {
      if (i >= il->getNumInits()) break;
      const Expr* e = il->getInit(i++);
      if (rd->isUnion() && il->getInitializedFieldInUnion()) fd = il->getInitializedFieldInUnion();
      if (auto* target = function_ref(e)) bind_field(fd, target, nullptr, e->getBeginLoc(), registrar, true, group);
      else scan_initializer(e, registrar);
      if (rd->isUnion()) break;
    }
  } else {
    for (unsigned i = 0; i < il->getNumInits(); ++i) scan_initializer(il->getInit(i), registrar);
  }
}

}  // namespace lockhound::scan::detail
