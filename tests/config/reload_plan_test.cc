#include "config/reload_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mpe::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using Keys = std::vector<std::string>;

Config Running() {
  Config c;
  c.source_file = "exporter.yaml";
  c.token = "tok-running";
  c.sites = {{"site-a", "A"}, {"site-b", "B"}};
  c.web.listen_address = "127.0.0.1:0";
  return c;
}

ManagedCapture Capture(const std::string& site, int duration) {
  ManagedCapture c;
  c.site = site;
  c.type = "radiotap";
  if (duration > 0) c.duration = duration;
  return c;
}

// Every key ChangedKeys knows, each changed once.
Config EverythingChanged() {
  Config c = Running();
  c.source_file = "other.yaml";  // not a key
  c.mist.api_url = "http://127.0.0.1:1";
  c.mist.stream_url = "ws://127.0.0.1:1/api-ws/v1/stream";
  c.mist.token_env = "OTHER_TOKEN";
  c.mist.token_file = "/run/secrets/token";
  c.token = "tok-new";
  c.mist.ca_file = "ca.pem";
  c.mist.timeout = seconds(3);
  c.mist.max_requests_per_hour = 100;
  c.sites = {{"site-b", "B"}, {"site-c", "C"}};
  c.discovery.org_id = "auto";
  c.discovery.include = {"HQ*"};
  c.discovery.exclude = {"Lab*"};
  c.discovery.interval = minutes(1);
  c.poll.status_interval = seconds(5);
  c.poll.list_interval = seconds(50);
  c.poll.list_window = minutes(90);
  c.stream.enabled = false;
  c.stream.ping_interval = seconds(45);
  c.stream.reconnect_min = seconds(2);
  c.stream.reconnect_max = seconds(30);
  c.stream.lost_messages = LostMessagesMode::kPerMessage;
  c.stream.max_channels_per_connection = 10;
  c.metrics.stale_after = minutes(5);
  c.metrics.max_series_per_family = 10;
  c.captures = {Capture("A", 0)};
  c.archive.dir = "/var/lib/pcaps";
  c.archive.rotate_bytes = 1 << 20;
  c.archive.max_files_per_site = 3;
  c.web.listen_address = ":9999";
  c.web.config_file = "web.yaml";
  c.log.level = "debug";
  c.log.format = "json";
  c.shard.index = 1;
  c.shard.count = 2;
  return c;
}

TEST(ReloadPlanTest, ChangedKeysNamesEveryChangedKeyInFileOrderAndNeverTheToken) {
  EXPECT_EQ(ChangedKeys(Running(), EverythingChanged()), (Keys{"mist.api_url",
                                                               "mist.stream_url",
                                                               "mist.token_env",
                                                               "mist.token_file",
                                                               "mist token",
                                                               "mist.ca_file",
                                                               "mist.timeout",
                                                               "mist.max_requests_per_hour",
                                                               "sites",
                                                               "discovery.org_id",
                                                               "discovery.include",
                                                               "discovery.exclude",
                                                               "discovery.interval",
                                                               "poll.status_interval",
                                                               "poll.list_interval",
                                                               "poll.list_window",
                                                               "stream.enabled",
                                                               "stream.ping_interval",
                                                               "stream.reconnect_min",
                                                               "stream.reconnect_max",
                                                               "stream.lost_messages",
                                                               "stream.max_channels_per_connection",
                                                               "metrics.stale_after",
                                                               "metrics.max_series_per_family",
                                                               "captures",
                                                               "archive.dir",
                                                               "archive.rotate_bytes",
                                                               "archive.max_files_per_site",
                                                               "web.listen_address",
                                                               "web.config_file",
                                                               "log.level",
                                                               "log.format",
                                                               "shard.index",
                                                               "shard.count"}));
  for (const auto& key : ChangedKeys(Running(), EverythingChanged())) {
    EXPECT_EQ(key.find("tok-"), std::string::npos) << key;
  }
}

TEST(ReloadPlanTest, IdenticalConfigsFromDifferentFilesHaveNoChangedKey) {
  Config b = Running();
  b.source_file = "copy.yaml";
  EXPECT_EQ(ChangedKeys(Running(), b), Keys{});
  const ReloadPlan plan = PlanReload(Running(), b);
  EXPECT_EQ(plan.applied, Keys{});
  EXPECT_EQ(plan.restart_required, Keys{});
  EXPECT_EQ(plan.next.source_file, "exporter.yaml");
}

