#include "http/server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/listen_address.h"
#include "common/text.h"
#include "http/basic_auth.h"
#include "http/gzip.h"
#include "http/tls_certs.h"
#include "http/worker_pool.h"

namespace mpe::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

struct HttpServer::Stats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> evicted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> header_timeouts{0};
  std::atomic<uint64_t> handshake_timeouts{0};
  std::atomic<uint64_t> header_too_large{0};
  std::atomic<uint64_t> body_too_large{0};
  std::atomic<uint64_t> busy{0};
};

namespace {

using Stats = HttpServer::Stats;
using Response = bhttp::response<bhttp::string_body>;

constexpr char kMetricsType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kTextType[] = "text/plain; charset=utf-8";
// After an error answer (431, 413, 400) the rest of the request is read and thrown away for at
// most this long / this much, so that closing does not reset the connection before the client
// has read the answer (nginx's lingering close). Nothing of it is kept.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = size_t{1} << 20;
constexpr size_t kIdleReadBytes = 512;

// Called by OpenSSL during each handshake (on an io thread): presents the current certificate
// pair, which is how renewed files reach new connections.
int PresentCurrentCertificate(SSL* ssl, void* arg) {
  auto* reloader = static_cast<CertReloader*>(arg);
  auto pair = reloader->Current();
  return pair && pair->UseOn(ssl) ? 1 : 0;
}

enum class ConnState : int { kHandshake, kReadingHeader, kIdle, kBusy };

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What the core's connection registry knows of a session: enough to pick one to close when
// max_connections is reached. State and time are written by the session's strand and read
// under the registry lock.
class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection from any thread, unless it is busy with a request by then.
  virtual void Evict() = 0;

  void SetState(ConnState s) {
    state_.store(static_cast<int>(s));
    since_ns_.store(NowNs());
  }
  ConnState state() const { return static_cast<ConnState>(state_.load()); }
  int64_t since_ns() const { return since_ns_.load(); }

  uint64_t id = 0;
  bool evicting = false;  // guarded by the registry lock

 private:
  std::atomic<int> state_{static_cast<int>(ConnState::kReadingHeader)};
  std::atomic<int64_t> since_ns_{NowNs()};
};

// A chunked /metrics body on its way from a render worker (which prints it) to the connection
// (which writes it): at most kMaxPieces pieces wait, so a scrape never holds the whole text;
// a worker whose client does not read waits at most write_timeout before giving up.
struct ChunkPipe {
  static constexpr size_t kMaxPieces = 2;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> pieces;
  bool done = false;
  bool aborted = false;

  void Abort() {
    {
      std::lock_guard<std::mutex> lock(mu);
      aborted = true;
      pieces.clear();
    }
    cv.notify_all();
  }
};

}  // namespace

// Everything one Start..Stop needs: the io_context and its threads, the listener, the worker
// pools, the TLS context and the registry of open connections. Members are declared so that
// destruction runs pools, then the io_context (which destroys pending handlers and with them
// the sessions, which unregister), then the registry. Thread-safe as noted per member.
class ServerCore {
 public:
  ServerCore(const Handlers& handlers, const ServerOptions& options, Stats& stats,
             std::atomic<uint64_t>& auth_failures)
      : handlers(handlers), options(options), stats(stats), auth_failures(auth_failures) {}
  ~ServerCore() { Stop(); }

  common::Status Start(const std::string& listen_address, const HostPort& hp, const WebConfig* web,
                       int* port);
  void Stop();

  // Registry, any thread. Register adds without looking at max_connections (a connection
  // that changes its object keeps its place).
  void Register(const std::shared_ptr<Connection>& c);
  void Unregister(const Connection& c);
  // A TLS connection whose client has sent its first bytes: from here on it has an SSL
  // stream (about 80 KiB, which an idle socket should not cost). On its strand.
  void StartTls(tcp::socket socket, std::chrono::steady_clock::time_point handshake_deadline);

  const Handlers& handlers;
  const ServerOptions& options;
  Stats& stats;
  std::atomic<uint64_t>& auth_failures;
  std::unique_ptr<CertReloader> certs;
  std::unique_ptr<BasicAuth> auth;
  std::atomic<bool> stopping{false};
  std::atomic<int> chunked_streams{0};  // chunked /metrics renders running or queued

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  // Under mu_: the connection to close to make room, or null.
  std::shared_ptr<Connection> PickVictimLocked();

