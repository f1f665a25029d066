#include "capture/archive_writer.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace mpe::capture {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kPcapMagic = 0xa1b2c3d4;
constexpr uint32_t kSnaplen = 65535;

void PutLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void PutLe32(uint8_t* p, uint32_t v) {
  PutLe16(p, static_cast<uint16_t>(v));
  PutLe16(p + 2, static_cast<uint16_t>(v >> 16));
}

void AppendSanitised(std::string* out, std::string_view s) {
  if (s.empty()) {
    out->push_back('_');
    return;
  }
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    out->push_back(ok ? c : '_');
  }
}

// The n of "<capture_key>-<n>.pcap", or -1 when `name` is not such a file.
int FileNumber(std::string_view name, std::string_view capture_key) {
  constexpr std::string_view kExt = ".pcap";
  if (name.size() <= capture_key.size() + 1 + kExt.size()) return -1;
  if (!name.starts_with(capture_key) || name[capture_key.size()] != '-' || !name.ends_with(kExt))
    return -1;
  std::string_view digits =
      name.substr(capture_key.size() + 1, name.size() - capture_key.size() - 1 - kExt.size());
  if (digits.empty() || digits.size() > 9) return -1;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

const char* ArchiveErrorName(ArchiveError e) {
  switch (e) {
    case ArchiveError::kNoSpace: return "no_space";
    case ArchiveError::kPermission: return "permission";
    case ArchiveError::kIo: return "io";
    case ArchiveError::kBadPcapRaw: return "bad_pcap_raw";
    default: return "unknown";
  }
}

ArchiveWriter::ArchiveWriter(const config::ArchiveConfig& config, prometheus::Registry& registry,
                             common::Clock& clock)
    : config_(config), clock_(clock) {
  bytes_family_ = &prometheus::BuildCounter()
                       .Name("mist_pcap_archive_bytes_total")
                       .Help("Bytes written to the pcap archive (headers included).")
                       .Register(registry);
  auto& errors = prometheus::BuildCounter()
                     .Name("mist_pcap_archive_errors_total")
                     .Help("Archive failures by reason; packets are dropped, ingestion goes on.")
                     .Register(registry);
  for (int i = 0; i < static_cast<int>(ArchiveError::kCount); ++i) {
    errors_[i] = &errors.Add({{"reason", ArchiveErrorName(static_cast<ArchiveError>(i))}});
  }
}

ArchiveWriter::~ArchiveWriter() { Close(); }

std::string ArchiveWriter::SanitisePathComponent(std::string_view s) {
  std::string out;
  AppendSanitised(&out, s);
  return out;
}

ArchiveError ArchiveWriter::Classify(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return ArchiveError::kNoSpace;
    case EACCES:
    case EPERM:
    case EROFS:
      return ArchiveError::kPermission;
    default:
      return ArchiveError::kIo;
  }
}

void ArchiveWriter::AddSite(const std::string& site_id, const std::string& site_name) {
  std::lock_guard<std::mutex> lock(mu_);
  names_[site_id] = site_name.empty() ? site_id : site_name;
}

void ArchiveWriter::Fail(ArchiveError reason, int err, std::string_view site_id,
                         const std::string& what, Site* site) {
  errors_[static_cast<int>(reason)]->Increment();
  const auto now = clock_.SteadyNow();
  if (site != nullptr) site->retry_at = now + kRetryAfter;
  std::string key = std::string(ArchiveErrorName(reason)) + "/" + std::string(site_id);
  auto it = last_log_.find(key);
  if (it != last_log_.end() && now - it->second < kLogEvery) return;
  last_log_[key] = now;
  spdlog::warn("archive: {} failed site={} reason={}{}{}", what, site_id, ArchiveErrorName(reason),
               err != 0 ? ": " : "", err != 0 ? std::strerror(err) : "");
}

ArchiveWriter::Site& ArchiveWriter::GetSite(const std::string& key, std::string_view site_id,
                                            std::string_view site_name) {
  auto it = sites_.find(key);
  if (it != sites_.end()) return it->second;
  Site site;
  if (!site_name.empty()) {
    site.name = std::string(site_name);
  } else if (auto n = names_.find(site_id); n != names_.end()) {
    site.name = n->second;
  } else {
    site.name = std::string(site_id);
  }
  site.bytes = &bytes_family_->Add({{"site_id", std::string(site_id)}, {"site", site.name}});
  return sites_.emplace(key, std::move(site)).first->second;
}

int ArchiveWriter::NextFileNumber(const std::string& site_key, const std::string& capture_key) {
  const std::string key = site_key + "/" + capture_key;
  auto it = next_n_.find(key);
  if (it == next_n_.end()) {
    int max_n = 0;
    std::error_code ec;
    for (fs::directory_iterator d(fs::path(config_.dir) / site_key, ec), end; !ec && d != end;
         d.increment(ec)) {
      max_n = std::max(max_n, FileNumber(d->path().filename().string(), capture_key));
    }
    it = next_n_.emplace(key, max_n + 1).first;
  }
  return it->second++;
}

