// GaussianMLP: an ensemble of K MLPs (K = 1 for a single model) that each
// predict a diagonal Gaussian, a mean and a log-variance per output dimension,
// the probabilistic dynamics models of MOPO/ORPO. The log-variance is
// soft-bounded between learnable per-dimension bounds, which the caller keeps
// tight with bound_penalty().
#pragma once

#include <vector>

#include "nn/ensemble.h"

namespace gradlab::nn {

struct GaussianMLPOptions {
  Activation activation = Activation::silu;  // between layers (Swish, as dynamics ensembles use)
  double max_log_var = 0.5;                  // initial upper bound, every dimension
  double min_log_var = -10.0;                // initial lower bound
  DType dtype = DType::f32;
};

// A diagonal Gaussian per member and row: mean and log-variance, each [K, N, out].
struct GaussianPrediction {
  Var mean;
  Var log_var;
};

// Soft clamp of raw log-variances [.., out] between max_lv and min_lv [out]:
//   lv = max_lv - softplus(max_lv - raw);  lv = min_lv + softplus(lv - min_lv).
// Smooth in all three inputs, so the bounds learn. The result lies above
// min_lv and at most log(1 + exp(min_lv - max_lv)) above max_lv (2.8e-5 for
// the default bounds): the second softplus adds that much at the top.
Var soft_bound_log_var(const Var& raw, const Var& max_lv, const Var& min_lv);

class GaussianMLP : public Module {
 public:
  // sizes {in, hidden..., out}: K members whose last layer makes 2 out values
  // (the mean, then the raw log-variance). Always built on EnsembleMLP; K = 1
  // is the single model and still returns a leading member axis of size 1.
  GaussianMLP(int64_t K, const std::vector<int64_t>& sizes, Generator& gen, GaussianMLPOptions options = {});

  // x [K, N, in] (member k's own inputs) or [N, in] (shared) -> mean and
  // bounded log-variance, each [K, N, out].
  GaussianPrediction forward(const Var& x) const;
  GaussianPrediction operator()(const Var& x) const { return forward(x); }

  // 0.5 (log_var + (target - mean)^2 exp(-log_var)) per element (gaussian_nll,
  // no 0.5 log 2 pi), reduced as asked. target is mean's shape or broadcasts
  // to it (a [N, out] target serves every member of a [K, N, out] prediction).
  // The MOPO/ORPO model loss mean((mean - y)^2 exp(-lv)) + mean(lv), summed
  // over K members with equal N, equals 2 K nll(.., Reduction::mean).
  static Var nll(const Var& mean, const Var& log_var, const Var& target, Reduction reduction = Reduction::mean);

  // sum(max_log_var) - sum(min_log_var): a scalar the caller adds to the loss
  // with its own weight (0.01 in MOPO/ORPO) so the bounds do not drift apart.
  Var bound_penalty() const;

  int64_t members() const { return net->members(); }
  int64_t out_features() const { return max_log_var.size(0); }

  std::shared_ptr<EnsembleMLP> net;  // {in, hidden..., 2 out}
  Var max_log_var;                   // [out], learnable, starts at options.max_log_var
  Var min_log_var;                   // [out], learnable, starts at options.min_log_var
};

}  // namespace gradlab::nn