  std::mutex mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> conns_;  // guarded by mu_
  size_t evicting_ = 0;                                            // guarded by mu_
  uint64_t next_id_ = 1;                                           // guarded by mu_

  std::optional<net::ssl::context> ssl_;
  net::io_context ioc_;
  // The acceptor, its retry timer and Stop's close all run on this strand: accept handlers
  // and the close never meet on two io threads.
  net::strand<net::io_context::executor_type> accept_strand_{net::make_strand(ioc_)};
  std::optional<net::basic_socket_acceptor<tcp, net::strand<net::io_context::executor_type>>>
      acceptor_;
  std::optional<net::basic_waitable_timer<std::chrono::steady_clock,
                                          net::wait_traits<std::chrono::steady_clock>,
                                          net::strand<net::io_context::executor_type>>>
      accept_retry_;
  std::vector<std::thread> io_threads_;

 public:
  std::unique_ptr<WorkerPool> render_pool;
  std::unique_ptr<WorkerPool> auth_pool;

 private:
  bool stopped_ = false;
};

namespace {

std::string_view View(beast::string_view s) { return std::string_view(s.data(), s.size()); }

std::string_view PathOf(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// One connection: reads a request header under a deadline, decides authentication from it,
// reads (and discards) a small body only after that, hands slow work to a worker pool and
// writes one response at a time. Keeps itself alive (shared_from_this) while I/O or a worker
// task is pending; every handler runs on the connection's strand.
template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  Session(ServerCore& core, Args&&... args)
      : core_(core), stream_(std::forward<Args>(args)...), buffer_(kBufferLimit) {}
  ~Session() override {
    if (pipe_) pipe_->Abort();
    core_.Unregister(*this);
  }

  // `handshake_deadline`: when the TLS handshake must be done (counted from the accept).
  void Run(std::chrono::steady_clock::time_point handshake_deadline = {}) {
    if constexpr (kTls) {
      SetState(ConnState::kHandshake);
      Tcp().expires_at(handshake_deadline);
      stream_.async_handshake(
          net::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      StartRead();
    }
  }

  void Evict() override {
    net::post(Tcp().get_executor(), [self = this->shared_from_this()] {
      const ConnState s = self->state();
      if (s == ConnState::kBusy) return;
      self->core_.stats.evicted.fetch_add(1);
      self->Close();
    });
  }

 private:
  // The header limit plus room for the request line; Beast stops at whichever comes first.
  static constexpr size_t kBufferLimit = 32 * 1024;

  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  std::shared_ptr<Session> Self() { return this->shared_from_this(); }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      if (ec == beast::error::timeout) core_.stats.handshake_timeouts.fetch_add(1);
      return Close();
    }
    StartRead();
  }

