#pragma once

#include <emmintrin.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace mpe::decode {

// A strict RFC 8259 JSON reader that parses a NUL-terminated buffer in place and drives a
// RapidJSON-style SAX handler (Null, Bool, Int, Uint, Int64, Uint64, Double, String, Key,
// StartObject, EndObject, StartArray, EndArray; strings arrive NUL-terminated, unescaped where
// they lie). It replaces rapidjson::Reader on the ingest path because Mist frames are mostly
// long strings (pcap_raw, info) and, for half of them, one long escaped string (`data` sent as
// JSON text): RapidJSON handles every escape byte by byte and realigns before each SSE scan,
// which made string scanning ~45% of the exporter's CPU. Here strings are scanned 16 bytes at a
// time and runs between escapes are moved with memmove.
//
// Behaviour matches rapidjson::Reader with kParseInsituFlag | kParseStopWhenDoneFlag (checked
// by tests/decode/insitu_json_test.cc against RapidJSON on a corpus and its mutations):
// the same handler calls with the same integer/double choice, the same stop offset, failure on
// the same inputs. Doubles are converted exactly (std::from_chars) where RapidJSON's default
// mode may be off by an ulp; a number is refused as too big exactly when it is beyond double's
// range (RapidJSON reads 91e308 as infinity and refuses 0e309). A lone low surrogate
// (\uDC00-\uDFFF) is an error here.
//
// Reads may go up to 15 bytes past the terminating NUL (kPadding in FrameDecoder), never
// across a page boundary.
enum class JsonStatus { kOk, kError, kNumberTooBig };

template <class Handler>
class InsituJsonReader {
 public:
  // Hard limit on nesting, independent of what the handler allows.
  static constexpr int kMaxDepth = 1024;

  InsituJsonReader(char* text, Handler& handler) : p_(text), handler_(handler) {}

  // Parses one value (surrounding whitespace allowed) and stops after it. offset() then tells
  // where it stopped; the caller decides whether what follows is acceptable.
  JsonStatus Parse(const char* begin) {
    SkipSpace();
    if (*p_ == '\0' || !ParseValue(0)) return status_ == JsonStatus::kOk ? JsonStatus::kError : status_;
    SkipSpace();
    offset_ = static_cast<size_t>(p_ - begin);
    return JsonStatus::kOk;
  }
  size_t offset() const { return offset_; }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
  void SkipSpace() {
    while (IsSpace(*p_)) ++p_;
  }
  bool Fail(JsonStatus s = JsonStatus::kError) {
    status_ = s;
    return false;
  }

  static bool EndsString(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  }

