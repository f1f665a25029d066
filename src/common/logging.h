#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace mpe::common {

// Configures the process-wide spdlog logger (the one global the style allows).
// format: "text" or "json"; level: debug|info|warn|error. Call once from main / tests.
// JSON lines are {"ts":..., "level":..., "msg":...}; context (site=, endpoint=) is part of msg
// as key=value pairs so both formats carry it.
void SetupLogging(std::string_view level, std::string_view format);

// Changes the level of the process-wide logger (debug|info|warn|error; anything else: info)
// without replacing it, so it is safe while other threads log (config reload).
void SetLogLevel(std::string_view level);

// Escapes a string for embedding in a JSON log line / JSON output.
std::string JsonEscape(std::string_view s);

}  // namespace mpe::common