  void StartRead() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(core_.options.max_header_bytes));
    parser_->body_limit(core_.options.max_body_bytes);
    close_after_ = false;
    if (requests_ > 0 && buffer_.size() == 0) {
      // Kept alive between requests: the header deadline starts with the next request's
      // first byte.
      SetState(ConnState::kIdle);
      Tcp().expires_after(core_.options.idle_timeout);
      stream_.async_read_some(buffer_.prepare(kIdleReadBytes),
                              [self = Self()](beast::error_code ec, size_t n) {
                                if (ec) return self->Close();
                                self->buffer_.commit(n);
                                self->ReadHeader();
                              });
      return;
    }
    ReadHeader();
  }

  void ReadHeader() {
    SetState(ConnState::kReadingHeader);
    Tcp().expires_after(core_.options.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      core_.stats.header_too_large.fetch_add(1);
      return SendError(bhttp::status::request_header_fields_too_large,
                       "request header larger than " +
                           std::to_string(core_.options.max_header_bytes) + " bytes\n");
    }
    if (ec == bhttp::error::body_limit) return BodyTooLarge();
    if (ec == beast::error::timeout) {
      core_.stats.header_timeouts.fetch_add(1);
      return Close();
    }
    if (ec) {
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        return SendError(bhttp::status::bad_request, "malformed request\n");
      }
      return Close();
    }
    SetState(ConnState::kBusy);
    ++requests_;
    const auto& req = parser_->get();
    path_ = std::string(PathOf(View(req.target())));
    method_ = req.method();
    keep_alive_ = req.keep_alive();
    if (core_.auth && path_ != "/healthz") {
      const std::string_view header = View(req[bhttp::field::authorization]);
      switch (core_.auth->CheckCached(header)) {
        case BasicAuth::Quick::kOk:
          return Authorized();
        case BasicAuth::Quick::kBad:
          return Unauthorized();
        case BasicAuth::Quick::kNeedsBcrypt:
          break;
      }
      const bool queued =
          core_.auth_pool->TrySubmit([self = Self(), header = std::string(header)]() mutable {
            const bool ok = self->core_.auth->Check(header);
            std::fill(header.begin(), header.end(), '\0');
            net::post(self->Tcp().get_executor(),
                      [self, ok] { ok ? self->Authorized() : self->Unauthorized(); });
          });
      if (!queued) Busy();
      return;
    }
    Authorized();
  }

  void Unauthorized() {
    core_.auth_failures.fetch_add(1);
    Response res = MakeResponse(bhttp::status::unauthorized, "Unauthorized\n", kTextType);
    res.set(bhttp::field::www_authenticate, std::string("Basic realm=\"") + kAuthRealm + "\"");
    // The body of a refused request is never read: the connection ends with this answer.
    if (!parser_->is_done()) close_after_ = true;
    Write(std::move(res));
  }

  void Authorized() {
    if (parser_->is_done()) return Dispatch();
    // A client that waits for "100 Continue" before sending its body (curl does above 1 KiB)
    // is told to go on only now, after the header passed the size and credential checks.
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      Tcp().expires_after(core_.options.write_timeout);
      net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                       [self = Self()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    // A body (at most max_body_bytes, never decompressed) is read and ignored: no route
    // takes one.
    Tcp().expires_after(core_.options.write_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, size_t) {
      if (ec == bhttp::error::body_limit) return self->BodyTooLarge();
      if (ec) return self->Close();
      self->parser_->get().body().clear();
      self->Dispatch();
    });
  }

  void BodyTooLarge() {
    core_.stats.body_too_large.fetch_add(1);
    SendError(
        bhttp::status::payload_too_large,
        "request body larger than " + std::to_string(core_.options.max_body_bytes) + " bytes\n");
  }

  void Busy() {
    core_.stats.busy.fetch_add(1);
    Response res =
        MakeResponse(bhttp::status::service_unavailable, "busy, retry later\n", kTextType);
    res.set(bhttp::field::retry_after, "1");
    if (!parser_->is_done()) close_after_ = true;
    Write(std::move(res));
  }

  void SendError(bhttp::status status, std::string body) {
    close_after_ = true;
    linger_ = true;
    keep_alive_ = false;
    Write(MakeResponse(status, std::move(body), kTextType));
  }

  Response MakeResponse(bhttp::status status, std::string body, const char* type) {
    Response res{status, 11};
    if (type != nullptr) res.set(bhttp::field::content_type, type);
    res.body() = std::move(body);
    return res;
  }

  void Dispatch() {
    const Handlers& h = core_.handlers;
    const bool get = method_ == bhttp::verb::get;
    if (path_ == "/-/reload") {
      if (!h.reload) return Write(MakeResponse(bhttp::status::not_found, "", nullptr));
      if (method_ != bhttp::verb::post) {
        Response res = MakeResponse(bhttp::status::method_not_allowed,
                                    "use POST to reload the config\n", kTextType);
        res.set(bhttp::field::allow, "POST");
        return Write(std::move(res));
      }
      return OnWorker([](const Handlers& h, Response& res) {
        auto [ok, message] = h.reload();
        res.result(ok ? bhttp::status::ok : bhttp::status::internal_server_error);
        res.set(bhttp::field::content_type, kTextType);
        res.body() = message + "\n";
      });
    }
    const bool known =
        path_ == "/healthz" || path_ == "/metrics" || path_ == "/readyz" || path_ == "/";
    if (!known) return Write(MakeResponse(bhttp::status::not_found, "", nullptr));
    if (!get) {
      Response res = MakeResponse(bhttp::status::method_not_allowed, "", nullptr);
      res.set(bhttp::field::allow, "GET");
      return Write(std::move(res));
    }
    if (path_ == "/healthz") return Write(MakeResponse(bhttp::status::ok, "ok\n", kTextType));
    if (path_ == "/readyz") {
      return OnWorker([](const Handlers& h, Response& res) {
        auto [ok, reason] = h.ready ? h.ready() : std::make_pair(true, std::string("ready"));
        res.result(ok ? bhttp::status::ok : bhttp::status::service_unavailable);
        res.set(bhttp::field::content_type, kTextType);
        res.body() = reason + "\n";
      });
    }
    if (path_ == "/") {
      return OnWorker([](const Handlers& h, Response& res) {
        res.set(bhttp::field::content_type, "text/html; charset=utf-8");
        res.body() = h.landing_page ? h.landing_page() : std::string();
      });
    }
    Metrics();
  }

  void Metrics() {
    const Handlers& h = core_.handlers;
    const std::string accept(View(parser_->get()[bhttp::field::accept_encoding]));
    const bool gzip = AcceptsGzip(accept);
    if (h.metrics_pieces && !gzip && accept.find_first_not_of(" \t") == std::string::npos) {
      // A chunked body is printed as it is sent, so its worker waits for the client. Only
      // render_threads - 1 of them may at a time (one worker always stays free for other
      // scrapes); beyond that the text is rendered whole and sent with a length.
      const int allowed = std::max(1, static_cast<int>(core_.options.render_threads) - 1);
      if (core_.chunked_streams.fetch_add(1) < allowed) return MetricsChunked();
      core_.chunked_streams.fetch_sub(1);
    }
    OnWorker([gzip](const Handlers& h, Response& res) {
      res.set(bhttp::field::content_type, kMetricsType);
      res.set(bhttp::field::vary, "Accept-Encoding");
      if (h.metrics_pieces && gzip) {
        // Each ~1 MiB piece is compressed on another core while the next one is printed;
        // only the compressed body is kept whole.
        GzipStream stream(kMetricsGzipLevel);
        h.metrics_pieces(kMetricsPieceBytes, [&stream](std::string* text) { stream.Add(text); });
        if (!stream.Finish(&res.body())) {
          res.result(bhttp::status::internal_server_error);
          res.set(bhttp::field::content_type, kTextType);
          res.erase(bhttp::field::vary);
          res.body() = "gzip failed\n";
          return;
        }
        res.set(bhttp::field::content_encoding, "gzip");
        return;
      }
      std::string text = h.metrics ? h.metrics() : std::string();
      if (gzip && !text.empty()) {
        // Level 1: zlib's default level 6 is 2.5x slower on a 20 MB body (docs/performance.md).
        std::string gz;
        if (GzipCompress(text, kMetricsGzipLevel, &gz)) {
          std::string().swap(text);  // free the text before the (possibly slow) write
          res.body() = std::move(gz);
          res.set(bhttp::field::content_encoding, "gzip");
          return;
        }
      }
      res.body() = std::move(text);
    });
  }

  // Plain text to a client that accepts no coding at all: sent chunked as it is printed.
  // Holds one of ServerCore::chunked_streams (taken by the caller) until its render ends.
  void MetricsChunked() {
    auto pipe = std::make_shared<ChunkPipe>();
    const bool queued = core_.render_pool->TrySubmit([self = Self(), pipe] {
      struct Release {
        std::atomic<int>& n;
        ~Release() { n.fetch_sub(1); }
      } release{self->core_.chunked_streams};
      const auto stall = self->core_.options.write_timeout;
      auto emit = [&](std::string* text) {
        if (text->empty()) return;
        {
          std::unique_lock<std::mutex> lock(pipe->mu);
          const auto deadline = std::chrono::steady_clock::now() + stall;
          while (!pipe->aborted && pipe->pieces.size() >= ChunkPipe::kMaxPieces) {
            if (self->core_.stopping.load() || std::chrono::steady_clock::now() >= deadline) {
              pipe->aborted = true;
              pipe->pieces.clear();
              break;
            }
            pipe->cv.wait_for(lock, std::chrono::milliseconds(100));
          }
          if (!pipe->aborted) pipe->pieces.push_back(std::move(*text));
        }
        text->clear();
        net::post(self->Tcp().get_executor(), [self] { self->PumpChunks(); });
      };
      try {
        self->core_.handlers.metrics_pieces(kMetricsPieceBytes, emit);
      } catch (const std::exception& e) {
        spdlog::warn("http render failed path=/metrics: {}", e.what());
        pipe->Abort();
      }
      {
        std::lock_guard<std::mutex> lock(pipe->mu);
        pipe->done = true;
      }
      net::post(self->Tcp().get_executor(), [self] { self->PumpChunks(); });
    });
    if (!queued) {
      core_.chunked_streams.fetch_sub(1);
      return Busy();
    }
    pipe_ = pipe;
    chunk_head_.emplace(bhttp::status::ok, 11);
    chunk_head_->set(bhttp::field::content_type, kMetricsType);
    chunk_head_->set(bhttp::field::vary, "Accept-Encoding");
    chunk_head_->keep_alive(keep_alive_);
    chunk_head_->chunked(true);
    chunk_sr_.emplace(*chunk_head_);
    Tcp().expires_after(core_.options.write_timeout);
    bhttp::async_write_header(stream_, *chunk_sr_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->chunk_head_written_ = true;
      self->PumpChunks();
    });
  }

  void PumpChunks() {
    if (!pipe_ || !chunk_head_written_ || chunk_writing_ || closed_) return;
    bool last = false;
    bool aborted = false;
    {
      std::lock_guard<std::mutex> lock(pipe_->mu);
      if (!pipe_->pieces.empty()) {
        chunk_ = std::move(pipe_->pieces.front());
        pipe_->pieces.pop_front();
      } else if (pipe_->aborted) {
        aborted = true;
      } else if (pipe_->done) {
        last = true;
      } else {
        return;
      }
    }
    pipe_->cv.notify_all();
    if (aborted) return Close();
    chunk_writing_ = true;
    Tcp().expires_after(core_.options.write_timeout);
    if (last) {
      net::async_write(stream_, bhttp::make_chunk_last(),
                       [self = Self()](beast::error_code ec, size_t) {
                         self->chunk_writing_ = false;
                         self->pipe_.reset();
                         self->chunk_sr_.reset();
                         self->chunk_head_.reset();
                         self->chunk_head_written_ = false;
                         self->AfterWrite(ec);
                       });
      return;
    }
    net::async_write(stream_, bhttp::make_chunk(net::buffer(chunk_)),
                     [self = Self()](beast::error_code ec, size_t) {
                       self->chunk_writing_ = false;
                       std::string().swap(self->chunk_);
                       if (ec) return self->Close();
                       self->PumpChunks();
                     });
  }

  // Runs `fill` on a render worker and writes what it made; 503 when the pool is full, 500
  // when the handler throws.
  template <class Fill>
  void OnWorker(Fill fill) {
    const bool queued = core_.render_pool->TrySubmit([self = Self(), fill = std::move(fill)] {
      auto res = std::make_shared<Response>(bhttp::status::ok, 11);
      try {
        fill(self->core_.handlers, *res);
      } catch (const std::exception& e) {
        spdlog::warn("http handler failed path={}: {}", common::EscapeControl(self->path_),
                     e.what());
        *res = Response(bhttp::status::internal_server_error, 11);
        res->set(bhttp::field::content_type, kTextType);
        res->body() = "internal error\n";
      }
      net::post(self->Tcp().get_executor(), [self, res] { self->Write(std::move(*res)); });
    });
    if (!queued) Busy();
  }

  void Write(Response res) {
    if (closed_) return;
    res_ = std::move(res);
    res_.keep_alive(keep_alive_ && !close_after_);
    res_.prepare_payload();
    Tcp().expires_after(core_.options.write_timeout);
    bhttp::async_write(stream_, res_, [self = Self()](beast::error_code ec, size_t) {
      self->res_ = {};
      self->AfterWrite(ec);
    });
  }

  void AfterWrite(beast::error_code ec) {
    if (ec) return Close();
    if (close_after_ || !keep_alive_) return linger_ ? Linger() : Close();
    StartRead();
  }

  // Stops sending and reads what the client still sends (thrown away) until it closes, for at
  // most kLingerTime / kLingerBytes, so that our answer is not lost to a reset.
  void Linger() {
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Tcp().expires_after(kLingerTime);
    DiscardSome();
  }

  void DiscardSome() {
    buffer_.clear();
    Tcp().async_read_some(buffer_.prepare(4096), [self = Self()](beast::error_code ec, size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ >= kLingerBytes) return self->Close();
      self->DiscardSome();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (pipe_) pipe_->Abort();
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
  }

  ServerCore& core_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Response res_;
  std::string path_;
  bhttp::verb method_ = bhttp::verb::unknown;
  bool keep_alive_ = true;
  bool close_after_ = false;
  bool linger_ = false;
  bool closed_ = false;
  size_t lingered_ = 0;
  uint64_t requests_ = 0;
  // A chunked /metrics body in progress.
  std::shared_ptr<ChunkPipe> pipe_;
  std::optional<bhttp::response<bhttp::empty_body>> chunk_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> chunk_sr_;
  bool chunk_head_written_ = false;
  bool chunk_writing_ = false;
  std::string chunk_;
};

}  // namespace

