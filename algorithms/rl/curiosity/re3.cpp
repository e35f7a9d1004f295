// RE3 (docs/papers/rl-baselines.md): k-nearest-neighbour particle entropy reward on a fixed random encoder.
#include "algorithms/rl/curiosity/re3.h"

#include "algorithms/rl/curiosity/knn.h"

namespace gradlab::rl::curiosity {

RE3::RE3(CuriosityOptions o, uint64_t seed)
    : options_(o), gen_(seed), encoder({o.obs_dim, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}) {
  GL_CHECK(o.apt_k >= 1, "re3: k must be >= 1, got {}", o.apt_k);
  encoder.to(o.device);  // initialised on the CPU, then moved
  encoder.freeze();
}

Tensor RE3::knn_reward(const Tensor& z, int64_t k) {
  const Tensor d = knn_distances(z, k);
  if (d.size(1) == 0) return zeros({z.size(0)}, DType::f32, z.device());
  return log1p(mean(d, {1})).to(DType::f32);  // docs/papers/rl-baselines.md "APT and RE3": log(1 + k-NN distance)
}

Tensor RE3::reward(const TransitionBatch& b) {
  check_batch(b, options_, "re3");
  NoGradGuard no_grad;
  return knn_reward(encoder(b.next_obs).value(), options_.apt_k);
}

}  // namespace gradlab::rl::curiosity
