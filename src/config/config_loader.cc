#include "config/config_loader.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include "common/listen_address.h"
#include "common/units.h"
#include "config/capture_rules.h"

namespace mpe::config {
namespace {

// Thrown inside this file only; LoadConfigString turns it into a common::Error.
struct LoadFailure {
  std::string message;
};

// A node of the document together with the key path and line a message about it must name.
struct Value {
  YAML::Node node;
  std::string path;
  int line = 1;
};

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

int LineOf(const YAML::Node& node, int fallback) {
  YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    default:
      return "nothing";
  }
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool HasSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// Reads a whole file; on failure returns nullopt and sets `err` to the errno.
std::optional<std::string> ReadWholeFile(const std::string& path, int& err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

struct UrlParts {
  std::string scheme;
  std::string authority;
  std::string rest;  // path, query and fragment
};

std::optional<UrlParts> SplitUrl(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  UrlParts parts;
  parts.scheme = std::string(url.substr(0, sep));
  std::string_view after = url.substr(sep + 3);
  size_t end = after.find_first_of("/?#");
  parts.authority = std::string(after.substr(0, end));
  if (end != std::string_view::npos) parts.rest = std::string(after.substr(end));
  return parts;
}

bool ValidPort(std::string_view port, int lowest) {
  if (port.empty() || port.size() > 5) return false;
  int n = 0;
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    n = n * 10 + (c - '0');
  }
  return n >= lowest && n <= 65535;
}

// Why `authority` (host[:port], [v6][:port]) is unusable in a URL; nullopt when fine.
std::optional<std::string> AuthorityProblem(std::string_view authority) {
  if (authority.empty()) return "has no host";
  if (authority.find('@') != std::string_view::npos) return "must not contain user credentials";
  if (HasSpace(authority)) return "must not contain whitespace";
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unterminated [IPv6] host";
    host = authority.substr(1, close - 1);
    std::string_view tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail[0] != ':') return "has junk after the [IPv6] host";
      port = tail.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "needs brackets around an IPv6 host";
  }
  if (host.empty()) return "has no host";
  if (port && !ValidPort(*port, 1)) return "has a bad port " + Quote(*port);
  return std::nullopt;
}

class Parser;

// The entries of one YAML map after checking for unknown and duplicate keys.
class Fields {
 public:
  Fields(const Parser& parser, const Value& map, std::initializer_list<std::string_view> known)
      : Fields(parser, map, std::vector<std::string_view>(known)) {}
  Fields(const Parser& parser, const Value& map, const std::vector<std::string_view>& known);
  const Value* Get(std::string_view key) const {
    auto it = entries_.find(std::string(key));
    return it == entries_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, Value, std::less<>> entries_;
};

// Turns one YAML document into a Config. Owns nothing beyond the Config it builds; used by one
// thread for one load.
class Parser {
 public:
  Parser(std::string source, const CommandLine& cl, const LoadOptions& opts)
      : source_(std::move(source)), cl_(cl), opts_(opts) {}

  Config Parse(std::string_view yaml);

  [[noreturn]] void Fail(int line, const std::string& path, const std::string& problem) const {
    std::string msg = source_ + ":" + std::to_string(line) + ": ";
    if (!path.empty()) msg += path + ": ";
    throw LoadFailure{msg + problem};
  }

 private:
  [[noreturn]] static void FailFlag(const std::string& flag, const std::string& problem) {
    throw LoadFailure{flag + ": " + problem};
  }

  std::optional<std::string> Env(const std::string& name) const {
    if (opts_.env) return opts_.env(name);
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }

  std::string String(const Value& v) const;
  std::string NonEmptyString(const Value& v) const;
  std::vector<std::string> StringList(const Value& v) const;
  std::vector<Value> Items(const Value& v, const std::string& expected) const;
  int64_t Int(const Value& v, int64_t lowest, int64_t highest) const;
  bool Bool(const Value& v) const;
  Duration PositiveDuration(const Value& v) const;
  uint64_t Size(const Value& v) const;
  std::string Enum(const Value& v, std::initializer_list<std::string_view> allowed) const;

