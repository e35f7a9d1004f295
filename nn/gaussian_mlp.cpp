// GaussianMLP: an EnsembleMLP whose output splits into a mean and a raw
// log-variance, the latter soft-clamped by two softplus steps between learnable
// bounds.
#include "nn/gaussian_mlp.h"

namespace gradlab::nn {

Var soft_bound_log_var(const Var& raw, const Var& max_lv, const Var& min_lv) {
  GL_CHECK(raw.dim() >= 1 && max_lv.shape() == Shape{raw.size(-1)} && min_lv.shape() == Shape{raw.size(-1)},
           "soft_bound_log_var: bounds of shapes {} and {} should both be [{}] for log-variances of shape {}",
           max_lv.shape(), min_lv.shape(), raw.dim() >= 1 ? raw.size(-1) : 0, raw.shape());
  const Var below_max = max_lv - softplus(max_lv - raw);
  return min_lv + softplus(below_max - min_lv);
}

GaussianMLP::GaussianMLP(int64_t K, const std::vector<int64_t>& sizes, Generator& gen, GaussianMLPOptions options) {
  GL_CHECK(sizes.size() >= 2, "GaussianMLP: needs at least {{in, out}} sizes, got {}", sizes.size());
  GL_CHECK(options.min_log_var < options.max_log_var, "GaussianMLP: min_log_var ({}) must be below max_log_var ({})",
           options.min_log_var, options.max_log_var);
  const int64_t out = sizes.back();
  std::vector<int64_t> net_sizes = sizes;
  net_sizes.back() = 2 * out;
  net = register_module("net", std::make_shared<EnsembleMLP>(K, net_sizes, gen,
                                                             EnsembleMLPOptions{.activation = options.activation,
                                                                                .output = Activation::none,
                                                                                .dtype = options.dtype}));
  max_log_var = register_parameter("max_log_var", full({out}, options.max_log_var, options.dtype));
  min_log_var = register_parameter("min_log_var", full({out}, options.min_log_var, options.dtype));
}

GaussianPrediction GaussianMLP::forward(const Var& x) const {
  const int64_t out = out_features();
  const Var h = net->forward(x);  // [K, N, 2 out]
  return {narrow(h, 2, 0, out), soft_bound_log_var(narrow(h, 2, out, out), max_log_var, min_log_var)};
}

Var GaussianMLP::nll(const Var& mean, const Var& log_var, const Var& target, Reduction reduction) {
  GL_CHECK(mean.defined() && log_var.defined() && target.defined(), "GaussianMLP::nll: an input is undefined");
  GL_CHECK(mean.shape() == log_var.shape(), "GaussianMLP::nll: mean of shape {} and log_var of shape {} differ",
           mean.shape(), log_var.shape());
  Shape joint;
  GL_CHECK(try_broadcast(mean.shape(), target.shape(), joint) && joint == mean.shape(),
           "GaussianMLP::nll: target of shape {} does not broadcast to the prediction's shape {}", target.shape(),
           mean.shape());
  return gaussian_nll(mean, log_var, target, reduction);
}

Var GaussianMLP::bound_penalty() const { return sum(max_log_var) - sum(min_log_var); }

}  // namespace gradlab::nn
