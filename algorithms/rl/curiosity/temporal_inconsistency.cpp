// TI (docs/papers/temporal-inconsistency.md): nuclear norm of the predictions of K parameter snapshots.
#include "algorithms/rl/curiosity/temporal_inconsistency.h"

#include <cmath>

#include "algorithms/rl/curiosity/nuclear_norm.h"

namespace gradlab::rl::curiosity {

TemporalInconsistency::TemporalInconsistency(CuriosityOptions o, uint64_t seed)
    : LearnedIntrinsicReward(o, seed),
      predictor({o.obs_dim + o.n_actions, o.hidden, o.hidden, o.feature_dim}, gen_),
      target({o.obs_dim, o.hidden, o.feature_dim}, gen_, {.init = "orthogonal"}),
      snapshots(o.ti_snapshots,
                o.ti_ema_target ? std::vector<int64_t>{o.feature_dim + o.n_actions, o.hidden, o.feature_dim}
                                : std::vector<int64_t>{o.obs_dim + o.n_actions, o.hidden, o.hidden, o.feature_dim},
                gen_),
      encoder({o.obs_dim, o.hidden, o.feature_dim}, gen_),
      head({o.feature_dim + o.n_actions, o.hidden, o.feature_dim}, gen_),
      encoder_snapshots(o.ti_snapshots, {o.obs_dim, o.hidden, o.feature_dim}, gen_) {
  GL_CHECK(o.ti_snapshots >= 1, "ti: snapshots (K) must be >= 1, got {}", o.ti_snapshots);
  GL_CHECK(o.ti_snapshot_interval >= 1, "ti: snapshot_interval must be >= 1, got {}", o.ti_snapshot_interval);
  GL_CHECK(o.ti_temperature > 0, "ti: temperature must be > 0, got {}", o.ti_temperature);
  GL_CHECK(o.ti_ema_tau >= 0 && o.ti_ema_tau <= 1, "ti: ema tau must be in [0, 1], got {}", o.ti_ema_tau);
  nn::Module* const nets[] = {&predictor, &target, &snapshots, &encoder, &head, &encoder_snapshots};
  for (nn::Module* m : nets) m->to(o.device);  // initialised on the CPU, then moved
  target.freeze();
  snapshots.freeze();
  encoder_snapshots.freeze();
  if (o.ti_ema_target) {
    std::vector<Var> params = encoder.parameters();
    for (const Var& p : head.parameters()) params.push_back(p);
    set_parameters(std::move(params));
    update_ema(0.0);  // g starts at e
  } else {
    set_parameters(predictor.parameters());
  }
  take_snapshot();  // the initial predictor is the first snapshot
}

namespace {

// Copies an MLP's weights into member `slot` of an ensemble of the same sizes.
void copy_into_slot(const nn::MLP& from, const nn::EnsembleMLP& to, int64_t slot) {
  const auto& f = from.layers();
  const auto& t = to.layers();
  GL_CHECK(f.size() == t.size(), "ti: snapshot has {} layers, the network {}", t.size(), f.size());
  for (size_t l = 0; l < f.size(); ++l) {
    // Linear weight [out, in] and EnsembleLinear weight [K, out, in] share a layout per member.
    t[l]->weight.value().select(0, slot).copy_(f[l]->weight.value());
    t[l]->bias.value().select(0, slot).copy_(f[l]->bias.value());
  }
}

}  // namespace

void TemporalInconsistency::take_snapshot() {
  NoGradGuard no_grad;
  if (options_.ti_ema_target) {
    copy_into_slot(encoder, encoder_snapshots, next_slot_);
    copy_into_slot(head, snapshots, next_slot_);
  } else {
    copy_into_slot(predictor, snapshots, next_slot_);
  }
  next_slot_ = (next_slot_ + 1) % options_.ti_snapshots;
  filled_ = std::min(filled_ + 1, options_.ti_snapshots);
  ++taken_;
}

void TemporalInconsistency::update_ema(double tau) {
  NoGradGuard no_grad;
  const std::vector<Var> g = target.parameters(), e = encoder.parameters();
  for (size_t i = 0; i < g.size(); ++i) {
    Tensor v = g[i].value();
    v.copy_(v * tau + e[i].value() * (1 - tau));  // g <- tau g + (1 - tau) e
  }
}

void TemporalInconsistency::after_step() {
  if (options_.ti_ema_target) update_ema(options_.ti_ema_tau);
  if (gradient_steps() % options_.ti_snapshot_interval == 0) take_snapshot();
}

Var TemporalInconsistency::predict(const TransitionBatch& b) const {
  if (!options_.ti_ema_target) return predictor(concat_obs_action(b.obs, b.actions, options_.n_actions));
  return head(concat({encoder(b.obs), Var(one_hot(b.actions, options_.n_actions))}, 1));
}

TemporalInconsistency::Predictions TemporalInconsistency::predictions(const TransitionBatch& b) const {
  NoGradGuard no_grad;
  const int64_t k = filled_, n = b.size(), d = options_.feature_dim;
  Tensor f;  // [k, N, d]
  if (options_.ti_ema_target) {
    const int64_t K = options_.ti_snapshots;
    const Tensor e = encoder_snapshots(b.obs).value();  // [K, N, d], each member on its own slot's encoding
    const Tensor a = one_hot(b.actions, options_.n_actions).unsqueeze(0).expand({K, n, options_.n_actions});
    f = snapshots(concat({e, a}, 2)).value().slice(0, 0, k);
  } else {
    f = snapshots(concat_obs_action(b.obs, b.actions, options_.n_actions)).value().slice(0, 0, k);
  }
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
    w = full({k}, 1.0 / double(k), rows.dtype(), rows.device());
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
  const Var pred = normalize_rows(predict(b));
  const Var goal = normalize_rows(target(b.next_obs)).detach();
  return mean(sum(square(pred - goal), {1}));  // ||n(f(s, a)) - n(g(s'))||^2
}

}  // namespace gradlab::rl::curiosity