  void ParseMist(const Value& v);
  void ParseSites(const Value& v);
  void ParseDiscovery(const Value& v);
  void ParsePoll(const Value& v);
  void ParseStream(const Value& v);
  void ParseMetrics(const Value& v);
  void ParseCaptures(const Value& v);
  void ParseArchive(const Value& v);
  void ParseWeb(const Value& v);
  void ParseLog(const Value& v);

  void CheckSitesAndCaptures();
  void ResolveToken();
  void ApplyFlags();

  std::string source_;
  const CommandLine& cl_;
  const LoadOptions& opts_;
  Config cfg_;
  // Lines for messages about things checked after the whole document was read.
  int mist_line_ = 1;
  int sites_line_ = 1;
  int token_file_line_ = 1;
  std::vector<int> capture_site_lines_;
};

Fields::Fields(const Parser& parser, const Value& map, const std::vector<std::string_view>& known) {
  if (map.node.IsNull()) return;  // a section with every key commented out
  if (!map.node.IsMap())
    parser.Fail(map.line, map.path, "expected a map, got " + Describe(map.node));
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    YAML::Node key = it->first;  // it-> yields a temporary: copy, never bind a reference
    int line = LineOf(key, map.line);
    if (!key.IsScalar()) parser.Fail(line, map.path, "keys must be plain words");
    const std::string& name = key.Scalar();
    std::string path = Join(map.path, name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string_view best;
      size_t best_distance = 3;  // suggest only near misses
      for (std::string_view k : known) {
        size_t d = EditDistance(name, k);
        if (d < best_distance) {
          best = k;
          best_distance = d;
        }
      }
      if (!best.empty()) parser.Fail(line, path, "unknown key (did you mean " + Quote(best) + "?)");
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      parser.Fail(line, path, "unknown key (known keys: " + list + ")");
    }
    if (auto prev = entries_.find(name); prev != entries_.end()) {
      parser.Fail(line, path,
                  "duplicate key (first on line " + std::to_string(prev->second.line) + ")");
    }
    entries_.emplace(name, Value{it->second, std::move(path), line});
  }
}

std::string Parser::String(const Value& v) const {
  if (v.node.IsNull()) return "";
  if (!v.node.IsScalar()) Fail(v.line, v.path, "expected a string, got " + Describe(v.node));
  return v.node.Scalar();
}

std::string Parser::NonEmptyString(const Value& v) const {
  std::string s = String(v);
  if (s.empty()) Fail(v.line, v.path, "must not be empty");
  return s;
}

std::vector<Value> Parser::Items(const Value& v, const std::string& expected) const {
  std::vector<Value> out;
  if (v.node.IsNull()) return out;
  if (!v.node.IsSequence())
    Fail(v.line, v.path, "expected " + expected + ", got " + Describe(v.node));
  for (size_t i = 0; i < v.node.size(); ++i) {
    YAML::Node item = v.node[i];
    out.push_back(Value{item, v.path + "[" + std::to_string(i) + "]", LineOf(item, v.line)});
  }
  return out;
}

std::vector<std::string> Parser::StringList(const Value& v) const {
  std::vector<std::string> out;
  for (const Value& item : Items(v, "a list of strings")) {
    if (!item.node.IsScalar()) {
      Fail(item.line, item.path, "expected a string, got " + Describe(item.node));
    }
    out.push_back(item.node.Scalar());
  }
  return out;
}

int64_t Parser::Int(const Value& v, int64_t lowest, int64_t highest) const {
  if (!v.node.IsScalar()) Fail(v.line, v.path, "expected an integer, got " + Describe(v.node));
  const std::string& s = v.node.Scalar();
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    Fail(v.line, v.path, "expected an integer, got " + Quote(s));
  }
  if (n < lowest || n > highest) {
    if (highest == INT_MAX) {
      Fail(v.line, v.path, "must be at least " + std::to_string(lowest) + ", got " + s);
    }
    Fail(v.line, v.path,
         "must be between " + std::to_string(lowest) + " and " + std::to_string(highest) +
             ", got " + s);
  }
  return n;
}

