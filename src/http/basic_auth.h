#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace mpe::http {

// Checks HTTP basic credentials against the bcrypt hashes of basic_auth_users (libcrypt does
// the hashing). bcrypt costs tens of milliseconds on purpose, which a scrape every few seconds
// should not pay: a successful check is remembered as the SHA-256 of the presented user and
// password (never the password itself), so later identical requests skip bcrypt. Failures are
// never cached, and an unknown user still costs one bcrypt so response times do not reveal
// which user names exist. Owns a copy of the hashes, which it never logs.
// Thread-safe: Check/Verify run concurrently on the server's connection threads.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);

  // True when `authorization` (the Authorization header's value) is "Basic base64(user:pass)"
  // with a known user and the right password.
  bool Check(std::string_view authorization);
  bool Verify(std::string_view user, std::string_view password);

  // The part of Check that costs no bcrypt, for the server's network threads: kOk for
  // credentials verified before (still cached), kBad for a header that is missing or not
  // well-formed Basic credentials, kNeedsBcrypt otherwise (then call Check on a worker).
  enum class Quick { kOk, kBad, kNeedsBcrypt };
  Quick CheckCached(std::string_view authorization);

  // How many bcrypt computations ran; lets tests prove the cache works.
  uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }

  // Above this many remembered credentials the cache starts over: a bound on memory if
  // someone keeps presenting new valid passwords (only possible with the real ones).
  static constexpr size_t kMaxCached = 1024;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest DigestOf(std::string_view user, std::string_view password);
  // Runs crypt_rn and compares its output with `hash` in constant time.
  bool BcryptMatches(std::string_view password, const std::string& hash);

  const std::map<std::string, std::string, std::less<>> users_;
  std::string dummy_setting_;  // a bcrypt salt for unknown users, never matches anything

  std::mutex mu_;
  std::set<Digest> verified_;
  std::atomic<uint64_t> bcrypt_runs_{0};
};

// Decodes standard, padded base64 into *out; false on malformed input.
bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace mpe::http
