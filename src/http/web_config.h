#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace mpe::http {

enum class TlsVersion { kTls12, kTls13 };

struct TlsServerConfig {
  // Absolute, or relative to the process's working directory: paths written relative in the
  // web config file are resolved against that file's directory when it is loaded.
  std::string cert_file;  // PEM: the leaf certificate first, then any intermediates
  std::string key_file;   // PEM private key, unencrypted
  TlsVersion min_version = TlsVersion::kTls12;
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
