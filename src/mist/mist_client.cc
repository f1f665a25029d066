#include "mist/mist_client.h"

#include <httplib.h>
#include <openssl/x509.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <optional>

#include "common/text.h"

namespace mpe::mist {

namespace {

constexpr int kMaxPages = 1000;
constexpr int kOrgSitesPageLimit = 1000;
constexpr std::chrono::seconds kMaxConnectTimeout(5);
constexpr size_t kMaxResponseBytes = size_t{32} << 20;      // any REST answer
constexpr size_t kMaxCaptureFileBytes = size_t{256} << 20;  // a capture file (Mist: <= ~25 MiB)
constexpr size_t kMaxDetailBytes = 512;                     // Mist's `detail` in our messages
constexpr int kMaxRedirects = 5;

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Retry-After in delta-seconds; the HTTP-date form is rare enough to treat as absent.
int ParseRetryAfter(const std::string& value) {
  if (value.empty() || value.size() > 9) return -1;
  for (char c : value) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
  }
  return std::atoi(value.c_str());
}

int64_t ParseHeaderInt(const std::map<std::string, std::string>& headers, const char* name,
                       int64_t fallback) {
  auto it = headers.find(name);
  if (it == headers.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (end == it->second.c_str()) return fallback;
  return v;
}

// Mist accepts windows like 1d, 12h, 30m; anything else is sent as start/end.
std::string MistDuration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return "";
}

std::string SitePath(const std::string& site_id) {
  return "/api/v1/sites/" + PercentEncode(site_id);
}

// Timeouts, no redirects and verified TLS: the system CAs plus the extra bundle in ca_file.
common::Status ConfigureClient(httplib::Client& client, const std::string& scheme_host_port,
                               std::chrono::milliseconds timeout, const std::string& ca_file) {
  client.set_connection_timeout(std::min<std::chrono::milliseconds>(timeout, kMaxConnectTimeout));
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_keep_alive(false);
  client.set_follow_location(false);
  client.enable_server_certificate_verification(true);
  if (!ca_file.empty() && scheme_host_port.rfind("https", 0) == 0) {
    // System CAs plus the extra bundle: httplib would use the file alone if given by path.
    X509_STORE* store = X509_STORE_new();
    if (store == nullptr || X509_STORE_set_default_paths(store) != 1 ||
        X509_STORE_load_file(store, ca_file.c_str()) != 1) {
      if (store != nullptr) X509_STORE_free(store);
      return common::MakeError("cannot load mist.ca_file " + ca_file, kErrorConfig);
    }
    client.set_ca_cert_store(store);  // the SSL context owns it from here
  }
  return common::Ok{};
}

// The Authorization header is sent only when token is given.
httplib::Request BuildRequest(const char* method, const std::string& path, const std::string* token,
                              const std::string* body) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = {{"Accept", "application/json"}};
  if (token != nullptr) req.headers.emplace("Authorization", "Token " + *token);
  if (body != nullptr) {
    req.body = *body;
    req.headers.emplace("Content-Type", "application/json");
  }
  return req;
}

// What went wrong while one answer arrived; filled by the callbacks and by SendCatching.
struct Transfer {
  bool too_slow = false;
  bool too_large = false;
  std::string exception_text;
};

