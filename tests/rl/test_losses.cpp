// PPO (with and without a mask), SAC and TD3 losses and targets on
// hand-worked numbers (values and, where the clipping decides which term is
// live, gradients), plus the normalisation of advantages; SAC's losses with
// the temperature as a device tensor equal them with a host number.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "algorithms/rl/ppo.h"
#include "algorithms/rl/sac.h"
#include "algorithms/rl/td3.h"

using namespace gradlab;

namespace {

std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol = 1e-9) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    CHECK_MESSAGE(std::fabs(a[i] - b[i]) <= tol, "element ", i, ": ", a[i], " vs ", b[i]);
}

Tensor f64(std::initializer_list<double> v) { return tensor(v, {}, DType::f64); }

}  // namespace

TEST_CASE("PPO clipped surrogate by hand, with the gradient only where the ratio is unclipped") {
  // ratios 1.5, 0.5, 1.1 (old log-probs 0), advantages 1, -2, 3, clip 0.2:
  //   i0: max(-1.5, -1.2) = -1.2 (clipped: no gradient)
  //   i1: max(1.0, 1.6) = 1.6    (clipped: no gradient)
  //   i2: max(-3.3, -3.3) = -3.3 (inside the clip range: d/dlogp = -A rho / 3 = -1.1)
  const Var new_lp = Var::leaf(f64({std::log(1.5), std::log(0.5), std::log(1.1)}));
  const Var loss = rl::ppo_policy_loss(new_lp, f64({0, 0, 0}), f64({1, -2, 3}), 0.2);
  CHECK(loss.item() == doctest::Approx(-2.9 / 3).epsilon(1e-12));
  loss.backward();
  check_close(vals(new_lp.grad()), {0, 0, -1.1}, 1e-12);

  // A ratio below 1 - c with a positive advantage is not clipped (the min keeps the smaller objective).
  const Var lp2 = Var::leaf(f64({std::log(0.5)}));
  const Var loss2 = rl::ppo_policy_loss(lp2, f64({0}), f64({2}), 0.2);
  CHECK(loss2.item() == doctest::Approx(-1.0));
  loss2.backward();
  check_close(vals(lp2.grad()), {-1.0}, 1e-12);
  CHECK_THROWS_WITH_AS(rl::ppo_policy_loss(lp2, f64({0, 0}), f64({2}), 0.2), doctest::Contains("ppo_policy_loss"),
                       Error);
}

TEST_CASE("PPO clipped value loss by hand") {
  // new 1.0, 2.0, -0.5; old 0.5, 2.1, 0.1; returns 2, 1, 1; clip 0.2
  //   i0: (1-2)^2 = 1 vs (0.7-2)^2 = 1.69 -> 1.69 (the clipped term: no gradient)
  //   i1: (2-1)^2 = 1 vs (2.0-1)^2 = 1    -> 1 (inside the range)
  //   i2: (-0.5-1)^2 = 2.25 vs (-0.1-1)^2 = 1.21 -> 2.25
  //   loss = 0.5 (1.69 + 1 + 2.25) / 3; d/dV = (0, 2 (2 - 1), 2 (-0.5 - 1)) 0.5 / 3
  const Var v = Var::leaf(f64({1.0, 2.0, -0.5}));
  const Var loss = rl::ppo_value_loss(v, f64({0.5, 2.1, 0.1}), f64({2, 1, 1}), 0.2, true);
  CHECK(loss.item() == doctest::Approx(0.5 * 4.94 / 3).epsilon(1e-12));
  loss.backward();
  check_close(vals(v.grad()), {0.0, 1.0 / 3, -1.5 / 3}, 1e-12);

  const Var v2 = Var::leaf(f64({1.0, 2.0, -0.5}));
  const Var plain = rl::ppo_value_loss(v2, f64({0.5, 2.1, 0.1}), f64({2, 1, 1}), 0.2, false);
  CHECK(plain.item() == doctest::Approx(0.5 * 4.25 / 3).epsilon(1e-12));
}

