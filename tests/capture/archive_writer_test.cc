#include "capture/archive_writer.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "decode/event.h"
#include "decode/pcap_enricher.h"
#include "fakes/capture_test_util.h"

namespace mpe::capture {
namespace {

namespace fs = std::filesystem;
using fakes::MetricValue;
using fakes::ReadPcapFile;

constexpr const char* kSite = "978c48e6-6ef6-11e6-8bbf-02e208b2d34f";

// A radiotap (8-byte header, no fields) + 802.11 ACK frame, padded to `size` bytes.
std::string RadiotapPacket(size_t size, uint8_t fill) {
  std::string p("\x00\x00\x08\x00\x00\x00\x00\x00\xd4\x00\x00\x00\x11\x22\x33\x44\x55\x66", 18);
  if (size > p.size()) p.append(size - p.size(), static_cast<char>(fill));
  return p;
}

// Ethernet + ARP-ish payload, `size` bytes.
std::string EthernetPacket(size_t size, uint8_t fill) {
  std::string p("\xff\xff\xff\xff\xff\xff\xd4\x20\xb0\x81\x99\x2e\x08\x06", 14);
  if (size > p.size()) p.append(size - p.size(), static_cast<char>(fill));
  return p;
}

class ArchiveWriterTest : public ::testing::Test {
 protected:
  ArchiveWriterTest() { config_.dir = dir_.str(); }

  // A writer for which kSite is subscribed.
  std::unique_ptr<ArchiveWriter> Make() {
    auto w = std::make_unique<ArchiveWriter>(config_, registry_, clock_);
    w->AddSite(kSite, "");
    return w;
  }

  // Writes as the ingest path does (app/stream_ingest.cc): the event's pcap_raw decoded once by
  // decode::PcapEnricher, the record handed to the writer, a bad one counted. pcap_raw holds a
  // one-packet pcap with linktype 1 (as Mist's sample does, even for radiotap).
  void WriteEvent(ArchiveWriter& w, const std::string& capture, const std::string& packet,
                  decode::Interface iface, uint32_t linktype = 1, const char* site = kSite) {
    pcap_raw_ = fakes::Base64(fakes::OnePacketPcap(linktype, packet, 1700000000 + ++ts_, 250));
    decode::Event e;
    e.kind = decode::EventKind::kData;
    e.capture_id = capture;
    e.packet.interface = iface;
    e.packet.pcap_raw = pcap_raw_;
    Ingest(w, site, capture, e);
  }

  void Ingest(ArchiveWriter& w, const char* site, const std::string& capture, decode::Event& e) {
    enricher_.set_decode_every_packet(true);
    const decode::PcapView pcap = enricher_.Read(&e);
    if (pcap.record != nullptr) {
      w.WriteDecoded(site, "", capture, *pcap.record, pcap.radiotap);
    } else {
      w.CountBadPcapRaw(site);
    }
  }

  double Errors(const char* reason) {
    return MetricValue(registry_, "mist_pcap_archive_errors_total", {{"reason", reason}})
        .value_or(-1);
  }

