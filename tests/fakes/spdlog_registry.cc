// The test binaries run the exporter's components in-process, as main() does: like main(),
// which sets up logging before it starts a thread, make spdlog's registry here, on the main
// thread, at load time. Otherwise the first log line of a test may come from an io thread, and
// ThreadSanitizer reports the main thread's later use of the registry as a race: libspdlog is
// a shared library built without TSan, so the guard of its lazy construction is invisible.
#include <spdlog/spdlog.h>

namespace {
const bool kRegistryMade = [] {
  spdlog::default_logger();
  return true;
}();
}  // namespace
