#include "scan/extract.h"

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/Stmt.h>
#include <clang/Analysis/CFG.h>
#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/FileManager.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendAction.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/Support/VirtualFileSystem.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "scan/api.h"

namespace lockhound::scan {
namespace {

using namespace clang;

const Expr* strip(const Expr* e) {
  while (e) {
    e = e->IgnoreParenImpCasts();
    if (auto* c = dyn_cast<CStyleCastExpr>(e)) {
      e = c->getSubExpr();
      continue;
    }
    if (auto* b = dyn_cast<BinaryOperator>(e); b && b->getOpcode() == BO_Comma) {
      e = b->getRHS();
      continue;
    }
    break;
  }
  return e;
}

bool is_static_fn(const FunctionDecl* fd) {
  return fd->getStorageClass() == SC_Static || !fd->isExternallyVisible();
}

std::string record_name(const RecordDecl* rd) {
  if (!rd) return "?";
  if (!rd->getName().empty()) return rd->getName().str();
  if (auto* td = rd->getTypedefNameForAnonDecl()) return td->getName().str();
  // An anonymous struct or union inside a named one: its fields belong to the outer record.
  if (auto* outer = dyn_cast_or_null<RecordDecl>(rd->getDeclContext())) return record_name(outer);
  return "(anonymous)";
}

// Marks a class whose struct is defined in a .c file: two drivers may each define their own
// `struct edgeport_serial`; the analysis names them apart only when that happens.
const char kDefinedIn = '\x01';

std::string field_class(const FieldDecl* fd) {
  const RecordDecl* rd = fd->getParent();
  std::string where;
  {
    const SourceManager& sm = fd->getASTContext().getSourceManager();
    SourceLocation loc = sm.getExpansionLoc(rd->getLocation());
    if (auto fe = sm.getFileEntryRefForID(sm.getFileID(loc)))
      if (fe->getName().endswith(".c")) where = std::string(1, kDefinedIn) + fe->getName().str();
  }
  std::string kw = rd->isUnion() ? "union " : "struct ";
  // Anonymous records fold into their parent: `struct foo { union { spinlock_t lock; }; }`.
  while (rd->getName().empty() && !rd->getTypedefNameForAnonDecl()) {
    auto* outer = dyn_cast_or_null<RecordDecl>(rd->getDeclContext());
    if (!outer) break;
    rd = outer;
    kw = rd->isUnion() ? "union " : "struct ";
  }
  if (rd->getName().empty() && rd->getTypedefNameForAnonDecl()) kw = "";
  return kw + record_name(rd) + "::" + fd->getName().str() + where;
}

class Extractor {
 public:
  Extractor(ASTContext& ctx, Preprocessor& pp, ExtractResult& out)
      : ctx_(ctx), sm_(ctx.getSourceManager()), pp_(pp), out_(out) {}

  void run() {
    out_.facts.main_file = file_name(sm_.getLocForStartOfFile(sm_.getMainFileID()));
    read_gfp_bit();
    // Functions of the main file first; header inlines they call join the worklist.
    for (Decl* d : ctx_.getTranslationUnitDecl()->decls()) {
      if (auto* fd = dyn_cast<FunctionDecl>(d)) {
        if (fd->doesThisDeclarationHaveABody() && in_main(fd->getLocation())) want(fd);
      } else if (auto* vd = dyn_cast<VarDecl>(d)) {
        if (vd->hasInit() && in_main(vd->getLocation())) scan_initializer(vd->getInit(), "");
      }
    }
    for (size_t i = 0; i < work_.size(); ++i) analyse(work_[i]);
    collect_includes();
  }

 private:
  ASTContext& ctx_;
  SourceManager& sm_;
  Preprocessor& pp_;
  ExtractResult& out_;
  std::vector<const FunctionDecl*> work_;
  std::set<const FunctionDecl*> queued_;
  std::map<std::string, uint32_t> file_index_;
  uint64_t gfp_bit_ = kGfpDirectReclaim;
  size_t header_functions_ = 0;

  // Per function
  const FunctionDecl* fn_ = nullptr;
  std::string fn_name_;
  std::unordered_map<const ValueDecl*, int> var_token_;
  std::unordered_map<const CallExpr*, int> call_token_;
  std::unordered_map<const VarDecl*, uint32_t> guard_scope_;
  int next_token_ = 0;

  bool in_main(SourceLocation loc) const { return sm_.isInMainFile(sm_.getExpansionLoc(loc)); }

