#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mpe::common {

// "250ms", "30s", "5m", "2h", "1d", and combinations like "1h30m". A bare number is an error
// (ambiguous). Returns nullopt on anything else. Pure.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);
std::string FormatDuration(std::chrono::milliseconds d);

// "64MiB", "512KiB", "1GiB", "100B" or a bare byte count. Pure.
std::optional<uint64_t> ParseSize(std::string_view text);

}  // namespace mpe::common