bool Parser::Bool(const Value& v) const {
  if (v.node.IsScalar()) {
    std::string s = v.node.Scalar();
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  Fail(v.line, v.path, "expected true or false, got " + Describe(v.node));
}

Duration Parser::PositiveDuration(const Value& v) const {
  if (!v.node.IsScalar()) Fail(v.line, v.path, "expected a duration, got " + Describe(v.node));
  const std::string& s = v.node.Scalar();
  auto d = common::ParseDuration(s);
  if (!d) {
    Fail(v.line, v.path,
         "invalid duration " + Quote(s) + " (use a number with unit ms, s, m, h or d, e.g. 30s)");
  }
  if (d->count() <= 0) Fail(v.line, v.path, "must be greater than 0, got " + Quote(s));
  return *d;
}

uint64_t Parser::Size(const Value& v) const {
  if (!v.node.IsScalar()) Fail(v.line, v.path, "expected a size, got " + Describe(v.node));
  const std::string& s = v.node.Scalar();
  auto n = common::ParseSize(s);
  if (!n) {
    Fail(v.line, v.path,
         "invalid size " + Quote(s) +
             " (use bytes or a number with unit B, KiB, MiB or GiB, "
             "e.g. 64MiB)");
  }
  return *n;
}

std::string Parser::Enum(const Value& v, std::initializer_list<std::string_view> allowed) const {
  std::string list;
  for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  if (!v.node.IsScalar()) {
    Fail(v.line, v.path, "must be one of " + list + "; got " + Describe(v.node));
  }
  const std::string& s = v.node.Scalar();
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    Fail(v.line, v.path, "must be one of " + list + "; got " + Quote(s));
  }
  return s;
}

Config Parser::Parse(std::string_view yaml) {
  cfg_.source_file = source_;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    throw LoadFailure{source_ + ":" + std::to_string(line) + ": yaml syntax error: " + e.msg};
  }
  if (!root.IsDefined() || root.IsNull()) {
    Fail(1, "", "config file is empty (expected a map with sections such as mist and sites)");
  }
  if (!root.IsMap()) {
    Fail(LineOf(root, 1), "",
         "the top level must be a map of sections (mist, sites, ...), got " + Describe(root));
  }
  Fields top(*this, Value{root, "", 1},
             {"mist", "sites", "discovery", "poll", "stream", "metrics", "captures", "archive",
              "web", "log"});
  if (const Value* v = top.Get("mist")) ParseMist(*v);
  if (const Value* v = top.Get("sites")) ParseSites(*v);
  if (const Value* v = top.Get("discovery")) ParseDiscovery(*v);
  if (const Value* v = top.Get("poll")) ParsePoll(*v);
  if (const Value* v = top.Get("stream")) ParseStream(*v);
  if (const Value* v = top.Get("metrics")) ParseMetrics(*v);
  if (const Value* v = top.Get("captures")) ParseCaptures(*v);
  if (const Value* v = top.Get("archive")) ParseArchive(*v);
  if (const Value* v = top.Get("web")) ParseWeb(*v);
  if (const Value* v = top.Get("log")) ParseLog(*v);
  if (cfg_.mist.stream_url.empty()) cfg_.mist.stream_url = DeriveStreamUrl(cfg_.mist.api_url);
  CheckSitesAndCaptures();
  ResolveToken();
  ApplyFlags();
  return std::move(cfg_);
}