namespace {

// A TLS connection before its first byte: the socket and a deadline timer only. Waits for the
// socket to become readable (no buffer), then hands it to a Session with an SSL stream; closed
// at the handshake deadline if nothing came. Lives on its socket's strand.
class PendingTls : public Connection, public std::enable_shared_from_this<PendingTls> {
 public:
  PendingTls(ServerCore& core, tcp::socket socket)
      : core_(core), socket_(std::move(socket)), timer_(socket_.get_executor()) {}
  ~PendingTls() override { core_.Unregister(*this); }

  void Run() {
    SetState(ConnState::kHandshake);
    deadline_ = std::chrono::steady_clock::now() + core_.options.handshake_timeout;
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->done_) return;
      self->core_.stats.handshake_timeouts.fetch_add(1);
      self->Close();
    });
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->done_) return;
      if (ec) return self->Close();
      self->done_ = true;
      self->timer_.cancel();
      self->core_.StartTls(std::move(self->socket_), self->deadline_);
    });
  }

  void Evict() override {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->done_) return;
      self->core_.stats.evicted.fetch_add(1);
      self->Close();
    });
  }

 private:
  void Close() {
    done_ = true;
    timer_.cancel();
    beast::error_code ignored;
    socket_.close(ignored);
  }

  ServerCore& core_;
  tcp::socket socket_;
  net::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  bool done_ = false;
};

}  // namespace

