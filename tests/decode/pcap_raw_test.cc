#include "decode/pcap_raw.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace mpe::decode {
namespace {

std::string Base64(const std::vector<uint8_t>& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (i + 1 < in.size()) v |= uint32_t{in[i + 1]} << 8;
    if (i + 2 < in.size()) v |= in[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

void Put32(std::vector<uint8_t>* out, uint32_t v, bool big_endian) {
  for (int i = 0; i < 4; ++i) {
    int shift = big_endian ? 24 - 8 * i : 8 * i;
    out->push_back(static_cast<uint8_t>(v >> shift));
  }
}

void Put16(std::vector<uint8_t>* out, uint16_t v, bool big_endian) {
  out->push_back(static_cast<uint8_t>(big_endian ? v >> 8 : v));
  out->push_back(static_cast<uint8_t>(big_endian ? v : v >> 8));
}

// A one-packet classic pcap file as Mist's pcap_raw carries it.
std::vector<uint8_t> PcapFile(uint32_t magic, bool big_endian, uint32_t linktype,
                              const std::vector<uint8_t>& packet, uint32_t origlen) {
  std::vector<uint8_t> f;
  Put32(&f, magic, big_endian);
  Put16(&f, 2, big_endian);
  Put16(&f, 4, big_endian);
  Put32(&f, 0, big_endian);  // thiszone
  Put32(&f, 0, big_endian);  // sigfigs
  Put32(&f, 65535, big_endian);
  Put32(&f, linktype, big_endian);
  Put32(&f, 1764150001, big_endian);
  Put32(&f, 250000, big_endian);
  Put32(&f, static_cast<uint32_t>(packet.size()), big_endian);
  Put32(&f, origlen, big_endian);
  f.insert(f.end(), packet.begin(), packet.end());
  return f;
}

// Radiotap header (version 0, length 12) followed by a few 802.11 bytes.
const std::vector<uint8_t> kRadiotapPacket = {0x00, 0x00, 0x0c, 0x00, 0x04, 0x80, 0x00,
                                              0x00, 0x02, 0x00, 0x18, 0x00, 0x80, 0x00,
                                              0x00, 0x00, 0xff, 0xff, 0xff, 0xff};

// `text` copied to the very end of a page followed by an inaccessible page.
class GuardedText {
 public:
  explicit GuardedText(const std::string& text) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t pages = (text.size() + page_ - 1) / page_ + 1;
    size_ = pages * page_;
    base_ = static_cast<char*>(
        mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) std::abort();
    if (mprotect(base_ + size_ - page_, page_, PROT_NONE) != 0) std::abort();
    char* start = base_ + size_ - page_ - text.size();
    std::memcpy(start, text.data(), text.size());
    view_ = std::string_view(start, text.size());
  }
  ~GuardedText() { munmap(base_, size_); }
  GuardedText(const GuardedText&) = delete;
  GuardedText& operator=(const GuardedText&) = delete;
  std::string_view view() const { return view_; }

 private:
  size_t page_ = 0;
  size_t size_ = 0;
  char* base_ = nullptr;
  std::string_view view_;
};

TEST(PcapRawTest, DecodesALittleEndianMicrosecondFile) {
  std::vector<uint8_t> scratch;
  auto r = DecodePcapRaw(Base64(PcapFile(0xa1b2c3d4, false, 127, kRadiotapPacket, 300)), &scratch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->linktype, kLinktypeIeee80211Radiotap);
  EXPECT_EQ(r->version_major, 2);
  EXPECT_EQ(r->version_minor, 4);
  EXPECT_EQ(r->snaplen, 65535u);
  EXPECT_FALSE(r->big_endian);
  EXPECT_FALSE(r->nanosecond);
  EXPECT_EQ(r->ts_sec, 1764150001u);
  EXPECT_EQ(r->ts_frac, 250000u);
  EXPECT_EQ(r->caplen, kRadiotapPacket.size());
  EXPECT_EQ(r->origlen, 300u);
  EXPECT_EQ(std::vector<uint8_t>(r->packet.begin(), r->packet.end()), kRadiotapPacket);
  EXPECT_TRUE(LooksLikeRadiotap(r->packet));
}

TEST(PcapRawTest, DecodesBigEndianAndNanosecondMagics) {
  std::vector<uint8_t> scratch;
  auto be = DecodePcapRaw(Base64(PcapFile(0xa1b2c3d4, true, 1, {1, 2, 3}, 3)), &scratch);
  ASSERT_TRUE(be.ok());
  EXPECT_TRUE(be->big_endian);
  EXPECT_FALSE(be->nanosecond);
  EXPECT_EQ(be->linktype, kLinktypeEthernet);
  EXPECT_EQ(be->caplen, 3u);
  EXPECT_EQ(be->ts_sec, 1764150001u);

  auto ns = DecodePcapRaw(Base64(PcapFile(0xa1b23c4d, false, 1, {1, 2}, 2)), &scratch);
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->nanosecond);
  EXPECT_FALSE(ns->big_endian);
  EXPECT_EQ(ns->caplen, 2u);
}

TEST(PcapRawTest, DropsFcsBitsFromTheLinktype) {
  std::vector<uint8_t> scratch;
  auto r = DecodePcapRaw(Base64(PcapFile(0xa1b2c3d4, false, 0x14000001, {9}, 1)), &scratch);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->linktype, 1u);
}

