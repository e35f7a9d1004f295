// ICM, the Intrinsic Curiosity Module (Pathak et al. 2017; docs/papers/rl-baselines.md): an
// encoder phi trained by an inverse model (predict a from phi(s), phi(s')) and a
// forward model f(phi(s), a) ~ phi(s'); the curiosity is the forward error.
//   loss = (1 - beta) L_inv + beta * 1/2 ||f(phi(s), a) - phi(s')||^2,  beta = 0.2
//   r^i  = (eta / 2) ||f(phi(s), a) - phi(s')||^2
// As in the paper, both losses train the encoder ("icm"). The option
// icm_forward_trains_encoder = false ("icm_stopgrad") stops the gradients of
// phi(s) and phi(s') in the forward loss, so phi is shaped by the inverse model
// alone, the features "that the agent controls".
#pragma once

#include "algorithms/rl/curiosity/intrinsic.h"
#include "nn/layers.h"

namespace gradlab::rl::curiosity {

class ICM : public LearnedIntrinsicReward {
 public:
  ICM(CuriosityOptions options, uint64_t seed);
  std::string name() const override { return options_.icm_forward_trains_encoder ? "icm" : "icm_stopgrad"; }
  Tensor reward(const TransitionBatch& batch) override;

  // Per-row forward error 1/2 ||f(phi(s), a) - phi(s')||^2: [N]. The actions
  // must be in [0, A) (reward() and update() check them once per batch).
  Var forward_error(const TransitionBatch& batch) const;
  // The same from features already encoded (the encoder gets a gradient from it
  // only when icm_forward_trains_encoder).
  Var forward_error(const Var& phi, const Var& phi_next, const Tensor& actions) const;

  nn::MLP encoder;        // D -> hidden -> F
  nn::MLP inverse_model;  // 2F -> hidden -> A (logits)
  nn::MLP forward_model;  // F + A -> hidden -> F

 protected:
  Var loss(const TransitionBatch& batch) override;
};

}  // namespace gradlab::rl::curiosity