void ServerCore::Register(const std::shared_ptr<Connection>& c) {
  std::lock_guard<std::mutex> lock(mu_);
  c->id = next_id_++;
  conns_.emplace(c->id, c);
  stats.open.fetch_add(1);
}

void ServerCore::StartTls(tcp::socket socket,
                          std::chrono::steady_clock::time_point handshake_deadline) {
  auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(socket),
                                                                           *ssl_);
  Register(s);
  s->Run(handshake_deadline);
}

void ServerCore::Unregister(const Connection& c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conns_.erase(c.id) != 0 && c.evicting) --evicting_;
  stats.open.fetch_sub(1);
}

std::shared_ptr<Connection> ServerCore::PickVictimLocked() {
  std::shared_ptr<Connection> idle;
  std::shared_ptr<Connection> waiting;
  for (auto& [id, weak] : conns_) {
    auto c = weak.lock();
    if (!c || c->evicting) continue;
    const ConnState s = c->state();
    if (s == ConnState::kIdle) {
      if (!idle || c->since_ns() < idle->since_ns()) idle = c;
    } else if (s != ConnState::kBusy) {
      if (!waiting || c->since_ns() < waiting->since_ns()) waiting = c;
    }
  }
  return idle ? idle : waiting;
}

void ServerCore::Accept() {
  acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
    OnAccept(ec, std::move(s));
  });
}

