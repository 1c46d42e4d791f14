// `lockhound explain [FILE|-]`: kernel logs (dmesg, console, journal, mail) in, every lockdep
// splat, lockup and hung-task report out as findings with root cause and fix.
#include <algorithm>
#include <map>

#include "cli/common.h"
#include "core/facts.h"
#include "core/voice.h"
#include "explain/explain.h"

namespace lockhound::cli {

namespace {

// One log, in parts of about 8 MiB that end where a report may start: memory stays bounded
// whatever the log's size. False when it cannot be read (the reason is in r.diagnostics).
bool explain_file(const std::string& file, const std::string& name, explain::ExplainResult& r,
                  ReadProgress& progress) {
  constexpr size_t kPart = 8 << 20;
  InputStream in;
  std::string err;
  if (!in.open(file, err, &progress)) {
    r.diagnostics.push_back(Diagnostic{name, 0, err, true});
    return false;
  }
  std::string buf;
  size_t first_line = 1;
  bool more = true;
  while (more) {
    more = in.read(buf, 1 << 20);
    if (more && buf.size() < kPart) continue;
    // Where to cut: before the last line in the part's second half where a report may start,
    // else after the last whole line; at the end, everything.
    size_t cut = buf.size();
    if (more) {
      size_t last_nl = buf.rfind('\n');
      cut = last_nl == std::string::npos ? buf.size() : last_nl + 1;
      for (size_t pos = cut; pos > buf.size() / 2;) {
        size_t prev = buf.rfind('\n', pos >= 2 ? pos - 2 : 0);
        size_t start = prev == std::string::npos ? 0 : prev + 1;
        if (explain::may_start_report(std::string_view(buf).substr(start, pos - start))) {
          cut = start;
          break;
        }
        if (prev == std::string::npos) break;
        pos = start;
      }
    }
    std::string_view part = std::string_view(buf).substr(0, cut);
    explain::merge_results(r, explain::explain_log(part, name, first_line));
    first_line += size_t(std::count(part.begin(), part.end(), '\n'));
    buf.erase(0, cut);
  }
  if (!in.error().empty()) {
    r.diagnostics.push_back(Diagnostic{name, 0, "read error: " + in.error(), true});
    return false;
  }
  if (in.bytes_read() == 0) r.diagnostics.push_back(Diagnostic{name, 0, "empty input", false});
  return true;
}

}  // namespace

void register_explain(CLI::App& app, Action& action) {
  struct Opts {
    std::vector<std::string> files;
    OutputOptions out;
    size_t max_errors = 50;
    std::string progress = "auto";
  };
  auto opts = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "explain", "Parse and explain the lock and hang reports in a kernel log (dmesg, console, journalctl -k)");
  cmd->add_option("files", opts->files, "Kernel logs, or directories of them ('-' or nothing: stdin)");
  add_output_options(cmd, opts->out);
  cmd->add_option("--max-errors", opts->max_errors, "List at most N input problems (all are counted)")->capture_default_str();
  add_progress_option(cmd, opts->progress);
  cmd->footer(
      "Reads lockdep reports (all types), spinlock debug reports, sleeping/scheduling in atomic context,\n"
      "hung tasks (with the wait-for cycle when \"Showing all locks held\" follows), soft and hard\n"
      "lockups, RCU stalls and BSD WITNESS reversals; identical reports are counted once.\n"
      "Exit status: 0 no report in the log, 1 findings, 2 usage error, 3 unreadable input.\n"
      "Example: dmesg | lockhound explain        lockhound explain --format json console.log logs/");
  cmd->callback([&action, opts] {
    action = [opts] {
      std::vector<Diagnostic> diags;
      std::vector<std::string> files = opts->files.empty() ? std::vector<std::string>{"-"} : opts->files;
      files = expand_inputs(files, {}, diags);
      ReportMeta meta;
      meta.command = "explain";
      std::vector<Finding> all;
      bool input_error = false;
      ReadProgress progress(opts->progress, "explain", files.size());
      for (const auto& file : files) {
        const std::string name = file == "-" || file.empty() ? "<stdin>" : file;
        explain::ExplainResult r;
        if (!explain_file(file, name, r, progress)) {
          input_error = true;
        } else {
          meta.inputs.push_back(name);
        }
        for (auto& f : r.findings) all.push_back(std::move(f));
        for (auto& d : r.diagnostics) diags.push_back(std::move(d));
      }
      progress.clear();
      merge_same_findings(all);
      std::map<std::string, uint64_t> per_type;
      uint64_t reports = 0;
      for (const auto& f : all) {
        reports += f.count;
        per_type[std::string(type_name(f.type))] += f.count;
      }
      meta.stats.emplace_back("reports", reports);
      meta.stats.emplace_back("distinct problems", all.size());
      uint64_t cut = 0;
      for (const auto& f : all)
        if (fact::has(f, fact::kLinesCut)) cut += f.count;
      if (cut) meta.stats.emplace_back("reports with lines cut at the start", cut);
      for (const auto& [t, n] : per_type) meta.stats.emplace_back(t, n);
      input_error |= print_diagnostics(diags, opts->max_errors);
      int rc = emit_report(all, meta, opts->out);
      if (rc == kUsage) return rc;
      return input_error ? int(kInputError) : rc;
    };
  });
}

}  // namespace lockhound::cli
