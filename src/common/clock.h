#pragma once

#include <atomic>
#include <chrono>

namespace mpe::common {

// Time source, injectable so tests need no sleeps. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time, for timestamps shown to users (metrics, logs).
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for intervals, deadlines and backoff.
  virtual std::chrono::steady_clock::time_point SteadyNow() const = 0;

  double NowSeconds() const {
    return std::chrono::duration<double>(Now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock tests move by hand. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::chrono::system_clock::time_point start =
                           std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)))
      : wall_ns_(start.time_since_epoch().count()) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::system_clock::duration(wall_ns_.load()));
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(steady_ns_.load()));
  }
  void Advance(std::chrono::nanoseconds d) {
    wall_ns_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d).count();
    steady_ns_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d).count();
  }

 private:
  std::atomic<std::chrono::system_clock::rep> wall_ns_;
  std::atomic<std::chrono::steady_clock::rep> steady_ns_{1'000'000'000};
};

}  // namespace mpe::common
