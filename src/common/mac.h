#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mpe::common {

// Parses "5c5b350e001c", "d4:20:b0:81:99:2e", "D4-20-B0-81-99-2E" or "d420.b081.992e" into the
// 48-bit value. Returns nullopt for anything else. Pure; thread-safe.
std::optional<uint64_t> ParseMac(std::string_view text);

// 12 lowercase hex digits, no separators: the label form used everywhere (docs/spec.md §2.4).
std::string FormatMac(uint64_t mac);
void FormatMac(uint64_t mac, char out[12]);

// ParseMac then FormatMac; the input unchanged (lowercased) when it is not a MAC.
std::string NormaliseMac(std::string_view text);

}  // namespace mpe::common
