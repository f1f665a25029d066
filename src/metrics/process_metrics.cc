#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>

#include "metrics/text_format.h"

namespace mpe::metrics {

namespace {

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

// One family with one unlabelled sample: HELP, TYPE and "name value".
template <typename Value>
void Unlabelled(std::string* out, const char* name, const char* help, const char* type,
                Value value) {
  AppendHeader(out, name, help, type);
  out->append(name).push_back(' ');
  if constexpr (std::is_floating_point_v<Value>) {
    AppendDouble(out, value);
  } else {
    AppendUint(out, value);
  }
  out->push_back('\n');
}

}  // namespace

void AppendProcessMetrics(std::string* out) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the parenthesised command name, which may itself contain spaces.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));
  std::string f[24];
  for (auto& x : f) fields >> x;
  // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double utime = std::stod(f[11]) / ticks;
  const double stime = std::stod(f[12]) / ticks;
  const double start = BootTimeSeconds() + std::stod(f[19]) / ticks;
  const double vsize = std::stod(f[20]);
  const double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));

  size_t fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(d);
    if (fds > 0) --fds;  // the directory stream itself
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);

  Unlabelled(out, "process_cpu_seconds_total", "Total user and system CPU time in seconds.",
             "counter", utime + stime);
  Unlabelled(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", rss);
  Unlabelled(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", vsize);
  Unlabelled(out, "process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.", "gauge", start);
  Unlabelled(out, "process_open_fds", "Number of open file descriptors.", "gauge",
             static_cast<uint64_t>(fds));
  Unlabelled(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge",
             static_cast<uint64_t>(lim.rlim_cur));
}

}  // namespace mpe::metrics