void ServerCore::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopping.load()) return;
  if (ec) {
    // Out of file descriptors (or a similar transient failure): try again shortly rather than
    // spinning on an accept that fails at once.
    spdlog::debug("http accept failed: {}", ec.message());
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping.load()) Accept();
    });
    return;
  }
  stats.accepted.fetch_add(1);
  std::shared_ptr<Connection> victim;
  std::shared_ptr<Connection> conn;
  std::function<void()> run;
  // The connection's strand (from async_accept): its first operation starts there too, so
  // that nothing (an eviction) can touch it concurrently.
  const auto executor = socket.get_executor();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conns_.size() - evicting_ >= options.max_connections) {
      victim = PickVictimLocked();
      if (!victim) {
        stats.refused.fetch_add(1);
        beast::error_code ignored;
        socket.close(ignored);
        Accept();
        return;
      }
      victim->evicting = true;
      ++evicting_;
    }
    if (ssl_) {
      auto s = std::make_shared<PendingTls>(*this, std::move(socket));
      run = [s] { s->Run(); };
      conn = s;
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket));
      run = [s] { s->Run(); };
      conn = s;
    }
    conn->id = next_id_++;
    conns_.emplace(conn->id, conn);
    stats.open.fetch_add(1);
  }
  if (victim) victim->Evict();
  net::post(executor, std::move(run));
  Accept();
}

