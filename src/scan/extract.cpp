// Extraction: one translation unit parsed with clang (its compile command, gcc-only flags
// dropped) and handed to the Extractor; the first error is kept to say why a file failed.
#include "scan/extract_internal.h"

namespace lockhound::scan {
namespace detail {

using namespace clang;


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

}  // namespace detail

using namespace clang;
using namespace detail;

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
