#include "sim/json_out.h"

namespace mpe::sim {

std::string DetailBody(std::string_view detail) {
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  JsonField(w, "detail", detail);
  w.EndObject();
  return sb.GetString();
}

}  // namespace mpe::sim
