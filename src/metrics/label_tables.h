#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/mac.h"
#include "common/text.h"
#include "metrics/flat_map.h"
#include "metrics/label_value.h"
#include "metrics/series_store.h"
#include "metrics/text_format.h"

namespace mpe::metrics {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Bounded interning of label strings: past max_ids new values map to "other".
class StringTable {
 public:
  StringTable(const StringTable&) = delete;  // cache_ points into map_
  StringTable& operator=(const StringTable&) = delete;
  explicit StringTable(uint32_t max_ids, std::initializer_list<std::string_view> seed = {})
      : max_ids_(max_ids) {
    labels_ = {"unknown", "other"};
    for (std::string_view s : seed) Intern(s);
  }
  void set_stats(LabelValueStats* stats) { stats_ = stats; }
  uint32_t Intern(std::string_view v) {
    if (v.empty()) return kUnknownId;
    // A longer value is cut before it is looked up or kept: a hostile stream cannot make us
    // keep (or print) more than 256 bytes per value.
    if (v.size() > kMaxLabelValueBytes) [[unlikely]] {
      v = common::Utf8Prefix(v, kMaxLabelValueBytes);
      if (stats_ != nullptr) stats_->Count(kLabelTooLong);
    }
    // A direct-mapped cache in front of the hash map: label values repeat from message to
    // message, and comparing a few bytes is cheaper than hashing them.
    CacheSlot& slot = cache_[SlotOf(v)];
    if (slot.key != nullptr && *slot.key == v) return slot.id;
    auto it = map_.find(v);
    if (it == map_.end()) {
      if (labels_.size() >= max_ids_) return kOtherId;
      uint32_t id = static_cast<uint32_t>(labels_.size());
      // The decoder keeps valid UTF-8 only; EscapeLabelValue replaces anything else.
      if (stats_ != nullptr) stats_->Count(LabelValueFixes(v) & kLabelInvalidUtf8);
      labels_.push_back(EscapeLabelValue(v));
      it = map_.emplace(std::string(v), id).first;
    }
    slot = {&it->first, it->second};  // node-based map, never erased: the key stays put
    return it->second;
  }
  const std::string& Label(uint32_t id) const { return labels_[id]; }
  const std::vector<std::string>& labels() const { return labels_; }

 private:
  struct CacheSlot {
    const std::string* key = nullptr;
    uint32_t id = 0;
  };
  static size_t SlotOf(std::string_view v) {
    const auto b = [&v](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(v[i])); };
    return (v.size() * 7 + b(0) * 31 + b(v.size() / 2) * 131 + b(v.size() - 1)) & 63;
  }

  uint32_t max_ids_;
  LabelValueStats* stats_ = nullptr;
  std::vector<std::string> labels_;  // escaped label values
  std::unordered_map<std::string, uint32_t, StringViewHash, std::equal_to<>> map_;
  std::array<CacheSlot, 64> cache_{};
};

// AP MACs interned by their 48-bit value; ids of APs no series uses any more are recycled.
class ApTable {
 public:
  explicit ApTable(uint32_t max_ids) : max_ids_(max_ids) { labels_ = {"unknown", "other"}; }

  uint32_t Intern(bool present, uint64_t mac) {
    if (!present) return kUnknownId;
    uint64_t key = mac | (1ULL << 48);
    uint32_t id = index_.Find(key);
    if (id != FlatMap::kMissing) return id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
      labels_[id] = common::FormatMac(mac);
      macs_[id] = key;
    } else {
      if (labels_.size() >= max_ids_) return kOtherId;
      id = static_cast<uint32_t>(labels_.size());
      labels_.push_back(common::FormatMac(mac));
      macs_.resize(labels_.size(), 0);
      macs_[id] = key;
    }
    index_.Insert(key, id);
    return id;
  }

  // Frees every id not marked in `used` and rebuilds the index.
  void Retain(const std::vector<bool>& used) {
    index_.Clear();
    for (uint32_t id = 2; id < labels_.size(); ++id) {
      if (macs_[id] == 0) continue;
      if (id < used.size() && used[id]) {
        index_.Insert(macs_[id], id);
      } else {
        macs_[id] = 0;
        labels_[id].clear();
        free_.push_back(id);
      }
    }
  }

  const std::string& Label(uint32_t id) const { return labels_[id]; }
  const std::vector<std::string>& labels() const { return labels_; }
  size_t size() const { return labels_.size() - 2 - free_.size(); }
  size_t capacity_ids() const { return labels_.size(); }

 private:
  uint32_t max_ids_;
  FlatMap index_;
  std::vector<std::string> labels_;
  std::vector<uint64_t> macs_ = {0, 0};
  std::vector<uint32_t> free_;
};

}  // namespace mpe::metrics
