#include "common/flag_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace mpe::common {

// For gtest's failure messages.
void PrintTo(const ParsedFlag& f, std::ostream* os) { *os << f.name << "=" << f.value; }
void PrintTo(const FlagError& e, std::ostream* os) { *os << FlagErrorText(e); }

namespace {

using Flags = std::vector<ParsedFlag>;
using Words = std::vector<std::string>;
using K = FlagErrorKind;

const std::vector<FlagDef> kTable = {
    {"--help", FlagKind::kSwitch, "-h"},
    {"--output", FlagKind::kValue, "-o"},
    {"--site", FlagKind::kValue, ""},
    {"--includes-mcast", FlagKind::kOptionalBool, ""},
};

// The exporter's reading: "--" and the first positional end the flags, "-x" is a flag.
constexpr FlagSyntax kSubcommandSyntax{
    .double_dash_ends_flags = true, .stop_at_positional = true, .dash_words_are_flags = true};

FlagParse Parse(std::vector<std::string_view> args, const FlagSyntax& syntax = {}) {
  return ParseFlags(args, kTable, syntax);
}

TEST(FlagParserTest, TakesValuesAfterEqualsOrInTheNextWord) {
  const FlagParse p = Parse({"--site=HQ", "--output", "json", "--site", "--odd", "--site=a=b"});
  EXPECT_EQ(p.error, std::nullopt);
  EXPECT_EQ(
      p.flags,
      (Flags{{"--site", "HQ"}, {"--output", "json"}, {"--site", "--odd"}, {"--site", "a=b"}}));
  EXPECT_TRUE(p.rest.empty());
  EXPECT_EQ(Parse({"--site="}).flags, (Flags{{"--site", ""}}));
}

TEST(FlagParserTest, KeepsRepeatedFlagsInOrder) {
  EXPECT_EQ(Parse({"--site", "b", "-o", "json", "--site=a", "--site", "c"}).flags,
            (Flags{{"--site", "b"}, {"--output", "json"}, {"--site", "a"}, {"--site", "c"}}));
}

TEST(FlagParserTest, AliasesGiveTheTableName) {
  EXPECT_EQ(Parse({"-o", "json", "-o=table", "-h"}).flags,
            (Flags{{"--output", "json"}, {"--output", "table"}, {"--help", "true"}}));
  // A switch's alias is only the exact word.
  EXPECT_EQ(Parse({"-h=1"}).error, (FlagError{K::kUnexpectedArgument, "", "-h=1"}));
  EXPECT_EQ(Parse({"-h=1"}, kSubcommandSyntax).error, (FlagError{K::kUnknownFlag, "-h", ""}));
  EXPECT_EQ(Parse({"-o"}).error, (FlagError{K::kMissingValue, "--output", ""}));
}

TEST(FlagParserTest, SwitchesTakeNoValue) {
  EXPECT_EQ(Parse({"--help"}).flags, (Flags{{"--help", "true"}}));
  const FlagParse p = Parse({"--site", "HQ", "--help=yes", "--site", "x"});
  EXPECT_EQ(p.error, (FlagError{K::kUnexpectedValue, "--help", "yes"}));
  EXPECT_EQ(p.flags, (Flags{{"--site", "HQ"}}));
  EXPECT_EQ(FlagErrorText(*p.error), "flag --help takes no value");
}

TEST(FlagParserTest, OptionalBooleansTakeTrueOrFalseOnlyAfterEquals) {
  EXPECT_EQ(Parse({"--includes-mcast", "--includes-mcast=false", "--includes-mcast=true"}).flags,
            (Flags{{"--includes-mcast", "true"},
                   {"--includes-mcast", "false"},
                   {"--includes-mcast", "true"}}));
  const FlagParse bad = Parse({"--includes-mcast=yes"});
  EXPECT_EQ(bad.error, (FlagError{K::kNotABoolean, "--includes-mcast", "yes"}));
  EXPECT_EQ(FlagErrorText(*bad.error), "flag --includes-mcast takes true or false; got \"yes\"");
  // The next word is not its value.
  const FlagParse next = Parse({"--includes-mcast", "false"});
  EXPECT_EQ(next.flags, (Flags{{"--includes-mcast", "true"}}));
  EXPECT_EQ(next.error, (FlagError{K::kUnexpectedArgument, "", "false"}));
}

TEST(FlagParserTest, AValueFlagAtTheEndMissesItsValue) {
  const FlagParse p = Parse({"--output=json", "--site"});
  EXPECT_EQ(p.flags, (Flags{{"--output", "json"}}));
  EXPECT_EQ(p.error, (FlagError{K::kMissingValue, "--site", ""}));
  EXPECT_EQ(FlagErrorText(*p.error), "flag --site needs a value");
}

TEST(FlagParserTest, UnknownFlagsAreNamedAsTyped) {
  EXPECT_EQ(Parse({"--foo=bar"}).error, (FlagError{K::kUnknownFlag, "--foo", ""}));
  EXPECT_EQ(Parse({"--"}).error, (FlagError{K::kUnknownFlag, "--", ""}));
  EXPECT_EQ(Parse({"-x"}, kSubcommandSyntax).error, (FlagError{K::kUnknownFlag, "-x", ""}));
  EXPECT_EQ(FlagErrorText(*Parse({"--foo"}).error), "unknown flag --foo");
}

TEST(FlagParserTest, PositionalsAreErrorsByDefault) {
  const FlagParse p = Parse({"--site", "HQ", "-x", "--bogus"});
  EXPECT_EQ(p.flags, (Flags{{"--site", "HQ"}}));
  EXPECT_EQ(p.error, (FlagError{K::kUnexpectedArgument, "", "-x"}));
  EXPECT_EQ(FlagErrorText(*p.error), "unexpected argument \"-x\"");
  EXPECT_EQ(Parse({""}).error, (FlagError{K::kUnexpectedArgument, "", ""}));
}

TEST(FlagParserTest, StopsAtTheFirstPositionalOrAfterDoubleDash) {
  const FlagParse sub =
      Parse({"-o", "json", "captures", "list", "--site", "HQ", "--bogus"}, kSubcommandSyntax);
  EXPECT_EQ(sub.error, std::nullopt);
  EXPECT_EQ(sub.flags, (Flags{{"--output", "json"}}));
  EXPECT_EQ(sub.rest, (Words{"captures", "list", "--site", "HQ", "--bogus"}));
  const FlagParse dash = Parse({"-h", "--", "--weird", "x"}, kSubcommandSyntax);
  EXPECT_EQ(dash.error, std::nullopt);
  EXPECT_EQ(dash.flags, (Flags{{"--help", "true"}}));
  EXPECT_EQ(dash.rest, (Words{"--weird", "x"}));
  EXPECT_EQ(Parse({"-", "--site"}, kSubcommandSyntax).rest, (Words{"-", "--site"}));
  EXPECT_EQ(Parse({"--"}, kSubcommandSyntax).rest, Words{});
  EXPECT_EQ(Parse({}, kSubcommandSyntax).rest, Words{});
}

TEST(FlagParserTest, TheFirstDefinitionOfANameWins) {
  const std::vector<FlagDef> table = {{"--x", FlagKind::kSwitch, ""},
                                      {"--x", FlagKind::kValue, ""}};
  const std::vector<std::string_view> args = {"--x"};
  EXPECT_EQ(ParseFlags(args, table).flags, (Flags{{"--x", "true"}}));
}

}  // namespace
}  // namespace mpe::common
