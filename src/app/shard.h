#pragma once

#include <cstdint>
#include <string_view>

namespace mpe::app {

// Site ownership across replicas (docs/spec.md §8). The hash is part of the contract: replicas of
// different versions must agree, so it is spelled out here and must never change.
//
//   bucket(site_id, count) = JumpConsistentHash(Fnv1a64(site_id), count)
//
// Fnv1a64 is 64-bit FNV-1a over the bytes of the id exactly as Mist returns it (offset basis
// 14695981039346656037, prime 1099511628211). JumpConsistentHash is Lamping & Veach, "A Fast,
// Minimal Memory, Consistent Hash Algorithm" (2014): going from N to N+1 buckets moves only
// about 1/(N+1) of the keys, and only into the new bucket, so scaling a StatefulSet up by one
// replica re-homes the fewest sites. A replica owns a site iff bucket == --shard.index.
// Pure functions; thread-safe.
uint64_t Fnv1a64(std::string_view bytes);
// A bucket in [0, buckets); 0 when buckets <= 1.
int32_t JumpConsistentHash(uint64_t key, int32_t buckets);
int32_t ShardOfSite(std::string_view site_id, int32_t shard_count);
inline bool OwnsSite(std::string_view site_id, int32_t shard_index, int32_t shard_count) {
  return ShardOfSite(site_id, shard_count) == shard_index;
}

}  // namespace mpe::app
