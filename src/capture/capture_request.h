#pragma once

#include <string>

#include "config/config.h"

namespace mpe::capture {

// Mist's capture start body for POST /api/v1/sites/{id}/pcaps/capture (schema `capture_site`)
// from a capture that passed config::CheckCapture: `type`, then every field that is set, in
// the order of config::CaptureFields(); `site` is not part of it. Pure.
std::string CaptureRequestJson(const config::ManagedCapture& request);

}  // namespace mpe::capture
