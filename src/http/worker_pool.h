#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mpe::http {

// A fixed set of threads running tasks in order, with a bounded queue: the web server puts
// bcrypt and scrape rendering here so that neither ever runs on (or blocks) the threads that
// accept, read and write connections. A full queue refuses the task instead of growing.
// Thread-safe: TrySubmit from any thread; Stop from the owner (also run by the destructor).
class WorkerPool {
 public:
  WorkerPool(std::string name, unsigned threads, size_t max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `task` dropped) when max_queued tasks are waiting or the pool is stopping.
  bool TrySubmit(std::function<void()> task);
  // Lets running tasks finish, drops the queued ones, joins the threads.
  void Stop();

  size_t queued() const;

 private:
  void Run();

  const std::string name_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mpe::http
