#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "http/web_config.h"

namespace mpe::http {

// A certificate chain and its private key, loaded from PEM files. Immutable once built; shared
// read-only between connection threads through a shared_ptr.
class CertKeyPair {
 public:
  ~CertKeyPair();
  CertKeyPair(const CertKeyPair&) = delete;
  CertKeyPair& operator=(const CertKeyPair&) = delete;

  // Loads both files and checks that the key belongs to the leaf certificate. Problems come
  // back as an Error whose code says which file is at fault (kCertFile / kKeyFile) and whose
  // message names the file but never includes key material.
  static common::Result<std::shared_ptr<const CertKeyPair>> Load(const std::string& cert_file,
                                                                 const std::string& key_file);
  static constexpr int kCertFile = 1;
  static constexpr int kKeyFile = 2;

  // Installs the pair on one connection (SSL_use_cert_and_key, replacing what the context
  // had). Returns false on an OpenSSL failure.
  bool UseOn(SSL* ssl) const;
  // Installs the pair as a context's default.
  bool UseOn(SSL_CTX* ctx) const;

  X509* leaf() const { return leaf_; }

 private:
  CertKeyPair() = default;

  X509* leaf_ = nullptr;
  STACK_OF(X509) * chain_ = nullptr;
  EVP_PKEY* key_ = nullptr;
};

// Serves the current certificate pair and re-reads the files when they change, so a renewed
// certificate (cert-manager, certbot) is picked up without a restart. Looks at the files'
// mtime, size and inode at most once per `check_interval`, on the handshake thread of a new
// connection; a pair that fails to load (e.g. the cert was replaced but not yet the key) is
// logged and counted, and the previous pair keeps serving until a later check succeeds.
// Thread-safe: Current() is called concurrently from the server's connection threads.
class CertReloader {
 public:
  CertReloader(std::string cert_file, std::string key_file,
               std::chrono::steady_clock::duration check_interval, common::Clock& clock);

  // Loads the files for the first time; must succeed before Current() is used.
  common::Status Init();
  // The pair a new connection should present (reloading first when due).
  std::shared_ptr<const CertKeyPair> Current();

  uint64_t reloads() const;
  uint64_t reload_failures() const;

 private:
  struct Stamp {
    int64_t mtime_ns = -2;  // never equal to a real file's or a missing file's (-1)
    int64_t size = -2;
    uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp StampOf(const std::string& path);

  const std::string cert_file_;
  const std::string key_file_;
  const std::chrono::steady_clock::duration check_interval_;
  common::Clock& clock_;

  mutable std::mutex mu_;
  std::shared_ptr<const CertKeyPair> current_;
  Stamp cert_stamp_;
  Stamp key_stamp_;
  Stamp failed_cert_stamp_;
  Stamp failed_key_stamp_;
  std::chrono::steady_clock::time_point last_check_;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
};

// Applies everything of `tls` but the certificate pair to a server context: protocol versions,
// the TLS 1.2 cipher list (ours or cipher_suites), server cipher preference, no compression
// or renegotiation, released idle buffers, and client certificate checks with client_ca_file.
common::Status ConfigureServerContext(SSL_CTX* ctx, const TlsServerConfig& tls);

}  // namespace mpe::http
