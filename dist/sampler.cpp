// DistributedSampler: one shared permutation per epoch, dealt round-robin (sampler.h).
#include "dist/sampler.h"

#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace gradlab::dist {

DistributedSampler::DistributedSampler(int64_t n, int rank, int world_size, uint64_t seed, bool shuffle)
    : n_(n), rank_(rank), world_(world_size), seed_(seed), shuffle_(shuffle) {
  GL_CHECK(world_size >= 1 && rank >= 0 && rank < world_size,
           "DistributedSampler: rank {} is not a rank of a world of {}", rank, world_size);
  GL_CHECK(n >= world_size, "DistributedSampler: {} examples cannot give each of {} ranks at least one", n,
           world_size);
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  GL_CHECK(epoch >= 0, "DistributedSampler::indices: epoch must be >= 0, got {}", epoch);
  std::vector<int64_t> order(static_cast<size_t>(n_));
  if (shuffle_) {
    Generator gen = Generator(seed_).fork(uint64_t(epoch));  // the epoch picks the stream
    order = randperm(n_, gen).to_vector<int64_t>();
  } else {
    for (int64_t i = 0; i < n_; ++i) order[size_t(i)] = i;
  }
  std::vector<int64_t> mine;
  for (int64_t i = rank_; i < n_; i += world_) mine.push_back(order[size_t(i)]);
  return mine;
}

int64_t DistributedSampler::shard_size() const { return (n_ - rank_ + world_ - 1) / world_; }

}  // namespace gradlab::dist
