#include "mist/models.h"

#include <gtest/gtest.h>

namespace mpe::mist {
namespace {

using Strings = std::vector<std::string>;

TEST(ModelsTest, ParsesARunningCaptureWithEveryField) {
  // response_pcap_status: aps (targets), ok and failed are arrays of MAC strings.
  auto s = ParseCaptureStatus(R"({
    "id": "5d1a5a6e-0001", "type": "radiotap", "format": "stream",
    "started_time": 1764150000, "duration": 600,
    "max_num_packets": 1024, "num_packets": 377, "max_pkt_len": 128,
    "aps": ["5c5b350e001a", "5c5b350e001b", "5c5b350e001c", "5c5b350e001d"],
    "ok": ["5c5b350e001a", "5c5b350e001b", "5c5b350e001d"],
    "failed": ["5c5b350e001c"],
    "pcap_aps": {"5c5b350e001a": {"band": 24, "bandwidth": 20, "channel": 6,
                                  "tcpdump_expression": null},
                 "5c5b350e001b": {"band": "5", "bandwidth": 80, "channel": 36}}})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->running);
  EXPECT_EQ(s->id, "5d1a5a6e-0001");
  EXPECT_EQ(s->type, "radiotap");
  EXPECT_EQ(s->format, "stream");
  EXPECT_EQ(s->started_time, 1764150000);
  EXPECT_EQ(s->duration, 600);
  EXPECT_EQ(s->expiry, 1764150600);  // started_time + duration: the status has no expiry
  EXPECT_EQ(s->max_num_packets, 1024);
  ASSERT_TRUE(s->num_packets.has_value());
  EXPECT_EQ(*s->num_packets, 377);
  EXPECT_EQ(s->max_pkt_len, 128);
  EXPECT_EQ(s->requested_aps,
            (Strings{"5c5b350e001a", "5c5b350e001b", "5c5b350e001c", "5c5b350e001d"}));
  EXPECT_EQ(s->ok_aps, (Strings{"5c5b350e001a", "5c5b350e001b", "5c5b350e001d"}));
  EXPECT_EQ(s->failed_aps, (Strings{"5c5b350e001c"}));
  ASSERT_EQ(s->pcap_aps.size(), 2u);
  EXPECT_EQ(s->pcap_aps[0].mac, "5c5b350e001a");
  EXPECT_EQ(s->pcap_aps[0].band, "2.4");
  EXPECT_EQ(s->pcap_aps[0].bandwidth, 20);
  EXPECT_EQ(s->pcap_aps[0].channel, 6);
  EXPECT_EQ(s->pcap_aps[1].band, "5");
  EXPECT_EQ(s->pcap_aps[1].channel, 36);
}

TEST(ModelsTest, EveryNoCaptureFormMeansNotRunning) {
  for (const char* body : {"{}", R"({"type": "radiotap"})", R"({"id": "", "enabled": true})",
                           R"({"id": "abc", "enabled": false})", "", "  \n", "null"}) {
    auto s = ParseCaptureStatus(body);
    ASSERT_TRUE(s.ok()) << body;
    EXPECT_FALSE(s->running) << body;
    EXPECT_EQ(s->id, "") << body;
    EXPECT_TRUE(s->requested_aps.empty()) << body;
  }
}

