#pragma once
// gzip for /metrics bodies: Accept-Encoding negotiation and one-shot compression with zlib.
#include <cstddef>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <string_view>

namespace mpe::http {

// The zlib level /metrics uses. Level 1 is about 2.5x faster than zlib's default (6) on
// exposition text and its output is about 25% larger (1.43 vs 1.14 MB for 20 MB of text);
// Prometheus scrapes often, over fast networks, so time beats ratio.
inline constexpr int kMetricsGzipLevel = 1;
// The size of the pieces a streamed /metrics body is printed, compressed and sent in.
inline constexpr size_t kMetricsPieceBytes = size_t{1} << 20;

// True when a request with this Accept-Encoding header value takes a gzip body (RFC 9110
// 12.5.3): "gzip" or "x-gzip" with q > 0, or "*" with q > 0 when gzip is not listed.
bool AcceptsGzip(std::string_view accept_encoding);

// Replaces *out with `in` as one gzip member at `level` (1..9). Inputs of several MiB are cut
// into up to `threads` pieces (0: one per core, at most 4; never below 1 MiB a piece)
// compressed in parallel as raw deflate streams that are joined into one (each but the last
// ends with a sync flush, so the joined stream is valid) with their CRC-32s combined; the
// result is an ordinary gzip member a few bytes larger. False (and *out empty) only if zlib
// fails, which it does only when out of memory.
bool GzipCompress(std::string_view in, int level, std::string* out, unsigned threads = 0);

// One gzip member from a body handed over in pieces (a streamed /metrics): each piece is
// deflated on its own thread as a raw stream ending with a sync flush, so that the streams
// join in order into one; their CRC-32s are combined. At most `max_in_flight` pieces (0: one
// per core, at most 4) are being compressed at once: Add waits for the oldest first, which
// bounds the memory to that many pieces and their output. Pieces of about 1 MiB keep the
// ratio within a few percent of one-shot compression. Not thread-safe; one body per instance.
class GzipStream {
 public:
  explicit GzipStream(int level, unsigned max_in_flight = 0);
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // Takes the text (leaves *text empty). An empty text adds nothing.
  void Add(std::string* text);
  // The whole member into *out. False (and *out empty) if zlib failed, i.e. out of memory.
  bool Finish(std::string* out);

 private:
  struct Piece;
  void Collect();

  int level_;
  size_t max_in_flight_ = 1;
  std::deque<std::future<std::unique_ptr<Piece>>> pending_;
  std::string out_;
  unsigned long crc_ = 0;
  size_t size_ = 0;
  bool ok_ = true;
};

}  // namespace mpe::http