  std::string file_name(SourceLocation loc) const {
    loc = sm_.getExpansionLoc(loc);
    auto fe = sm_.getFileEntryRefForID(sm_.getFileID(loc));
    if (fe) return fe->getName().str();
    return sm_.getFilename(loc).str();
  }

  SrcLoc where(SourceLocation loc) {
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

  void read_gfp_bit() {
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

  std::string key_of(const FunctionDecl* fd) const {
    fd = fd->getCanonicalDecl();
    if (is_static_fn(fd)) return out_.facts.main_file + ":" + fd->getName().str();
    return fd->getName().str();
  }

  void want(const FunctionDecl* fd) {
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
  std::string inst_text(const Expr* e) const {
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

  static LockKind kind_from_type(QualType t, LockKind dflt) {
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
  bool lock_of(const Expr* arg, LockKind dflt, LockRef& out) const {
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
  std::string object_of(const Expr* arg) const {
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

  const FunctionDecl* function_ref(const Expr* e) const {
    e = strip(e);
    if (auto* uo = dyn_cast_or_null<UnaryOperator>(e); uo && uo->getOpcode() == UO_AddrOf) e = strip(uo->getSubExpr());
    if (auto* dr = dyn_cast_or_null<DeclRefExpr>(e)) return dyn_cast<FunctionDecl>(dr->getDecl());
    return nullptr;
  }

  int param_of(const Expr* e) const {
    e = strip(e);
    if (auto* dr = dyn_cast_or_null<DeclRefExpr>(e))
      if (auto* pv = dyn_cast<ParmVarDecl>(dr->getDecl())) return int(pv->getFunctionScopeIndex());
    return -1;
  }

  // ------------------------------------------------------------------ initializers
  void bind_field(const FieldDecl* fd, const FunctionDecl* target, const Expr* object, SourceLocation loc,
                  const std::string& registrar, bool ops_struct) {
    const RecordDecl* rd = fd->getParent();
    std::string field = field_class(fd);
    std::string fkey = key_of(target);
    out_.facts.bindings.push_back({field, fkey});
    want(target);
    RunContext ctx = RunContext::process;
    bool listed = lookup_field(record_name(rd), fd->getName(), ctx);
    if (!listed && !ops_struct) return;
    Registration r;
    r.fn = fkey;
    r.context = ctx;
    r.object = listed && object ? object_of(object) : "";
    r.via = listed ? field : "ops struct " + std::string(rd->isUnion() ? "union " : "struct ") + record_name(rd);
    r.registrar = registrar;
    r.loc = where(loc);
    out_.facts.registrations.push_back(std::move(r));
  }

  void scan_initializer(const Expr* init, const std::string& registrar) {
    auto* il = dyn_cast_or_null<InitListExpr>(init ? init->IgnoreParenImpCasts() : nullptr);
    if (!il) return;
    if (il->isSemanticForm() && il->getSyntacticForm()) il = il->isSemanticForm() ? il : il->getSemanticForm();
    const RecordDecl* rd = nullptr;
    if (auto* rt = il->getType()->getAs<RecordType>()) rd = rt->getDecl();
    if (rd) {
      unsigned i = 0;
      for (const FieldDecl* fd : rd->fields()) {
        if (i >= il->getNumInits()) break;
        const Expr* e = il->getInit(i++);
        if (rd->isUnion() && il->getInitializedFieldInUnion()) fd = il->getInitializedFieldInUnion();
        if (auto* target = function_ref(e)) bind_field(fd, target, nullptr, e->getBeginLoc(), registrar, true);
        else scan_initializer(e, registrar);
        if (rd->isUnion()) break;
      }
    } else {
      for (unsigned i = 0; i < il->getNumInits(); ++i) scan_initializer(il->getInit(i), registrar);
    }
  }

  // ------------------------------------------------------------------ function bodies
  struct PrePass : RecursiveASTVisitor<PrePass> {
    Extractor& x;
    std::vector<uint32_t> scope_end;
    explicit PrePass(Extractor& e) : x(e) {}
    bool TraverseCompoundStmt(CompoundStmt* s) {
      scope_end.push_back(x.sm_.getExpansionLineNumber(s->getRBracLoc()));
      bool r = RecursiveASTVisitor::TraverseCompoundStmt(s);
      scope_end.pop_back();
      return r;
    }
    bool TraverseForStmt(ForStmt* s) {
      scope_end.push_back(x.sm_.getExpansionLineNumber(s->getEndLoc()));
      bool r = RecursiveASTVisitor::TraverseForStmt(s);
      scope_end.pop_back();
      return r;
    }
    bool VisitBinaryOperator(BinaryOperator* b) {
      if (b->getOpcode() != BO_Assign) return true;
      if (auto* ce = dyn_cast<CallExpr>(strip(b->getRHS())))
        if (auto* dr = dyn_cast<DeclRefExpr>(strip(b->getLHS()))) x.call_token_[ce] = x.token_for(dr->getDecl());
      return true;
    }
    bool VisitVarDecl(VarDecl* vd) {
      if (vd->hasAttr<CleanupAttr>() && !scope_end.empty()) x.guard_scope_[vd] = scope_end.back();
      if (auto* init = vd->getInit())
        if (auto* ce = dyn_cast<CallExpr>(strip(init))) x.call_token_[ce] = x.token_for(vd);
      return true;
    }
  };

  int token_for(const ValueDecl* d) {
    auto [it, fresh] = var_token_.emplace(d, next_token_);
    if (fresh) ++next_token_;
    return it->second;
  }
  int token_of_call(const CallExpr* ce) {
    auto [it, fresh] = call_token_.emplace(ce, next_token_);
    if (fresh) ++next_token_;
    return it->second;
  }

  // Canonical text of a condition, and the variables it reads; false when it calls something.
  bool cond_text(const Expr* e, std::string& s, std::vector<std::string>& vars) const {
    e = strip(e);
    if (!e) return false;
    if (auto* il = dyn_cast<IntegerLiteral>(e)) {
      s += std::to_string(il->getValue().getZExtValue());
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

  static bool is_bit_test(const CallExpr* ce) {
    const FunctionDecl* fd = ce->getDirectCallee();
    const CallApi* api = fd ? lookup_call(fd->getName()) : nullptr;
    return api && api->bit == CallApi::Bit::test;
  }

  // "bit(NR,ADDR)" for a bit operation with a constant bit number and a nameable address.
  bool bit_key(const CallExpr* ce, std::string& key) const {
    if (ce->getNumArgs() < 2) return false;
    Expr::EvalResult r;
    if (!ce->getArg(0)->EvaluateAsInt(r, ctx_)) return false;
    std::string addr = inst_text(ce->getArg(1));
    if (addr.find('?') != std::string::npos) return false;
    key = "bit(" + std::to_string(r.Val.getInt().getExtValue()) + "," + addr + ")";
    return true;
  }

  Cond make_cond(const Expr* c) {
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
    if (cond_text(e, s, vars)) {
      cond.key = s;
      std::sort(vars.begin(), vars.end());
      vars.erase(std::unique(vars.begin(), vars.end()), vars.end());
      cond.vars = std::move(vars);
    }
    return cond;
  }

  void add_kill(Block& b, const Expr* lhs, SourceLocation loc) {
    std::string t = inst_text(lhs);
    if (t == "?") return;
    Op op;
    op.kind = OpKind::kill;
    op.loc = where(loc);
    op.vars.push_back(t);
    b.ops.push_back(std::move(op));
  }

  void lock_op(Block& b, const CallExpr* ce, const LockApi& api, std::string_view name) {
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

  std::string arg_text(const Expr* e) const {
    SourceRange r = e->getSourceRange();
    CharSourceRange cr = CharSourceRange::getTokenRange(sm_.getExpansionRange(r).getAsRange());
    bool invalid = false;
    StringRef t = Lexer::getSourceText(cr, sm_, ctx_.getLangOpts(), &invalid);
    if (invalid || t.size() > 40) return "";
    return t.str();
  }

  void sleep_op(Block& b, const CallExpr* ce, const std::string& name, int gfp_arg) {
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

  static int gfp_param_index(const FunctionDecl* fd) {
    for (unsigned i = 0; i < fd->getNumParams(); ++i) {
      QualType t = fd->getParamDecl(i)->getType();
      if (auto* tt = t->getAs<TypedefType>(); tt && tt->getDecl()->getName() == "gfp_t") return int(i);
    }
    return -1;
  }

  void call_expr(Block& b, const CallExpr* ce) {
    const FunctionDecl* fd = ce->getDirectCallee();
    if (fd) {
      std::string name = fd->getName().str();
      // guard()'s constructor and destructor: the cleanup variable stands for the lock (guard()).
      if (name.rfind("class_", 0) == 0 &&
          (llvm::StringRef(name).endswith("_constructor") || llvm::StringRef(name).endswith("_destructor")))
        return;
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
        for (const EntryApi& en : api->entries) {
          if (unsigned(en.callback_arg) >= ce->getNumArgs()) continue;
          const FunctionDecl* cb = function_ref(ce->getArg(unsigned(en.callback_arg)));
          if (!cb) continue;
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
      return;
    }
    // A call through a pointer: resolved later through the field's bindings.
    const Expr* callee = strip(ce->getCallee());
    if (auto* uo = dyn_cast_or_null<UnaryOperator>(callee); uo && uo->getOpcode() == UO_Deref) callee = strip(uo->getSubExpr());
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

  void fill_args(Op& op, const CallExpr* ce) {
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

  void statement(Block& b, const Stmt* s) {
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
            bind_field(fd, target, me->getBase(), bo->getBeginLoc(), fn_name_, false);
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
  void guard(Block& b, const VarDecl* vd, uint32_t scope_end) {
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

  static bool calls_noreturn(const CFGBlock& blk) {
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

  void analyse(const FunctionDecl* fd) {
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
  static void compress(FunctionFacts& f) {
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

  void collect_includes() {
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
};

class Consumer : public ASTConsumer {
 public:
  Consumer(CompilerInstance& ci, ExtractResult& out) : ci_(ci), out_(out) {}
  void HandleTranslationUnit(ASTContext& ctx) override {
    if (ci_.getDiagnostics().hasErrorOccurred()) return;
    Extractor x(ctx, ci_.getPreprocessor(), out_);
    x.run();
  }

 private:
  CompilerInstance& ci_;
  ExtractResult& out_;
};

class Action : public ASTFrontendAction {
 public:
  explicit Action(ExtractResult& out) : out_(out) {}
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance& ci, StringRef) override {
    return std::make_unique<Consumer>(ci, out_);
  }

 private:
  ExtractResult& out_;
};

class FirstError : public DiagnosticConsumer {
 public:
  std::string first;
  void HandleDiagnostic(DiagnosticsEngine::Level level, const Diagnostic& info) override {
    DiagnosticConsumer::HandleDiagnostic(level, info);
    if (level < DiagnosticsEngine::Error || !first.empty()) return;
    SmallString<256> msg;
    info.FormatDiagnostic(msg);
    std::string where;
    if (info.hasSourceManager() && info.getLocation().isValid()) {
      PresumedLoc p = info.getSourceManager().getPresumedLoc(info.getLocation());
      if (p.isValid()) where = std::string(p.getFilename()) + ":" + std::to_string(p.getLine()) + ":" + std::to_string(p.getColumn()) + ": ";
    }
    first = where + msg.str().str();
  }
};

}  // namespace

std::string clang_resource_dir() {
  static const std::string dir = [] {
    if (const char* e = std::getenv("LOCKHOUND_CLANG_RESOURCE_DIR"); e && *e) return std::string(e);
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path base = fs::path("/usr/lib/llvm-" + std::to_string(LLVM_VERSION_MAJOR)) / "lib" / "clang";
    std::string best;
    for (const auto& ent : fs::directory_iterator(base, ec))
      if (fs::exists(ent.path() / "include" / "stddef.h", ec)) {
        std::string p = ent.path().string();
        if (p > best) best = p;
      }
    return best;
  }();
  return dir;
}

ExtractResult extract_tu(const CompileJob& job) {
  ExtractResult out;
  std::vector<std::string> args = job.args;
  if (args.empty()) args.push_back("clang");
  std::string rd = clang_resource_dir();
  if (!rd.empty()) {
    args.insert(args.begin() + 1, rd);
    args.insert(args.begin() + 1, "-resource-dir");
  }
  args.push_back("-fsyntax-only");
  llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> vfs(llvm::vfs::createPhysicalFileSystem().release());
  if (!job.directory.empty()) vfs->setCurrentWorkingDirectory(job.directory);
  llvm::IntrusiveRefCntPtr<FileManager> files(new FileManager(FileSystemOptions(), vfs));
  FirstError diags;
  tooling::ToolInvocation inv(args, std::make_unique<Action>(out), files.get());
  inv.setDiagnosticConsumer(&diags);
  bool ran = inv.run();
  if (!diags.first.empty()) {
    out.error = diags.first;
    out.ok = false;
    return out;
  }
  if (!ran) {
    out.error = "clang could not run on this command";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace lockhound::scan