TEST_CASE("PPO losses with a mask average over the masked entries of any shape") {
  // The rows of the two cases above as a [2, 3] batch whose second row is masked out but one entry:
  // the masked means are those of the four live entries.
  const Tensor mask = tensor({1, 1, 1, 0, 1, 0}, {2, 3}, DType::f64);
  const Var lp =
      Var::leaf(tensor({std::log(1.5), std::log(0.5), std::log(1.1), 0.0, std::log(0.5), 0.0}, {2, 3}, DType::f64));
  const Tensor zero = zeros({2, 3}, DType::f64);
  const Var pl = rl::ppo_policy_loss(lp, zero, tensor({1, -2, 3, 7, 2, 7}, {2, 3}, DType::f64), 0.2, mask);
  CHECK(pl.item() == doctest::Approx((-2.9 - 1.0) / 4).epsilon(1e-12));
  pl.backward();
  check_close(vals(lp.grad()), {0, 0, -3.3 / 4, 0, -1.0 / 4, 0}, 1e-12);

  const Var v = Var::leaf(tensor({1.0, 2.0, -0.5, 9.0, 9.0, 9.0}, {2, 3}, DType::f64));
  const Tensor old = tensor({0.5, 2.1, 0.1, 0, 0, 0}, {2, 3}, DType::f64);
  const Tensor ret = tensor({2, 1, 1, 0, 9, 0}, {2, 3}, DType::f64);
  const Var vl = rl::ppo_value_loss(v, old, ret, 0.2, true, mask);
  // The live entries give 1.69, 1, 2.25 and, for (V 9, V_old 0, R 9), max(0, (0.2 - 9)^2) = 77.44.
  CHECK(vl.item() == doctest::Approx(0.5 * (4.94 + 77.44) / 4).epsilon(1e-12));
  // No entry masked in: the mean over at least one.
  CHECK(rl::ppo_value_loss(v, old, ret, 0.2, false, zero).item() == 0.0);
  CHECK_THROWS_WITH_AS(rl::ppo_policy_loss(lp, zero, zero, 0.2, zeros({3, 2}, DType::f64)),
                       doctest::Contains("mask's shape"), Error);
  CHECK_THROWS_WITH_AS(rl::ppo_policy_loss(lp, zero, zero, 0.2), doctest::Contains("must all be [B]"), Error);

  // The caller's count (4 live entries) gives the same losses, bit for bit; a count below 1 is refused.
  const Tensor adv = tensor({1, -2, 3, 7, 2, 7}, {2, 3}, DType::f64);
  CHECK(rl::ppo_policy_loss(lp, zero, adv, 0.2, mask, 4.0).item() == pl.item());
  CHECK(rl::ppo_value_loss(v, old, ret, 0.2, true, mask, 4.0).item() == vl.item());
  CHECK_THROWS_WITH_AS(rl::ppo_value_loss(v, old, ret, 0.2, true, mask, 0.0),
                       "ppo_value_loss: mask_count must be max(1, sum(mask)), got 0", Error);
}

TEST_CASE("normalize_advantages uses the unbiased std") {
  // mean 2, unbiased std 1 for (1, 2, 3)
  check_close(vals(rl::normalize_advantages(f64({1, 2, 3}))), {-1 / (1 + 1e-8), 0, 1 / (1 + 1e-8)}, 1e-12);
  CHECK_THROWS_WITH_AS(rl::normalize_advantages(f64({1})), doctest::Contains("normalize_advantages"), Error);
}

TEST_CASE("SAC critic target, temperature loss and actor loss by hand") {
  // r 1, 2; d 0, 1; Q1' 5, 3; Q2' 4, 6; log pi' -1, 0.5; alpha 0.2; gamma 0.99
  //   i0: 1 + 0.99 (min(5, 4) - 0.2 (-1)) = 1 + 0.99 4.2 = 5.158
  //   i1: terminal -> 2
  const Tensor y = rl::sac_critic_target(f64({1, 2}), f64({0, 1}), f64({5, 3}), f64({4, 6}), f64({-1, 0.5}), 0.2, 0.99);
  check_close(vals(y), {5.158, 2.0}, 1e-12);

  // alpha = 0.5, log pi = -1, -3, target entropy -1: mean(-0.5 (-2), -0.5 (-4)) = 1.5;
  // d/dlog_alpha = the same 1.5 (alpha' = alpha).
  const Var log_alpha = Var::leaf(f64({std::log(0.5)}));
  const Var t_loss = rl::sac_temperature_loss(log_alpha, f64({-1, -3}), -1.0);
  CHECK(t_loss.item() == doctest::Approx(1.5).epsilon(1e-12));
  t_loss.backward();
  check_close(vals(log_alpha.grad()), {1.5}, 1e-12);

  // log pi -1, 0.5; Q1 2, 1; Q2 3, 0; alpha 0.2: mean(-0.2 - 2, 0.1 - 0) = -1.05
  const Var a_loss = rl::sac_actor_loss(Var(f64({-1, 0.5})), Var(f64({2, 1})), Var(f64({3, 0})), 0.2);
  CHECK(a_loss.item() == doctest::Approx(-1.05).epsilon(1e-12));
}

