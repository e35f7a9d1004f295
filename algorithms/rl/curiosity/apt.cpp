// APT (docs/papers/rl-baselines.md): contrastive representation and normalised k-NN particle reward.
#include "algorithms/rl/curiosity/apt.h"

#include "algorithms/rl/curiosity/knn.h"

namespace gradlab::rl::curiosity {

APT::APT(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed), encoder({o.obs_dim, o.hidden, o.feature_dim}, gen_) {
  GL_CHECK(o.apt_k >= 1, "apt: k must be >= 1, got {}", o.apt_k);
  GL_CHECK(o.apt_temperature > 0, "apt: temperature must be > 0, got {}", o.apt_temperature);
  GL_CHECK(o.apt_c > 0, "apt: c must be > 0, got {}", o.apt_c);
  encoder.to(o.device);  // initialised on the CPU, then moved
  mean_ = zeros({}, DType::f64, o.device);
  set_parameters(encoder.parameters());
}

Var APT::contrastive_loss(const Var& z, const Var& z_next, double temperature) {
  GL_CHECK(z.dim() == 2 && z.shape() == z_next.shape(), "apt: contrastive_loss needs two [N, F] embeddings, got {} and {}",
           z.shape(), z_next.shape());
  const Var logits = matmul(normalize_rows(z), transpose(normalize_rows(z_next), 0, 1)) * (1.0 / temperature);  // [N, N]
  const Tensor positives = arange(0, double(z.size(0)), 1, DType::i64, z.device());
  return cross_entropy(logits, positives);  // the positive of row i is column i
}

Tensor APT::normalized_knn_reward(const Tensor& d) {
  GL_CHECK(d.dim() == 2, "apt: expected distances [N, k], got {}", d.shape());
  GL_CHECK(d.device() == mean_.device(), "apt: distances on {}, the running mean on {}", device_name(d.device()),
           device_name(mean_.device()));
  const int64_t n = d.size(0), m = d.numel();
  if (m == 0) return zeros({n}, DType::f32, d.device());
  // Running mean of every k-NN distance so far, on the device (0-d tensors, no
  // read): mean += (batch mean - mean) m / (count + m).
  const Tensor d64 = d.to(DType::f64);
  mean_ = mean_ + (mean(d64) - mean_) * double(m) / double(count_ + m);
  count_ += m;
  const Tensor inv_scale = 1.0 / maximum(mean_, 1e-12);
  return log(mean(d64, {1}) * inv_scale + options_.apt_c).to(DType::f32);
}

Tensor APT::reward(const TransitionBatch& b) {
  check_batch(b, options_, "apt");
  NoGradGuard no_grad;
  return normalized_knn_reward(knn_distances(encoder(b.next_obs).value(), options_.apt_k));
}

Var APT::loss(const TransitionBatch& b) {
  return contrastive_loss(encoder(b.obs), encoder(b.next_obs), options_.apt_temperature);
}

}  // namespace gradlab::rl::curiosity
