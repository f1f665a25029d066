#pragma once

// Reads the fuzz inputs the GoogleTest replay runs through fuzz_checks.h:
// tests/fuzz/regressions/<target>/ and tests/fuzz/corpus/<target>/. tests/fuzz/pending/ is never
// read: its inputs still crash code that awaits a fix. Dotfiles (.gitkeep) are skipped.
// Test-only helper; pure apart from reading the files.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mpe::fuzz {

struct ReplayInput {
  std::string path;  // relative to the source tree, for failure messages
  std::string bytes;
};

// `folder` is "corpus" or "regressions"; a missing folder yields nothing.
inline std::vector<ReplayInput> ReadReplayInputs(const std::string& source_dir,
                                                 std::string_view folder, std::string_view target) {
  namespace fs = std::filesystem;
  const std::string rel = "tests/fuzz/" + std::string(folder) + "/" + std::string(target);
  std::vector<ReplayInput> out;
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(source_dir) / rel, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    out.push_back({rel + "/" + name, std::string(std::istreambuf_iterator<char>(in), {})});
  }
  std::sort(out.begin(), out.end(),
            [](const ReplayInput& a, const ReplayInput& b) { return a.path < b.path; });
  return out;
}

}  // namespace mpe::fuzz
