// Disagreement (Pathak et al. 2019; docs/papers/rl-baselines.md): K forward models f_k(s, a) ~ s'
// with independent initialisations, evaluated as one batched EnsembleMLP; the
// curiosity is their disagreement
//   r^i = mean over dims of Var_k[f_k(s, a)]   (unbiased variance over members, as torch.var)
// Every member trains on the whole batch with its own MSE (as in URLB); the
// members differ by their initial weights. On a device, reward() reads one thing
// back (check_batch's action range) and update() two (that and its loss).
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/ensemble.h"

namespace gradlab::rl::curiosity {

class Disagreement : public LearnedIntrinsicReward {
 public:
  Disagreement(CuriosityOptions options, uint64_t seed);
  std::string name() const override { return "disagreement"; }
  Tensor reward(const TransitionBatch& batch) override;

  nn::EnsembleMLP models;  // K members, D + A -> hidden -> hidden -> D

 protected:
  Var loss(const TransitionBatch& batch) override;
};

}  // namespace gradlab::rl::curiosity
