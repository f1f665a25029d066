#include "decode/insitu_json.h"

#include <gtest/gtest.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "fuzz/replay_inputs.h"

// InsituJsonReader must behave like rapidjson::Reader with kParseInsituFlag |
// kParseStopWhenDoneFlag (what the frame decoder used before): same verdict, same handler calls,
// same numbers. Checked on hand-written edge cases, the decode_frame fuzz corpus and
// deterministic mutations of both.

namespace mpe::decode {
namespace {

// Records every SAX call as a token; doubles separately so they can be compared with a tolerance
// (RapidJSON's default conversion may be an ulp off; ours is exact).
struct Recorder {
  std::vector<std::string> tokens;
  std::vector<double> doubles;
  int depth = 0;
  int max_depth = 1 << 30;

  bool Null() { return Add("null"); }
  bool Bool(bool b) { return Add(b ? "true" : "false"); }
  bool Int(int i) { return Add("I" + std::to_string(i)); }
  bool Uint(unsigned u) { return Add("U" + std::to_string(u)); }
  bool Int64(int64_t i) { return Add("I64:" + std::to_string(i)); }
  bool Uint64(uint64_t u) { return Add("U64:" + std::to_string(u)); }
  bool Double(double d) {
    doubles.push_back(d);
    return Add("D");
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return Add("raw"); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    // In situ strings are NUL-terminated where they lie.
    if (s[n] != '\0') return Add("UNTERMINATED");
    return Add("S" + std::string(s, n));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (s[n] != '\0') return Add("UNTERMINATED");
    return Add("K" + std::string(s, n));
  }
  bool StartObject() { return ++depth <= max_depth && Add("{"); }
  bool EndObject(rapidjson::SizeType n) {
    --depth;
    return Add("}" + std::to_string(n));
  }
  bool StartArray() { return ++depth <= max_depth && Add("["); }
  bool EndArray(rapidjson::SizeType n) {
    --depth;
    return Add("]" + std::to_string(n));
  }
  bool Add(std::string t) {
    tokens.push_back(std::move(t));
    return true;
  }
};

struct Outcome {
  bool ok = false;
  bool too_big = false;
  Recorder rec;
};

// Buffers get the decoder's contract: NUL after the text, 16 spare bytes.
std::vector<char> Buffer(const std::string& text) {
  std::vector<char> buf(text.begin(), text.end());
  buf.resize(text.size() + 17, '\0');
  return buf;
}

Outcome WithRapidJson(const std::string& text, int max_depth) {
  Outcome out;
  out.rec.max_depth = max_depth;
  std::vector<char> buf = Buffer(text);
  rapidjson::InsituStringStream stream(buf.data());
  rapidjson::Reader reader;
  rapidjson::ParseResult r =
      reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseStopWhenDoneFlag>(stream,
                                                                                    out.rec);
  if (!r) {
    out.too_big = r.Code() == rapidjson::kParseErrorNumberTooBig;
    return out;
  }
  // What the frame decoder accepted: only whitespace between the value and the end.
  for (size_t i = stream.Tell(); i < text.size(); ++i) {
    const char c = text[i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return out;
  }
  out.ok = true;
  return out;
}

Outcome WithOurs(const std::string& text, int max_depth) {
  Outcome out;
  out.rec.max_depth = max_depth;
  std::vector<char> buf = Buffer(text);
  InsituJsonReader<Recorder> reader(buf.data(), out.rec);
  const JsonStatus status = reader.Parse(buf.data());
  out.too_big = status == JsonStatus::kNumberTooBig;
  out.ok = status == JsonStatus::kOk && reader.offset() == text.size();
  return out;
}

// Intended differences: a number beyond double's range is always refused (RapidJSON reads some
// as infinity), and a lone low surrogate escape (\uDC00-\uDFFF not after a high one): RapidJSON 1.1
// writes it as CESU-8, we refuse it.
bool HasLoneLowSurrogate(const std::string& text) {
  for (size_t i = 0; i + 6 <= text.size(); ++i) {
    if (text[i] == '\\' && text[i + 1] == 'u' && (text[i + 2] == 'd' || text[i + 2] == 'D')) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 3])));
      if (c >= 'c' && c <= 'f') return true;
    }
  }
  return false;
}

