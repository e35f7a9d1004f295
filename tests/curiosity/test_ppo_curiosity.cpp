// PPO with curiosity end to end on tiny tasks: every method (plain PPO and
// PPO + ICM, RND, Disagreement, RE3, APT, TI, DyMeCu) reaches the goal of a 7 x 7
// four-rooms maze far above the untrained policy, scoring and training its own
// module; reward-free curiosity covers the maze; the probes count coverage and
// TV time; bad configurations throw errors that name them.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/rl/curiosity/exploration_probe.h"
#include "envs/env.h"
#include "envs/grid_maze.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::rl::curiosity;

namespace {

PPOCuriosityArgs small_args(const std::string& method, uint64_t seed) {
  PPOCuriosityArgs a;
  a.method = method;
  a.seed = seed;
  a.num_envs = 4;
  a.num_steps = 64;
  a.hidden = 32;
  a.curiosity.hidden = 32;
  return a;
}

}  // namespace

TEST_CASE("every method learns to reach the goal of a 7x7 four-rooms maze [slow]") {
  const test::ThreadCountGuard pin(1);
  const auto make = [] { return envs::make_env("GridMaze-N7-FarGoal-OneHot"); };
  // The untrained policy (near-uniform logits) as the reference.
  PPOCuriosity untrained(49, 4, small_args("none", 1));
  envs::EnvPtr env = make();
  const double random_success = success_rate(untrained, *env, 40, 5, false);
  std::vector<std::pair<std::string, double>> bonus;  // (method, mean raw intrinsic reward of the last rollout)
  for (const std::string method : {"none", "icm", "rnd", "disagreement", "re3", "apt", "ti", "dymecu"}) {
    CAPTURE(method);
    const PPOCuriosityArgs args = small_args(method, 1);
    PPOCuriosity agent(49, 4, args);
    const CuriosityRunResult r = run_curiosity(agent, {args, make, 6144, 40});
    CHECK(r.train.env_steps == 6144);
    CHECK(r.first_success_episode > 0);
    CHECK(r.coverage == doctest::Approx(1.0));  // 7x7 has few cells: all are seen
    CHECK_MESSAGE(r.success_rate >= random_success + 0.4, method, ": success ", r.success_rate, " vs untrained ",
                  random_success);
    // The episode records are in order and within the run, and the first
    // success is an episode that reached the goal.
    REQUIRE(int64_t(r.train.episodes.size()) >= r.first_success_episode);
    for (size_t i = 1; i < r.train.episodes.size(); ++i)
      CHECK(r.train.episodes[i - 1].global_step <= r.train.episodes[i].global_step);
    CHECK(r.train.episodes.back().global_step <= r.train.env_steps);
    if (r.first_success_episode > 0)
      CHECK(r.train.episodes[size_t(r.first_success_episode - 1)].extrinsic_return > 0.5);
    if (method == "none") {
      // Plain PPO builds no curiosity module and records no bonus.
      CHECK(agent.intrinsic() == nullptr);
      CHECK(r.train.mean_intrinsic_raw == 0);
      CHECK(r.train.curiosity_seconds == 0);
      continue;
    }
    // The trainer built the module asked for, scored the rollouts with it (every
    // method's bonus is a squared error, a variance, a distance or a nuclear
    // norm: positive on a rollout that moves) and trained it on each rollout:
    // 24 rollouts x 1 epoch x 4 minibatches (RE3's encoder is fixed).
    REQUIRE(agent.intrinsic() != nullptr);
    CHECK(agent.intrinsic()->name() == method);
    CHECK(std::isfinite(r.train.mean_intrinsic_raw));
    CHECK(r.train.mean_intrinsic_raw > 0);
    if (const auto* learned = dynamic_cast<const LearnedIntrinsicReward*>(agent.intrinsic()))
      CHECK(learned->gradient_steps() == 96);
    else
      CHECK(method == "re3");
    bonus.emplace_back(method, r.train.mean_intrinsic_raw);
  }
  // Each method computes its own bonus: no two report the same mean.
  for (size_t i = 0; i < bonus.size(); ++i)
    for (size_t j = i + 1; j < bonus.size(); ++j)
      CHECK_MESSAGE(bonus[i].second != bonus[j].second, bonus[i].first, " and ", bonus[j].first, " both give ",
                    bonus[i].second);
}

