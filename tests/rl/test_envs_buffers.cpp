// The RL plumbing: the vector env's auto-reset and final observations, the
// wrappers' running statistics against a direct computation, GAE on a short
// hand-computed rollout (a truncation bootstrap and a termination), rollout
// storage layout, and the replay buffer (ring order, uniform sampling).
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <vector>

#include "algorithms/rl/buffers.h"
#include "envs/vector_env.h"
#include "envs/wrappers.h"
#include "tests/rl/tiny_env.h"

using namespace gradlab;
using namespace gradlab::envs;
using gradlab::rl_test::TinyEnv;

namespace {

std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

// The statistics RunningMeanStd should hold: the samples plus a pseudo-sample
// of weight eps at mean 0 and variance 1, merged exactly.
std::pair<double, double> pseudo_count_stats(const std::vector<double>& xs, double eps = 1e-4) {
  double n = eps, s = 0;
  for (double x : xs) s += x, n += 1;
  const double m = s / n;
  double m2 = eps * (1.0 + m * m);
  for (double x : xs) m2 += (x - m) * (x - m);
  return {m, m2 / n};
}

}  // namespace

// ---------------------------------------------------------------- vector env

TEST_CASE("VectorEnv auto-resets finished envs and returns their final observation separately") {
  std::vector<EnvPtr> list;
  list.push_back(std::make_unique<EpisodeStatistics>(std::make_unique<TinyEnv>(10, 2)));  // terminates at t = 2
  list.push_back(std::make_unique<EpisodeStatistics>(std::make_unique<TinyEnv>(3, 0)));   // truncated at t = 3
  VectorEnv vec(std::move(list));
  CHECK(vec.num_envs() == 2);
  CHECK(vec.obs_dim() == 2);
  CHECK_THROWS_WITH_AS(vec.step(zeros({2}, DType::i64)), doctest::Contains("call reset(seed) first"), Error);

  const Tensor obs0 = vec.reset(5);  // env i seeded 5 + i
  CHECK(obs0.shape() == Shape{2, 2});
  CHECK(obs0.dtype() == DType::f32);
  CHECK(vals(obs0) == std::vector<double>{500, 0, 600, 0});

  VectorStep s1 = vec.step(tensor({1, 0}, {2}).to(DType::i64));
  CHECK(vals(s1.obs) == std::vector<double>{501, 1, 601, 1});
  CHECK(s1.rewards == std::vector<double>{2, 1});
  CHECK(!s1.done(0));
  CHECK(!s1.done(1));
  CHECK(s1.final_obs[0].empty());
  CHECK(!s1.episodes[0]);

  // env 0 terminates: its row is the next episode's first observation (offset
  // moved by 1000), the terminal observation comes back in final_obs.
  VectorStep s2 = vec.step(std::vector<std::vector<double>>{{1}, {1}});
  CHECK(s2.terminated == std::vector<uint8_t>{1, 0});
  CHECK(s2.truncated == std::vector<uint8_t>{0, 0});
  CHECK(s2.final_obs[0] == std::vector<double>{502, 2});
  CHECK(s2.final_obs[1].empty());
  CHECK(vals(s2.obs) == std::vector<double>{1500, 0, 602, 2});
  REQUIRE(s2.episodes[0]);
  CHECK(s2.episodes[0]->episode_return == 4.0);  // 2 + 2
  CHECK(s2.episodes[0]->length == 2);
  CHECK(!s2.episodes[1]);

  // env 1 is truncated at its horizon.
  VectorStep s3 = vec.step(std::vector<std::vector<double>>{{0}, {0}});
  CHECK(s3.terminated == std::vector<uint8_t>{0, 0});
  CHECK(s3.truncated == std::vector<uint8_t>{0, 1});
  CHECK(s3.final_obs[1] == std::vector<double>{603, 3});
  CHECK(vals(s3.obs) == std::vector<double>{1501, 1, 1600, 0});
  REQUIRE(s3.episodes[1]);
  CHECK(s3.episodes[1]->episode_return == 4.0);  // 1 + 2 + 1
  CHECK(s3.episodes[1]->length == 3);

  CHECK_THROWS_WITH_AS(vec.step(zeros({3}, DType::i64)), doctest::Contains("VectorEnv::step"), Error);  // wrong count
  CHECK_THROWS_WITH_AS(vec.step(zeros({2, 2}, DType::i64)), doctest::Contains("VectorEnv::step"),
                       Error);  // wrong shape
}

