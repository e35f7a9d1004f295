// Which examples each rank trains on: one permutation of the n examples per
// epoch, drawn from (seed, epoch) alike on every rank, dealt round-robin, so
// that over the ranks every example is used exactly once per epoch.
#pragma once

#include <cstdint>
#include <vector>

namespace gradlab::dist {

class DistributedSampler {
 public:
  // shuffle false: the identity order, dealt the same way.
  DistributedSampler(int64_t n, int rank, int world_size, uint64_t seed, bool shuffle = true);

  // This rank's examples in epoch `epoch`: positions rank, rank + world,
  // rank + 2 world, ... of the epoch's permutation. Shards differ in size by
  // at most one (when world does not divide n).
  std::vector<int64_t> indices(int64_t epoch) const;
  // The size of this rank's shard, and of the smallest shard: a loop that
  // takes the same number of batches on every rank stops at the smallest.
  int64_t shard_size() const;
  int64_t min_shard_size() const { return n_ / world_; }

 private:
  int64_t n_;
  int rank_, world_;
  uint64_t seed_;
  bool shuffle_;
};

}  // namespace gradlab::dist
