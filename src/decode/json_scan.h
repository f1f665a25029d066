#pragma once

#include <emmintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

// Small scanning helpers shared by the in-place JSON reader (insitu_json.h), the frame decoder
// and its fast path.
namespace mpe::decode::json {

// First '"', '\\' or byte below 0x20 at or after p, 16 bytes at a time. A load never crosses
// into the next page (the bytes before a page end are checked one by one), so a buffer whose NUL
// is the last byte of a mapping is safe; within a page it may read up to 15 bytes past the NUL.
inline const char* ScanString(const char* p) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control = _mm_set1_epi8(0x1F);
  for (;;) {
    if ((reinterpret_cast<uintptr_t>(p) & 4095) > 4096 - 16) {
      do {
        const char c = *p;
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return p;
        ++p;
      } while ((reinterpret_cast<uintptr_t>(p) & 4095) != 0);
      continue;
    }
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
}
inline char* ScanString(char* p) {
  return const_cast<char*>(ScanString(static_cast<const char*>(p)));
}

// The value of four hex digits, -1 when one is not.
inline int Hex4(const char* p) {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    v = (v << 4) | d;
  }
  return v;
}

// k == lit, compared inline 8 bytes at a time (a libc memcmp call per key showed up as ~5% of
// ingest CPU).
template <size_t N>
inline bool Is(std::string_view k, const char (&lit)[N]) {
  constexpr size_t n = N - 1;
  if (k.size() != n) return false;
  const char* p = k.data();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, lit + i, 8);
    if (a != b) return false;
  }
  for (; i < n; ++i) {
    if (p[i] != lit[i]) return false;
  }
  return true;
}

}  // namespace mpe::decode::json
