// PPO with curiosity end to end on tiny tasks: every method (plain PPO and
// PPO + ICM, RND, Disagreement, APT, TI, DyMeCu) learns to reach the goal of a
// 7 x 7 four-rooms maze within a small budget, far above the untrained
// policy; reward-free training with an intrinsic reward covers the maze; the
// coverage and TV-time probes count what they should; bad configurations throw.
#include <doctest/doctest.h>

#include "algorithms/rl/curiosity/exploration_probe.h"
#include "envs/env.h"
#include "envs/grid_maze.h"

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
  const auto make = [] { return envs::make_env("GridMaze-N7-FarGoal-OneHot"); };
  // The untrained policy (near-uniform logits) as the reference.
  PPOCuriosity untrained(49, 4, small_args("none", 1));
  envs::EnvPtr env = make();
  const double random_success = success_rate(untrained, *env, 40, 5, false);
  for (const std::string method : {"none", "icm", "rnd", "disagreement", "apt", "ti", "dymecu"}) {
    CAPTURE(method);
    CuriosityRunSpec spec{small_args(method, 1), make, 6144, 40};
    const CuriosityRunResult r = run_curiosity(spec);
    CHECK(r.train.env_steps == 6144);
    CHECK(r.first_success_episode > 0);
    CHECK(r.coverage == doctest::Approx(1.0));  // 7x7 has few cells: all are seen
    CHECK_MESSAGE(r.success_rate >= random_success + 0.4, method, ": success ", r.success_rate, " vs untrained ",
                  random_success);
    if (method != "none") CHECK(r.train.curiosity_seconds > 0);
  }
}

TEST_CASE("reward-free training with curiosity covers more of the maze than the untrained policy [slow]") {
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
  CHECK_THROWS_AS(ExplorationProbe(envs::make_env("CartPole-v1"), ds), Error);
  // First success and bad arguments.
  CHECK(first_success_episode({{10, 0.0}, {20, 0.99}, {30, 1.0}}) == 2);
  CHECK(first_success_episode({{10, 0.0}}) == -1);
  PPOCuriosityArgs bad = small_args("curiosity", 1);
  CHECK_THROWS_AS(PPOCuriosity(2, 4, bad), Error);
  envs::VectorEnv wrong([] { return envs::make_env("DeepSea-10"); }, 4);
  PPOCuriosity agent(2, 4, small_args("none", 1));
  CHECK_THROWS_AS(agent.train(wrong, 256, 0), Error);
}
