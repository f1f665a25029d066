#pragma once

#include <string>
#include <vector>

namespace mpe::stream {

// Where each channel goes when the set of wanted channels changes: kept channels stay on their
// connection (no resubscribe), new ones fill the free slots in connection order, then new
// connections of up to max_per_connection channels each. Connections left empty close.
struct ChannelPlan {
  // One entry per current connection, in order: its channels afterwards (empty: close it).
  std::vector<std::vector<std::string>> kept;
  // Per current connection: its channels differ from before (some removed or added).
  std::vector<bool> changed;
  // The channels of the connections to open, in order.
  std::vector<std::vector<std::string>> opened;
};

// Pure. `current` holds each open connection's channels; `wanted` the channels to carry, each
// once, new ones assigned in that order. A max_per_connection below 1 counts as 1.
ChannelPlan PlanChannels(const std::vector<std::vector<std::string>>& current,
                         const std::vector<std::string>& wanted, int max_per_connection);

}  // namespace mpe::stream
