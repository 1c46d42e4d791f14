#include "scan/scan.h"

#include <clang/Tooling/JSONCompilationDatabase.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/validator.h"
#include "scan/analyze.h"
#include "scan/codec.h"
#include "scan/extract.h"

namespace lockhound::scan {
namespace {

namespace fs = std::filesystem;

bool read_all(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

bool starts(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::string hex(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct Job {
  CompileJob cj;
  uint64_t flags_hash = 0;
};

struct Outcome {
  bool ok = false;
  bool from_cache = false;
  std::string error;
  std::string cache_warning;
  TuFacts facts;
  uint64_t lines = 0;
};

uint64_t count_lines(const std::string& s) { return uint64_t(std::count(s.begin(), s.end(), '\n')); }

class Cache {
 public:
  Cache(std::string dir, bool on) : dir_(std::move(dir)), on_(on) {
    if (on_) {
      std::error_code ec;
      fs::create_directories(dir_, ec);
      if (ec) on_ = false;
    }
  }
  bool on() const { return on_; }

  std::string path_for(const Job& j) const {
    return (fs::path(dir_) / (hex(stable_hash(j.cj.file + "\n" + hex(j.flags_hash))) + ".lhc")).string();
  }

  // The cached facts when nothing the TU read has changed.
  bool lookup(const Job& j, uint64_t content_hash, TuFacts& out, std::string& warning) const {
    if (!on_) return false;
    std::string bytes;
    std::string p = path_for(j);
    if (!read_all(p, bytes)) return false;
    CacheEntry e;
    std::string why;
    if (!decode_entry(bytes, e, why)) {
      warning = "cache entry " + p + " ignored: " + why;
      return false;
    }
    if (e.file != j.cj.file || e.flags_hash != j.flags_hash || e.content_hash != content_hash) return false;
    bool touched = false;
    for (auto& inc : e.includes) {
      struct stat st{};
      if (::stat(inc.path.c_str(), &st) != 0) return false;
      if (uint64_t(st.st_size) == inc.size && int64_t(st.st_mtime) == inc.mtime) continue;
      std::string text;
      if (!read_all(inc.path, text) || stable_hash(text) != inc.hash) return false;
      inc.size = uint64_t(st.st_size);
      inc.mtime = int64_t(st.st_mtime);
      touched = true;
    }
    if (touched) write(p, e);  // the header was only touched: next time a stat is enough
    out = std::move(e.facts);
    return true;
  }

  void store(const Job& j, uint64_t content_hash, const ExtractResult& r) const {
    if (!on_) return;
    CacheEntry e;
    e.file = j.cj.file;
    e.flags_hash = j.flags_hash;
    e.content_hash = content_hash;
    for (const auto& inc : r.includes) {
      std::string text;
      if (!read_all(inc.path, text)) return;
      e.includes.push_back({inc.path, inc.size, inc.mtime, stable_hash(text)});
    }
    e.facts = r.facts;
    write(path_for(j), e);
  }

 private:
  std::string dir_;
  bool on_;

  static void write(const std::string& p, const CacheEntry& e) {
    std::string tmp = p + ".tmp" + hex(std::hash<std::thread::id>()(std::this_thread::get_id()));
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!f) return;
      std::string bytes = encode_entry(e);
      f.write(bytes.data(), std::streamsize(bytes.size()));
      if (!f) return;
    }
    std::error_code ec;
    fs::rename(tmp, p, ec);
    if (ec) fs::remove(tmp, ec);
  }
};

std::string absolute(const std::string& p, const std::string& base = "") {
  std::error_code ec;
  fs::path path(p);
  if (path.is_relative() && !base.empty()) path = fs::path(base) / path;
  fs::path a = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return a.empty() ? p : a.string();
}

bool under(const std::string& file, const std::vector<std::string>& roots) {
  if (roots.empty()) return true;
  for (const auto& r : roots) {
    if (file == r) return true;
    std::string d = r.back() == '/' ? r : r + "/";
    if (starts(file, d)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> clang_args(const std::vector<std::string>& command) {
  static const std::set<std::string, std::less<>> drop_exact = {
      "-c", "-pg", "-mfentry", "-fconserve-stack", "-fno-allow-store-data-races", "-mindirect-branch-register",
      "-mindirect-branch-cs-prefix", "-mrecord-mcount", "-mskip-rax-setup", "-fno-stack-clash-protection",
      "-fno-var-tracking-assignments", "-fno-ipa-sra", "-fno-partial-inlining", "-fno-tree-loop-im",
      "-fmin-function-alignment", "-MD", "-MMD", "-MP", "-fsyntax-only", "-S", "-E"};
  static const std::string_view drop_prefix[] = {
      "-mindirect-branch=", "-mfunction-return=", "-mpreferred-stack-boundary=", "-ftrivial-auto-var-init=",
      "-falign-jumps=", "-falign-loops=", "-Wimplicit-fallthrough=", "-Wp,", "-fmacro-prefix-map=",
      "-mharden-sls=", "-fcf-protection", "-fpatchable-function-entry=", "-fsanitize", "-Werror", "-g",
      "-fzero-call-used-regs=", "-fplugin", "-fdebug-prefix-map=", "-ffile-prefix-map=", "-W", "-fdiagnostics"};
  static const std::set<std::string, std::less<>> drop_with_value = {"-o", "-MF", "-MT", "-MQ"};
  std::vector<std::string> out{"clang"};
  for (size_t i = 1; i < command.size(); ++i) {
    const std::string& a = command[i];
    if (drop_with_value.count(a)) {
      ++i;
      continue;
    }
    if (drop_exact.count(a)) continue;
    bool drop = false;
    for (auto p : drop_prefix) drop |= starts(a, p);
    if (drop) continue;
    out.push_back(a);
  }
  for (const char* a : {"-w", "-Wno-unknown-warning-option", "-Wno-gnu-variable-sized-type-not-at-end", "-ferror-limit=3"})
    out.push_back(a);
  return out;
}

namespace {
std::vector<Job> gather_jobs(const ScanOptions& opt, ScanResult& res);
}  // namespace

std::vector<std::vector<std::string>> scan_commands(const ScanOptions& opt) {
  ScanResult res;
  std::vector<std::vector<std::string>> out;
  for (const auto& j : gather_jobs(opt, res)) {
    std::vector<std::string> c{j.cj.directory, j.cj.file};
    c.insert(c.end(), j.cj.args.begin(), j.cj.args.end());
    out.push_back(std::move(c));
  }
  return out;
}

namespace {
std::vector<Job> gather_jobs(const ScanOptions& opt, ScanResult& res) {
  std::vector<Job> jobs;
  std::vector<std::string> roots;
  for (const auto& p : opt.paths) roots.push_back(absolute(p));
  std::set<std::string> seen;
  // C++ sources are not scanned (the extraction knows C's locking API and C's control flow): said
  // once, with where C++ programs are checked instead.
  size_t cxx = 0;
  auto is_cxx = [](const fs::path& f) {
    static const std::set<std::string> exts{".cc", ".cpp", ".cxx", ".c++", ".C", ".cp", ".CPP", ".ii"};
    return exts.count(f.extension().string()) > 0;
  };

  if (!opt.compile_db.empty()) {
    std::string err;
    auto db = clang::tooling::JSONCompilationDatabase::loadFromFile(opt.compile_db, err,
                                                                     clang::tooling::JSONCommandLineSyntax::AutoDetect);
    if (!db) {
      res.diagnostics.push_back({opt.compile_db, 0, err.empty() ? "cannot read the compilation database" : err, true});
      res.usage_error = true;
      return jobs;
    }
    for (const auto& cc : db->getAllCompileCommands()) {
      std::string file = absolute(cc.Filename, cc.Directory);
      if (is_cxx(file) && under(file, roots) && seen.insert(file).second) ++cxx;
      if (fs::path(file).extension() != ".c" || !under(file, roots) || !seen.insert(file).second) continue;
      Job j;
      j.cj.file = file;
      j.cj.directory = cc.Directory;
      j.cj.args = clang_args(cc.CommandLine);
      // The file itself stays where the command names it; make it absolute so cwd does not matter.
      for (auto& a : j.cj.args)
        if (a == cc.Filename) a = file;
      j.cj.args.insert(j.cj.args.end(), opt.extra_flags.begin(), opt.extra_flags.end());
      jobs.push_back(std::move(j));
    }
  } else {
    for (const auto& r : roots) {
      std::error_code ec;
      std::vector<std::string> files;
      if (fs::is_directory(r, ec)) {
        for (auto it = fs::recursive_directory_iterator(r, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
          if (ec) break;
          if (it->is_regular_file(ec) && it->path().extension() == ".c") files.push_back(it->path().string());
          else if (it->is_regular_file(ec) && is_cxx(it->path())) ++cxx;
        }
        std::sort(files.begin(), files.end());
      } else if (fs::exists(r, ec) && is_cxx(r)) {
        ++cxx;
      } else if (fs::exists(r, ec)) {
        files.push_back(r);
      } else {
        res.diagnostics.push_back({r, 0, "no such file or directory", true});
        continue;
      }
      for (const auto& file : files) {
        if (!seen.insert(file).second) continue;
        Job j;
        j.cj.file = file;
        j.cj.directory = fs::path(file).parent_path().string();
        j.cj.args = {"clang", "-x", "c", "-std=gnu11", "-I" + j.cj.directory, "-w", "-ferror-limit=3"};
        j.cj.args.insert(j.cj.args.end(), opt.extra_flags.begin(), opt.extra_flags.end());
        j.cj.args.push_back(file);
        jobs.push_back(std::move(j));
      }
    }
  }
  std::string where = opt.compile_db.empty() ? "lockhound scan" : opt.compile_db;
  std::string skipped = cxx == 0 ? "" : std::to_string(cxx) + (cxx == 1 ? " C++ file" : " C++ files") +
                                          " skipped: scan reads C only; a C++ program is checked as it runs, "
                                          "with `lockhound run -- PROGRAM ARGS`";
  if (jobs.empty() && res.diagnostics.empty()) {
    res.diagnostics.push_back({where, 0, "no C files to scan" + (skipped.empty() ? "" : " (" + skipped + ")"), true});
    res.usage_error = true;
  } else if (!skipped.empty()) {
    res.diagnostics.push_back({where, 0, skipped, false});
  }
  for (auto& j : jobs) {
    std::string joined = j.cj.directory + "\n";
    for (const auto& a : j.cj.args) joined += a + "\n";
    j.flags_hash = stable_hash(joined + "lockhound-scan-v" + std::to_string(kCacheFormatVersion));
  }
  return jobs;
}
}  // namespace

// A directory Kbuild built several modules in (ath9k: ath9k.ko for PCI cards, ath9k_htc.ko for
// USB ones, and the ath9k_hw.ko and ath9k_common.ko both use) holds, for each module NAME,
// NAME.mod (the objects it is linked from) and NAME.mod.c (its MODULE_INFO(depends, "a,b")).
// Analysed as one program, a call through a pointer in the shared code reaches the functions
// every module stores there: ath9k_hw's register write reached the USB driver's, which sleeps,
// from the PCI driver's interrupt handler (47 of ath9k's 57 findings). So each module no other
// scanned module depends on is analysed with the scanned modules it depends on; a file of no
// module goes into every group. One group (every file) when there are fewer than two such
// modules. Returns the groups as indices into `files`.
static std::vector<std::vector<size_t>> module_groups(const std::vector<std::string>& files) {
  std::vector<size_t> all(files.size());
  for (size_t i = 0; i < files.size(); ++i) all[i] = i;
  std::set<fs::path> dirs;
  for (const auto& f : files) dirs.insert(fs::path(f).parent_path());
  std::map<std::string, std::string> module_of_object;       // object -> module
  std::map<std::string, std::vector<std::string>> depends;   // module -> modules
  for (const auto& d : dirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      if (e.path().extension() != ".mod" || !e.is_regular_file(ec)) continue;
      std::string name = e.path().stem().string();
      std::string list_text, modc;
      read_all(e.path().string(), list_text);
      std::istringstream objs(list_text);
      for (std::string o; objs >> o;)
        if (o.size() > 2 && o.ends_with(".o")) module_of_object[absolute(o, d.string())] = name;
      read_all((d / (name + ".mod.c")).string(), modc);
      auto at = modc.find("MODULE_INFO(depends, \"");
      std::vector<std::string>& deps = depends[name];
      if (at == std::string::npos) continue;
      at += std::strlen("MODULE_INFO(depends, \"");
      auto end = modc.find('"', at);
      std::istringstream list(modc.substr(at, end == std::string::npos ? 0 : end - at));
      for (std::string dep; std::getline(list, dep, ',');)
        if (!dep.empty()) deps.push_back(dep);
    }
  }
  if (module_of_object.empty()) return {all};
  std::vector<std::string> module(files.size());
  std::set<std::string> present;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& f = files[i];
    if (f.ends_with(".mod.c")) {
      std::string name = fs::path(f).filename().string();
      name.resize(name.size() - std::strlen(".mod.c"));
      if (depends.contains(name)) module[i] = name;
    } else if (f.ends_with(".c")) {
      auto it = module_of_object.find(f.substr(0, f.size() - 2) + ".o");
      if (it != module_of_object.end()) module[i] = it->second;
    }
    if (!module[i].empty()) present.insert(module[i]);
  }
  std::set<std::string> needed;  // scanned modules another scanned module depends on
  for (const auto& m : present)
    for (const auto& d : depends[m])
      if (d != m && present.contains(d)) needed.insert(d);
  std::vector<std::string> tops;
  for (const auto& m : present)
    if (!needed.contains(m)) tops.push_back(m);
  if (tops.size() < 2) return {all};
  std::vector<std::vector<size_t>> groups;
  for (const auto& top : tops) {
    std::set<std::string> closure{top};
    std::vector<std::string> todo{top};
    while (!todo.empty()) {
      std::string m = todo.back();
      todo.pop_back();
      for (const auto& d : depends[m])
        if (present.contains(d) && closure.insert(d).second) todo.push_back(d);
    }
    std::vector<size_t> g;
    for (size_t i = 0; i < files.size(); ++i)
      if (module[i].empty() || closure.contains(module[i])) g.push_back(i);
    groups.push_back(std::move(g));
  }
  return groups;
}

ScanResult run_scan(const ScanOptions& opt) {
  ScanResult res;
  std::vector<Job> jobs = gather_jobs(opt, res);
  if (res.usage_error) return res;

  Cache cache(opt.cache_dir, opt.use_cache);
  std::vector<Outcome> outcomes(jobs.size());
  std::atomic<size_t> next{0}, done{0};
  std::mutex progress_mu;
  auto worker = [&] {
    while (true) {
      size_t i = next++;
      if (i >= jobs.size()) break;
      const Job& j = jobs[i];
      Outcome& o = outcomes[i];
      std::string text;
      if (!read_all(j.cj.file, text)) {
        o.error = "cannot read the file";
      } else {
        o.lines = count_lines(text);
        uint64_t h = stable_hash(text);
        if (cache.lookup(j, h, o.facts, o.cache_warning)) {
          o.ok = o.from_cache = true;
        } else {
          ExtractResult r = extract_tu(j.cj);
          if (r.ok) {
            cache.store(j, h, r);
            o.facts = std::move(r.facts);
            o.ok = true;
          } else {
            o.error = r.error;
          }
        }
      }
      size_t d = ++done;
      if (opt.progress) {
        std::lock_guard<std::mutex> g(progress_mu);
        opt.progress(d, jobs.size(), j.cj.file);
      }
    }
  };
  unsigned n = opt.jobs ? opt.jobs : std::max(1u, std::thread::hardware_concurrency());
  n = std::min<unsigned>(n, unsigned(jobs.size()));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  std::vector<const TuFacts*> tus;
  std::vector<std::string> tu_files;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Outcome& o = outcomes[i];
    res.stats.files++;
    res.stats.lines += o.lines;
    if (!o.cache_warning.empty()) res.diagnostics.push_back({jobs[i].cj.file, 0, o.cache_warning, false});
    if (!o.ok) {
      res.stats.failed++;
      res.diagnostics.push_back({jobs[i].cj.file, 0, o.error, true});
      continue;
    }
    (o.from_cache ? res.stats.cached : res.stats.parsed)++;
    tus.push_back(&o.facts);
    tu_files.push_back(jobs[i].cj.file);
  }

  // One analysis per group of modules (module_groups); a finding two groups share (the same
  // signature: code they both link) is kept once, as the first group found it.
  auto groups = module_groups(tu_files);
  std::set<std::string> signatures;
  // Across groups, what they share counts once: functions by key, classes by name, dependencies
  // by their two classes' names.
  std::set<std::string> class_names, dependencies;
  for (const auto& g : groups) {
    std::vector<const TuFacts*> part;
    for (size_t i : g) part.push_back(tus[i]);
    ValidatorOptions vo;
    vo.source = "scan";
    vo.show_addresses = false;
    vo.report_blocking_under_lock = true;
    Validator v(vo);
    AnalysisStats as;
    analyze_program(part, v, as);
    for (auto& f : v.findings())
      if (groups.size() == 1 || signatures.insert(f.signature).second) res.findings.push_back(std::move(f));
    ValidatorStats vs = v.stats();
    res.stats.roots += as.roots;
    res.stats.callbacks += as.callbacks;
    res.stats.events += as.events;
    if (groups.size() == 1) {
      res.stats.functions = as.functions;
      res.stats.classes = vs.classes;
      res.stats.dependencies = vs.edges;
      break;
    }
    for (ClassId c = 0; c < vs.classes; ++c) class_names.emplace(v.class_name(c));
    for (const Edge& e : v.dependency_edges()) dependencies.insert(e.from + '\n' + e.to);
  }
  if (groups.size() > 1) {
    res.stats.modules = groups.size();
    std::set<std::string> fn_keys;
    for (const TuFacts* tu : tus)
      for (const auto& f : tu->functions) fn_keys.insert(f.key);
    res.stats.functions = fn_keys.size();
    res.stats.classes = class_names.size();
    res.stats.dependencies = dependencies.size();
  }
  return res;
}

}  // namespace lockhound::scan
