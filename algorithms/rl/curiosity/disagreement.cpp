// Disagreement (docs/papers/rl-baselines.md): variance across an ensemble of forward models.
#include "algorithms/rl/curiosity/disagreement.h"

namespace gradlab::rl::curiosity {

Disagreement::Disagreement(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed),
      models(o.ensemble_size, {o.obs_dim + o.n_actions, o.hidden, o.hidden, o.obs_dim}, gen_) {
  GL_CHECK(o.ensemble_size >= 2, "disagreement: ensemble_size must be >= 2, got {}", o.ensemble_size);
  models.to(o.device);  // initialised on the CPU, then moved
  set_parameters(models.parameters());
}

Tensor Disagreement::reward(const TransitionBatch& b) {
  check_batch(b, options_, "disagreement");
  NoGradGuard no_grad;
  const Tensor pred = models(concat_obs_action(b.obs, b.actions, options_.n_actions)).value();  // [K, N, D]
  return mean(var(pred, {0}, false, 1), {1});  // docs/papers/rl-baselines.md DIS.1: Var_k[f_k(s, a)], dims mean
}

Var Disagreement::loss(const TransitionBatch& b) {
  const Var pred = models(concat_obs_action(b.obs, b.actions, options_.n_actions));  // [K, N, D]
  // Each member's mean squared error, summed over members.
  return sum(mean(square(pred - Var(b.next_obs.unsqueeze(0))), {1, 2}));
}

}  // namespace gradlab::rl::curiosity
