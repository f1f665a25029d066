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

std::optional<SiteRef> ResolveSite(const config::Config& config, std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (const auto& s : config.sites) {
    if (s.id == text) return SiteRef{s.id, s.name.empty() ? s.id : s.name};
  }
  for (const auto& s : config.sites) {
    if (s.name == text) return SiteRef{s.id, s.name};
  }
  if (LooksLikeUuid(text)) return SiteRef{std::string(text), std::string(text)};
  return std::nullopt;
}

}  // namespace mpe::capture
