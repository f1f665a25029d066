#include "mist/models.h"

#include <gtest/gtest.h>

namespace mpe::mist {
namespace {

using Strings = std::vector<std::string>;

TEST(ModelsTest, ParsesARunningCaptureWithEveryField) {
  auto s = ParseCaptureStatus(R"({
    "id": "5d1a5a6e-0001", "type": "radiotap", "format": "stream", "enabled": true,
    "started_time": 1764150000, "duration": 600, "expiry": 1764150600,
    "max_num_packets": 1024, "max_pkt_len": 128,
    "ap_macs": ["5c5b350e001c", "5c5b350e001d"],
    "aps": {"5c5b350e001c": {"status": "ok"},
            "5c5b350e001d": {"status": "failed", "reason": "AP offline"}},
    "failed_aps": ["5c5b350e001d"]})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->running);
  EXPECT_EQ(s->id, "5d1a5a6e-0001");
  EXPECT_EQ(s->type, "radiotap");
  EXPECT_EQ(s->format, "stream");
  EXPECT_EQ(s->started_time, 1764150000);
  EXPECT_EQ(s->duration, 600);
  EXPECT_EQ(s->expiry, 1764150600);
  EXPECT_EQ(s->max_num_packets, 1024);
  EXPECT_EQ(s->max_pkt_len, 128);
  EXPECT_EQ(s->requested_aps, (Strings{"5c5b350e001c", "5c5b350e001d"}));
  EXPECT_EQ(s->ok_aps, (Strings{"5c5b350e001c"}));
  EXPECT_EQ(s->failed_aps, (Strings{"5c5b350e001d"}));
}

TEST(ModelsTest, EveryNoCaptureFormMeansNotRunning) {
  for (const char* body : {"{}", R"({"type": "radiotap"})", R"({"id": "", "enabled": true})",
                           R"({"id": "abc", "enabled": false})", "", "  \n"}) {
    auto s = ParseCaptureStatus(body);
    ASSERT_TRUE(s.ok()) << body;
    EXPECT_FALSE(s->running) << body;
    EXPECT_EQ(s->id, "") << body;
    EXPECT_TRUE(s->requested_aps.empty()) << body;
  }
}

TEST(ModelsTest, AcceptsFloatsStringsAliasesAndUnknownFields) {
  auto s = ParseCaptureStatus(R"({
    "id": "c1", "type": "radiotap,wired", "started_time": 1764150000.5, "duration": "600",
    "num_packets": 2048.0, "max_pkt_len": "512", "brand_new_field": {"x": [1, 2]},
    "ap_mac": "D4:20:B0:81:99:2E", "enabled": 1})");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->running);
  EXPECT_EQ(s->started_time, 1764150000.5);
  EXPECT_EQ(s->duration, 600);
  EXPECT_EQ(s->expiry, 1764150600.5);  // derived from started_time + duration
  EXPECT_EQ(s->max_num_packets, 2048);
  EXPECT_EQ(s->max_pkt_len, 512);
  EXPECT_EQ(s->requested_aps, (Strings{"d420b081992e"}));
}

TEST(ModelsTest, MergesFailedApsFromTheListAndTheMapAndNormalisesMacs) {
  auto s = ParseCaptureStatus(R"({
    "id": "c1", "ap_macs": ["5C:5B:35:0E:00:1C"],
    "aps": {"5c5b350e001e": "ok", "5c5b350e001f": {"status": "pending"}},
    "failed_aps": ["5c-5b-35-0e-00-1d", "5c5b350e001c"]})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->requested_aps, (Strings{"5c5b350e001c", "5c5b350e001e", "5c5b350e001f"}));
  EXPECT_EQ(s->ok_aps, (Strings{"5c5b350e001e"}));
  EXPECT_EQ(s->failed_aps, (Strings{"5c5b350e001c", "5c5b350e001d"}));
  EXPECT_EQ(s->max_num_packets, 0);
  EXPECT_EQ(s->expiry, 0);
}

TEST(ModelsTest, RejectsInvalidJsonAndNonObjects) {
  EXPECT_FALSE(ParseCaptureStatus("{not json").ok());
  EXPECT_FALSE(ParseCaptureStatus("[1,2]").ok());
  EXPECT_FALSE(ParseCaptureListPage("\"x\"").ok());
  EXPECT_FALSE(ParseSites("{}").ok());
}

TEST(ModelsTest, ParsesAListPageWithEitherStartField) {
  auto p = ParseCaptureListPage(R"({"results": [
      {"id": "a", "type": "radiotap", "format": "stream", "timestamp": 1764140000,
       "duration": 600, "ap_macs": ["5c5b350e001c"], "notes": "hi", "url": ""},
      {"id": "b", "type": "wired", "started_time": 1764140500.5}, 42],
      "start": 1, "end": 2, "limit": 100, "page": 1,
      "next": "/api/v1/sites/s/pcaps?page=2"})");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->results.size(), 2u);
  EXPECT_EQ(p->results[0].id, "a");
  EXPECT_EQ(p->results[0].timestamp, 1764140000);
  EXPECT_EQ(p->results[0].duration, 600);
  EXPECT_EQ(p->results[0].notes, "hi");
  EXPECT_EQ(p->results[0].ap_macs, (Strings{"5c5b350e001c"}));
  EXPECT_EQ(p->results[1].type, "wired");
  EXPECT_EQ(p->results[1].timestamp, 1764140500.5);
  EXPECT_EQ(p->next, "/api/v1/sites/s/pcaps?page=2");
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
