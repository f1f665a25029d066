#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

namespace mpe::http {
namespace {

// Used when crypt_gensalt_rn cannot produce a random salt: any well-formed salt will do, it
// only has to cost the same as a real check.
constexpr char kFallbackSetting[] = "$2b$10$abcdefghijklmnopqrstuu";

int CostOf(const std::string& hash) {
  // Validated as $2?$NN$... by the web config parser; be lenient here anyway.
  if (hash.size() < 7 || !std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5])))
    return 10;
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

std::string MakeDummySetting(const std::map<std::string, std::string>& users) {
  int cost = 4;
  for (const auto& [user, hash] : users) cost = std::max(cost, CostOf(hash));
  if (users.empty()) cost = 10;
  char buf[CRYPT_GENSALT_OUTPUT_SIZE];
  // Null random bytes: libcrypt draws them from the operating system.
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, buf, sizeof buf) ==
      nullptr) {
    return kFallbackSetting;
  }
  return buf;
}

bool StartsWithBasic(std::string_view s) {
  constexpr std::string_view kScheme = "basic";
  if (s.size() <= kScheme.size() || s[kScheme.size()] != ' ') return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != kScheme[i]) return false;
  }
  return true;
}

}  // namespace

bool DecodeBase64(std::string_view in, std::string* out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  size_t padding = 0;
  if (in.back() == '=') ++padding;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++padding;
  out->assign(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0 || static_cast<size_t>(n) != out->size()) return false;
  out->resize(out->size() - padding);
  return true;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(users.begin(), users.end()), dummy_setting_(MakeDummySetting(users)) {}

BasicAuth::Digest BasicAuth::DigestOf(std::string_view user, std::string_view password) {
  // Length-prefix the user so ("ab", "c") and ("a", "bc") hash differently.
  const uint64_t user_len = user.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(user_len >> (8 * i));
  Digest digest{};
  unsigned int digest_len = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), len_bytes, sizeof len_bytes) != 1 ||
      EVP_DigestUpdate(ctx.get(), user.data(), user.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), password.data(), password.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &digest_len) != 1) {
    return Digest{};  // all zeros: never inserted (see Verify), so never a false hit
  }
  return digest;
}

bool BasicAuth::BcryptMatches(std::string_view password, const std::string& hash) {
  // crypt_data is ~32 KiB; keep it off the connection thread's stack. Zeroed as libcrypt asks.
  auto data = std::make_unique<crypt_data>();
  std::string phrase(password);
  bcrypt_runs_.fetch_add(1);
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool match = out != nullptr && std::strlen(out) == hash.size() &&
                     CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(phrase.data(), phrase.size());
  return match;
}

bool BasicAuth::Verify(std::string_view user, std::string_view password) {
  // crypt() reads a C string: a NUL would cut the password short and accept a prefix.
  if (password.find('\0') != std::string_view::npos) return false;
  const Digest digest = DigestOf(user, password);
  const bool digest_ok = digest != Digest{};
  if (digest_ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.count(digest) != 0) return true;
  }
  auto it = users_.find(user);
  const bool known = it != users_.end();
  // Unknown users pay for one bcrypt too, against a salt that matches nothing.
  const bool match = BcryptMatches(password, known ? it->second : dummy_setting_) && known;
  if (match && digest_ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.size() >= kMaxCached) verified_.clear();
    verified_.insert(digest);
  }
  return match;
}

BasicAuth::Quick BasicAuth::CheckCached(std::string_view authorization) {
  if (!StartsWithBasic(authorization)) return Quick::kBad;
  std::string_view encoded = authorization.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded;
  if (!DecodeBase64(encoded, &decoded)) return Quick::kBad;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return Quick::kBad;
  }
  const Digest digest = DigestOf(std::string_view(decoded).substr(0, colon),
                                 std::string_view(decoded).substr(colon + 1));
  OPENSSL_cleanse(decoded.data(), decoded.size());
  if (digest == Digest{}) return Quick::kNeedsBcrypt;
  std::lock_guard<std::mutex> lock(mu_);
  return verified_.count(digest) != 0 ? Quick::kOk : Quick::kNeedsBcrypt;
}

bool BasicAuth::Check(std::string_view authorization) {
  if (!StartsWithBasic(authorization)) return false;
  std::string_view encoded = authorization.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded;
  if (!DecodeBase64(encoded, &decoded)) return false;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const bool ok = Verify(std::string_view(decoded).substr(0, colon),
                         std::string_view(decoded).substr(colon + 1));
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return ok;
}

}  // namespace mpe::http
