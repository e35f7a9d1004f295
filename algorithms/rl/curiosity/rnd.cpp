// RND (docs/papers/rl-baselines.md): distillation of a fixed random network.
#include "algorithms/rl/curiosity/rnd.h"

namespace gradlab::rl::curiosity {

RND::RND(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed),
      target({o.obs_dim, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}),
      predictor({o.obs_dim, o.hidden, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}),
      obs_stats(rnd_running_stats(o.obs_dim)) {
  GL_CHECK(o.rnd_update_proportion > 0 && o.rnd_update_proportion <= 1,
           "rnd: update_proportion must be in (0, 1], got {}", o.rnd_update_proportion);
  target.freeze();
  set_parameters(predictor.parameters());
}

Tensor RND::prepare(const Tensor& next_obs) const {
  return options_.rnd_normalize_obs ? obs_stats.normalize(next_obs, 5.0) : next_obs;  // clip to [-5, 5]
}

Var RND::distillation_error(const Tensor& x) const {
  return sum(square(predictor(x) - target(x).detach()), {1});  // docs/papers/rl-baselines.md RND.1
}

Tensor RND::reward(const TransitionBatch& b) {
  check_batch(b, options_, "rnd");
  // The first batch seeds the observation statistics (RND's warm-up).
  if (options_.rnd_normalize_obs && obs_stats.count < 1) obs_stats.update_batch(b.next_obs);
  NoGradGuard no_grad;
  return distillation_error(prepare(b.next_obs)).value();
}

double RND::update(const TransitionBatch& b) {
  check_batch(b, options_, "rnd");
  if (options_.rnd_normalize_obs) obs_stats.update_batch(b.next_obs);
  return LearnedIntrinsicReward::update(b);
}

Var RND::loss(const TransitionBatch& b) {
  const Var err = distillation_error(prepare(b.next_obs));
  // Only a random update_proportion of the rows trains the predictor.
  const Tensor keep = lt(rand({b.size()}, gen_), options_.rnd_update_proportion).to(DType::f32);
  return sum(err * Var(keep)) / std::max(1.0, sum(keep).item());
}

}  // namespace gradlab::rl::curiosity
