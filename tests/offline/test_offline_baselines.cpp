// The offline baselines: TD3+BC's actor loss and CQL's penalty on
// hand-worked numbers, CQL's importance-sampled log-sum-exp against a closed
// form, the direction of CQL's Lagrangian weight, the shared offline data
// helpers on a small hand-made dataset, clear errors for bad input, and one
// [slow] learning test per baseline (BC, TD3+BC, CQL) on the square toy.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "algorithms/rl/offline/bc.h"
#include "algorithms/rl/offline/cql.h"
#include "algorithms/rl/offline/offline_data.h"
#include "algorithms/rl/offline/td3_bc.h"
#include "algorithms/rl/rl_utils.h"
#include "envs/env.h"
#include "envs/offline_toys.h"
#include "tensor/error.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;

namespace {

std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    CHECK_MESSAGE(std::fabs(a[i] - b[i]) <= tol, "element ", i, ": ", a[i], " vs ", b[i]);
}

Tensor f64(std::initializer_list<double> v, const Shape& shape = {}) { return tensor(v, shape, DType::f64); }

// Three SquareToy rows by hand: obs (0, 10), (2, 10), (4, 10) (the second
// dimension constant), actions, rewards 1, 2, 3, next obs, the last row terminal.
envs::Dataset small_dataset() {
  envs::Dataset d;
  d.observations = tensor({0, 10, 2, 10, 4, 10}, {3, 2});
  d.actions = tensor({0.5, -0.5, 1, 0, -1, 1}, {3, 2});
  d.rewards = tensor({1, 2, 3}, {3});
  d.next_observations = tensor({0.5, 9.5, 3, 10, 3, 11}, {3, 2});
  d.terminals = tensor({0, 0, 1}, {3});
  d.timeouts = tensor({0, 0, 0}, {3});
  d.metadata["env"] = "SquareToy";
  return d;
}

// Mean 10-step return of `episodes` square-toy episodes under uniform random
// actions (the data's behaviour), from the same reset seeds as evaluate_offline.
double random_policy_return(int64_t episodes, uint64_t seed) {
  Generator gen(seed);
  auto act = [&](const std::vector<double>&) { return uniform({2}, -1, 1, gen, DType::f64).to_vector<double>(); };
  return rl::evaluate_offline("SquareToy", act, episodes, seed, nullptr).mean_return;
}

}  // namespace

// ---------------------------------------------------------------- TD3+BC

TEST_CASE("TD3+BC actor loss by hand, with the weight alpha / mean|Q| a constant") {
  // Q1(s, pi(s)) = (2, -4), pi(s) = (0.5, -0.5), data actions (0, 0.5), alpha = 2.5, B = 2, A = 1:
  //   lambda = 2.5 / mean|Q| = 2.5 / 3
  //   -lambda mean Q = -(2.5 / 3)(-1) = 0.8333...
  //   mean (pi - a)^2 = (0.25 + 1) / 2 = 0.625          -> loss 1.458333...
  //   d/dQ_i  = -lambda / B = -0.416667 each (were lambda differentiated too, dQ_0 would be
  //             -2.5 (1/6 + 1/18) = -0.5556 and dQ_1 = -2.5 (1/6 - 1/18) = -0.2778)
  //   d/dpi_i = 2 (pi_i - a_i) / (B A) = (0.5, -1)
  const Var q = Var::leaf(f64({2, -4}));
  const Var pi = Var::leaf(f64({0.5, -0.5}, {2, 1}));
  const Tensor data_actions = f64({0, 0.5}, {2, 1});
  const Var loss = rl::td3bc_actor_loss(q, pi, data_actions, 2.5);
  CHECK(loss.item() == doctest::Approx(2.5 / 3 + 0.625).epsilon(1e-12));
  loss.backward();
  check_close(vals(q.grad()), {-2.5 / 6, -2.5 / 6}, 1e-12);
  check_close(vals(pi.grad()), {0.5, -1.0}, 1e-12);

  // bc_weight 0 leaves TD3's actor term alone: 0.8333, and no gradient to pi.
  const Var q2 = Var::leaf(f64({2, -4}));
  const Var pi2 = Var::leaf(f64({0.5, -0.5}, {2, 1}));
  const Var td3_only = rl::td3bc_actor_loss(q2, pi2, data_actions, 2.5, 0.0);
  CHECK(td3_only.item() == doctest::Approx(2.5 / 3).epsilon(1e-12));
  td3_only.backward();
  check_close(vals(q2.grad()), {-2.5 / 6, -2.5 / 6}, 1e-12);
  if (pi2.grad().defined()) check_close(vals(pi2.grad()), {0.0, 0.0}, 0.0);

  CHECK_THROWS_WITH_AS(rl::td3bc_actor_loss(q, pi, f64({0, 0, 0}, {3, 1}), 2.5), doctest::Contains("td3bc_actor_loss"),
                       Error);
}

