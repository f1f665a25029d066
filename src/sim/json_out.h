#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace mpe::sim {

// The simulator's JSON answers are written with rapidjson's SAX writer; these helpers write
// one member or a run of members in one call, so each answer lists its fields once.
using JsonOut = rapidjson::Writer<rapidjson::StringBuffer>;

// A JSON value of the C++ value's type: bool, integer (signed or not), floating point (always
// a double: 5 is written as 5.0), nullptr as null, or anything that converts to a string view.
template <typename T>
void JsonValue(JsonOut& w, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    w.Bool(v);
  } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
    w.Null();
  } else if constexpr (std::is_floating_point_v<T>) {
    w.Double(v);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    w.Int64(v);
  } else if constexpr (std::is_integral_v<T>) {
    w.Uint64(v);
  } else {
    std::string_view s(v);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  }
}

// "key": value, in the open object.
template <typename T>
void JsonField(JsonOut& w, std::string_view key, const T& value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  JsonValue(w, value);
}

// "k1": v1, "k2": v2, ...: members in the order given.
template <typename T, typename... Rest>
void JsonFields(JsonOut& w, std::string_view key, const T& value, const Rest&... rest) {
  JsonField(w, key, value);
  if constexpr (sizeof...(rest) > 0) JsonFields(w, rest...);
}

// {"detail": "..."}: the body of every error answer (REST, control API, upgrade refusals).
std::string DetailBody(std::string_view detail);

}  // namespace mpe::sim
