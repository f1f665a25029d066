#include "common/text.h"

#include <gtest/gtest.h>

namespace mpe::common {
namespace {

TEST(TextTest, ValidUtf8IsStrict) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Zürich – 東京 🙂"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("caf\xc3"));           // cut short
}

TEST(TextTest, EscapeControlDefusesForgedLinesAndTerminalSequences) {
  EXPECT_EQ(EscapeControl("site HQ"), "site HQ");
  EXPECT_EQ(EscapeControl("Zürich 🙂"), "Zürich 🙂");
  // A forged second log line and an ANSI "clear screen, red" sequence.
  EXPECT_EQ(EscapeControl("ok\n2026-12-05 [error] fake"), "ok\\n2026-12-05 [error] fake");
  EXPECT_EQ(EscapeControl("\x1b[2J\x1b[31mred"), "\\x1b[2J\\x1b[31mred");
  EXPECT_EQ(EscapeControl("a\rb\tc\x7f"), "a\\rb\\tc\\x7f");
  // C1 controls (CSI as U+009B), bidi overrides and line separators.
  EXPECT_EQ(EscapeControl("\xc2\x9b"
                          "31m"),
            "\\u{9b}31m");
  EXPECT_EQ(EscapeControl("abc\xe2\x80\xae"
                          "fed"),
            "abc\\u{202e}fed");
  EXPECT_EQ(EscapeControl("a\xe2\x80\xa8"
                          "b"),
            "a\\u{2028}b");
  // Invalid UTF-8 bytes, and a backslash so that "\\x1b" in the input stays distinguishable.
  EXPECT_EQ(EscapeControl("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeControl("a\\x1b"), "a\\\\x1b");
  EXPECT_EQ(EscapeControl(std::string("a\0b", 3)), "a\\x00b");
}

TEST(TextTest, Utf8PrefixNeverCutsASequence) {
  EXPECT_EQ(Utf8Prefix("short", 256), "short");
  EXPECT_EQ(Utf8Prefix("abcdef", 3), "abc");
  EXPECT_EQ(Utf8Prefix("ab\xc3\xbc", 3), "ab");        // ü is 2 bytes
  EXPECT_EQ(Utf8Prefix("a\xf0\x9f\x99\x82", 4), "a");  // 🙂 is 4 bytes
  EXPECT_EQ(Utf8Prefix("a\xf0\x9f\x99\x82", 5), "a\xf0\x9f\x99\x82");
}

TEST(TextTest, ReplaceInvalidUtf8UsesTheReplacementCharacter) {
  EXPECT_EQ(ReplaceInvalidUtf8("ok"), "ok");
  EXPECT_EQ(ReplaceInvalidUtf8("a\xffz"), "a\xef\xbf\xbdz");
  EXPECT_EQ(ReplaceInvalidUtf8("caf\xc3"), "caf\xef\xbf\xbd");
  EXPECT_TRUE(IsValidUtf8(ReplaceInvalidUtf8("\xed\xa0\x80\xc0\xaf")));
}

}  // namespace
}  // namespace mpe::common
