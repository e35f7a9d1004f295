// The ensemble penalties (UP-RLHF's centred std with its running mean, the
// plain std form, UWO, WCO, the plain mean) and the AUROC and ECE figures, on
// numbers worked out by hand; the flag that tells a collapsed PPO run from an
// over-optimised one, on synthetic proxy trajectories.
#include <doctest/doctest.h>

#include <cmath>

#include "algorithms/alignment/up_rlhf_metrics.h"
#include "algorithms/alignment/up_rlhf_penalty.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/ops.h"

using namespace gradlab;
using namespace gradlab::alignment;

namespace {
// K = 3 members, B = 2 samples: sample 0 has rewards 1, 3, 5 (mean 3,
// population variance 8/3), sample 1 has 2, 2, 2 (mean 2, variance 0).
Tensor hand_rewards() { return tensor({1, 2, 3, 2, 5, 2}, {3, 2}, DType::f64); }
const double kStd = std::sqrt(8.0 / 3.0);

void check_values(const Tensor& got, std::vector<double> want) {
  REQUIRE(got.numel() == int64_t(want.size()));
  const std::vector<double> v = got.to(DType::f64).to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) CHECK(v[i] == doctest::Approx(want[i]).epsilon(1e-12));
}
}  // namespace

TEST_CASE("uncertainty is the population std (or variance) over members") {
  check_values(ensemble_uncertainty(hand_rewards()), {kStd, 0});
  check_values(ensemble_uncertainty(hand_rewards(), UncertaintyMeasure::variance), {8.0 / 3, 0});
  CHECK(ensemble_uncertainty(hand_rewards().to(DType::f32)).dtype() == DType::f32);
  CHECK_THROWS_WITH_AS(ensemble_uncertainty(tensor({1, 2, 3})),  // not [K, B]
                       doctest::Contains("ensemble_uncertainty: expected member rewards [K, B]"), Error);
}

TEST_CASE("mean, WCO, UWO and the plain std penalty") {
  PenalizedReward mean_reward({.kind = PenaltyKind::mean});
  check_values(mean_reward(hand_rewards()), {3, 2});
  PenalizedReward wco({.kind = PenaltyKind::wco});
  check_values(wco(hand_rewards()), {1, 2});
  PenalizedReward uwo(uwo_penalty(0.5));  // mean - 0.5 variance
  check_values(uwo(hand_rewards()), {3 - 0.5 * 8.0 / 3, 2});
  check_values(uwo(hand_rewards()), {3 - 0.5 * 8.0 / 3, 2});                                  // no state
  PenalizedReward plain({.kind = PenaltyKind::uncertainty, .lambda = 2, .centered = false});  // mean - 2 std
  check_values(plain(hand_rewards()), {3 - 2 * kStd, 2});
  CHECK(plain.samples_seen() == 0);
}

TEST_CASE("UP-RLHF's centred penalty keeps the running mean of u over every sample seen") {
  PenalizedReward up(up_rlhf_penalty(1.0));
  // Batch 1: u = (sqrt(8/3), 0), u_bar = sqrt(8/3) / 2.
  check_values(up(hand_rewards()), {3 - (kStd - kStd / 2), 2 - (0 - kStd / 2)});
  CHECK(up.running_uncertainty() == doctest::Approx(kStd / 2));
  CHECK(up.samples_seen() == 2);
  // Batch 2: one sample with rewards 0, 2, 4 (mean 2, u = sqrt(8/3)); u_bar over
  // all three samples = 2 sqrt(8/3) / 3.
  const Tensor second = tensor({0, 2, 4}, {3, 1}, DType::f64);
  check_values(up(second), {2 - (kStd - 2 * kStd / 3)});
  CHECK(up.running_uncertainty() == doctest::Approx(2 * kStd / 3));
  CHECK(up.samples_seen() == 3);
  // lambda scales the penalty; the variance measure centres the variance.
  PenalizedReward up_var({.kind = PenaltyKind::uncertainty, .lambda = 3, .measure = UncertaintyMeasure::variance});
  check_values(up_var(hand_rewards()), {3 - 3 * (8.0 / 3 - 4.0 / 3), 2 - 3 * (0 - 4.0 / 3)});
  CHECK_THROWS_WITH_AS(PenalizedReward({.lambda = -1}), doctest::Contains("PenalizedReward: lambda"), Error);
  CHECK_THROWS_WITH_AS(penalty_kind_from_string("median"), doctest::Contains("penalty: unknown kind 'median'"), Error);
}

