#include "app/shard.h"

namespace mpe::app {

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

int32_t JumpConsistentHash(uint64_t key, int32_t buckets) {
  if (buckets <= 1) return 0;
  int64_t b = -1;
  int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) * (static_cast<double>(1LL << 31) /
                                                           static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<int32_t>(b);
}

int32_t ShardOfSite(std::string_view site_id, int32_t shard_count) {
  return JumpConsistentHash(Fnv1a64(site_id), shard_count);
}

}  // namespace mpe::app
