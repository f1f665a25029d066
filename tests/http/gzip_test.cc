#include "http/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

namespace mpe::http {
namespace {

// Inflates one gzip member; fails the test on any zlib error or trailing garbage.
std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out;
  char buf[1 << 16];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  EXPECT_EQ(zs.avail_in, 0u) << "bytes after the gzip trailer";
  inflateEnd(&zs);
  return out;
}

TEST(AcceptsGzipTest, FollowsTheAcceptEncodingGrammar) {
  struct Case {
    const char* header;
    bool gzip;
  } cases[] = {
      {"gzip", true},
      {"", false},
      {"identity", false},
      {"br", false},
      {"GZip", true},
      {"x-gzip", true},
      {"gzip, deflate, br", true},
      {"deflate ,  gzip", true},
      {"gzip;q=0", false},
      {"gzip; q=0.000", false},
      {"gzip;q=0.001", true},
      {"gzip ; Q = 0.5", true},
      {"gzip;q=1.0", true},
      {"gzip;q=1.5", false},     // malformed q: identity
      {"gzip;q=0.0001", false},  // more than 3 decimals: malformed
      {"gzip;q=abc", false},
      {"*", true},
      {"*;q=0", false},
      {"br, *;q=0.1", true},
      {"gzip;q=0, *", false},  // listed gzip wins over *
      {"*;q=0, gzip", true},
      {"gzip;q=0, gzip;q=0.5", true},  // the best of repeated entries
      {"gzipx", false},
      {"identity;q=1, gzip;level=3", true},  // other parameters are ignored
  };
  for (const auto& c : cases) EXPECT_EQ(AcceptsGzip(c.header), c.gzip) << '"' << c.header << '"';
}

TEST(GzipCompressTest, RoundTripsEmptySmallAndLargeBodies) {
  std::string text;
  for (int i = 0; i < 50000; ++i) {
    text += "mist_pcap_packets_total{site_id=\"s" + std::to_string(i % 97) + "\",ap_mac=\"5c5b35" +
            std::to_string(100000 + i) + "\"} " + std::to_string(i * 7) + "\n";
  }
  for (const std::string& in : {std::string(), std::string("x"), text}) {
    std::string gz;
    ASSERT_TRUE(GzipCompress(in, kMetricsGzipLevel, &gz));
    ASSERT_GE(gz.size(), 18u);  // 10-byte header, 8-byte trailer
    EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
    EXPECT_EQ(Gunzip(gz), in);
  }
}

TEST(GzipCompressTest, GrowsItsBufferForIncompressibleInput) {
  // Random bytes come out slightly larger than they went in: the output outgrows the first
  // guess (an eighth of the input) several times.
  std::mt19937 rng(7);
  std::string in(3 << 20, '\0');
  for (auto& c : in) c = static_cast<char>(rng());
  std::string gz = "stale";
  ASSERT_TRUE(GzipCompress(in, kMetricsGzipLevel, &gz));
  EXPECT_GT(gz.size(), in.size());
  EXPECT_EQ(Gunzip(gz), in);
}

TEST(GzipCompressTest, ParallelPiecesMakeOneValidGzipMember) {
  // zlib's gzip inflate checks the trailer: a wrong combined CRC-32 or length fails Gunzip.
  std::string text;
  for (int i = 0; text.size() < (9u << 19); ++i)  // 4.5 MiB
    text += "mist_pcap_bytes_total{ap_mac=\"" + std::to_string(i * 7919 % 100003) + "\"} " +
            std::to_string(i) + "\n";
  std::mt19937 rng(11);
  std::string noise((2u << 20) + 12345, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  for (const std::string* in : {&text, &noise}) {
    std::string one;
    ASSERT_TRUE(GzipCompress(*in, kMetricsGzipLevel, &one, 1));
    for (unsigned threads : {2u, 3u, 4u, 64u}) {
      std::string gz;
      ASSERT_TRUE(GzipCompress(*in, kMetricsGzipLevel, &gz, threads));
      EXPECT_EQ(Gunzip(gz), *in) << threads << " threads";
      // Pieces of at least 1 MiB: the sync flushes and lost history cost well under 1 %.
      EXPECT_LT(gz.size(), one.size() + one.size() / 100 + 64) << threads << " threads";
      if (in == &text) {
        EXPECT_NE(gz, one) << "no pieces were made with " << threads;
      }
    }
  }
}

TEST(GzipStreamTest, PiecesJoinIntoOneValidGzipMemberInOrder) {
  // zlib's gzip inflate checks the trailer: a wrong combined CRC-32 or length fails Gunzip.
  std::mt19937 rng(7);
  for (unsigned in_flight : {1u, 2u, 4u, 0u}) {
    for (size_t count : {size_t{0}, size_t{1}, size_t{2}, size_t{9}}) {
      GzipStream stream(kMetricsGzipLevel, in_flight);
      std::string expected;
      for (size_t i = 0; i < count; ++i) {
        std::string piece;
        const size_t n = i == 1 ? 0 : (size_t{1} << 18) + rng() % 70000;
        for (size_t k = 0; piece.size() < n; ++k) {
          piece += "mpe_total{piece=\"" + std::to_string(i) + "\",k=\"" +
                   std::to_string(rng() % 999) + "\"} " + std::to_string(k) + "\n";
        }
        expected += piece;
        stream.Add(&piece);
        EXPECT_TRUE(piece.empty());
      }
      std::string gz;
      ASSERT_TRUE(stream.Finish(&gz));
      EXPECT_EQ(Gunzip(gz), expected) << in_flight << " in flight, " << count << " pieces";
      if (count > 2) {
        EXPECT_LT(gz.size(), expected.size() / 4);
      }
    }
  }
}

TEST(GzipCompressTest, TheLevelIsApplied) {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += "series{n=\"" + std::to_string(i * 7919 % 10007) + "\"} 1\n";
  std::string fast;
  std::string best;
  ASSERT_TRUE(GzipCompress(text, 1, &fast));
  ASSERT_TRUE(GzipCompress(text, 9, &best));
  EXPECT_LT(best.size(), fast.size());
  EXPECT_EQ(Gunzip(fast), text);
  EXPECT_EQ(Gunzip(best), text);
}

}  // namespace
}  // namespace mpe::http
