#include "sim/sim_state.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <random>
#include <tuple>
#include <type_traits>

#include "common/mac.h"
#include "common/units.h"
#include "sim/json_out.h"

namespace mpe::sim {

namespace {

struct Target {
  std::vector<std::string> segments;  // path split on '/', empty parts dropped
  std::map<std::string, std::string> query;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Target ParseTarget(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) t.segments.push_back(PercentDecode(path.substr(pos, next - pos)));
    pos = next + 1;
  }
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    size_t p = 0;
    while (p < qs.size()) {
      size_t amp = qs.find('&', p);
      if (amp == std::string_view::npos) amp = qs.size();
      std::string_view kv = qs.substr(p, amp - p);
      size_t eq = kv.find('=');
      if (!kv.empty()) {
        t.query[PercentDecode(kv.substr(0, eq))] =
            eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
      }
      p = amp + 1;
    }
  }
  return t;
}

bool IsApiV1(const Target& t) {
  return t.segments.size() >= 3 && t.segments[0] == "api" && t.segments[1] == "v1";
}

// The fixed endpoint names of docs/spec.md §2.2; "other" for anything unrouted.
std::string EndpointName(std::string_view method, const Target& t) {
  if (!IsApiV1(t)) return "other";
  const auto& s = t.segments;
  if (s.size() == 3 && s[2] == "self") return "self";
  if (s.size() == 4 && s[2] == "self" && s[3] == "usage") return "self_usage";
  if (s.size() == 4 && s[2] == "sites" && method == "GET") return "site";
  if (s.size() == 5 && s[2] == "orgs" && s[4] == "sites") return "org_sites";
  if (s.size() == 5 && s[2] == "orgs" && s[4] == "inventory" && method == "GET") {
    return "inventory";
  }
  if (s.size() >= 5 && s[2] == "sites" && s[4] == "pcaps") {
    if (s.size() == 5) return "capture_list";
    if (s.size() == 6 && s[5] == "capture") {
      if (method == "GET") return "capture_status";
      if (method == "POST") return "capture_start";
      if (method == "DELETE") return "capture_stop";
    }
    if (s.size() == 6 && method == "PUT") return "capture_annotate";
  }
  return "other";
}

HttpReply Detail(int status, std::string_view detail) {
  return HttpReply{status, DetailBody(detail), {}};
}

HttpReply Json(std::string body) { return HttpReply{200, std::move(body), {}}; }

std::optional<double> NumberParam(const std::map<std::string, std::string>& q,
                                  const std::string& key) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> DurationParam(const std::map<std::string, std::string>& q) {
  auto it = q.find("duration");
  if (it == q.end()) return std::nullopt;
  if (auto v = NumberParam(q, "duration")) return *v;
  if (auto d = common::ParseDuration(it->second)) return static_cast<double>(d->count()) / 1000;
  return std::nullopt;
}

int64_t IntParam(const std::map<std::string, std::string>& q, const std::string& key, int64_t def) {
  auto v = NumberParam(q, key);
  return v ? static_cast<int64_t>(*v) : def;
}

void WriteEpoch(JsonOut& w, double t) {
  if (t == std::floor(t))
    w.Int64(static_cast<int64_t>(t));
  else
    w.Double(t);
}

bool StreamsWireless(const std::string& type) {
  return type == "radiotap" || type == "radiotap,wired" || type == "client" ||
         type == "new_assoc" || type == "wireless" || type == "scan";
}
bool StreamsWired(const std::string& type) {
  return type == "wired" || type == "radiotap,wired" || type == "gateway" || type == "switch";
}

// Largest number of packets one capture file keeps (num_packets 0 = unlimited in Mist).
constexpr int kMaxFilePackets = 10000;
// Capture files kept for the last this many captures that ran in the simulator.
constexpr size_t kMaxKeptFiles = 100;
// REST requests kept for GET /sim/requests.
constexpr size_t kMaxLoggedRequests = 200;
// Capture starts, ends and AP failures kept for GET /sim/changes.
constexpr size_t kMaxChanges = 10000;

constexpr char kTooMany[] =
    "Too Many Request. The API Token used for the request reached the 5000 API Calls per hour "
    "threshold";

// Mist's band enum value ("24", "5", "6") -> the generator's bands.
std::vector<Band> BandsOf(const std::string& band) {
  std::vector<Band> out;
  size_t pos = 0;
  while (pos <= band.size() && !band.empty()) {
    size_t comma = band.find(',', pos);
    std::string one =
        band.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (one == "24") out.push_back(Band::k24);
    if (one == "5") out.push_back(Band::k5);
    if (one == "6") out.push_back(Band::k6);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

int MistBand(Band b) { return b == Band::k24 ? 24 : b == Band::k5 ? 5 : 6; }

}  // namespace

SimState::SimState(const Scenario& scenario, uint64_t seed, std::string token,
                   const common::Clock& clock, double rate)
    : clock_(clock),
      token_(std::move(token)),
      rate_(rate),
      email_(scenario.email),
      orgs_(scenario.orgs),
      id_state_(seed ^ 0x5eedf00dULL) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_status_empty_ = scenario.idle_status_empty;
  inventory_spec_ = scenario.inventory;
  double now = Now();
  for (const SiteSpec& spec : scenario.sites) {
    Site& site = NewSite(spec.id, spec.name, spec.org_id);
    site.aps = spec.aps;
    SetInventory(site, spec.ap_details);
    site.failing.insert(spec.failing_aps.begin(), spec.failing_aps.end());
    site.stream = spec.stream;
    for (const HistoryCaptureSpec& h : spec.history) {
      Capture c;
      c.id = NewId();
      c.serial = next_serial_++;
      c.type = h.type;
      c.format = h.format;
      c.started = std::floor(now - h.started_ago_s);
      c.duration = h.duration_s;
      c.ap_macs = site.aps;
      c.notes = h.notes;
      c.listed_with_id = h.listed_with_id;
      c.termination_reason = h.termination_reason;
      NewFile(c);
      site.history.push_back(std::move(c));
    }
    if (spec.capture) {
      const RunningCaptureSpec& r = *spec.capture;
      Capture c;
      c.id = NewId();
      c.serial = next_serial_++;
      c.type = r.type;
      c.format = r.format;
      c.started = std::floor(now - r.started_ago_s);  // whole seconds, as REST starts
      c.duration = r.duration_s;
      c.max_num_packets = r.num_packets;
      c.max_pkt_len = r.max_pkt_len;
      c.ap_macs = r.aps.empty() ? site.aps : r.aps;
      for (uint64_t mac : c.ap_macs) {
        if (site.failing.count(mac)) c.failed[mac] = "AP offline";
      }
      for (uint64_t mac : r.failed_aps) c.failed[mac] = "AP offline";
      NewFile(c);
      Begin(site, std::move(c));
    }
  }
  if (scenario.churn) {
    churn_ = scenario.churn;
    next_churn_start_ = now + churn_->start_every_s;
    next_churn_fail_ = now + churn_->fail_ap_every_s;
    churn_rng_state_ = seed ^ 0xc4c4c4c4c4c4c4c4ULL;
  }
}