common::Status ServerCore::Start(const std::string& listen_address, const HostPort& hp,
                                 const WebConfig* web, int* port) {
  if (web != nullptr && !web->basic_auth_users.empty()) {
    auth = std::make_unique<BasicAuth>(web->basic_auth_users);
  }
  if (web != nullptr && web->tls) {
    const TlsServerConfig& tls = *web->tls;
    certs = std::make_unique<CertReloader>(tls.cert_file, tls.key_file, options.cert_check_interval,
                                           *options.clock);
    if (auto st = certs->Init(); !st.ok()) {
      return common::MakeError(web->source + ": tls_server_config: " + st.error().message);
    }
    ssl_.emplace(net::ssl::context::tls_server);
    SSL_CTX* ctx = ssl_->native_handle();
    if (auto st = ConfigureServerContext(ctx, tls); !st.ok()) {
      return common::MakeError(web->source + ": tls_server_config: " + st.error().message);
    }
    // The context's own pair only matters if the callback is bypassed; the callback replaces
    // it per connection with the freshest one.
    auto pair = certs->Current();
    if (!pair || !pair->UseOn(ctx)) {
      return common::MakeError("cannot set up TLS with " + tls.cert_file + " and " + tls.key_file);
    }
    SSL_CTX_set_cert_cb(ctx, &PresentCurrentCertificate, certs.get());
  }

  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(hp.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, static_cast<uint16_t>(hp.port));
  } else {
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
    if (ec || results.empty()) {
      return common::MakeError("cannot listen on " + listen_address + ": " +
                               (ec ? ec.message() : std::string("no address")));
    }
    endpoint = results.begin()->endpoint();
  }
  acceptor_.emplace(accept_strand_);
  auto fail = [&](const beast::error_code& e) {
    acceptor_.reset();
    return common::MakeError("cannot listen on " + listen_address + ": " + e.message());
  };
  acceptor_->open(endpoint.protocol(), ec);
  if (ec) return fail(ec);
  // SO_REUSEADDR for fast restarts; never SO_REUSEPORT, which would let a second exporter bind
  // the same port and silently take half the scrapes.
  acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail(ec);
  acceptor_->bind(endpoint, ec);
  if (ec) return fail(ec);
  acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  *port = acceptor_->local_endpoint(ec).port();
  if (ec) return fail(ec);

  accept_retry_.emplace(accept_strand_);
  render_pool =
      std::make_unique<WorkerPool>("mpe-http-render", options.render_threads, options.max_queued);
  auth_pool =
      std::make_unique<WorkerPool>("mpe-http-auth", options.auth_threads, options.max_queued);
  Accept();
  for (unsigned i = 0; i < std::max(1u, options.io_threads); ++i) {
    io_threads_.emplace_back([this] { ioc_.run(); });
    pthread_setname_np(io_threads_.back().native_handle(), "mpe-http-io");
  }
  return common::Ok{};
}

void ServerCore::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping = true;
  if (acceptor_) {
    net::post(accept_strand_, [this] {
      beast::error_code ignored;
      acceptor_->close(ignored);
      if (accept_retry_) accept_retry_->cancel();
    });
  }
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, weak] : conns_) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  for (auto& c : open) c->Evict();
  open.clear();
  // Workers finish what they run (a chunked render gives up within 100 ms of `stopping`).
  if (render_pool) render_pool->Stop();
  if (auth_pool) auth_pool->Stop();
  ioc_.stop();
  for (auto& t : io_threads_) {
    if (t.joinable()) t.join();
  }
  io_threads_.clear();
  render_pool.reset();
  auth_pool.reset();
}