// ---------------------------------------------------------------- BC

TEST_CASE("BC loss by hand") {
  // pi = ((1, 0), (0, 2)), a = ((0, 0), (0, 1)): mean of (1, 0, 0, 1) = 0.5; d/dpi = 2 (pi - a) / 4
  const Var pi = Var::leaf(f64({1, 0, 0, 2}, {2, 2}));
  const Var loss = rl::bc_loss(pi, f64({0, 0, 0, 1}, {2, 2}));
  CHECK(loss.item() == doctest::Approx(0.5).epsilon(1e-12));
  loss.backward();
  check_close(vals(pi.grad()), {0.5, 0, 0, 0.5}, 1e-12);
  CHECK_THROWS_WITH_AS(rl::bc_loss(pi, f64({0, 0}, {1, 2})), doctest::Contains("bc_loss"), Error);
}

// ---------------------------------------------------------------- CQL

TEST_CASE("CQL importance-sampled log-sum-exp by hand, gradients the softmax of the log-weights") {
  // N = 1 sample per proposal, two states, uniform density 1/2 (log -log 2):
  //   state 0: Q_u = 0       -> 0 + log 2 = log 2   (weight 2)
  //            Q_p = 1, log pi = 1     -> 0         (weight 1)
  //            Q_n = log 3, log pi = 0 -> log 3     (weight 3)
  //            L = log((2 + 1 + 3) / 3) = log 2
  //   state 1: Q_u = -log 2  -> 0                  (weight 1)
  //            Q_p = 0, log pi = -log 2 -> log 2    (weight 2)
  //            Q_n = 0, log pi = -log 9 -> log 9    (weight 9)
  //            L = log((1 + 2 + 9) / 3) = log 4
  //   dL_b/dQ = weight / sum of weights: (2, 1, 3) / 6 and (1, 2, 9) / 12
  const Var qu = Var::leaf(f64({0, -std::log(2.0)}, {2, 1}));
  const Var qp = Var::leaf(f64({1, 0}, {2, 1}));
  const Var qn = Var::leaf(f64({std::log(3.0), 0}, {2, 1}));
  const Tensor log_p = f64({1, -std::log(2.0)}, {2, 1});
  const Tensor log_n = f64({0, -std::log(9.0)}, {2, 1});
  const Var L = rl::cql_importance_sampled_logsumexp(qu, -std::log(2.0), qp, log_p, qn, log_n);
  check_close(vals(L.value()), {std::log(2.0), std::log(4.0)}, 1e-12);
  sum(L).backward();
  check_close(vals(qu.grad()), {2.0 / 6, 1.0 / 12}, 1e-12);
  check_close(vals(qp.grad()), {1.0 / 6, 2.0 / 12}, 1e-12);
  check_close(vals(qn.grad()), {3.0 / 6, 9.0 / 12}, 1e-12);

  // The gap with Q(s, a_data) = (0.5, 1): mean(log 2 - 0.5, log 4 - 1) = (3 log 2 - 1.5) / 2;
  // its gradient is 1/B on L and -1/B on Q(s, a_data).
  const Var Lc = Var::leaf(L.value());
  const Var q_data = Var::leaf(f64({0.5, 1}));
  const Var gap = rl::cql_gap(Lc, q_data);
  CHECK(gap.item() == doctest::Approx((3 * std::log(2.0) - 1.5) / 2).epsilon(1e-12));
  gap.backward();
  check_close(vals(Lc.grad()), {0.5, 0.5}, 1e-12);
  check_close(vals(q_data.grad()), {-0.5, -0.5}, 1e-12);

  CHECK_THROWS_WITH_AS(rl::cql_importance_sampled_logsumexp(qu, -std::log(2.0), qp, f64({1, 2, 3}, {3, 1}), qn, log_n),
                       doctest::Contains("cql_importance_sampled_logsumexp"), Error);
  CHECK_THROWS_WITH_AS(rl::cql_gap(Lc, f64({1, 2, 3})), doctest::Contains("cql_gap"), Error);
}

