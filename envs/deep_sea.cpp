// DeepSea(N) with bsuite's rules and its numpy action mapping, docs/papers/environments.md.
#include "envs/deep_sea.h"

#include <charconv>
#include <random>

#include "tensor/error.h"

namespace gradlab::envs {

std::vector<int> DeepSea::bsuite_mapping(int64_t size, uint64_t mapping_seed) {
  // numpy's legacy RandomState seeds MT19937 by init_genrand (as std::mt19937
  // does) and draws a double from two words; binomial(1, 0.5) by inversion is
  // 1 exactly when that double exceeds 0.5.
  std::mt19937 g{uint32_t(mapping_seed)};
  std::vector<int> mapping(size * size);
  for (int& bit : mapping) {
    const uint64_t hi = g() >> 5, lo = g() >> 6;
    const double u = (double(hi) * 67108864.0 + double(lo)) / 9007199254740992.0;
    bit = u > 0.5 ? 1 : 0;
  }
  return mapping;
}

DeepSea::DeepSea(int64_t size, uint64_t mapping_seed)
    : BasicEnv(fmt::format("DeepSea-{}", size),
               Space::box(std::vector<double>(size * size, 0.0), std::vector<double>(size * size, 1.0)),
               Space::discrete_space(2), /*max_episode_steps=*/0),
      size_(size) {
  GL_CHECK(size >= 1 && size <= 1000, "DeepSea: size must be in [1, 1000], got {}", size);
  GL_CHECK(mapping_seed <= 0xFFFFFFFFull, "DeepSea: mapping_seed must fit in 32 bits, got {}", mapping_seed);
  mapping_ = bsuite_mapping(size, mapping_seed);
}

int DeepSea::right_action(int64_t row, int64_t column) const {
  GL_CHECK(row >= 0 && row < size_ && column >= 0 && column < size_, "{}: cell ({}, {}) is outside the grid", name(),
           row, column);
  return mapping_[row * size_ + column];
}

void DeepSea::set_position(int64_t row, int64_t column) {
  GL_CHECK(row >= 0 && row < size_ && column >= 0 && column < size_, "{}: set_position({}, {}) is outside the grid",
           name(), row, column);
  row_ = row;
  column_ = column;
  begin_episode_at_state();
}

std::vector<double> DeepSea::observe() const {
  std::vector<double> obs(size_ * size_, 0.0);
  if (row_ < size_) obs[row_ * size_ + column_] = 1.0;
  return obs;
}

std::vector<double> DeepSea::do_reset() {
  row_ = 0;
  column_ = 0;
  return observe();
}

Step DeepSea::do_step(const std::vector<double>& action) {
  const bool right = int(action[0]) == mapping_[row_ * size_ + column_];
  Step s;
  if (column_ == size_ - 1 && right) s.reward += 1.0;  // the treasure: right from the last column
  if (right) {
    column_ = std::min(column_ + 1, size_ - 1);
    s.reward -= 0.01 / double(size_);  // every right move costs 0.01/N, the last one included
  } else {
    column_ = std::max<int64_t>(column_ - 1, 0);
  }
  ++row_;
  s.terminated = row_ == size_;
  s.obs = observe();
  return s;
}

int64_t parse_deep_sea_size(const std::string& name) {
  const std::string digits = name.substr(std::string("DeepSea-").size());
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  GL_CHECK(ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() && n >= 1 && n <= 1000,
           "make_env: '{}' is not DeepSea-<N> with N in [1, 1000]", name);
  return n;
}

}  // namespace gradlab::envs