common::Result<HostPort> ParseListenAddress(const std::string& address) {
  const std::string quoted = "\"" + address + "\"";
  const common::ListenAddress a = common::ParseListenAddress(address);
  using F = common::ListenAddressFault;
  switch (a.fault) {
    case F::kNone:
      return HostPort{a.host, a.port};
    case F::kShape:
      return common::MakeError("invalid listen address " + quoted + " (want HOST:PORT)");
    case F::kBracketShape:
      return common::MakeError("invalid listen address " + quoted + " (want [IPv6]:PORT)");
    case F::kBracketsNeedIpv6:
      return common::MakeError("invalid listen address " + quoted +
                               " (brackets need an IPv6 address)");
    case F::kUnbracketedIpv6:
      return common::MakeError("invalid listen address " + quoted +
                               " (write IPv6 hosts in brackets: [::1]:PORT)");
    case F::kBadHost:
      return common::MakeError("invalid host in listen address " + quoted);
    case F::kBadPort:
      break;
  }
  return common::MakeError("invalid port in listen address " + quoted + " (want 0..65535)");
}

HttpServer::HttpServer(Handlers handlers, ServerOptions options)
    : handlers_(std::move(handlers)), options_(options), stats_(std::make_unique<Stats>()) {
  if (options_.clock == nullptr) options_.clock = &common::SystemClock::Instance();
}

HttpServer::~HttpServer() { Stop(); }

uint64_t HttpServer::cert_reloads() const {
  return core_ && core_->certs ? core_->certs->reloads() : 0;
}

uint64_t HttpServer::cert_reload_failures() const {
  return core_ && core_->certs ? core_->certs->reload_failures() : 0;
}

HttpServer::Counters HttpServer::counters() const {
  Counters c;
  c.accepted = stats_->accepted.load();
  c.open = stats_->open.load();
  c.evicted = stats_->evicted.load();
  c.refused = stats_->refused.load();
  c.header_timeouts = stats_->header_timeouts.load();
  c.handshake_timeouts = stats_->handshake_timeouts.load();
  c.header_too_large = stats_->header_too_large.load();
  c.body_too_large = stats_->body_too_large.load();
  c.busy = stats_->busy.load();
  return c;
}

void HttpServer::AppendMetricsText(std::string* out) const {
  const Counters c = counters();
  auto line = [out](const char* name, const char* label, const char* value, uint64_t n) {
    out->append(name).append("{").append(label).append("=\"").append(value).append("\"} ");
    out->append(std::to_string(n)).push_back('\n');
  };
  out->append(
      "# HELP mist_pcap_http_connections_closed_total Web connections closed by a limit: "
      "evicted to stay under web.max_connections, refused (all busy), or past a deadline.\n"
      "# TYPE mist_pcap_http_connections_closed_total counter\n");
  constexpr char kClosed[] = "mist_pcap_http_connections_closed_total";
  line(kClosed, "reason", "evicted", c.evicted);
  line(kClosed, "reason", "refused", c.refused);
  line(kClosed, "reason", "header_timeout", c.header_timeouts);
  line(kClosed, "reason", "handshake_timeout", c.handshake_timeouts);
  out->append(
      "# HELP mist_pcap_http_requests_refused_total Requests refused by a limit or for "
      "credentials, by status code.\n"
      "# TYPE mist_pcap_http_requests_refused_total counter\n");
  constexpr char kRefused[] = "mist_pcap_http_requests_refused_total";
  line(kRefused, "code", "401", auth_failures());
  line(kRefused, "code", "413", c.body_too_large);
  line(kRefused, "code", "431", c.header_too_large);
  line(kRefused, "code", "503", c.busy);
  out->append(
      "# HELP mist_pcap_http_open_connections Web connections open now.\n"
      "# TYPE mist_pcap_http_open_connections gauge\n"
      "mist_pcap_http_open_connections ");
  out->append(std::to_string(c.open)).push_back('\n');
}

common::Status HttpServer::Start(const std::string& listen_address, const WebConfig* web) {
  if (core_) return common::MakeError("http server already started");
  auto hp = ParseListenAddress(listen_address);
  if (!hp.ok()) return hp.error();
  tls_ = false;
  port_ = 0;
  auto core = std::make_unique<ServerCore>(handlers_, options_, *stats_, auth_failures_);
  int port = 0;
  if (auto st = core->Start(listen_address, *hp, web, &port); !st.ok()) return st;
  core_ = std::move(core);
  port_ = port;
  tls_ = web != nullptr && web->tls.has_value();
  return common::Ok{};
}

void HttpServer::Stop() {
  if (core_) core_->Stop();
  core_.reset();
}

}  // namespace mpe::http
