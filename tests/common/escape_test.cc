#include "common/escape.h"

#include <gtest/gtest.h>

namespace mpe::common {
namespace {

TEST(EscapeControlTest, KeepsPrintableTextAndUtf8) {
  EXPECT_EQ(EscapeControl("site HQ, floor 2"), "site HQ, floor 2");
  EXPECT_EQ(EscapeControl("Zürich \xe2\x82\xac \xf0\x9f\x93\xb6"),
            "Zürich \xe2\x82\xac \xf0\x9f\x93\xb6");
}

TEST(EscapeControlTest, EscapesNewlinesAnsiAndOtherControls) {
  EXPECT_EQ(EscapeControl("bad\nINFO forged"), "bad\\nINFO forged");
  EXPECT_EQ(EscapeControl("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(EscapeControl(std::string("a\0b\r\t\x7f", 6)), "a\\x00b\\r\\t\\x7f");
  EXPECT_EQ(EscapeControl("back\\slash"), "back\\\\slash");
  // C1 controls written in UTF-8 (U+009B is a one-character CSI on some terminals).
  EXPECT_EQ(EscapeControl("\xc2\x9b"
                          "31m"),
            "\\xc2\\x9b31m");
}

TEST(EscapeControlTest, EscapesInvalidUtf8ByteByByte) {
  EXPECT_EQ(EscapeControl("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeControl("\xc3"), "\\xc3");                    // cut short
  EXPECT_EQ(EscapeControl("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(EscapeControl("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(EscapeControl("ok\xe2\x82"), "ok\\xe2\\x82");
}

}  // namespace
}  // namespace mpe::common