TEST_CASE("CQL's log-sum-exp estimate approaches log of the integral of exp(c a) over [-1, 1]") {
  // Q(s, a) = c a on a in [-1, 1]: log ∫ exp(c a) da = log((e^c - e^-c) / c).
  // Two states, c = 2 and c = -0.5, N = 100000 samples per proposal, in two setups:
  //   (a) all three proposals uniform (density 1/2);
  //   (b) uniform, and the truncated exponentials p_k(a) = k e^{ka} / (e^k - e^-k) with
  //       k = c / 2 and k = -c (a poor proposal, leaning the wrong way), drawn by inverse CDF
  //       a = log(e^-k + u (e^k - e^-k)) / k.
  // The estimate is log of the mean importance weight w = exp(Q) / p over the 3N samples,
  // whose mean is (1/3) sum_g (group g's mean), with standard error
  //   se = sqrt(sum_g var_g / N) / 3, var_g the sample variance of group g's weights;
  // the log's standard error is se / mean. The test asks for agreement within 4 of those
  // (and that they are below 0.01, so that the check means something); the log's bias
  // (Jensen) is of order se^2, far below.
  const int64_t N = 100000;
  const std::vector<double> cs{2.0, -0.5};
  Generator gen(11);
  for (const bool exponential_proposals : {false, true}) {
    CAPTURE(exponential_proposals);
    std::vector<double> qu, qp, qn, lp, ln;
    std::vector<double> std_errors;
    for (const double c : cs) {
      const std::vector<double> u = rand({3 * N}, gen, DType::f64).to_vector<double>();
      std::vector<std::vector<double>> weights(3);
      for (int g = 0; g < 3; ++g) {
        const double k = g == 1 ? c / 2 : -c;
        for (int64_t i = 0; i < N; ++i) {
          const double ui = u[size_t(g * N + i)];
          double a, log_density;
          if (g == 0 || !exponential_proposals) {
            a = 2 * ui - 1;
            log_density = -std::log(2.0);
          } else {
            a = std::log(std::exp(-k) + ui * (std::exp(k) - std::exp(-k))) / k;
            log_density = std::log(k / (std::exp(k) - std::exp(-k))) + k * a;
          }
          const double q = c * a;
          weights[size_t(g)].push_back(std::exp(q - log_density));
          if (g == 0) qu.push_back(q);
          if (g == 1) qp.push_back(q), lp.push_back(log_density);
          if (g == 2) qn.push_back(q), ln.push_back(log_density);
        }
      }
      double mean_all = 0, var_sum = 0;
      for (const auto& w : weights) {
        double m = 0, v = 0;
        for (double x : w) m += x / double(N);
        for (double x : w) v += (x - m) * (x - m) / double(N - 1);
        mean_all += m / 3;
        var_sum += v;
      }
      std_errors.push_back(std::sqrt(var_sum / double(N)) / 3 / mean_all);
    }
    const Shape shape{int64_t(cs.size()), N};
    const Var L = rl::cql_importance_sampled_logsumexp(
        Var(from_vector(qu, shape)), -std::log(2.0), Var(from_vector(qp, shape)),
        exponential_proposals ? from_vector(lp, shape) : full(shape, -std::log(2.0), DType::f64),
        Var(from_vector(qn, shape)), exponential_proposals ? from_vector(ln, shape) : full(shape, -std::log(2.0), DType::f64));
    const std::vector<double> estimate = vals(L.value());
    for (size_t b = 0; b < cs.size(); ++b) {
      const double c = cs[b];
      const double exact = std::log((std::exp(c) - std::exp(-c)) / c);
      CAPTURE(c);
      CHECK(std_errors[b] < 0.01);
      CHECK_MESSAGE(std::fabs(estimate[b] - exact) <= 4 * std_errors[b], "estimate ", estimate[b], " exact ", exact,
                    " standard error ", std_errors[b]);
    }
  }
}

