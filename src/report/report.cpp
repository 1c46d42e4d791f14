// The formats, and the one entry point that picks a renderer by name (the CLI and the runtime).
#include "report/report.h"

namespace lockhound {

const std::vector<std::string>& report_formats() {
  static const std::vector<std::string> formats = {"text", "json", "sarif", "dot", "html"};
  return formats;
}

std::string render_report(std::string_view format, const std::vector<Finding>& findings,
                          const ReportMeta& meta, const RenderOptions& options) {
  if (format == "json") return render_json(findings, meta, options);
  if (format == "sarif") return render_sarif(findings, meta, options);
  if (format == "dot") return render_dot(findings, meta, options);
  if (format == "html") return render_html(findings, meta, options);
  return render_text(findings, meta, options);
}

std::string_view lockhound_version() { return LOCKHOUND_REPORT_VERSION; }

}  // namespace lockhound
