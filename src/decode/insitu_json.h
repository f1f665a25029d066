#pragma once

#include <emmintrin.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "decode/json_scan.h"

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
//
// JSON sent as a JSON string (Mist's `data` is often one) can be read without unescaping it
// first, in one pass:
// - A handler that has `bool WantsRawString()` is asked before each string value; when it says
//   yes and every escape in the string is a two-byte one (no \u, no invalid escape, no control
//   byte), the string is not unescaped but handed over as `RawString(begin, end)`: the escaped
//   text between the quotes, untouched. Otherwise it is read as usual (String).
// - InsituJsonReader<Handler, true> (escaped mode) then parses such escaped text directly: \"
//   delimits strings, \n \r \t and spaces are whitespace, and it never writes to the buffer:
//   a string without escapes of its own is passed where it lies; one with escapes (\\u2192 in
//   the text, i.e. \u2192 in the JSON inside) is unescaped into the scratch buffer given to
//   set_scratch (at least as long as the text). Anything unusual (an escape the inner JSON
//   cannot hold there, \u at the outer level, a lone surrogate, ...) fails the parse. When it
//   succeeds the handler saw exactly the calls that unescaping and then parsing would have
//   made; when it fails the caller unescapes the text (UnescapeString) and parses it the usual
//   way, which decides what the failure was.
enum class JsonStatus { kOk, kError, kNumberTooBig };

template <class Handler, bool kEscaped = false>
class InsituJsonReader {
 public:
  // Hard limit on nesting, independent of what the handler allows.
  static constexpr int kMaxDepth = 1024;

  InsituJsonReader(char* text, Handler& handler) : p_(text), handler_(handler) {}

  // Parses one value (surrounding whitespace allowed) and stops after it. offset() then tells
  // where it stopped; the caller decides whether what follows is acceptable.
  JsonStatus Parse(const char* begin) {
    SkipSpace();
    if (*p_ == '\0' || !ParseValue(0))
      return status_ == JsonStatus::kOk ? JsonStatus::kError : status_;
    SkipSpace();
    offset_ = static_cast<size_t>(p_ - begin);
    return JsonStatus::kOk;
  }
  size_t offset() const { return offset_; }
  // Escaped mode: where strings with escapes of their own are unescaped to.
  void set_scratch(char* scratch) { scratch_ = scratch; }

