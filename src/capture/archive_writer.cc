#include "capture/archive_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
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

bool SafeByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// FNV-1a 64: stable across runs and builds, so a restarted writer picks the same names.
uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// The names of a directory's entries (not "." and ".."), read through its handle.
std::vector<std::string> ListDir(int dir_fd) {
  std::vector<std::string> names;
  const int fd = ::dup(dir_fd);
  if (fd < 0) return names;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return names;
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(d);
  return names;
}

void AppendSanitised(std::string* out, std::string_view s) {
  if (s.empty()) {
    out->push_back('_');
    return;
  }
  for (char c : s) out->push_back(SafeByte(c) ? c : '_');
}

// SafeKey into *out (appended).
void AppendKey(std::string* out, std::string_view id) {
  if (!id.empty() && id.size() <= ArchiveWriter::kMaxKeyBytes &&
      std::all_of(id.begin(), id.end(), SafeByte)) {
    out->append(id);
    return;
  }
  AppendSanitised(out, id.substr(0, ArchiveWriter::kMaxKeyBytes));
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t h = Fnv1a64(id);
  out->push_back('-');
  for (int i = 15; i >= 0; --i) out->push_back(kHex[(h >> (4 * i)) & 0xf]);
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
    case ArchiveError::kNoSpace:
      return "no_space";
    case ArchiveError::kPermission:
      return "permission";
    case ArchiveError::kIo:
      return "io";
    case ArchiveError::kBadPcapRaw:
      return "bad_pcap_raw";
    case ArchiveError::kUnknownSite:
      return "unknown_site";
    case ArchiveError::kSymlink:
      return "symlink";
    case ArchiveError::kPaused:
      return "paused";
    default:
      return "unknown";
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

ArchiveWriter::~ArchiveWriter() {
  Close();
  for (auto& [key, site] : sites_) {
    if (site.dir_fd >= 0) ::close(site.dir_fd);
  }
  if (base_fd_ >= 0) ::close(base_fd_);
}

std::string ArchiveWriter::SanitisePathComponent(std::string_view s) {
  std::string out;
  AppendSanitised(&out, s);
  return out;
}

std::string ArchiveWriter::SafeKey(std::string_view id) {
  std::string out;
  AppendKey(&out, id);
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
    case ELOOP:
      return ArchiveError::kSymlink;
    default:
      return ArchiveError::kIo;
  }
}

void ArchiveWriter::AddSite(const std::string& site_id, const std::string& site_name) {
  std::lock_guard<std::mutex> lock(mu_);
  names_[site_id] = site_name.empty() ? site_id : site_name;
}

void ArchiveWriter::RemoveSite(const std::string& site_id) {
  std::lock_guard<std::mutex> lock(mu_);
  names_.erase(site_id);
  std::string prefix;
  AppendKey(&prefix, site_id);
  prefix.push_back('/');
  for (auto it = streams_.lower_bound(prefix);
       it != streams_.end() && it->first.starts_with(prefix);) {
    CloseStream(*it->second, nullptr, site_id);
    it = streams_.erase(it);
  }
}

int ArchiveWriter::SiteFd(const std::string& site_key) const {
  auto it = sites_.find(site_key);
  return it == sites_.end() ? -1 : it->second.dir_fd;
}