TEST(ModelsTest, NumPacketsIsProgressNotTheLimit) {
  // client and new_assoc captures report no num_packets; max_num_packets is the only limit.
  auto s = ParseCaptureStatus(R"({"id": "c1", "type": "client", "max_num_packets": 500})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->max_num_packets, 500);
  EXPECT_FALSE(s->num_packets.has_value());
  auto t = ParseCaptureStatus(R"({"id": "c1", "type": "radiotap", "num_packets": 9})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->max_num_packets, 0);
  EXPECT_EQ(*t->num_packets, 9);
}

TEST(ModelsTest, AcceptsFloatsStringsApMacAndUnknownFields) {
  auto s = ParseCaptureStatus(R"({
    "id": "c1", "type": "radiotap,wired", "started_time": 1764150000.5, "duration": "600",
    "num_packets": 2048.0, "max_pkt_len": "512", "brand_new_field": {"x": [1, 2]},
    "ap_mac": "D4:20:B0:81:99:2E", "enabled": 1})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->running);
  EXPECT_EQ(s->started_time, 1764150000.5);
  EXPECT_EQ(s->duration, 600);
  EXPECT_EQ(s->expiry, 1764150600.5);  // derived from started_time + duration
  EXPECT_EQ(*s->num_packets, 2048);
  EXPECT_EQ(s->max_num_packets, 0);
  EXPECT_EQ(s->max_pkt_len, 512);
  EXPECT_EQ(s->requested_aps, (Strings{"d420b081992e"}));  // ap_mac when aps is absent
}

TEST(ModelsTest, AMacInOkAndFailedIsFailedAndMacsAreNormalised) {
  auto s = ParseCaptureStatus(R"({
    "id": "c1", "aps": ["5C:5B:35:0E:00:1C", "5c5b350e001d", "5c5b350e001e"],
    "ok": ["5c5b350e001e", "5c5b350e001c"],
    "failed": ["5c-5b-35-0e-00-1d", "5c5b350e001c"]})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->requested_aps, (Strings{"5c5b350e001c", "5c5b350e001d", "5c5b350e001e"}));
  EXPECT_EQ(s->ok_aps, (Strings{"5c5b350e001e"}));
  EXPECT_EQ(s->failed_aps, (Strings{"5c5b350e001c", "5c5b350e001d"}));
  EXPECT_EQ(s->max_num_packets, 0);
  EXPECT_EQ(s->expiry, 0);
}

TEST(ModelsTest, TheInventedShapesCountForNothing) {
  // The first client read an `aps` object keyed by MAC and a `failed_aps` list; Mist sends
  // neither, so neither may make an AP look failed or requested.
  auto s = ParseCaptureStatus(R"({"id": "c1",
    "aps": {"5c5b350e001c": {"status": "failed"}}, "failed_aps": ["5c5b350e001c"]})");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->requested_aps.empty());
  EXPECT_TRUE(s->failed_aps.empty());
}

TEST(ModelsTest, ParsesTheStartReply) {
  auto c = ParseCaptureStarted(R"({"ap_count": 3, "aps": ["5c5b350e001c"], "duration": 600,
    "enabled": true, "expiry": 1614886726.5411825, "format": "stream",
    "id": "a9a84e13-a714-b1eb-152f-a434416217d5", "include_mcast": false, "max_pkt_len": 68,
    "num_packets": 100, "org_id": "o", "site_id": "s", "timestamp": 1614886126.5411825,
    "type": "radiotap"})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->id, "a9a84e13-a714-b1eb-152f-a434416217d5");
  EXPECT_EQ(c->type, "radiotap");
  EXPECT_EQ(c->format, "stream");
  EXPECT_DOUBLE_EQ(c->timestamp, 1614886126.5411825);
  EXPECT_DOUBLE_EQ(c->expiry, 1614886726.5411825);
  EXPECT_EQ(c->duration, 600);
  EXPECT_EQ(c->ap_count, 3);
  EXPECT_EQ(c->aps, (Strings{"5c5b350e001c"}));
  ASSERT_TRUE(c->include_mcast.has_value());
  EXPECT_FALSE(*c->include_mcast);
  auto bare = ParseCaptureStarted(R"({"id": "x", "timestamp": 100, "duration": 60})");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->expiry, 160);
  EXPECT_EQ(bare->ap_count, -1);
  EXPECT_FALSE(ParseCaptureStarted("[1]").ok());
}

TEST(ModelsTest, ParsesApiUsage) {
  auto u = ParseApiUsage(R"({"request_limit": 5000, "requests": 5})");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->requests, 5);
  EXPECT_EQ(u->request_limit, 5000);
  EXPECT_FALSE(ParseApiUsage(R"({"requests": 5})").ok());
  EXPECT_FALSE(ParseApiUsage("{").ok());
}

