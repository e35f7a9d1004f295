// Uncertainty penalties over a reward ensemble: UP-RLHF's centred std penalty,
// UWO and WCO (docs/papers/up-rlhf.md, the paper's Eqs. 13-14;
// docs/papers/alignment-baselines.md "Ensemble conservatism").
#include "algorithms/alignment/up_rlhf_penalty.h"

#include <cmath>

#include "tensor/ops.h"

namespace gradlab::alignment {

PenaltyKind penalty_kind_from_string(const std::string& name) {
  if (name == "mean") return PenaltyKind::mean;
  if (name == "uncertainty") return PenaltyKind::uncertainty;
  if (name == "wco") return PenaltyKind::wco;
  fail("penalty: unknown kind '{}' (mean, uncertainty, wco)", name);
}

UncertaintyMeasure uncertainty_measure_from_string(const std::string& name) {
  if (name == "std") return UncertaintyMeasure::std;
  if (name == "variance") return UncertaintyMeasure::variance;
  fail("penalty: unknown uncertainty measure '{}' (std, variance)", name);
}

PenaltyOptions up_rlhf_penalty(double lambda) {
  return {.kind = PenaltyKind::uncertainty, .lambda = lambda, .measure = UncertaintyMeasure::std, .centered = true};
}

PenaltyOptions uwo_penalty(double lambda) {
  return {
      .kind = PenaltyKind::uncertainty, .lambda = lambda, .measure = UncertaintyMeasure::variance, .centered = false};
}

namespace {
void check_members(const Tensor& r, const char* op) {
  GL_CHECK(r.defined() && r.dim() == 2 && r.size(0) >= 1 && is_floating(r.dtype()),
           "{}: expected member rewards [K, B] (floating, K >= 1), got {}", op,
           r.defined() ? fmt::format("{} {}", r.shape(), r.dtype()) : "undefined");
}
}  // namespace

Tensor ensemble_uncertainty(const Tensor& member_rewards, UncertaintyMeasure measure) {
  check_members(member_rewards, "ensemble_uncertainty");
  // Eq. 13: u = sqrt((1/K) sum_k (r_k - r_bar)^2), the population (not sample) std.
  const Tensor v = var(member_rewards.to(DType::f64), {0}, false, /*correction=*/0);
  const Tensor u = measure == UncertaintyMeasure::std ? sqrt(v) : v;
  return u.to(member_rewards.dtype());
}

PenalizedReward::PenalizedReward(const PenaltyOptions& o) : options_(o) {
  GL_CHECK(std::isfinite(o.lambda) && o.lambda >= 0, "PenalizedReward: lambda must be finite and >= 0, got {}",
           o.lambda);
}

Tensor PenalizedReward::operator()(const Tensor& member_rewards) {
  check_members(member_rewards, "PenalizedReward");
  const Tensor r = member_rewards.to(DType::f64);
  const int64_t B = r.size(1);
  Tensor out;
  switch (options_.kind) {
    case PenaltyKind::mean: out = mean(r, {0}); break;
    case PenaltyKind::wco:
      out = min(r, {0});  // WCO: min_k r_k
      break;
    case PenaltyKind::uncertainty: {
      const Tensor u = ensemble_uncertainty(r, options_.measure);
      double offset = 0;
      if (options_.centered && B > 0) {
        // u_bar: the mean u over every sample seen so far, this batch included.
        const double batch_sum = sum(u).item<double>();
        u_bar_ = (u_bar_ * double(count_) + batch_sum) / double(count_ + B);
        count_ += B;
        offset = u_bar_;
      }
      out = sub(mean(r, {0}), mul(sub(u, offset), options_.lambda));  // Eq. 14: r_bar - beta_2 (u - u_bar)
      break;
    }
  }
  return out.to(member_rewards.dtype());
}

}  // namespace gradlab::alignment
