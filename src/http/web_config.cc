#include "http/web_config.h"

#include <openssl/ssl.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <system_error>
#include <vector>

#include "http/tls_certs.h"

namespace mpe::http {
namespace {

// Thrown inside this file only; the public functions turn it into a common::Error.
struct ParseFailure {
  std::string message;
};

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

int LineOf(const YAML::Node& node, int fallback) {
  YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

// exporter-toolkit options we recognise but do not implement: naming them as such beats
// "unknown key" for someone who copied a working config from another exporter.
constexpr std::string_view kToolkitOnlyKeys[] = {"http_server_config", "curve_preferences",
                                                 "client_allowed_sans"};

// Go's names of the TLS 1.2 suites (crypto/tls, as exporter-toolkit takes them) and OpenSSL's.
struct CipherName {
  std::string_view go;
  std::string_view openssl;
};
constexpr CipherName kCiphers[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
};

struct ClientAuthName {
  std::string_view name;
  ClientAuth value;
};
constexpr ClientAuthName kClientAuths[] = {
    {"NoClientCert", ClientAuth::kNone},
    {"RequestClientCert", ClientAuth::kRequest},
    {"RequireAnyClientCert", ClientAuth::kRequireAny},
    {"RequireClientCert", ClientAuth::kRequireAny},  // exporter-toolkit's older spelling
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerify},
};

// Parses one document; owns nothing beyond the WebConfig it builds. One thread, one parse.
class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  WebConfig Parse(std::string_view yaml);

 private:
  struct Entry {
    YAML::Node node;
    std::string path;
    int line = 1;
  };

  [[noreturn]] void Fail(int line, const std::string& path, const std::string& problem) const {
    std::string msg = source_ + ":" + std::to_string(line) + ": ";
    if (!path.empty()) msg += path + ": ";
    throw ParseFailure{msg + problem};
  }

  // The entries of a map, rejecting unknown and duplicate keys.
  std::vector<Entry> Fields(const YAML::Node& map, const std::string& path, int line,
                            std::initializer_list<std::string_view> known) const;
  std::string String(const Entry& e) const;
  std::string ResolvePath(const std::string& p) const;
  void ParseTls(const Entry& e, WebConfig& out) const;
  TlsVersion Version(const Entry& f) const;
  void ParseCiphers(const Entry& f, TlsServerConfig& tls) const;
  void ParseUsers(const Entry& e, WebConfig& out) const;

  std::string source_;
};

std::vector<Parser::Entry> Parser::Fields(const YAML::Node& map, const std::string& path, int line,
                                          std::initializer_list<std::string_view> known) const {
  std::vector<Entry> out;
  if (!map.IsMap()) Fail(line, path, "expected a map");
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node key = it->first;
    const int key_line = LineOf(key, line);
    if (!key.IsScalar()) Fail(key_line, path, "keys must be plain words");
    const std::string& name = key.Scalar();
    const std::string key_path = path.empty() ? name : path + "." + name;
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      if (std::find(std::begin(kToolkitOnlyKeys), std::end(kToolkitOnlyKeys), name) !=
          std::end(kToolkitOnlyKeys)) {
        Fail(key_line, key_path, "exporter-toolkit option not supported by this exporter");
      }
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      Fail(key_line, key_path, "unknown key (known keys: " + list + ")");
    }
    for (const Entry& prev : out) {
      if (prev.path == key_path) {
        Fail(key_line, key_path, "duplicate key (first on line " + std::to_string(prev.line) + ")");
      }
    }
    out.push_back(Entry{it->second, key_path, key_line});
  }
  return out;
}

std::string Parser::String(const Entry& e) const {
  if (e.node.IsNull()) return "";
  if (!e.node.IsScalar()) Fail(e.line, e.path, "expected a string");
  return e.node.Scalar();
}

std::string Parser::ResolvePath(const std::string& p) const {
  std::filesystem::path path(p);
  if (path.is_absolute()) return p;
  std::filesystem::path dir = std::filesystem::path(source_).parent_path();
  return dir.empty() ? p : (dir / path).string();
}

TlsVersion Parser::Version(const Entry& f) const {
  const std::string v = String(f);
  if (v == "TLS12") return TlsVersion::kTls12;
  if (v == "TLS13") return TlsVersion::kTls13;
  if (v == "TLS10" || v == "TLS11") {
    Fail(f.line, f.path, Quote(v) + " is not allowed (TLS12 is the lowest this exporter serves)");
  }
  Fail(f.line, f.path, "must be one of TLS12, TLS13; got " + Quote(v));
}

