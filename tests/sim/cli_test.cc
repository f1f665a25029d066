#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <utility>

#include "sim/cloud_sim.h"
#include "sim/sim_cli.h"

namespace mpe::sim {
namespace {

common::Result<SimCommandLine> Parse(std::vector<const char*> args, const char* env = nullptr) {
  args.insert(args.begin(), "mist_cloud_sim");
  return ParseSimCommandLine(static_cast<int>(args.size()), args.data(), env);
}

TEST(SimCommandLineTest, DefaultsMatchTheDocumentedOnes) {
  auto cl = Parse({});
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->options.listen, "127.0.0.1:18080");
  EXPECT_EQ(cl->options.rate, 50);
  EXPECT_EQ(cl->options.seed, 1u);
  EXPECT_EQ(cl->options.token, "demo-token");
  EXPECT_TRUE(cl->options.scenario_file.empty());
  EXPECT_TRUE(cl->options.download_origin.empty());
  EXPECT_FALSE(cl->help);
}

TEST(SimCommandLineTest, TokenComesFromTheEnvironmentUnlessGiven) {
  EXPECT_EQ(Parse({}, "from-env")->options.token, "from-env");
  EXPECT_EQ(Parse({"--token=flag"}, "from-env")->options.token, "flag");
}

TEST(SimCommandLineTest, FlagsTakeValuesWithOrWithoutEquals) {
  auto cl =
      Parse({"--listen=0.0.0.0:0", "--rate", "100000", "--seed=42", "--scenario=s.yaml",
             "--tls-cert=c.pem", "--tls-key=k.pem", "--download-origin=http://localhost:{port}"});
  ASSERT_TRUE(cl.ok()) << cl.error().message;
  EXPECT_EQ(cl->options.listen, "0.0.0.0:0");
  EXPECT_EQ(cl->options.rate, 100000);
  EXPECT_EQ(cl->options.seed, 42u);
  EXPECT_EQ(cl->options.scenario_file, "s.yaml");
  EXPECT_EQ(cl->options.tls_cert, "c.pem");
  EXPECT_EQ(cl->options.tls_key, "k.pem");
  EXPECT_EQ(cl->options.download_origin, "http://localhost:{port}");
}

TEST(SimCommandLineTest, UnknownFlagsAndBadValuesAreErrors) {
  auto unknown = Parse({"--colour=blue"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("--colour"), std::string::npos);
  EXPECT_FALSE(Parse({"--rate=fast"}).ok());
  EXPECT_FALSE(Parse({"--rate=0"}).ok());
  EXPECT_FALSE(Parse({"--seed=-1"}).ok());
  EXPECT_FALSE(Parse({"--tls-cert=c.pem"}).ok());
  EXPECT_FALSE(Parse({"--listen"}).ok());
  EXPECT_TRUE(Parse({"--help"})->help);
}

TEST(SimStartTest, BadListenAddressOrScenarioFailsToStart) {
  SimOptions bad_port;
  bad_port.listen = "127.0.0.1:99999";
  EXPECT_FALSE(CloudSim(bad_port).Start().ok());
  SimOptions bad_scenario;
  bad_scenario.scenario_yaml = "sites: [{id: s1, org: nope}]";
  auto st = CloudSim(bad_scenario).Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("unknown org"), std::string::npos);
}

// The exporter's listen-address rule (common::ParseListenAddress) with the simulator's default
// host: ":PORT" and "localhost:PORT" listen on loopback, not on every interface.
TEST(SimStartTest, ListenFollowsTheExportersRuleWithLoopbackAsDefaultHost) {
  for (const char* listen : {":0", "localhost:0", "127.0.0.1:0"}) {
    SimOptions options;
    options.listen = listen;
    CloudSim sim(options);
    ASSERT_TRUE(sim.Start().ok()) << listen;
    EXPECT_TRUE(sim.base_url().starts_with("http://127.0.0.1:")) << listen << " " << sim.base_url();
    sim.Stop();
  }
  const std::pair<const char*, const char*> bad[] = {
      {"18080", "--listen must be HOST:PORT"},
      {"127.0.0.1:+80", "--listen: bad port in '127.0.0.1:+80'"},
      {"127.0.0.1: 80", "--listen: bad port in '127.0.0.1: 80'"},
      {"[abc]:80", "--listen: bad address '[abc]:80'"},
      {"a/b:80", "--listen: bad address 'a/b:80'"},
      {"::1:80", "--listen: bad address '::1:80'"},
      {"no-such-host.invalid:0", "--listen: bad address 'no-such-host.invalid'"},
  };
  for (const auto& [listen, message] : bad) {
    SimOptions options;
    options.listen = listen;
    auto st = CloudSim(options).Start();
    ASSERT_FALSE(st.ok()) << listen;
    EXPECT_EQ(st.error().message, message);
  }
}

TEST(SimTlsTest, ServesRestOverHttpsWithTheGivenCertificate) {
  auto dir = std::filesystem::temp_directory_path() / ("mpe_sim_tls_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << "openssl command not available";
  }
  SimOptions opts;
  opts.tls_cert = cert;
  opts.tls_key = key;
  opts.token = "tok";
  CloudSim sim(opts);
  auto st = sim.Start();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(sim.base_url(), "https://127.0.0.1:" + std::to_string(sim.port()));
  httplib::SSLClient client("127.0.0.1", sim.port());
  client.enable_server_certificate_verification(false);
  client.set_default_headers({{"Authorization", "Token tok"}});
  auto res = client.Get("/api/v1/self");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  sim.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mpe::sim
