#include "capture/site_ref.h"

#include <cctype>

namespace mpe::capture {

bool LooksLikeUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::optional<common::Site> ResolveSite(const config::Config& config, std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (const auto& s : config.sites) {
    if (s.id == text) return common::Site{s.id, s.Label()};
  }
  for (const auto& s : config.sites) {
    if (s.name == text) return common::Site{s.id, s.name};
  }
  if (LooksLikeUuid(text)) return common::Site{std::string(text), std::string(text)};
  return std::nullopt;
}

}  // namespace mpe::capture
