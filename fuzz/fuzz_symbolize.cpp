// libFuzzer target for symbolize::lock_expression, the reader of a source line that names a heap
// lock as the line writes it: any line and any column must give, without crashing, either nothing
// or a short expression made of the characters of a name, a member, an index or a pointer, that
// appears in the line once spaces and a leading '&' are taken away. The same bytes go through
// tidy_std_types (demangled names with the standard library's types shortened), which must not
// crash and never make a name longer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "symbolize/symbolize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  unsigned column = data[0] | (unsigned{data[1]} << 8);
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  if (lockhound::symbolize::tidy_std_types(std::string(text)).size() > text.size()) std::abort();
  std::string expr = lockhound::symbolize::lock_expression(text, column);
  if (expr.empty()) return 0;
  if (expr.size() > 96) std::abort();
  std::string compact;
  for (char c : text)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') compact += c;
  if (compact.find(expr) == std::string::npos) std::abort();
  for (char c : expr)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_.:>-[]*()").find(c) != std::string_view::npos))
      std::abort();
  return 0;
}
