#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace mpe::http {

enum class TlsVersion { kTls12, kTls13 };

// exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType).
enum class ClientAuth {
  kNone,              // NoClientCert (the default)
  kRequest,           // RequestClientCert: asked for, not required, not verified
  kRequireAny,        // RequireAnyClientCert: required, not verified
  kVerifyIfGiven,     // VerifyClientCertIfGiven: verified against client_ca_file if sent
  kRequireAndVerify,  // RequireAndVerifyClientCert
};

// The TLS 1.2 cipher suites served when cipher_suites is not set: Mozilla's "intermediate"
// list without the DHE suites (ECDHE key exchange with AES-GCM or ChaCha20-Poly1305), in
// OpenSSL's spelling. TLS 1.3 suites are OpenSSL's defaults (not configurable, as in Go).
inline constexpr char kDefaultTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct TlsServerConfig {
  // Absolute, or relative to the process's working directory: paths written relative in the
  // web config file are resolved against that file's directory when it is loaded.
  std::string cert_file;  // PEM: the leaf certificate first, then any intermediates
  std::string key_file;   // PEM private key, unencrypted
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // OpenSSL names of the TLS 1.2 suites, from the Go names in cipher_suites; empty: the
  // default list above.
  std::vector<std::string> cipher_suites;
  std::string client_ca_file;  // PEM CA certificates for client certificates; resolved as above
  ClientAuth client_auth = ClientAuth::kNone;
};

// The parsed --web.config.file (Prometheus exporter-toolkit format, the subset we serve).
// A plain value; the bcrypt hashes it holds must never be logged or put in a message.
struct WebConfig {
  std::string source;                                   // the file it was read from, for log lines
  std::optional<TlsServerConfig> tls;                   // tls_server_config; nullopt: plain HTTP
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash; empty: no auth
};

// Reads and validates a web config file. Every rejection is one message
// "<file>:<line>: <key.path>: <problem>" (or "<file>: cannot read web config file: <reason>"),
// and no message ever contains a password hash. Besides the YAML it checks that the
// certificate and key files can be read, parse as PEM and belong together, so a typo stops the
// exporter at start rather than at the first scrape. Thread-safe (no shared state).
common::Result<WebConfig> LoadWebConfig(const std::string& path);

// The same from text; `source_path` names the file in messages and relative cert/key paths
// are resolved against its directory. Does not touch the certificate files.
common::Result<WebConfig> ParseWebConfig(std::string_view yaml, const std::string& source_path);

}  // namespace mpe::http