void Parser::ParseMist(const Value& v) {
  mist_line_ = v.line;
  Fields f(*this, v,
           {"api_url", "stream_url", "token_env", "token_file", "ca_file", "timeout",
            "max_requests_per_hour", "usage_interval"});
  MistConfig& m = cfg_.mist;
  if (const Value* e = f.Get("api_url")) {
    std::string url = String(*e);
    auto parts = SplitUrl(url);
    if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
      Fail(e->line, e->path, "must start with http:// or https://, got " + Quote(url));
    }
    if (auto problem = AuthorityProblem(parts->authority)) {
      Fail(e->line, e->path, *problem + ": " + Quote(url));
    }
    if (!parts->rest.empty() && parts->rest != "/") {
      Fail(e->line, e->path,
           "must be the API base without a path (e.g. https://api.mist.com), got " + Quote(url));
    }
    m.api_url = parts->scheme + "://" + parts->authority;
  }
  if (const Value* e = f.Get("stream_url")) {
    std::string url = String(*e);
    if (!url.empty()) {
      auto parts = SplitUrl(url);
      if (!parts || (parts->scheme != "ws" && parts->scheme != "wss")) {
        Fail(e->line, e->path, "must start with ws:// or wss://, got " + Quote(url));
      }
      if (auto problem = AuthorityProblem(parts->authority)) {
        Fail(e->line, e->path, *problem + ": " + Quote(url));
      }
    }
    m.stream_url = url;
  }
  if (const Value* e = f.Get("token_env")) m.token_env = NonEmptyString(*e);
  if (const Value* e = f.Get("token_file")) {
    m.token_file = String(*e);
    token_file_line_ = e->line;
  }
  if (const Value* e = f.Get("ca_file")) m.ca_file = String(*e);
  if (const Value* e = f.Get("timeout")) m.timeout = PositiveDuration(*e);
  if (const Value* e = f.Get("max_requests_per_hour")) {
    m.max_requests_per_hour = static_cast<int>(Int(*e, 1, INT_MAX));
  }
  if (const Value* e = f.Get("usage_interval")) {
    m.usage_interval = PositiveDuration(*e);
    if (m.usage_interval < std::chrono::minutes(1)) {
      Fail(e->line, e->path, "must be at least 1m, got " + Quote(e->node.Scalar()));
    }
  }
}

void Parser::ParseSites(const Value& v) {
  sites_line_ = v.line;
  std::map<std::string, int> first_line;
  for (const Value& item : Items(v, "a list of sites ({id, name})")) {
    Fields f(*this, item, {"id", "name"});
    const Value* id = f.Get("id");
    if (id == nullptr) Fail(item.line, item.path + ".id", "is required");
    common::Site site;
    site.id = NonEmptyString(*id);
    if (HasSpace(site.id) || site.id.find('/') != std::string::npos) {
      Fail(id->line, id->path, "must not contain whitespace or '/', got " + Quote(site.id));
    }
    if (auto [it, inserted] = first_line.emplace(site.id, id->line); !inserted) {
      Fail(id->line, id->path,
           "duplicate site id " + Quote(site.id) + " (first on line " + std::to_string(it->second) +
               ")");
    }
    if (const Value* name = f.Get("name")) site.name = String(*name);
    cfg_.sites.push_back(std::move(site));
  }
}

void Parser::ParseDiscovery(const Value& v) {
  Fields f(*this, v, {"org_id", "include", "exclude", "interval"});
  DiscoveryConfig& d = cfg_.discovery;
  if (const Value* e = f.Get("org_id")) d.org_id = String(*e);
  if (const Value* e = f.Get("include")) d.include = StringList(*e);
  if (const Value* e = f.Get("exclude")) d.exclude = StringList(*e);
  if (const Value* e = f.Get("interval")) d.interval = PositiveDuration(*e);
}

void Parser::ParsePoll(const Value& v) {
  Fields f(*this, v,
           {"status_interval", "list_interval", "list_window", "idle_interval", "schedule"});
  if (const Value* e = f.Get("status_interval")) cfg_.poll.status_interval = PositiveDuration(*e);
  if (const Value* e = f.Get("list_interval")) cfg_.poll.list_interval = PositiveDuration(*e);
  if (const Value* e = f.Get("list_window")) cfg_.poll.list_window = PositiveDuration(*e);
  if (const Value* e = f.Get("idle_interval")) {
    if (e->node.IsScalar() && e->node.Scalar() == "auto") {
      cfg_.poll.idle_interval = Duration(0);
    } else {
      cfg_.poll.idle_interval = PositiveDuration(*e);
    }
  }
  if (const Value* e = f.Get("schedule")) {
    const std::string s = String(*e);
    if (s == "events") {
      cfg_.poll.schedule = PollSchedule::kEvents;
    } else if (s == "fixed") {
      cfg_.poll.schedule = PollSchedule::kFixed;
    } else {
      Fail(e->line, e->path, "must be events or fixed, got " + Quote(s));
    }
  }
}