uint64_t SimState::ChurnRandom() {
  // splitmix64: the same sequence on every platform for a given --seed.
  uint64_t z = (churn_rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void SimState::SetInventory(Site& site, const std::map<uint64_t, ApDetails>& details) {
  site.created = std::floor(Now());
  site.inventory.clear();
  for (size_t k = 0; k < site.aps.size(); ++k) {
    InventoryAp ap;
    ap.mac = site.aps[k];
    uint64_t ordinal = next_ap_ordinal_++;
    auto it = details.find(ap.mac);
    ap.model = it != details.end() && it->second.model ? *it->second.model : inventory_spec_.model;
    if (it != details.end() && it->second.name) {
      ap.name = *it->second.name;
    } else if (inventory_spec_.unnamed_every <= 0 ||
               ordinal % static_cast<uint64_t>(inventory_spec_.unnamed_every) != 0) {
      // Some APs have no name, as in real orgs, so clients must fall back to the MAC.
      ap.name = "ap-" + (site.name.empty() ? site.id : site.name) + "-" + std::to_string(k + 1);
    }
    site.inventory.push_back(std::move(ap));
  }
}

std::string SimState::NewId() {
  auto next = [this] {
    uint64_t z = (id_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  uint64_t a = next(), b = next();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

SimState::Site& SimState::NewSite(const std::string& id, const std::string& name,
                                  const std::string& org_id) {
  Site& site = sites_[id];
  site = Site{};
  site.index = next_site_index_++;
  site.id = id;
  site.name = name;
  site.org_id = org_id;
  truth_.SetSite(site.index, id, name);
  return site;
}

void SimState::NewFile(Capture& c) {
  std::random_device rd;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  c.file_token = buf;
  size_t max =
      c.max_num_packets > 0 ? std::min(c.max_num_packets, kMaxFilePackets) : kMaxFilePackets;
  std::vector<uint16_t> links;
  if (StreamsWireless(c.type)) links.push_back(127);  // radiotap
  if (StreamsWired(c.type)) links.push_back(1);       // Ethernet
  c.recording =
      std::make_shared<CaptureRecording>(max, c.max_pkt_len, std::move(links), &recording_totals_);
  files_[c.file_token] = c.recording;
}

std::string SimState::PcapUrl(const Capture& c) const {
  std::string origin = download_origin_;
  if (origin.empty()) origin = scheme_ + "://" + host_ + ":{port}";
  if (size_t at = origin.find("{port}"); at != std::string::npos) {
    origin.replace(at, 6, std::to_string(port_));
  }
  bool ng = StreamsWireless(c.type) && StreamsWired(c.type);
  return origin + "/pcap-files/" + c.file_token + (ng ? ".pcapng" : ".pcap");
}

void SimState::SetListenAddress(const std::string& scheme, const std::string& host, int port) {
  std::lock_guard<std::mutex> lock(mu_);
  scheme_ = scheme;
  host_ = host;
  port_ = port;
}

void SimState::SetDownloadOrigin(const std::string& origin) {
  std::lock_guard<std::mutex> lock(mu_);
  download_origin_ = origin;
  while (!download_origin_.empty() && download_origin_.back() == '/') download_origin_.pop_back();
}

void SimState::Begin(Site& site, Capture c) {
  if (c.format == "stream") {
    auto t = std::make_shared<StreamTarget>();
    t->site_index = site.index;
    t->channel = "/sites/" + site.id + "/pcaps";
    t->capture_id = c.id;
    t->capture_serial = c.serial;
    t->wireless = StreamsWireless(c.type);
    t->wired = StreamsWired(c.type);
    t->max_pkt_len = c.max_pkt_len;
    t->settings = site.stream;
    t->recording = c.recording;
    // A band in the request narrows the frames to it; without one the site's bands are used
    // (Mist's default "24" is not applied so the stream of existing scenarios stays as it was).
    if (std::vector<Band> bands = BandsOf(c.band); !bands.empty()) t->settings.bands = bands;
    for (uint64_t mac : c.ap_macs) {
      if (!c.failed.count(mac)) t->aps.push_back(MakeApRadio(mac));
    }
    if (!t->aps.empty() && (t->wireless || t->wired)) site.target = std::move(t);
  }
  site.running = std::move(c);
}

void SimState::End(Site& site, const char* reason, double time, std::vector<Ended>* ended) {
  if (!site.running) return;
  ended->push_back(Ended{site.index, "/sites/" + site.id + "/pcaps", site.running->id});
  site.running->termination_reason = reason;
  RecordChange(time, "capture_end", site, *site.running);
  if (site.running->source == "churn") ++churn_counts_["ends"];
  if (site.running->recording) {
    kept_files_.push_back(site.running->recording);
    while (kept_files_.size() > kMaxKeptFiles) {
      kept_files_.front()->Release();
      kept_files_.pop_front();
      ++files_evicted_;
    }
  }
  site.history.push_back(std::move(*site.running));
  site.running.reset();
  site.target.reset();
}

void SimState::ReapLocked(std::vector<Ended>* ended) {
  const double now = Now();
  for (;;) {
    double next_churn = std::numeric_limits<double>::infinity();
    if (churn_) {
      next_churn = next_churn_start_;
      if (churn_->fail_ap_every_s > 0) next_churn = std::min(next_churn, next_churn_fail_);
    }
    // Expiries up to the next churn event first (one at the same moment frees its site before
    // the event), in time order, so the change log is in the order things happened even when
    // the clock moved on by more than one event since the last reap.
    double horizon = std::min(now, next_churn);
    std::vector<std::pair<double, Site*>> due;
    for (auto& [id, site] : sites_) {
      if (!site.running) continue;
      double expiry = site.running->started + site.running->duration;
      if (expiry <= horizon) due.emplace_back(expiry, &site);
    }
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second->index < b.second->index;
    });
    for (const auto& [expiry, site] : due) End(*site, "default", expiry, ended);
    if (next_churn > now) break;
    if (churn_->fail_ap_every_s > 0 && next_churn_fail_ <= next_churn_start_) {
      FailChurnAp(next_churn_fail_);
      next_churn_fail_ += churn_->fail_ap_every_s;
    } else {
      StartChurnCapture(next_churn_start_);
      next_churn_start_ += churn_->start_every_s;
    }
  }
}

// A capture of the churn type with format stream at a random idle site with APs, built like a
// REST start of that body; it runs for the churn duration from `time`.
void SimState::StartChurnCapture(double time) {
  int running = 0;
  std::vector<Site*> idle;
  for (auto& [id, site] : sites_) {
    if (!site.running) {
      if (!site.aps.empty()) idle.push_back(&site);
    } else if (site.running->source == "churn") {
      ++running;
    }
  }
  if ((churn_->max_running > 0 && running >= churn_->max_running) || idle.empty()) {
    ++churn_counts_["skipped_starts"];
    return;
  }
  Site& site = *idle[ChurnRandom() % idle.size()];
  auto c = BuildCapture(site, "{\"type\":\"" + churn_->type + "\",\"format\":\"stream\"}");
  if (!c.ok()) {  // the scenario parser checked this body already
    ++churn_counts_["skipped_starts"];
    return;
  }
  c->started = std::floor(time);  // whole seconds, as REST starts
  c->duration = churn_->duration_s;
  c->source = "churn";
  c->id = NewId();
  c->serial = next_serial_++;
  NewFile(*c);
  Begin(site, std::move(*c));
  RecordChange(time, "capture_start", site, *site.running);
  ++churn_counts_["starts"];
}

// An OK AP of a random running churn capture fails: the status moves it from ok to failed and
// the stream stops carrying its packets (no OK AP left: the capture streams nothing).
void SimState::FailChurnAp(double time) {
  std::vector<Site*> candidates;
  for (auto& [id, site] : sites_) {
    if (!site.running || site.running->source != "churn") continue;
    const Capture& c = *site.running;
    if (std::any_of(c.ap_macs.begin(), c.ap_macs.end(),
                    [&](uint64_t mac) { return !c.failed.count(mac); })) {
      candidates.push_back(&site);
    }
  }
  if (candidates.empty()) {
    ++churn_counts_["skipped_ap_failures"];
    return;
  }
  Site& site = *candidates[ChurnRandom() % candidates.size()];
  Capture& c = *site.running;
  std::vector<uint64_t> ok;
  for (uint64_t mac : c.ap_macs) {
    if (!c.failed.count(mac)) ok.push_back(mac);
  }
  uint64_t mac = ok[ChurnRandom() % ok.size()];
  c.failed[mac] = "AP offline";
  if (site.target) {
    // Sessions hold the old target until their next tick; a new one keeps them lock-free.
    const StreamTarget& old = *site.target;
    auto t = std::make_shared<StreamTarget>();
    t->site_index = old.site_index;
    t->channel = old.channel;
    t->capture_id = old.capture_id;
    t->capture_serial = old.capture_serial;
    t->wireless = old.wireless;
    t->wired = old.wired;
    t->max_pkt_len = old.max_pkt_len;
    t->settings = old.settings;
    t->recording = old.recording;
    t->counters = old.counters;
    for (const ApRadio& ap : old.aps) {
      if (ap.mac != mac) t->aps.push_back(ap);
    }
    if (t->aps.empty()) {
      site.target.reset();
    } else {
      site.target = std::move(t);
    }
  }
  RecordChange(time, "ap_failed", site, c, mac);
  ++churn_counts_["ap_failures"];
}

void SimState::RecordChange(double time, const char* kind, const Site& site, const Capture& c,
                            uint64_t ap_mac) {
  Change ch;
  ch.seq = ++change_seq_;
  ch.time = time;
  ch.kind = kind;
  ch.site_id = site.id;
  ch.capture_id = c.id;
  ch.source = c.source;
  ch.reason = c.termination_reason;
  ch.ap_mac = ap_mac;
  changes_.push_back(std::move(ch));
  while (changes_.size() > kMaxChanges) changes_.pop_front();
}

void SimState::Notify(const std::vector<Ended>& ended) {
  if (ended.empty()) return;
  CaptureEndListener listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listener = listener_;
  }
  if (!listener) return;
  for (const Ended& e : ended) listener(e.site_index, e.channel, e.capture_id);
}

void SimState::Reap() {
  std::vector<Ended> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked(&ended);
  }
  Notify(ended);
}

void SimState::CountSubscription(const std::string& site_id, int delta) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribed_[site_id] += delta;
}

