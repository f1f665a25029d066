#include "http/tls_certs.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>

namespace mpe::http {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// Reads a whole file; the error text is errno's.
common::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return common::MakeError(std::error_code(errno, std::generic_category()).message());
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return common::MakeError("read error");
  return data;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

}  // namespace

CertKeyPair::~CertKeyPair() {
  X509_free(leaf_);
  if (chain_ != nullptr) sk_X509_pop_free(chain_, X509_free);
  EVP_PKEY_free(key_);
}

common::Result<std::shared_ptr<const CertKeyPair>> CertKeyPair::Load(const std::string& cert_file,
                                                                     const std::string& key_file) {
  auto cert_pem = ReadFile(cert_file);
  if (!cert_pem.ok()) {
    return common::MakeError("cannot read " + Quote(cert_file) + ": " + cert_pem.error().message,
                             kCertFile);
  }
  auto key_pem = ReadFile(key_file);
  if (!key_pem.ok()) {
    return common::MakeError("cannot read " + Quote(key_file) + ": " + key_pem.error().message,
                             kKeyFile);
  }
  std::shared_ptr<CertKeyPair> pair(new CertKeyPair());
  {
    BioPtr bio = MemBio(*cert_pem);
    pair->leaf_ = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (pair->leaf_ == nullptr) {
      ERR_clear_error();
      return common::MakeError("no PEM certificate in " + Quote(cert_file), kCertFile);
    }
    pair->chain_ = sk_X509_new_null();
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(pair->chain_, extra);
    }
    ERR_clear_error();  // the loop ends on a "no start line" error
  }
  {
    BioPtr bio = MemBio(*key_pem);
    // A null password callback with an empty password: an encrypted key fails instead of
    // prompting on the terminal.
    pair->key_ = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(""));
    if (pair->key_ == nullptr) {
      ERR_clear_error();
      return common::MakeError("no unencrypted PEM private key in " + Quote(key_file), kKeyFile);
    }
  }
  if (X509_check_private_key(pair->leaf_, pair->key_) != 1) {
    ERR_clear_error();
    return common::MakeError("the private key in " + Quote(key_file) +
                                 " does not match the certificate in " + Quote(cert_file),
                             kKeyFile);
  }
  return std::shared_ptr<const CertKeyPair>(std::move(pair));
}

bool CertKeyPair::UseOn(SSL* ssl) const {
  return SSL_use_cert_and_key(ssl, leaf_, key_, chain_, 1) == 1;
}

bool CertKeyPair::UseOn(SSL_CTX* ctx) const {
  return SSL_CTX_use_cert_and_key(ctx, leaf_, key_, chain_, 1) == 1;
}

CertReloader::CertReloader(std::string cert_file, std::string key_file,
                           std::chrono::steady_clock::duration check_interval, common::Clock& clock)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      check_interval_(check_interval),
      clock_(clock) {}

CertReloader::Stamp CertReloader::StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Stamp{-1, -1, 0};
  return Stamp{static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
               static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
}

common::Status CertReloader::Init() {
  Stamp cert_stamp = StampOf(cert_file_);
  Stamp key_stamp = StampOf(key_file_);
  auto pair = CertKeyPair::Load(cert_file_, key_file_);
  if (!pair.ok()) return pair.error();
  std::lock_guard<std::mutex> lock(mu_);
  current_ = *pair;
  cert_stamp_ = cert_stamp;
  key_stamp_ = key_stamp;
  last_check_ = clock_.SteadyNow();
  return common::Ok{};
}

std::shared_ptr<const CertKeyPair> CertReloader::Current() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = clock_.SteadyNow();
    if (now - last_check_ < check_interval_) return current_;
    // Claim this check so concurrent handshakes keep serving the current pair meanwhile.
    last_check_ = now;
  }
  // File system work happens outside the lock. Only this thread checks until the next
  // interval, so the stamps read here cannot race another reload.
  const Stamp cert_stamp = StampOf(cert_file_);
  const Stamp key_stamp = StampOf(key_file_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool unchanged = cert_stamp == cert_stamp_ && key_stamp == key_stamp_;
    // Files that already failed to load are not retried (nor logged again) until they change.
    const bool known_bad = cert_stamp == failed_cert_stamp_ && key_stamp == failed_key_stamp_;
    if (unchanged || known_bad) return current_;
  }
  auto pair = CertKeyPair::Load(cert_file_, key_file_);
  std::lock_guard<std::mutex> lock(mu_);
  if (!pair.ok()) {
    ++reload_failures_;
    failed_cert_stamp_ = cert_stamp;
    failed_key_stamp_ = key_stamp;
    spdlog::warn("tls: keeping the previous certificate; reloading {} / {} failed: {}", cert_file_,
                 key_file_, pair.error().message);
    return current_;
  }
  current_ = *pair;
  cert_stamp_ = cert_stamp;
  key_stamp_ = key_stamp;
  ++reloads_;
  spdlog::info("tls: reloaded certificate {} and key {}", cert_file_, key_file_);
  return current_;
}

uint64_t CertReloader::reloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

uint64_t CertReloader::reload_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reload_failures_;
}

namespace {

// RequestClientCert and RequireAnyClientCert take any certificate, as Go does.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

common::Status ConfigureServerContext(SSL_CTX* ctx, const TlsServerConfig& tls) {
  auto version = [](TlsVersion v) {
    return v == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  };
  if (SSL_CTX_set_min_proto_version(ctx, version(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, version(tls.max_version)) != 1) {
    ERR_clear_error();
    return common::MakeError("cannot set the TLS versions");
  }
  std::string ciphers;
  for (const std::string& c : tls.cipher_suites) ciphers += (ciphers.empty() ? "" : ":") + c;
  if (ciphers.empty()) ciphers = kDefaultTls12Ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    ERR_clear_error();
    return common::MakeError("no usable cipher in \"" + ciphers + "\"");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
                               SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
  // Idle connections then hold no 16 KiB read/write buffers, and no server-side session
  // cache grows with every client (resumption still works with stateless tickets).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      ERR_clear_error();
      return common::MakeError("cannot load client_ca_file " + Quote(tls.client_ca_file));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr) {
      ERR_clear_error();
      return common::MakeError("no PEM certificate in client_ca_file " + Quote(tls.client_ca_file));
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  switch (tls.client_auth) {
    case ClientAuth::kNone:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequest:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &AcceptAnyCertificate);
      break;
    case ClientAuth::kRequireAny:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         &AcceptAnyCertificate);
      break;
    case ClientAuth::kVerifyIfGiven:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::kRequireAndVerify:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  return common::Ok{};
}

}  // namespace mpe::http
