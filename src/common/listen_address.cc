#include "common/listen_address.h"

#include <algorithm>
#include <cctype>

namespace mpe::common {

namespace {

bool ValidHost(std::string_view host) {
  return std::none_of(host.begin(), host.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == '/';
  });
}

// Decimal digits only (no sign, no spaces), 0..65535; -1 otherwise.
int Port(std::string_view text) {
  if (text.empty() || text.size() > 5) return -1;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n <= 65535 ? n : -1;
}

}  // namespace

ListenAddress ParseListenAddress(std::string_view address) {
  ListenAddress out;
  std::string_view host, port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      out.fault = ListenAddressFault::kBracketShape;
      return out;
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    if (host.empty() || host.find(':') == std::string_view::npos) {
      out.fault = ListenAddressFault::kBracketsNeedIpv6;
      return out;
    }
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      out.fault = ListenAddressFault::kShape;
      return out;
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      out.fault = ListenAddressFault::kUnbracketedIpv6;
      return out;
    }
  }
  if (!ValidHost(host)) {
    out.fault = ListenAddressFault::kBadHost;
    return out;
  }
  out.port = Port(port);
  if (out.port < 0) {
    out.port = 0;
    out.fault = ListenAddressFault::kBadPort;
    return out;
  }
  out.host_empty = host.empty();
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  return out;
}

}  // namespace mpe::common
