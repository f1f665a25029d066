#pragma once

#include <string>

namespace mpe::common {

// A Mist site: the one type for a `sites:` entry of the config, an entry of Mist's org site
// list, a site the pollers own and the CLI's `--site`. `id` is Mist's site id (a UUID);
// `name` is the site's name, "" while unknown (a configured site without `name:` before Mist
// names it); `org_id` is "" unless Mist's site list gave it. Value type.
struct Site {
  std::string id;
  std::string name;
  std::string org_id = {};

  // How metrics and the CLI label the site: its name, else its id.
  const std::string& Label() const { return name.empty() ? id : name; }

  friend bool operator==(const Site&, const Site&) = default;
};

}  // namespace mpe::common
