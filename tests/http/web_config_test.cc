#include "http/web_config.h"

#include <gtest/gtest.h>

#include "fakes/http_test_support.h"

namespace mpe::http {
namespace {

using testing::TempDir;
using testing::WriteFile;

constexpr char kHash[] = "$2y$05$mpeFixtureSaltForTesteA3Dle45T/ZhHkbIFSvpfRqKEmZ7Eu3.";

class WebConfigTest : public ::testing::Test {
 protected:
  // Writes `yaml` as web.yml in the temp dir and loads it.
  common::Result<WebConfig> Load(const std::string& yaml) {
    WriteFile(path_, yaml);
    return LoadWebConfig(path_);
  }
  std::string Error(const std::string& yaml) {
    auto r = Load(yaml);
    return r.ok() ? std::string("(loaded fine)") : r.error().message;
  }

  TempDir dir_;
  const std::string path_ = dir_.File("web.yml");
};

TEST_F(WebConfigTest, ResolvesRelativeCertPathsAgainstTheConfigDirectory) {
  testing::WriteSelfSignedCert(dir_.File("server.crt"), dir_.File("server.key"));
  auto cfg = Load(std::string("tls_server_config:\n"
                              "  cert_file: server.crt\n"
                              "  key_file: server.key\n"
                              "  min_version: TLS13\n"
                              "basic_auth_users:\n"
                              "  alice: ") +
                  kHash + "\n  bob: " + kHash + "\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_TRUE(cfg->tls.has_value());
  EXPECT_EQ(cfg->tls->cert_file, dir_.File("server.crt"));
  EXPECT_EQ(cfg->tls->key_file, dir_.File("server.key"));
  EXPECT_EQ(cfg->tls->min_version, TlsVersion::kTls13);
  EXPECT_EQ(cfg->source, path_);
  ASSERT_EQ(cfg->basic_auth_users.size(), 2u);
  EXPECT_EQ(cfg->basic_auth_users.at("alice"), kHash);
}

TEST_F(WebConfigTest, KeepsAbsolutePathsAndDefaultsToTls12) {
  auto cfg = ParseWebConfig(
      "tls_server_config:\n  cert_file: /etc/x/a.crt\n"
      "  key_file: /etc/x/a.key\n",
      "/somewhere/web.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->tls->cert_file, "/etc/x/a.crt");
  EXPECT_EQ(cfg->tls->key_file, "/etc/x/a.key");
  EXPECT_EQ(cfg->tls->min_version, TlsVersion::kTls12);
  EXPECT_TRUE(cfg->basic_auth_users.empty());
}

TEST_F(WebConfigTest, AcceptsAnEmptyFileAsPlainHttpWithoutAuth) {
  auto cfg = Load("# nothing configured\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_FALSE(cfg->tls.has_value());
  EXPECT_TRUE(cfg->basic_auth_users.empty());
}

TEST_F(WebConfigTest, RejectsAnUnknownTopLevelKeyWithFileAndLine) {
  EXPECT_EQ(Error(std::string("basic_auth_users:\n  alice: ") + kHash + "\ntls_config: {}\n"),
            path_ +
                ":3: tls_config: unknown key (known keys: tls_server_config, "
                "basic_auth_users)");
}

TEST_F(WebConfigTest, RejectsAnUnknownTlsKey) {
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  keyfile: a.key\n"),
            path_ +
                ":3: tls_server_config.keyfile: unknown key (known keys: cert_file, "
                "key_file, min_version, max_version, cipher_suites, "
                "prefer_server_cipher_suites, client_ca_file, client_auth_type)");
}

TEST_F(WebConfigTest, NamesExporterToolkitOptionsItDoesNotSupport) {
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                  "  curve_preferences: [X25519]\n"),
            path_ +
                ":4: tls_server_config.curve_preferences: exporter-toolkit option not "
                "supported by this exporter");
}

TEST_F(WebConfigTest, ReadsCipherSuitesVersionsAndClientCertificateSettings) {
  auto cfg = ParseWebConfig(
      "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
      "  min_version: TLS12\n  max_version: TLS12\n"
      "  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
      "    - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\n"
      "  prefer_server_cipher_suites: true\n"
      "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n",
      "/etc/mpe/web.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->tls->max_version, TlsVersion::kTls12);
  EXPECT_EQ(cfg->tls->cipher_suites, (std::vector<std::string>{"ECDHE-RSA-AES256-GCM-SHA384",
                                                               "ECDHE-RSA-CHACHA20-POLY1305"}));
  EXPECT_EQ(cfg->tls->client_ca_file, "/etc/mpe/ca.crt");
  EXPECT_EQ(cfg->tls->client_auth, ClientAuth::kRequireAndVerify);
}

TEST_F(WebConfigTest, RejectsBadTlsSettingsWithTheLine) {
  const std::string head = "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n";
  EXPECT_EQ(Error(head + "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n"),
            path_ +
                ":4: tls_server_config.cipher_suites: unknown TLS 1.2 cipher suite "
                "\"TLS_RSA_WITH_RC4_128_SHA\" (Go's names, e.g. "
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
  EXPECT_EQ(Error(head + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
            path_ +
                ":4: tls_server_config.cipher_suites: \"TLS_AES_128_GCM_SHA256\" is a TLS 1.3 "
                "suite; those are not configurable (as in Go)");
  EXPECT_EQ(Error(head + "  min_version: TLS13\n  max_version: TLS12\n"),
            path_ + ":5: tls_server_config.max_version: is below min_version");
  EXPECT_EQ(Error(head + "  client_auth_type: RequireCert\n"),
            path_ +
                ":4: tls_server_config.client_auth_type: must be one of NoClientCert, "
                "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
                "RequireAndVerifyClientCert; got \"RequireCert\"");
  EXPECT_EQ(Error(head + "  client_ca_file: ca.crt\n"),
            path_ +
                ":4: tls_server_config.client_ca_file: set without client_auth_type (use "
                "RequireAndVerifyClientCert or VerifyClientCertIfGiven)");
  EXPECT_EQ(Error(head + "  client_auth_type: RequireAndVerifyClientCert\n"),
            path_ +
                ":4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
                "client_ca_file");
}

TEST_F(WebConfigTest, RejectsAClientCaFileThatIsNotACertificate) {
  testing::WriteSelfSignedCert(dir_.File("a.crt"), dir_.File("a.key"));
  WriteFile(dir_.File("ca.crt"), "not a certificate\n");
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                  "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"),
            path_ + ":5: tls_server_config.client_ca_file: cannot load client_ca_file \"" +
                dir_.File("ca.crt") + "\"");
}

TEST_F(WebConfigTest, RejectsAMissingKeyFile) {
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n"),
            path_ +
                ":1: tls_server_config.key_file: missing (tls_server_config needs "
                "cert_file and key_file)");
}

TEST_F(WebConfigTest, RejectsTls11AndUnknownVersions) {
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                  "  min_version: TLS11\n"),
            path_ +
                ":4: tls_server_config.min_version: \"TLS11\" is not allowed (TLS12 is the "
                "lowest this exporter serves)");
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                  "  min_version: SSL3\n"),
            path_ +
                ":4: tls_server_config.min_version: must be one of TLS12, TLS13; got "
                "\"SSL3\"");
}

