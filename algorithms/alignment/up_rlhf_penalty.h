// Conservative rewards from an ensemble's member rewards r [K, B]
// (docs/papers/up-rlhf.md and docs/papers/alignment-baselines.md):
//   UP-RLHF (Eqs. 13-14): u = population std over members (variance behind a
//     flag) and r~ = r_bar - lambda (u - u_bar), u_bar the running mean of u
//     over every sample seen so far (the current batch included); the plain
//     form r_bar - lambda u behind a flag;
//   ensemble mean: r_bar;  UWO: r_bar - lambda Var_k r_k;  WCO: min_k r_k.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace gradlab::alignment {

enum class PenaltyKind {
  mean,         // r_bar
  uncertainty,  // r_bar - lambda (u - u_bar), or r_bar - lambda u when !centered
  wco,          // min_k r_k (worst-case optimisation)
};
enum class UncertaintyMeasure { std, variance };

PenaltyKind penalty_kind_from_string(const std::string& name);
UncertaintyMeasure uncertainty_measure_from_string(const std::string& name);

struct PenaltyOptions {
  PenaltyKind kind = PenaltyKind::uncertainty;
  double lambda = 1.0;  // beta_2 in Eq. 14
  UncertaintyMeasure measure = UncertaintyMeasure::std;
  bool centered = true;  // subtract the running mean u_bar (Eq. 14); false: r_bar - lambda u
};
// UP-RLHF's default and the UWO baseline (mean - lambda variance, uncentred).
PenaltyOptions up_rlhf_penalty(double lambda);
PenaltyOptions uwo_penalty(double lambda);

// Population std (or variance) over members of r [K, B]: [B].
Tensor ensemble_uncertainty(const Tensor& member_rewards, UncertaintyMeasure measure = UncertaintyMeasure::std);

// Turns member rewards into the reward the policy optimises. Stateful only
// through u_bar, which every call updates with its batch before penalising.
class PenalizedReward {
 public:
  explicit PenalizedReward(const PenaltyOptions& options = {});
  // r [K, B] -> [B] (f64 arithmetic, returned in r's dtype).
  Tensor operator()(const Tensor& member_rewards);
  double running_uncertainty() const { return u_bar_; }  // u_bar (0 before any sample)
  int64_t samples_seen() const { return count_; }
  const PenaltyOptions& options() const { return options_; }

 private:
  PenaltyOptions options_;
  double u_bar_ = 0;
  int64_t count_ = 0;
};

}  // namespace gradlab::alignment
