#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "config/config.h"
#include "mist/api_metrics.h"
#include "mist/models.h"
#include "mist/rate_budget.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace mpe::mist {

// The fixed `endpoint` label values (docs/spec.md §2.2), never raw paths.
enum class Endpoint {
  kCaptureStatus,
  kCaptureList,
  kCaptureStart,
  kCaptureStop,
  kCaptureAnnotate,
  kSelf,
  kOrgSites,
  kSelfUsage,
  kCaptureDownload,
  kOrgInventory,
};
std::string_view EndpointName(Endpoint endpoint);

// common::Error::code values besides HTTP statuses. 0 = no response (connect/read failure,
// timeout).
inline constexpr int kErrorNoResponse = 0;
inline constexpr int kErrorBudgetExhausted = -2;  // not sent: mist.max_requests_per_hour used up
inline constexpr int kErrorCancelled = -3;        // CancelToken fired before or during the call
inline constexpr int kErrorBadResponse = -4;      // 2xx whose body is not the expected JSON
inline constexpr int kErrorPaging = -5;           // `next` loop, > 1000 pages, foreign `next` host
inline constexpr int kErrorConfig = -6;           // api_url unusable
inline constexpr int kErrorTooLarge = -7;         // answer larger than the client accepts

// A Result that also carries when the caller may try again. retry_after() is in seconds:
// Mist's Retry-After on a 429 (code 429), the wait for a free budget slot on
// kErrorBudgetExhausted, and -1 otherwise (absent). The client never retries by itself; the
// caller (a poller) owns the backoff. Converts to common::Result<T> by slicing.
template <typename T>
class ApiResult : public common::Result<T> {
 public:
  ApiResult(T value) : common::Result<T>(std::move(value)) {}  // NOLINT
  ApiResult(common::Error error, int retry_after = -1)         // NOLINT
      : common::Result<T>(std::move(error)), retry_after_(retry_after) {}
  int retry_after() const { return retry_after_; }

 private:
  int retry_after_ = -1;
};

// Lets one owner (e.g. a PollerSet) abort its own in-flight requests without disturbing other
// users of the shared MistClient. Cancel() interrupts a request that waits for a response
// (httplib::Client::stop() shuts the socket down); a request still connecting finishes its
// connect (bounded by the connection timeout) and then fails. Once cancelled, every later
// call that passes this token fails at once with kErrorCancelled. Thread-safe.
class CancelToken {
 public:
  void Cancel();
  bool cancelled() const;

 private:
  friend class MistClient;
  bool Register(httplib::Client* client);
  void Unregister(httplib::Client* client);

  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::set<httplib::Client*> active_;
};

// Query of the capture list: a window of `duration` ending now, or [start, end] in epoch
// seconds when duration is zero and start is set, or Mist's default window otherwise.
struct ListQuery {
  std::chrono::seconds duration{0};
  int64_t start = 0;
  int64_t end = 0;
  std::string client_mac;
  int limit = 100;
};

// The Mist REST client: one request per call (plus paging), no retries, every request checked
// against the hourly budget and recorded in ApiMetrics. A new httplib::Client per request
// keeps it free of shared connection state, so any thread may call any method concurrently
// (the budget and metrics are thread-safe). https bases always verify certificates against
// the system CAs plus mist.ca_file; SNI and host name checks are httplib's. The token goes
// only into the Authorization header: never into logs or error messages, and never to a host
// other than api_url (a foreign `next` link is refused). Error messages carry the endpoint,
// site and Mist's `detail`. `metrics` may be null; config, metrics and clock must outlive it.
class MistClient {
 public:
  MistClient(const config::MistConfig& config, std::string token, ApiMetrics* metrics,
             common::Clock& clock);
  ~MistClient();
  MistClient(const MistClient&) = delete;
  MistClient& operator=(const MistClient&) = delete;