void SimState::SetCaptureEndListener(CaptureEndListener l) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(l);
}

void SimState::RollUsageHour() {
  auto hour = static_cast<int64_t>(std::floor(Now() / 3600));
  if (hour != usage_hour_) {
    usage_hour_ = hour;
    usage_own_ = 0;
  }
}

SimState::Admission SimState::Admit(std::string_view method, std::string_view target,
                                    std::string_view authorization, std::string_view body) {
  Admission a;
  const Target t = ParseTarget(target);
  a.endpoint = EndpointName(method, t);
  std::lock_guard<std::mutex> lock(mu_);
  request_log_.push_back(LoggedRequest{++request_seq_, Now(), std::string(method),
                                       std::string(target), std::string(body),
                                       !authorization.empty()});
  while (request_log_.size() > kMaxLoggedRequests) request_log_.pop_front();
  ++requests_[a.endpoint];
  if (a.endpoint == "capture_status" || a.endpoint == "capture_list") {
    ++site_requests_[t.segments[3]];
  }
  a.latency_ms = faults_.latency_ms;
  if (authorization.empty()) {
    a.reply = Detail(401, "Authentication credentials were not provided.");
    return a;
  }
  if (authorization.size() != token_.size() + 6 || authorization.substr(0, 6) != "Token " ||
      authorization.substr(6) != token_) {
    a.reply = Detail(401, "Invalid token.");
    return a;
  }
  ++rest_calls_;
  RollUsageHour();
  ++usage_own_;
  if (usage_enforce_ && usage_own_ + usage_other_ > usage_limit_) {
    a.reply = Detail(429, kTooMany);
    return a;
  }
  if (faults_.status_429_every > 0 && rest_calls_ % faults_.status_429_every == 0) {
    HttpReply r = Detail(429, kTooMany);
    if (faults_.retry_after_s >= 0) {
      r.headers.emplace_back("Retry-After", std::to_string(faults_.retry_after_s));
    }
    a.reply = std::move(r);
  } else if (faults_.error_5xx_every > 0 && rest_calls_ % faults_.error_5xx_every == 0) {
    a.reply = Detail(faults_.error_code, "Internal Server Error (injected)");
  }
  return a;
}

void SimState::CountCode(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++codes_[status];
}

HttpReply SimState::HandleRest(std::string_view method, std::string_view target,
                               std::string_view body) {
  Target t = ParseTarget(target);
  std::string endpoint = EndpointName(method, t);
  if (endpoint == "other") return Detail(404, "Not found.");
  if (endpoint == "self") {
    std::lock_guard<std::mutex> lock(mu_);
    return Self();
  }
  if (endpoint == "self_usage") {
    std::lock_guard<std::mutex> lock(mu_);
    return Usage();
  }
  if (endpoint == "org_sites") {
    std::lock_guard<std::mutex> lock(mu_);
    return OrgSites(t.segments[3], t.query);
  }
  if (endpoint == "inventory") {
    std::lock_guard<std::mutex> lock(mu_);
    return OrgInventory(t.segments[3], t.query);
  }
  const std::string& site_id = t.segments[3];
  if (endpoint == "capture_start") {
    auto st = StartCapture(site_id, body);
    if (!st.ok()) return Detail(st.error().code ? st.error().code : 400, st.error().message);
    std::lock_guard<std::mutex> lock(mu_);
    return StartReply(sites_.at(site_id));
  }
  if (endpoint == "capture_stop") {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!sites_.count(site_id)) return Detail(404, "site not found");
    }
    if (!StopCapture(site_id)) return Detail(404, "no capture is running");
    return Json("{}");
  }
  std::vector<Ended> ended;
  HttpReply reply;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked(&ended);
    auto it = sites_.find(site_id);
    if (it == sites_.end()) {
      reply = Detail(404, "site not found");
    } else if (endpoint == "site") {
      reply = SiteJson(it->second);
    } else if (endpoint == "capture_status") {
      reply = CaptureStatus(it->second);
    } else if (endpoint == "capture_list") {
      reply = CaptureList(it->second, t.query);
    } else {  // capture_annotate
      reply = Annotate(it->second, t.segments[5], body);
    }
  }
  Notify(ended);
  return reply;
}

