#pragma once
// The one command-line flag parser of the exporter, its `captures` CLI and the simulator: each
// declares a table of flags and reads the values; the words are split here. Pure, no I/O.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mpe::common {

enum class FlagKind {
  kValue,         // `--name=VALUE` or `--name VALUE` (the next word, whatever it is)
  kSwitch,        // `--name` alone; `--name=VALUE` is an error
  kOptionalBool,  // `--name` (true) or `--name=true|false`; never takes the next word
};

struct FlagDef {
  std::string name;  // "--output"
  FlagKind kind = FlagKind::kValue;
  // Another spelling, e.g. "-o" or "-h"; empty for none. It stands for the exact word, or with
  // "=VALUE" for a flag that takes a value ("-o=json"); "-h=1" is not a flag.
  std::string alias;
};

// How the words that are not flags of the table are read.
struct FlagSyntax {
  bool double_dash_ends_flags = false;  // "--" ends the flags (rest: the words after it)
  bool stop_at_positional = false;      // the first positional word ends the flags (rest: it on)
  // Words like "-x" are flags (unknown ones an error); otherwise they are positionals unless
  // they are an alias. "-" is always a positional.
  bool dash_words_are_flags = false;
};

enum class FlagErrorKind {
  kUnknownFlag,         // flag: the name as typed, before any "=" ("--foo", "-x")
  kMissingValue,        // flag: a kValue flag is the last word
  kUnexpectedValue,     // flag: a kSwitch was given "=VALUE"
  kNotABoolean,         // flag, value: a kOptionalBool was given "=VALUE" other than true/false
  kUnexpectedArgument,  // value: a positional word, and positionals do not stop the flags
};

// What went wrong, for the caller to word; `flag` is the table's name unless said otherwise.
struct FlagError {
  FlagErrorKind kind = FlagErrorKind::kUnknownFlag;
  std::string flag;
  std::string value;
  bool operator==(const FlagError&) const = default;
};

struct ParsedFlag {
  std::string name;   // the table's name, also when the alias was typed
  std::string value;  // "true" for a switch; "true" or "false" for a kOptionalBool
  bool operator==(const ParsedFlag&) const = default;
};

// A value type. On an error, `flags` holds the flags before it, so a caller can check their
// values in command-line order and report whichever problem comes first.
struct FlagParse {
  std::vector<ParsedFlag> flags;   // in command-line order, repeated flags repeated
  std::vector<std::string> rest;   // after "--" or from the first positional, per FlagSyntax
  std::optional<FlagError> error;  // the first problem; parsing stopped there
};

// Splits `args` (no program name) into the flags of `table` and what remains. The first
// definition of a name or alias wins. Pure; thread-safe.
FlagParse ParseFlags(std::span<const std::string_view> args, std::span<const FlagDef> table,
                     const FlagSyntax& syntax = {});

// The usual wording: "unknown flag --foo", "flag --log.level needs a value", "flag --version
// takes no value", "flag --x takes true or false; got \"maybe\"", "unexpected argument \"w\"".
std::string FlagErrorText(const FlagError& error);

}  // namespace mpe::common