  // 404, {}, a body without id and enabled:false all yield running=false.
  ApiResult<CaptureStatus> GetCaptureStatus(const std::string& site_id,
                                            CancelToken* cancel = nullptr);
  // Follows the relative `next` link until absent.
  ApiResult<std::vector<CaptureSummary>> ListCaptures(const std::string& site_id,
                                                      const ListQuery& query,
                                                      CancelToken* cancel = nullptr);
  // body_json: Mist's Capture object, sent as is.
  ApiResult<CaptureStarted> StartCapture(const std::string& site_id, const std::string& body_json,
                                         CancelToken* cancel = nullptr);
  // 404 (nothing runs) is reported as an error with code 404.
  ApiResult<common::Ok> StopCapture(const std::string& site_id, CancelToken* cancel = nullptr);
  ApiResult<common::Ok> AnnotateCapture(const std::string& site_id, const std::string& pcap_id,
                                        const std::string& notes, CancelToken* cancel = nullptr);
  ApiResult<SelfInfo> GetSelf(CancelToken* cancel = nullptr);
  // GET /api/v1/self/usage: requests made with this token in the current hour, by anyone.
  ApiResult<ApiUsage> GetApiUsage(CancelToken* cancel = nullptr);
  // The bytes of a finished capture's file from its `pcap_url` (absolute, or relative to the
  // API), following up to 5 redirects. The Authorization header goes only to a URL whose
  // origin (scheme, host, port) is mist.api_url's; anything else is fetched without it. At
  // most 256 MiB.
  ApiResult<std::string> DownloadCaptureFile(const std::string& site_id,
                                             const std::string& pcap_url,
                                             CancelToken* cancel = nullptr);
  // Pages by X-Page-Limit/X-Page-Page/X-Page-Total.
  ApiResult<std::vector<common::Site>> ListOrgSites(const std::string& org_id,
                                                    CancelToken* cancel = nullptr);

  // GET /api/v1/orgs/{org_id}/inventory?type=ap, every page (X-Page-* like ListOrgSites).
  ApiResult<std::vector<InventoryAp>> ListOrgInventory(const std::string& org_id,
                                                       CancelToken* cancel = nullptr);

  const RequestBudget& budget() const { return budget_; }

 private:
  struct Response {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lowercased names; only those we use
  };
  struct Origin {
    std::string scheme_host_port;  // lowercased, default port dropped
    std::string path;              // path and query, "/" at least
  };
  static common::Result<Origin> ParseOrigin(const std::string& url);

  // One HTTP exchange with limits (deadline for the whole answer, max_bytes for its body), no
  // budget, no metrics. The Authorization header is sent only when with_token is set.
  common::Result<Response> Exchange(const std::string& scheme_host_port, const char* method,
                                    const std::string& path, bool with_token,
                                    const std::string* body, size_t max_bytes, CancelToken* cancel);

  // One request: budget, send, metrics, debug log; non-2xx statuses become errors unless
  // listed in `accept`.
  ApiResult<Response> Send(Endpoint endpoint, const char* method, const std::string& path,
                           const std::string* body, const std::string& site, CancelToken* cancel,
                           std::initializer_list<int> accept = {});
  std::string Context(Endpoint endpoint, const std::string& site) const;
  // Every page of GET /api/v1/orgs/{org_id}/<resource>limit=..&page=N (X-Page-* headers).
  template <class T>
  ApiResult<std::vector<T>> ListOrgPages(Endpoint endpoint, const std::string& org_id,
                                         const std::string& resource,
                                         common::Result<std::vector<T>> (*parse)(std::string_view),
                                         CancelToken* cancel);
  std::string Redact(std::string text) const;

  std::string token_;
  ApiMetrics* metrics_;
  common::Clock& clock_;
  RequestBudget budget_;
  std::string scheme_host_port_;  // e.g. https://api.mist.com or http://127.0.0.1:8080
  std::string api_origin_;        // the same, the only origin that is sent the token
  std::string path_prefix_;       // api_url path, "" normally
  std::string config_error_;      // set when api_url is unusable; every call reports it
  std::string ca_file_;
  std::chrono::milliseconds timeout_;
};

}  // namespace mpe::mist
