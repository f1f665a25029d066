#pragma once

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace mpe::testing {

// One sample of the Prometheus text format.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text format 0.0.4 (comments skipped, label values unescaped). Test helper: a
// malformed line yields a sample named "!parse_error:<line>" so assertions surface it.
inline std::vector<Sample> ParseMetricsText(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    bool ok = true;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ok = false;
          break;
        }
        std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) ok = false;
      ++i;
    }
    if (!ok || i >= line.size()) {
      out.push_back(Sample{"!parse_error:" + line, {}, 0});
      continue;
    }
    s.value = std::strtod(line.c_str() + i, nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

inline const Sample* FindSample(const std::vector<Sample>& samples, const std::string& name,
                                const std::map<std::string, std::string>& labels) {
  for (const auto& s : samples)
    if (s.name == name && s.labels == labels) return &s;
  return nullptr;
}
// The result points into `samples`: a temporary (FindSample(Scrape(), ...)) would leave it
// dangling, which only ASan notices.
const Sample* FindSample(std::vector<Sample>&& samples, const std::string& name,
                         const std::map<std::string, std::string>& labels) = delete;

// Sum of every sample of `name` whose labels include all of `match`.
inline double SumSamples(const std::vector<Sample>& samples, const std::string& name,
                         const std::map<std::string, std::string>& match = {}) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) all = false;
    }
    if (all) sum += s.value;
  }
  return sum;
}

}  // namespace mpe::testing