  // First of '"', '\\' or a byte below 0x20 at or after p, 16 bytes at a time. A load never
  // crosses into the next page (the bytes before a page end are checked one by one), so a
  // buffer whose NUL is the last byte of a mapping is safe; within a page it may read up to 15
  // bytes past the NUL.
  static char* ScanString(char* p) {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1F);
    for (;;) {
      if ((reinterpret_cast<uintptr_t>(p) & 4095) > 4096 - 16) {
        do {
          if (EndsString(*p)) return p;
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

  // After an escape: moves the plain bytes up to the next '"', '\\' or control byte from src
  // down to dst (dst < src), 16 at a time. A 16-byte store is only made where it cannot
  // overwrite input not read yet: whole plain blocks, or when the gap is wide enough.
  static void CopyRun(char*& src, char*& dst) {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1F);
    for (;;) {
      if ((reinterpret_cast<uintptr_t>(src) & 4095) > 4096 - 16) {
        if (EndsString(*src)) return;
        *dst++ = *src++;
        continue;
      }
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                       _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
      const int mask = _mm_movemask_epi8(hit);
      if (mask == 0) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
        src += 16;
        dst += 16;
        continue;
      }
      const size_t n = static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      if (static_cast<size_t>(src - dst) + n >= 16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
      } else {
        for (size_t i = 0; i < n; ++i) dst[i] = src[i];
      }
      src += n;
      dst += n;
      return;
    }
  }

  // Compares byte by byte so that a truncated literal stops at the NUL.
  bool Literal(const char* word) {
    const char* p = p_;
    for (; *word != '\0'; ++word, ++p) {
      if (*p != *word) return false;
    }
    p_ = const_cast<char*>(p);
    return true;
  }

  static int Hex4(const char* p) {
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

  static char* PutUtf8(char* out, uint32_t cp) {
    if (cp < 0x80) {
      *out++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out++ = static_cast<char>(0xC0 | (cp >> 6));
      *out++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out++ = static_cast<char>(0xE0 | (cp >> 12));
      *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out++ = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out++ = static_cast<char>(0xF0 | (cp >> 18));
      *out++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out++ = static_cast<char>(0x80 | (cp & 0x3F));
    }
    return out;
  }

  // p_ is at the opening quote. Unescapes in place, NUL-terminates, calls Key or String.
  bool ParseString(bool key) {
    char* const start = p_ + 1;
    char* src = ScanString(start);
    char* dst = src;
    while (*src != '"') {
      if (*src != '\\') return Fail();  // a control byte, including the terminating NUL
      // An escape: from here on the output lags the input.
      const char e = src[1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          *dst++ = e;
          src += 2;
          break;
        case 'b':
          *dst++ = '\b';
          src += 2;
          break;
        case 'f':
          *dst++ = '\f';
          src += 2;
          break;
        case 'n':
          *dst++ = '\n';
          src += 2;
          break;
        case 'r':
          *dst++ = '\r';
          src += 2;
          break;
        case 't':
          *dst++ = '\t';
          src += 2;
          break;
        case 'u': {
          int cp = Hex4(src + 2);
          if (cp < 0) return Fail();
          src += 6;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (src[0] != '\\' || src[1] != 'u') return Fail();
            const int low = Hex4(src + 2);
            if (low < 0xDC00 || low > 0xDFFF) return Fail();
            src += 6;
            cp = (((cp - 0xD800) << 10) | (low - 0xDC00)) + 0x10000;
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail();
          }
          dst = PutUtf8(dst, static_cast<uint32_t>(cp));
          break;
        }
        default:
          return Fail();
      }
      CopyRun(src, dst);
    }
    *dst = '\0';
    p_ = src + 1;
    const auto n = static_cast<unsigned>(dst - start);
    const bool ok = key ? handler_.Key(start, n, false) : handler_.String(start, n, false);
    return ok || Fail();
  }

  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  bool ParseNumber() {
    char* const start = p_;
    char* p = p_;
    const bool minus = *p == '-';
    if (minus) ++p;
    if (!IsDigit(*p)) return Fail();
    uint64_t u = 0;
    int digits = 0;
    if (*p == '0') {
      ++p;
      digits = 1;
    } else {
      while (IsDigit(*p)) {
        if (digits < 19) u = u * 10 + static_cast<unsigned>(*p - '0');
        ++digits;
        ++p;
      }
    }
    bool fractional = false;
    if (*p == '.') {
      ++p;
      if (!IsDigit(*p)) return Fail();
      while (IsDigit(*p)) ++p;
      fractional = true;
    }
    if (*p == 'e' || *p == 'E') {
      ++p;
      if (*p == '+' || *p == '-') ++p;
      if (!IsDigit(*p)) return Fail();
      while (IsDigit(*p)) ++p;
      fractional = true;
    }
    p_ = p;
    if (!fractional) {
      // 19 digits always fit; a 20th fits unsigned when it does not overflow.
      bool fits = digits <= 19;
      if (digits == 20) {
        const unsigned last = static_cast<unsigned>(start[minus ? 20 : 19] - '0');
        fits = u <= (UINT64_MAX - last) / 10;
        if (fits) u = u * 10 + last;
      }
      if (fits) {
        bool ok;
        if (!minus) {
          ok = u <= 0xFFFFFFFFu ? handler_.Uint(static_cast<unsigned>(u)) : handler_.Uint64(u);
        } else if (u <= 0x80000000u) {
          ok = handler_.Int(static_cast<int>(-static_cast<int64_t>(u)));
        } else if (u <= (uint64_t{1} << 63)) {
          ok = handler_.Int64(static_cast<int64_t>(~u + 1));
        } else {
          ok = handler_.Double(-static_cast<double>(u));
        }
        return ok || Fail();
      }
    }
    double d = 0;
    auto [end, ec] = std::from_chars(start, p, d);
    if (ec == std::errc::result_out_of_range) {
      // from_chars reports underflow too; RapidJSON reads a tiny number as (nearly) zero and
      // refuses only the ones beyond double's range.
      d = std::strtod(start, nullptr);
      if (std::isinf(d)) return Fail(JsonStatus::kNumberTooBig);
    } else if (ec != std::errc() || end != p) {
      return Fail();
    }
    return handler_.Double(d) || Fail();
  }

  bool ParseValue(int depth) {
    switch (*p_) {
      case '{':
        return ParseObject(depth);
      case '[':
        return ParseArray(depth);
      case '"':
        return ParseString(false);
      case 't':
        if (!Literal("true")) return Fail();
        return handler_.Bool(true) || Fail();
      case 'f':
        if (!Literal("false")) return Fail();
        return handler_.Bool(false) || Fail();
      case 'n':
        if (!Literal("null")) return Fail();
        return handler_.Null() || Fail();
      default:
        return ParseNumber();
    }
  }

  bool ParseObject(int depth) {
    if (depth >= kMaxDepth || !handler_.StartObject()) return Fail();
    ++p_;
    SkipSpace();
    unsigned members = 0;
    if (*p_ != '}') {
      for (;;) {
        if (*p_ != '"') return Fail();
        if (!ParseString(true)) return false;
        SkipSpace();
        if (*p_ != ':') return Fail();
        ++p_;
        SkipSpace();
        if (!ParseValue(depth + 1)) return false;
        ++members;
        SkipSpace();
        if (*p_ == ',') {
          ++p_;
          SkipSpace();
          continue;
        }
        if (*p_ != '}') return Fail();
        break;
      }
    }
    ++p_;
    return handler_.EndObject(members) || Fail();
  }

  bool ParseArray(int depth) {
    if (depth >= kMaxDepth || !handler_.StartArray()) return Fail();
    ++p_;
    SkipSpace();
    unsigned elements = 0;
    if (*p_ != ']') {
      for (;;) {
        if (!ParseValue(depth + 1)) return false;
        ++elements;
        SkipSpace();
        if (*p_ == ',') {
          ++p_;
          SkipSpace();
          continue;
        }
        if (*p_ != ']') return Fail();
        break;
      }
    }
    ++p_;
    return handler_.EndArray(elements) || Fail();
  }

  char* p_;
  Handler& handler_;
  JsonStatus status_ = JsonStatus::kOk;
  size_t offset_ = 0;
};

}  // namespace mpe::decode