bool ArchiveWriter::OpenSiteDir(Site& site, const std::string& site_key, std::string_view site_id) {
  if (base_fd_ < 0) {
    std::error_code ec;
    fs::create_directories(config_.dir, ec);
    if (ec) {
      Fail(Classify(ec.value()), ec.value(), site_id, "creating the archive directory", &site);
      return false;
    }
    base_fd_ = ::open(config_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (base_fd_ < 0) {
      const int err = errno;
      Fail(Classify(err), err, site_id, "opening the archive directory", &site);
      return false;
    }
  }
  if (::mkdirat(base_fd_, site_key.c_str(), 0750) != 0 && errno != EEXIST) {
    const int err = errno;
    Fail(Classify(err), err, site_id, "creating the archive directory", &site);
    return false;
  }
  site.dir_fd =
      ::openat(base_fd_, site_key.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (site.dir_fd < 0) {
    const int err = errno;
    // A link where the site directory should be: O_NOFOLLOW answers ELOOP (or ENOTDIR).
    struct stat st {};
    const bool link =
        err == ELOOP || (::fstatat(base_fd_, site_key.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                         S_ISLNK(st.st_mode));
    Fail(link ? ArchiveError::kSymlink : Classify(err), err, site_id,
         "opening the archive directory", &site);
    return false;
  }
  return true;
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
    if (const int fd = SiteFd(site_key); fd >= 0) {
      for (const std::string& name : ListDir(fd))
        max_n = std::max(max_n, FileNumber(name, capture_key));
    }
    it = next_n_.emplace(key, max_n + 1).first;
  }
  return it->second++;
}

ArchiveWriter::Stream& ArchiveWriter::GetStream(const std::string& site_key,
                                                const std::string& capture_key, uint32_t linktype) {
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
  const std::string name = stream.capture_key + "-" + std::to_string(stream.n) + ".pcap";
  stream.path = (fs::path(config_.dir) / stream.site_key / name).string();
  // Relative to the site's handle and never through a link (a planted link would otherwise
  // make us append to any file we may write).
  const int fd = ::openat(site.dir_fd, name.c_str(),
                          O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
  FILE* f = fd >= 0 ? ::fdopen(fd, "ab") : nullptr;
  if (f == nullptr) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    if (err == ELOOP) {
      // A link planted under our next name: leave it, count the packet, move past it.
      Fail(ArchiveError::kSymlink, err, stream.site_key, "opening " + stream.path, nullptr);
      stream.n = NextFileNumber(stream.site_key, stream.capture_key);
      return false;
    }
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
    int64_t mtime_ns;
    std::string name;
  };
  const int dir_fd = SiteFd(site_key);
  if (dir_fd < 0) return;
  std::vector<Entry> files;
  for (std::string& name : ListDir(dir_fd)) {
    if (!name.ends_with(".pcap")) continue;
    struct stat st {};
    // Regular files only: a link is neither counted nor deleted (nor what it points to).
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    files.push_back(
        Entry{static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
              std::move(name)});
  }
  const size_t keep = static_cast<size_t>(std::max(1, config_.max_files_per_site));
  if (files.size() <= keep) return;
  std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) {
    return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.name < b.name;
  });
  size_t excess = files.size() - keep;
  for (const Entry& e : files) {
    if (excess == 0) break;
    const std::string path = (fs::path(config_.dir) / site_key / e.name).string();
    const bool open =
        std::any_of(lru_.begin(), lru_.end(), [&](const Stream* s) { return s->path == path; });
    if (open) continue;
    if (::unlinkat(dir_fd, e.name.c_str(), 0) == 0) {
      --excess;
    } else if (errno != ENOENT) {
      const int err = errno;
      Fail(Classify(err), err, site_key, "removing " + path, nullptr);
    }
  }
}

void ArchiveWriter::CountBadPcapRaw(std::string_view site_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (names_.find(site_id) == names_.end()) {
    errors_[static_cast<int>(ArchiveError::kUnknownSite)]->Increment();
    return;
  }
  Fail(ArchiveError::kBadPcapRaw, 0, site_id, "decoding pcap_raw", nullptr);
}

void ArchiveWriter::WriteDecoded(std::string_view site_id, std::string_view site_name,
                                 std::string_view capture_id, const decode::RawPacketInfo& raw,
                                 bool radiotap) {
  std::lock_guard<std::mutex> lock(mu_);
  if (names_.find(site_id) == names_.end()) {
    // Not a site we subscribed to: no directory, no file, no series; logged like a failure.
    Fail(ArchiveError::kUnknownSite, 0, "-", "writing a packet of an unknown site", nullptr);
    return;
  }
  std::string site_key;
  AppendKey(&site_key, site_id);
  std::string capture_key;
  AppendKey(&capture_key, capture_id.empty() ? std::string_view("unknown") : capture_id);
  Site& site = GetSite(site_key, site_id, site_name);
  const auto now = clock_.SteadyNow();
  if (now < site.retry_at) {  // backing off after a failure
    errors_[static_cast<int>(ArchiveError::kPaused)]->Increment();
    return;
  }
  if (site.dir_fd < 0 && !OpenSiteDir(site, site_key, site_id)) return;

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
  AppendKey(&prefix, site_id);
  prefix.push_back('/');
  AppendKey(&prefix, capture_id.empty() ? std::string_view("unknown") : capture_id);
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
