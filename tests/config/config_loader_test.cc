#include "config/config_loader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace mpe::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kSecret[] = "tok-SECRET-7f3a9c1e-do-not-print";
const std::string kTestdata = std::string(MPE_TESTDATA_DIR) + "/config/";
const std::string kShipped = std::string(MPE_SOURCE_DIR) + "/config/";

class ConfigLoaderTest : public ::testing::Test {
 protected:
  LoadOptions Options(bool require_token = true) const {
    LoadOptions opts;
    opts.env = [env = env_](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    opts.require_token = require_token;
    return opts;
  }
  common::Result<Config> Load(const std::string& yaml) const {
    return LoadConfigString(yaml, "bad.yaml", cl_, Options());
  }
  std::string ErrorOf(const std::string& yaml) const {
    auto r = Load(yaml);
    return r.ok() ? "<ok>" : r.error().message;
  }

  std::map<std::string, std::string> env_ = {{"MIST_API_TOKEN", kSecret}};
  CommandLine cl_;
};

TEST_F(ConfigLoaderTest, ShippedDefaultConfigLoadsWithoutAToken) {
  env_.clear();
  auto r = LoadConfigFile(kShipped + "mist_pcap_exporter.yaml", cl_, Options(false));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  const Config defaults;
  EXPECT_EQ(c.mist.api_url, defaults.mist.api_url);
  EXPECT_EQ(c.mist.stream_url, "wss://api-ws.mist.com/api-ws/v1/stream");
  EXPECT_EQ(c.mist.token_env, "MIST_API_TOKEN");
  EXPECT_EQ(c.mist.timeout, defaults.mist.timeout);
  EXPECT_EQ(c.mist.max_requests_per_hour, 4000);
  ASSERT_EQ(c.sites.size(), 1u);
  EXPECT_EQ(c.sites[0].id, "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(c.sites[0].name, "HQ");
  EXPECT_EQ(c.discovery.org_id, "");
  EXPECT_EQ(c.discovery.include, std::vector<std::string>{"*"});
  EXPECT_TRUE(c.discovery.exclude.empty());
  EXPECT_EQ(c.discovery.interval, minutes(10));
  EXPECT_EQ(c.poll.status_interval, seconds(30));
  EXPECT_EQ(c.poll.list_interval, minutes(5));
  EXPECT_EQ(c.poll.list_window, hours(24));
  EXPECT_TRUE(c.stream.enabled);
  EXPECT_EQ(c.stream.ping_interval, seconds(30));
  EXPECT_EQ(c.stream.reconnect_min, seconds(1));
  EXPECT_EQ(c.stream.reconnect_max, seconds(60));
  EXPECT_EQ(c.stream.lost_messages, LostMessagesMode::kCumulative);
  EXPECT_EQ(c.stream.max_channels_per_connection, 1000);
  EXPECT_EQ(c.metrics.stale_after, minutes(15));
  EXPECT_EQ(c.metrics.max_series_per_family, 20000);
  EXPECT_EQ(c.metrics.top_clients, 10);
  EXPECT_EQ(c.metrics.top_clients_window, std::chrono::minutes(5));
  EXPECT_TRUE(c.captures.empty());
  EXPECT_EQ(c.archive.dir, "");
  EXPECT_EQ(c.archive.rotate_bytes, 64ULL << 20);
  EXPECT_EQ(c.archive.max_files_per_site, 50);
  EXPECT_EQ(c.web.listen_address, ":10052");
  EXPECT_EQ(c.web.config_file, "");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.token, "");
}

TEST_F(ConfigLoaderTest, ShippedDefaultConfigNeedsATokenWhenRequired) {
  env_.clear();
  std::string file = kShipped + "mist_pcap_exporter.yaml";
  // The message points at the `mist:` line, wherever the comments put it.
  std::ifstream in(file);
  int mist_line = 0;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    if (text == "mist:") mist_line = n;
  }
  ASSERT_GT(mist_line, 0);
  auto r = LoadConfigFile(file, cl_, Options(true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, file + ":" + std::to_string(mist_line) +
                                   ": mist: no API token: set $MIST_API_TOKEN or mist.token_file");
}

TEST_F(ConfigLoaderTest, ShippedDemoConfigLoads) {
  env_ = {{"MIST_API_TOKEN", "demo"}};
  auto r = LoadConfigFile(kShipped + "demo.yaml", cl_, Options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.mist.api_url, "http://127.0.0.1:18080");
  EXPECT_EQ(c.mist.stream_url, "ws://127.0.0.1:18080/api-ws/v1/stream");
  EXPECT_EQ(c.mist.token_env, "MIST_API_TOKEN");
  EXPECT_EQ(c.token, "demo");
  ASSERT_EQ(c.sites.size(), 3u);
  EXPECT_EQ(c.sites[0].id, "978c48e6-6ef6-11e6-8bbf-02e208b2d34f");
  EXPECT_EQ(c.sites[0].name, "HQ");
  EXPECT_EQ(c.sites[1].id, "a1b2c3d4-0000-4000-8000-000000000002");
  EXPECT_EQ(c.sites[1].name, "Branch-01");
  EXPECT_EQ(c.sites[2].id, "a1b2c3d4-0000-4000-8000-000000000003");
  EXPECT_EQ(c.sites[2].name, "Warehouse");
  EXPECT_EQ(c.poll.status_interval, seconds(5));
  EXPECT_EQ(c.poll.list_interval, seconds(30));
  EXPECT_EQ(c.web.listen_address, "127.0.0.1:10052");
  EXPECT_TRUE(c.stream.enabled);
  EXPECT_EQ(c.stream.ping_interval, seconds(30));
  EXPECT_EQ(c.stream.reconnect_min, milliseconds(500));
  EXPECT_EQ(c.stream.reconnect_max, seconds(10));
  EXPECT_EQ(Summary(c),
            "config OK: 3 sites, discovery off, stream on, 0 managed captures, archive off, "
            "api http://127.0.0.1:18080, listen 127.0.0.1:10052, shard 0/1");
}

TEST_F(ConfigLoaderTest, FullExampleFillsEveryField) {
  env_ = {{"MPE_TEST_TOKEN", "  full-token\n"}};
  std::string file = kTestdata + "full.yaml";
  auto r = LoadConfigFile(file, cl_, Options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.source_file, file);
  EXPECT_EQ(c.mist.api_url, "https://api.eu.mist.com");
  EXPECT_EQ(c.mist.stream_url, "wss://stream.example.test/api-ws/v1/stream");
  EXPECT_EQ(c.mist.token_env, "MPE_TEST_TOKEN");
  EXPECT_EQ(c.mist.token_file, "/nonexistent/token");
  EXPECT_EQ(c.mist.ca_file, "/etc/mpe/ca.pem");
  EXPECT_EQ(c.mist.timeout, milliseconds(2500));
  EXPECT_EQ(c.mist.max_requests_per_hour, 1200);
  EXPECT_EQ(c.token, "full-token");  // env wins over the (unreadable) file, trimmed
  ASSERT_EQ(c.sites.size(), 2u);
  EXPECT_EQ(c.sites[0].id, "978c48e6-6ef6-11e6-8bbf-02e208b2d34f");
  EXPECT_EQ(c.sites[0].name, "HQ");
  EXPECT_EQ(c.sites[1].id, "a1b2c3d4-0000-4000-8000-000000000002");
  EXPECT_EQ(c.sites[1].name, "");
  EXPECT_EQ(c.discovery.org_id, "auto");
  EXPECT_EQ(c.discovery.include, (std::vector<std::string>{"Branch-*", "HQ"}));
  EXPECT_EQ(c.discovery.exclude, (std::vector<std::string>{"Lab-*"}));
  EXPECT_EQ(c.discovery.interval, hours(1));
  EXPECT_EQ(c.poll.status_interval, seconds(15));
  EXPECT_EQ(c.poll.list_interval, minutes(2));
  EXPECT_EQ(c.poll.list_window, hours(12));
  EXPECT_FALSE(c.stream.enabled);
  EXPECT_EQ(c.stream.ping_interval, seconds(45));
  EXPECT_EQ(c.stream.reconnect_min, milliseconds(250));
  EXPECT_EQ(c.stream.reconnect_max, minutes(2));
  EXPECT_EQ(c.stream.lost_messages, LostMessagesMode::kPerMessage);
  EXPECT_EQ(c.stream.max_channels_per_connection, 200);
  EXPECT_EQ(c.metrics.stale_after, minutes(90));
  EXPECT_EQ(c.metrics.max_series_per_family, 500);
  EXPECT_EQ(c.metrics.top_clients, 25);
  EXPECT_EQ(c.metrics.top_clients_window, seconds(90));
  EXPECT_EQ(c.mist.usage_interval, minutes(10));
  ASSERT_EQ(c.captures.size(), 3u);
  const ManagedCapture& a = c.captures[0];
  EXPECT_EQ(a.site, "HQ");
  EXPECT_EQ(a.type, "client");
  EXPECT_EQ(a.ap_mac, "d420b081992e");
  EXPECT_EQ(a.client_mac, "5c5b350e001c");
  EXPECT_EQ(a.ssid, "Corp");
  EXPECT_EQ(a.band, "");
  EXPECT_EQ(a.duration, 600);
  EXPECT_EQ(a.num_packets, 0);
  EXPECT_EQ(a.max_pkt_len, 2048);
  EXPECT_EQ(a.includes_mcast, true);
  EXPECT_EQ(a.format, "");  // client captures have no format in Mist's schema
  const ManagedCapture& b = c.captures[1];
  EXPECT_EQ(b.site, "Branch-07");  // discovery is on: any site name is allowed
  EXPECT_EQ(b.type, "radiotap,wired");
  EXPECT_EQ(b.ap_mac, "5c5b350e001c");  // a one-item list is one MAC
  EXPECT_EQ(b.client_mac, "");
  EXPECT_EQ(b.band, "24,5,6");
  EXPECT_EQ(b.wlan_id, "fac8e973-feb9-421a-b381-aabbc4b61f5a");
  EXPECT_EQ(b.tcpdump_expression, "port 53");
  EXPECT_EQ(b.radiotap_tcpdump_expression, "type mgt");
  EXPECT_EQ(b.wired_tcpdump_expression, "udp port 67");
  EXPECT_EQ(b.wireless_tcpdump_expression, "type data");
  EXPECT_EQ(b.duration, std::nullopt);
  EXPECT_EQ(b.num_packets, std::nullopt);
  EXPECT_EQ(b.max_pkt_len, std::nullopt);
  EXPECT_EQ(b.includes_mcast, std::nullopt);
  EXPECT_EQ(b.format, "pcap");
  const ManagedCapture& scan = c.captures[2];
  EXPECT_EQ(scan.type, "scan");
  EXPECT_EQ(scan.band, "5");
  EXPECT_EQ(scan.channel, 36);
  EXPECT_EQ(scan.bandwidth, 80);
  EXPECT_EQ(scan.width, "80");
  EXPECT_EQ(scan.format, "stream");  // sent explicitly: Mist's default is pcap
  EXPECT_EQ(c.archive.dir, "/var/lib/mpe/pcaps");
  EXPECT_EQ(c.archive.rotate_bytes, 128ULL << 10);
  EXPECT_EQ(c.archive.max_files_per_site, 7);
  EXPECT_EQ(c.web.listen_address, "[::1]:9100");
  EXPECT_EQ(c.web.config_file, "/etc/mpe/web.yml");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.shard.index, 0);
  EXPECT_EQ(c.shard.count, 1);
  EXPECT_EQ(Summary(c),
            "config OK: 2 sites, discovery org auto, stream off, 3 managed captures, "
            "archive /var/lib/mpe/pcaps, api https://api.eu.mist.com, listen [::1]:9100, "
            "shard 0/1");
}