TEST(PcapRawTest, AcceptsUnpaddedUrlSafeAndWrappedBase64) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(Base64Decode("QUJD\r\nRA", &out).ok());
  EXPECT_EQ(std::string(out.begin(), out.end()), "ABCD");
  ASSERT_TRUE(Base64Decode("-_8=", &out).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{0xfb, 0xff}));
  ASSERT_TRUE(Base64Decode("", &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(PcapRawTest, RejectsMalformedBase64) {
  std::vector<uint8_t> out;
  EXPECT_FALSE(Base64Decode("QUJ*", &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(Base64Decode("Q", &out).ok());
  EXPECT_FALSE(Base64Decode("QQ==QQ==", &out).ok());
  EXPECT_FALSE(Base64Decode("QQ===", &out).ok());
  std::vector<uint8_t> scratch;
  EXPECT_EQ(DecodePcapRaw("%%%%", &scratch).error().message, "pcap_raw: invalid base64");
}

TEST(PcapRawTest, RejectsABadMagic) {
  std::vector<uint8_t> scratch;
  auto r = DecodePcapRaw(Base64(PcapFile(0x0a0d0d0a, false, 1, {1}, 1)), &scratch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "pcap_raw: not a pcap file (bad magic)");
}

TEST(PcapRawTest, RejectsACaplenBeyondTheData) {
  std::vector<uint8_t> file = PcapFile(0xa1b2c3d4, false, 127, kRadiotapPacket, 20);
  file[32] = 0xff;  // caplen low byte: 255 > 20 bytes present
  std::vector<uint8_t> scratch;
  auto r = DecodePcapRaw(Base64(file), &scratch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "pcap_raw: truncated packet");
}

TEST(PcapRawTest, EveryTruncationFailsCleanlyWithoutReadingPastTheInput) {
  const std::vector<uint8_t> file = PcapFile(0xa1b2c3d4, false, 127, kRadiotapPacket, 20);
  std::vector<uint8_t> scratch;
  for (size_t n = 0; n < file.size(); ++n) {
    std::vector<uint8_t> prefix(file.begin(), file.begin() + static_cast<long>(n));
    GuardedText text(Base64(prefix));
    auto r = DecodePcapRaw(text.view(), &scratch);
    ASSERT_FALSE(r.ok()) << n;
    const std::string& msg = r.error().message;
    if (n < kPcapGlobalHeaderBytes) {
      EXPECT_EQ(msg, "pcap_raw: short global header") << n;
    } else if (n < kPcapGlobalHeaderBytes + kPcapRecordHeaderBytes) {
      EXPECT_EQ(msg, "pcap_raw: short record header") << n;
    } else {
      EXPECT_EQ(msg, "pcap_raw: truncated packet") << n;
    }
  }
  // Truncating the base64 text itself (not at a 4-character boundary).
  const std::string full = Base64(file);
  for (size_t n = 0; n < full.size(); ++n) {
    GuardedText text(full.substr(0, n));
    EXPECT_FALSE(DecodePcapRaw(text.view(), &scratch).ok()) << n;
  }
  GuardedText whole(full);
  EXPECT_TRUE(DecodePcapRaw(whole.view(), &scratch).ok());
}

TEST(PcapRawTest, RadiotapDetectionNeedsAPlausibleHeader) {
  EXPECT_TRUE(LooksLikeRadiotap(kRadiotapPacket));
  const std::vector<uint8_t> ethernet = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x11, 0x22};
  EXPECT_FALSE(LooksLikeRadiotap(ethernet));
  const std::vector<uint8_t> too_long = {0, 0, 0x40, 0, 0, 0, 0, 0};
  EXPECT_FALSE(LooksLikeRadiotap(too_long));
  EXPECT_FALSE(LooksLikeRadiotap(std::span<const uint8_t>()));
}

}  // namespace
}  // namespace mpe::decode