ArchiveWriter::Stream& ArchiveWriter::GetStream(const std::string& site_key,
                                                const std::string& capture_key,
                                                uint32_t linktype) {
  key_.clear();
  key_.append(site_key).append("/").append(capture_key).append("/");
  key_.append(std::to_string(linktype));
  auto it = streams_.find(key_);
  if (it != streams_.end()) return *it->second;
  auto stream = std::make_unique<Stream>();
  stream->site_key = site_key;
  stream->capture_key = capture_key;
  stream->linktype = linktype;
  stream->n = NextFileNumber(site_key, capture_key);
  return *streams_.emplace(key_, std::move(stream)).first->second;
}

void ArchiveWriter::TouchLru(Stream& stream) {
  if (stream.in_lru) lru_.erase(stream.lru);
  lru_.push_front(&stream);
  stream.lru = lru_.begin();
  stream.in_lru = true;
}

bool ArchiveWriter::CloseStream(Stream& stream, Site* site, std::string_view site_id) {
  if (stream.in_lru) {
    lru_.erase(stream.lru);
    stream.in_lru = false;
  }
  if (stream.file == nullptr) return true;
  FILE* f = stream.file;
  stream.file = nullptr;
  int err = 0;
  if (std::fflush(f) != 0) err = errno;
  if (err == 0 && ::fsync(fileno(f)) != 0) err = errno;
  if (std::fclose(f) != 0 && err == 0) err = errno;
  if (err != 0) {
    Fail(Classify(err), err, site_id, "closing " + stream.path, site);
    return false;
  }
  return true;
}

bool ArchiveWriter::OpenStream(Site& site, Stream& stream) {
  while (lru_.size() >= kMaxOpenFiles) {
    Stream* victim = lru_.back();
    CloseStream(*victim, nullptr, victim->site_key);
  }
  stream.path = (fs::path(config_.dir) / stream.site_key /
                 (stream.capture_key + "-" + std::to_string(stream.n) + ".pcap"))
                    .string();
  FILE* f = std::fopen(stream.path.c_str(), "ab");
  if (f == nullptr) {
    const int err = errno;
    Fail(Classify(err), err, stream.site_key, "opening " + stream.path, &site);
    return false;
  }
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  stream.file = f;
  TouchLru(stream);
  if (size > 0) {
    stream.bytes = static_cast<uint64_t>(size);
    return true;
  }
  uint8_t header[decode::kPcapGlobalHeaderBytes] = {};
  PutLe32(header, kPcapMagic);
  PutLe16(header + 4, 2);
  PutLe16(header + 6, 4);
  PutLe32(header + 16, kSnaplen);
  PutLe32(header + 20, stream.linktype);
  if (std::fwrite(header, 1, sizeof header, f) != sizeof header) {
    const int err = errno;
    CloseStream(stream, nullptr, stream.site_key);
    Fail(Classify(err), err, stream.site_key, "writing " + stream.path, &site);
    return false;
  }
  stream.bytes = sizeof header;
  site.bytes->Increment(sizeof header);
  EnforceRetention(stream.site_key);
  return true;
}

void ArchiveWriter::EnforceRetention(const std::string& site_key) {
  struct Entry {
    fs::file_time_type mtime;
    std::string name;
    fs::path path;
  };
  std::vector<Entry> files;
  std::error_code ec;
  for (fs::directory_iterator d(fs::path(config_.dir) / site_key, ec), end; !ec && d != end;
       d.increment(ec)) {
    if (d->path().extension() != ".pcap") continue;
    std::error_code e2;
    auto mtime = fs::last_write_time(d->path(), e2);
    if (e2) continue;
    files.push_back(Entry{mtime, d->path().filename().string(), d->path()});
  }
  const size_t keep = static_cast<size_t>(std::max(1, config_.max_files_per_site));
  if (files.size() <= keep) return;
  std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.name < b.name;
  });
  size_t excess = files.size() - keep;
  for (const Entry& e : files) {
    if (excess == 0) break;
    const std::string path = e.path.string();
    const bool open = std::any_of(lru_.begin(), lru_.end(),
                                  [&](const Stream* s) { return s->path == path; });
    if (open) continue;
    std::error_code e3;
    if (fs::remove(e.path, e3)) {
      --excess;
    } else if (e3) {
      Fail(Classify(e3.value()), e3.value(), site_key, "removing " + path, nullptr);
    }
  }
}

void ArchiveWriter::CountBadPcapRaw(std::string_view site_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Fail(ArchiveError::kBadPcapRaw, 0, site_id, "decoding pcap_raw", nullptr);
}