TEST_CASE("CQL's Lagrangian weight grows while the gap exceeds the threshold and shrinks below it") {
  // loss = -alpha' (gap - tau), alpha' = exp(log alpha'): d loss / d log alpha' = -alpha' (gap - tau).
  // At alpha' = 1, gap 13, tau 10: loss -3, gradient -3; at alpha' = e^2 > max = 5 the clamp holds it
  // at 5 and passes no gradient.
  const Var log_ap = Var::leaf(f64({0}, {1}));
  const Var loss = rl::cql_alpha_prime_loss(log_ap, 13, 10, 5);
  CHECK(loss.item() == doctest::Approx(-3).epsilon(1e-12));
  loss.backward();
  check_close(vals(log_ap.grad()), {-3}, 1e-12);
  const Var log_big = Var::leaf(f64({2}, {1}));
  const Var clamped = rl::cql_alpha_prime_loss(log_big, 13, 10, 5);
  CHECK(clamped.item() == doctest::Approx(-15).epsilon(1e-12));
  clamped.backward();
  check_close(vals(log_big.grad()), {0}, 0);

  // Adam's steps on log alpha' move alpha' the right way, step after step.
  const envs::Space box = envs::Space::box({-1.0, -1.0}, {1.0, 1.0});
  rl::CQLOptions options;
  options.lagrangian = true;
  options.target_gap = 10;
  options.alpha_prime_lr = 0.01;
  rl::CQLPenalty above(box, options, 1), below(box, options, 1);
  CHECK(above.weight() == doctest::Approx(1.0));
  double up = 1, down = 1;
  for (int i = 0; i < 5; ++i) {
    const double next_up = above.lagrange_step(12.0), next_down = below.lagrange_step(7.0);
    CHECK(next_up > up);
    CHECK(next_down < down);
    up = next_up, down = next_down;
  }
  // Adam's first steps move log alpha' by about lr each: alpha' ~ e^{±0.05}
  CHECK(up == doctest::Approx(std::exp(0.05)).epsilon(1e-3));
  CHECK(down == doctest::Approx(std::exp(-0.05)).epsilon(1e-3));
}

