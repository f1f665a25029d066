#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.h"

namespace mpe::config {

// Mist's rules for a capture start body (POST /api/v1/sites/{id}/pcaps/capture, schema
// `capture_site`, one schema per `type`), in one place: the config loader, the CLI and the
// body writer (capture/capture_request) all read this table. See docs/mist-api-conformance.md.

// One field of ManagedCapture as Mist names it. `key` is both the config key and the JSON key;
// the CLI flag is "--" + key with '_' -> '-'.
struct CaptureField {
  enum class Kind { kMac, kString, kUuid, kBand, kInt, kBool, kFormat };
  std::string_view key;
  Kind kind;
  // Exactly one of these is set, matching kind (strings, ints, bools).
  std::string ManagedCapture::*text = nullptr;
  std::optional<int> ManagedCapture::*number = nullptr;
  std::optional<bool> ManagedCapture::*flag = nullptr;
  int min = 0;  // kInt only
  int max = 0;
};

// Every field a capture may carry besides `type`, in the order bodies are written.
std::span<const CaptureField> CaptureFields();

// The capture types this product starts: client, new_assoc, radiotap, "radiotap,wired", wired,
// wireless, scan. (gateway and switch need per-device port maps; RefusedTypeReason says why.)
std::span<const std::string_view> CaptureTypes();

// Whether a (supported) type's schema has this field.
bool TypeTakes(std::string_view type, std::string_view key);

// Why a type Mist knows is refused here, or "" when the type is supported or unknown.
std::string_view RefusedTypeReason(std::string_view type);

// Allowed `band` values for a type ("" when the type has no band).
std::span<const std::string_view> BandsOf(std::string_view type);

// A field that breaks a rule: its key ("type", "band", ...) and what is wrong and allowed.
struct CaptureProblem {
  std::string key;
  std::string message;
};

// Checks a capture against Mist's schema for its type and normalises it in place: MACs to 12
// lowercase hex digits, band "2.4" -> "24". Problems: unknown or refused type, a field the
// type does not take, a value outside its enum or range, an invalid MAC or UUID, client_mac
// missing for type client. Pure.
std::optional<CaptureProblem> CheckCapture(ManagedCapture* capture);

// Whether a field is set on the capture.
bool FieldIsSet(const ManagedCapture& capture, const CaptureField& field);

}  // namespace mpe::config