  // `start` is the byte after a string's opening quote. Unescapes the string in place up to its
  // closing quote and NUL-terminates it; returns the byte after the closing quote and sets *n
  // to the unescaped length, or returns nullptr for an invalid string.
  static char* UnescapeString(char* start, unsigned* n) {
    char* src = ScanString(start);
    char* dst = src;
    while (*src != '"') {
      if (*src != '\\') return nullptr;  // a control byte, including the terminating NUL
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
          if (cp < 0) return nullptr;
          src += 6;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (src[0] != '\\' || src[1] != 'u') return nullptr;
            const int low = Hex4(src + 2);
            if (low < 0xDC00 || low > 0xDFFF) return nullptr;
            src += 6;
            cp = (((cp - 0xD800) << 10) | (low - 0xDC00)) + 0x10000;
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return nullptr;
          }
          dst = PutUtf8(dst, static_cast<uint32_t>(cp));
          break;
        }
        default:
          return nullptr;
      }
      CopyRun(src, dst);
    }
    *dst = '\0';
    *n = static_cast<unsigned>(dst - start);
    return src + 1;
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
  void SkipSpace() {
    if constexpr (kEscaped) {
      // Escaped text: a raw control byte cannot occur (the string holding it was checked), so
      // whitespace is a space or a \n, \r, \t escape.
      for (;;) {
        if (*p_ == ' ') {
          ++p_;
        } else if (*p_ == '\\' && (p_[1] == 'n' || p_[1] == 'r' || p_[1] == 't')) {
          p_ += 2;
        } else {
          return;
        }
      }
    } else {
      while (IsSpace(*p_)) ++p_;
    }
  }
  // At the opening of a string: a quote, or in escaped mode an escaped quote.
  bool AtString() const {
    if constexpr (kEscaped) {
      return p_[0] == '\\' && p_[1] == '"';
    } else {
      return *p_ == '"';
    }
  }
  static bool IsTwoByteEscape(char e) {
    return e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
           e == 't';
  }

  // `p` is the byte after a string's opening quote. Returns its closing quote when every escape
  // before it is a two-byte one and no control byte comes first, else nullptr. Escapes are
  // skipped with bit operations on each 16-byte block's mask, so escape-dense text (JSON inside
  // a string) costs a few instructions per escape. Never crosses a page (see ScanString).
  static char* SkipSimpleString(char* p) {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1F);
    bool escaped = false;  // the byte at p is the second byte of an escape
    for (;;) {
      if ((reinterpret_cast<uintptr_t>(p) & 4095) > 4096 - 16) {
        do {
          const char c = *p;
          if (escaped) {
            if (!IsTwoByteEscape(c)) return nullptr;
            escaped = false;
          } else if (c == '"') {
            return p;
          } else if (c == '\\') {
            escaped = true;
          } else if (static_cast<unsigned char>(c) < 0x20) {
            return nullptr;
          }
          ++p;
        } while ((reinterpret_cast<uintptr_t>(p) & 4095) != 0);
        continue;
      }
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const unsigned q = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)));
      const unsigned b = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)));
      const unsigned c = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, control), control)));
      unsigned m = q | b | c;
      if (escaped) {
        if (!IsTwoByteEscape(p[0])) return nullptr;
        m &= ~1u;
        escaped = false;
      }
      while (m != 0) {
        const unsigned i = static_cast<unsigned>(__builtin_ctz(m));
        const unsigned bit = 1u << i;
        if (b & bit) {
          if (i == 15) {
            escaped = true;
            break;
          }
          if (!IsTwoByteEscape(p[i + 1])) return nullptr;
          m &= ~(3u << i);
          continue;
        }
        if (q & bit) return p + i;
        return nullptr;  // a control byte, including the terminating NUL
      }
      p += 16;
    }
  }
  bool Fail(JsonStatus s = JsonStatus::kError) {
    status_ = s;
    return false;
  }

  static bool EndsString(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  }

  static char* ScanString(char* p) { return json::ScanString(p); }

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

  static int Hex4(const char* p) { return json::Hex4(p); }

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

  // p_ is at the opening quote. Unescapes in place, NUL-terminates, calls Key or String. In
  // escaped mode p_ is at \" and the string must hold no escapes: it is passed where it lies.
  bool ParseString(bool key) {
    if constexpr (kEscaped) {
      char* const start = p_ + 2;
      char* const end = ScanString(start);
      if (end[0] == '\\' && end[1] == '"') {
        p_ = end + 2;
        const auto n = static_cast<unsigned>(end - start);
        const bool ok = key ? handler_.Key(start, n, false) : handler_.String(start, n, false);
        return ok || Fail();
      }
      return ParseStringWithEscapes(start, key);
    } else {
      char* const start = p_ + 1;
      unsigned n = 0;
      char* const next = UnescapeString(start, &n);
      if (next == nullptr) return Fail();
      p_ = next;
      const bool ok = key ? handler_.Key(start, n, false) : handler_.String(start, n, false);
      return ok || Fail();
    }
  }

  // Escaped mode, a string that holds escapes of its own: `start` follows its opening \".
  // Unescapes both levels into scratch_ and passes the result from there.
  // Long on purpose: one pass decoding both escape levels in place, a case per escape.
  bool ParseStringWithEscapes(char* start, bool key) {
    if (scratch_ == nullptr) return Fail();
    char* const out_start = scratch_;
    char* out = out_start;
    char* src = start;
    for (;;) {
      char* const run_end = ScanString(src);
      std::memcpy(out, src, static_cast<size_t>(run_end - src));
      out += run_end - src;
      src = run_end;
      if (src[0] != '\\') return Fail();  // the raw quote ending the text, or a control byte
      const char e = src[1];
      if (e == '"') {  // the closing \"
        src += 2;
        break;
      }
      if (e == '/') {  // an escaped '/' of the outer level: a plain '/' inside
        *out++ = '/';
        src += 2;
        continue;
      }
      // \n, \t, ... of the outer level would be raw control bytes inside a string; \u there is
      // possible but unusual: both are left to the two-pass reading.
      if (e != '\\') return Fail();
      // An escape of the inner JSON: its letter follows, itself escaped where the outer level
      // needs it (\" and \\).
      src += 2;
      const char x = src[0];
      if (x == '\\') {
        const char y = src[1];
        if (y != '"' && y != '\\' && y != '/') return Fail();
        *out++ = y;
        src += 2;
        continue;
      }
      ++src;
      switch (x) {
        case '/':
          *out++ = '/';
          break;
        case 'b':
          *out++ = '\b';
          break;
        case 'f':
          *out++ = '\f';
          break;
        case 'n':
          *out++ = '\n';
          break;
        case 'r':
          *out++ = '\r';
          break;
        case 't':
          *out++ = '\t';
          break;
        case 'u': {
          int cp = Hex4(src);
          if (cp < 0) return Fail();
          src += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // The low half must follow as \\uXXXX (the inner \uXXXX, escaped).
            if (src[0] != '\\' || src[1] != '\\' || src[2] != 'u') return Fail();
            const int low = Hex4(src + 3);
            if (low < 0xDC00 || low > 0xDFFF) return Fail();
            src += 7;
            cp = (((cp - 0xD800) << 10) | (low - 0xDC00)) + 0x10000;
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail();
          }
          out = PutUtf8(out, static_cast<uint32_t>(cp));
          break;
        }
        default:
          return Fail();
      }
    }
    p_ = src;
    scratch_ = out;
    const auto n = static_cast<unsigned>(out - out_start);
    const bool ok = key ? handler_.Key(out_start, n, false) : handler_.String(out_start, n, false);
    return ok || Fail();
  }

  // p_ is at the opening quote of a value the handler wants raw (see the class comment).
  bool ParseRawString() {
    char* const start = p_ + 1;
    char* const end = SkipSimpleString(start);
    if (end == nullptr) return ParseString(false);  // \u, a bad escape or a control byte
    p_ = end + 1;
    return handler_.RawString(start, end) || Fail();
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
        if constexpr (kEscaped) {
          return Fail();  // the raw quote that ends the escaped text
        } else {
          if constexpr (requires(Handler & h) { h.WantsRawString(); }) {
            if (handler_.WantsRawString()) return ParseRawString();
          }
          return ParseString(false);
        }
      case '\\':
        if constexpr (kEscaped) {
          if (p_[1] == '"') return ParseString(false);
        }
        return Fail();
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
        if (!AtString()) return Fail();
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
  char* scratch_ = nullptr;
  Handler& handler_;
  JsonStatus status_ = JsonStatus::kOk;
  size_t offset_ = 0;
};

}  // namespace mpe::decode
