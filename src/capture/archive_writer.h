#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "config/config.h"
#include "decode/pcap_raw.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace mpe::capture {

// Why an archive write failed: the `reason` label of mist_pcap_archive_errors_total.
// Every packet not written is counted under one of them.
enum class ArchiveError : uint8_t {
  kNoSpace,
  kPermission,
  kIo,
  kBadPcapRaw,
  kUnknownSite,  // a site never added (a channel we did not subscribe to): nothing is created
  kSymlink,      // a site directory or file is a symbolic link: never followed
  kPaused,       // dropped while the site waits kRetryAfter after a failure
  kCount
};
const char* ArchiveErrorName(ArchiveError e);

// Appends every streamed pcap_raw packet to classic pcap files
// `<dir>/<site_id>/<capture_id>-<n>.pcap` (docs/spec.md §7), for sites added with AddSite only (a
// hostile stream cannot create directories or series for other sites). An id that is not
// already a safe name ([A-Za-z0-9_-], at most kMaxKeyBytes) is sanitised and gets a hash
// suffix, so ids that differ only in punctuation or after the cut stay apart. Files and site
// directories are opened relative to directory handles with O_NOFOLLOW: a symbolic link
// planted in the archive is never written or deleted through. A file holds one linktype (127 for
// radiotap, 1 for Ethernet), so a "radiotap,wired" capture writes two files with different
// n; n also advances on rotation at rotate_bytes and never reuses a number found on disk.
// At most kMaxOpenFiles FILE* stay open (least recently used closed first, with fsync); per
// site at most max_files_per_site files are kept (oldest by mtime, then name, removed).
//
// Failures (full disk, permissions, bad base64) are counted in mist_pcap_archive_errors_total,
// logged at warn at most once per (reason, site) per minute, and never stop ingestion; after
// an I/O failure the site's writes are skipped for kRetryAfter before the file is reopened.
//
// Thread-safety: all public methods are thread-safe (one mutex; several stream connections
// may write). Writes are plain buffered fwrite on the caller's (ingest) thread; fsync happens
// only on rotation, eviction, OnCaptureEnd and Close.
class ArchiveWriter {
 public:
  static constexpr size_t kMaxOpenFiles = 16;
  static constexpr std::chrono::seconds kRetryAfter{10};
  static constexpr std::chrono::seconds kLogEvery{60};

  ArchiveWriter(const config::ArchiveConfig& config, prometheus::Registry& registry,
                common::Clock& clock = common::SystemClock::Instance());
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  // Names a site for the `site` label (default: its id) and allows writing for it. Call before
  // its first packet; packets of sites never added are counted (unknown_site) and dropped.
  void AddSite(const std::string& site_id, const std::string& site_name);
  // Stops writing for the site (its open files are closed).
  void RemoveSite(const std::string& site_id);

  // Appends one packet: the record of its pcap_raw, decoded once by the caller
  // (decode::PcapEnricher); `radiotap` picks linktype 127. site_name may be empty (the AddSite
  // name or the id is used).
  void WriteDecoded(std::string_view site_id, std::string_view site_name,
                    std::string_view capture_id, const decode::RawPacketInfo& raw, bool radiotap);
  // Counts a pcap_raw that could not be decoded (reason bad_pcap_raw).
  void CountBadPcapRaw(std::string_view site_id);

  // Closes (fsync) the capture's files.
  void OnCaptureEnd(std::string_view site_id, std::string_view capture_id);
  // Flushes, fsyncs and closes every open file.
  void Close();

  // Only [A-Za-z0-9_-] survive; every other byte becomes '_'; "" becomes "_".
  static std::string SanitisePathComponent(std::string_view s);
  // The file-name part for an id: the id itself when it is safe and short, else its first
  // kMaxKeyBytes sanitised bytes, '-' and 16 hex digits of a hash of the whole id.
  static std::string SafeKey(std::string_view id);
  static constexpr size_t kMaxKeyBytes = 64;

 private:
  struct Stream {
    std::string site_key;  // sanitised site id
    std::string capture_key;
    uint32_t linktype = 0;
    int n = 0;
    std::string path;
    FILE* file = nullptr;
    uint64_t bytes = 0;  // file size
    std::list<Stream*>::iterator lru;
    bool in_lru = false;
  };
  struct Site {
    std::string name;
    prometheus::Counter* bytes = nullptr;
    std::chrono::steady_clock::time_point retry_at{};
    int dir_fd = -1;  // the site directory, opened with O_NOFOLLOW
  };

  Site& GetSite(const std::string& key, std::string_view site_id, std::string_view site_name);
  Stream& GetStream(const std::string& site_key, const std::string& capture_key, uint32_t linktype);
  int NextFileNumber(const std::string& site_key, const std::string& capture_key);
  // Opens the archive directory (following a link there: the operator chose it) and the
  // site's directory below it (never a link); false after counting the failure.
  bool OpenSiteDir(Site& site, const std::string& site_key, std::string_view site_id);
  int SiteFd(const std::string& site_key) const;
  // Opens (creating the header when the file is new) or reopens a stream's file.
  bool OpenStream(Site& site, Stream& stream);
  // fflush + fsync + fclose; returns false (and counts) on failure.
  bool CloseStream(Stream& stream, Site* site, std::string_view site_id);
  void TouchLru(Stream& stream);
  void EnforceRetention(const std::string& site_key);
  void Fail(ArchiveError reason, int err, std::string_view site_id, const std::string& what,
            Site* site);
  static ArchiveError Classify(int err);

  config::ArchiveConfig config_;
  common::Clock& clock_;
  prometheus::Family<prometheus::Counter>* bytes_family_;
  prometheus::Counter* errors_[static_cast<int>(ArchiveError::kCount)];

  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> names_;  // site id -> name (AddSite)
  std::map<std::string, Site, std::less<>> sites_;         // by sanitised id
  // (site_key + '/' + capture_key + '/' + linktype) -> stream
  std::map<std::string, std::unique_ptr<Stream>, std::less<>> streams_;
  // next n per (site_key + '/' + capture_key)
  std::map<std::string, int, std::less<>> next_n_;
  std::list<Stream*> lru_;  // front = most recently used, only streams with an open file
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> last_log_;
  std::string key_;   // reused lookup key
  int base_fd_ = -1;  // config_.dir
};

}  // namespace mpe::capture
