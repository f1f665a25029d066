#pragma once
// gzip for /metrics bodies: Accept-Encoding negotiation and one-shot compression with zlib.
#include <string>
#include <string_view>

namespace mpe::http {

// The zlib level /metrics uses. Level 1 is about 2.5x faster than zlib's default (6) on
// exposition text and its output is about 25% larger (1.43 vs 1.14 MB for 20 MB of text);
// Prometheus scrapes often, over fast networks, so time beats ratio.
inline constexpr int kMetricsGzipLevel = 1;

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

}  // namespace mpe::http
