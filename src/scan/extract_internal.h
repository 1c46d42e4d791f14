// Internal to scan's extraction: clang's AST and CFG of one translation unit turned into facts
// (scan/facts.h). The Extractor's work is in two files: extract_names.cpp (which lock an
// expression names, registrations and ops-struct initializers) and extract_body.cpp (each
// function's CFG, block by block); extract.cpp drives clang.
#pragma once

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
namespace detail {

using namespace clang;

inline const Expr* strip(const Expr* e) {
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

inline bool is_static_fn(const FunctionDecl* fd) {
  return fd->getStorageClass() == SC_Static || !fd->isExternallyVisible();
}

inline std::string record_name(const RecordDecl* rd) {
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

inline std::string field_class(const FieldDecl* fd) {
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
        init_var_ = vd->getCanonicalDecl();
        if (vd->hasInit() && in_main(vd->getLocation())) scan_initializer(vd->getInit(), "");
        init_var_ = nullptr;
      }
    }
    for (size_t i = 0; i < work_.size(); ++i) analyse(work_[i]);
    // A notifier block registered on panic_notifier_list: its callback runs with interrupts off.
    for (const VarDecl* nb : panic_notifiers_)
      for (size_t r : var_registrations_[nb]) {
        out_.facts.registrations[r].irqs = EntryIrq::hardirqs_off;
        out_.facts.registrations[r].via = "panic notifier (" + out_.facts.registrations[r].via + ")";
      }
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

  std::string file_name(SourceLocation loc) const;

  SrcLoc where(SourceLocation loc);

  void read_gfp_bit();

  std::string key_of(const FunctionDecl* fd) const;

  void want(const FunctionDecl* fd);

  // ------------------------------------------------------------------ lock names
  // Instance text in the function's own terms; "?" when it cannot be named.
  std::string inst_text(const Expr* e) const;

  static LockKind kind_from_type(QualType t, LockKind dflt);

  // The lock an argument expression names. False when it names none we can class.
  bool lock_of(const Expr* arg, LockKind dflt, LockRef& out) const;

  // The class of the object a callback is registered on (a timer, a work item, an irq number):
  // the field reached by the last real pointer dereference, so that timer_setup(&d->timer, ...)
  // and del_timer_sync(&d->timer) agree, and `(&d->dwork)->work` names `d->dwork`.
  std::string object_of(const Expr* arg) const;

  const FunctionDecl* function_ref(const Expr* e) const;
  // The functions an expression may name: function_ref's, both arms of `c ? f : g`, and for a
  // local function pointer every function the enclosing function stores in it (`poll = bnx2_poll;
  // if (msix) poll = bnx2_poll_msix; netif_napi_add(dev, napi, poll)`).
  std::vector<const FunctionDecl*> function_refs(const Expr* e) const;

  int param_of(const Expr* e) const;

  // ------------------------------------------------------------------ initializers
  void bind_field(const FieldDecl* fd, const FunctionDecl* target, const Expr* object, SourceLocation loc,
                  const std::string& registrar, bool ops_struct, const std::string& group);

  void scan_initializer(const Expr* init, const std::string& registrar);
  void note_panic_notifier(const std::string& name, const CallExpr* ce);
  const VarDecl* init_var_ = nullptr;  // the file-scope variable whose initializer is being read
  std::map<const VarDecl*, std::vector<size_t>> var_registrations_;  // its ops-struct registrations
  std::set<const VarDecl*> panic_notifiers_;  // registered on panic_notifier_list

  LockRef entry_lock(const FunctionDecl* target, const FieldApi& api) const;

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

  int token_for(const ValueDecl* d);
  int token_of_call(const CallExpr* ce);

  // Canonical text of a condition, and the variables it reads; false when it calls something.
  bool cond_text(const Expr* e, std::string& s, std::vector<std::string>& vars) const;

  static bool is_bit_test(const CallExpr* ce);

  // "bit(NR,ADDR)" for a bit operation with a constant bit number and a nameable address.
  bool bit_key(const CallExpr* ce, std::string& key) const;

  bool constant_value(const Expr* e, int64_t& v) const;

  Cond make_cond(const Expr* c);

  void add_kill(Block& b, const Expr* lhs, SourceLocation loc);

  void lock_op(Block& b, const CallExpr* ce, const LockApi& api, std::string_view name);

  std::string arg_text(const Expr* e) const;

  void sleep_op(Block& b, const CallExpr* ce, const std::string& name, int gfp_arg);

  static int gfp_param_index(const FunctionDecl* fd);

  void call_expr(Block& b, const CallExpr* ce);

  void fill_args(Op& op, const CallExpr* ce);

  void statement(Block& b, const Stmt* s);

  // guard(name)(&l): a cleanup variable initialised by class_<name>_constructor(&l).
  void guard(Block& b, const VarDecl* vd, uint32_t scope_end);

  static bool calls_noreturn(const CFGBlock& blk);

  void analyse(const FunctionDecl* fd);

  // Drops empty pass-through blocks so cached facts stay small.
  static void compress(FunctionFacts& f);

  void collect_includes();
};

}  // namespace detail
}  // namespace lockhound::scan
