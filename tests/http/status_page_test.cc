#include "http/status_page.h"

#include <gtest/gtest.h>

#include <string>

namespace mpe::http {
namespace {

bool Contains(const std::string& html, const std::string& part) {
  return html.find(part) != std::string::npos;
}

StatusPage::Site MakeSite(std::string name, std::string id) {
  StatusPage::Site s;
  s.name = std::move(name);
  s.id = std::move(id);
  return s;
}

TEST(StatusPageTest, EscapesEveryHtmlSpecialCharacter) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

TEST(StatusPageTest, ShowsVersionSummaryAndAStreamThatIsDisabled) {
  StatusPage page;
  page.version = "1.2.3";
  page.revision = "abc<def";
  const std::string html = RenderStatusPage(page);
  EXPECT_EQ(html.rfind("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>", 0), 0u);
  EXPECT_TRUE(Contains(html, "version 1.2.3 (revision abc&lt;def)</span>")) << html;
  EXPECT_TRUE(Contains(html,
                       "<p id=\"summary\"><b>0</b> sites · <b>0</b> capturing · all polls "
                       "ok · stream disabled</p>"))
      << html;
  EXPECT_TRUE(Contains(html, "<p id=\"stream-state\">disabled</p>")) << html;
  EXPECT_TRUE(Contains(html, "<table id=\"sites\">")) << html;
  EXPECT_FALSE(Contains(html, "Managed captures")) << html;
  EXPECT_TRUE(html.ends_with("</tbody></table></main></body></html>\n")) << html;
}

TEST(StatusPageTest, EscapesSiteNamesAndErrorsInTheSitesTable) {
  StatusPage page;
  page.stream_enabled = true;
  page.stream_connected = true;
  page.stream_url = "wss://api-ws.mist.com/api-ws/v1/stream";
  StatusPage::Site site = MakeSite("<script>alert('x')</script> & Co", "5e1f-01");
  site.poll_up = true;
  site.subscribed = true;
  site.capture_running = true;
  site.capture_id = "cap\"1";
  site.capture_type = "radiotap";
  site.aps_ok = 3;
  site.aps_failed = 1;
  site.last_error = "HTTP 500 <body>";
  page.sites.push_back(site);
  const std::string html = RenderStatusPage(page);
  EXPECT_FALSE(Contains(html, "<script>")) << html;
  EXPECT_TRUE(Contains(
      html,
      "<tr><td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co</td>"
      "<td class=\"id\" title=\"5e1f-01\">5e1f-01</td><td><span class=\"ok\">up</span></td>"
      "<td><span class=\"ok\">subscribed</span></td><td><span class=\"ok\">running</span></td>"
      "<td class=\"id\" title=\"cap&quot;1\">cap&quot;1</td><td>radiotap</td>"
      "<td class=\"num\">3</td><td class=\"num warn\">1</td>"
      "<td class=\"err\">HTTP 500 &lt;body&gt;</td></tr>"))
      << html;
  EXPECT_TRUE(Contains(html,
                       "<b>1</b> site · <b>1</b> capturing · all polls ok · stream "
                       "<span class=\"ok\">connected</span></p>"))
      << html;
  EXPECT_TRUE(Contains(html,
                       "<p id=\"stream-state\"><span class=\"ok\">connected</span> to "
                       "wss://api-ws.mist.com/api-ws/v1/stream</p>"))
      << html;
}

TEST(StatusPageTest, CountsFailingPollsAndShowsTheLastStreamErrorWhileDisconnected) {
  StatusPage page;
  page.stream_enabled = true;
  page.stream_url = "ws://127.0.0.1:1/s";
  page.stream_last_error = "connect: refused <x>";
  page.sites = {MakeSite("A", "a"), MakeSite("B", "b")};
  page.sites[0].poll_up = true;
  const std::string html = RenderStatusPage(page);
  EXPECT_TRUE(Contains(html,
                       "<b>2</b> sites · <b>0</b> capturing · <span class=\"bad\">1 poll "
                       "failing</span> · stream <span class=\"bad\">disconnected</span>"))
      << html;
  EXPECT_TRUE(Contains(html,
                       "<span class=\"bad\">disconnected</span> to ws://127.0.0.1:1/s — "
                       "last error: connect: refused &lt;x&gt;</p>"))
      << html;
  EXPECT_TRUE(Contains(html,
                       "<td><span class=\"bad\">down</span></td><td><span "
                       "class=\"bad\">not subscribed</span></td>"))
      << html;
  EXPECT_TRUE(Contains(html, "<td class=\"num\">0</td><td class=\"num\">0</td>")) << html;
}

TEST(StatusPageTest, ListsManagedCapturesWhenConfigured) {
  StatusPage page;
  page.show_managed = true;
  page.managed.push_back({"Lab & Co", "s1", "radiotap", "running_ours", "c1", ""});
  const std::string html = RenderStatusPage(page);
  EXPECT_TRUE(Contains(html, "<h2>Managed captures</h2><table id=\"managed\">")) << html;
  EXPECT_TRUE(Contains(html,
                       "<tr><td>Lab &amp; Co</td><td>s1</td><td>radiotap</td>"
                       "<td>running_ours</td><td>c1</td><td></td></tr>"))
      << html;
  // Sites disabled on the stream show as such.
  page.sites.push_back(MakeSite("A", "a"));
  EXPECT_TRUE(Contains(RenderStatusPage(page), "<span class=\"idle\">disabled</span>"));
}

}  // namespace
}  // namespace mpe::http
