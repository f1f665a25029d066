#include "common/mac.h"

#include <array>
#include <cctype>
#include <cstdint>

namespace mpe::common {

namespace {

constexpr uint8_t kSeparator = 0xFE;
constexpr uint8_t kInvalid = 0xFF;

// Hex digit value, kSeparator for ':', '-' and '.', kInvalid otherwise: one load per character
// instead of three range tests (AP MACs are parsed once per stream message).
constexpr std::array<uint8_t, 256> MakeHexTable() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<uint8_t>(c - 'A' + 10);
  t[':'] = t['-'] = t['.'] = kSeparator;
  return t;
}
constexpr std::array<uint8_t, 256> kHexTable = MakeHexTable();

}  // namespace

std::optional<uint64_t> ParseMac(std::string_view text) {
  // The usual spelling, "xx:xx:xx:xx:xx:xx", unrolled (one per stream message): the same value
  // the loop below gives it.
  if (text.size() == 17 && text[2] == ':' && text[5] == ':' && text[8] == ':' && text[11] == ':' &&
      text[14] == ':') {
    uint64_t v = 0;
    unsigned bad = 0;
    for (size_t i = 0; i < 17; i += 3) {
      const unsigned hi = kHexTable[static_cast<uint8_t>(text[i])];
      const unsigned lo = kHexTable[static_cast<uint8_t>(text[i + 1])];
      bad |= hi | lo;
      v = (v << 8) | (hi << 4) | lo;
    }
    if (bad > 15) return std::nullopt;  // a separator or an invalid byte where a digit belongs
    return v;
  }
  uint64_t value = 0;
  int digits = 0;
  for (char c : text) {
    const uint8_t h = kHexTable[static_cast<uint8_t>(c)];
    if (h < 16) {
      if (++digits > 12) return std::nullopt;
      value = (value << 4) | h;
    } else if (h != kSeparator) {
      return std::nullopt;
    }
  }
  if (digits != 12) return std::nullopt;
  return value;
}

void FormatMac(uint64_t mac, char out[12]) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 11; i >= 0; --i) {
    out[i] = kHex[mac & 0xf];
    mac >>= 4;
  }
}

std::string FormatMac(uint64_t mac) {
  std::string s(12, '0');
  FormatMac(mac, s.data());
  return s;
}

std::string NormaliseMac(std::string_view text) {
  if (auto mac = ParseMac(text)) return FormatMac(*mac);
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace mpe::common
