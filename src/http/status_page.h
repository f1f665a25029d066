#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mpe::http {

// What the status page (GET /) shows, filled by the app from the pollers, the stream
// connections and the managed captures. Plain data.
struct StatusPage {
  std::string version;
  std::string revision;
  bool stream_enabled = false;
  bool stream_connected = false;  // every stream connection is up
  std::string stream_url;
  std::string stream_last_error;  // shown only while disconnected

  struct Site {
    std::string name;
    std::string id;
    bool poll_up = false;
    bool subscribed = false;  // its stream channel (shown when the stream is enabled)
    bool capture_running = false;
    std::string capture_id;
    std::string capture_type;
    int aps_ok = 0;
    int aps_failed = 0;
    std::string last_error;
  };
  std::vector<Site> sites;

  struct ManagedCapture {
    std::string site;
    std::string site_id;
    std::string type;
    std::string state;
    std::string capture_id;
    std::string last_error;
  };
  bool show_managed = false;  // managed captures are configured (the table shows, maybe empty)
  std::vector<ManagedCapture> managed;
};

// The page as one self-contained HTML document (inline CSS); every value is HTML-escaped.
std::string RenderStatusPage(const StatusPage& page);

// Escapes < > & " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view s);

}  // namespace mpe::http
