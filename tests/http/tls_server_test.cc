#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/ssl.h>

#include <chrono>

#include "common/clock.h"
#include "fakes/http_test_support.h"
#include "http/server.h"
#include "http/tls_certs.h"

namespace mpe::http {
namespace {

using testing::TlsHandshake;

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fingerprint_ = testing::WriteSelfSignedCert(cert_, key_);
    testing::WriteFile(yaml_,
                       "tls_server_config:\n  cert_file: server.crt\n"
                       "  key_file: server.key\n");
  }

  // Loads the web config from disk (as the exporter does) and starts a server with it.
  void StartServer(const std::string& extra_yaml = "") {
    if (!extra_yaml.empty()) {
      testing::WriteFile(yaml_,
                         "tls_server_config:\n  cert_file: server.crt\n"
                         "  key_file: server.key\n" +
                             extra_yaml);
    }
    auto web = LoadWebConfig(yaml_);
    ASSERT_TRUE(web.ok()) << web.error().message;
    ServerOptions options;
    options.clock = &clock_;
    options.cert_check_interval = std::chrono::seconds(5);
    Handlers handlers;
    handlers.metrics = [] { return std::string("mpe_up 1\n"); };
    server_ = std::make_unique<HttpServer>(std::move(handlers), options);
    auto st = server_->Start("127.0.0.1:0", &*web);
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_TRUE(server_->tls());
  }

  std::unique_ptr<httplib::SSLClient> Client(const std::string& ca) {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    c->set_ca_cert_path(ca.c_str());
    c->enable_server_certificate_verification(true);
    return c;
  }

  testing::TempDir dir_;
  const std::string cert_ = dir_.File("server.crt");
  const std::string key_ = dir_.File("server.key");
  const std::string yaml_ = dir_.File("web.yml");
  std::string fingerprint_;
  common::ManualClock clock_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsServerTest, ServesHttpsToAClientThatTrustsTheCertificate) {
  StartServer();
  auto client = Client(cert_);
  auto res = client->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "mpe_up 1\n");
}

TEST_F(TlsServerTest, FailsTheHandshakeForAClientThatDoesNotTrustIt) {
  StartServer();
  testing::WriteSelfSignedCert(dir_.File("other.crt"), dir_.File("other.key"));
  auto client = Client(dir_.File("other.crt"));
  auto res = client->Get("/metrics");
  EXPECT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::SSLServerVerification);
}

TEST_F(TlsServerTest, RefusesTls11AndAcceptsTls12) {
  StartServer();
  EXPECT_FALSE(TlsHandshake(server_->port(), TLS1_1_VERSION, TLS1_1_VERSION).ok);
  auto tls12 = TlsHandshake(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_TRUE(tls12.ok);
  EXPECT_EQ(tls12.version, TLS1_2_VERSION);
  EXPECT_EQ(tls12.peer_fingerprint, fingerprint_);
}

TEST_F(TlsServerTest, HonoursMinVersionTls13) {
  StartServer("  min_version: TLS13\n");
  EXPECT_FALSE(TlsHandshake(server_->port(), TLS1_2_VERSION, TLS1_2_VERSION).ok);
  auto tls13 = TlsHandshake(server_->port(), TLS1_3_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(tls13.ok);
  EXPECT_EQ(tls13.version, TLS1_3_VERSION);
}

TEST_F(TlsServerTest, PresentsARenewedCertificateToNewConnectionsAfterTheCheckInterval) {
  StartServer();
  EXPECT_EQ(TlsHandshake(server_->port(), 0, 0).peer_fingerprint, fingerprint_);
  const std::string renewed = testing::WriteSelfSignedCert(cert_, key_);
  ASSERT_NE(renewed, fingerprint_);
  // The files are looked at no more than once per interval.
  clock_.Advance(std::chrono::seconds(4));
  EXPECT_EQ(TlsHandshake(server_->port(), 0, 0).peer_fingerprint, fingerprint_);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(TlsHandshake(server_->port(), 0, 0).peer_fingerprint, renewed);
  EXPECT_EQ(server_->cert_reloads(), 1u);
  // And clients that trust only the new certificate now succeed.
  auto res = Client(cert_)->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST_F(TlsServerTest, KeepsServingTheOldCertificateWhileTheNewFilesAreBroken) {
  StartServer();
  testing::WriteFile(cert_, "not a certificate\n");
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_EQ(TlsHandshake(server_->port(), 0, 0).peer_fingerprint, fingerprint_);
  EXPECT_EQ(server_->cert_reload_failures(), 1u);
  // Unchanged broken files are not retried.
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_EQ(TlsHandshake(server_->port(), 0, 0).peer_fingerprint, fingerprint_);
  EXPECT_EQ(server_->cert_reload_failures(), 1u);
  const std::string fixed = testing::WriteSelfSignedCert(cert_, key_);
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_EQ(TlsHandshake(server_->port(), 0, 0).peer_fingerprint, fixed);
  EXPECT_EQ(server_->cert_reloads(), 1u);
}

TEST_F(TlsServerTest, CombinesTlsWithBasicAuth) {
  StartServer(std::string("basic_auth_users:\n  alice: ") + testing::BcryptHash("s3cret") + "\n");
  auto client = Client(cert_);
  auto anonymous = client->Get("/metrics");
  ASSERT_TRUE(anonymous) << httplib::to_string(anonymous.error());
  EXPECT_EQ(anonymous->status, 401);
  auto health = client->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  client->set_basic_auth("alice", "s3cret");
  auto res = client->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server_->auth_failures(), 1u);
}

TEST_F(TlsServerTest, FailsToStartWhenTheCertificateVanishedAfterLoading) {
  auto web = LoadWebConfig(yaml_);
  ASSERT_TRUE(web.ok()) << web.error().message;
  std::filesystem::remove(cert_);
  HttpServer server(Handlers{});
  auto st = server.Start("127.0.0.1:0", &*web);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, yaml_ + ": tls_server_config: cannot read \"" + cert_ +
                                    "\": No such file or directory");
}

}  // namespace
}  // namespace mpe::http
