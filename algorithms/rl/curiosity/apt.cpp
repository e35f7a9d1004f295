// APT / RE3 (docs/papers/rl-baselines.md): k-nearest-neighbour particle entropy reward.
#include "algorithms/rl/curiosity/apt.h"

namespace gradlab::rl::curiosity {

APT::APT(CuriosityOptions o, uint64_t seed)
    : options_(o), gen_(seed), encoder({o.obs_dim, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}) {
  GL_CHECK(o.apt_k >= 1, "apt: k must be >= 1, got {}", o.apt_k);
  encoder.freeze();
}

Tensor APT::knn_reward(const Tensor& z, int64_t k) {
  GL_CHECK(z.dim() == 2, "apt: expected embeddings [N, F], got {}", z.shape());
  const int64_t n = z.size(0);
  const int64_t kk = std::min(k, n - 1);
  if (kk < 1) return zeros({n});
  const Tensor zz = z.to(DType::f64);
  const Tensor sq = sum(square(zz), {1}, true);                                // [N, 1]
  const Tensor d2 = maximum(sq + sq.mT() - matmul(zz, zz.mT()) * 2.0, 0.0);    // squared distances [N, N]
  const Tensor nearest = topk(sqrt(d2), kk + 1, 1, /*largest=*/false).values;  // self (0) first
  const Tensor knn_mean = mean(nearest.slice(1, 1, kk + 1), {1});
  return log1p(knn_mean).to(DType::f32);  // docs/papers/rl-baselines.md "APT and RE3": log(1 + k-NN distance)
}

Tensor APT::reward(const TransitionBatch& b) {
  check_batch(b, options_, "apt");
  NoGradGuard no_grad;
  return knn_reward(encoder(b.next_obs).value(), options_.apt_k);
}

}  // namespace gradlab::rl::curiosity
