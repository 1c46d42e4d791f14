#include <nlohmann/json.hpp>

#include "report/report.h"
#include "sys/sys_report.h"

namespace lockhound::sys {

std::string render_sys_report(const SysReport& report, const ReportMeta& meta, bool json,
                              const RenderOptions& options) {
  if (!json) {
    std::string summary = render_summary_text(report);
    return summary + render_text(report.findings, meta, options);
  }
  auto j = nlohmann::json::parse(render_json(report.findings, meta, options), nullptr, false);
  if (j.is_discarded()) return render_json(report.findings, meta, options);
  j["system"] = summary_json(report);
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace lockhound::sys
