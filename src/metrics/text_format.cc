#include "metrics/text_format.h"

#include "metrics/label_value.h"

namespace mpe::metrics {

std::string EscapeLabelValue(std::string_view raw) {
  // Whatever reaches the text format is valid UTF-8 of at most 256 bytes (one home for the
  // rule; callers that count do so with LabelValueFixes).
  std::string valid;
  std::string_view v = raw;
  if (LabelValueFixes(raw) != kLabelOk) {
    SanitizeLabelValue(raw, &valid);
    v = valid;
  }
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void AppendHeader(std::string* out, std::string_view name, std::string_view help,
                  std::string_view type) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out->append(name).append(" ").append(type).append("\n");
}

}  // namespace mpe::metrics
