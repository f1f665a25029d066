#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "poll/capture_metrics.h"

namespace mpe::app {

// What changes when the owned site set goes from `previous` to a new one.
struct SiteChanges {
  std::vector<common::Site> sites;     // the new set: each id once, no empty id, named
  std::vector<std::string> removed;    // ids no longer owned, sorted
  std::vector<common::Site> upserted;  // new or renamed sites, in `sites` order
  size_t added = 0;                    // how many of `upserted` are new
};

// Pure. `owned` is the new set as the site directory gives it: sites without an id are
// dropped, a missing name becomes the id, the first of duplicate ids wins. `previous` is the
// `sites` of the last result.
SiteChanges DiffSites(const std::vector<common::Site>& previous, std::vector<common::Site> owned);

}  // namespace mpe::app