void ArchiveWriter::Write(std::string_view site_id, std::string_view site_name,
                          std::string_view capture_id, const decode::Event& event) {
  if (event.packet.pcap_raw.empty()) return;
  // Per ingest thread, so decoding needs no lock and allocates nothing once grown.
  thread_local std::vector<uint8_t> scratch;
  auto raw = decode::DecodePcapRaw(event.packet.pcap_raw, &scratch);
  if (!raw.ok()) {
    CountBadPcapRaw(site_id);
    return;
  }
  const auto iface = event.packet.interface;
  const bool radiotap = iface == decode::Interface::kRadiotap ||
                        (iface != decode::Interface::kWired &&
                         (raw->linktype == decode::kLinktypeIeee80211Radiotap ||
                          decode::LooksLikeRadiotap(raw->packet)));
  WriteDecoded(site_id, site_name, capture_id, *raw, radiotap);
}

void ArchiveWriter::WriteDecoded(std::string_view site_id, std::string_view site_name,
                                 std::string_view capture_id, const decode::RawPacketInfo& raw,
                                 bool radiotap) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string site_key;
  AppendSanitised(&site_key, site_id);
  std::string capture_key;
  AppendSanitised(&capture_key, capture_id.empty() ? std::string_view("unknown") : capture_id);
  Site& site = GetSite(site_key, site_id, site_name);
  const auto now = clock_.SteadyNow();
  if (now < site.retry_at) return;  // backing off after a failure

  if (!site.dir_ready) {
    std::error_code ec;
    fs::create_directories(fs::path(config_.dir) / site_key, ec);
    if (ec) {
      Fail(Classify(ec.value()), ec.value(), site_id, "creating the archive directory", &site);
      return;
    }
    site.dir_ready = true;
  }

  const uint32_t linktype =
      radiotap ? decode::kLinktypeIeee80211Radiotap : decode::kLinktypeEthernet;
  Stream& stream = GetStream(site_key, capture_key, linktype);
  const size_t caplen = raw.packet.size();
  const uint64_t record = decode::kPcapRecordHeaderBytes + caplen;

  if (stream.file != nullptr && stream.bytes > decode::kPcapGlobalHeaderBytes &&
      stream.bytes + record > config_.rotate_bytes) {
    CloseStream(stream, &site, site_id);
    stream.n = NextFileNumber(site_key, capture_key);
    stream.bytes = 0;
  }
  if (stream.file == nullptr) {
    if (!OpenStream(site, stream)) return;
  } else {
    TouchLru(stream);
  }

  uint8_t header[decode::kPcapRecordHeaderBytes];
  const uint32_t usec = raw.nanosecond ? raw.ts_frac / 1000 : raw.ts_frac;
  PutLe32(header, raw.ts_sec);
  PutLe32(header + 4, usec);
  PutLe32(header + 8, static_cast<uint32_t>(caplen));
  PutLe32(header + 12, std::max<uint32_t>(raw.origlen, static_cast<uint32_t>(caplen)));
  if (std::fwrite(header, 1, sizeof header, stream.file) != sizeof header ||
      (caplen > 0 && std::fwrite(raw.packet.data(), 1, caplen, stream.file) != caplen)) {
    const int err = errno;
    // The file's tail is now unknown: drop it from the open set and start a new file later.
    if (stream.in_lru) {
      lru_.erase(stream.lru);
      stream.in_lru = false;
    }
    std::fclose(stream.file);
    stream.file = nullptr;
    stream.n = NextFileNumber(site_key, capture_key);
    stream.bytes = 0;
    Fail(Classify(err), err, site_id, "writing " + stream.path, &site);
    return;
  }
  stream.bytes += record;
  site.bytes->Increment(static_cast<double>(record));
}

void ArchiveWriter::OnCaptureEnd(std::string_view site_id, std::string_view capture_id) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix;
  AppendSanitised(&prefix, site_id);
  prefix.push_back('/');
  AppendSanitised(&prefix, capture_id.empty() ? std::string_view("unknown") : capture_id);
  next_n_.erase(prefix);
  prefix.push_back('/');
  Site* site = nullptr;
  if (auto s = sites_.find(prefix.substr(0, prefix.find('/'))); s != sites_.end())
    site = &s->second;
  for (auto it = streams_.lower_bound(prefix);
       it != streams_.end() && it->first.starts_with(prefix);) {
    CloseStream(*it->second, site, site_id);
    it = streams_.erase(it);
  }
}

void ArchiveWriter::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, stream] : streams_) {
    Site* site = nullptr;
    if (auto s = sites_.find(stream->site_key); s != sites_.end()) site = &s->second;
    CloseStream(*stream, site, stream->site_key);
  }
  streams_.clear();
  next_n_.clear();
}

}  // namespace mpe::capture
