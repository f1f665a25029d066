#pragma once

// Helpers shared by the capture tests: temporary directories, pcap files (build and read
// back), base64, prometheus counter lookup and running tshark. Header-only (inline) so every
// test target can use it without link-time duplicates.

#include <prometheus/registry.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/temp_dir.h"

namespace mpe::fakes {

// A fresh directory under the system temp dir, removed with its content on destruction.
inline std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out += "=";
  }
  return out;
}

inline void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// A classic one-record pcap file (what Mist's pcap_raw holds).
inline std::string OnePacketPcap(uint32_t linktype, std::string_view packet, uint32_t ts_sec = 1,
                                 uint32_t ts_usec = 0) {
  std::string out;
  PutLe32(&out, 0xa1b2c3d4);
  out += std::string("\x02\x00\x04\x00", 4);
  PutLe32(&out, 0);
  PutLe32(&out, 0);
  PutLe32(&out, 65535);
  PutLe32(&out, linktype);
  PutLe32(&out, ts_sec);
  PutLe32(&out, ts_usec);
  PutLe32(&out, static_cast<uint32_t>(packet.size()));
  PutLe32(&out, static_cast<uint32_t>(packet.size()));
  out.append(packet);
  return out;
}

struct PcapFile {
  bool ok = false;
  uint32_t magic = 0;
  uint32_t snaplen = 0;
  uint32_t linktype = 0;
  std::vector<std::string> packets;
};

// Reads a little-endian classic pcap file written by the archive.
inline PcapFile ReadPcapFile(const std::filesystem::path& path) {
  PcapFile f;
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto le32 = [&](size_t at) {
    return uint32_t(uint8_t(data[at])) | uint32_t(uint8_t(data[at + 1])) << 8 |
           uint32_t(uint8_t(data[at + 2])) << 16 | uint32_t(uint8_t(data[at + 3])) << 24;
  };
  if (data.size() < 24) return f;
  f.magic = le32(0);
  f.snaplen = le32(16);
  f.linktype = le32(20);
  size_t at = 24;
  while (at + 16 <= data.size()) {
    const uint32_t caplen = le32(at + 8);
    if (at + 16 + caplen > data.size()) return f;
    f.packets.push_back(data.substr(at + 16, caplen));
    at += 16 + caplen;
  }
  f.ok = at == data.size();
  return f;
}

// The value of a counter/gauge series with exactly `labels`; nullopt when absent.
inline std::optional<double> MetricValue(prometheus::Registry& registry, const std::string& name,
                                         const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : m.label) got[l.name] = l.value;
      if (got != labels) continue;
      return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return std::nullopt;
}

inline constexpr const char* kTshark = "/usr/bin/tshark";
inline bool HaveTshark() { return ::access(kTshark, X_OK) == 0; }

// Runs a shell command and returns its stdout; nullopt when it fails.
inline std::optional<std::string> RunCommand(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0) return std::nullopt;
  return out;
}

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// tshark -T fields over `path`: one row per packet, one cell per field ("" when absent). With
// `decimal`, numeric cells tshark prints in hex (status and reason codes: "0x0011") are
// turned into decimal.
inline std::vector<std::vector<std::string>> TsharkRows(const std::string& path,
                                                        const std::vector<std::string>& fields,
                                                        bool decimal = false) {
  std::string cmd = std::string(kTshark) + " -r '" + path + "' -T fields -E occurrence=f";
  for (const auto& f : fields) cmd += " -e " + f;
  cmd += " 2>/dev/null";
  auto out = RunCommand(cmd);
  std::vector<std::vector<std::string>> rows;
  if (!out) return rows;
  for (const auto& line : SplitLines(*out)) {
    std::vector<std::string> cells;
    size_t start = 0;
    while (true) {
      size_t tab = line.find('\t', start);
      cells.push_back(
          line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    cells.resize(fields.size());
    for (auto& c : cells) {
      if (decimal && !c.empty() && c[0] >= '0' && c[0] <= '9' && c.find(':') == std::string::npos) {
        c = std::to_string(std::stol(c, nullptr, 0));
      }
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

}  // namespace mpe::fakes
