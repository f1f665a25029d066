#include "http/status_page.h"

#include <algorithm>
#include <sstream>

namespace mpe::http {

namespace {

// Inline so the page needs no second request; kept small (one screen of CSS).
constexpr char kLandingStyle[] =
    "<style>body{margin:0;font:14px/1.45 system-ui,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#1f2933;background:#f4f6f8}"
    "header{display:flex;align-items:baseline;gap:16px;padding:12px 24px;background:#1f2933;"
    "color:#fff}header h1{margin:0;font-size:20px}.ver{color:#9aa5b1;font-size:13px}"
    "nav{margin-left:auto}nav a{margin-left:18px;color:#b3d4ff;text-decoration:none}"
    "main{padding:4px 24px 24px}h2{margin:20px 0 8px;font-size:16px}"
    "#summary{margin:16px 0 0;font-size:15px}"
    "table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.12)}"
    "th,td{padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:left;white-space:nowrap}"
    "th{background:#e9edf1;font-size:13px}.num{text-align:right}"
    ".id{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px;color:#52606d;"
    "max-width:130px;overflow:hidden;text-overflow:ellipsis}"
    ".ok,.bad,.idle{padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600}"
    ".ok{background:#e3f9e5;color:#05600e}.bad{background:#ffe3e3;color:#a61b1b}"
    ".idle{background:#eceff2;color:#52606d}.warn{color:#a61b1b;font-weight:600}"
    ".err{white-space:normal;color:#a61b1b}</style>";

std::string ConnectedBadge(bool connected) {
  return connected ? "<span class=\"ok\">connected</span>"
                   : "<span class=\"bad\">disconnected</span>";
}

void AppendSummary(const StatusPage& page, std::ostringstream& html) {
  const auto& sites = page.sites;
  const auto capturing = std::count_if(sites.begin(), sites.end(),
                                       [](const StatusPage::Site& s) { return s.capture_running; });
  const auto polls_down = std::count_if(sites.begin(), sites.end(),
                                        [](const StatusPage::Site& s) { return !s.poll_up; });
  html << "<p id=\"summary\"><b>" << sites.size() << "</b>"
       << (sites.size() == 1 ? " site" : " sites") << " · <b>" << capturing << "</b> capturing · "
       << (polls_down ? "<span class=\"bad\">" + std::to_string(polls_down) +
                            (polls_down == 1 ? " poll" : " polls") + " failing</span>"
                      : std::string("all polls ok"))
       << " · stream "
       << (page.stream_enabled ? ConnectedBadge(page.stream_connected) : std::string("disabled"))
       << "</p>";
}

void AppendStream(const StatusPage& page, std::ostringstream& html) {
  html << "<h2>Stream</h2><p id=\"stream-state\">";
  if (!page.stream_enabled) {
    html << "disabled";
  } else {
    html << ConnectedBadge(page.stream_connected) << " to " << HtmlEscape(page.stream_url);
    if (!page.stream_connected && !page.stream_last_error.empty()) {
      html << " — last error: " << HtmlEscape(page.stream_last_error);
    }
  }
  html << "</p>";
}

void AppendSites(const StatusPage& page, std::ostringstream& html) {
  html << "<h2>Sites</h2><table id=\"sites\"><thead><tr><th>Site</th><th>Site ID</th>"
          "<th>Poll</th><th>Stream</th><th>Capture</th><th>Capture ID</th><th>Type</th>"
          "<th class=\"num\">APs ok</th><th class=\"num\">APs failed</th><th>Last error</th>"
          "</tr></thead><tbody>";
  for (const auto& s : page.sites) {
    std::string stream = "<span class=\"idle\">disabled</span>";
    if (page.stream_enabled) {
      stream = s.subscribed ? "<span class=\"ok\">subscribed</span>"
                            : "<span class=\"bad\">not subscribed</span>";
    }
    // UUIDs are cut to a recognisable prefix on screen; the title shows them in full.
    html << "<tr><td>" << HtmlEscape(s.name) << "</td><td class=\"id\" title=\"" << HtmlEscape(s.id)
         << "\">" << HtmlEscape(s.id) << "</td><td>"
         << (s.poll_up ? "<span class=\"ok\">up</span>" : "<span class=\"bad\">down</span>")
         << "</td><td>" << stream << "</td><td>"
         << (s.capture_running ? "<span class=\"ok\">running</span>"
                               : "<span class=\"idle\">none</span>")
         << "</td><td class=\"id\" title=\"" << HtmlEscape(s.capture_id) << "\">"
         << HtmlEscape(s.capture_id) << "</td><td>" << HtmlEscape(s.capture_type)
         << "</td><td class=\"num\">" << s.aps_ok << "</td><td class=\"num"
         << (s.aps_failed ? " warn" : "") << "\">" << s.aps_failed << "</td><td class=\"err\">"
         << HtmlEscape(s.last_error) << "</td></tr>";
  }
  html << "</tbody></table>";
}

void AppendManaged(const StatusPage& page, std::ostringstream& html) {
  html << "<h2>Managed captures</h2><table id=\"managed\"><thead><tr><th>Site</th>"
          "<th>Site ID</th><th>Type</th><th>State</th><th>Capture ID</th><th>Last error</th>"
          "</tr></thead><tbody>";
  for (const auto& m : page.managed) {
    html << "<tr><td>" << HtmlEscape(m.site) << "</td><td>" << HtmlEscape(m.site_id) << "</td><td>"
         << HtmlEscape(m.type) << "</td><td>" << HtmlEscape(m.state) << "</td><td>"
         << HtmlEscape(m.capture_id) << "</td><td>" << HtmlEscape(m.last_error) << "</td></tr>";
  }
  html << "</tbody></table>";
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderStatusPage(const StatusPage& page) {
  std::ostringstream html;
  html << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Mist pcap exporter</title>"
       << kLandingStyle << "</head><body><header><h1>Mist pcap exporter</h1><span class=\"ver\">"
       << "version " << HtmlEscape(page.version) << " (revision " << HtmlEscape(page.revision)
       << ")</span><nav><a href=\"/metrics\">Metrics</a><a href=\"/healthz\">Health</a>"
          "<a href=\"/readyz\">Readiness</a></nav></header><main>";
  AppendSummary(page, html);
  AppendStream(page, html);
  AppendSites(page, html);
  if (page.show_managed) AppendManaged(page, html);
  html << "</main></body></html>\n";
  return html.str();
}

}  // namespace mpe::http