TEST_CASE("VectorEnv refuses envs with different spaces") {
  std::vector<EnvPtr> list;
  list.push_back(std::make_unique<TinyEnv>(3, 0));
  list.push_back(make_env("Pendulum-v1"));
  CHECK_THROWS_WITH_AS(VectorEnv(std::move(list)), doctest::Contains("VectorEnv:"), Error);
}

// ---------------------------------------------------------------- wrappers

TEST_CASE("RunningMeanStd matches the direct computation, sample by sample or in batches") {
  const std::vector<double> xs = {0.5, -1.25, 3.0, 2.0, -0.75, 10.0};
  RunningMeanStd one(1), batched(1);
  for (double x : xs) one.update({x});
  batched.update_batch(xs.data(), 2);
  batched.update_batch(xs.data() + 2, 4);
  const auto [m, v] = pseudo_count_stats(xs);
  CHECK(one.mean[0] == doctest::Approx(m).epsilon(1e-12));
  CHECK(one.var[0] == doctest::Approx(v).epsilon(1e-12));
  CHECK(batched.mean[0] == doctest::Approx(m).epsilon(1e-12));
  CHECK(batched.var[0] == doctest::Approx(v).epsilon(1e-12));
  CHECK(one.count == doctest::Approx(6.0001));
}

TEST_CASE("NormalizeObservation scales by the running statistics including the current observation") {
  NormalizeObservation env(std::make_unique<TinyEnv>(100, 0));
  std::vector<double> first, second;
  const std::vector<double> o0 = env.reset(3);  // raw (300, 0)
  first.push_back(300), second.push_back(0);
  auto check = [&](const std::vector<double>& got) {
    const auto [m0, v0] = pseudo_count_stats(first);
    const auto [m1, v1] = pseudo_count_stats(second);
    CHECK(got[0] == doctest::Approx((first.back() - m0) / std::sqrt(v0 + 1e-8)).epsilon(1e-9));
    CHECK(got[1] == doctest::Approx((second.back() - m1) / std::sqrt(v1 + 1e-8)).epsilon(1e-9));
  };
  check(o0);
  for (int t = 1; t <= 4; ++t) {
    const Step s = env.step({0});
    first.push_back(300 + t), second.push_back(t);
    check(s.obs);
  }
  // Frozen: the statistics stop moving.
  env.frozen = true;
  const std::vector<double> mean_before = env.rms.mean;
  env.step({0});
  CHECK(env.rms.mean == mean_before);

  NormalizeObservation clipped(std::make_unique<TinyEnv>(100, 0), 1e-8, 0.5);
  clipped.reset(1);
  CHECK(std::fabs(clipped.step({0}).obs[0]) <= 0.5);
}

TEST_CASE("NormalizeReward divides by the running std of the discounted return") {
  const double gamma = 0.9;
  NormalizeReward env(std::make_unique<TinyEnv>(4, 0), gamma);
  env.reset(0);
  std::vector<double> returns;
  double G = 0;
  const std::vector<double> actions = {1, 0, 1, 1};
  for (size_t t = 0; t < actions.size(); ++t) {
    const Step s = env.step({actions[t]});
    const double r = 1 + actions[t];
    G = gamma * G + r;
    returns.push_back(G);
    const auto [m, v] = pseudo_count_stats(returns);
    CHECK(s.reward == doctest::Approx(r / std::sqrt(v + 1e-8)).epsilon(1e-9));
  }
  // The episode was truncated at 4: G restarts after it.
  env.reset();
  const Step s = env.step({0});
  returns.push_back(1.0);
  const auto [m, v] = pseudo_count_stats(returns);
  CHECK(s.reward == doctest::Approx(1.0 / std::sqrt(v + 1e-8)).epsilon(1e-9));
}

