#pragma once

#include <openssl/ssl.h>

#include <filesystem>
#include <optional>
#include <string>

#include "fakes/temp_dir.h"

namespace mpe::http::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
using fakes::TempDir;

void WriteFile(const std::string& path, const std::string& content);

// Writes a new self-signed P-256 certificate (CN and SAN localhost, SAN IP 127.0.0.1, valid
// for a day) and its key as PEM files; returns the certificate's SHA-256 fingerprint (hex).
std::string WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path);

// A bcrypt ($2b$, cost 5: fast enough for tests) hash of `password`, made with libcrypt.
std::string BcryptHash(const std::string& password);

// "Basic base64(user:password)".
std::string BasicHeader(const std::string& user, const std::string& password);

struct HandshakeResult {
  bool ok = false;
  std::string peer_fingerprint;  // SHA-256 hex of the server certificate, when ok
  int version = 0;               // negotiated protocol (TLS1_2_VERSION, ...), when ok
};

// A raw OpenSSL client on a new TCP connection to 127.0.0.1:port, allowing exactly the
// protocol versions [min_version, max_version] (0: library default) at security level 0, so
// that only the server can be the one to refuse an old version. No certificate verification:
// the tests compare fingerprints instead.
HandshakeResult TlsHandshake(int port, int min_version, int max_version);

}  // namespace mpe::http::testing
