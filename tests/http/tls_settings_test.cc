// exporter-toolkit's TLS settings as the server applies them: the default TLS 1.2 cipher list,
// cipher_suites, min/max_version and client certificates, checked with a raw OpenSSL client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "fakes/http_test_support.h"
#include "http/server.h"

namespace mpe::http {
namespace {

// A self-signed RSA-2048 certificate for localhost: static-RSA key exchange needs an RSA key,
// so only with one can a test tell whether those suites are offered.
void WriteRsaCert(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  FILE* f = std::fopen(cert_path.c_str(), "wb");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "wb");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
}

struct ClientOptions {
  int version = 0;        // 0: any; else exactly this one
  std::string ciphers;    // TLS 1.2 list; empty: OpenSSL's default
  std::string cert_file;  // client certificate, optional
  std::string key_file;
};

struct Handshake {
  bool ok = false;
  std::string cipher;
  int version = 0;
};

// A handshake that also proves the server accepted it: the client sends a request and must
// read an answer (with TLS 1.3 a refused client certificate shows only after the handshake).
Handshake Connect(int port, const ClientOptions& o) {
  Handshake result;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);
  if (o.version != 0) {
    SSL_CTX_set_min_proto_version(ctx, o.version);
    SSL_CTX_set_max_proto_version(ctx, o.version);
  }
  if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str());
  if (!o.cert_file.empty()) {
    SSL_CTX_use_certificate_file(ctx, o.cert_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      char buf[256];
      if (SSL_write(ssl, req.data(), static_cast<int>(req.size())) > 0 &&
          SSL_read(ssl, buf, sizeof buf) > 0 && std::string(buf, 12) == "HTTP/1.1 200") {
        result.ok = true;
        result.cipher = SSL_get_cipher_name(ssl);
        result.version = SSL_version(ssl);
      }
    }
    SSL_free(ssl);
  }
  ::close(fd);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return result;
}

class TlsSettingsTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& tls_extra, bool rsa = false) {
    if (rsa) {
      WriteRsaCert(dir_.File("server.crt"), dir_.File("server.key"));
    } else {
      testing::WriteSelfSignedCert(dir_.File("server.crt"), dir_.File("server.key"));
    }
    testing::WriteFile(
        dir_.File("web.yml"),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + tls_extra);
    auto web = LoadWebConfig(dir_.File("web.yml"));
    ASSERT_TRUE(web.ok()) << web.error().message;
    server_ = std::make_unique<HttpServer>(Handlers{});
    auto st = server_->Start("127.0.0.1:0", &*web);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  testing::TempDir dir_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsSettingsTest, Tls12OffersNoStaticRsaSuitesByDefault) {
  StartServer("", /*rsa=*/true);
  ClientOptions static_rsa{
      TLS1_2_VERSION, "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA", {}, {}};
  EXPECT_FALSE(Connect(server_->port(), static_rsa).ok);
  ClientOptions cbc{TLS1_2_VERSION, "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA", {}, {}};
  EXPECT_FALSE(Connect(server_->port(), cbc).ok);
  auto ecdhe = Connect(server_->port(), {TLS1_2_VERSION, "", {}, {}});
  ASSERT_TRUE(ecdhe.ok);
  EXPECT_EQ(ecdhe.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
  ClientOptions chacha{TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305", {}, {}};
  EXPECT_TRUE(Connect(server_->port(), chacha).ok);
}

TEST_F(TlsSettingsTest, CipherSuitesNarrowTheTls12List) {
  StartServer("  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n");
  ClientOptions aes128{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", {}, {}};
  EXPECT_FALSE(Connect(server_->port(), aes128).ok);
  auto aes256 = Connect(server_->port(), {TLS1_2_VERSION, "", {}, {}});
  ASSERT_TRUE(aes256.ok);
  EXPECT_EQ(aes256.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST_F(TlsSettingsTest, MaxVersionTls12RefusesTls13) {
  StartServer("  max_version: TLS12\n");
  EXPECT_FALSE(Connect(server_->port(), {TLS1_3_VERSION, "", {}, {}}).ok);
  auto any = Connect(server_->port(), {});
  ASSERT_TRUE(any.ok);
  EXPECT_EQ(any.version, TLS1_2_VERSION);
}

TEST_F(TlsSettingsTest, RequireAndVerifyClientCertWantsACertificateFromTheCa) {
  testing::WriteSelfSignedCert(dir_.File("client.crt"), dir_.File("client.key"));
  testing::WriteSelfSignedCert(dir_.File("stranger.crt"), dir_.File("stranger.key"));
  StartServer("  client_ca_file: client.crt\n  client_auth_type: RequireAndVerifyClientCert\n");
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    EXPECT_FALSE(Connect(server_->port(), {version, "", {}, {}}).ok) << version;
    EXPECT_FALSE(Connect(server_->port(),
                         {version, "", dir_.File("stranger.crt"), dir_.File("stranger.key")})
                     .ok)
        << version;
    EXPECT_TRUE(
        Connect(server_->port(), {version, "", dir_.File("client.crt"), dir_.File("client.key")})
            .ok)
        << version;
  }
}

TEST_F(TlsSettingsTest, VerifyClientCertIfGivenLetsClientsWithoutOneIn) {
  testing::WriteSelfSignedCert(dir_.File("client.crt"), dir_.File("client.key"));
  testing::WriteSelfSignedCert(dir_.File("stranger.crt"), dir_.File("stranger.key"));
  StartServer("  client_ca_file: client.crt\n  client_auth_type: VerifyClientCertIfGiven\n");
  EXPECT_TRUE(Connect(server_->port(), {}).ok);
  EXPECT_FALSE(
      Connect(server_->port(), {0, "", dir_.File("stranger.crt"), dir_.File("stranger.key")}).ok);
  EXPECT_TRUE(
      Connect(server_->port(), {0, "", dir_.File("client.crt"), dir_.File("client.key")}).ok);
}

TEST_F(TlsSettingsTest, RequireAnyClientCertTakesAnyCertificate) {
  testing::WriteSelfSignedCert(dir_.File("stranger.crt"), dir_.File("stranger.key"));
  StartServer("  client_auth_type: RequireAnyClientCert\n");
  EXPECT_FALSE(Connect(server_->port(), {}).ok);
  EXPECT_TRUE(
      Connect(server_->port(), {0, "", dir_.File("stranger.crt"), dir_.File("stranger.key")}).ok);
}

}  // namespace
}  // namespace mpe::http