void Parser::ParseCiphers(const Entry& f, TlsServerConfig& tls) const {
  if (f.node.IsNull()) return;
  if (!f.node.IsSequence()) Fail(f.line, f.path, "expected a list of cipher suite names");
  for (const YAML::Node& item : f.node) {
    const int line = LineOf(item, f.line);
    if (!item.IsScalar()) Fail(line, f.path, "expected a cipher suite name");
    const std::string& name = item.Scalar();
    auto it = std::find_if(std::begin(kCiphers), std::end(kCiphers),
                           [&](const CipherName& c) { return c.go == name; });
    if (it == std::end(kCiphers)) {
      if (name.rfind("TLS_AES_", 0) == 0 || name.rfind("TLS_CHACHA20_", 0) == 0) {
        Fail(line, f.path,
             Quote(name) + " is a TLS 1.3 suite; those are not configurable (as in Go)");
      }
      Fail(line, f.path,
           "unknown TLS 1.2 cipher suite " + Quote(name) +
               " (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    }
    const std::string openssl(it->openssl);
    if (std::find(tls.cipher_suites.begin(), tls.cipher_suites.end(), openssl) ==
        tls.cipher_suites.end()) {
      tls.cipher_suites.push_back(openssl);
    }
  }
  if (tls.cipher_suites.empty()) Fail(f.line, f.path, "an empty list allows no TLS 1.2 suite");
}

void Parser::ParseTls(const Entry& e, WebConfig& out) const {
  if (e.node.IsNull()) return;  // an empty section: plain HTTP, as exporter-toolkit does
  TlsServerConfig tls;
  const Entry* cert = nullptr;
  const Entry* key = nullptr;
  const Entry* min = nullptr;
  const Entry* max = nullptr;
  const Entry* ca = nullptr;
  const Entry* client_auth = nullptr;
  auto fields = Fields(e.node, e.path, e.line,
                       {"cert_file", "key_file", "min_version", "max_version", "cipher_suites",
                        "prefer_server_cipher_suites", "client_ca_file", "client_auth_type"});
  for (const Entry& f : fields) {
    const std::string name = f.path.substr(e.path.size() + 1);
    if (name == "cert_file") {
      cert = &f;
    } else if (name == "key_file") {
      key = &f;
    } else if (name == "min_version") {
      min = &f;
      tls.min_version = Version(f);
    } else if (name == "max_version") {
      max = &f;
      tls.max_version = Version(f);
    } else if (name == "cipher_suites") {
      ParseCiphers(f, tls);
    } else if (name == "prefer_server_cipher_suites") {
      // The server's order always wins here; Go ignores the key too since 1.18.
      const std::string v = String(f);
      if (v != "true" && v != "false") Fail(f.line, f.path, "must be true or false");
    } else if (name == "client_ca_file") {
      ca = &f;
    } else {
      client_auth = &f;
      const std::string v = String(f);
      auto it = std::find_if(std::begin(kClientAuths), std::end(kClientAuths),
                             [&](const ClientAuthName& c) { return c.name == v; });
      if (v.empty()) {
        tls.client_auth = ClientAuth::kNone;
      } else if (it == std::end(kClientAuths)) {
        Fail(f.line, f.path,
             "must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
             "VerifyClientCertIfGiven, RequireAndVerifyClientCert; got " +
                 Quote(v));
      } else {
        tls.client_auth = it->value;
      }
    }
  }
  if (cert == nullptr || String(*cert).empty()) {
    Fail(cert ? cert->line : e.line, e.path + ".cert_file",
         "missing (tls_server_config needs cert_file and key_file)");
  }
  if (key == nullptr || String(*key).empty()) {
    Fail(key ? key->line : e.line, e.path + ".key_file",
         "missing (tls_server_config needs cert_file and key_file)");
  }
  if (tls.min_version == TlsVersion::kTls13 && tls.max_version == TlsVersion::kTls12) {
    Fail((max ? max : min)->line, e.path + ".max_version", "is below min_version");
  }
  if (ca != nullptr && !String(*ca).empty()) tls.client_ca_file = ResolvePath(String(*ca));
  const bool verifies = tls.client_auth == ClientAuth::kVerifyIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerify;
  if (!tls.client_ca_file.empty() && tls.client_auth == ClientAuth::kNone) {
    // exporter-toolkit refuses this too: a CA that is never used is a forgotten setting.
    Fail(ca->line, e.path + ".client_ca_file",
         "set without client_auth_type (use RequireAndVerifyClientCert or "
         "VerifyClientCertIfGiven)");
  }
  if (verifies && tls.client_ca_file.empty()) {
    Fail(client_auth->line, e.path + ".client_auth_type",
         String(*client_auth) + " needs client_ca_file");
  }
  tls.cert_file = ResolvePath(String(*cert));
  tls.key_file = ResolvePath(String(*key));
  out.tls = std::move(tls);
}

// The shape of a bcrypt hash: $2a$/$2b$/$2y$, a two-digit cost 04..31, '$', then 22 salt and 31
// hash characters of bcrypt's base64 alphabet.
bool LooksLikeBcrypt(const std::string& h) {
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(h[4])) ||
      !std::isdigit(static_cast<unsigned char>(h[5])))
    return false;
  const int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(h.begin() + 7, h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
  });
}