TEST(ModelsTest, RejectsInvalidJsonAndNonObjects) {
  EXPECT_FALSE(ParseCaptureStatus("{not json").ok());
  EXPECT_FALSE(ParseCaptureStatus("[1,2]").ok());
  EXPECT_FALSE(ParseCaptureListPage("\"x\"").ok());
  EXPECT_FALSE(ParseSites("{}").ok());
}

TEST(ModelsTest, ParsesAListPageWithOptionalIdAndFileFields) {
  auto p = ParseCaptureListPage(R"({"results": [
      {"id": "a", "type": "radiotap", "format": "stream", "timestamp": 1764140000,
       "duration": 600, "ap_macs": ["5c5b350e001c"], "url": "", "max_num_packets": 1024,
       "termination_reason": "default", "pcap_url": "https://files.example/a.pcap"},
      {"type": "wired", "timestamp": 1764140500.5, "url": "https://..."}, 42],
      "start": 1, "end": 2, "limit": 100,
      "next": "/api/v1/sites/s/pcaps?page=2"})");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->results.size(), 2u);
  EXPECT_EQ(p->results[0].id, "a");
  EXPECT_EQ(p->results[0].timestamp, 1764140000);
  EXPECT_EQ(p->results[0].duration, 600);
  EXPECT_EQ(p->results[0].max_num_packets, 1024);
  EXPECT_EQ(p->results[0].termination_reason, "default");
  EXPECT_EQ(p->results[0].pcap_url, "https://files.example/a.pcap");
  EXPECT_EQ(p->results[0].ap_macs, (Strings{"5c5b350e001c"}));
  EXPECT_EQ(p->results[1].id, "");  // id is optional: the item is still listed
  EXPECT_EQ(p->results[1].type, "wired");
  EXPECT_EQ(p->results[1].timestamp, 1764140500.5);
  EXPECT_EQ(p->results[1].url, "https://...");
  EXPECT_EQ(p->next, "/api/v1/sites/s/pcaps?page=2");
  // The last page: `next` absent or null (the description says string, not nullable).
  for (const char* last : {R"({"results": [], "start": 1, "end": 2, "limit": 100})",
                           R"({"results": [], "next": null})"}) {
    auto q = ParseCaptureListPage(last);
    ASSERT_TRUE(q.ok()) << last;
    EXPECT_EQ(q->next, "") << last;
  }
}

TEST(ModelsTest, KeepsOnlyOrgPrivilegesOfSelf) {
  auto s = ParseSelf(R"({"email": "a@b.c", "privileges": [
      {"scope": "org", "org_id": "o1", "role": "admin", "name": "Demo Org"},
      {"scope": "site", "org_id": "o1", "site_id": "s1", "role": "read"},
      {"scope": "msp", "msp_id": "m1"}]})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->email, "a@b.c");
  ASSERT_EQ(s->privileges.size(), 1u);
  EXPECT_EQ(s->privileges[0].org_id, "o1");
  EXPECT_EQ(s->privileges[0].name, "Demo Org");
  EXPECT_EQ(s->privileges[0].role, "admin");
}

TEST(ModelsTest, ParsesSitesAndSkipsEntriesWithoutId) {
  auto s = ParseSites(R"([{"id": "s1", "name": "HQ", "org_id": "o1", "tz": "UTC"},
                          {"name": "no id"}, {"id": "s2"}])");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].name, "HQ");
  EXPECT_EQ((*s)[0].org_id, "o1");
  EXPECT_EQ((*s)[1].id, "s2");
  EXPECT_EQ((*s)[1].name, "");
}

TEST(ModelsTest, ExtractsTheErrorDetail) {
  EXPECT_EQ(ParseErrorDetail(R"({"detail": "Invalid token."})"), "Invalid token.");
  EXPECT_EQ(ParseErrorDetail("<html>oops</html>"), "");
  EXPECT_EQ(ParseErrorDetail(R"({"other": 1})"), "");
}

}  // namespace
}  // namespace mpe::mist
