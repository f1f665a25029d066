#pragma once

#include <string>

namespace mpe::metrics {

// Appends the standard process_* metrics (cpu seconds, resident memory, start time, open fds,
// max fds, virtual memory) read from /proc/self. Thread-safe (reads only).
void AppendProcessMetrics(std::string* out);

}  // namespace mpe::metrics