// PUT .../pcaps/{pcap_id} with notes_string ({"notes": "..."}, nothing required). Mist
// documents no body for the 200; the simulator answers {} and keeps the notes to itself.
HttpReply SimState::Annotate(Site& site, const std::string& pcap_id, std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.empty() ? "{}" : std::string(body).c_str());
  if (doc.HasParseError()) return Detail(400, "JSON parse error - the body is not valid JSON");
  if (!doc.IsObject()) return Detail(400, "body: expected a JSON object");
  if (doc.HasMember("notes") && !doc["notes"].IsString()) {
    return Detail(400, "notes: expected a string");
  }
  Capture* found = nullptr;
  if (site.running && site.running->id == pcap_id) found = &*site.running;
  for (Capture& c : site.history) {
    if (c.id == pcap_id) found = &c;
  }
  if (!found) return Detail(404, "pcap not found");
  if (doc.HasMember("notes")) found->notes = doc["notes"].GetString();
  for (const auto& m : doc.GetObject()) {
    std::string name = m.name.GetString();
    if (name != "notes") ++ignored_request_fields_[name];
  }
  return Json("{}");
}

namespace {

// `key`: [MAC, ...] of the MACs `keep` accepts, in their order.
template <typename Keep>
void WriteMacs(JsonOut& w, const char* key, const std::vector<uint64_t>& macs, Keep keep) {
  w.Key(key);
  w.StartArray();
  for (uint64_t mac : macs) {
    if (keep(mac)) w.String(common::FormatMac(mac));
  }
  w.EndArray();
}

void WriteMacs(JsonOut& w, const char* key, const std::vector<uint64_t>& macs) {
  WriteMacs(w, key, macs, [](uint64_t) { return true; });
}

// limit (1..1000, default 100) and page (from 1) of a paged GET.
std::pair<int64_t, int64_t> PageParams(const std::map<std::string, std::string>& q) {
  return {std::clamp<int64_t>(IntParam(q, "limit", 100), 1, 1000),
          std::max<int64_t>(IntParam(q, "page", 1), 1)};
}

// Index range [first, end) of page `page` of `limit` items out of `total`.
std::pair<int64_t, int64_t> PageRange(int64_t limit, int64_t page, int64_t total) {
  return {(page - 1) * limit, std::min(page * limit, total)};
}

// One page of an org's list (sites, inventory) as Mist pages them: a JSON array of the items
// write(w, i) writes, and the X-Page-Limit/-Page/-Total headers.
template <typename WriteItem>
HttpReply PagedArray(const std::map<std::string, std::string>& q, size_t total,
                     WriteItem write_item) {
  auto [limit, page] = PageParams(q);
  auto [first, end] = PageRange(limit, page, static_cast<int64_t>(total));
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartArray();
  for (int64_t i = first; i < end; ++i) write_item(w, static_cast<size_t>(i));
  w.EndArray();
  HttpReply r = Json(sb.GetString());
  r.headers.emplace_back("X-Page-Limit", std::to_string(limit));
  r.headers.emplace_back("X-Page-Page", std::to_string(page));
  r.headers.emplace_back("X-Page-Total", std::to_string(total));
  return r;
}

bool KnownOrg(const std::vector<OrgSpec>& orgs, const std::string& org) {
  return std::any_of(orgs.begin(), orgs.end(), [&](const OrgSpec& o) { return o.id == org; });
}

// `key`: value, left out when the value is empty.
void WriteIfSet(JsonOut& w, const char* key, const std::string& value) {
  if (value.empty()) return;
  w.Key(key);
  w.String(value);
}

}  // namespace

// JSON pieces of the REST answers that need the model's private types.
struct SimState::Writers {
  // The `site` object of GET /api/v1/sites/{id} and of the org's site list.
  static void SiteObject(JsonOut& w, const Site& s) {
    w.StartObject();
    JsonFields(w, "id", s.id, "name", s.name, "org_id", s.org_id, "timezone", "UTC", "country_code",
               "US");
    w.EndObject();
  }

  // "pcap_aps" of a radio capture's status: its OK APs -> band, bandwidth, channel.
  static void PcapAps(JsonOut& w, const Site& site, const Capture& c) {
    std::vector<Band> bands = BandsOf(c.band);
    if (bands.empty()) bands = site.stream.bands;
    Band band = bands.empty() ? Band::k24 : bands.front();
    w.Key("pcap_aps");
    w.StartObject();
    for (uint64_t mac : c.ap_macs) {
      if (c.failed.count(mac)) continue;
      std::string key = common::FormatMac(mac);
      w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
      w.StartObject();
      JsonFields(w, "band", MistBand(band), "bandwidth",
                 c.bandwidth         ? *c.bandwidth
                 : band == Band::k24 ? 20
                                     : 80,
                 "channel",
                 c.channel ? *c.channel : MakeApRadio(mac).channel[static_cast<int>(band)],
                 "tcpdump_expression", nullptr);
      w.EndObject();
    }
    w.EndObject();
  }

  // org_id, site_id and type: whose capture it is, in start replies and list items.
  static void Owner(JsonOut& w, const Site& site, const Capture& c) {
    JsonFields(w, "org_id", site.org_id, "site_id", site.id, "type", c.type);
  }

  // One item of response_pcap_search.
  static void ListItem(JsonOut& w, const Site& site, const Capture& c, const std::string& url) {
    w.StartObject();
    if (c.listed_with_id) JsonField(w, "id", c.id);
    Owner(w, site, c);
    JsonField(w, "format", c.format);
    w.Key("timestamp");
    WriteEpoch(w, c.started);
    w.Key("duration");
    WriteEpoch(w, c.duration);
    JsonField(w, "max_num_packets", c.max_num_packets);
    WriteMacs(w, "ap_macs", c.ap_macs);
    JsonFields(w, "termination_reason", c.termination_reason, "url", url, "pcap_url", url);
    w.EndObject();
  }
};

HttpReply SimState::SiteJson(const Site& s) const {
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  Writers::SiteObject(w, s);
  return Json(sb.GetString());
}

HttpReply SimState::Usage() const {
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  JsonFields(w, "requests", usage_own_ + usage_other_, "request_limit", usage_limit_);
  w.EndObject();
  return Json(sb.GetString());
}

