// SARIF 2.1.0 (OASIS), for code-scanning tools: one run, one rule per finding type, one result
// per finding. docs/reports.md maps each field.
#include <cctype>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "core/sites.h"
#include "report/report_internal.h"

namespace lockhound {
namespace {
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;
using report::Place;

constexpr const char* kSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
constexpr const char* kRootId = "SRCROOT";

// A rule's default level: its type's usual severity (a result's own level may be lower: a
// user-space invalid wait context is a hazard).
std::string level_of(FindingType t) {
  std::string_view s = type_severity(t);
  return s == "error" ? "error" : s == "note" ? "note" : "warning";
}

// A URI reference from a path: RFC 3986's unreserved characters and '/' kept, the rest
// percent-encoded.
std::string encode_path(std::string_view p) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : p) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// Where files are, as the report's URIs name them.
class Paths {
 public:
  explicit Paths(const std::string& source_root) {
    if (source_root.empty()) return;
    std::error_code ec;
    root_ = fs::weakly_canonical(fs::absolute(source_root, ec), ec);
    if (ec) root_.clear();
  }
  bool has_root() const { return !root_.empty(); }
  std::string root_uri() const {
    std::string s = encode_path(root_.string());
    if (s.empty() || s.back() != '/') s += '/';
    return "file://" + s;
  }
  // {"uri": …, "uriBaseId": "SRCROOT"} for a file under the root, else its own path: absolute
  // paths as file: URIs, relative ones as they are (relative to where lockhound ran).
  json artifact(const std::string& file) const {
    if (has_root()) {
      std::error_code ec;
      fs::path abs = fs::weakly_canonical(fs::absolute(file, ec), ec);
      if (!ec) {
        fs::path rel = abs.lexically_relative(root_);
        if (!rel.empty() && *rel.begin() != "..")
          return {{"uri", encode_path(rel.generic_string())}, {"uriBaseId", kRootId}};
      }
    }
    if (!file.empty() && file.front() == '/') return {{"uri", "file://" + encode_path(file)}};
    return {{"uri", encode_path(file)}};
  }

