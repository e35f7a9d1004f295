// DyMeCu, dynamic memory-based curiosity (Gao et al. 2022, arXiv 2208.11349;
// docs/papers/dymecu.md). Two online learners k = 1, 2, each an encoder z_theta_k and a
// predictor q_theta_k, and a dynamic memory grown from them by bootstrapping
// (an EMA, as BYOL's target network). Each learner predicts the memory's
// embedding of the next state, m_k(s'); the curiosity is the information gap
// between the two learners:
//   L_k = ||n(q_k(z_k(s), a)) - sg(m_k(s'))||^2                           (docs/papers/dymecu.md)
//   r^i = ||n(q_1(z_1(s), a)) - n(q_2(z_2(s), a))||^2                      (learner gap)
//   alternative (flag dymecu_memory_gap, the Fig. 1 caption's reading):
//   r^i = mean_k ||n(q_k(z_k(s), a)) - m_k(s')||^2
// The two encoders start independently, so their hidden units are not aligned
// and the average of their parameters is not a network that computes the
// average of what they compute. Three readings of the memory (dymecu_memory):
//   "outavg" (method "dymecu", the default): an EMA memory per learner,
//     xi_k <- tau xi_k + (1 - tau) theta_k, and one shared target, the average
//     of the memories' outputs: m_1 = m_2 = n((z_xi1(s') + z_xi2(s')) / 2);
//   "own" ("dymecu_own"): the same two EMA memories, each learner predicting
//     its own: m_k = n(z_xik(s'));
//   "paramavg" ("dymecu_paramavg"): one memory, the EMA of the parameter
//     average, xi <- tau xi + (1 - tau) (theta_1 + theta_2) / 2, m_k = n(z_xi(s')).
// "outavg" is the default: one memory shared by both learners and grown from
// both, as the paper describes it, without averaging unaligned units.
// Reconstructed (docs/papers/dymecu.md: the paper's equations were not available):
// the latent forward-prediction target (rather than same-state prediction),
// the EMA rate tau = 0.99, the memory readings above, the memories' initialisation
// at their learners (or at the learners' average), and the reward forms above.
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/layers.h"

namespace gradlab::rl::curiosity {

class DyMeCu : public LearnedIntrinsicReward {
 public:
  DyMeCu(CuriosityOptions options, uint64_t seed);
  std::string name() const override {
    return options_.dymecu_memory == "outavg" ? "dymecu" : "dymecu_" + options_.dymecu_memory;
  }
  Tensor reward(const TransitionBatch& batch) override;

  // Learner k's normalised prediction n(q_k(z_k(s), a)): [N, d] (actions in [0, A), as check_batch makes sure).
  Var prediction(int k, const TransitionBatch& batch) const;
  // Learner k's target m_k(s'), normalised and without a gradient: [N, d].
  Tensor memory_target(int k, const TransitionBatch& batch) const;
  // paramavg: xi <- tau xi + (1 - tau) (theta_1 + theta_2) / 2 over the encoders' weights;
  // outavg and own: xi_k <- tau xi_k + (1 - tau) theta_k.
  void grow_memory(double tau);

  nn::MLP encoder1, encoder2, memory;  // D -> hidden -> d (memory: xi, or xi_1 for outavg and own)
  nn::MLP predictor1, predictor2;      // d + A -> hidden -> d
  nn::MLP memory2;                     // xi_2 (outavg and own only)

 protected:
  Var loss(const TransitionBatch& batch) override;
  void after_step() override { grow_memory(options_.dymecu_tau); }
};

}  // namespace gradlab::rl::curiosity