HttpReply SimState::Self() const {
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  JsonFields(w, "email", email_, "first_name", "Demo", "last_name", "User");
  w.Key("privileges");
  w.StartArray();
  for (const OrgSpec& org : orgs_) {
    w.StartObject();
    JsonFields(w, "scope", "org", "org_id", org.id, "role", "admin", "name", org.name);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Json(sb.GetString());
}

std::vector<const SimState::Site*> SimState::SitesOfOrg(const std::string& org) const {
  std::vector<const Site*> list;
  for (const auto& [id, site] : sites_) {
    if (site.org_id == org) list.push_back(&site);
  }
  std::sort(list.begin(), list.end(),
            [](const Site* a, const Site* b) { return a->index < b->index; });
  return list;
}

HttpReply SimState::OrgSites(const std::string& org,
                             const std::map<std::string, std::string>& q) const {
  if (!KnownOrg(orgs_, org)) return Detail(404, "org not found");
  std::vector<const Site*> list = SitesOfOrg(org);
  return PagedArray(q, list.size(),
                    [&list](JsonOut& w, size_t i) { Writers::SiteObject(w, *list[i]); });
}

// inventory_list: the org's APs (type ap; other types have none here), paged like the org's
// sites. Filters other than type are accepted and ignored.
HttpReply SimState::OrgInventory(const std::string& org,
                                 const std::map<std::string, std::string>& q) const {
  if (!KnownOrg(orgs_, org)) return Detail(404, "org not found");
  auto type = q.find("type");
  bool aps = type == q.end() || type->second.empty() || type->second == "ap";
  std::vector<std::pair<const Site*, const InventoryAp*>> list;
  if (aps) {
    for (const Site* s : SitesOfOrg(org)) {
      for (const InventoryAp& ap : s->inventory) list.emplace_back(s, &ap);
    }
  }
  return PagedArray(q, list.size(), [&list](JsonOut& w, size_t i) {
    const Site& s = *list[i].first;
    const InventoryAp& ap = *list[i].second;
    std::string mac = common::FormatMac(ap.mac);
    std::string upper = mac;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    w.StartObject();
    JsonField(w, "mac", mac);
    if (!ap.name.empty()) JsonField(w, "name", ap.name);
    JsonFields(w, "model", ap.model, "serial", "A07" + upper, "site_id", s.id, "org_id", s.org_id,
               "type", "ap", "connected", !s.failing.count(ap.mac));
    JsonField(w, "id", "00000000-0000-0000-1000-" + mac);  // Mist's device id of an AP: its MAC
    w.Key("created_time");
    WriteEpoch(w, s.created);
    w.Key("modified_time");
    WriteEpoch(w, s.created);
    w.EndObject();
  });
}

HttpReply SimState::ChangesJson(const std::map<std::string, std::string>& q) const {
  int64_t since = IntParam(q, "since", 0);
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  w.Key("changes");
  w.StartArray();
  for (const Change& c : changes_) {
    if (static_cast<int64_t>(c.seq) <= since) continue;
    w.StartObject();
    JsonFields(w, "seq", c.seq, "time", c.time, "kind", c.kind, "site_id", c.site_id, "capture_id",
               c.capture_id);
    if (c.ap_mac != 0) JsonField(w, "ap_mac", common::FormatMac(c.ap_mac));
    JsonField(w, "source", c.source);
    if (std::string_view(c.kind) == "capture_end") JsonField(w, "termination_reason", c.reason);
    w.EndObject();
  }
  w.EndArray();
  JsonField(w, "total", change_seq_);
  w.EndObject();
  return Json(sb.GetString());
}

// response_pcap_status. Mist does not document the body when no capture runs: 404 {"detail"}
// by default, 200 {} when the scenario says idle_status: empty (POST /sim/idle_status).
HttpReply SimState::CaptureStatus(const Site& site) const {
  if (!site.running) {
    return idle_status_empty_ ? Json("{}") : Detail(404, "no capture is running");
  }
  const Capture& c = *site.running;
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  JsonFields(w, "id", c.id, "type", c.type);
  bool client_type = c.type == "client" || c.type == "new_assoc";
  if (!client_type) JsonField(w, "format", c.format);  // those types take no format
  JsonFields(w, "started_time", static_cast<int64_t>(std::floor(c.started)), "duration",
             static_cast<int64_t>(c.duration), "max_num_packets", c.max_num_packets, "max_pkt_len",
             c.max_pkt_len);
  if (ReportsPacketCount(c.type)) {
    JsonField(w, "num_packets", c.recording ? c.recording->delivered() : uint64_t{0});
  }
  WriteMacs(w, "aps", c.ap_macs);
  WriteMacs(w, "ok", c.ap_macs, [&c](uint64_t mac) { return !c.failed.count(mac); });
  WriteMacs(w, "failed", c.ap_macs, [&c](uint64_t mac) { return c.failed.count(mac) > 0; });
  if (CapturesRadio(c.type)) Writers::PcapAps(w, site, c);
  WriteIfSet(w, "client_mac", c.client_mac);
  WriteIfSet(w, "ssid", c.ssid);
  if (client_type) JsonField(w, "includes_mcast", c.includes_mcast);
  WriteIfSet(w, "tcpdump_expression", c.tcpdump_expression);
  w.EndObject();
  return Json(sb.GetString());
}

// response_pcap_start: the reply to a start, not the status body.
HttpReply SimState::StartReply(const Site& site) const {
  const Capture& c = *site.running;
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  JsonField(w, "id", c.id);
  Writers::Owner(w, site, c);
  JsonFields(w, "timestamp", c.started, "expiry", c.started + c.duration, "duration",
             static_cast<int64_t>(c.duration), "ap_count", c.ap_macs.size());
  WriteMacs(w, "aps", c.ap_macs);
  JsonFields(w, "include_mcast", c.includes_mcast, "format", c.format, "max_pkt_len", c.max_pkt_len,
             "num_packets", c.max_num_packets, "enabled", true, "ssid", c.ssid);
  w.Key("client_mac");
  if (c.client_mac.empty()) {
    w.Null();
  } else {
    JsonValue(w, c.client_mac);
  }
  JsonField(w, "raw", true);
  w.EndObject();
  return Json(sb.GetString());
}

namespace {

// The query of GET .../pcaps: the time window, the page and the client filter.
struct ListQuery {
  double start = 0, end = 0;
  int64_t limit = 100, page = 1;
  std::string client_mac;  // normalised; empty = any
};

std::optional<ListQuery> ParseListQuery(const std::map<std::string, std::string>& q, double now) {
  auto start = NumberParam(q, "start");
  auto end = NumberParam(q, "end");
  auto duration = DurationParam(q);
  if (q.count("duration") && !duration) return std::nullopt;
  ListQuery l;
  l.end = end ? *end : (start && duration ? *start + *duration : now);
  l.start = start ? *start : l.end - (duration ? *duration : 86400);
  std::tie(l.limit, l.page) = PageParams(q);
  if (auto it = q.find("client_mac"); it != q.end())
    l.client_mac = common::NormaliseMac(it->second);
  return l;
}

// The relative link to the page after `l`'s.
std::string NextPageLink(const std::string& site_id, const ListQuery& l) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "?start=%lld&end=%lld&limit=%lld&page=%lld",
                static_cast<long long>(l.start), static_cast<long long>(l.end),
                static_cast<long long>(l.limit), static_cast<long long>(l.page + 1));
  std::string next = "/api/v1/sites/" + site_id + "/pcaps" + buf;
  if (!l.client_mac.empty()) next += "&client_mac=" + l.client_mac;
  return next;
}

}  // namespace

HttpReply SimState::CaptureList(const Site& site,
                                const std::map<std::string, std::string>& q) const {
  std::optional<ListQuery> l = ParseListQuery(q, std::floor(Now()));
  if (!l) return Detail(400, "invalid duration");
  std::vector<const Capture*> items;
  for (const Capture& c : site.history) {
    if (c.started < l->start || c.started > l->end) continue;
    if (!l->client_mac.empty() && common::NormaliseMac(c.client_mac) != l->client_mac) continue;
    items.push_back(&c);
  }
  std::stable_sort(items.begin(), items.end(), [](const Capture* a, const Capture* b) {
    // Newest first; captures of the same second by start order.
    return a->started != b->started ? a->started > b->started : a->serial > b->serial;
  });
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  w.Key("results");
  w.StartArray();
  int64_t total = static_cast<int64_t>(items.size());
  auto [first, end] = PageRange(l->limit, l->page, total);
  for (int64_t i = first; i < end; ++i) Writers::ListItem(w, site, *items[i], PcapUrl(*items[i]));
  w.EndArray();
  JsonFields(w, "start", static_cast<int64_t>(std::floor(l->start)), "end",
             static_cast<int64_t>(std::floor(l->end)), "limit", l->limit, "total", total);
  if (l->page * l->limit < total) JsonField(w, "next", NextPageLink(site.id, *l));
  w.EndObject();
  return Json(sb.GetString());
}