void Parser::ParseStream(const Value& v) {
  Fields f(*this, v,
           {"enabled", "ping_interval", "reconnect_min", "reconnect_max", "lost_messages",
            "max_channels_per_connection"});
  StreamConfig& s = cfg_.stream;
  if (const Value* e = f.Get("enabled")) s.enabled = Bool(*e);
  if (const Value* e = f.Get("ping_interval")) s.ping_interval = PositiveDuration(*e);
  const Value* min = f.Get("reconnect_min");
  const Value* max = f.Get("reconnect_max");
  if (min) s.reconnect_min = PositiveDuration(*min);
  if (max) s.reconnect_max = PositiveDuration(*max);
  if (const Value* e = f.Get("lost_messages")) {
    s.lost_messages = Enum(*e, {"cumulative", "per_message"}) == "per_message"
                          ? LostMessagesMode::kPerMessage
                          : LostMessagesMode::kCumulative;
  }
  if (const Value* e = f.Get("max_channels_per_connection")) {
    s.max_channels_per_connection = static_cast<int>(Int(*e, 1, 1000));
  }
  if (s.reconnect_min > s.reconnect_max) {
    std::string range = " (" + common::FormatDuration(s.reconnect_min) + " > " +
                        common::FormatDuration(s.reconnect_max) + ")";
    // Blame the key the operator wrote; only reconnect_max is set when min is the default.
    if (min != nullptr) Fail(min->line, min->path, "must not exceed stream.reconnect_max" + range);
    Fail(max->line, max->path, "must not be below stream.reconnect_min" + range);
  }
}

void Parser::ParseMetrics(const Value& v) {
  Fields f(*this, v, {"stale_after", "max_series_per_family", "top_clients", "top_clients_window"});
  if (const Value* e = f.Get("stale_after")) cfg_.metrics.stale_after = PositiveDuration(*e);
  if (const Value* e = f.Get("max_series_per_family")) {
    cfg_.metrics.max_series_per_family = static_cast<int>(Int(*e, 1, INT_MAX));
  }
  // Each reported client costs (top_clients² + 1) counters per pane: 100 keeps a site's
  // summary under 10k counters.
  if (const Value* e = f.Get("top_clients")) {
    cfg_.metrics.top_clients = static_cast<int>(Int(*e, 0, 100));
  }
  if (const Value* e = f.Get("top_clients_window")) {
    cfg_.metrics.top_clients_window = PositiveDuration(*e);
  }
}

void Parser::ParseCaptures(const Value& v) {
  std::vector<std::string_view> keys = {"site", "type"};
  for (const CaptureField& field : CaptureFields()) keys.push_back(field.key);
  for (const Value& item : Items(v, "a list of captures")) {
    // A gateway or switch capture brings its own keys (gateways, switches, ports): say why the
    // type is refused rather than that those keys are unknown.
    if (item.node.IsMap() && item.node["type"] && item.node["type"].IsScalar()) {
      if (auto why = RefusedTypeReason(item.node["type"].Scalar()); !why.empty()) {
        Fail(LineOf(item.node["type"], item.line), item.path + ".type", std::string(why));
      }
    }
    Fields f(*this, item, keys);
    ManagedCapture c;
    const Value* site = f.Get("site");
    if (site == nullptr) Fail(item.line, item.path + ".site", "is required");
    c.site = NonEmptyString(*site);
    capture_site_lines_.push_back(site->line);
    const Value* type = f.Get("type");
    if (type == nullptr) Fail(item.line, item.path + ".type", "is required");
    c.type = NonEmptyString(*type);
    for (const CaptureField& field : CaptureFields()) {
      const Value* e = f.Get(field.key);
      if (e == nullptr || e->node.IsNull()) continue;
      if (field.text != nullptr) {
        // ap_mac also as a one-item list (older configs); two APs are a clear error below.
        if (field.key == "ap_mac" && e->node.IsSequence()) {
          auto items = Items(*e, "one MAC");
          if (items.size() != 1) {
            Fail(e->line, e->path,
                 "takes one MAC (Mist captures on one AP, or on every AP of the site when "
                 "ap_mac is left out), got " +
                     std::to_string(items.size()));
          }
          c.*field.text = String(items[0]);
        } else {
          c.*field.text = String(*e);
        }
      } else if (field.number != nullptr) {
        c.*field.number = static_cast<int>(Int(*e, INT_MIN, INT_MAX));
      } else {
        c.*field.flag = Bool(*e);
      }
    }
    if (auto problem = CheckCapture(&c)) {
      const Value* at = problem->key == "type" ? type : f.Get(problem->key);
      Fail(at != nullptr ? at->line : item.line, item.path + "." + problem->key, problem->message);
    }
    cfg_.captures.push_back(std::move(c));
  }
}

