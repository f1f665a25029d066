#pragma once

#include <string>
#include <string_view>

namespace mpe::common {

// Text from the network made safe for one log line or a terminal: control characters (C0,
// DEL, C1, so also ANSI escape sequences) become \n, \t, \r or \xHH; bytes that are not valid
// UTF-8 become \xHH; everything else is kept. Pure.
std::string EscapeControl(std::string_view text);

}  // namespace mpe::common