common::Result<SimState::Capture> SimState::BuildCapture(Site& site, std::string_view body_json) {
  auto req = ParseCaptureRequest(body_json);
  if (!req.ok()) return req.error();
  for (const std::string& name : req->ignored_fields) ++ignored_request_fields_[name];
  Capture c;
  c.type = req->type;
  c.format = req->format;
  c.duration = req->duration;
  c.max_num_packets = req->num_packets;
  c.max_pkt_len = req->max_pkt_len;
  c.client_mac = common::NormaliseMac(req->client_mac);
  c.ssid = req->ssid;
  c.band = req->band;
  c.tcpdump_expression = req->tcpdump_expression;
  c.includes_mcast = req->includes_mcast;
  c.channel = req->channel;
  c.bandwidth = req->bandwidth;
  if (c.type == "gateway" || c.type == "switch") {
    // The devices of the request's map stand in for APs (they are not checked against the site).
    c.ap_macs = req->devices;
  } else if (req->ap_mac) {
    c.ap_macs = {*req->ap_mac};
  } else {
    c.ap_macs = site.aps;
  }
  for (uint64_t mac : c.ap_macs) {
    if (c.type == "gateway" || c.type == "switch") break;
    if (site.failing.count(mac)) {
      c.failed[mac] = "AP offline";
    } else if (std::find(site.aps.begin(), site.aps.end(), mac) == site.aps.end()) {
      c.failed[mac] = "AP not assigned to this site";
    }
  }
  c.started = std::floor(Now());
  return c;
}

common::Status SimState::StartCapture(const std::string& site_id, std::string_view body_json) {
  std::vector<Ended> ended;
  common::Status status = common::Ok{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked(&ended);
    auto it = sites_.find(site_id);
    if (it == sites_.end()) {
      status = common::MakeError("site not found", 404);
    } else if (it->second.running) {
      status = common::MakeError("a capture is already running", 400);
    } else {
      auto c = BuildCapture(it->second, body_json);
      if (!c.ok()) {
        status = c.error();
      } else {
        c->id = NewId();
        c->serial = next_serial_++;
        c->source = "rest";
        NewFile(*c);
        Begin(it->second, std::move(*c));
        RecordChange(Now(), "capture_start", it->second, *it->second.running);
      }
    }
  }
  Notify(ended);
  return status;
}

bool SimState::StopCapture(const std::string& site_id) {
  std::vector<Ended> ended;
  bool stopped = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked(&ended);
    auto it = sites_.find(site_id);
    if (it != sites_.end() && it->second.running) {
      End(it->second, "user", Now(), &ended);
      stopped = true;
    }
  }
  Notify(ended);
  return stopped;
}

void SimState::AddSite(const std::string& org_id, const std::string& site_id,
                       const std::string& name, const std::vector<uint64_t>& aps) {
  std::vector<Ended> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked(&ended);  // keeps the change log in time order
    if (std::none_of(orgs_.begin(), orgs_.end(),
                     [&](const OrgSpec& o) { return o.id == org_id; })) {
      orgs_.push_back(OrgSpec{org_id, org_id});
    }
    auto it = sites_.find(site_id);
    if (it != sites_.end()) End(it->second, "site_removed", Now(), &ended);
    Site& site = NewSite(site_id, name, org_id);
    site.aps = aps;
    SetInventory(site, {});
  }
  Notify(ended);
}

bool SimState::RemoveSite(const std::string& site_id) {
  std::vector<Ended> ended;
  bool removed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapLocked(&ended);  // keeps the change log in time order
    auto it = sites_.find(site_id);
    if (it != sites_.end()) {
      End(it->second, "site_removed", Now(), &ended);
      sites_.erase(it);
      removed = true;
    }
  }
  Notify(ended);
  return removed;
}

int SimState::CheckUpgrade(std::string_view authorization) {
  std::lock_guard<std::mutex> lock(mu_);
  int status = 0;
  if (faults_.upgrade_status != 0) {
    status = faults_.upgrade_status;
  } else if (authorization.size() != token_.size() + 6 || authorization.substr(0, 6) != "Token " ||
             authorization.substr(6) != token_) {
    status = 401;
  }
  if (status != 0) ++ws_upgrade_rejected_;
  return status;
}

void SimState::CountWsConnection() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++ws_connections_;
  }
  truth_.AddConnection();
}

void SimState::CountWsClose(int code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++ws_close_codes_[code];
}

std::optional<uint32_t> SimState::FindSite(const std::string& site_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sites_.find(site_id);
  if (it == sites_.end()) return std::nullopt;
  return it->second.index;
}

void SimState::RunningTargets(const std::vector<std::string>& site_ids,
                              std::vector<std::shared_ptr<const StreamTarget>>* out) const {
  out->clear();
  std::lock_guard<std::mutex> lock(mu_);
  double now = Now();
  for (const std::string& id : site_ids) {
    auto it = sites_.find(id);
    if (it == sites_.end() || !it->second.target) continue;
    const Capture& c = *it->second.running;
    if (now >= c.started + c.duration) continue;  // expired, the reaper ends it shortly
    out->push_back(it->second.target);
  }
}

Faults SimState::faults() const {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_;
}

void SimState::SetFaults(const Faults& f) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_ = f;
  rest_calls_ = 0;
  drops_done_ = 0;
  hang_.store(f.hang);
}

bool SimState::ReserveData(uint64_t* epoch) {
  *epoch = limit_epoch_.load(std::memory_order_acquire);
  int64_t limit = limit_.load(std::memory_order_acquire);
  if (limit <= 0) return true;
  int64_t cur = reserved_.load(std::memory_order_relaxed);
  do {
    if (cur >= limit) return false;
  } while (!reserved_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
  return true;
}

void SimState::ReleaseData(uint64_t epoch, int64_t n) {
  if (n <= 0 || limit_.load() <= 0) return;
  if (epoch != limit_epoch_.load(std::memory_order_acquire)) return;
  reserved_.fetch_sub(n, std::memory_order_relaxed);
}

void SimState::SetStreamLimit(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  limit_epoch_.fetch_add(1);
  reserved_.store(0);
  limit_.store(n < 0 ? 0 : n);
}

bool SimState::ShouldDrop(uint64_t written) {
  std::lock_guard<std::mutex> lock(mu_);
  if (faults_.drop_stream_after <= 0 ||
      written < static_cast<uint64_t>(faults_.drop_stream_after)) {
    return false;
  }
  if (faults_.drop_stream_times > 0 &&
      drops_done_ >= static_cast<uint64_t>(faults_.drop_stream_times)) {
    return false;
  }
  ++drops_done_;
  truth_.AddDrop();
  return true;
}

bool SimState::IsDownload(std::string_view target) { return target.starts_with("/pcap-files/"); }

// GET /pcap-files/<token>.pcap[ng]: like a pre-signed storage URL, no Mist token needed; one
// that arrives anyway is counted (a client must never send its Mist token there).
HttpReply SimState::HandleDownload(std::string_view method, std::string_view target,
                                   bool has_authorization) {
  std::shared_ptr<CaptureRecording> file;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++downloads_["requests"];
    if (has_authorization) ++downloads_["with_authorization"];
    if (method != "GET") return Detail(405, "Method not allowed.");
    if (download_mode_ == "forbidden") {
      ++downloads_["injected_failures"];
      return Detail(403, "Request has expired");
    }
    if (download_mode_ == "not_found") {
      ++downloads_["injected_failures"];
      return Detail(404, "The specified key does not exist.");
    }
    if (download_mode_ == "not_pcap") {
      ++downloads_["injected_failures"];
      return HttpReply{200, "<html><body>Access denied</body></html>\n", {}, "text/html"};
    }
    std::string_view name = target.substr(std::string_view("/pcap-files/").size());
    name = name.substr(0, name.find('?'));
    auto it = files_.find(std::string(name.substr(0, name.find('.'))));
    if (it == files_.end()) {
      ++downloads_["not_found"];
      return Detail(404, "The specified key does not exist.");
    }
    if (it->second->released()) {
      ++downloads_["expired"];
      return Detail(404, "The capture file is no longer kept.");
    }
    ++downloads_["served"];
    file = it->second;
  }
  // Up to 10,000 packets: built outside the model's lock.
  bool ng = false;
  HttpReply r{200, file->File(&ng), {}, ""};
  r.content_type = ng ? "application/x-pcapng" : "application/vnd.tcpdump.pcap";
  return r;
}