TEST_CASE("CQL penalty on a learner: alpha (gap1 + gap2), its gradient on the critics only") {
  const test::ThreadCountGuard pin(1);
  const envs::Space box = envs::Space::box({-1.0, -1.0}, {1.0, 1.0});
  rl::SACLearnerOptions learner_options;
  learner_options.hidden = {16, 16};
  rl::SACLearner learner(2, box, learner_options, 3);
  const rl::ReplayBuffer buffer = rl::dataset_buffer(envs::build_dataset("SquareToy", "random", 64, 5));
  Generator gen(2);
  const rl::ReplayBuffer::Batch batch = buffer.sample(8, gen);

  rl::CQLOptions options;
  options.num_samples = 4;
  rl::CQLPenalty fixed(box, options, 1);
  const Var penalty = fixed(batch, learner);
  CHECK(penalty.item() == doctest::Approx(5.0 * (fixed.last_gap1() + fixed.last_gap2())).epsilon(1e-6));
  // gap_j = mean L_j(s) - mean Q_j(s, a_data), with the learner's own critics
  double q1_data = 0, q2_data = 0;
  {
    NoGradGuard no_grad;
    q1_data = mean(learner.qf1.forward(batch.obs, batch.actions).value()).item();
    q2_data = mean(learner.qf2.forward(batch.obs, batch.actions).value()).item();
  }
  CHECK(fixed.last_gap1() == doctest::Approx(fixed.last_logsumexp1() - q1_data).epsilon(1e-5));
  CHECK(fixed.last_gap2() == doctest::Approx(fixed.last_logsumexp2() - q2_data).epsilon(1e-5));
  penalty.backward();
  double critic_grad = 0;
  for (const Var& p : learner.qf1.parameters())
    if (p.grad().defined()) critic_grad += sum(abs(p.grad())).item();
  CHECK(critic_grad > 0);
  for (const Var& p : learner.actor.parameters())
    if (p.grad().defined()) CHECK(sum(abs(p.grad())).item() == 0);

  // The Lagrangian variant: alpha'_before ((gap1 - tau) + (gap2 - tau)), then alpha' has moved.
  options.lagrangian = true;
  options.target_gap = 10;
  rl::CQLPenalty lagrangian(box, options, 1);
  const double before = lagrangian.weight();
  const Var lagrange_penalty = lagrangian(batch, learner);
  CHECK(lagrange_penalty.item() ==
        doctest::Approx(before * (lagrangian.last_gap1() + lagrangian.last_gap2() - 20)).epsilon(1e-6));
  REQUIRE(lagrangian.last_gap1() + lagrangian.last_gap2() < 20);
  CHECK(lagrangian.weight() < before);  // the mean gap is below the threshold 10
  // The step inside the call (its mean gap an f64 tensor) is the host's step on the same gaps, bit for bit.
  rl::CQLPenalty stepped(box, options, 1);
  CHECK(stepped.lagrange_step(0.5 * (lagrangian.last_gap1() + lagrangian.last_gap2())) == lagrangian.weight());

  rl::CQLOptions bad;
  bad.num_samples = 0;
  CHECK_THROWS_WITH_AS(rl::CQLPenalty(box, bad, 1), doctest::Contains("num_samples"), Error);
  bad = {};
  bad.alpha = -1;
  CHECK_THROWS_WITH_AS(rl::CQLPenalty(box, bad, 1), doctest::Contains("alpha"), Error);
}

// ---------------------------------------------------------------- offline data helpers

TEST_CASE("StateNormalizer standardises with the dataset's mean and std, eps keeping a constant dimension finite") {
  const envs::Dataset d = small_dataset();
  const rl::StateNormalizer n = rl::StateNormalizer::fit(d);
  // x: mean 2, population std sqrt(8/3) = 1.632993, + 1e-3; y: mean 10, std 0 + 1e-3
  check_close(n.mean, {2, 10}, 1e-12);
  check_close(n.std, {std::sqrt(8.0 / 3) + 1e-3, 1e-3}, 1e-12);
  // y = 10 + 2^-10 (exact in f32, so the f32 path sees the same input): (y - 10) / 1e-3 = 0.9765625
  const double y = 10 + std::ldexp(1.0, -10);
  check_close(n.apply(std::vector<double>{4, y}), {2 / (std::sqrt(8.0 / 3) + 1e-3), 0.9765625}, 1e-9);
  // f32: relative rounding of about 1e-7 on values of order 1
  check_close(vals(n.apply(tensor({0, 10, 4, y}, {2, 2}))),
              {-2 / (std::sqrt(8.0 / 3) + 1e-3), 0, 2 / (std::sqrt(8.0 / 3) + 1e-3), 0.9765625}, 1e-6);
  // A batch: observations and next observations standardised, the rest untouched.
  const rl::ReplayBuffer::Batch b{tensor({2, 10}, {1, 2}), tensor({0.5, -0.5}, {1, 2}), tensor({3}, {1}),
                                  tensor({4, 10}, {1, 2}), tensor({1}, {1})};
  const rl::ReplayBuffer::Batch nb = n.apply(b);
  check_close(vals(nb.obs), {0, 0}, 1e-6);
  check_close(vals(nb.next_obs), {2 / (std::sqrt(8.0 / 3) + 1e-3), 0}, 1e-5);
  check_close(vals(nb.actions), {0.5, -0.5}, 0);
  check_close(vals(nb.rewards), {3}, 0);
  check_close(vals(nb.terminated), {1}, 0);
  // identity leaves observations as they are
  check_close(rl::StateNormalizer::identity(2).apply(std::vector<double>{4, 10}), {4, 10}, 0);
  CHECK_THROWS_WITH_AS(n.apply(std::vector<double>{1, 2, 3}), doctest::Contains("StateNormalizer"), Error);
  CHECK_THROWS_WITH_AS(n.apply(tensor({1, 2, 3}, {1, 3})), doctest::Contains("StateNormalizer"), Error);
}

