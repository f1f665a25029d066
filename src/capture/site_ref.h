#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/site.h"
#include "config/config.h"

namespace mpe::capture {

// A `--site` / `captures[].site` value: the id or name of a configured site, else the text
// itself when it looks like a Mist site id (a UUID); nullopt otherwise. Pure.
std::optional<common::Site> ResolveSite(const config::Config& config, std::string_view text);

// 8-4-4-4-12 hex digits.
bool LooksLikeUuid(std::string_view text);

}  // namespace mpe::capture