TEST_F(ConfigLoaderTest, AbsentKeysKeepTheirDefaults) {
  auto r = Load("sites:\n  - id: s1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  const Config d;
  EXPECT_EQ(c.source_file, "bad.yaml");
  EXPECT_EQ(c.mist.api_url, "https://api.mist.com");
  EXPECT_EQ(c.mist.stream_url, "wss://api-ws.mist.com/api-ws/v1/stream");
  EXPECT_EQ(c.mist.token_env, d.mist.token_env);
  EXPECT_EQ(c.mist.token_file, "");
  EXPECT_EQ(c.mist.ca_file, "");
  EXPECT_EQ(c.mist.timeout, seconds(10));
  EXPECT_EQ(c.mist.max_requests_per_hour, 4000);
  ASSERT_EQ(c.sites.size(), 1u);
  EXPECT_EQ(c.sites[0].id, "s1");
  EXPECT_EQ(c.sites[0].name, "");
  EXPECT_EQ(c.discovery.org_id, "");
  EXPECT_EQ(c.discovery.include, d.discovery.include);
  EXPECT_EQ(c.discovery.interval, d.discovery.interval);
  EXPECT_EQ(c.poll.status_interval, d.poll.status_interval);
  EXPECT_EQ(c.poll.list_interval, d.poll.list_interval);
  EXPECT_EQ(c.poll.list_window, d.poll.list_window);
  EXPECT_EQ(c.stream.enabled, true);
  EXPECT_EQ(c.stream.reconnect_min, seconds(1));
  EXPECT_EQ(c.stream.reconnect_max, seconds(60));
  EXPECT_EQ(c.metrics.stale_after, minutes(15));
  EXPECT_EQ(c.archive.rotate_bytes, 64ULL << 20);
  EXPECT_EQ(c.web.listen_address, ":10052");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.shard.index, 0);
  EXPECT_EQ(c.shard.count, 1);
  EXPECT_EQ(c.token, kSecret);
}

