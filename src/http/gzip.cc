#include "http/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace mpe::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The q value of one Accept-Encoding element's parameters ("; q=0.5"); 1 when absent, 0 when
// malformed (a client that cannot spell q gets the identity body, which always works).
double QValue(std::string_view params) {
  double q = 1;
  while (!params.empty()) {
    const size_t semi = params.find(';');
    std::string_view p = Trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() < 2 || std::tolower(static_cast<unsigned char>(p[0])) != 'q') continue;
    p = Trim(p.substr(1));
    if (p.empty() || p[0] != '=') continue;
    p = Trim(p.substr(1));
    // q = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (p.empty() || (p[0] != '0' && p[0] != '1')) return 0;
    double value = p[0] - '0';
    double scale = 0.1;
    if (p.size() > 1) {
      if (p[1] != '.' || p.size() > 5) return 0;
      for (size_t i = 2; i < p.size(); ++i) {
        if (p[i] < '0' || p[i] > '9') return 0;
        value += (p[i] - '0') * scale;
        scale /= 10;
      }
    }
    if (value > 1) return 0;
    q = value;
  }
  return q;
}

}  // namespace

bool AcceptsGzip(std::string_view header) {
  double gzip_q = -1;  // -1: not listed
  double star_q = -1;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view element = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semi = element.find(';');
    const std::string_view coding = Trim(element.substr(0, semi));
    const double q = semi == std::string_view::npos ? 1 : QValue(element.substr(semi + 1));
    if (EqualsNoCase(coding, "gzip") || EqualsNoCase(coding, "x-gzip")) {
      gzip_q = std::max(gzip_q, q);
    } else if (coding == "*") {
      star_q = std::max(star_q, q);
    }
  }
  if (gzip_q >= 0) return gzip_q > 0;
  return star_q > 0;
}

bool GzipCompress(std::string_view in, int level, std::string* out) {
  out->clear();
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  // Exposition text compresses about 10:1 at level 1; start near that and grow by halves.
  size_t capacity = std::max<size_t>(in.size() / 8, 4096);
  size_t used = 0;
  const auto* next_in = reinterpret_cast<const Bytef*>(in.data());
  size_t left_in = in.size();
  constexpr size_t kMaxChunk = std::numeric_limits<uInt>::max();
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (used == out->size()) out->resize(capacity);
    const size_t room = std::min(out->size() - used, kMaxChunk);
    const size_t feed = std::min(left_in, kMaxChunk);
    zs.next_in = const_cast<Bytef*>(next_in);
    zs.avail_in = static_cast<uInt>(feed);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    zs.avail_out = static_cast<uInt>(room);
    rc = deflate(&zs, feed == left_in ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      out->clear();
      return false;
    }
    const size_t consumed = feed - zs.avail_in;
    next_in += consumed;
    left_in -= consumed;
    used += room - zs.avail_out;
    if (used == out->size()) capacity = out->size() + out->size() / 2;
  }
  deflateEnd(&zs);
  out->resize(used);
  return true;
}

}  // namespace mpe::http