// Streams the answer's body into `body`, stopping at max_bytes or at the deadline. The
// callbacks keep references to body and transfer, which must outlive the send.
void LimitAnswer(httplib::Request& req, size_t max_bytes,
                 std::chrono::steady_clock::time_point deadline, std::string& body,
                 Transfer& transfer) {
  req.response_handler = [max_bytes, &transfer](const httplib::Response& r) {
    if (r.has_header("Content-Length")) {
      const std::string& v = r.get_header_value("Content-Length");
      if (v.size() > 15 || std::strtoull(v.c_str(), nullptr, 10) > max_bytes) {
        transfer.too_large = true;
        return false;
      }
    }
    return true;
  };
  req.content_receiver = [max_bytes, &body, &transfer](const char* data, size_t n, uint64_t,
                                                       uint64_t) {
    if (body.size() + n > max_bytes) {
      transfer.too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  };
  req.progress = [deadline, &transfer](uint64_t, uint64_t) {
    if (std::chrono::steady_clock::now() < deadline) return true;
    transfer.too_slow = true;
    return false;
  };
}

// httplib may throw from send; the text is kept for the error message.
httplib::Result SendCatching(httplib::Client& client, const httplib::Request& req,
                             Transfer& transfer) {
  httplib::Result res(nullptr, httplib::Error::Unknown);
  try {
    res = client.send(req);
  } catch (const std::exception& e) {
    transfer.exception_text = e.what();
  }
  return res;
}

// The error for an exchange that brought no usable answer, or nullopt when it did.
std::optional<common::Error> TransferFailure(const httplib::Result& res, const Transfer& transfer,
                                             size_t max_bytes,
                                             std::chrono::milliseconds total_budget,
                                             CancelToken* cancel) {
  if (transfer.too_large) {
    return common::MakeError("response larger than " + std::to_string(max_bytes >> 20) + " MiB",
                             kErrorTooLarge);
  }
  if (res) return std::nullopt;
  if (cancel != nullptr && cancel->cancelled()) {
    return common::MakeError("cancelled", kErrorCancelled);
  }
  std::string why =
      transfer.exception_text.empty() ? httplib::to_string(res.error()) : transfer.exception_text;
  if (transfer.too_slow) {
    why = "response not complete within " + std::to_string(total_budget.count()) +
          " ms (body arriving too slowly)";
  }
  return common::MakeError("no response: " + why, kErrorNoResponse);
}

void CopyUsedHeaders(const httplib::Response& res, std::map<std::string, std::string>& headers) {
  for (const char* name :
       {"Retry-After", "X-Page-Limit", "X-Page-Page", "X-Page-Total", "Location", "Content-Type"}) {
    if (res.has_header(name)) headers[Lower(name)] = res.get_header_value(name);
  }
}

}  // namespace

std::string_view EndpointName(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kCaptureStatus:
      return "capture_status";
    case Endpoint::kCaptureList:
      return "capture_list";
    case Endpoint::kCaptureStart:
      return "capture_start";
    case Endpoint::kCaptureStop:
      return "capture_stop";
    case Endpoint::kCaptureAnnotate:
      return "capture_annotate";
    case Endpoint::kSelf:
      return "self";
    case Endpoint::kOrgSites:
      return "org_sites";
    case Endpoint::kSelfUsage:
      return "self_usage";
    case Endpoint::kCaptureDownload:
      return "capture_download";
    case Endpoint::kOrgInventory:
      return "org_inventory";
  }
  return "unknown";
}

void CancelToken::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  // stop() only shuts the socket down when a request is in flight, which is safe from
  // another thread; the owner still destroys its client.
  for (httplib::Client* client : active_) client->stop();
}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool CancelToken::Register(httplib::Client* client) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  active_.insert(client);
  return true;
}

void CancelToken::Unregister(httplib::Client* client) {
  std::lock_guard<std::mutex> lock(mu_);
  active_.erase(client);
}

MistClient::MistClient(const config::MistConfig& config, std::string token, ApiMetrics* metrics,
                       common::Clock& clock)
    : token_(std::move(token)),
      metrics_(metrics),
      clock_(clock),
      budget_(config.max_requests_per_hour, clock),
      ca_file_(config.ca_file),
      timeout_(config.timeout.count() > 0 ? config.timeout : std::chrono::seconds(10)) {
  auto origin = ParseOrigin(config.api_url);
  if (!origin.ok()) {
    config_error_ = "mist.api_url " + origin.error().message;
    return;
  }
  scheme_host_port_ = origin->scheme_host_port;
  api_origin_ = origin->scheme_host_port;
  if (origin->path.find_first_of("?#") != std::string::npos) {
    config_error_ = "mist.api_url must not carry a query or fragment";
    return;
  }
  path_prefix_ = origin->path;
  while (!path_prefix_.empty() && path_prefix_.back() == '/') path_prefix_.pop_back();
}

MistClient::~MistClient() = default;

std::string MistClient::Context(Endpoint endpoint, const std::string& site) const {
  std::string out = "mist ";
  out += EndpointName(endpoint);
  if (!site.empty()) out += " site=" + site;
  return out;
}

std::string MistClient::Redact(std::string text) const {
  if (token_.empty()) return text;
  for (auto pos = text.find(token_); pos != std::string::npos; pos = text.find(token_, pos)) {
    text.replace(pos, token_.size(), "<redacted>");
  }
  return text;
}

