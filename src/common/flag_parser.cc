#include "common/flag_parser.h"

namespace mpe::common {

namespace {

// The definition `name` spells; `has_value` when the word had "=VALUE".
const FlagDef* FindFlag(std::span<const FlagDef> table, std::string_view name, bool has_value) {
  for (const FlagDef& def : table) {
    if (def.name == name) return &def;
    if (!def.alias.empty() && def.alias == name && !(has_value && def.kind == FlagKind::kSwitch)) {
      return &def;
    }
  }
  return nullptr;
}

bool IsFlagWord(std::string_view word, const FlagSyntax& syntax) {
  if (word.starts_with("--")) return true;
  return syntax.dash_words_are_flags && word.size() > 1 && word.front() == '-';
}

std::vector<std::string> Words(std::span<const std::string_view> args) {
  return std::vector<std::string>(args.begin(), args.end());
}

}  // namespace

FlagParse ParseFlags(std::span<const std::string_view> args, std::span<const FlagDef> table,
                     const FlagSyntax& syntax) {
  FlagParse out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view word = args[i];
    if (syntax.double_dash_ends_flags && word == "--") {
      out.rest = Words(args.subspan(i + 1));
      break;
    }
    const size_t eq = word.find('=');
    const std::string_view name = word.substr(0, eq);
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = word.substr(eq + 1);
    const FlagDef* def = FindFlag(table, name, value.has_value());
    if (def == nullptr) {
      if (IsFlagWord(word, syntax)) {
        out.error = FlagError{FlagErrorKind::kUnknownFlag, std::string(name), ""};
      } else if (syntax.stop_at_positional) {
        out.rest = Words(args.subspan(i));
      } else {
        out.error = FlagError{FlagErrorKind::kUnexpectedArgument, "", std::string(word)};
      }
      break;
    }
    if (def->kind == FlagKind::kSwitch && value) {
      out.error = FlagError{FlagErrorKind::kUnexpectedValue, def->name, std::string(*value)};
      break;
    }
    if (def->kind == FlagKind::kOptionalBool && value && *value != "true" && *value != "false") {
      out.error = FlagError{FlagErrorKind::kNotABoolean, def->name, std::string(*value)};
      break;
    }
    if (def->kind == FlagKind::kValue && !value) {
      if (i + 1 >= args.size()) {
        out.error = FlagError{FlagErrorKind::kMissingValue, def->name, ""};
        break;
      }
      value = args[++i];
    }
    out.flags.push_back({def->name, std::string(value.value_or("true"))});
  }
  return out;
}

std::string FlagErrorText(const FlagError& error) {
  switch (error.kind) {
    case FlagErrorKind::kUnknownFlag:
      return "unknown flag " + error.flag;
    case FlagErrorKind::kMissingValue:
      return "flag " + error.flag + " needs a value";
    case FlagErrorKind::kUnexpectedValue:
      return "flag " + error.flag + " takes no value";
    case FlagErrorKind::kNotABoolean:
      return "flag " + error.flag + " takes true or false; got \"" + error.value + "\"";
    case FlagErrorKind::kUnexpectedArgument:
      return "unexpected argument \"" + error.value + "\"";
  }
  return "bad flag " + error.flag;
}

}  // namespace mpe::common
