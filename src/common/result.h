#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mpe::common {

// An error crossing a component boundary: a message for the log (never a secret) and,
// for HTTP-ish failures, the status code (0 when there was no response).
struct Error {
  std::string message;
  int code = 0;
};

// A small expected-like type: either a value or an Error. Not thread-safe (a value type).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error MakeError(std::string message, int code = 0) {
  return Error{std::move(message), code};
}

}  // namespace mpe::common
