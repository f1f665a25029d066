#include "capture/capture_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mpe::capture {

namespace {

uint32_t Read32(std::string_view b, size_t at, bool swap) {
  uint32_t v = 0;
  std::memcpy(&v, b.data() + at, 4);
  return swap ? __builtin_bswap32(v) : v;
}

common::Result<CaptureFileInfo> InspectPcap(std::string_view b, bool swap) {
  constexpr size_t kHeader = 24;
  constexpr size_t kRecord = 16;
  if (b.size() < kHeader) return common::MakeError("pcap file shorter than its 24-byte header");
  CaptureFileInfo info{"pcap", 0};
  for (size_t at = kHeader; at < b.size();) {
    if (b.size() - at < kRecord) {
      return common::MakeError("pcap record " + std::to_string(info.packets + 1) +
                               " is cut short (file truncated)");
    }
    const uint32_t incl = Read32(b, at + 8, swap);
    if (b.size() - at - kRecord < incl) {
      return common::MakeError("pcap record " + std::to_string(info.packets + 1) +
                               " is cut short (file truncated)");
    }
    at += kRecord + incl;
    ++info.packets;
  }
  return info;
}

common::Result<CaptureFileInfo> InspectPcapng(std::string_view b) {
  CaptureFileInfo info{"pcapng", 0};
  bool swap = false;
  for (size_t at = 0; at < b.size();) {
    if (b.size() - at < 12) return common::MakeError("pcapng block cut short (file truncated)");
    const uint32_t raw_type = Read32(b, at, false);
    if (raw_type == 0x0A0D0D0A) {
      // Section header: its byte-order magic says how to read this section.
      const uint32_t magic = Read32(b, at + 8, false);
      if (magic == 0x1A2B3C4D) {
        swap = false;
      } else if (magic == 0x4D3C2B1A) {
        swap = true;
      } else {
        return common::MakeError("pcapng section header has no byte-order magic");
      }
    } else if (at == 0) {
      return common::MakeError("pcapng file does not start with a section header");
    }
    const uint32_t type = Read32(b, at, swap);
    const uint32_t length = Read32(b, at + 4, swap);
    if (length < 12 || length % 4 != 0 || length > b.size() - at) {
      return common::MakeError("pcapng block at offset " + std::to_string(at) +
                               " has a bad length (file truncated or corrupt)");
    }
    if (Read32(b, at + length - 4, swap) != length) {
      return common::MakeError("pcapng block at offset " + std::to_string(at) +
                               " has mismatched lengths");
    }
    if (type == 6 || type == 3 || type == 2) ++info.packets;
    at += length;
  }
  return info;
}

}  // namespace

common::Result<CaptureFileInfo> InspectCaptureFile(std::string_view b) {
  if (b.size() < 4)
    return common::MakeError("not a capture file (" + std::to_string(b.size()) + " bytes)");
  const uint32_t magic = Read32(b, 0, false);
  switch (magic) {
    case 0xA1B2C3D4:
    case 0xA1B23C4D:
      return InspectPcap(b, false);
    case 0xD4C3B2A1:
    case 0x4D3CB2A1:
      return InspectPcap(b, true);
    case 0x0A0D0D0A:
      return InspectPcapng(b);
    default:
      break;
  }
  return common::MakeError(
      "not a pcap or pcapng file (it starts with something else, e.g. an "
      "error page)");
}

common::Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return common::MakeError("cannot create " + tmp + ": " + std::strerror(errno));
  auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return common::MakeError(std::string(what) + " " + tmp + ": " + std::strerror(e));
  };
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return common::MakeError("cannot close " + tmp + ": " + std::strerror(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return common::MakeError("cannot rename to " + path + ": " + std::strerror(e));
  }
  return common::Ok{};
}

}  // namespace mpe::capture
