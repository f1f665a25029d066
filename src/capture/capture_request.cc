#include "capture/capture_request.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "config/capture_rules.h"

namespace mpe::capture {

std::string CaptureRequestJson(const config::ManagedCapture& r) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("type");
  w.String(r.type);
  for (const config::CaptureField& f : config::CaptureFields()) {
    if (!config::FieldIsSet(r, f)) continue;
    w.Key(f.key.data(), static_cast<rapidjson::SizeType>(f.key.size()));
    if (f.text != nullptr) {
      w.String(r.*f.text);
    } else if (f.number != nullptr) {
      w.Int(*(r.*f.number));
    } else {
      w.Bool(*(r.*f.flag));
    }
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace mpe::capture