  std::vector<std::string> Files(const std::string& site = kSite) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_.path() / site, ec)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fakes::TempDir dir_;
  config::ArchiveConfig config_;
  prometheus::Registry registry_;
  common::ManualClock clock_;
  std::string pcap_raw_;
  uint32_t ts_ = 0;
  decode::PcapEnricher enricher_;  // as the ingest thread has one
};

TEST_F(ArchiveWriterTest, WritesOneFilePerLinktypeWithCorrectedRadiotapLinktype) {
  auto w = Make();
  w->AddSite(kSite, "HQ");
  std::vector<std::string> radio, wired;
  for (int i = 0; i < 30; ++i) {
    radio.push_back(RadiotapPacket(40 + i, static_cast<uint8_t>(i)));
    WriteEvent(*w, "cap-1", radio.back(), decode::Interface::kRadiotap);
    if (i % 3 == 0) {
      wired.push_back(EthernetPacket(60 + i, static_cast<uint8_t>(i)));
      WriteEvent(*w, "cap-1", wired.back(), decode::Interface::kWired);
    }
  }
  w->OnCaptureEnd(kSite, "cap-1");
  ASSERT_EQ(Files(), (std::vector<std::string>{"cap-1-1.pcap", "cap-1-2.pcap"}));

  auto f1 = ReadPcapFile(dir_.path() / kSite / "cap-1-1.pcap");
  ASSERT_TRUE(f1.ok);
  EXPECT_EQ(f1.magic, 0xa1b2c3d4u);
  EXPECT_EQ(f1.snaplen, 65535u);
  EXPECT_EQ(f1.linktype, 127u);
  EXPECT_EQ(f1.packets, radio);
  auto f2 = ReadPcapFile(dir_.path() / kSite / "cap-1-2.pcap");
  ASSERT_TRUE(f2.ok);
  EXPECT_EQ(f2.linktype, 1u);
  EXPECT_EQ(f2.packets, wired);

  const double written = static_cast<double>(fs::file_size(dir_.path() / kSite / "cap-1-1.pcap") +
                                             fs::file_size(dir_.path() / kSite / "cap-1-2.pcap"));
  EXPECT_EQ(
      MetricValue(registry_, "mist_pcap_archive_bytes_total", {{"site_id", kSite}, {"site", "HQ"}}),
      written);
  EXPECT_EQ(Errors("io"), 0);
}

TEST_F(ArchiveWriterTest, DetectsRadiotapWithoutInterfaceFromTheBytes) {
  auto w = Make();
  WriteEvent(*w, "c", RadiotapPacket(50, 1), decode::Interface::kUnknown, 1);
  WriteEvent(*w, "c", EthernetPacket(50, 1), decode::Interface::kUnknown, 1);
  w->Close();
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "c-1.pcap").linktype, 127u);
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "c-2.pcap").linktype, 1u);
}

TEST_F(ArchiveWriterTest, RotatesAtRotateBytes) {
  config_.rotate_bytes = 1000;  // 24 + 8 records of 116 bytes = 952; the 9th rotates
  auto w = Make();
  for (int i = 0; i < 20; ++i)
    WriteEvent(*w, "cap", EthernetPacket(100, 7), decode::Interface::kWired);
  w->Close();
  ASSERT_EQ(Files(), (std::vector<std::string>{"cap-1.pcap", "cap-2.pcap", "cap-3.pcap"}));
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "cap-1.pcap").packets.size(), 8u);
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "cap-2.pcap").packets.size(), 8u);
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "cap-3.pcap").packets.size(), 4u);
  EXPECT_EQ(fs::file_size(dir_.path() / kSite / "cap-1.pcap"), 952u);
}

TEST_F(ArchiveWriterTest, RetentionKeepsTheNewestMaxFilesPerSite) {
  config_.rotate_bytes = 500;  // 4 records per file: 30 packets make 8 files
  config_.max_files_per_site = 2;
  auto w = Make();
  for (int i = 0; i < 30; ++i)
    WriteEvent(*w, "cap", EthernetPacket(100, 1), decode::Interface::kWired);
  w->Close();
  EXPECT_EQ(Files(), (std::vector<std::string>{"cap-7.pcap", "cap-8.pcap"}));
}

TEST_F(ArchiveWriterTest, NeverReusesAFileNumberFoundOnDisk) {
  fs::create_directories(dir_.path() / kSite);
  std::ofstream(dir_.path() / kSite / "cap-4.pcap") << "old";
  auto w = Make();
  WriteEvent(*w, "cap", EthernetPacket(60, 1), decode::Interface::kWired);
  w->Close();
  EXPECT_EQ(Files(), (std::vector<std::string>{"cap-4.pcap", "cap-5.pcap"}));
}