TEST_CASE("AUROC on hand-worked cases") {
  // 0.9 and 0.8 beat both negatives, 0.4 beats only 0.3: 5 of 6 pairs.
  CHECK(auroc({0.9, 0.8, 0.4}, {0.5, 0.3}) == doctest::Approx(5.0 / 6));
  // A tie counts one half: (0.5 + 1) / 2.
  CHECK(auroc({1, 2}, {1}) == doctest::Approx(0.75));
  CHECK(auroc({1, 1, 1}, {1, 1}) == doctest::Approx(0.5));
  CHECK(auroc({0, 1}, {2, 3}) == doctest::Approx(0.0));
  CHECK(auroc({2, 3}, {0, 1, 1}) == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(auroc({}, {1}), doctest::Contains("auroc: need positive and negative scores"), Error);
}

TEST_CASE("ECE: 15 bins, the largest margin mapped to 0.99") {
  // s = ln(99) / 2: margins 2, -1, 1, 0 give p = 0.99, 1/(1+sqrt 99),
  // sqrt 99/(1+sqrt 99) and 0.5, each alone in its bin (14, 1, 13, 7);
  // labels 1, 0, 0, 1: ECE = (0.01 + 0.0913 + 0.9087 + 0.5) / 4 = 0.3775.
  const Calibration c = preference_calibration({2, -1, 1, 0}, {true, false, false, true});
  CHECK(c.scale == doctest::Approx(std::log(99.0) / 2));
  CHECK(c.ece == doctest::Approx(0.3775).epsilon(1e-12));
  CHECK(c.accuracy == doctest::Approx(0.625));  // right, right, wrong, a tie
  // Two pairs in one bin: mean p 0.99 against mean label 0.5.
  CHECK(preference_calibration({1, 1}, {true, false}).ece == doctest::Approx(0.49));
  // Perfectly calibrated in one bin: p = 0.5 and half the labels say a.
  const Calibration flat = preference_calibration({0, 0}, {true, false});
  CHECK(flat.ece == doctest::Approx(0.0));
  CHECK(flat.scale == 0);
  CHECK_THROWS_WITH_AS(preference_calibration({1}, {true, false}),
                       doctest::Contains("preference_calibration: 1 margins and 2 labels"), Error);
}

TEST_CASE("a run collapses when its proxy falls, not when its gold does") {
  // Reward hacking: the proxy keeps rising (the gold reward is not an input): not collapsed.
  CHECK_FALSE(proxy_collapsed({1, 3, 5, 7, 8}, 0.1));
  // A plateau with evaluation noise: 1 -> 6 then 5.8, a drop of 0.2 against half the gain (2.5).
  CHECK_FALSE(proxy_collapsed({1, 4, 6, 5.8}, 0.3));
  // Rises to 6 then ends at 2: it lost 4 of its gain of 5, more than half: collapsed.
  CHECK(proxy_collapsed({1, 4, 6, 2}, 0.3));
  // Exactly half the gain lost is not yet a collapse; a little more is.
  CHECK_FALSE(proxy_collapsed({0, 4, 2}, 0.1));
  CHECK(proxy_collapsed({0, 4, 1.9}, 0.1));
  // Never rises and ends below the start by more than the noise: collapsed; within the noise: not.
  CHECK(proxy_collapsed({2, 1.5, 1.0}, 0.5));
  CHECK_FALSE(proxy_collapsed({2, 1.9, 1.8}, 0.5));
  // A small gain then a fall below the start: the noise floor decides (drop 0.6 > max(0.05, 0.2)).
  CHECK(proxy_collapsed({1, 1.1, 0.5}, 0.2));
  CHECK_FALSE(proxy_collapsed({3.0}, 0.0));
  CHECK_THROWS_WITH_AS(proxy_collapsed({}, 0.1), doctest::Contains("proxy_collapsed: no proxy values"), Error);
  CHECK_THROWS_WITH_AS(proxy_collapsed({1, 2}, -1), doctest::Contains("noise must be finite"), Error);
  CHECK_THROWS_WITH_AS(proxy_collapsed({1, NAN}, 0), doctest::Contains("not finite"), Error);
}
