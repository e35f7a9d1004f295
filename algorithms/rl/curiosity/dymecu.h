// DyMeCu, dynamic memory-based curiosity (Gao et al. 2022, arXiv 2208.11349;
// docs/papers/dymecu.md). Two online learners k = 1, 2, each an encoder z_theta_k and a
// predictor q_theta_k, and a dynamic memory z_xi grown from them by
// bootstrapping (an EMA, as BYOL's target network). Each learner predicts the
// memory's embedding of the next state; the curiosity is the information gap
// between the two learners:
//   L_k = ||n(q_k(z_k(s), a)) - sg(n(z_xi(s')))||^2                      (docs/papers/dymecu.md)
//   xi <- tau xi + (1 - tau) (theta_1 + theta_2) / 2,  tau = 0.99         (docs/papers/dymecu.md)
//   r^i = ||n(q_1(z_1(s), a)) - n(q_2(z_2(s), a))||^2                      (learner gap)
//   alternative (flag dymecu_memory_gap, the Fig. 1 caption's reading):
//   r^i = mean_k ||n(q_k(z_k(s), a)) - n(z_xi(s'))||^2
// Reconstructed (docs/papers/dymecu.md: the paper's equations were not available):
// the latent forward-prediction target (rather than same-state prediction),
// the EMA rate, the memory as the average of both learners' encoders, its
// initialisation at that average, and the reward forms above.
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/layers.h"

namespace gradlab::rl::curiosity {

class DyMeCu : public LearnedIntrinsicReward {
 public:
  DyMeCu(CuriosityOptions options, uint64_t seed);
  std::string name() const override { return "dymecu"; }
  Tensor reward(const TransitionBatch& batch) override;

  // Learner k's normalised prediction n(q_k(z_k(s), a)): [N, d].
  Var prediction(int k, const TransitionBatch& batch) const;
  // The memory's normalised embedding of s', without a gradient: [N, d].
  Tensor memory_target(const TransitionBatch& batch) const;
  // xi <- tau xi + (1 - tau) (theta_1 + theta_2) / 2 over the encoders' weights.
  void grow_memory(double tau);

  nn::MLP encoder1, encoder2, memory;  // D -> hidden -> d
  nn::MLP predictor1, predictor2;      // d + A -> hidden -> d

 protected:
  Var loss(const TransitionBatch& batch) override;
  void after_step() override { grow_memory(options_.dymecu_tau); }
};

}  // namespace gradlab::rl::curiosity