HttpReply SimState::RequestsJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  w.Key("requests");
  w.StartArray();
  for (const LoggedRequest& r : request_log_) {
    w.StartObject();
    std::string_view path = std::string_view(r.target).substr(0, r.target.find('?'));
    JsonFields(w, "seq", r.seq, "time", r.time, "method", r.method, "path", path, "target",
               r.target, "authorization", r.authorization, "body", r.body);
    w.EndObject();
  }
  w.EndArray();
  JsonField(w, "total", request_seq_);
  w.EndObject();
  return Json(sb.GetString());
}

namespace {

const std::string& CountKey(const std::string& key) { return key; }
std::string CountKey(int key) { return std::to_string(key); }

// `key`: {"<map key>": count, ...}; a signed count below 1 (e.g. connections that left) is not
// listed.
template <typename Map>
void WriteCounts(JsonOut& w, const char* key, const Map& counts) {
  w.Key(key);
  w.StartObject();
  for (const auto& entry : counts) {
    if constexpr (std::is_signed_v<typename Map::mapped_type>) {
      if (entry.second <= 0) continue;
    }
    JsonField(w, CountKey(entry.first), entry.second);
  }
  w.EndObject();
}

// `key`: {"<name>": count, ...} for each fixed name, 0 when it was never counted; then each
// of `if_counted` that was counted.
void WriteNamedCounts(JsonOut& w, const char* key, std::initializer_list<const char*> names,
                      const std::map<std::string, uint64_t>& counts,
                      std::initializer_list<const char*> if_counted = {}) {
  w.Key(key);
  w.StartObject();
  for (const char* name : names) {
    auto it = counts.find(name);
    JsonField(w, name, it == counts.end() ? 0 : it->second);
  }
  for (const char* name : if_counted) {
    if (auto it = counts.find(name); it != counts.end()) JsonField(w, name, it->second);
  }
  w.EndObject();
}

}  // namespace

std::string SimState::StatsJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  rapidjson::StringBuffer sb;
  JsonOut w(sb);
  w.StartObject();
  WriteNamedCounts(w, "requests",
                   {"capture_status", "capture_list", "capture_start", "capture_stop",
                    "capture_annotate", "self", "org_sites", "site", "self_usage", "inventory"},
                   requests_, {"other"});
  WriteCounts(w, "codes", codes_);
  WriteCounts(w, "site_requests", site_requests_);
  WriteCounts(w, "subscribed", subscribed_);
  JsonFields(w, "ws_connections", ws_connections_, "ws_upgrade_rejected", ws_upgrade_rejected_);
  WriteCounts(w, "ws_close_codes", ws_close_codes_);
  WriteCounts(w, "ignored_request_fields", ignored_request_fields_);
  WriteNamedCounts(
      w, "downloads",
      {"requests", "served", "with_authorization", "injected_failures", "not_found", "expired"},
      downloads_);
  w.Key("capture_files");
  w.StartObject();
  JsonFields(w, "packets_recorded", recording_totals_.recorded.load(), "packets_dropped",
             recording_totals_.dropped.load(), "files_kept", kept_files_.size(), "files_evicted",
             files_evicted_);
  w.EndObject();
  w.Key("usage");
  w.StartObject();
  JsonFields(w, "requests", usage_own_ + usage_other_, "own_requests", usage_own_, "other_requests",
             usage_other_, "request_limit", usage_limit_, "enforce", usage_enforce_);
  w.EndObject();
  JsonField(w, "changes", change_seq_);
  if (churn_) {
    WriteNamedCounts(w, "churn",
                     {"starts", "ends", "ap_failures", "skipped_starts", "skipped_ap_failures"},
                     churn_counts_);
  }
  w.EndObject();
  return sb.GetString();
}

namespace {

// A /sim/ control body: empty means {}; false when it is not a JSON object.
bool ParseControlBody(std::string_view body, rapidjson::Document* doc) {
  doc->Parse(body.empty() ? "{}" : std::string(body).c_str());
  return !doc->HasParseError() && doc->IsObject();
}

// Applies `set(key, value)` to each member of a /sim/ settings object in order; the first error
// reply stops it, the settings before it stay applied. {} when every one applied.
template <typename Set>
HttpReply ApplySettings(std::string_view body, Set set) {
  rapidjson::Document doc;
  if (!ParseControlBody(body, &doc)) return Detail(400, "body must be a JSON object");
  for (auto& m : doc.GetObject()) {
    if (std::optional<HttpReply> error = set(std::string(m.name.GetString()), m.value)) {
      return *error;
    }
  }
  return Json("{}");
}

// A control body that must carry the string member `key`.
bool ParseControlBodyWith(std::string_view body, const char* key, rapidjson::Document* doc) {
  return ParseControlBody(body, doc) && doc->HasMember(key) && (*doc)[key].IsString();
}

const char* StringMember(const rapidjson::Document& doc, const char* key) {
  return doc.HasMember(key) && doc[key].IsString() ? doc[key].GetString() : "";
}

// The integer faults of POST /sim/faults by name ("hang" is the boolean one).
constexpr std::pair<std::string_view, int Faults::*> kIntFaults[] = {
    {"status_429_every", &Faults::status_429_every},
    {"retry_after_s", &Faults::retry_after_s},
    {"error_5xx_every", &Faults::error_5xx_every},
    {"error_code", &Faults::error_code},
    {"latency_ms", &Faults::latency_ms},
    {"drop_stream_after", &Faults::drop_stream_after},
    {"drop_stream_times", &Faults::drop_stream_times},
    {"upgrade_status", &Faults::upgrade_status},
};

}  // namespace

// One parsed /sim/ request, as the control handlers see it.
struct SimState::ControlCall {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  std::string_view body;
};