// Returns a description of the first difference, "" when both agree.
// `classify`: also require the same kind of refusal (number too big or not). Mutations skip it:
// RapidJSON refuses 0e30000 as too big, we read it as 0 and refuse the input for what follows.
std::string Compare(const std::string& text, int max_depth = 1 << 30, bool classify = true) {
  const Outcome theirs = WithRapidJson(text, max_depth);
  const Outcome ours = WithOurs(text, max_depth);
  if (theirs.ok != ours.ok) {
    if (HasLoneLowSurrogate(text)) return "";
    // RapidJSON refuses 1e400 but reads 91e308 as infinity; we refuse both as too big.
    if (theirs.ok && ours.too_big &&
        std::any_of(theirs.rec.doubles.begin(), theirs.rec.doubles.end(),
                    [](double d) { return std::isinf(d); })) {
      return "";
    }
    // RapidJSON refuses 0e309 (exponent over 308 whatever the digits); it is 0.
    if (theirs.too_big && ours.ok) return "";
    return std::string("verdict differs: rapidjson ") + (theirs.ok ? "accepts" : "rejects") +
           ", ours " + (ours.ok ? "accepts" : "rejects");
  }
  if (!theirs.ok) {
    if (classify && theirs.too_big != ours.too_big) return "number-too-big classification differs";
    return "";
  }
  if (theirs.rec.tokens != ours.rec.tokens) {
    std::string why = "tokens differ:";
    for (size_t i = 0; i < std::max(theirs.rec.tokens.size(), ours.rec.tokens.size()); ++i) {
      const std::string a = i < theirs.rec.tokens.size() ? theirs.rec.tokens[i] : "<none>";
      const std::string b = i < ours.rec.tokens.size() ? ours.rec.tokens[i] : "<none>";
      if (a != b) return why + " #" + std::to_string(i) + " rapidjson=" + a + " ours=" + b;
    }
    return why;
  }
  for (size_t i = 0; i < theirs.rec.doubles.size(); ++i) {
    const double a = theirs.rec.doubles[i], b = ours.rec.doubles[i];
    if (std::signbit(a) != std::signbit(b) ||
        std::fabs(a - b) > 4 * std::numeric_limits<double>::epsilon() * std::fabs(a)) {
      char msg[128];
      std::snprintf(msg, sizeof msg, "double #%zu: rapidjson=%.17g ours=%.17g", i, a, b);
      return msg;
    }
  }
  return "";
}

const std::vector<std::string>& EdgeCases() {
  static const std::vector<std::string> cases = {
      "{}",
      "[]",
      " {} ",
      "{\"a\":1}",
      "{\"a\":1,}",
      "{,}",
      "[1,]",
      "[,1]",
      "{\"a\" : [ 1 , 2 ] }",
      "{\"a\":1}x",
      "{\"a\":1} \n",
      "{\"a\":1}{}",
      "",
      "   ",
      "\"x\"",
      "1",
      "-",
      "--1",
      "+1",
      "0",
      "-0",
      "00",
      "01",
      "-01",
      "0.",
      ".5",
      "1.5",
      "1.5e3",
      "1E-3",
      "1e",
      "1e+",
      "1e+5",
      "-0.0",
      "0e0",
      "4294967295",
      "4294967296",
      "-2147483648",
      "-2147483649",
      "9223372036854775807",
      "9223372036854775808",
      "-9223372036854775808",
      "-9223372036854775809",
      "18446744073709551615",
      "18446744073709551616",
      "184467440737095516150",
      "-18446744073709551616",
      "123456789012345678901234567890",
      "1e308",
      "1e309",
      "-1e309",
      "1e400",
      "1e-400",
      "2.2250738585072014e-308",
      "4.9e-324",
      "0.30000000000000004",
      "3.141592653589793238462643383279",
      "true",
      "false",
      "null",
      "tru",
      "nul",
      "fals",
      "truex",
      "[true,false,null]",
      "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
      "\"\\u0041\\u00e9\\u20ac\"",
      "\"\\u0000x\"",
      "\"\\ud83d\\ude00\"",
      "\"\\ud83d\"",
      "\"\\ud83dx\"",
      "\"\\ud83d\\u0041\"",
      "\"\\u12\"",
      "\"\\uZZZZ\"",
      "\"\\x\"",
      "\"abc",
      "\"a\nb\"",
      "\"a\tb\"",
      "\"\x7f\"",
      "\"\xff\xfe\"",
      "{\"k\":\"v\",\"k\":\"w\"}",
      "{\"\":\"\"}",
      "{1:2}",
      "{\"a\"1}",
      "{\"a\":}",
      "[[[[[[[[[[]]]]]]]]]]",
      "[[[[[[[[[[]]]]]]]]]",
      "{\"a\":{\"b\":{\"c\":[1,{\"d\":null}]}}}",
      std::string("{\"a\":1}\0", 8),
      std::string("\"a\0b\"", 5),
      "{\"data\":\"{\\\"capture_id\\\":\\\"x\\\",\\\"pcap_dict\\\":{\\\"rssi\\\":-61.0}}\"}",
      std::string(40, '[') + std::string(40, ']'),
      "\"" + std::string(5000, 'a') + "\"",
      "\"" + std::string(300, 'a') + "\\n" + std::string(300, 'b') + "\"",
  };
  return cases;
}

