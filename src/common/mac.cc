#include "common/mac.h"

#include <cctype>

namespace mpe::common {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<uint64_t> ParseMac(std::string_view text) {
  uint64_t value = 0;
  int digits = 0;
  for (char c : text) {
    int h = HexValue(c);
    if (h >= 0) {
      if (++digits > 12) return std::nullopt;
      value = (value << 4) | static_cast<uint64_t>(h);
    } else if (c != ':' && c != '-' && c != '.') {
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