TEST(ReloadPlanTest, SiteRenameReorderAndManagedCaptureFieldCountAsChanges) {
  Config renamed = Running();
  renamed.sites[1].name = "B2";
  EXPECT_EQ(ChangedKeys(Running(), renamed), Keys{"sites"});
  Config reordered = Running();
  std::swap(reordered.sites[0], reordered.sites[1]);
  EXPECT_EQ(ChangedKeys(Running(), reordered), Keys{"sites"});

  Config with_capture = Running();
  with_capture.captures = {Capture("A", 600)};
  Config longer = with_capture;
  longer.captures[0].duration = 900;
  EXPECT_EQ(ChangedKeys(with_capture, longer), Keys{"captures"});
  EXPECT_EQ(ChangedKeys(with_capture, with_capture), Keys{});
}

TEST(ReloadPlanTest, OnlySitesDiscoveryPollAndLogLevelAreReloadable) {
  for (const char* key :
       {"sites", "discovery.org_id", "discovery.include", "discovery.exclude", "discovery.interval",
        "poll.status_interval", "poll.list_interval", "poll.list_window", "log.level"}) {
    EXPECT_TRUE(ReloadableKey(key)) << key;
  }
  for (const char* key : {"mist.api_url", "mist token", "mist.timeout", "stream.enabled",
                          "captures", "archive.dir", "web.listen_address", "web.config_file",
                          "log.format", "shard.index", "metrics.stale_after", "poll", ""}) {
    EXPECT_FALSE(ReloadableKey(key)) << key;
  }
}

TEST(ReloadPlanTest, PlanTakesReloadableKeysFromTheFileAndKeepsEveryOtherRunningValue) {
  const Config running = Running();
  const Config loaded = EverythingChanged();
  const ReloadPlan plan = PlanReload(running, loaded);
  EXPECT_EQ(plan.applied, (Keys{"sites", "discovery.org_id", "discovery.include",
                                "discovery.exclude", "discovery.interval", "poll.status_interval",
                                "poll.list_interval", "poll.list_window", "log.level"}));
  EXPECT_EQ(plan.restart_required, (Keys{"mist.api_url",
                                         "mist.stream_url",
                                         "mist.token_env",
                                         "mist.token_file",
                                         "mist token",
                                         "mist.ca_file",
                                         "mist.timeout",
                                         "mist.max_requests_per_hour",
                                         "stream.enabled",
                                         "stream.ping_interval",
                                         "stream.reconnect_min",
                                         "stream.reconnect_max",
                                         "stream.lost_messages",
                                         "stream.max_channels_per_connection",
                                         "metrics.stale_after",
                                         "metrics.max_series_per_family",
                                         "captures",
                                         "archive.dir",
                                         "archive.rotate_bytes",
                                         "archive.max_files_per_site",
                                         "web.listen_address",
                                         "web.config_file",
                                         "log.format",
                                         "shard.index",
                                         "shard.count"}));
  // next differs from the running config in exactly the applied keys, and from the file in
  // exactly the keys that need a restart.
  EXPECT_EQ(ChangedKeys(running, plan.next), plan.applied);
  EXPECT_EQ(ChangedKeys(plan.next, loaded), plan.restart_required);
  EXPECT_EQ(plan.next.sites.size(), 2u);
  EXPECT_EQ(plan.next.sites[1].id, "site-c");
  EXPECT_EQ(plan.next.poll.status_interval, seconds(5));
  EXPECT_EQ(plan.next.log.level, "debug");
  EXPECT_EQ(plan.next.log.format, "text");
  EXPECT_EQ(plan.next.token, "tok-running");
  EXPECT_EQ(plan.next.web.listen_address, "127.0.0.1:0");
  EXPECT_EQ(plan.next.source_file, "exporter.yaml");
}

TEST(ReloadPlanTest, SitesOnlyChangeNeedsNoRestart) {
  Config loaded = Running();
  loaded.sites = {{"site-b", "B"}, {"site-c", "C"}};
  loaded.poll.status_interval = milliseconds(1500);
  const ReloadPlan plan = PlanReload(Running(), loaded);
  EXPECT_EQ(plan.applied, (Keys{"sites", "poll.status_interval"}));
  EXPECT_EQ(plan.restart_required, Keys{});
  EXPECT_EQ(ChangedKeys(plan.next, loaded), Keys{});
}

}  // namespace
}  // namespace mpe::config