TEST_CASE("EpisodeStatistics, TimeLimit and ClipAction") {
  EpisodeStatistics stats(std::make_unique<TimeLimit>(std::make_unique<TinyEnv>(100, 0), 3));
  stats.reset(0);
  CHECK(!stats.step({1}).done());
  CHECK(!stats.finished());
  stats.step({0});
  const Step last = stats.step({1});
  CHECK(last.truncated);
  CHECK(!last.terminated);
  REQUIRE(stats.finished());
  CHECK(stats.finished()->episode_return == 5.0);
  CHECK(stats.finished()->length == 3);
  CHECK(stats.episodes() == 1);
  CHECK(find_wrapper<TimeLimit>(stats) != nullptr);
  CHECK(find_wrapper<NormalizeReward>(stats) == nullptr);
  CHECK_THROWS_WITH_AS(TimeLimit(std::make_unique<TinyEnv>(3, 0), 0), doctest::Contains("max_steps must be positive"),
                       Error);

  // ClipAction: Pendulum's torque is clipped to [-2, 2] before the env sees it,
  // so an out-of-range action gives the same step as the bound itself.
  ClipAction clipped(make_env("Pendulum-v1"));
  EnvPtr plain = make_env("Pendulum-v1");
  clipped.reset(7);
  plain->reset(7);
  const Step a = clipped.step({50.0}), b = plain->step({2.0});
  CHECK(a.obs == b.obs);
  CHECK(a.reward == b.reward);
  CHECK_THROWS_WITH_AS(ClipAction(std::make_unique<TinyEnv>(3, 0)), doctest::Contains("ClipAction"),
                       Error);  // discrete actions
}

// ---------------------------------------------------------------- GAE and rollout storage