TEST_F(ArchiveWriterTest, UnwritableDirectoryIsCountedAndRetriedAfterTenSeconds) {
  std::ofstream(dir_.path() / "not-a-dir") << "x";
  config_.dir = (dir_.path() / "not-a-dir").string();
  auto w = Make();
  for (int i = 0; i < 50; ++i)
    WriteEvent(*w, "cap", EthernetPacket(60, 1), decode::Interface::kWired);
  EXPECT_EQ(Errors("io"), 1);       // one failed attempt, then the site waits
  EXPECT_EQ(Errors("paused"), 49);  // and every packet dropped meanwhile is counted
  clock_.Advance(std::chrono::seconds(11));
  WriteEvent(*w, "cap", EthernetPacket(60, 1), decode::Interface::kWired);
  EXPECT_EQ(Errors("io"), 2);
  EXPECT_EQ(Errors("no_space"), 0);
  EXPECT_EQ(Errors("permission"), 0);
}

TEST_F(ArchiveWriterTest, FullDiskIsCountedAsNoSpaceAndWritingResumesInANewFile) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full not available";
  auto w = Make();
  WriteEvent(*w, "victim", EthernetPacket(100, 1), decode::Interface::kWired);
  // Push "victim" out of the open-file set, then make its file a full disk.
  for (size_t i = 0; i < ArchiveWriter::kMaxOpenFiles; ++i) {
    WriteEvent(*w, "other" + std::to_string(i), EthernetPacket(60, 1), decode::Interface::kWired);
  }
  // /dev/full's device node in the site directory (a link would not be followed).
  const fs::path victim = dir_.path() / kSite / "victim-1.pcap";
  fs::remove(victim);
  struct stat full {};
  ASSERT_EQ(::stat("/dev/full", &full), 0);
  if (::mknod(victim.c_str(), S_IFCHR | 0666, full.st_rdev) != 0) {
    GTEST_SKIP() << "cannot create a device node here (needs CAP_MKNOD)";
  }
  for (int i = 0; i < 100; ++i) {
    WriteEvent(*w, "victim", EthernetPacket(100, 2), decode::Interface::kWired);
  }
  EXPECT_EQ(Errors("no_space"), 1);
  clock_.Advance(std::chrono::seconds(11));
  WriteEvent(*w, "victim", EthernetPacket(100, 3), decode::Interface::kWired);
  w->Close();
  auto resumed = ReadPcapFile(dir_.path() / kSite / "victim-2.pcap");
  ASSERT_TRUE(resumed.ok);
  EXPECT_EQ(resumed.packets.size(), 1u);
  EXPECT_EQ(Errors("no_space"), 1);
}

TEST_F(ArchiveWriterTest, BadBase64IsCountedAndNothingIsWritten) {
  auto w = Make();
  decode::Event e;
  e.kind = decode::EventKind::kData;
  e.packet.pcap_raw = "!!not base64!!";
  Ingest(*w, kSite, "cap", e);
  EXPECT_EQ(Errors("bad_pcap_raw"), 1);
  EXPECT_TRUE(Files().empty());
}

TEST_F(ArchiveWriterTest, SanitisesSiteAndCaptureIdsIntoOneDirectoryLevel) {
  auto w = Make();
  w->AddSite("../etc", "");
  WriteEvent(*w, "../../x/y", EthernetPacket(60, 1), decode::Interface::kWired, 1, "../etc");
  w->Close();
  const std::string site_key = ArchiveWriter::SafeKey("../etc");
  const std::string capture_key = ArchiveWriter::SafeKey("../../x/y");
  EXPECT_EQ(site_key.rfind("___etc-", 0), 0u) << site_key;
  EXPECT_EQ(capture_key.rfind("______x_y-", 0), 0u) << capture_key;
  EXPECT_TRUE(fs::exists(dir_.path() / site_key / (capture_key + "-1.pcap")));
  EXPECT_EQ(ArchiveWriter::SanitisePathComponent("a.b/c d-e_F9"), "a_b_c_d-e_F9");
  EXPECT_EQ(ArchiveWriter::SanitisePathComponent(""), "_");
  EXPECT_EQ(ArchiveWriter::SafeKey("cap-1_A"), "cap-1_A");  // safe ids keep their names
}

