#pragma once

#include <chrono>
#include <cstdint>

namespace mpe::common {

// Exponential backoff with full jitter between `min` and `max`. Not thread-safe: one
// owner (a poller, a stream session) calls it.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, uint64_t seed = 0);
  // The next delay: min * 2^attempts capped at max, with jitter in [delay/2, delay].
  std::chrono::milliseconds Next();
  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  int attempts_ = 0;
  uint64_t state_;
};

}  // namespace mpe::common
