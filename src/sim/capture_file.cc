#include "sim/capture_file.h"

#include <algorithm>

namespace mpe::sim {

namespace {

void Le16(std::string* b, uint32_t v) {
  b->push_back(static_cast<char>(v & 0xff));
  b->push_back(static_cast<char>((v >> 8) & 0xff));
}
void Le32(std::string* b, uint32_t v) {
  Le16(b, v & 0xffff);
  Le16(b, v >> 16);
}
uint32_t ReadLe32(std::string_view s, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])); };
  return u(0) | u(1) << 8 | u(2) << 16 | u(3) << 24;
}

}  // namespace

CaptureRecording::CaptureRecording(size_t max_packets, int snaplen, std::vector<uint16_t> linktypes,
                                   RecordingTotals* totals)
    : max_packets_(max_packets),
      snaplen_(snaplen > 0 ? snaplen : 65535),
      linktypes_(std::move(linktypes)),
      totals_(totals),
      full_(max_packets == 0) {}

bool CaptureRecording::Full() const { return full_.load(std::memory_order_relaxed); }

void CaptureRecording::Add(int linktype, std::string_view record) {
  delivered_.fetch_add(1, std::memory_order_relaxed);
  auto drop = [this] {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    if (totals_ != nullptr) totals_->dropped.fetch_add(1, std::memory_order_relaxed);
  };
  // Once full (the steady state of a long capture) a packet costs two atomic increments.
  if (full_.load(std::memory_order_relaxed) || record.size() < 16) return drop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!released_ && packets_.size() < max_packets_) {
      packets_.push_back(Packet{static_cast<uint16_t>(linktype), std::string(record)});
      if (packets_.size() >= max_packets_) full_.store(true, std::memory_order_relaxed);
      if (totals_ != nullptr) totals_->recorded.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  drop();
}

uint64_t CaptureRecording::delivered() const { return delivered_.load(std::memory_order_relaxed); }

uint64_t CaptureRecording::dropped() const { return dropped_.load(std::memory_order_relaxed); }

void CaptureRecording::Release() {
  std::lock_guard<std::mutex> lock(mu_);
  released_ = true;
  full_.store(true, std::memory_order_relaxed);
  std::vector<Packet>().swap(packets_);
}

bool CaptureRecording::released() const {
  std::lock_guard<std::mutex> lock(mu_);
  return released_;
}

std::string CaptureRecording::File(bool* ng) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint16_t> links = linktypes_;
  for (const Packet& p : packets_) {
    if (std::find(links.begin(), links.end(), p.linktype) == links.end()) {
      links.push_back(p.linktype);
    }
  }
  if (links.empty()) links.push_back(1);
  std::string out;
  *ng = links.size() > 1;
  if (!*ng) {
    Le32(&out, 0xa1b2c3d4);
    Le16(&out, 2);
    Le16(&out, 4);
    Le32(&out, 0);
    Le32(&out, 0);
    Le32(&out, static_cast<uint32_t>(snaplen_));
    Le32(&out, links[0]);
    for (const Packet& p : packets_) out += p.record;
    return out;
  }
  // pcapng: section header, one interface description per link type (in order of first use),
  // one enhanced packet block per packet (microsecond timestamps, the default resolution).
  Le32(&out, 0x0a0d0d0a);
  Le32(&out, 28);
  Le32(&out, 0x1a2b3c4d);
  Le16(&out, 1);
  Le16(&out, 0);
  Le32(&out, 0xffffffff);  // section length unknown (-1)
  Le32(&out, 0xffffffff);
  Le32(&out, 28);
  for (uint16_t link : links) {
    Le32(&out, 1);
    Le32(&out, 20);
    Le16(&out, link);
    Le16(&out, 0);
    Le32(&out, static_cast<uint32_t>(snaplen_));
    Le32(&out, 20);
  }
  for (const Packet& p : packets_) {
    std::string_view r = p.record;
    uint64_t us = uint64_t{ReadLe32(r, 0)} * 1000000 + ReadLe32(r, 4);
    uint32_t caplen = ReadLe32(r, 8);
    uint32_t padded = (caplen + 3) & ~3u;
    uint32_t total = 32 + padded;
    Le32(&out, 6);
    Le32(&out, total);
    Le32(&out,
         static_cast<uint32_t>(std::find(links.begin(), links.end(), p.linktype) - links.begin()));
    Le32(&out, static_cast<uint32_t>(us >> 32));
    Le32(&out, static_cast<uint32_t>(us & 0xffffffff));
    Le32(&out, caplen);
    Le32(&out, ReadLe32(r, 12));
    out.append(r.substr(16, caplen));
    out.append(padded - caplen, '\0');
    Le32(&out, total);
  }
  return out;
}

}  // namespace mpe::sim
