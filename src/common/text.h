#pragma once
// Making untrusted text (from Mist, the stream, a peer) safe to print and to use as a label.
#include <cstddef>
#include <string>
#include <string_view>

namespace mpe::common {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);

// Text for one log line or a terminal: every control character (C0, DEL, C1), escape
// sequences included, the Unicode line/paragraph separators and bidirectional overrides, and
// every byte that is not part of valid UTF-8 are written as \n, \r, \t or \xNN / \u{NNNN};
// a backslash becomes \\ so that the escaping cannot be forged. Printable UTF-8 is kept. Pure.
std::string EscapeControl(std::string_view s);

// The longest prefix of `s` of at most `max_bytes` bytes that does not cut a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);

// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string ReplaceInvalidUtf8(std::string_view s);

}  // namespace mpe::common