TEST_F(ConfigLoaderTest, WebMaxConnectionsAndTheLifecycleFlag) {
  auto r = Load("sites:\n  - id: s1\nweb:\n  max_connections: 64\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->web.max_connections, 64);
  EXPECT_FALSE(r->web.enable_lifecycle);
  EXPECT_EQ(Load("sites:\n  - id: s1\n")->web.max_connections, 512);
  EXPECT_NE(ErrorOf("sites:\n  - id: s1\nweb:\n  max_connections: 0\n")
                .find("bad.yaml:4: web.max_connections:"),
            std::string::npos);
  cl_.web_enable_lifecycle = true;
  EXPECT_TRUE(Load("sites:\n  - id: s1\n")->web.enable_lifecycle);
}

TEST_F(ConfigLoaderTest, NullSectionsAndListsCountAsEmpty) {
  auto r = Load("mist:\nsites:\n  - id: s1\ncaptures:\ndiscovery:\n  exclude:\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->captures.empty());
  EXPECT_TRUE(r->discovery.exclude.empty());
}

TEST_F(ConfigLoaderTest, DiscoveryAloneIsEnough) {
  auto r = Load("discovery:\n  org_id: auto\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->sites.empty());
  EXPECT_EQ(r->discovery.org_id, "auto");
}

TEST_F(ConfigLoaderTest, TokenComesFromTheFileWhenTheEnvironmentHasNone) {
  env_ = {{"MIST_API_TOKEN", ""}};
  std::string yaml = "mist:\n  token_file: " + kTestdata + "token.txt\nsites: [{id: s1}]\n";
  auto r = Load(yaml);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->token, "secret-from-file-Zq81");
}

TEST_F(ConfigLoaderTest, EnvironmentTokenWinsOverTheFile) {
  std::string yaml = "mist:\n  token_file: " + kTestdata + "token.txt\nsites: [{id: s1}]\n";
  auto r = Load(yaml);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->token, kSecret);
}

TEST_F(ConfigLoaderTest, UnreadableTokenFileIsIgnoredWhenNoTokenIsRequired) {
  env_.clear();
  auto r = LoadConfigString("mist:\n  token_file: /nonexistent/t\nsites: [{id: s1}]\n", "x.yaml",
                            cl_, Options(false));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->token, "");
}

