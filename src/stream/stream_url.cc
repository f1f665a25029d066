#include "stream/stream_url.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>

namespace mpe::stream {
namespace {

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

}  // namespace

std::string StreamUrl::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!default_port) h += ":" + port;
  return h;
}

std::string StreamUrl::Redacted() const {
  std::string path = target.substr(0, target.find('?'));
  return std::string(tls ? "wss://" : "ws://") + HostHeader() + path;
}

common::Result<StreamUrl> ParseStreamUrl(std::string_view url) {
  StreamUrl out;
  if (StartsWithNoCase(url, "wss://")) {
    out.tls = true;
    url.remove_prefix(6);
  } else if (StartsWithNoCase(url, "ws://")) {
    url.remove_prefix(5);
  } else {
    return common::MakeError("stream url must start with ws:// or wss://");
  }
  size_t authority_end = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? "" : url.substr(authority_end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return common::MakeError("stream url: unclosed '[' in host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return common::MakeError("stream url: junk after IPv6 host");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return common::MakeError("stream url: empty host");
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return common::MakeError("stream url: port is not a number");
    }
    int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return common::MakeError("stream url: port out of range");
    out.port = std::string(port);
    out.default_port = (out.tls && p == 443) || (!out.tls && p == 80);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  rest = rest.substr(0, rest.find('#'));
  out.target = std::string(rest);
  if (out.target.empty() || out.target.front() == '?') out.target.insert(0, "/");
  return out;
}

bool IsIpLiteral(std::string_view host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

}  // namespace mpe::stream
