#include "common/text.h"

#include <cstdint>

namespace mpe::common {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one.
size_t SequenceAt(std::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  uint32_t v;
  uint32_t min;
  if ((c & 0xe0) == 0xc0) {
    n = 2, v = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, v = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

// Walks s: bad(byte) for each byte that does not start a valid UTF-8 sequence, good(cp, bytes)
// for each valid sequence.
template <typename Bad, typename Good>
void ForEachSequence(std::string_view s, Bad bad, Good good) {
  uint32_t cp = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceAt(s, i, &cp);
    if (n == 0) {
      bad(static_cast<unsigned char>(s[i]));
      ++i;
    } else {
      good(cp, s.substr(i, n));
      i += n;
    }
  }
}

void AppendHexByte(std::string* out, unsigned char c) {
  out->append("\\x");
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xf]);
}

// Code points that change how a terminal or a log viewer shows what follows.
bool Invisible(uint32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
         cp == 0x200f || cp == 0x061c;
}

// EscapeControl's spelling of one valid sequence.
void AppendEscaped(std::string* out, uint32_t cp, std::string_view bytes) {
  if (cp == '\\') {
    out->append("\\\\");
  } else if (cp == '\n') {
    out->append("\\n");
  } else if (cp == '\r') {
    out->append("\\r");
  } else if (cp == '\t') {
    out->append("\\t");
  } else if (cp < 0x80 && Invisible(cp)) {
    AppendHexByte(out, static_cast<unsigned char>(cp));
  } else if (Invisible(cp)) {
    out->append("\\u{");
    bool started = false;
    for (int shift = 20; shift >= 0; shift -= 4) {
      const unsigned d = (cp >> shift) & 0xf;
      if (d == 0 && !started && shift > 0) continue;
      started = true;
      out->push_back(kHex[d]);
    }
    out->push_back('}');
  } else {
    out->append(bytes);
  }
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  uint32_t cp = 0;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = SequenceAt(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string EscapeControl(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  ForEachSequence(
      s, [&](unsigned char c) { AppendHexByte(&out, c); },
      [&](uint32_t cp, std::string_view bytes) { AppendEscaped(&out, cp, bytes); });
  return out;
}

std::string_view Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  // Step back over continuation bytes to the start of the sequence that would be cut.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

std::string ReplaceInvalidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  ForEachSequence(
      s, [&](unsigned char) { out.append("\xef\xbf\xbd"); },
      [&](uint32_t, std::string_view bytes) { out.append(bytes); });
  return out;
}

}  // namespace mpe::common