TEST_F(WebConfigTest, RejectsAnUnreadableCertificate) {
  EXPECT_EQ(Error("\ntls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n"),
            path_ + ":3: tls_server_config.cert_file: cannot read \"" + dir_.File("missing.crt") +
                "\": No such file or directory");
}

TEST_F(WebConfigTest, RejectsAKeyThatDoesNotBelongToTheCertificate) {
  testing::WriteSelfSignedCert(dir_.File("a.crt"), dir_.File("a.key"));
  testing::WriteSelfSignedCert(dir_.File("b.crt"), dir_.File("b.key"));
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n"),
            path_ + ":3: tls_server_config.key_file: the private key in \"" + dir_.File("b.key") +
                "\" does not match the certificate in \"" + dir_.File("a.crt") + "\"");
}

TEST_F(WebConfigTest, RejectsAFileThatIsNotACertificate) {
  WriteFile(dir_.File("a.crt"), "hello\n");
  testing::WriteSelfSignedCert(dir_.File("b.crt"), dir_.File("b.key"));
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n"),
            path_ + ":2: tls_server_config.cert_file: no PEM certificate in \"" +
                dir_.File("a.crt") + "\"");
}

TEST_F(WebConfigTest, RejectsAMalformedHashWithoutEchoingIt) {
  const std::string almost = std::string(kHash).substr(0, 59);
  const std::string message = Error("basic_auth_users:\n  alice: \"" + almost + "\"\n");
  EXPECT_EQ(message, path_ +
                         ":2: basic_auth_users.alice: not a bcrypt hash (expected $2a$, "
                         "$2b$ or $2y$, a cost and 53 characters)");
  EXPECT_EQ(message.find(almost.substr(7)), std::string::npos);
  EXPECT_EQ(Error("basic_auth_users:\n  alice: plaintext-password\n"),
            path_ +
                ":2: basic_auth_users.alice: not a bcrypt hash (expected $2a$, $2b$ or "
                "$2y$, a cost and 53 characters)");
}

TEST_F(WebConfigTest, RejectsUserNamesWithAColon) {
  EXPECT_EQ(Error(std::string("basic_auth_users:\n  \"a:b\": ") + kHash + "\n"),
            path_ +
                ":2: basic_auth_users.a:b: user names cannot contain \":\" (basic auth "
                "separates it from the password)");
}

TEST_F(WebConfigTest, RejectsDuplicateKeys) {
  EXPECT_EQ(Error("tls_server_config:\n  cert_file: a.crt\n  cert_file: b.crt\n"),
            path_ + ":3: tls_server_config.cert_file: duplicate key (first on line 2)");
}

TEST_F(WebConfigTest, ReportsYamlSyntaxErrorsWithTheLine) {
  const std::string message = Error("tls_server_config:\n  cert_file: [a\n");
  EXPECT_EQ(message.rfind(path_ + ":", 0), 0u) << message;
  EXPECT_NE(message.find(": yaml syntax error: "), std::string::npos) << message;
}

TEST_F(WebConfigTest, ReportsAMissingWebConfigFile) {
  auto r = LoadWebConfig(dir_.File("nope.yml"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            dir_.File("nope.yml") + ": cannot read web config file: No such file or directory");
}

}  // namespace
}  // namespace mpe::http