TEST_F(ArchiveWriterTest, PacketsOfSitesNeverAddedCreateNothingAndAreCounted) {
  auto w = Make();
  for (int i = 0; i < 3000; ++i) {
    const std::string site = "hostile-" + std::to_string(i);
    WriteEvent(*w, "cap", EthernetPacket(60, 1), decode::Interface::kWired, 1, site.c_str());
  }
  w->Close();
  EXPECT_EQ(Errors("unknown_site"), 3000);
  EXPECT_TRUE(fs::is_empty(dir_.path()));
  EXPECT_FALSE(MetricValue(registry_, "mist_pcap_archive_bytes_total",
                           {{"site_id", "hostile-1"}, {"site", "hostile-1"}})
                   .has_value());
  // A removed site stops being written too.
  w->RemoveSite(kSite);
  WriteEvent(*w, "cap", EthernetPacket(60, 1), decode::Interface::kWired);
  EXPECT_EQ(Errors("unknown_site"), 3001);
}

TEST_F(ArchiveWriterTest, CollidingIdsGetDistinctNamesAndLongOnesDoNotPauseTheSite) {
  auto w = Make();
  WriteEvent(*w, "a.b", EthernetPacket(60, 1), decode::Interface::kWired);
  WriteEvent(*w, "a/b", EthernetPacket(61, 2), decode::Interface::kWired);
  WriteEvent(*w, "a_b", EthernetPacket(62, 3), decode::Interface::kWired);
  const std::string long_a = std::string(5000, 'x') + "a";
  const std::string long_b = std::string(5000, 'x') + "b";
  WriteEvent(*w, long_a, EthernetPacket(63, 4), decode::Interface::kWired);
  WriteEvent(*w, long_b, EthernetPacket(64, 5), decode::Interface::kWired);
  WriteEvent(*w, "after", EthernetPacket(65, 6), decode::Interface::kWired);
  w->Close();
  const auto files = Files();
  EXPECT_EQ(files.size(), 6u);
  for (const auto& f : files) EXPECT_LE(f.size(), ArchiveWriter::kMaxKeyBytes + 17 + 8) << f;
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / (ArchiveWriter::SafeKey(long_b) + "-1.pcap"))
                .packets.size(),
            1u);
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "a_b-1.pcap").packets.size(), 1u);
  EXPECT_EQ(Errors("io"), 0);
  EXPECT_EQ(Errors("paused"), 0);
}

TEST_F(ArchiveWriterTest, NeverWritesThroughASymlinkedSiteDirectory) {
  fs::create_directories(dir_.path() / "elsewhere");
  fs::create_directory_symlink(dir_.path() / "elsewhere", dir_.path() / kSite);
  auto w = Make();
  WriteEvent(*w, "cap", EthernetPacket(60, 1), decode::Interface::kWired);
  w->Close();
  EXPECT_TRUE(fs::is_empty(dir_.path() / "elsewhere"));
  EXPECT_EQ(Errors("symlink"), 1);
}

TEST_F(ArchiveWriterTest, NeverAppendsToAPlantedLinkAndMovesPastIt) {
  std::ofstream(dir_.path() / "precious") << "keep";
  // A link already there when the site's files are first listed is simply skipped.
  fs::create_directories(dir_.path() / kSite);
  fs::create_symlink(dir_.path() / "precious", dir_.path() / kSite / "old-1.pcap");
  config_.rotate_bytes = 100;  // one 60-byte packet per file
  auto w = Make();
  WriteEvent(*w, "old", EthernetPacket(60, 1), decode::Interface::kWired);
  // One planted under the next name while we write: not followed, counted, moved past.
  WriteEvent(*w, "cap", EthernetPacket(60, 1), decode::Interface::kWired);
  fs::create_symlink(dir_.path() / "precious", dir_.path() / kSite / "cap-2.pcap");
  WriteEvent(*w, "cap", EthernetPacket(60, 2), decode::Interface::kWired);
  WriteEvent(*w, "cap", EthernetPacket(60, 3), decode::Interface::kWired);
  w->Close();
  EXPECT_EQ(fs::file_size(dir_.path() / "precious"), 4u);
  EXPECT_EQ(Errors("symlink"), 1);
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "cap-3.pcap").packets.size(), 1u);
  EXPECT_TRUE(fs::is_symlink(dir_.path() / kSite / "cap-2.pcap"));
  EXPECT_EQ(ReadPcapFile(dir_.path() / kSite / "old-2.pcap").packets.size(), 1u);
}

