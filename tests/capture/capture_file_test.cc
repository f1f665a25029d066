#include "capture/capture_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fakes/capture_test_util.h"

namespace mpe::capture {
namespace {

std::string Le32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string Be32(uint32_t v) { return Le32(__builtin_bswap32(v)); }

std::string PcapHeader(bool big_endian) {
  auto w = big_endian ? Be32 : Le32;
  std::string b = w(0xA1B2C3D4);
  b += big_endian ? std::string("\x00\x02\x00\x04", 4) : std::string("\x02\x00\x04\x00", 4);
  b += w(0) + w(0) + w(65535) + w(127);
  return b;
}
std::string PcapRecord(const std::string& data, bool big_endian) {
  auto w = big_endian ? Be32 : Le32;
  return w(1) + w(2) + w(static_cast<uint32_t>(data.size())) +
         w(static_cast<uint32_t>(data.size())) + data;
}
std::string Block(uint32_t type, const std::string& body) {
  const uint32_t len = static_cast<uint32_t>(12 + body.size());
  return Le32(type) + Le32(len) + body + Le32(len);
}

TEST(CaptureFileTest, CountsClassicPcapRecordsInEitherByteOrder) {
  for (bool big : {false, true}) {
    std::string f = PcapHeader(big) + PcapRecord("abc", big) + PcapRecord("", big) +
                    PcapRecord(std::string(300, 'x'), big);
    auto info = InspectCaptureFile(f);
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(info->format, "pcap");
    EXPECT_EQ(info->packets, 3u);
  }
  auto empty = InspectCaptureFile(PcapHeader(false));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->packets, 0u);
}

TEST(CaptureFileTest, CountsPcapngPacketBlocks) {
  const std::string shb = Block(
      0x0A0D0D0A, Le32(0x1A2B3C4D) + std::string("\x01\x00\x00\x00", 4) + std::string(8, '\xff'));
  const std::string idb = Block(1, std::string(8, '\0'));
  const std::string epb = Block(6, std::string(20, '\0') + "data");
  const std::string spb = Block(3, Le32(4) + "data");
  auto info = InspectCaptureFile(shb + idb + epb + epb + spb);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->format, "pcapng");
  EXPECT_EQ(info->packets, 3u);
  EXPECT_FALSE(InspectCaptureFile(shb + idb + epb.substr(0, epb.size() - 1)).ok());
  EXPECT_FALSE(InspectCaptureFile(idb + epb).ok());  // no section header first
}

TEST(CaptureFileTest, RejectsWhatIsNotACaptureFile) {
  EXPECT_FALSE(InspectCaptureFile("").ok());
  EXPECT_FALSE(InspectCaptureFile("<html><body>Access denied</body></html>").ok());
  EXPECT_FALSE(InspectCaptureFile(R"({"detail": "expired"})").ok());
  const std::string cut = PcapHeader(false) + PcapRecord("abcdef", false);
  auto r = InspectCaptureFile(cut.substr(0, cut.size() - 2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "pcap record 1 is cut short (file truncated)");
}

TEST(CaptureFileTest, WritesAtomicallyAndLeavesNothingOnFailure) {
  fakes::TempDir dir;
  const std::string path = (dir.path() / "a.pcap").string();
  ASSERT_TRUE(WriteFileAtomically(path, "bytes").ok());
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "bytes");
  // A directory that does not exist: an error, and no temporary file anywhere.
  EXPECT_FALSE(WriteFileAtomically((dir.path() / "nope" / "b.pcap").string(), "x").ok());
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

}  // namespace
}  // namespace mpe::capture