common::Result<MistClient::Origin> MistClient::ParseOrigin(const std::string& url) {
  auto scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : Lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return common::MakeError("must start with http:// or https://");
  }
  auto path_start = url.find_first_of("/?#", scheme_end + 3);
  Origin o;
  o.scheme_host_port = Lower(url.substr(0, path_start));
  if (o.scheme_host_port.size() <= scheme_end + 3) return common::MakeError("has no host");
  if (o.scheme_host_port.find('@') != std::string::npos) {
    return common::MakeError("must not carry user information");
  }
  // http://host:80 and http://host are one origin (and likewise https and 443).
  const std::string default_port = scheme == "http" ? ":80" : ":443";
  if (o.scheme_host_port.ends_with(default_port)) {
    o.scheme_host_port.resize(o.scheme_host_port.size() - default_port.size());
  }
  o.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (o.path.front() != '/') o.path.insert(0, "/");
  return o;
}

common::Result<MistClient::Response> MistClient::Exchange(const std::string& scheme_host_port,
                                                          const char* method,
                                                          const std::string& path, bool with_token,
                                                          const std::string* body, size_t max_bytes,
                                                          CancelToken* cancel) {
  httplib::Client client(scheme_host_port);
  if (!client.is_valid()) {
    return common::MakeError("cannot create an HTTP client for this URL", kErrorConfig);
  }
  if (auto configured = ConfigureClient(client, scheme_host_port, timeout_, ca_file_);
      !configured.ok()) {
    return configured.error();
  }
  if (cancel != nullptr && !cancel->Register(&client)) {
    return common::MakeError("cancelled", kErrorCancelled);
  }

  // httplib's read timeout bounds each recv, not the response: a server dripping its body a byte
  // at a time would hold the request (and a poller worker) forever. Responses are cut at this
  // deadline; it is a socket deadline, so it uses the real clock, not the injected one. Bodies
  // are cut at max_bytes, before they are held in memory.
  const auto total_budget =
      timeout_ + std::min<std::chrono::milliseconds>(timeout_, kMaxConnectTimeout);
  const auto deadline = std::chrono::steady_clock::now() + total_budget;
  Transfer transfer;
  Response out;
  httplib::Request req = BuildRequest(method, path, with_token ? &token_ : nullptr, body);
  LimitAnswer(req, max_bytes, deadline, out.body, transfer);
  httplib::Result res = SendCatching(client, req, transfer);
  if (cancel != nullptr) cancel->Unregister(&client);
  if (auto failure = TransferFailure(res, transfer, max_bytes, total_budget, cancel)) {
    return *std::move(failure);
  }
  out.status = res->status;
  if (out.body.empty()) out.body = std::move(res->body);
  CopyUsedHeaders(*res, out.headers);
  return out;
}

ApiResult<MistClient::Response> MistClient::Send(Endpoint endpoint, const char* method,
                                                 const std::string& path, const std::string* body,
                                                 const std::string& site, CancelToken* cancel,
                                                 std::initializer_list<int> accept) {
  const std::string context = Context(endpoint, site);
  if (!config_error_.empty()) {
    return common::MakeError(context + ": " + config_error_, kErrorConfig);
  }
  if (cancel != nullptr && cancel->cancelled()) {
    return common::MakeError(context + ": cancelled", kErrorCancelled);
  }
  if (!budget_.TryAcquire()) {
    auto wait = budget_.TimeUntilAvailable();
    int wait_s = static_cast<int>(std::chrono::ceil<std::chrono::seconds>(wait).count());
    wait_s = std::max(wait_s, 1);
    return ApiResult<Response>(
        common::MakeError(context + ": request budget exhausted (" +
                              std::to_string(budget_.max_per_hour()) +
                              " requests/hour); next slot in " + std::to_string(wait_s) + "s",
                          kErrorBudgetExhausted),
        wait_s);
  }

  auto started = clock_.SteadyNow();
  auto exchanged = Exchange(scheme_host_port_, method, path, true, body, kMaxResponseBytes, cancel);
  double seconds = std::chrono::duration<double>(clock_.SteadyNow() - started).count();

  const std::string_view endpoint_name = EndpointName(endpoint);
  if (!exchanged.ok()) {
    const common::Error& e = exchanged.error();
    const bool too_large = e.code == kErrorTooLarge;
    if (metrics_ != nullptr && e.code != kErrorCancelled) {
      metrics_->Record(endpoint_name, too_large ? "too_large" : "error", seconds);
    }
    spdlog::debug(
        "mist request method={} endpoint={} path={} status={} duration_ms={:.1f} error={}", method,
        endpoint_name, common::EscapeControl(path), too_large ? "too_large" : "error",
        seconds * 1000, e.message);
    return common::MakeError(context + ": " + e.message, e.code);
  }
  Response out = std::move(exchanged).value();
  const int status = out.status;
  if (metrics_ != nullptr) {
    metrics_->Record(endpoint_name, std::to_string(status), seconds);
    if (status == 429) metrics_->RecordRateLimited();
  }
  spdlog::debug("mist request method={} endpoint={} path={} status={} duration_ms={:.1f}", method,
                endpoint_name, common::EscapeControl(path), status, seconds * 1000);

  const bool accepted = std::find(accept.begin(), accept.end(), status) != accept.end();
  if ((status >= 200 && status < 300) || accepted) return out;

  std::string detail = common::EscapeControl(Redact(ParseErrorDetail(out.body)));
  if (detail.size() > kMaxDetailBytes) detail = detail.substr(0, kMaxDetailBytes) + "...";
  std::string message = context + ": HTTP " + std::to_string(status);
  message += detail.empty() ? std::string(" (no detail)") : ": " + detail;
  int retry_after = -1;
  if (status == 429) {
    auto it = out.headers.find("retry-after");
    if (it != out.headers.end()) retry_after = ParseRetryAfter(it->second);
    if (retry_after >= 0) message += " (retry after " + std::to_string(retry_after) + "s)";
  }
  return ApiResult<Response>(common::MakeError(std::move(message), status), retry_after);
}

