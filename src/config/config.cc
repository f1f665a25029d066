#include "config/config.h"

#include <string_view>

namespace mpe::config {

std::string DeriveStreamUrl(const std::string& api_url) {
  std::string_view url = api_url;
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  std::string scheme = "wss";
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
    scheme = "ws";
  }
  // Only the host part is rewritten; a path (which validation forbids anyway) is dropped.
  url = url.substr(0, url.find('/'));
  std::string host(url);
  // Mist's clouds name the stream host after the REST host: api.X -> api-ws.X.
  if (host.starts_with("api.")) host = "api-ws." + host.substr(4);
  return scheme + "://" + host + "/api-ws/v1/stream";
}

}  // namespace mpe::config