TEST_CASE("reward-free training with curiosity covers more of the maze than the untrained policy [slow]") {
  const test::ThreadCountGuard pin(1);
  const auto make = [] { return envs::make_env("GridMaze-NoGoal-OneHot"); };
  PPOCuriosityArgs base = small_args("none", 3);
  base.use_extrinsic = false;
  base.ext_coef = 0;
  // Untrained: learning rate ~0 keeps the initial near-uniform policy.
  PPOCuriosityArgs frozen = base;
  frozen.learning_rate = 1e-12;
  const CuriosityRunResult ref = run_curiosity({frozen, make, 4096, 1});
  // The reward-free path of the trainer, with RND (DyMeCu's coverage at this
  // small budget is no higher than the untrained policy's: see urlb_lite).
  PPOCuriosityArgs a = base;
  a.method = "rnd";
  const CuriosityRunResult r = run_curiosity({a, make, 4096, 1});
  CHECK_MESSAGE(r.coverage > ref.coverage + 0.1, "rnd coverage ", r.coverage, " vs untrained ", ref.coverage);
}

TEST_CASE("the probes count coverage and TV time") {
  auto counters = std::make_shared<ExplorationCounters>();
  ExplorationProbe probe(envs::make_env("GridMaze-NoisyTV-Action"), counters);
  probe.reset(1);
  CHECK(counters->coverage() > 0);
  const double one_cell = counters->coverage();
  probe.step({4.0});  // the remote: the TV is on, the agent stays
  probe.step({1.0});  // right
  CHECK(counters->steps == 2);
  CHECK(counters->tv_steps == 1);
  CHECK(counters->tv_fraction() == doctest::Approx(0.5));
  CHECK(counters->coverage() == doctest::Approx(2 * one_cell));
  // DeepSea: reachable cells are the lower triangle, N (N + 1) / 2.
  auto ds = std::make_shared<ExplorationCounters>();
  ExplorationProbe sea(envs::make_env("DeepSea-10"), ds);
  sea.reset(0);
  CHECK(ds->reachable_cells == 55);
  for (int i = 0; i < 10; ++i) sea.step({0.0});
  CHECK(ds->coverage() == doctest::Approx(10.0 / 55.0));  // one cell per row; the final step leaves the grid
  CHECK_THROWS_WITH_AS(ExplorationProbe(envs::make_env("CartPole-v1"), ds),
                       doctest::Contains("ExplorationProbe: CartPole-v1 is neither a GridMaze nor a DeepSea"), Error);
  // First success and bad arguments.
  CHECK(first_success_episode({{10, 0.0}, {20, 0.99}, {30, 1.0}}) == 2);
  CHECK(first_success_episode({{10, 0.0}}) == -1);
  PPOCuriosityArgs bad = small_args("curiosity", 1);
  CHECK_THROWS_WITH_AS(PPOCuriosity(2, 4, bad), doctest::Contains("make_intrinsic_reward: unknown method 'curiosity'"),
                       Error);
  envs::VectorEnv wrong([] { return envs::make_env("DeepSea-10"); }, 4);
  PPOCuriosity agent(2, 4, small_args("none", 1));
  CHECK_THROWS_WITH_AS(agent.train(wrong, 256, 0),
                       doctest::Contains("ppo_curiosity: the vector env has 4 envs, obs dim 100, actions Discrete(2); "
                                         "the agent wants 4 envs, obs dim 2, Discrete(4)"),
                       Error);
}
