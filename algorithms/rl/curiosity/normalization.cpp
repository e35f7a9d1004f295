// RND's running statistics, RewardForwardFilter and RND's intrinsic-reward normalisation
// (docs/papers/rl-baselines.md: r^i divided by the running std of the intrinsic discounted return).
#include "algorithms/rl/curiosity/normalization.h"

#include <algorithm>
#include <cmath>

#include "tensor/creation.h"
#include "tensor/error.h"

namespace gradlab::rl::curiosity {

RunningMeanStd rnd_running_stats(int64_t features, double epsilon) {
  return RunningMeanStd(features, epsilon, RunningMeanStd::BatchSpread::variance_times_count);
}

RewardForwardFilter::RewardForwardFilter(int64_t envs, double gamma) : gamma_(gamma), returns_(size_t(envs), 0.0) {
  GL_CHECK(envs >= 1, "RewardForwardFilter: envs must be >= 1, got {}", envs);
  GL_CHECK(gamma >= 0 && gamma <= 1, "RewardForwardFilter: gamma must be in [0, 1], got {}", gamma);
}

const std::vector<double>& RewardForwardFilter::update(const std::vector<double>& rewards) {
  GL_CHECK(rewards.size() == returns_.size(), "RewardForwardFilter::update: {} rewards for {} environments",
           rewards.size(), returns_.size());
  for (size_t e = 0; e < rewards.size(); ++e) returns_[e] = gamma_ * returns_[e] + rewards[e];
  return returns_;
}

double normalize_intrinsic_rewards(std::vector<double>& rewards, int64_t T, int64_t E, RewardForwardFilter& filter,
                                   RunningMeanStd& stats) {
  GL_CHECK(int64_t(rewards.size()) == T * E, "normalize_intrinsic_rewards: {} rewards for T={} x E={}", rewards.size(),
           T, E);
  std::vector<double> returns;
  returns.reserve(rewards.size());
  for (int64_t t = 0; t < T; ++t) {
    const std::vector<double> step(rewards.begin() + t * E, rewards.begin() + (t + 1) * E);
    const std::vector<double>& r = filter.update(step);
    returns.insert(returns.end(), r.begin(), r.end());
  }
  stats.update_batch(from_vector(returns, {int64_t(returns.size())}));
  const double std = std::sqrt(stats.var[0] + 1e-8);
  for (double& r : rewards) r /= std;
  return std;
}

}  // namespace gradlab::rl::curiosity