ApiResult<std::string> MistClient::DownloadCaptureFile(const std::string& site_id,
                                                       const std::string& pcap_url,
                                                       CancelToken* cancel) {
  const std::string context = Context(Endpoint::kCaptureDownload, site_id);
  if (!config_error_.empty())
    return common::MakeError(context + ": " + config_error_, kErrorConfig);
  std::string url = pcap_url;
  if (!url.empty() && url.front() == '/') url = scheme_host_port_ + url;  // relative to the API
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    auto origin = ParseOrigin(url);
    if (!origin.ok()) {
      return common::MakeError(context + ": pcap_url " + origin.error().message, kErrorBadResponse);
    }
    // The token goes to the configured Mist API origin only: a pre-signed storage URL (or a
    // redirect to one) is fetched without it.
    const bool mist_origin = origin->scheme_host_port == api_origin_;
    if (mist_origin && !budget_.TryAcquire()) {
      return common::MakeError(context + ": request budget exhausted", kErrorBudgetExhausted);
    }
    auto started = clock_.SteadyNow();
    auto res = Exchange(origin->scheme_host_port, "GET", origin->path, mist_origin, nullptr,
                        kMaxCaptureFileBytes, cancel);
    double seconds = std::chrono::duration<double>(clock_.SteadyNow() - started).count();
    if (!res.ok()) {
      if (metrics_ != nullptr && res.error().code != kErrorCancelled) {
        metrics_->Record(EndpointName(Endpoint::kCaptureDownload),
                         res.error().code == kErrorTooLarge ? "too_large" : "error", seconds);
      }
      return common::MakeError(context + ": " + res.error().message, res.error().code);
    }
    if (metrics_ != nullptr) {
      metrics_->Record(EndpointName(Endpoint::kCaptureDownload), std::to_string(res->status),
                       seconds);
    }
    const int status = res->status;
    if (status >= 300 && status < 400 && status != 304) {
      auto it = res->headers.find("location");
      if (it == res->headers.end() || it->second.empty()) {
        return common::MakeError(context + ": HTTP " + std::to_string(status) + " without Location",
                                 status);
      }
      const std::string& next = it->second;
      url = next.front() == '/' ? origin->scheme_host_port + next : next;
      continue;
    }
    if (status < 200 || status >= 300) {
      std::string detail = common::EscapeControl(Redact(ParseErrorDetail(res->body)));
      if (detail.size() > kMaxDetailBytes) detail = detail.substr(0, kMaxDetailBytes) + "...";
      return common::MakeError(context + ": HTTP " + std::to_string(status) +
                                   (detail.empty() ? std::string(" (no detail)") : ": " + detail),
                               status);
    }
    return std::move(res->body);
  }
  return common::MakeError(context + ": more than " + std::to_string(kMaxRedirects) + " redirects",
                           kErrorPaging);
}

