// JSON report, format version 1 (docs/json-format.md). Stable field names; new fields may be
// added within a version, none removed or renamed.
#include <nlohmann/json.hpp>

#include "report/report_internal.h"

namespace lockhound {
namespace {
using nlohmann::json;

json frame_json(const Frame& f) {
  json j = json::object();
  if (f.pc) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(f.pc));
    j["pc"] = buf;
  }
  if (!f.function.empty()) j["function"] = f.function;
  if (!f.offset.empty()) j["offset"] = f.offset;
  if (!f.file.empty()) j["file"] = f.file;
  if (f.line) j["line"] = f.line;
  if (f.column) j["column"] = f.column;
  if (!f.object.empty()) j["object"] = f.object;
  if (f.inlined) j["inlined"] = true;
  return j;
}

json stack_json(const Stack& s) {
  json a = json::array();
  for (const auto& f : s) a.push_back(frame_json(f));
  return a;
}

json held_json(const std::vector<HeldLock>& held) {
  json a = json::array();
  for (const auto& h : held) {
    json j = {{"name", h.name}};
    if (!h.address.empty()) j["address"] = h.address;
    if (!h.mode.empty()) j["mode"] = h.mode;
    if (!h.usage.empty()) j["usage"] = h.usage;
    json site = frame_json(h.site);
    if (!site.empty()) j["site"] = site;
    a.push_back(std::move(j));
  }
  return a;
}

json acq_json(const Acquisition& a) {
  json j = {{"lock", a.lock}, {"mode", a.mode}, {"context", a.context}, {"stack", stack_json(a.stack)}};
  if (!a.irq.empty()) j["irq"] = a.irq;
  j["irqs_enabled"] = a.irqs_enabled;
  json site = frame_json(a.site);
  if (!site.empty()) j["site"] = std::move(site);
  if (!a.held.empty()) j["held"] = held_json(a.held);
  return j;
}

json finding_json(const Finding& f) {
  json j;
  j["type"] = std::string(type_name(f.type));
  j["severity"] = std::string(finding_severity(f));
  j["title"] = f.title.empty() ? std::string(type_title(f.type)) : f.title;
  j["summary"] = f.summary;
  j["classes"] = f.classes;
  j["count"] = f.count;
  j["source"] = f.source;
  json chain = json::array();
  for (const auto& e : f.chain) {
    json ej = {{"from", e.from}, {"to", e.to}, {"from_site", acq_json(e.from_site)},
               {"to_site", acq_json(e.to_site)}};
    if (!e.dep.empty()) ej["dep"] = e.dep;
    ej["gates"] = e.gates;
    chain.push_back(std::move(ej));
  }
  j["chain"] = std::move(chain);
  json acqs = json::array();
  for (const auto& a : f.acquisitions) acqs.push_back(acq_json(a));
  j["acquisitions"] = std::move(acqs);
  json parts = json::array();
  for (const auto& p : f.participants) {
    json pj = {{"name", p.name}, {"held", held_json(p.held)}, {"stack", stack_json(p.stack)}};
    if (p.pid >= 0) pj["pid"] = p.pid;
    if (!p.state.empty()) pj["state"] = p.state;
    if (!p.waits_for.empty()) pj["waits_for"] = p.waits_for;
    parts.push_back(std::move(pj));
  }
  j["participants"] = std::move(parts);
  j["scenario"] = {{"columns", f.scenario.columns}, {"rows", f.scenario.rows}};
  j["explanation"] = f.explanation;
  j["fix"] = f.fix;
  json details = json::object();
  for (const auto& [k, v] : f.details) details[k] = v;
  j["details"] = std::move(details);
  if (!f.location.empty()) j["location"] = f.location;
  if (!f.raw.empty()) j["raw"] = f.raw;
  j["signature"] = f.signature;
  return j;
}
}  // namespace

std::string render_json(const std::vector<Finding>& findings, const ReportMeta& meta,
                        const RenderOptions& options) {
  json root;
  root["lockhound_json_version"] = kJsonFormatVersion;
  root["tool"] = meta.tool;
  root["command"] = meta.command;
  root["inputs"] = meta.inputs;
  json arr = json::array();
  for (const auto& f : findings) arr.push_back(finding_json(f));
  root["findings"] = std::move(arr);
  json stats = json::object();
  for (const auto& [k, v] : meta.stats) stats[k] = v;
  root["stats"] = std::move(stats);
  for (const auto& sec : meta.sections) root[sec.key] = sec.data;
  // Invalid UTF-8 in inputs (kernel logs are bytes) is replaced rather than throwing.
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lockhound
