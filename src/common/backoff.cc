#include "common/backoff.h"

#include <algorithm>
#include <random>

namespace mpe::common {

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, uint64_t seed)
    : min_(min), max_(std::max(min, max)), state_(seed ? seed : std::random_device{}()) {}

std::chrono::milliseconds Backoff::Next() {
  int64_t base = min_.count();
  for (int i = 0; i < attempts_ && base < max_.count(); ++i) base *= 2;
  base = std::min<int64_t>(std::max<int64_t>(base, 1), max_.count());
  ++attempts_;
  // xorshift64*: cheap, seeded per owner so replicas do not retry in lockstep.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  uint64_t r = state_ * 2685821657736338717ULL;
  int64_t half = base / 2;
  int64_t jitter = half > 0 ? static_cast<int64_t>(r % static_cast<uint64_t>(half + 1)) : 0;
  return std::chrono::milliseconds(std::max<int64_t>(base - jitter, min_.count() > 0 ? 1 : 0));
}

}  // namespace mpe::common