TEST(InsituJsonTest, AgreesWithRapidJsonOnEdgeCases) {
  for (const std::string& text : EdgeCases()) {
    EXPECT_EQ(Compare(text), "") << "input: " << text;
  }
}

TEST(InsituJsonTest, NumbersGetRapidJsonsIntegerTypes) {
  Recorder rec;
  std::vector<char> buf = Buffer(
      "[0,-0,4294967295,4294967296,-2147483648,-2147483649,"
      "18446744073709551615,-9223372036854775808,1.0,1e2]");
  InsituJsonReader<Recorder> reader(buf.data(), rec);
  ASSERT_EQ(reader.Parse(buf.data()), JsonStatus::kOk);
  EXPECT_EQ(rec.tokens,
            (std::vector<std::string>{"[", "U0", "I0", "U4294967295", "U64:4294967296",
                                      "I-2147483648", "I64:-2147483649", "U64:18446744073709551615",
                                      "I64:-9223372036854775808", "D", "D", "]10"}));
  EXPECT_EQ(rec.doubles, (std::vector<double>{1.0, 100.0}));
}

TEST(InsituJsonTest, UnescapesInPlaceAndNulTerminates) {
  Recorder rec;
  std::vector<char> buf = Buffer(R"({"a\"b":"x\\y\u00e9\ud83d\ude00z","k":"plain"})");
  InsituJsonReader<Recorder> reader(buf.data(), rec);
  ASSERT_EQ(reader.Parse(buf.data()), JsonStatus::kOk);
  EXPECT_EQ(rec.tokens, (std::vector<std::string>{"{", "Ka\"b", "Sx\\y\xc3\xa9\xf0\x9f\x98\x80z",
                                                  "Kk", "Splain", "}2"}));
}

TEST(InsituJsonTest, AHandlerCanStopTheParse) {
  Recorder rec;
  rec.max_depth = 3;
  std::vector<char> buf = Buffer("[[[[1]]]]");
  InsituJsonReader<Recorder> reader(buf.data(), rec);
  EXPECT_EQ(reader.Parse(buf.data()), JsonStatus::kError);
  EXPECT_EQ(Compare("[[[[1]]]]", 3), "");
  EXPECT_EQ(Compare("[[[1]]]", 3), "");
}

TEST(InsituJsonTest, ReportsNumbersBeyondDoubleRange) {
  Recorder rec;
  std::vector<char> buf = Buffer("{\"x\":1e400}");
  InsituJsonReader<Recorder> reader(buf.data(), rec);
  EXPECT_EQ(reader.Parse(buf.data()), JsonStatus::kNumberTooBig);
}

TEST(InsituJsonTest, AgreesWithRapidJsonOnTheFuzzCorpusAndItsMutations) {
  std::vector<std::string> seeds = EdgeCases();
  for (const char* folder : {"corpus", "regressions"}) {
    for (const auto& in : fuzz::ReadReplayInputs(MPE_SOURCE_DIR, folder, "decode_frame")) {
      seeds.push_back(in.bytes);
    }
  }
  ASSERT_GE(seeds.size(), 100u);
  std::mt19937 rng(20261126);
  static constexpr char kAlphabet[] = "{}[]:,\"\\ unt0-1.9eE+abfrl\x01\xff";
  size_t checked = 0;
  for (const std::string& seed : seeds) {
    ASSERT_EQ(Compare(seed), "") << "seed: " << seed;
    for (int m = 0; m < 1000; ++m) {
      std::string text = seed;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
        const char c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
        switch (rng() % 4) {
          case 0:
            if (at < text.size()) text[at] = c;
            break;
          case 1:
            text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
            break;
          case 2:
            if (at < text.size()) text.erase(at, 1 + rng() % 4);
            break;
          default:
            text.resize(at);
            break;
        }
      }
      ASSERT_EQ(Compare(text, 1 << 30, /*classify=*/false), "")
          << "seed: " << seed << "\nmutant: " << text;
      ++checked;
    }
  }
  EXPECT_GE(checked, 100000u);
}

}  // namespace
}  // namespace mpe::decode
