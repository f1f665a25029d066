#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace mpe::stream {

// A parsed ws:// or wss:// URL. A value type; `Redacted()` is the only form that may be logged
// (it drops user info and the query string, either of which may carry a credential).
struct StreamUrl {
  bool tls = false;
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // always set: explicit or the scheme default (80 / 443)
  std::string target;  // path and query, at least "/"
  bool default_port = true;

  // Value of the Host header: host, plus ":port" when the port is not the scheme default.
  std::string HostHeader() const;
  // scheme://host[:port]/path without user info, query or fragment.
  std::string Redacted() const;
};

// Parses ws://host[:port][/path][?query] and wss://... (scheme case-insensitive). User info
// ("user:pass@") is accepted and dropped; the error message never repeats the URL because it may
// hold a credential.
common::Result<StreamUrl> ParseStreamUrl(std::string_view url);

// True when `host` is an IPv4 or IPv6 literal (SNI must not be sent for those).
bool IsIpLiteral(std::string_view host);

}  // namespace mpe::stream
