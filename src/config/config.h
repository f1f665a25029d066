#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/site.h"

namespace mpe::config {

using Duration = std::chrono::milliseconds;

// Plain, validated configuration (docs/spec.md §4). Value type; copy freely.
struct MistConfig {
  std::string api_url = "https://api.mist.com";  // no trailing slash after validation
  std::string stream_url;                        // derived from api_url when empty in YAML
  std::string token_env = "MIST_API_TOKEN";
  std::string token_file;
  std::string ca_file;
  Duration timeout = std::chrono::seconds(10);
  int max_requests_per_hour = 4000;
  Duration usage_interval = std::chrono::minutes(5);  // GET /api/v1/self/usage
};

struct DiscoveryConfig {
  std::string org_id;  // "" off, "auto" from /self, else an org id
  std::vector<std::string> include = {"*"};
  std::vector<std::string> exclude;
  Duration interval = std::chrono::minutes(10);
};

// How sites are polled: kEvents lets the stream drive the polls (a new capture_id or a capture
// end polls that site at once; running captures every status_interval; every other site on a
// slow safety net, idle_interval); kFixed polls every site every status_interval and
// list_interval. kEvents needs the stream: with stream.enabled false the schedule is fixed.
enum class PollSchedule { kEvents, kFixed };

struct PollConfig {
  Duration status_interval = std::chrono::seconds(30);
  Duration list_interval = std::chrono::minutes(5);
  Duration list_window = std::chrono::hours(24);
  Duration idle_interval{0};  // 0: auto (the shortest the budget allows, at least 10m)
  PollSchedule schedule = PollSchedule::kEvents;
};

enum class LostMessagesMode { kCumulative, kPerMessage };

struct StreamConfig {
  bool enabled = true;
  Duration ping_interval = std::chrono::seconds(30);
  Duration reconnect_min = std::chrono::seconds(1);
  Duration reconnect_max = std::chrono::seconds(60);
  LostMessagesMode lost_messages = LostMessagesMode::kCumulative;
  int max_channels_per_connection = 1000;
};

struct MetricsConfig {
  Duration stale_after = std::chrono::minutes(15);
  int max_series_per_family = 20000;
  // mist_pcap_top_clients_bytes: clients shown per site (0: the family is off) and the window
  // their bytes are summed over.
  int top_clients = 10;
  Duration top_clients_window = std::chrono::minutes(5);
};

// One managed capture (docs/spec.md §7); a field is unset when its string is empty or its
// optional has no value. Which fields a type takes, and their ranges, are Mist's rules in
// config/capture_rules.h.
struct ManagedCapture {
  std::string site;    // id or name
  std::string type;    // client | new_assoc | radiotap | radiotap,wired | wired | wireless | scan
  std::string ap_mac;  // one AP, or "" for every AP of the site
  std::string client_mac;
  std::string ssid;
  std::string wlan_id;
  std::string band;              // Mist's spelling: 24 | 24,5,6 | 5 | 6
  std::optional<int> channel;    // scan
  std::optional<int> bandwidth;  // scan: 20 | 40 | 80 | 160
  std::string width;             // scan
  std::optional<int> duration;
  std::optional<int> num_packets;
  std::optional<int> max_pkt_len;
  std::optional<bool> includes_mcast;
  std::string tcpdump_expression;
  std::string radiotap_tcpdump_expression;
  std::string wired_tcpdump_expression;
  std::string wireless_tcpdump_expression;
  std::string format;  // stream | pcap; CheckCapture sets stream where the type has a format

  bool operator==(const ManagedCapture&) const = default;
};

struct ArchiveConfig {
  std::string dir;  // "" = off
  uint64_t rotate_bytes = 64ULL << 20;
  int max_files_per_site = 50;
};

struct WebConfig {
  std::string listen_address = ":10052";
  std::string config_file;  // --web.config.file
  // Open connections at most; at the limit idle ones are closed first (http::ServerOptions).
  int max_connections = 512;
  // --web.enable-lifecycle (flag only, as in Prometheus): serve POST /-/reload. SIGHUP always
  // reloads.
  bool enable_lifecycle = false;
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";
};

struct ShardConfig {
  int index = 0;
  int count = 1;
};

struct Config {
  std::string source_file;  // the YAML it came from, for messages and reload
  MistConfig mist;
  std::vector<common::Site> sites;
  DiscoveryConfig discovery;
  PollConfig poll;
  StreamConfig stream;
  MetricsConfig metrics;
  std::vector<ManagedCapture> captures;
  ArchiveConfig archive;
  WebConfig web;
  LogConfig log;
  ShardConfig shard;
  // Resolved secret; never logged, never printed. Empty only for --check-config output.
  std::string token;
};

// Derives the stream URL from a REST base: https://api.X -> wss://api-ws.X/api-ws/v1/stream,
// http://host:port -> ws://host:port/api-ws/v1/stream (simulator, tests).
std::string DeriveStreamUrl(const std::string& api_url);

}  // namespace mpe::config
