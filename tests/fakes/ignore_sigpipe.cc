// The test binaries run the exporter's components in-process, as main() does: like main(),
// ignore SIGPIPE, so a peer that closes first (a TLS client refusing a certificate, a fake
// server dropping a connection) makes a write fail with EPIPE instead of killing the test.
#include <csignal>

namespace {
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();
}  // namespace