HttpReply SimState::HandleControl(std::string_view method, std::string_view target,
                                  std::string_view body) {
  // (method, second path segment, number of segments) -> handler; pairs are unique.
  struct Route {
    std::string_view method;
    std::string_view what;
    size_t segments;
    HttpReply (SimState::*handle)(const ControlCall&);
  };
  static constexpr Route kRoutes[] = {
      {"GET", "truth", 2, &SimState::ControlTruth},
      {"GET", "stats", 2, &SimState::ControlStats},
      {"GET", "changes", 2, &SimState::ControlChanges},
      {"POST", "reset_truth", 2, &SimState::ControlResetTruth},
      {"POST", "faults", 2, &SimState::ControlFaults},
      {"POST", "stream", 2, &SimState::ControlStream},
      {"POST", "sites", 2, &SimState::ControlAddSite},
      {"GET", "requests", 2, &SimState::ControlRequests},
      {"DELETE", "requests", 2, &SimState::ControlClearRequests},
      {"POST", "usage", 2, &SimState::ControlUsage},
      {"POST", "idle_status", 2, &SimState::ControlIdleStatus},
      {"POST", "downloads", 2, &SimState::ControlDownloads},
      {"DELETE", "sites", 3, &SimState::ControlRemoveSite},
  };
  Target t = ParseTarget(target);
  const auto& s = t.segments;
  if (s.size() < 2 || s[0] != "sim") return Detail(404, "Not found.");
  for (const Route& r : kRoutes) {
    if (method == r.method && s[1] == r.what && s.size() == r.segments) {
      return (this->*r.handle)(ControlCall{std::move(t.segments), std::move(t.query), body});
    }
  }
  return Detail(404, "Not found.");
}

HttpReply SimState::ControlTruth(const ControlCall& c) {
  auto f = c.query.find("families");
  bool families = f == c.query.end() || (f->second != "0" && f->second != "false");
  return Json(families ? truth_.ToJson() : truth_.SummaryJson());
}

HttpReply SimState::ControlStats(const ControlCall&) { return Json(StatsJson()); }

HttpReply SimState::ControlChanges(const ControlCall& c) {
  Reap();  // what is due by now is in the answer
  std::lock_guard<std::mutex> lock(mu_);
  return ChangesJson(c.query);
}

HttpReply SimState::ControlResetTruth(const ControlCall&) {
  truth_.Reset();
  return Json("{}");
}

HttpReply SimState::ControlFaults(const ControlCall& c) {
  Faults f;
  HttpReply reply = ApplySettings(
      c.body, [&f](const std::string& key, const rapidjson::Value& v) -> std::optional<HttpReply> {
        if (key == "hang") {
          if (!v.IsBool()) return Detail(400, "hang must be a boolean");
          f.hang = v.GetBool();
          return std::nullopt;
        }
        if (!v.IsInt()) return Detail(400, key + " must be an integer");
        auto known = std::find_if(std::begin(kIntFaults), std::end(kIntFaults),
                                  [&key](const auto& e) { return e.first == key; });
        if (known == std::end(kIntFaults)) return Detail(400, "unknown fault '" + key + "'");
        f.*(known->second) = v.GetInt();
        return std::nullopt;
      });
  if (reply.status == 200) SetFaults(f);  // all or nothing
  return reply;
}

HttpReply SimState::ControlStream(const ControlCall& c) {
  return ApplySettings(
      c.body,
      [this](const std::string& key, const rapidjson::Value& value) -> std::optional<HttpReply> {
        if (!value.IsNumber()) return Detail(400, key + " must be a number");
        double v = value.GetDouble();
        if (key == "limit")
          SetStreamLimit(static_cast<int64_t>(v));
        else if (key == "rate" && v > 0)
          SetRate(v);
        else if (key == "data_as_string" && v >= 0 && v <= 1)
          SetDataAsStringRatio(v);
        else
          return Detail(400, "bad stream setting '" + key + "'");
        return std::nullopt;
      });
}

HttpReply SimState::ControlAddSite(const ControlCall& c) {
  rapidjson::Document doc;
  if (!ParseControlBodyWith(c.body, "id", &doc)) {
    return Detail(400, "body must be {\"org_id\", \"id\", \"name\", \"aps\"}");
  }
  std::string org = StringMember(doc, "org_id");
  if (org.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!orgs_.empty()) org = orgs_.front().id;
  }
  std::string name = StringMember(doc, "name");
  std::vector<uint64_t> aps;
  if (doc.HasMember("aps") && doc["aps"].IsArray()) {
    for (const auto& v : doc["aps"].GetArray()) {
      auto mac = v.IsString() ? common::ParseMac(v.GetString()) : std::nullopt;
      if (!mac) return Detail(400, "aps must hold MAC strings");
      aps.push_back(*mac);
    }
  }
  AddSite(org, doc["id"].GetString(), name, aps);
  return Json("{}");
}

HttpReply SimState::ControlRequests(const ControlCall&) { return RequestsJson(); }

HttpReply SimState::ControlClearRequests(const ControlCall&) {
  std::lock_guard<std::mutex> lock(mu_);
  request_log_.clear();
  return Json("{}");
}

HttpReply SimState::ControlUsage(const ControlCall& c) {
  std::lock_guard<std::mutex> lock(mu_);
  return ApplySettings(
      c.body,
      [this](const std::string& key, const rapidjson::Value& v) -> std::optional<HttpReply> {
        if (key == "enforce") {
          if (!v.IsBool()) return Detail(400, "enforce must be a boolean");
          usage_enforce_ = v.GetBool();
        } else if (key == "other_requests" || key == "request_limit") {
          if (!v.IsUint64()) return Detail(400, key + " must be a non-negative integer");
          (key == "other_requests" ? usage_other_ : usage_limit_) = v.GetUint64();
        } else if (key == "reset") {
          usage_own_ = 0;
        } else {
          return Detail(400, "unknown usage setting '" + key + "'");
        }
        return std::nullopt;
      });
}

HttpReply SimState::ControlIdleStatus(const ControlCall& c) {
  rapidjson::Document doc;
  if (!ParseControlBodyWith(c.body, "answer", &doc)) {
    return Detail(400, "body must be {\"answer\": \"not_found\" | \"empty\"}");
  }
  std::string answer = doc["answer"].GetString();
  if (answer != "not_found" && answer != "empty") {
    return Detail(400, "answer must be not_found or empty");
  }
  std::lock_guard<std::mutex> lock(mu_);
  idle_status_empty_ = answer == "empty";
  return Json("{}");
}

HttpReply SimState::ControlDownloads(const ControlCall& c) {
  return ApplySettings(
      c.body,
      [this](const std::string& key, const rapidjson::Value& value) -> std::optional<HttpReply> {
        if (!value.IsString()) return Detail(400, key + " must be a string");
        std::string v = value.GetString();
        if (key == "origin") {
          SetDownloadOrigin(v);
        } else if (key == "mode") {
          if (v != "ok" && v != "forbidden" && v != "not_found" && v != "not_pcap") {
            return Detail(400, "mode must be ok, forbidden, not_found or not_pcap");
          }
          std::lock_guard<std::mutex> lock(mu_);
          download_mode_ = v;
        } else {
          return Detail(400, "unknown downloads setting '" + key + "'");
        }
        return std::nullopt;
      });
}

HttpReply SimState::ControlRemoveSite(const ControlCall& c) {
  if (!RemoveSite(c.segments[2])) return Detail(404, "site not found");
  return Json("{}");
}

}  // namespace mpe::sim
