#include "core/voice.h"

#include "core/advice.h"

namespace lockhound {

std::string finding_signature(const Finding& f) {
  std::string s(type_name(f.type));
  for (const auto& c : f.classes) s += "|" + c;
  return s;
}

void complete_finding(Finding& f) {
  if (f.title.empty()) f.title = std::string(type_title(f.type));
  write_advice(f);
  if (f.signature.empty()) f.signature = finding_signature(f);
}

}  // namespace lockhound
