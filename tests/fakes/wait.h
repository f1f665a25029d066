#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace mpe::fakes {

// The one wait of the tests: polls `done` every `poll` until it holds or `timeout` has passed,
// then looks once more. Waits for what a test cannot control (threads, sockets); time a test
// can control it moves itself (common::ManualClock).
inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

}  // namespace mpe::fakes