void Parser::ParseUsers(const Entry& e, WebConfig& out) const {
  if (e.node.IsNull()) return;
  if (!e.node.IsMap()) Fail(e.line, e.path, "expected a map of user: bcrypt hash");
  for (auto it = e.node.begin(); it != e.node.end(); ++it) {
    YAML::Node key = it->first;
    const int line = LineOf(key, e.line);
    if (!key.IsScalar()) Fail(line, e.path, "user names must be plain strings");
    const std::string& user = key.Scalar();
    const std::string path = e.path + "." + user;
    if (user.empty()) Fail(line, e.path, "user names must not be empty");
    if (user.find(':') != std::string::npos) {
      Fail(line, path,
           "user names cannot contain \":\" (basic auth separates it from the password)");
    }
    if (out.basic_auth_users.count(user) != 0) Fail(line, path, "duplicate user");
    YAML::Node value = it->second;
    // The value is a secret-ish hash: describe what is wrong with it, never echo it.
    if (!value.IsScalar() || !LooksLikeBcrypt(value.Scalar())) {
      Fail(line, path, "not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost and 53 characters)");
    }
    out.basic_auth_users.emplace(user, value.Scalar());
  }
}

WebConfig Parser::Parse(std::string_view yaml) {
  WebConfig out;
  out.source = source_;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    Fail(line, "", "yaml syntax error: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) return out;  // an empty file: plain HTTP, no auth
  if (!root.IsMap()) Fail(LineOf(root, 1), "", "the top level must be a map");
  for (const Entry& e : Fields(root, "", 1, {"tls_server_config", "basic_auth_users"})) {
    if (e.path == "tls_server_config") {
      ParseTls(e, out);
    } else {
      ParseUsers(e, out);
    }
  }
  return out;
}

// Finds the line of "tls_server_config.<key>" for a message about a file it names.
int TlsKeyLine(std::string_view yaml, std::string_view key) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    YAML::Node tls = root["tls_server_config"];
    for (auto it = tls.begin(); it != tls.end(); ++it) {
      if (it->first.Scalar() == key) return LineOf(it->first, 1);
    }
  } catch (const YAML::Exception&) {
  }
  return 1;
}

}  // namespace

common::Result<WebConfig> ParseWebConfig(std::string_view yaml, const std::string& source_path) {
  try {
    return Parser(source_path).Parse(yaml);
  } catch (const ParseFailure& f) {
    return common::MakeError(f.message);
  } catch (const YAML::Exception& e) {
    return common::MakeError(source_path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return common::MakeError(source_path + ": cannot load web config: " + e.what());
  }
}

common::Result<WebConfig> LoadWebConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return common::MakeError(path + ": cannot read web config file: " +
                             std::error_code(errno, std::generic_category()).message());
  }
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto cfg = ParseWebConfig(yaml, path);
  if (!cfg.ok() || !cfg->tls) return cfg;
  auto pair = CertKeyPair::Load(cfg->tls->cert_file, cfg->tls->key_file);
  if (!pair.ok()) {
    const bool key_at_fault = pair.error().code == CertKeyPair::kKeyFile;
    const char* key = key_at_fault ? "key_file" : "cert_file";
    return common::MakeError(path + ":" + std::to_string(TlsKeyLine(yaml, key)) +
                             ": tls_server_config." + key + ": " + pair.error().message);
  }
  // The rest (client CA file, cipher list) is checked by setting up a context as the server
  // will, so that --check-config and the start fail on what the server would fail on.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  if (!ctx) return common::MakeError(path + ": cannot create a TLS context");
  if (auto st = ConfigureServerContext(ctx.get(), *cfg->tls); !st.ok()) {
    const bool ca = !cfg->tls->client_ca_file.empty() &&
                    st.error().message.find("client_ca_file") != std::string::npos;
    const char* key = ca ? "client_ca_file" : "cipher_suites";
    return common::MakeError(path + ":" + std::to_string(TlsKeyLine(yaml, key)) +
                             ": tls_server_config." + key + ": " + st.error().message);
  }
  return cfg;
}

}  // namespace mpe::http
