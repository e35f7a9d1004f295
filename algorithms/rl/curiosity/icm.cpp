// ICM (docs/papers/rl-baselines.md): inverse and forward models on a learned encoder.
#include "algorithms/rl/curiosity/icm.h"

namespace gradlab::rl::curiosity {

ICM::ICM(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed),
      encoder({o.obs_dim, o.hidden, o.feature_dim}, gen_),
      inverse_model({2 * o.feature_dim, o.hidden, o.n_actions}, gen_),
      forward_model({o.feature_dim + o.n_actions, o.hidden, o.feature_dim}, gen_) {
  for (nn::MLP* m : {&encoder, &inverse_model, &forward_model}) m->to(o.device);  // initialised on the CPU
  std::vector<Var> params = encoder.parameters();
  for (const Var& p : inverse_model.parameters()) params.push_back(p);
  for (const Var& p : forward_model.parameters()) params.push_back(p);
  set_parameters(std::move(params));
}

Var ICM::forward_error(const TransitionBatch& b) const {
  return forward_error(encoder(b.obs), encoder(b.next_obs), b.actions);
}

Var ICM::forward_error(const Var& phi, const Var& phi_next, const Tensor& actions) const {
  const bool through = options_.icm_forward_trains_encoder;
  const Var pred = forward_model(concat({through ? phi : phi.detach(), Var(one_hot(actions, options_.n_actions))}, 1));
  return 0.5 * sum(square(pred - (through ? phi_next : phi_next.detach())), {1});  // docs/papers/rl-baselines.md ICM.2: 1/2 ||f(phi(s),a) - phi(s')||^2
}

Tensor ICM::reward(const TransitionBatch& b) {
  check_batch(b, options_, name());
  NoGradGuard no_grad;
  return (options_.icm_eta * forward_error(b)).value();  // r^i = (eta / 2) ||.||^2
}

Var ICM::loss(const TransitionBatch& b) {
  const Var phi = encoder(b.obs), phi_next = encoder(b.next_obs);  // encoded once for both models
  const Var logits = inverse_model(concat({phi, phi_next}, 1));
  const Var inverse_loss = cross_entropy(logits, b.actions);
  const Var forward_loss = mean(forward_error(phi, phi_next, b.actions));
  return (1 - options_.icm_beta) * inverse_loss + options_.icm_beta * forward_loss;  // rl-baselines.md ICM.1
}

}  // namespace gradlab::rl::curiosity
