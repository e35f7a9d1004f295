// TI (docs/papers/temporal-inconsistency.md): nuclear norm of the predictions of K parameter snapshots.
#include "algorithms/rl/curiosity/temporal_inconsistency.h"

#include <cmath>

#include "algorithms/rl/curiosity/nuclear_norm.h"

namespace gradlab::rl::curiosity {

TemporalInconsistency::TemporalInconsistency(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed),
      predictor({o.obs_dim + o.n_actions, o.hidden, o.hidden, o.feature_dim}, gen_),
      target({o.obs_dim, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}),
      snapshots(o.ti_snapshots, {o.obs_dim + o.n_actions, o.hidden, o.hidden, o.feature_dim}, gen_) {
  GL_CHECK(o.ti_snapshots >= 1, "ti: snapshots (K) must be >= 1, got {}", o.ti_snapshots);
  GL_CHECK(o.ti_snapshot_interval >= 1, "ti: snapshot_interval must be >= 1, got {}", o.ti_snapshot_interval);
  GL_CHECK(o.ti_temperature > 0, "ti: temperature must be > 0, got {}", o.ti_temperature);
  target.freeze();
  snapshots.freeze();
  set_parameters(predictor.parameters());
  take_snapshot();  // the initial predictor is the first snapshot
}

void TemporalInconsistency::take_snapshot() {
  NoGradGuard no_grad;
  const auto& from = predictor.layers();
  const auto& to = snapshots.layers();
  for (size_t l = 0; l < from.size(); ++l) {
    // Linear weight [out, in] and EnsembleLinear weight [K, out, in] share a layout per member.
    to[l]->weight.value().select(0, next_slot_).copy_(from[l]->weight.value());
    to[l]->bias.value().select(0, next_slot_).copy_(from[l]->bias.value());
  }
  next_slot_ = (next_slot_ + 1) % options_.ti_snapshots;
  filled_ = std::min(filled_ + 1, options_.ti_snapshots);
}

void TemporalInconsistency::after_step() {
  if (gradient_steps() % options_.ti_snapshot_interval == 0) take_snapshot();
}

TemporalInconsistency::Predictions TemporalInconsistency::predictions(const TransitionBatch& b) const {
  NoGradGuard no_grad;
  const int64_t k = filled_, n = b.size(), d = options_.feature_dim;
  const Tensor x = concat_obs_action(b.obs, b.actions, options_.n_actions);
  const Tensor f = snapshots(x).value().slice(0, 0, k);  // [k, N, d]
  const Tensor rows = normalize_rows(Var(f.reshape({k * n, d}))).value().reshape({k, n, d});
  Tensor w;
  if (options_.ti_variational) {
    // Placeholder for the paper's variational weighting (docs/papers/temporal-inconsistency.md, gradlab's
    // reconstruction): w = softmax(-l_k / T), l_k = snapshot k's prediction loss on this batch.
    const Tensor g = normalize_rows(target(b.next_obs)).value();               // [N, d]
    const Tensor losses = mean(sum(square(rows - g.unsqueeze(0)), {2}), {1});  // [k]
    w = softmax(losses * (-1.0 / options_.ti_temperature), 0);
  } else {
    // Uniform ablation, w = 1/k over the k snapshots that exist (k < K while the FIFO fills), so that
    // the weights sum to 1 as the softmax's do and the warm-up is weighed alike in both branches.
    w = full({k}, 1.0 / double(k));
  }
  const Tensor P = (rows * w.reshape({k, 1, 1})).permute({1, 0, 2}).contiguous();  // [N, k, d], row k = w_k n(f_k)
  return {P, w};
}

Tensor TemporalInconsistency::reward(const TransitionBatch& b) {
  check_batch(b, options_, name());
  const Predictions p = predictions(b);
  Tensor r = nuclear_norm_by_gram(p.P);  // docs/papers/temporal-inconsistency.md: r^i = ||P||_*
  if (options_.ti_frobenius_normalize) {
    const double scale = std::sqrt(double(std::max(p.P.size(1), p.P.size(2))));
    r = r / maximum(frobenius_norm(p.P) * scale, 1e-12);  // ||P||_* / (||P||_F sqrt(max(K, d)))
  }
  return r.to(DType::f32);
}

Var TemporalInconsistency::loss(const TransitionBatch& b) {
  const Var pred = normalize_rows(predictor(concat_obs_action(b.obs, b.actions, options_.n_actions)));
  const Var goal = normalize_rows(target(b.next_obs)).detach();
  return mean(sum(square(pred - goal), {1}));  // ||n(f(s, a)) - n(g(s'))||^2
}

}  // namespace gradlab::rl::curiosity
