// RND (docs/papers/rl-baselines.md): distillation of a fixed random network.
#include "algorithms/rl/curiosity/rnd.h"

#include <cmath>
#include <vector>

namespace gradlab::rl::curiosity {

RND::RND(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed),
      target({o.obs_dim, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}),
      predictor({o.obs_dim, o.hidden, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}),
      obs_stats(rnd_running_stats(o.obs_dim)) {
  GL_CHECK(o.rnd_update_proportion > 0 && o.rnd_update_proportion <= 1,
           "rnd: update_proportion must be in (0, 1], got {}", o.rnd_update_proportion);
  target.to(o.device);  // initialised on the CPU, then moved
  predictor.to(o.device);
  target.freeze();
  set_parameters(predictor.parameters());
}

Tensor RND::prepare(const Tensor& next_obs) const {
  if (!options_.rnd_normalize_obs) return next_obs;
  // (x - mean) / sqrt(var + 1e-8), clipped to [-5, 5]; the statistics are
  // host numbers (RunningMeanStd), sent to next_obs's device.
  const int64_t f = obs_stats.dim();
  std::vector<double> inv_std(static_cast<size_t>(f));
  for (int64_t j = 0; j < f; ++j) inv_std[size_t(j)] = 1.0 / std::sqrt(obs_stats.var[size_t(j)] + 1e-8);
  const Tensor mean_t = from_vector(obs_stats.mean, {f}).to(next_obs.dtype()).to(next_obs.device());
  const Tensor scale = from_vector(inv_std, {f}).to(next_obs.dtype()).to(next_obs.device());
  return clamp((next_obs - mean_t) * scale, -5.0, 5.0);
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
  const Tensor keep =
      lt(rand({b.size()}, gen_, DType::f32, b.obs.device()), options_.rnd_update_proportion).to(DType::f32);
  return sum(err * Var(keep)) / Var(maximum(sum(keep), 1.0));  // over the rows kept (at least 1), no read
}

}  // namespace gradlab::rl::curiosity
