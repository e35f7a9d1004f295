// DeepSea(N), bsuite's deep-exploration chain with its exact rules (docs/papers/environments.md):
// an N x N grid, start at the top-left, every step moves one row down and one
// column right or left; a per-cell random bit decides which action means
// "right". Right moves cost 0.01/N, moving right from the last column on the
// last row pays +1, so the optimal return is 0.99 and naive dithering almost
// never finds it.
#pragma once

#include <vector>

#include "envs/env_base.h"

namespace gradlab::envs {

class DeepSea : public BasicEnv {
 public:
  // mapping_seed 42 is bsuite's sweep setting; the mapping never changes on reset.
  explicit DeepSea(int64_t size, uint64_t mapping_seed = 42);
  int64_t size() const { return size_; }
  int64_t row() const { return row_; }
  int64_t column() const { return column_; }
  // The action (0 or 1) that moves right at cell (row, column).
  int right_action(int64_t row, int64_t column) const;
  // bsuite's mapping: numpy RandomState(seed).binomial(1, 0.5, [N, N]),
  // i.e. with std::mt19937 g(seed), per cell in row-major order
  // bit = ((g() >> 5) * 2^26 + (g() >> 6)) / 2^53 > 0.5.
  static std::vector<int> bsuite_mapping(int64_t size, uint64_t mapping_seed);
  // For tests: place the agent at (row, column) in a fresh episode.
  void set_position(int64_t row, int64_t column);

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  std::vector<double> observe() const;  // one-hot of (row, column); all zeros after the last row
  int64_t size_;
  std::vector<int> mapping_;
  int64_t row_ = 0, column_ = 0;
};

// "DeepSea-20" -> 20; throws naming the bad name.
int64_t parse_deep_sea_size(const std::string& name);

}  // namespace gradlab::envs