TEST_F(ConfigLoaderTest, FlagsOverrideTheFile) {
  cl_.listen_address = "127.0.0.1:0";
  cl_.web_config_file = "web.yml";
  cl_.log_level = "error";
  cl_.log_format = "json";
  cl_.shard_index = 1;
  cl_.shard_count = 4;
  auto r = Load(
      "sites: [{id: s1}]\nweb:\n  listen_address: :9000\n  config_file: other.yml\n"
      "log:\n  level: debug\n  format: text\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->web.listen_address, "127.0.0.1:0");
  EXPECT_EQ(r->web.config_file, "web.yml");
  EXPECT_EQ(r->log.level, "error");
  EXPECT_EQ(r->log.format, "json");
  EXPECT_EQ(r->shard.index, 1);
  EXPECT_EQ(r->shard.count, 4);
}

TEST_F(ConfigLoaderTest, ShardIndexDefaultsToTheHostnameOrdinal) {
  env_["HOSTNAME"] = "mist-pcap-exporter-2";
  cl_.shard_count = 3;
  auto r = Load("sites: [{id: s1}]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->shard.index, 2);
  EXPECT_EQ(r->shard.count, 3);
}

TEST_F(ConfigLoaderTest, ExplicitShardIndexWinsOverTheHostname) {
  env_["HOSTNAME"] = "mpe-2";
  cl_.shard_count = 3;
  cl_.shard_index = 0;
  auto r = Load("sites: [{id: s1}]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->shard.index, 0);
}

TEST_F(ConfigLoaderTest, HostnameIsIgnoredWithASingleShard) {
  env_["HOSTNAME"] = "mpe-5";
  auto r = Load("sites: [{id: s1}]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->shard.index, 0);
  EXPECT_EQ(r->shard.count, 1);
}

TEST_F(ConfigLoaderTest, RejectsShardingWithoutAnOrdinal) {
  env_["HOSTNAME"] = "exporter";
  cl_.shard_count = 2;
  EXPECT_EQ(ErrorOf("sites: [{id: s1}]\n"),
            "--shard.index: not given and $HOSTNAME (\"exporter\") does not end in a number; "
            "set --shard.index");
  env_["HOSTNAME"] = "mpe-3";
  EXPECT_EQ(ErrorOf("sites: [{id: s1}]\n"), "--shard.index: 3 must be less than --shard.count 2");
  cl_.shard_count.reset();
  cl_.shard_index = 1;
  EXPECT_EQ(ErrorOf("sites: [{id: s1}]\n"), "--shard.index: 1 must be less than --shard.count 1");
}

TEST_F(ConfigLoaderTest, RejectsABadListenAddressFlag) {
  cl_.listen_address = "9000";
  EXPECT_EQ(ErrorOf("sites: [{id: s1}]\n"),
            "--web.listen-address: must be HOST:PORT, :PORT or [IPv6]:PORT, got \"9000\"");
}

TEST_F(ConfigLoaderTest, ReportsAMissingConfigFile) {
  auto r = LoadConfigFile("/nonexistent/mpe.yaml", cl_, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "/nonexistent/mpe.yaml: cannot read config file: No such file or directory");
}

TEST_F(ConfigLoaderTest, ReportsYamlSyntaxErrorsWithTheLine) {
  std::string file = kTestdata + "syntax_error.yaml";
  auto r = LoadConfigFile(file, cl_, Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, file + ":4: yaml syntax error: illegal block entry");
}

// One bad document and the exact message it must produce.
struct BadConfig {
  const char* name;
  const char* yaml;
  const char* message;
  bool token_in_env = true;
};

void PrintTo(const BadConfig& bad, std::ostream* os) { *os << bad.name; }

const BadConfig kBadConfigs[] = {
    {"UnknownTopLevelKeyWithSuggestion", "sites: [{id: s1}]\nmistt:\n  api_url: x\n",
     "bad.yaml:2: mistt: unknown key (did you mean \"mist\"?)"},
    {"UnknownTopLevelKey", "bogus: 1\nsites: [{id: s1}]\n",
     "bad.yaml:1: bogus: unknown key (known keys: mist, sites, discovery, poll, stream, metrics, "
     "captures, archive, web, log)"},
    {"UnknownNestedKey", "mist:\n  api_ur: https://api.mist.com\nsites: [{id: s1}]\n",
     "bad.yaml:2: mist.api_ur: unknown key (did you mean \"api_url\"?)"},
    {"UnknownKeyInASite", "sites:\n  - id: s1\n    nmae: HQ\n",
     "bad.yaml:3: sites[0].nmae: unknown key (did you mean \"name\"?)"},
    {"MapWhereADurationIsExpected", "sites: [{id: s1}]\nmist:\n  timeout:\n    seconds: 5\n",
     "bad.yaml:3: mist.timeout: expected a duration, got a map"},
    {"SectionIsNotAMap", "sites: [{id: s1}]\npoll: 30s\n",
     "bad.yaml:2: poll: expected a map, got \"30s\""},
    {"TopClientsOverTheLimit", "sites: [{id: s1}]\nmetrics:\n  top_clients: 101\n",
     "bad.yaml:3: metrics.top_clients: must be between 0 and 100, got 101"},
    {"ZeroTopClientsWindow", "sites: [{id: s1}]\nmetrics:\n  top_clients_window: 0s\n",
     "bad.yaml:3: metrics.top_clients_window: must be greater than 0, got \"0s\""},
    {"WordWhereAnIntegerIsExpected", "sites: [{id: s1}]\nmetrics:\n  max_series_per_family: abc\n",
     "bad.yaml:3: metrics.max_series_per_family: expected an integer, got \"abc\""},
    {"NonBooleanForABoolean", "sites: [{id: s1}]\nstream:\n  enabled: maybe\n",
     "bad.yaml:3: stream.enabled: expected true or false, got \"maybe\""},
    {"DurationWithoutUnit", "sites: [{id: s1}]\npoll:\n  status_interval: 30\n",
     "bad.yaml:3: poll.status_interval: invalid duration \"30\" (use a number with unit ms, s, m, "
     "h or d, e.g. 30s)"},
    {"ZeroInterval", "sites: [{id: s1}]\npoll:\n  list_interval: 0s\n",
     "bad.yaml:3: poll.list_interval: must be greater than 0, got \"0s\""},
    {"BadSizeUnit", "sites: [{id: s1}]\narchive:\n  rotate_bytes: 64MB\n",
     "bad.yaml:3: archive.rotate_bytes: invalid size \"64MB\" (use bytes or a number with unit B, "
     "KiB, MiB or GiB, e.g. 64MiB)"},
    {"RotateSizeTooSmall", "sites: [{id: s1}]\narchive:\n  rotate_bytes: 1KiB\n",
     "bad.yaml:3: archive.rotate_bytes: must be at least 64KiB, got \"1KiB\""},
    {"ApiUrlWithWrongScheme", "mist:\n  api_url: ftp://api.mist.com\nsites: [{id: s1}]\n",
     "bad.yaml:2: mist.api_url: must start with http:// or https://, got \"ftp://api.mist.com\""},
    {"ApiUrlWithAPath", "mist:\n  api_url: https://api.mist.com/api/v1\nsites: [{id: s1}]\n",
     "bad.yaml:2: mist.api_url: must be the API base without a path (e.g. https://api.mist.com), "
     "got \"https://api.mist.com/api/v1\""},
    {"ApiUrlWithoutHost", "mist:\n  api_url: https://\nsites: [{id: s1}]\n",
     "bad.yaml:2: mist.api_url: has no host: \"https://\""},
    {"StreamUrlWithHttpScheme",
     "mist:\n  stream_url: https://api-ws.mist.com/api-ws/v1/stream\nsites: [{id: s1}]\n",
     "bad.yaml:2: mist.stream_url: must start with ws:// or wss://, got "
     "\"https://api-ws.mist.com/api-ws/v1/stream\""},
    {"MissingToken", "sites: [{id: s1}]\nmist:\n  token_env: MY_TOKEN\n",
     "bad.yaml:2: mist: no API token: set $MY_TOKEN or mist.token_file", false},
    {"MissingTokenWithoutMistSection", "sites: [{id: s1}]\n",
     "bad.yaml:1: mist: no API token: set $MIST_API_TOKEN or mist.token_file", false},
    {"UnreadableTokenFile", "sites: [{id: s1}]\nmist:\n  token_file: /nonexistent/mpe-token\n",
     "bad.yaml:3: mist.token_file: cannot read token file \"/nonexistent/mpe-token\": No such "
     "file or directory",
     false},
    {"DuplicateSiteId", "sites:\n  - id: s1\n  - id: s2\n  - id: s1\n    name: again\n",
     "bad.yaml:4: sites[2].id: duplicate site id \"s1\" (first on line 2)"},
    {"SiteWithoutId", "sites:\n  - id: s1\n  - name: HQ\n", "bad.yaml:3: sites[1].id: is required"},
    {"SiteIdWithASlash", "sites:\n  - id: a/b\n",
     "bad.yaml:2: sites[0].id: must not contain whitespace or '/', got \"a/b\""},
    {"NoSitesAndNoDiscovery", "log:\n  level: info\nsites: []\n",
     "bad.yaml:3: sites: no sites configured and discovery.org_id is empty: nothing to watch"},
    {"NoSitesKeyAtAll", "log:\n  level: info\n",
     "bad.yaml:1: sites: no sites configured and discovery.org_id is empty: nothing to watch"},
    {"ReconnectMinAboveMax",
     "sites: [{id: s1}]\nstream:\n  reconnect_max: 1m\n  reconnect_min: 2m\n",
     "bad.yaml:4: stream.reconnect_min: must not exceed stream.reconnect_max (2m > 1m)"},
    {"ReconnectMaxBelowTheDefaultMin", "sites: [{id: s1}]\nstream:\n  reconnect_max: 500ms\n",
     "bad.yaml:3: stream.reconnect_max: must not be below stream.reconnect_min (1s > 500ms)"},
    {"BadLostMessagesMode", "sites: [{id: s1}]\nstream:\n  lost_messages: total\n",
     "bad.yaml:3: stream.lost_messages: must be one of cumulative, per_message; got \"total\""},
    {"TooManyChannelsPerConnection",
     "sites: [{id: s1}]\nstream:\n  max_channels_per_connection: 1001\n",
     "bad.yaml:3: stream.max_channels_per_connection: must be between 1 and 1000, got 1001"},
    {"CaptureDurationTooShort",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: radiotap\n    duration: 30\n",
     "bad.yaml:5: captures[0].duration: must be between 60 and 86400, got 30"},
    {"ClientCaptureWithoutClientMac",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: radiotap\n  - site: s1\n"
     "    type: client\n",
     "bad.yaml:5: captures[1].client_mac: is required when type is client"},
    {"CaptureWithBadApMac",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: wired\n    ap_mac: not-a-mac\n",
     "bad.yaml:5: captures[0].ap_mac: invalid MAC address \"not-a-mac\" (one MAC, e.g. "
     "5c5b350e001c)"},
    {"CaptureWithTwoApMacs",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: wired\n    ap_mac:\n"
     "      - 5c5b350e001c\n      - 5c5b350e001d\n",
     "bad.yaml:5: captures[0].ap_mac: takes one MAC (Mist captures on one AP, or on every AP of "
     "the site when ap_mac is left out), got 2"},
    {"CaptureWithBadType", "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: wifi\n",
     "bad.yaml:4: captures[0].type: must be one of client, new_assoc, radiotap, radiotap,wired, "
     "wired, wireless, scan, got \"wifi\""},
    {"GatewayCaptureIsRefusedWithTheReason",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: gateway\n",
     "bad.yaml:4: captures[0].type: type gateway is not supported: Mist requires a `gateways` map "
     "of gateway MACs to port lists, which this tool does not build; start gateway captures in "
     "the Mist portal or API"},
    {"CaptureWithoutType", "sites: [{id: s1}]\ncaptures:\n  - site: s1\n",
     "bad.yaml:3: captures[0].type: is required"},
    {"CaptureWithBadBand",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: radiotap\n    band: \"5,6\"\n",
     "bad.yaml:5: captures[0].band: \"5,6\" is not allowed for type radiotap (allowed: 24, "
     "24,5,6, 5, 6; 2.4 may be written for 24)"},
    {"WirelessCaptureTakesOneBand",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: wireless\n    band: \"24,5,6\"\n",
     "bad.yaml:5: captures[0].band: \"24,5,6\" is not allowed for type wireless (allowed: 24, 5, "
     "6; 2.4 may be written for 24)"},
    {"AFieldTheTypeDoesNotTake",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: wired\n    band: \"5\"\n",
     "bad.yaml:5: captures[0].band: is not a field of type wired (it takes: ap_mac, duration, "
     "num_packets, max_pkt_len, tcpdump_expression, format)"},
    {"IncludesMcastOnlyForClientCaptures",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: radiotap\n    includes_mcast: true\n",
     "bad.yaml:5: captures[0].includes_mcast: is not a field of type radiotap (it takes: ap_mac, "
     "client_mac, ssid, wlan_id, band, duration, num_packets, max_pkt_len, tcpdump_expression, "
     "format)"},
    {"ScanBandwidthFromTheEnum",
     "sites: [{id: s1}]\ncaptures:\n  - site: s1\n    type: scan\n    bandwidth: 30\n",
     "bad.yaml:5: captures[0].bandwidth: must be one of 20, 40, 80, 160, got 30"},
    {"CaptureForAnUnknownSite",
     "sites: [{id: s1, name: HQ}]\ncaptures:\n  - site: Branch\n    type: radiotap\n",
     "bad.yaml:3: captures[0].site: \"Branch\" is not the id or name of a configured site"},
    {"DuplicateKey", "mist:\n  timeout: 5s\n  timeout: 6s\nsites: [{id: s1}]\n",
     "bad.yaml:3: mist.timeout: duplicate key (first on line 2)"},
    {"DuplicateSection", "sites: [{id: s1}]\nlog: {level: info}\nlog: {level: warn}\n",
     "bad.yaml:3: log: duplicate key (first on line 2)"},
    {"ListenAddressWithoutPort", "sites: [{id: s1}]\nweb:\n  listen_address: localhost\n",
     "bad.yaml:3: web.listen_address: must be HOST:PORT, :PORT or [IPv6]:PORT, got "
     "\"localhost\""},
    {"ListenAddressPortTooBig", "sites: [{id: s1}]\nweb:\n  listen_address: \":70000\"\n",
     "bad.yaml:3: web.listen_address: port must be a number from 0 to 65535, got \":70000\""},
    {"BadLogLevel", "sites: [{id: s1}]\nlog:\n  level: trace\n",
     "bad.yaml:3: log.level: must be one of debug, info, warn, error; got \"trace\""},
    {"ListWhereAStringIsExpected", "sites: [{id: s1}]\ndiscovery:\n  org_id: [a, b]\n",
     "bad.yaml:3: discovery.org_id: expected a string, got a list"},
    {"EmptyFile", "# nothing but a comment\n",
     "bad.yaml:1: config file is empty (expected a map with sections such as mist and sites)"},
    {"TopLevelList", "- mist\n- sites\n",
     "bad.yaml:1: the top level must be a map of sections (mist, sites, ...), got a list"},
    {"YamlSyntaxError", "sites:\n  - id: s1\n   bad: indent\n",
     "bad.yaml:3: yaml syntax error: end of sequence not found"},
};

class BadConfigTest : public ConfigLoaderTest, public ::testing::WithParamInterface<BadConfig> {};

TEST_P(BadConfigTest, IsRejectedWithFileLineAndKey) {
  const BadConfig& bad = GetParam();
  if (!bad.token_in_env) env_ = {{"SOME_OTHER_VAR", kSecret}};
  EXPECT_EQ(ErrorOf(bad.yaml), bad.message);
}

TEST_P(BadConfigTest, NeverMentionsTheToken) {
  const BadConfig& bad = GetParam();
  if (!bad.token_in_env) env_ = {{"SOME_OTHER_VAR", kSecret}};
  std::string message = ErrorOf(bad.yaml);
  EXPECT_EQ(message.find(kSecret), std::string::npos) << message;
  EXPECT_EQ(message.find("tok-SECRET"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Table, BadConfigTest, ::testing::ValuesIn(kBadConfigs),
                         [](const ::testing::TestParamInfo<BadConfig>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(ConfigLoaderTest, TokenFromAFileNeverAppearsInErrors) {
  env_.clear();
  std::string token_line = "  token_file: " + kTestdata + "token.txt\n";
  for (const std::string& yaml : {
           "mist:\n" + token_line + "sites: []\n",
           "mist:\n" + token_line + "  timeout: soon\nsites: [{id: s1}]\n",
           "mist:\n" + token_line + "sites: [{id: s1}]\nweb:\n  listen_address: x\n",
       }) {
    std::string message = ErrorOf(yaml);
    EXPECT_NE(message, "<ok>");
    EXPECT_EQ(message.find("secret-from-file"), std::string::npos) << message;
  }
}

TEST_F(ConfigLoaderTest, SummaryNeverIncludesTheToken) {
  auto r = Load("sites: [{id: s1}]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->token, kSecret);
  EXPECT_EQ(Summary(*r),
            "config OK: 1 site, discovery off, stream on, 0 managed captures, archive off, "
            "api https://api.mist.com, listen :10052, shard 0/1");
}

TEST(DeriveStreamUrlTest, ReplacesTheApiHostPrefixAndScheme) {
  EXPECT_EQ(DeriveStreamUrl("https://api.mist.com"), "wss://api-ws.mist.com/api-ws/v1/stream");
  EXPECT_EQ(DeriveStreamUrl("https://api.eu.mist.com"),
            "wss://api-ws.eu.mist.com/api-ws/v1/stream");
  EXPECT_EQ(DeriveStreamUrl("https://api.gc1.mist.com/"),
            "wss://api-ws.gc1.mist.com/api-ws/v1/stream");
  EXPECT_EQ(DeriveStreamUrl("http://127.0.0.1:18080"), "ws://127.0.0.1:18080/api-ws/v1/stream");
  EXPECT_EQ(DeriveStreamUrl("https://mist.example.test:8443"),
            "wss://mist.example.test:8443/api-ws/v1/stream");
}

}  // namespace
}  // namespace mpe::config