TEST_CASE("split_batch, concat_batches and dataset_buffer on hand-made data") {
  CHECK(rl::split_batch(256, {0.05, 0.45, 0.5}) == std::vector<int64_t>{12, 115, 129});
  CHECK(rl::split_batch(256, {1.0}) == std::vector<int64_t>{256});
  CHECK(rl::split_batch(10, {0.5, 0.5}) == std::vector<int64_t>{5, 5});
  CHECK_THROWS_WITH_AS(rl::split_batch(256, {0.5, 0.4}), doctest::Contains("sum to 1"), Error);
  CHECK_THROWS_WITH_AS(rl::split_batch(256, {1.5, -0.5}), doctest::Contains("split_batch"), Error);
  CHECK_THROWS_WITH_AS(rl::split_batch(0, {1.0}), doctest::Contains("split_batch"), Error);

  const rl::ReplayBuffer buffer = rl::dataset_buffer(small_dataset());
  CHECK(buffer.size() == 3);
  const rl::ReplayBuffer::Batch all = buffer.gather({0, 1, 2});
  check_close(vals(all.obs), {0, 10, 2, 10, 4, 10}, 0);
  check_close(vals(all.actions), {0.5, -0.5, 1, 0, -1, 1}, 0);
  check_close(vals(all.rewards), {1, 2, 3}, 0);
  check_close(vals(all.next_obs), {0.5, 9.5, 3, 10, 3, 11}, 0);
  check_close(vals(all.terminated), {0, 0, 1}, 0);  // the terminal row stops the bootstrap

  // rows of the first batch, then of the second; an empty batch adds nothing
  const rl::ReplayBuffer::Batch empty_batch{zeros({0, 2}), zeros({0, 2}), zeros({0}), zeros({0, 2}), zeros({0})};
  const rl::ReplayBuffer::Batch joined =
      rl::concat_batches({buffer.gather({2}), empty_batch, buffer.gather({0, 1})});
  check_close(vals(joined.obs), {4, 10, 0, 10, 2, 10}, 0);
  check_close(vals(joined.actions), {-1, 1, 0.5, -0.5, 1, 0}, 0);
  check_close(vals(joined.rewards), {3, 1, 2}, 0);
  check_close(vals(joined.next_obs), {3, 11, 0.5, 9.5, 3, 10}, 0);
  check_close(vals(joined.terminated), {1, 0, 0}, 0);
  CHECK_THROWS_WITH_AS(rl::concat_batches({}), doctest::Contains("concat_batches"), Error);
  CHECK_THROWS_WITH_AS(rl::concat_batches({empty_batch, empty_batch}), doctest::Contains("every batch is empty"), Error);

  envs::Dataset empty;
  empty.metadata["env"] = "SquareToy";
  CHECK_THROWS_WITH_AS(rl::dataset_buffer(empty), doctest::Contains("no rows"), Error);
}

