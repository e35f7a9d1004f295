// ORPO's own pieces: the two reward labels of a model transition on
// hand-made numbers, the FIFO two-label model buffer, the mixed batch
// (real + model shares), the rollout-policy names, branched rollouts
// (termination and the state box), and ORPO and MOPO end to end on the
// square toy ([slow]).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "algorithms/rl/offline/model_rollouts.h"
#include "algorithms/rl/offline/mopo.h"
#include "algorithms/rl/offline/orpo.h"
#include "envs/offline_toys.h"
#include "tests/thread_count_guard.h"

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

namespace {
// A small ensemble fitted for a few epochs on the square toy's data: accurate
// enough that s' is near s + a, which is all the rollout tests need.
std::shared_ptr<DynamicsEnsemble> small_toy_model(const envs::Dataset& data) {
  DynamicsEnsembleOptions o;
  o.hidden = {32, 32, 32, 32};
  o.max_epochs = 5;
  auto m = std::make_shared<DynamicsEnsemble>(2, 2, o, 3);
  m->train(data);
  return m;
}
}  // namespace

TEST_CASE("branched rollouts stop the branches the termination function ends, and clip to the state box") {
  const test::ThreadCountGuard pin(1);
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 2000, 1);
  const auto model = small_toy_model(data);
  // Eight starts at x = 0, 0.4, ..., 2.8 (y = 0); the policy always moves +1 in x; a branch
  // terminates once its next x exceeds 2.5, so the starts past 1.5 end at their first step and the
  // others within three.
  std::vector<float> s;
  for (int i = 0; i < 8; ++i) s.insert(s.end(), {float(i) * 0.4f, 0.0f});
  const Tensor starts = from_vector(s, {8, 2});
  const BatchPolicy right = [](const Tensor& obs) {
    return from_vector(std::vector<float>(size_t(obs.size(0)) * 2, 0.0f), {obs.size(0), 2}) +
           from_vector(std::vector<float>{1.0f, 0.0f}, {1, 2});
  };
  const envs::TerminationFn past = [](const std::vector<double>&, const std::vector<double>&,
                                      const std::vector<double>& next) { return next[0] > 2.5; };
  ModelBuffer buffer(100, 2, 2);
  Generator gen(9);
  const RolloutStats st = branched_rollout(*model, right, starts, 3, past, 0.0, 0.0, buffer, gen);
  // Which branches end when depends on the model's sampled x', near x + 1: count from the buffer.
  const ReplayBuffer::Batch all = buffer.sample(2000, RewardLabel::pessimistic, gen);
  const std::vector<double> next = vals(all.next_obs), done = vals(all.terminated);
  for (size_t i = 0; i < done.size(); ++i) CHECK((done[i] > 0.5) == (next[2 * i] > 2.5));
  CHECK(st.transitions == buffer.size());
  CHECK(st.transitions < 8 * 3);  // some branches stopped early
  CHECK(st.transitions >= 8);     // every start took its first step
  CHECK(st.mean_length == doctest::Approx(double(st.transitions) / 8));

  // The same starts, no termination, states clipped into [-3, 3]^2: no next state leaves the box.
  ModelBuffer clipped(100, 2, 2);
  const envs::TerminationFn never = [](const std::vector<double>&, const std::vector<double>&,
                                       const std::vector<double>&) { return false; };
  envs::SquareToy toy;
  const RolloutStats c =
      branched_rollout(*model, right, starts, 6, never, 0.0, 0.0, clipped, gen, &toy.observation_space());
  CHECK(c.transitions == 8 * 6);
  const std::vector<double> xs = vals(clipped.sample(500, RewardLabel::optimistic, gen).next_obs);
  for (double x : xs) CHECK(std::fabs(x) <= 3.0);
}

TEST_CASE("ORPO and MOPO run end to end on the square toy, and ORPO's output policy leaves the band [slow]") {
  const test::ThreadCountGuard pin(1);
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 5000, 1);
  DynamicsEnsembleOptions dyn;
  dyn.hidden = {64, 64, 64, 64};
  dyn.max_epochs = 60;  // early stopping ends it first (22 epochs here)
  auto model = std::make_shared<DynamicsEnsemble>(2, 2, dyn, 5);
  const DynamicsTrainReport report = model->train(data);
  MESSAGE("model: ", report.epochs, " epochs, elite holdout mse ", report.elite_holdout_mse);
  ORPOArgs a;
  a.seed = 1;
  a.gradient_steps = 2000;
  a.rollout_every = 500;
  a.rollout_batch = 2000;
  a.lambda = 100;
  a.beta = 1;
  a.rollout_learner.hidden = a.output_learner.hidden = {64, 64};
  a.eval_every = 0;
  a.progress_seconds = 0;
  const OfflineResult orpo = train_orpo(a, data, model);
  MESSAGE("ORPO: ", orpo.final_return, " (rollout policy ", orpo.diagnostics.at("rollout_policy_return"), ") in ",
          orpo.seconds, " s");
  // A random policy's 10-episode mean is about -2 (standard deviation about 3.5); the data's behaviour
  // is 0; walking straight to (3, 3) is worth 38.2. Measured here: the output policy 35.4, 31.8, 27.9
  // and 34.5 for seeds 1-4, the optimistic rollout policy 28.6-30.7 for all four.
  CHECK(orpo.final_return >= 15.0);
  CHECK(orpo.diagnostics.at("rollout_policy_return") >= 20.0);
  CHECK(orpo.diagnostics.at("rollout_uncertainty_optimistic") > 0);
  MOPOArgs m;
  m.seed = 1;
  m.gradient_steps = 300;
  m.rollout_every = 100;
  m.rollout_batch = 500;
  m.learner.hidden = {32, 32};
  m.eval_every = 0;
  m.progress_seconds = 0;
  const OfflineResult mopo = train_mopo(m, data, model);
  CHECK(std::isfinite(mopo.final_return));
  CHECK(mopo.final_episode_returns.size() == 10);
  CHECK(mopo.eval_returns.size() == 1);
}
