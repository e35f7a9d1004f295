// RND, Random Network Distillation (Burda et al. 2018; docs/papers/rl-baselines.md): a predictor
// f^ learns to match a fixed, randomly initialised target f on the visited
// next observations; the curiosity is the distillation error
//   r^i = ||f^(s') - f(s')||^2
// on observations normalised by running statistics and clipped to [-5, 5].
// The predictor trains on a random 25% of each minibatch (update_proportion).
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "algorithms/rl/curiosity/normalization.h"
#include "nn/layers.h"

namespace gradlab::rl::curiosity {

class RND : public LearnedIntrinsicReward {
 public:
  RND(CuriosityOptions options, uint64_t seed);
  std::string name() const override { return "rnd"; }
  Tensor reward(const TransitionBatch& batch) override;
  double update(const TransitionBatch& batch) override;

  // Per-row ||f^(x) - f(x)||^2 on already-normalised inputs x [N, D]: [N].
  Var distillation_error(const Tensor& x) const;
  // next_obs normalised (or as given when rnd_normalize_obs is off).
  Tensor prepare(const Tensor& next_obs) const;

  nn::MLP target;     // D -> hidden -> F, frozen
  nn::MLP predictor;  // D -> hidden -> hidden -> F
  RunningMeanStd obs_stats;

 protected:
  Var loss(const TransitionBatch& batch) override;
};

}  // namespace gradlab::rl::curiosity