TEST_CASE("GAE by hand: a truncation bootstraps from V(final obs), a termination from nothing") {
  // T = 4, N = 2 (env 0 is the interesting one; env 1 never ends), gamma 0.9, lambda 0.8.
  //   env 0: r = 1 2 3 4, V = 0.5 1.0 1.5 2.0, truncated at t0 with V(final) = 10,
  //          terminated at t2, V(after the rollout) = 3.
  //   t3: delta = 4 + 0.9 * 3 - 2 = 4.7                 A = 4.7
  //   t2: delta = 3 - 1.5 = 1.5 (terminal)              A = 1.5
  //   t1: delta = 2 + 0.9 * 1.5 - 1 = 2.35              A = 2.35 + 0.72 * 1.5 = 3.43
  //   t0: delta = 1 + 0.9 * 10 - 0.5 = 9.5 (truncated)  A = 9.5 (the sum stops at the episode's end)
  //   env 1: r = 1, V = 0: delta = 1 everywhere; A3 = 1, A2 = 1.72, A1 = 2.2384, A0 = 2.611648.
  const int64_t T = 4, N = 2;
  const std::vector<double> rewards = {1, 1, 2, 1, 3, 1, 4, 1};
  const std::vector<double> values = {0.5, 0, 1.0, 0, 1.5, 0, 2.0, 0};
  const std::vector<uint8_t> terminated = {0, 0, 0, 0, 1, 0, 0, 0};
  const std::vector<uint8_t> truncated = {1, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<double> bootstrap = {10, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<double> adv =
      rl::compute_gae(T, N, rewards, values, terminated, truncated, bootstrap, {3.0, 0.0}, 0.9, 0.8);
  const std::vector<double> expected = {9.5, 2.611648, 3.43, 2.2384, 1.5, 1.72, 4.7, 1.0};
  REQUIRE(adv.size() == expected.size());
  for (size_t k = 0; k < adv.size(); ++k) CHECK(adv[k] == doctest::Approx(expected[k]).epsilon(1e-12));

  // The same through RolloutStorage, which also gives returns = A + V.
  rl::RolloutStorage storage(T, N, 2, 1);
  for (int64_t t = 0; t < T; ++t) {
    const size_t k = size_t(t * N);
    storage.add(t, full({N, 2}, double(t)), tensor({0, 1}, {2}).to(DType::i64), tensor({-0.5, -0.7}),
                tensor({values[k], values[k + 1]}), {rewards[k], rewards[k + 1]}, {terminated[k], terminated[k + 1]},
                {truncated[k], truncated[k + 1]}, {bootstrap[k], bootstrap[k + 1]});
  }
  storage.compute_returns(tensor({3.0, 0.0}), 0.9, 0.8);
  const rl::RolloutStorage::Flat flat = storage.flat(true);
  CHECK(flat.obs.shape() == Shape{8, 2});
  CHECK(flat.actions.dtype() == DType::i64);
  CHECK(vals(flat.actions) == std::vector<double>{0, 1, 0, 1, 0, 1, 0, 1});
  CHECK(vals(flat.obs.select(1, 0)) == std::vector<double>{0, 0, 1, 1, 2, 2, 3, 3});
  const std::vector<double> ret = vals(flat.returns);
  for (size_t k = 0; k < ret.size(); ++k) CHECK(ret[k] == doctest::Approx(expected[k] + values[k]).epsilon(1e-6));
  CHECK(ret[0] == doctest::Approx(10.0));

  // A truncation with no bootstrap value given (to add or set_bootstrap) is refused.
  storage.add(0, zeros({N, 2}), zeros({N}, DType::i64), zeros({N}), zeros({N}), {0, 0}, {0, 0}, {1, 0}, {});
  CHECK_THROWS_WITH_AS(storage.compute_returns(tensor({3.0, 0.0}), 0.9, 0.8),
                       doctest::Contains("RolloutStorage::compute_returns: env 0 truncated at step 0 but no bootstrap"),
                       Error);
  CHECK_THROWS_WITH_AS(storage.set_bootstrap(1, 0, tensor({1.0})),
                       doctest::Contains("RolloutStorage::set_bootstrap: env 0 did not truncate at step 1"), Error);
  // Given later, on its own, it is read with the values (as PPO gives it, with no host read per truncation).
  // Step 0 of env 0 now: r = 0, V = 0, truncated with V(final) = 10: A = R = 0.9 * 10 = 9.
  storage.set_bootstrap(0, 0, tensor({10.0}));
  storage.compute_returns(tensor({3.0, 0.0}), 0.9, 0.8);
  CHECK(vals(storage.flat(true).returns)[0] == doctest::Approx(9.0));
}

// ---------------------------------------------------------------- replay buffer

TEST_CASE("ReplayBuffer keeps the newest transitions and samples them uniformly") {
  rl::ReplayBuffer rb(4, 2, 1);
  for (int i = 0; i < 6; ++i) rb.add({double(i), -double(i)}, {0.5 * i}, 10.0 * i, {i + 1.0, -i - 1.0}, i % 2 == 1);
  CHECK(rb.size() == 4);
  // Slots hold transitions 4, 5, 2, 3 (the ring overwrote 0 and 1).
  const rl::ReplayBuffer::Batch all = rb.gather({0, 1, 2, 3});
  CHECK(vals(all.obs.select(1, 0)) == std::vector<double>{4, 5, 2, 3});
  CHECK(vals(all.next_obs.select(1, 1)) == std::vector<double>{-5, -6, -3, -4});
  CHECK(vals(all.rewards) == std::vector<double>{40, 50, 20, 30});
  CHECK(vals(all.terminated) == std::vector<double>{0, 1, 0, 1});
  CHECK(vals(all.actions.squeeze(1)) == std::vector<double>{2, 2.5, 1, 1.5});
  CHECK_THROWS_WITH_AS(rb.gather({4}), doctest::Contains("ReplayBuffer::gather: index 4"), Error);
  CHECK_THROWS_WITH_AS(rb.add({1}, {0}, 0, {1, 2}, false), doctest::Contains("ReplayBuffer::add"), Error);

  // 8000 draws over 4 slots: each row is a stored transition, every slot is
  // hit about 2000 times, and the same generator seed gives the same batch.
  Generator gen(11);
  const rl::ReplayBuffer::Batch b = rb.sample(8000, gen);
  std::map<int, int> counts;
  const std::vector<double> o = vals(b.obs), r = vals(b.rewards), no = vals(b.next_obs);
  for (size_t i = 0; i < r.size(); ++i) {
    const int id = int(o[2 * i]);
    CHECK(r[i] == 10.0 * id);
    CHECK(no[2 * i] == id + 1.0);
    counts[id]++;
  }
  REQUIRE(counts.size() == 4);
  for (const auto& [id, c] : counts) CHECK_MESSAGE(std::abs(c - 2000) < 200, "transition ", id, ": ", c);
  Generator again(11);
  CHECK(vals(rb.sample(8000, again).obs) == o);

  rl::ReplayBuffer empty(4, 2, 1);
  Generator g(0);
  CHECK_THROWS_WITH_AS(empty.sample(1, g), doctest::Contains("ReplayBuffer::sample: the buffer is empty"), Error);
}

TEST_CASE("randperm is a seeded permutation") {
  Generator a(3), b(3);
  std::vector<double> p = vals(randperm(100, a));
  CHECK(vals(randperm(100, b)) == p);
  std::vector<double> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) CHECK(sorted[size_t(i)] == i);
  CHECK(p != sorted);
}
