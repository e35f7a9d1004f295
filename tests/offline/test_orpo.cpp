// ORPO's own pieces: the two reward labels of a model transition on
// hand-made numbers, the FIFO two-label model buffer, the mixed batch
// (real + model shares), and the rollout-policy names.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "algorithms/rl/offline/model_rollouts.h"
#include "algorithms/rl/offline/orpo.h"

using namespace gradlab;
using namespace gradlab::rl;

namespace {
std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }
}  // namespace

TEST_CASE("ORPO labels each model transition optimistically and pessimistically") {
  // r^ = (1, -2, 0.5), u = (0.1, 0, 2), beta 0.5, lambda 3:
  //   r_O = r^ + 0.5 u = (1.05, -2, 1.5);  r_P = r^ - 3 u = (0.7, -2, -5.5)
  const Tensor r = from_vector(std::vector<float>{1, -2, 0.5f}), u = from_vector(std::vector<float>{0.1f, 0, 2});
  const RewardLabels l = label_rewards(r, u, 0.5, 3.0);
  const std::vector<double> o = vals(l.optimistic), p = vals(l.pessimistic);
  const std::vector<double> want_o{1.05, -2, 1.5}, want_p{0.7, -2, -5.5};
  for (size_t i = 0; i < 3; ++i) {
    CHECK(o[i] == doctest::Approx(want_o[i]).epsilon(1e-6));
    CHECK(p[i] == doctest::Approx(want_p[i]).epsilon(1e-6));
  }
  CHECK_THROWS(label_rewards(r, from_vector(std::vector<float>{1, 2}), 1, 1));
}

TEST_CASE("the model buffer keeps both labels of the same rows, first in first out") {
  ModelBuffer buffer(/*capacity=*/4, /*obs_dim=*/1, /*act_dim=*/1);
  CHECK_THROWS_WITH(Generator g(1); (void)buffer.sample(2, RewardLabel::optimistic, g), doctest::Contains("empty"));
  // Two rounds of three rows: obs = row id; r_O = 10 id, r_P = -10 id.
  for (int round = 0; round < 2; ++round) {
    std::vector<float> obs, r_o, r_p;
    for (int i = 0; i < 3; ++i) {
      const float id = float(3 * round + i);
      obs.push_back(id);
      r_o.push_back(10 * id);
      r_p.push_back(-10 * id);
    }
    const Tensor o = from_vector(obs, {3, 1});
    buffer.add(o, zeros({3, 1}), o, from_vector(r_o), from_vector(r_p), zeros({3}));
  }
  CHECK(buffer.size() == 4);  // rows 2..5 remain: the first two were pushed out
  Generator gen(7);
  for (RewardLabel label : {RewardLabel::optimistic, RewardLabel::pessimistic}) {
    const ReplayBuffer::Batch b = buffer.sample(64, label, gen);
    const std::vector<double> ids = vals(b.obs), rewards = vals(b.rewards);
    for (size_t i = 0; i < ids.size(); ++i) {
      CHECK(ids[i] >= 2);
      CHECK(rewards[i] == doctest::Approx((label == RewardLabel::optimistic ? 10 : -10) * ids[i]));
    }
  }
  CHECK_THROWS(buffer.add(zeros({2, 1}), zeros({2, 1}), zeros({3, 1}), zeros({2}), zeros({2}), zeros({2})));
}

TEST_CASE("a mixed batch takes the real rows first, then each model share with its label") {
  ReplayBuffer real(8, 1, 1);
  for (int i = 0; i < 8; ++i) real.add({100.0 + i}, {0.0}, 1.0, {0.0}, false);
  ModelBuffer model(8, 1, 1);
  model.add(from_vector(std::vector<float>{1, 2}, {2, 1}), zeros({2, 1}), zeros({2, 1}),
            from_vector(std::vector<float>{5, 5}), from_vector(std::vector<float>{-5, -5}), zeros({2}));
  Generator gen(3);
  const ReplayBuffer::Batch b =
      mixed_batch(real, 2, {{&model, RewardLabel::pessimistic, 3}, {&model, RewardLabel::optimistic, 0}}, gen);
  const std::vector<double> obs = vals(b.obs), rewards = vals(b.rewards);
  REQUIRE(obs.size() == 5);
  for (int i = 0; i < 2; ++i) {
    CHECK(obs[size_t(i)] >= 100);
    CHECK(rewards[size_t(i)] == 1);
  }
  for (int i = 2; i < 5; ++i) {
    CHECK(obs[size_t(i)] < 3);
    CHECK(rewards[size_t(i)] == -5);
  }
  CHECK_THROWS(mixed_batch(real, 0, {{&model, RewardLabel::optimistic, 0}}, gen));
}

TEST_CASE("rollout policies parse by name, and a bad name is refused with the choices") {
  for (RolloutPolicy p : {RolloutPolicy::optimistic, RolloutPolicy::random, RolloutPolicy::output})
    CHECK(parse_rollout_policy(rollout_policy_name(p)) == p);
  CHECK_THROWS_WITH(parse_rollout_policy("greedy"), doctest::Contains("optimistic, random, output"));
}

TEST_CASE("a uniform rollout policy stays inside the action box") {
  Generator gen(5);
  const BatchPolicy pi = uniform_policy({-1, 0}, {1, 2}, gen);
  const std::vector<double> a = vals(pi(zeros({500, 3})));
  REQUIRE(a.size() == 1000);
  double mean0 = 0, mean1 = 0;
  for (size_t i = 0; i < 500; ++i) {
    CHECK(a[2 * i] >= -1);
    CHECK(a[2 * i] <= 1);
    CHECK(a[2 * i + 1] >= 0);
    CHECK(a[2 * i + 1] <= 2);
    mean0 += a[2 * i] / 500;
    mean1 += a[2 * i + 1] / 500;
  }
  // Uniform means 0 and 1, std of the mean sqrt(1/3 / 500) = 0.026: 5 standard errors.
  CHECK(std::fabs(mean0) < 0.13);
  CHECK(std::fabs(mean1 - 1) < 0.13);
}
