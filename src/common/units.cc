#include "common/units.h"

#include <cctype>
#include <limits>

namespace mpe::common {

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return std::chrono::milliseconds(0);
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > std::numeric_limits<int64_t>::max() / 10 / 86'400'000) return std::nullopt;
      n = n * 10 + (text[i++] - '0');
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t mult;
    if (unit == "ms")
      mult = 1;
    else if (unit == "s")
      mult = 1000;
    else if (unit == "m")
      mult = 60'000;
    else if (unit == "h")
      mult = 3'600'000;
    else if (unit == "d")
      mult = 86'400'000;
    else
      return std::nullopt;
    total += n * mult;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms % 86'400'000 == 0 && ms) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0 && ms) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  size_t i = 0;
  uint64_t n = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > std::numeric_limits<uint64_t>::max() / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  uint64_t mult;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "KiB")
    mult = 1ULL << 10;
  else if (unit == "MiB")
    mult = 1ULL << 20;
  else if (unit == "GiB")
    mult = 1ULL << 30;
  else
    return std::nullopt;
  if (n > std::numeric_limits<uint64_t>::max() / mult) return std::nullopt;
  return n * mult;
}

}  // namespace mpe::common