void Parser::ParseArchive(const Value& v) {
  Fields f(*this, v, {"dir", "rotate_bytes", "max_files_per_site"});
  if (const Value* e = f.Get("dir")) cfg_.archive.dir = String(*e);
  if (const Value* e = f.Get("rotate_bytes")) {
    cfg_.archive.rotate_bytes = Size(*e);
    if (cfg_.archive.rotate_bytes < (64ULL << 10)) {
      Fail(e->line, e->path, "must be at least 64KiB, got " + Quote(e->node.Scalar()));
    }
  }
  if (const Value* e = f.Get("max_files_per_site")) {
    cfg_.archive.max_files_per_site = static_cast<int>(Int(*e, 1, INT_MAX));
  }
}

void Parser::ParseWeb(const Value& v) {
  Fields f(*this, v, {"listen_address", "config_file", "max_connections"});
  if (const Value* e = f.Get("listen_address")) {
    std::string address = String(*e);
    if (auto problem = ListenAddressProblem(address)) Fail(e->line, e->path, *problem);
    cfg_.web.listen_address = address;
  }
  if (const Value* e = f.Get("config_file")) cfg_.web.config_file = String(*e);
  if (const Value* e = f.Get("max_connections")) {
    cfg_.web.max_connections = static_cast<int>(Int(*e, 1, 1000000));
  }
}

void Parser::ParseLog(const Value& v) {
  Fields f(*this, v, {"level", "format"});
  if (const Value* e = f.Get("level"))
    cfg_.log.level = Enum(*e, {"debug", "info", "warn", "error"});
  if (const Value* e = f.Get("format")) cfg_.log.format = Enum(*e, {"text", "json"});
}

void Parser::CheckSitesAndCaptures() {
  if (cfg_.sites.empty() && cfg_.discovery.org_id.empty()) {
    Fail(sites_line_, "sites",
         "no sites configured and discovery.org_id is empty: nothing to watch");
  }
  // With discovery on, a capture may name a site that only discovery will find.
  if (cfg_.sites.empty() || !cfg_.discovery.org_id.empty()) return;
  for (size_t i = 0; i < cfg_.captures.size(); ++i) {
    const std::string& want = cfg_.captures[i].site;
    bool known = std::any_of(cfg_.sites.begin(), cfg_.sites.end(),
                             [&](const common::Site& s) { return s.id == want || s.name == want; });
    if (!known) {
      Fail(capture_site_lines_[i], "captures[" + std::to_string(i) + "].site",
           Quote(want) + " is not the id or name of a configured site");
    }
  }
}

void Parser::ResolveToken() {
  const MistConfig& m = cfg_.mist;
  if (auto from_env = Env(m.token_env)) {
    std::string token = Trim(*from_env);
    if (!token.empty()) {
      cfg_.token = std::move(token);
      return;
    }
  }
  if (!m.token_file.empty()) {
    int err = 0;
    auto contents = ReadWholeFile(m.token_file, err);
    if (!contents) {
      if (!opts_.require_token) return;
      Fail(token_file_line_, "mist.token_file",
           "cannot read token file " + Quote(m.token_file) + ": " + ErrnoText(err));
    }
    std::string token = Trim(*contents);
    if (token.empty() && opts_.require_token) {
      Fail(token_file_line_, "mist.token_file", "token file " + Quote(m.token_file) + " is empty");
    }
    cfg_.token = std::move(token);
    return;
  }
  if (opts_.require_token) {
    Fail(mist_line_, "mist", "no API token: set $" + m.token_env + " or mist.token_file");
  }
}