TEST_CASE("SAC's losses with the temperature as a tensor equal those with a number, bit for bit") {
  // The learners keep alpha = exp(log alpha) as a 0-d f64 tensor on their device; in f32 losses it
  // must round exactly as a double scalar does.
  Generator gen(3);
  const Tensor lp = randn({5}, gen), q1 = randn({5}, gen), q2 = randn({5}, gen), r = randn({5}, gen);
  const Tensor d = tensor({0, 1, 0, 0, 1}, {5});
  const Var log_alpha = Var::leaf(tensor({-1.37}, {1}));
  const Tensor alpha = rl::sac_temperature(log_alpha);
  CHECK(alpha.dtype() == DType::f64);
  CHECK(alpha.dim() == 0);
  const double host_alpha = std::exp(double(log_alpha.value().item()));
  CHECK(alpha.item<double>() == host_alpha);
  const Tensor y_t = rl::sac_critic_target(r, d, q1, q2, lp, alpha, 0.99);
  const Tensor y_d = rl::sac_critic_target(r, d, q1, q2, lp, host_alpha, 0.99);
  CHECK(y_t.to_vector<float>() == y_d.to_vector<float>());
  CHECK(rl::sac_actor_loss(Var(lp), Var(q1), Var(q2), alpha).item() ==
        rl::sac_actor_loss(Var(lp), Var(q1), Var(q2), host_alpha).item());
  CHECK_THROWS_WITH_AS(rl::sac_actor_loss(Var(lp), Var(q1), Var(q2), alpha.to(Device::ref)),
                       doctest::Contains("sac_actor_loss: alpha is on ref"), Error);
  CHECK_THROWS_WITH_AS(rl::sac_critic_target(r, d, q1, q2, lp, zeros({2}, DType::f64), 0.99),
                       doctest::Contains("sac_critic_target: alpha must be one floating value"), Error);
}

TEST_CASE("TD3 target policy smoothing clips the noise and then the action; the target takes the min Q") {
  // scale (2, 1), bounds [-2, 2] x [-1, 1], noise clip 0.5
  //   row 0: pi' (1.8, -0.5), eps (0.7, -0.3) -> noise (0.5 * 2, -0.3) -> (2.8, -0.8) -> (2.0, -0.8)
  //   row 1: pi' (-1.0, 0.9), eps (-2.0, 0.2) -> noise (-0.5 * 2, 0.2) -> (-2.0, 1.1) -> (-2.0, 1.0)
  const Tensor a =
      rl::td3_smoothed_target_action(tensor({1.8, -0.5, -1.0, 0.9}, {2, 2}, DType::f64),
                                     tensor({0.7, -0.3, -2.0, 0.2}, {2, 2}, DType::f64), 0.5, {2, 1}, {-2, -1}, {2, 1});
  check_close(vals(a), {2.0, -0.8, -2.0, 1.0}, 1e-12);
  CHECK_THROWS_WITH_AS(rl::td3_smoothed_target_action(zeros({2, 2}), zeros({2, 1}), 0.5, {1, 1}, {-1, -1}, {1, 1}),
                       doctest::Contains("td3_smoothed_target_action: target_action and eps"), Error);

  // r 1, 2; d 0, 1; Q1' 3, 5; Q2' 4, 1; gamma 0.9 -> 1 + 0.9 3 = 3.7, 2
  check_close(vals(rl::td3_critic_target(f64({1, 2}), f64({0, 1}), f64({3, 5}), f64({4, 1}), 0.9)), {3.7, 2.0}, 1e-12);
}