// ---------------------------------------------------------------- bad input

TEST_CASE("the offline train functions refuse bad input with clear errors") {
  envs::Dataset empty;
  empty.metadata["env"] = "SquareToy";
  CHECK_THROWS_WITH_AS(rl::train_bc({}, empty), doctest::Contains("train_bc: the dataset has no rows"), Error);
  CHECK_THROWS_WITH_AS(rl::train_cql({}, empty), doctest::Contains("train_cql: the dataset has no rows"), Error);
  CHECK_THROWS_WITH_AS(rl::train_td3_bc({}, empty), doctest::Contains("no rows"), Error);

  envs::Dataset no_env = small_dataset();
  no_env.metadata.clear();
  CHECK_THROWS_WITH_AS(rl::train_bc({}, no_env), doctest::Contains("names no env"), Error);
  CHECK_THROWS_WITH_AS(rl::train_cql({}, no_env), doctest::Contains("names no env"), Error);
  CHECK_THROWS_WITH_AS(rl::train_td3_bc({}, no_env), doctest::Contains("names no env"), Error);

  envs::Dataset wrong_env = small_dataset();
  wrong_env.metadata["env"] = "Pendulum-v1";  // 3-D observations, 1-D actions
  CHECK_THROWS_WITH_AS(rl::train_bc({}, wrong_env), doctest::Contains("do not match Pendulum-v1"), Error);
  CHECK_THROWS_WITH_AS(rl::train_cql({}, wrong_env), doctest::Contains("do not match Pendulum-v1"), Error);

  rl::BCArgs bc;
  bc.gradient_steps = 0;
  CHECK_THROWS_WITH_AS(rl::train_bc(bc, small_dataset()), doctest::Contains("gradient_steps"), Error);
  bc = {};
  bc.lr = -1;
  CHECK_THROWS_WITH_AS(rl::train_bc(bc, small_dataset()), doctest::Contains("lr"), Error);
  bc = {};
  bc.hidden = {};
  CHECK_THROWS_WITH_AS(rl::train_bc(bc, small_dataset()), doctest::Contains("hidden"), Error);
  rl::CQLArgs cql;
  cql.batch_size = -1;
  CHECK_THROWS_WITH_AS(rl::train_cql(cql, small_dataset()), doctest::Contains("batch_size"), Error);
  cql = {};
  cql.cql.num_samples = 0;
  cql.gradient_steps = 1;
  CHECK_THROWS_WITH_AS(rl::train_cql(cql, small_dataset()), doctest::Contains("num_samples"), Error);
}

// ---------------------------------------------------------------- learning on the square toy
//
// The square toy (docs/papers/environments.md "Square toy"): 10-step episodes from the band
// |x + y| < 0.25, reward (x' + y')/sqrt(2); the best return is about 38.2. The "random" data are
// 10,000 i.i.d. band states with uniform actions. Their behaviour, a uniform random policy,
// measured over the 10 evaluation episodes the learners get with seed 1, returns -2.2 on
// average (-2.1 over 100 episodes): its per-episode return is the sum of a random walk, with a
// standard deviation of about 11, so a 10-episode mean has one of about 3.5. The bars below
// (12 for BC on medium data, 10 for TD3+BC, 15 for CQL) are out of its reach.

TEST_CASE("a uniform random policy's square-toy return, below every learning test's bar") {
  const double r10 = random_policy_return(10, rl::derive_seed(1, 4));
  const double r100 = random_policy_return(100, 7);
  MESSAGE("random policy: mean return ", r10, " over 10 episodes, ", r100, " over 100");
  CHECK(r10 < 10);
  CHECK(std::fabs(r100) < 5);  // 0 in expectation; 5 is over four standard deviations of a 100-episode mean
}

