#pragma once

#include <string>
#include <string_view>

namespace mpe::common {

// What is wrong with a listen address, if anything. Callers word the message for their place
// (a config key, a flag, the server), the rule is this one.
enum class ListenAddressFault {
  kNone,
  kShape,             // no ":PORT"
  kBracketShape,      // "[" without "]:PORT"
  kBracketsNeedIpv6,  // "[...]" around something that is not an IPv6 address
  kUnbracketedIpv6,   // "::1:9000"
  kBadHost,           // spaces, brackets or '/' in the host
  kBadPort,           // not a decimal number from 0 to 65535
};

struct ListenAddress {
  std::string host;  // "0.0.0.0" for ":PORT"
  int port = 0;
  bool host_empty = false;  // ":PORT": callers with another default (the simulator) use theirs
  ListenAddressFault fault = ListenAddressFault::kNone;
};

// The one parser of HOST:PORT, :PORT and [IPv6]:PORT listen addresses, used by the config
// loader, the command line and the HTTP server alike: ":10052" -> {"0.0.0.0", 10052},
// "127.0.0.1:0", "[::1]:9000" -> {"::1", 9000}, "localhost:9000".
ListenAddress ParseListenAddress(std::string_view address);

}  // namespace mpe::common