void Parser::ApplyFlags() {
  if (cl_.listen_address) {
    if (auto problem = ListenAddressProblem(*cl_.listen_address)) {
      FailFlag("--web.listen-address", *problem);
    }
    cfg_.web.listen_address = *cl_.listen_address;
  }
  if (cl_.web_config_file) cfg_.web.config_file = *cl_.web_config_file;
  cfg_.web.enable_lifecycle = cl_.web_enable_lifecycle;
  if (cl_.log_level) {
    const std::string& l = *cl_.log_level;
    if (l != "debug" && l != "info" && l != "warn" && l != "error") {
      FailFlag("--log.level", "must be one of debug, info, warn, error; got " + Quote(l));
    }
    cfg_.log.level = l;
  }
  if (cl_.log_format) {
    if (*cl_.log_format != "text" && *cl_.log_format != "json") {
      FailFlag("--log.format", "must be text or json; got " + Quote(*cl_.log_format));
    }
    cfg_.log.format = *cl_.log_format;
  }
  int count = cl_.shard_count.value_or(1);
  if (count < 1) FailFlag("--shard.count", "must be >= 1; got " + std::to_string(count));
  int index = 0;
  if (cl_.shard_index) {
    index = *cl_.shard_index;
  } else if (count > 1) {
    std::string host = Env("HOSTNAME").value_or("");
    auto ordinal = TrailingOrdinal(host);
    if (!ordinal) {
      FailFlag("--shard.index", "not given and $HOSTNAME (" + Quote(host) +
                                    ") does not end in a number; set --shard.index");
    }
    index = *ordinal;
  }
  if (index < 0 || index >= count) {
    FailFlag("--shard.index",
             std::to_string(index) + " must be less than --shard.count " + std::to_string(count));
  }
  cfg_.shard.index = index;
  cfg_.shard.count = count;
}

}  // namespace

std::optional<std::string> ListenAddressProblem(std::string_view address) {
  using F = common::ListenAddressFault;
  switch (common::ParseListenAddress(address).fault) {
    case F::kNone:
      return std::nullopt;
    case F::kUnbracketedIpv6:
      return "needs brackets around an IPv6 host (e.g. [::1]:10052), got " + Quote(address);
    case F::kBracketsNeedIpv6:
      return "brackets need an IPv6 address (e.g. [::1]:10052), got " + Quote(address);
    case F::kBadPort:
      return "port must be a number from 0 to 65535, got " + Quote(address);
    case F::kShape:
    case F::kBracketShape:
    case F::kBadHost:
      break;
  }
  return "must be HOST:PORT, :PORT or [IPv6]:PORT, got " + Quote(address);
}

std::optional<int> TrailingOrdinal(std::string_view hostname) {
  size_t start = hostname.size();
  while (start > 0 && std::isdigit(static_cast<unsigned char>(hostname[start - 1]))) --start;
  std::string_view digits = hostname.substr(start);
  int n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc()) return std::nullopt;
  return n;
}

common::Result<Config> LoadConfigString(std::string_view yaml, const std::string& source_name,
                                        const CommandLine& cl, const LoadOptions& opts) {
  try {
    Parser parser(source_name, cl, opts);
    return parser.Parse(yaml);
  } catch (const LoadFailure& f) {
    return common::MakeError(f.message);
  } catch (const YAML::Exception& e) {
    return common::MakeError(source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return common::MakeError(source_name + ": cannot load config: " + e.what());
  }
}

common::Result<Config> LoadConfigFile(const std::string& path, const CommandLine& cl,
                                      const LoadOptions& opts) {
  int err = 0;
  auto text = ReadWholeFile(path, err);
  if (!text) return common::MakeError(path + ": cannot read config file: " + ErrnoText(err));
  return LoadConfigString(*text, path, cl, opts);
}

std::string Summary(const Config& c) {
  auto plural = [](size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  std::string out = "config OK: " + plural(c.sites.size(), "site");
  out += c.discovery.org_id.empty() ? ", discovery off" : ", discovery org " + c.discovery.org_id;
  out += c.stream.enabled ? ", stream on" : ", stream off";
  out += ", " + plural(c.captures.size(), "managed capture");
  out += c.archive.dir.empty() ? ", archive off" : ", archive " + c.archive.dir;
  out += ", api " + c.mist.api_url;
  out += ", listen " + c.web.listen_address;
  out += ", shard " + std::to_string(c.shard.index) + "/" + std::to_string(c.shard.count);
  return out;
}

}  // namespace mpe::config