ApiResult<CaptureStatus> MistClient::GetCaptureStatus(const std::string& site_id,
                                                      CancelToken* cancel) {
  auto res =
      Send(Endpoint::kCaptureStatus, "GET", path_prefix_ + SitePath(site_id) + "/pcaps/capture",
           nullptr, site_id, cancel, {404});
  if (!res.ok()) return {res.error(), res.retry_after()};
  if (res->status == 404) return CaptureStatus{};
  auto parsed = ParseCaptureStatus(res->body);
  if (!parsed.ok()) {
    return common::MakeError(
        Context(Endpoint::kCaptureStatus, site_id) + ": " + parsed.error().message,
        kErrorBadResponse);
  }
  return std::move(parsed).value();
}

ApiResult<std::vector<CaptureSummary>> MistClient::ListCaptures(const std::string& site_id,
                                                                const ListQuery& query,
                                                                CancelToken* cancel) {
  const std::string context = Context(Endpoint::kCaptureList, site_id);
  const std::string base = SitePath(site_id) + "/pcaps";
  std::string q = "limit=" + std::to_string(query.limit > 0 ? query.limit : 100);
  if (query.duration.count() > 0) {
    std::string d = MistDuration(query.duration);
    if (!d.empty()) {
      q += "&duration=" + d;
    } else {
      auto now = static_cast<int64_t>(clock_.NowSeconds());
      q += "&start=" + std::to_string(now - query.duration.count()) + "&end=" + std::to_string(now);
    }
  } else if (query.start > 0) {
    q += "&start=" + std::to_string(query.start);
    if (query.end > 0) q += "&end=" + std::to_string(query.end);
  }
  if (!query.client_mac.empty()) q += "&client_mac=" + PercentEncode(query.client_mac);

  std::vector<CaptureSummary> all;
  std::set<std::string> seen;
  std::string path = path_prefix_ + base + "?" + q;
  for (int page = 1;; ++page) {
    if (page > kMaxPages) {
      return common::MakeError(context + ": more than " + std::to_string(kMaxPages) + " pages",
                               kErrorPaging);
    }
    auto res = Send(Endpoint::kCaptureList, "GET", path, nullptr, site_id, cancel);
    if (!res.ok()) return {res.error(), res.retry_after()};
    auto parsed = ParseCaptureListPage(res->body);
    if (!parsed.ok()) {
      return common::MakeError(context + ": " + parsed.error().message, kErrorBadResponse);
    }
    for (auto& item : parsed->results) all.push_back(std::move(item));
    const std::string& next = parsed->next;
    if (next.empty()) break;
    if (!seen.insert(next).second) {
      return common::MakeError(
          context + ": the `next` link repeats (" + common::EscapeControl(next) + ")",
          kErrorPaging);
    }
    if (next.front() == '/') {
      path = next;  // relative to the API host
    } else if (next.front() == '?') {
      path = path_prefix_ + base + next;
    } else if (next.rfind(scheme_host_port_ + "/", 0) == 0) {
      path = next.substr(scheme_host_port_.size());
    } else {
      // Never send the token to a host other than api_url.
      return common::MakeError(context + ": `next` link points outside mist.api_url", kErrorPaging);
    }
  }
  return all;
}

ApiResult<CaptureStarted> MistClient::StartCapture(const std::string& site_id,
                                                   const std::string& body_json,
                                                   CancelToken* cancel) {
  auto res = Send(Endpoint::kCaptureStart, "POST",
                  path_prefix_ + SitePath(site_id) + "/pcaps/capture", &body_json, site_id, cancel);
  if (!res.ok()) return {res.error(), res.retry_after()};
  auto parsed = ParseCaptureStarted(res->body);
  if (!parsed.ok()) {
    return common::MakeError(
        Context(Endpoint::kCaptureStart, site_id) + ": " + parsed.error().message,
        kErrorBadResponse);
  }
  return std::move(parsed).value();
}

ApiResult<common::Ok> MistClient::StopCapture(const std::string& site_id, CancelToken* cancel) {
  auto res = Send(Endpoint::kCaptureStop, "DELETE",
                  path_prefix_ + SitePath(site_id) + "/pcaps/capture", nullptr, site_id, cancel);
  if (!res.ok()) return {res.error(), res.retry_after()};
  return common::Ok{};
}

