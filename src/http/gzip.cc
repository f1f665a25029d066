#include "http/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <future>
#include <limits>
#include <thread>
#include <vector>

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

namespace {

// Compresses `in` as raw deflate (no header) into *out, ending with Z_FINISH when `last`, else
// with a sync flush (byte-aligned, no final block) so that another stream can follow it.
bool DeflateRaw(std::string_view in, int level, bool last, std::string* out) {
  out->clear();
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  // Exposition text compresses about 10:1 at level 1; start near that and grow by halves.
  size_t capacity = std::max<size_t>(in.size() / 8, 4096);
  size_t used = 0;
  const auto* next_in = reinterpret_cast<const Bytef*>(in.data());
  size_t left_in = in.size();
  constexpr size_t kMaxChunk = std::numeric_limits<uInt>::max();
  const int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
  for (;;) {
    if (used == out->size()) out->resize(capacity);
    const size_t room = std::min(out->size() - used, kMaxChunk);
    const size_t feed = std::min(left_in, kMaxChunk);
    zs.next_in = const_cast<Bytef*>(next_in);
    zs.avail_in = static_cast<uInt>(feed);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&zs, feed == left_in ? flush : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      out->clear();
      return false;
    }
    const size_t consumed = feed - zs.avail_in;
    next_in += consumed;
    left_in -= consumed;
    used += room - zs.avail_out;
    // Done: the final block is out, or (sync flush) all input is in and zlib had room to spare.
    if (rc == Z_STREAM_END || (!last && left_in == 0 && zs.avail_out != 0)) break;
    if (used == out->size()) capacity = out->size() + out->size() / 2;
  }
  deflateEnd(&zs);
  out->resize(used);
  return true;
}

uLong Crc32(std::string_view piece) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < piece.size()) {  // crc32 takes a uInt length
    const size_t n = std::min<size_t>(piece.size() - done, std::numeric_limits<uInt>::max());
    crc = crc32(crc, reinterpret_cast<const Bytef*>(piece.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return crc;
}

// RFC 1952 header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
constexpr char kGzipHeader[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff";

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

bool GzipCompress(std::string_view in, int level, std::string* out, unsigned threads) {
  out->clear();
  constexpr size_t kMinPiece = size_t{1} << 20;
  // Read once: hardware_concurrency() reads sysfs on every call.
  static const unsigned kCores = std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
  if (threads == 0) threads = kCores;
  const size_t pieces = std::max<size_t>(1, std::min<size_t>(threads, in.size() / kMinPiece));
  const size_t piece_len = in.size() / pieces;
  // The last piece takes the remainder.
  auto piece_size = [&](size_t i) {
    return i + 1 == pieces ? in.size() - i * piece_len : piece_len;
  };

  std::vector<std::string> parts(pieces);
  std::vector<uLong> crcs(pieces, 0);
  std::vector<char> ok(pieces, 0);
  auto work = [&](size_t i) {
    const size_t len = piece_size(i);
    const std::string_view piece = in.substr(i * piece_len, len);
    ok[i] = DeflateRaw(piece, level, i + 1 == pieces, &parts[i]) ? 1 : 0;
    crcs[i] = Crc32(piece);
  };
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < pieces; ++i) helpers.emplace_back(work, i);
  work(0);
  for (auto& t : helpers) t.join();
  if (std::find(ok.begin(), ok.end(), 0) != ok.end()) return false;

  size_t total = 18;
  for (const auto& p : parts) total += p.size();
  out->reserve(total);
  out->append(kGzipHeader, 10);
  uLong crc = crcs[0];
  for (size_t i = 0; i < pieces; ++i) {
    out->append(parts[i]);
    std::string().swap(parts[i]);
    if (i > 0) crc = crc32_combine(crc, crcs[i], static_cast<z_off_t>(piece_size(i)));
  }
  PutLe32(out, static_cast<uint32_t>(crc));
  PutLe32(out, static_cast<uint32_t>(in.size() & 0xffffffffu));
  return true;
}

struct GzipStream::Piece {
  std::string text;
  std::string deflated;
  uLong crc = 0;
  bool ok = false;
};

GzipStream::GzipStream(int level, unsigned max_in_flight) : level_(level) {
  static const unsigned kCores = std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
  max_in_flight_ = max_in_flight == 0 ? kCores : max_in_flight;
  out_.append(kGzipHeader, 10);
  crc_ = crc32(0L, Z_NULL, 0);
}

GzipStream::~GzipStream() {
  for (auto& f : pending_) f.wait();
}

void GzipStream::Collect() {
  std::unique_ptr<Piece> p = pending_.front().get();
  pending_.pop_front();
  ok_ = ok_ && p->ok;
  out_.append(p->deflated);
  crc_ = crc32_combine(crc_, p->crc, static_cast<z_off_t>(p->text.size()));
  size_ += p->text.size();
}

void GzipStream::Add(std::string* text) {
  if (text->empty()) return;
  while (pending_.size() >= max_in_flight_) Collect();
  auto piece = std::make_unique<Piece>();
  piece->text.swap(*text);
  const int level = level_;
  pending_.push_back(std::async(std::launch::async, [level, p = std::move(piece)]() mutable {
    // Every piece ends with a sync flush; Finish closes the stream with an empty final block.
    p->ok = DeflateRaw(p->text, level, false, &p->deflated);
    p->crc = Crc32(p->text);
    return std::move(p);
  }));
}

bool GzipStream::Finish(std::string* out) {
  while (!pending_.empty()) Collect();
  // An empty final block with fixed codes (BFINAL=1, BTYPE=01, end-of-block): 3 bits + 7 bits.
  out_.append("\x03\x00", 2);
  PutLe32(&out_, static_cast<uint32_t>(crc_));
  PutLe32(&out_, static_cast<uint32_t>(size_ & 0xffffffffu));
  out->swap(out_);
  out_.clear();
  if (!ok_) out->clear();
  return ok_;
}

}  // namespace mpe::http