TEST_F(ArchiveWriterTest, RetentionNeverDeletesThroughALink) {
  config_.rotate_bytes = 500;
  config_.max_files_per_site = 2;
  fs::create_directories(dir_.path() / kSite);
  std::ofstream(dir_.path() / "precious.pcap") << "keep";
  fs::create_symlink(dir_.path() / "precious.pcap", dir_.path() / kSite / "aaa-1.pcap");
  auto w = Make();
  for (int i = 0; i < 30; ++i)
    WriteEvent(*w, "cap", EthernetPacket(100, 1), decode::Interface::kWired);
  w->Close();
  EXPECT_TRUE(fs::exists(dir_.path() / "precious.pcap"));
  EXPECT_TRUE(fs::is_symlink(dir_.path() / kSite / "aaa-1.pcap"));
  EXPECT_EQ(Files(), (std::vector<std::string>{"aaa-1.pcap", "cap-7.pcap", "cap-8.pcap"}));
}

TEST_F(ArchiveWriterTest, ReopensAFileEvictedFromTheOpenSetWithoutASecondHeader) {
  auto w = Make();
  WriteEvent(*w, "first", EthernetPacket(60, 1), decode::Interface::kWired);
  for (size_t i = 0; i < ArchiveWriter::kMaxOpenFiles + 2; ++i) {
    WriteEvent(*w, "c" + std::to_string(i), EthernetPacket(60, 1), decode::Interface::kWired);
  }
  WriteEvent(*w, "first", EthernetPacket(61, 2), decode::Interface::kWired);
  w->Close();
  auto f = ReadPcapFile(dir_.path() / kSite / "first-1.pcap");
  ASSERT_TRUE(f.ok);
  ASSERT_EQ(f.packets.size(), 2u);
  EXPECT_EQ(f.packets[1].size(), 61u);
}

TEST_F(ArchiveWriterTest, TsharkReadsEveryFileWithTheWrittenPacketLengths) {
  if (!fakes::HaveTshark()) GTEST_SKIP() << "tshark not installed";
  config_.rotate_bytes = 4000;
  auto w = Make();
  std::vector<size_t> radio_lengths, wired_lengths;
  for (int i = 0; i < 120; ++i) {
    const size_t len = 40 + (i * 7) % 90;
    if (i % 4 == 0) {
      WriteEvent(*w, "mix", EthernetPacket(len, 3), decode::Interface::kWired);
      wired_lengths.push_back(len);
    } else {
      WriteEvent(*w, "mix", RadiotapPacket(len, 3), decode::Interface::kRadiotap);
      radio_lengths.push_back(len);
    }
  }
  w->Close();
  size_t radio_seen = 0, wired_seen = 0;
  auto names = Files();
  auto number = [](const std::string& n) { return std::stoi(n.substr(4, n.size() - 9)); };
  std::sort(names.begin(), names.end(),
            [&](const std::string& a, const std::string& b) { return number(a) < number(b); });
  ASSERT_GT(names.size(), 2u);
  for (const auto& name : names) {
    const auto path = dir_.path() / kSite / name;
    auto file = ReadPcapFile(path);
    ASSERT_TRUE(file.ok) << name;
    auto out = fakes::RunCommand(std::string(fakes::kTshark) + " -r '" + path.string() +
                                 "' -T fields -e frame.cap_len 2>/dev/null");
    ASSERT_TRUE(out.has_value()) << "tshark failed on " << name;
    auto lines = fakes::SplitLines(*out);
    ASSERT_EQ(lines.size(), file.packets.size()) << name;
    auto& all = file.linktype == 127 ? radio_lengths : wired_lengths;
    auto& seen = file.linktype == 127 ? radio_seen : wired_seen;
    for (const auto& line : lines) {
      ASSERT_LT(seen, all.size());
      EXPECT_EQ(std::stoul(line), all[seen]) << name;
      ++seen;
    }
  }
  EXPECT_EQ(radio_seen, radio_lengths.size());
  EXPECT_EQ(wired_seen, wired_lengths.size());
}

}  // namespace
}  // namespace mpe::capture