 private:
  fs::path root_;
};

json message(const std::string& text) { return {{"text", report::valid_utf8(text)}}; }

// A location for a frame: the file and line when the frame has a file, the function as a logical
// location; `fallback` ("FILE:LINE" of the input the finding was read from) when the frame names
// no file. Null when nothing is known.
json frame_location(const Frame* fr, const Paths& paths, const std::string& fallback = "") {
  json loc = json::object();
  std::string file;
  unsigned line = 0, column = 0;
  if (fr && !fr->file.empty()) {
    file = fr->file;
    line = fr->line;
    column = fr->column;
  } else if (!fallback.empty()) {
    size_t colon = fallback.rfind(':');
    file = fallback.substr(0, colon);
    if (colon != std::string::npos) {
      try {
        line = unsigned(std::stoul(fallback.substr(colon + 1)));
      } catch (...) {
        file = fallback;
      }
    }
  }
  if (!file.empty() && file != "<stdin>") {
    json phys = {{"artifactLocation", paths.artifact(file)}};
    if (line > 0) phys["region"] = {{"startLine", line}};
    if (line > 0 && column > 0) phys["region"]["startColumn"] = column;  // the call, as debug information places it
    loc["physicalLocation"] = std::move(phys);
  }
  if (fr && (!fr->function.empty() || !fr->object.empty())) {
    json logical = {{"kind", "function"}};
    std::string name = fr->function.empty() ? describe_frame(*fr) : fr->function;
    logical["name"] = report::valid_utf8(name);
    if (!fr->object.empty()) logical["fullyQualifiedName"] = report::valid_utf8(fr->object + "!" + name);
    loc["logicalLocations"] = json::array({logical});
  }
  return loc;
}

json place_location(const Place& p, const Paths& paths, const std::string& fallback = "") {
  json loc = frame_location(p.frame, paths, fallback);
  if (!p.label.empty()) loc["message"] = message(p.label);
  return loc;
}

json rules_json() {
  json rules = json::array();
  for (int t = 0; t <= int(FindingType::blocking_call_under_lock); ++t) {
    auto type = FindingType(t);
    std::string title(type_title(type)), help(type_help(type));
    json rule = {{"id", std::string(type_name(type))},
                 {"name", std::string(type_name(type))},
                 {"shortDescription", message(title)},
                 {"fullDescription", message(help.empty() ? title : help)},
                 {"help", {{"text", help.empty() ? title : help},
                           {"markdown", "**" + title + "**\n\n" + (help.empty() ? title : help)}}},
                 {"defaultConfiguration", {{"level", level_of(type)}}},
                 {"properties", {{"tags", json::array({"concurrency", "deadlock", "locking"})},
                                 {"problem.severity", level_of(type) == "note" ? "recommendation"
                                                                               : level_of(type)}}}};
    rules.push_back(std::move(rule));
  }
  return rules;
}

json result_json(const Finding& f, const Paths& paths) {
  std::string title = f.title.empty() ? std::string(type_title(f.type)) : f.title;
  std::string text = f.summary.empty() ? title : f.summary;
  if (!f.explanation.empty()) text += "\n" + f.explanation;
  if (!f.fix.empty()) text += "\nfix: " + f.fix;
  json r = {{"ruleId", std::string(type_name(f.type))},
            {"ruleIndex", int(f.type)},
            {"level", std::string(report::level_of(f))},
            {"message", message(text)}};

  Place decisive = report::decisive_place(f);
  json primary = place_location(decisive, paths, f.location);
  if (!primary.empty()) r["locations"] = json::array({primary});

  json related = json::array();
  int id = 0;
  for (const auto& p : report::related_places(f)) {
    json loc = place_location(p, paths);
    loc["id"] = id++;
    related.push_back(std::move(loc));
  }
  // The input the finding was read from (a kernel log's line), when the evidence lies elsewhere.
  if (!f.location.empty() && decisive.frame && !decisive.frame->file.empty()) {
    json loc = frame_location(nullptr, paths, f.location);
    bool same_as_primary = !loc.empty() && !primary.empty() &&
                           loc["physicalLocation"] == primary["physicalLocation"];
    if (!loc.empty() && !same_as_primary) {
      loc["id"] = id++;
      loc["message"] = message("the report in the input");
      related.push_back(std::move(loc));
    }
  }
  if (!related.empty()) r["relatedLocations"] = std::move(related);

  // One code flow per edge of the chain: where `from` was taken, then where `to` was taken
  // while it was held, in the context that did it.
  if (!f.chain.empty()) {
    json flows = json::array();
    for (const auto& e : f.chain) {
      json steps = json::array();
      int order = 0;
      for (const Place& p : {report::edge_from_place(e), report::edge_to_place(e)}) {
        json loc = place_location(p, paths);
        steps.push_back({{"location", loc}, {"executionOrder", ++order}, {"kinds", json::array({"acquire"})}});
      }
      json thread = {{"locations", std::move(steps)}};
      std::string ctx = report::context_label(e.to_site);
      if (!ctx.empty()) thread["message"] = message(ctx);
      flows.push_back({{"message", message(e.from + " -> " + e.to)}, {"threadFlows", json::array({thread})}});
    }
    r["codeFlows"] = std::move(flows);
  }

  r["partialFingerprints"] = {{"lockhound/v1", sha256_hex(f.signature)}};
  json props = {{"count", f.count},
                {"classes", f.classes},
                {"signature", f.signature},
                {"title", title},
                {"source", f.source}};
  if (!f.fix.empty()) props["fix"] = f.fix;
  if (!f.explanation.empty()) props["explanation"] = f.explanation;
  if (!f.details.empty()) {
    json d = json::object();
    for (const auto& [k, v] : f.details) d[k] = v;
    props["details"] = std::move(d);
  }
  if (f.count > 1) r["occurrenceCount"] = f.count;
  r["properties"] = std::move(props);
  return r;
}

}  // namespace

std::string render_sarif(const std::vector<Finding>& findings, const ReportMeta& meta, const RenderOptions& options) {
  Paths paths(options.source_root);
  json driver = {{"name", meta.tool.empty() ? "lockhound" : meta.tool},
                 {"version", std::string(lockhound_version())},
                 {"semanticVersion", std::string(lockhound_version())},
                 {"rules", rules_json()}};
  json results = json::array();
  for (const Finding* f : report::shown_findings(findings, options)) results.push_back(result_json(*f, paths));
  json invocation = {{"executionSuccessful", true}};
  json args = json::array({meta.command});
  for (const auto& in : meta.inputs) args.push_back(in);
  invocation["arguments"] = std::move(args);
  json run = {{"tool", {{"driver", std::move(driver)}}},
              {"invocations", json::array({invocation})},
              {"columnKind", "utf16CodeUnits"},
              {"results", std::move(results)}};
  if (paths.has_root())
    run["originalUriBaseIds"] = {{kRootId, {{"uri", paths.root_uri()}}}};
  json stats = json::object();
  for (const auto& [k, v] : meta.stats) stats[k] = v;
  run["properties"] = {{"command", meta.command}, {"inputs", meta.inputs}, {"stats", std::move(stats)}};
  json root = {{"$schema", kSchema}, {"version", "2.1.0"}, {"runs", json::array({std::move(run)})}};
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lockhound