ApiResult<common::Ok> MistClient::AnnotateCapture(const std::string& site_id,
                                                  const std::string& pcap_id,
                                                  const std::string& notes, CancelToken* cancel) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("notes");
  writer.String(notes.data(), static_cast<rapidjson::SizeType>(notes.size()));
  writer.EndObject();
  std::string body(buffer.GetString(), buffer.GetSize());
  auto res = Send(Endpoint::kCaptureAnnotate, "PUT",
                  path_prefix_ + SitePath(site_id) + "/pcaps/" + PercentEncode(pcap_id), &body,
                  site_id, cancel);
  if (!res.ok()) return {res.error(), res.retry_after()};
  return common::Ok{};
}

ApiResult<SelfInfo> MistClient::GetSelf(CancelToken* cancel) {
  auto res = Send(Endpoint::kSelf, "GET", path_prefix_ + "/api/v1/self", nullptr, "", cancel);
  if (!res.ok()) return {res.error(), res.retry_after()};
  auto parsed = ParseSelf(res->body);
  if (!parsed.ok()) {
    return common::MakeError(Context(Endpoint::kSelf, "") + ": " + parsed.error().message,
                             kErrorBadResponse);
  }
  return std::move(parsed).value();
}

ApiResult<ApiUsage> MistClient::GetApiUsage(CancelToken* cancel) {
  auto res =
      Send(Endpoint::kSelfUsage, "GET", path_prefix_ + "/api/v1/self/usage", nullptr, "", cancel);
  if (!res.ok()) return {res.error(), res.retry_after()};
  auto parsed = ParseApiUsage(res->body);
  if (!parsed.ok()) {
    return common::MakeError(Context(Endpoint::kSelfUsage, "") + ": " + parsed.error().message,
                             kErrorBadResponse);
  }
  return std::move(parsed).value();
}

template <class T>
ApiResult<std::vector<T>> MistClient::ListOrgPages(
    Endpoint endpoint, const std::string& org_id, const std::string& resource,
    common::Result<std::vector<T>> (*parse)(std::string_view), CancelToken* cancel) {
  const std::string context = Context(endpoint, "") + " org=" + org_id;
  std::vector<T> all;
  for (int page = 1;; ++page) {
    if (page > kMaxPages) {
      return common::MakeError(context + ": more than " + std::to_string(kMaxPages) + " pages",
                               kErrorPaging);
    }
    const std::string path = path_prefix_ + "/api/v1/orgs/" + PercentEncode(org_id) + "/" +
                             resource + "limit=" + std::to_string(kOrgSitesPageLimit) +
                             "&page=" + std::to_string(page);
    auto res = Send(endpoint, "GET", path, nullptr, "", cancel);
    if (!res.ok()) {
      common::Error error = res.error();
      error.message += " org=" + org_id;
      return {std::move(error), res.retry_after()};
    }
    auto parsed = parse(res->body);
    if (!parsed.ok()) {
      return common::MakeError(context + ": " + parsed.error().message, kErrorBadResponse);
    }
    // A page without any object ends the listing even when the headers claim more; one whose
    // items were all skipped (another device type, no id) does not.
    const bool empty_page = parsed->empty() && res->body.find('{') == std::string::npos;
    for (auto& item : *parsed) all.push_back(std::move(item));
    int64_t total = ParseHeaderInt(res->headers, "x-page-total", -1);
    int64_t limit = ParseHeaderInt(res->headers, "x-page-limit", kOrgSitesPageLimit);
    int64_t served = ParseHeaderInt(res->headers, "x-page-page", page);
    if (total < 0 || limit <= 0 || empty_page || served * limit >= total) break;
  }
  return all;
}

ApiResult<std::vector<common::Site>> MistClient::ListOrgSites(const std::string& org_id,
                                                              CancelToken* cancel) {
  return ListOrgPages<common::Site>(Endpoint::kOrgSites, org_id, "sites?", &ParseSites, cancel);
}

ApiResult<std::vector<InventoryAp>> MistClient::ListOrgInventory(const std::string& org_id,
                                                                 CancelToken* cancel) {
  return ListOrgPages<InventoryAp>(Endpoint::kOrgInventory, org_id, "inventory?type=ap&",
                                   &ParseInventory, cancel);
}

}  // namespace mpe::mist
