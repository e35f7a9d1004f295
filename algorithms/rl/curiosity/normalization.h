// Running statistics for curiosity rewards (docs/papers/rl-baselines.md "RND"): the mean and
// variance of a stream of values, kept by envs::RunningMeanStd (the parallel
// (Chan et al.) merge of batch moments) with RND's arithmetic; RewardForwardFilter
// keeps each environment's discounted intrinsic return R_t = gamma R_{t-1} + r_t,
// never reset at episode ends (the intrinsic stream is non-episodic). The
// intrinsic reward is divided by the running std of those returns, so its scale
// is stable across methods.
#pragma once

#include <cstdint>
#include <vector>

#include "envs/wrappers.h"
#include "tensor/tensor.h"

namespace gradlab::rl::curiosity {

using envs::RunningMeanStd;

// Mean and (population) variance of every value seen so far, per feature
// (update_batch with a [N, F] or [N] batch), merged with RND's batch arithmetic
// (BatchSpread::variance_times_count). Starts at mean 0, var 1 with a tiny
// count, as RND's normaliser does.
RunningMeanStd rnd_running_stats(int64_t features = 1, double epsilon = 1e-4);

// One discounted return per environment: R = gamma R + r.
class RewardForwardFilter {
 public:
  RewardForwardFilter(int64_t envs, double gamma);
  // rewards [envs]; returns the updated returns.
  const std::vector<double>& update(const std::vector<double>& rewards);
  const std::vector<double>& returns() const { return returns_; }

 private:
  double gamma_;
  std::vector<double> returns_;
};

// RND's reward normalisation for a rollout of T steps x E environments:
// rewards [T, E] (row t = step t) are run through the forward filter step by
// step, the returns update `stats`, and the rewards are divided in place by
// sqrt(stats.var + 1e-8). Returns that std.
double normalize_intrinsic_rewards(std::vector<double>& rewards, int64_t T, int64_t E, RewardForwardFilter& filter,
                                   RunningMeanStd& stats);

}  // namespace gradlab::rl::curiosity