TEST_CASE("BC on the square toy: the data's mean action, worth about 17 on medium data and 0 on random data [slow]") {
  const test::ThreadCountGuard pin(1);
  rl::BCArgs args;
  args.seed = 1;
  args.gradient_steps = 3000;
  args.hidden = {64, 64};
  args.lr = 1e-3;
  args.eval_every = 0;
  args.progress_seconds = 0;
  // Medium data: per step the expert's (1, 1) with p = 0.22, else uniform; the mean action
  // (0.22, 0.22) moves x + y by 0.44 a step, worth 0.44 (1 + ... + 10) / sqrt(2) = 17.1
  // (seed 1 reaches 16.9); a random policy's 10-episode mean (about -2, standard deviation
  // about 3.5) does not reach 12.
  const rl::OfflineResult medium = rl::train_bc(args, envs::build_dataset("SquareToy", "medium", 10000, 1));
  MESSAGE("BC on medium data: ", medium.final_return);
  CHECK(medium.gradient_steps == 3000);
  REQUIRE(medium.final_episode_returns.size() == 10);
  CHECK(medium.eval_returns.size() == 1);
  CHECK_MESSAGE(medium.final_return >= 12.0, "BC's return on medium data ", medium.final_return);
  // Random data: the mean action is 0, so the policy stays near its start in the band
  // (|x + y| < 0.25): every episode's return is within 10 x 0.25 / sqrt(2) = 1.8 of 0 when the
  // policy stays put exactly, and seed 1's episodes lie within 2.9 (the fit's small drift); a
  // random policy's episodes spread with a standard deviation of about 11, so ten of them
  // all within 4 of 0 would be a fluke of odds about 1e-6.
  const rl::OfflineResult random = rl::train_bc(args, envs::build_dataset("SquareToy", "random", 10000, 1));
  MESSAGE("BC on random data: ", random.final_return);
  for (double r : random.final_episode_returns) CHECK_MESSAGE(std::fabs(r) <= 4.0, "episode return ", r);
}

TEST_CASE("TD3+BC beats the random data's behaviour on the square toy (seed 1) [slow]") {
  const test::ThreadCountGuard pin(1);
  rl::TD3BCArgs args;
  args.seed = 1;
  args.gradient_steps = 5000;
  args.learner.hidden = {64, 64};
  args.eval_every = 0;
  args.progress_seconds = 0;
  // Seeds 1-6 reach 17.1, 20.7, 14.9, 19.4, 17.6 and 17.1 here (about 2 s each); a random policy's
  // 10-episode mean is about -2 with a standard deviation of about 3.5, so 10 is out of its reach.
  const rl::OfflineResult r = rl::train_td3_bc(args, envs::build_dataset("SquareToy", "random", 10000, 1));
  MESSAGE("TD3+BC: ", r.final_return, " in ", r.seconds, " s");
  REQUIRE(r.final_episode_returns.size() == 10);
  CHECK_MESSAGE(r.final_return >= 10.0, "TD3+BC's return ", r.final_return);
}

TEST_CASE("CQL beats the random data's behaviour on the square toy (seed 1) [slow]") {
  const test::ThreadCountGuard pin(1);
  rl::CQLArgs args;
  args.seed = 1;
  args.gradient_steps = 3000;
  args.learner.hidden = {64, 64};
  args.eval_every = 0;
  args.progress_seconds = 0;
  // CQL's defaults (fixed alpha 5, N = 10, policy lr 1e-4, critic lr 3e-4, SAC's automatic
  // temperature). Seeds 1-5 reach 25.6, 25.8, 24.7, 29.0 and 24.3 here (about 30 s each);
  // the bar 15 is far beyond a random policy (about -2, standard deviation about 3.5).
  const rl::OfflineResult r = rl::train_cql(args, envs::build_dataset("SquareToy", "random", 10000, 1));
  MESSAGE("CQL: ", r.final_return, " in ", r.seconds, " s");
  REQUIRE(r.final_episode_returns.size() == 10);
  CHECK_MESSAGE(r.final_return >= 15.0, "CQL's return ", r.final_return);
}
