// RunningMeanStd, RewardForwardFilter and RND's intrinsic-reward normalisation
// (docs/papers/rl-baselines.md: r^i divided by the running std of the intrinsic discounted return).
#include "algorithms/rl/curiosity/normalization.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::rl::curiosity {

RunningMeanStd::RunningMeanStd(int64_t features, double epsilon)
    : mean_(size_t(features), 0.0), var_(size_t(features), 1.0), count_(epsilon) {
  GL_CHECK(features >= 1, "RunningMeanStd: features must be >= 1, got {}", features);
  GL_CHECK(epsilon > 0, "RunningMeanStd: epsilon must be > 0, got {}", epsilon);
}

void RunningMeanStd::update(const Tensor& batch) {
  GL_CHECK(batch.dim() == 1 || batch.dim() == 2, "RunningMeanStd::update: expected [N] or [N, F], got {}",
           batch.shape());
  const int64_t n = batch.size(0), f = batch.dim() == 2 ? batch.size(1) : 1;
  GL_CHECK(f == int64_t(mean_.size()), "RunningMeanStd::update: {} features expected, got shape {}", mean_.size(),
           batch.shape());
  if (n == 0) return;
  const std::vector<double> x = batch.to(DType::f64).contiguous().to_vector<double>();
  for (int64_t j = 0; j < f; ++j) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; ++i) m += x[size_t(i * f + j)];
    m /= double(n);
    for (int64_t i = 0; i < n; ++i) v += (x[size_t(i * f + j)] - m) * (x[size_t(i * f + j)] - m);
    v /= double(n);
    GL_CHECK(std::isfinite(m) && std::isfinite(v), "RunningMeanStd::update: non-finite value in feature {}", j);
    // Chan et al.'s merge of (mean_, var_, count_) with the batch (m, v, n).
    const double total = count_ + double(n), delta = m - mean_[size_t(j)];
    const double m2 = var_[size_t(j)] * count_ + v * double(n) + delta * delta * count_ * double(n) / total;
    mean_[size_t(j)] += delta * double(n) / total;
    var_[size_t(j)] = m2 / total;
  }
  count_ += double(n);
}

void RunningMeanStd::update(const std::vector<double>& values) {
  update(from_vector(values, {int64_t(values.size())}).to(DType::f64));
}

Tensor RunningMeanStd::normalize(const Tensor& x, double clip) const {
  const int64_t f = int64_t(mean_.size());
  GL_CHECK(x.dim() == 2 && x.size(1) == f, "RunningMeanStd::normalize: expected [N, {}], got {}", f, x.shape());
  std::vector<double> inv_std(static_cast<size_t>(f));
  for (int64_t j = 0; j < f; ++j) inv_std[size_t(j)] = 1.0 / std::sqrt(var_[size_t(j)] + 1e-8);
  const Tensor mean = from_vector(mean_, {f}).to(x.dtype());
  const Tensor scale = from_vector(inv_std, {f}).to(x.dtype());
  return clamp((x - mean) * scale, -clip, clip);
}

RewardForwardFilter::RewardForwardFilter(int64_t envs, double gamma) : gamma_(gamma), returns_(size_t(envs), 0.0) {
  GL_CHECK(envs >= 1, "RewardForwardFilter: envs must be >= 1, got {}", envs);
  GL_CHECK(gamma >= 0 && gamma <= 1, "RewardForwardFilter: gamma must be in [0, 1], got {}", gamma);
}

const std::vector<double>& RewardForwardFilter::update(const std::vector<double>& rewards) {
  GL_CHECK(rewards.size() == returns_.size(), "RewardForwardFilter::update: {} rewards for {} environments",
           rewards.size(), returns_.size());
  for (size_t e = 0; e < rewards.size(); ++e) returns_[e] = gamma_ * returns_[e] + rewards[e];
  return returns_;
}

double normalize_intrinsic_rewards(std::vector<double>& rewards, int64_t T, int64_t E, RewardForwardFilter& filter,
                                   RunningMeanStd& stats) {
  GL_CHECK(int64_t(rewards.size()) == T * E, "normalize_intrinsic_rewards: {} rewards for T={} x E={}", rewards.size(),
           T, E);
  std::vector<double> returns;
  returns.reserve(rewards.size());
  for (int64_t t = 0; t < T; ++t) {
    const std::vector<double> step(rewards.begin() + t * E, rewards.begin() + (t + 1) * E);
    const std::vector<double>& r = filter.update(step);
    returns.insert(returns.end(), r.begin(), r.end());
  }
  stats.update(returns);
  const double std = std::sqrt(stats.var()[0] + 1e-8);
  for (double& r : rewards) r /= std;
  return std;
}

}  // namespace gradlab::rl::curiosity
