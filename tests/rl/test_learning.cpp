// Seeded learning and reproducibility tests: PPO learns CartPole-v1, and SAC,
// TD3 and continuous PPO learn Pendulum-v1, each within a fixed budget; short
// runs of the three give the same bits twice for the same seed; the CSV log
// keeps its fixed header; bad arguments throw errors that name them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "algorithms/rl/ppo.h"
#include "algorithms/rl/sac.h"
#include "algorithms/rl/td3.h"
#include "tests/rl/tiny_env.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;

namespace {

// Pendulum-v1 pays -(theta^2 + 0.1 theta_dot^2 + 0.001 u^2) per step: at
// most pi^2 + 0.1 x 8^2 + 0.001 x 2^2 = 16.27 in magnitude, 200 steps an
// episode. A run of `steps` on one env ends an episode every 200 steps, each
// return in [-3255, 0], and the final evaluation is the mean of its episodes.
void check_pendulum_run(const rl::TrainResult& r, int64_t steps, size_t eval_episodes) {
  const double worst = -(M_PI * M_PI + 0.1 * 64 + 0.001 * 4) * 200;
  CHECK(r.env_steps == steps);
  REQUIRE(r.episode_returns.size() == size_t(steps / 200));
  for (size_t i = 0; i < r.episode_returns.size(); ++i) {
    CHECK(r.episode_returns[i].first == double(200 * (i + 1)));
    CHECK(r.episode_returns[i].second <= 0);
    CHECK(r.episode_returns[i].second >= worst);
  }
  REQUIRE(r.final_eval_episode_returns.size() == eval_episodes);
  double mean = 0;
  for (double x : r.final_eval_episode_returns) {
    CHECK(x <= 0);
    CHECK(x >= worst);
    mean += x / double(eval_episodes);
  }
  CHECK(r.final_eval_return == doctest::Approx(mean).epsilon(1e-12));
}

}  // namespace

TEST_CASE("PPO reaches a greedy return of 150 on CartPole-v1 within 41k steps (seed 1) [slow]") {
  const test::ThreadCountGuard pin(1);
  rl::PPOArgs args;  // CleanRL's classic-control defaults, a shorter run (lr annealed over it)
  args.seed = 1;
  args.total_timesteps = 40960;  // 80 rollouts of 4 envs x 128 steps
  args.progress_seconds = 0;
  // Seeds 1-4 reach 384-500 here, so 150 leaves a wide margin against flakiness.
  const rl::TrainResult r = rl::train_ppo(args);
  CHECK(r.env_steps == 40960);
  REQUIRE(!r.episode_returns.empty());
  CHECK(r.final_eval_episode_returns.size() == 10);
  // A random policy averages about 22; the greedy policy must be far past it.
  CHECK_MESSAGE(r.final_eval_return >= 150.0, "final greedy return ", r.final_eval_return);
  // Training episodes get longer: the last 20 beat the first 20 by a wide margin.
  const size_t n = r.episode_returns.size();
  REQUIRE(n >= 40);
  double first = 0, last = 0;
  for (size_t i = 0; i < 20; ++i)
    first += r.episode_returns[i].second / 20, last += r.episode_returns[n - 1 - i].second / 20;
  CHECK_MESSAGE(last > first + 50, "first 20 episodes ", first, ", last 20 ", last);
}

// Pendulum-v1: a policy that never swings the pendulum up scores about -900
// to -1500 over 10 greedy episodes, random actions about -1200; one that
// swings it up from every start scores about -150. The bars below sit
// between the two, well short of what every seed we tried reached.

TEST_CASE("SAC reaches a deterministic return of -300 on Pendulum-v1 within 8k steps (seed 1) [slow]") {
  const test::ThreadCountGuard pin(1);
  rl::SACArgs args;  // CleanRL's settings, with 64-unit networks and a smaller batch and warm-up
  args.seed = 1;
  args.total_timesteps = 8000;
  args.learning_starts = 1000;
  args.batch_size = 128;
  args.hidden = 64;
  args.progress_seconds = 0;
  // Seeds 1-8 reach -166, -125, -154, -156, -148, -121, -108 and -110 here.
  const rl::TrainResult r = rl::train_sac(args);
  CHECK(r.env_steps == 8000);
  REQUIRE(r.final_eval_episode_returns.size() == 10);
  CHECK_MESSAGE(r.final_eval_return >= -300.0, "final deterministic return ", r.final_eval_return);
}

TEST_CASE("TD3 reaches a deterministic return of -300 on Pendulum-v1 within 20k steps (seed 1) [slow]") {
  const test::ThreadCountGuard pin(1);
  rl::TD3Args args;  // CleanRL's settings, with 64-unit networks and a smaller batch and warm-up
  args.seed = 1;
  args.total_timesteps = 20000;
  args.learning_starts = 1000;
  args.batch_size = 128;
  args.hidden = 64;
  args.progress_seconds = 0;
  // Seeds 1-6 reach -165, -122, -171, -158, -150 and -123 here (at 15k steps
  // seed 1 was still at -433).
  const rl::TrainResult r = rl::train_td3(args);
  CHECK(r.env_steps == 20000);
  REQUIRE(r.final_eval_episode_returns.size() == 10);
  CHECK_MESSAGE(r.final_eval_return >= -300.0, "final deterministic return ", r.final_eval_return);
}

TEST_CASE("PPO (continuous) reaches a greedy return of -400 on Pendulum-v1 within 615k steps (seed 2) [slow]") {
  const test::ThreadCountGuard pin(1);
  // ppo_continuous_action.py's settings with RL Zoo's Pendulum changes (4 envs
  // x 1024 steps, gamma 0.9) and an entropy bonus of 0.01: without it more
  // seeds settle on a policy that never swings up (-900 to -1150).
  rl::PPOArgs args = rl::ppo_continuous_args();
  args.seed = 2;
  args.total_timesteps = 614400;  // 150 rollouts
  args.num_envs = 4;
  args.num_steps = 1024;
  args.gamma = 0.9;
  args.ent_coef = 0.01;
  args.progress_seconds = 0;
  // PPO without state-dependent exploration is the slowest of the three here:
  // seeds 1-6 reach -933, -134, -335, -182, -880 and -251, so this pins a seed
  // that solves the task (training returns level off near -140) rather than
  // claiming that every seed does.
  const rl::TrainResult r = rl::train_ppo(args);
  CHECK(r.env_steps == 614400);
  REQUIRE(r.final_eval_episode_returns.size() == 10);
  CHECK_MESSAGE(r.final_eval_return >= -400.0, "final greedy return ", r.final_eval_return);
}

TEST_CASE("PPO (continuous), SAC and TD3 run on Pendulum-v1 and repeat bit for bit with the same seed") {
  const test::ThreadCountGuard pin(1);
  const std::string csv = "/tmp/gradlab_test_rl_sac_log.csv";

  rl::PPOArgs ppo = rl::ppo_continuous_args();
  ppo.total_timesteps = 512;
  ppo.num_steps = 256;
  ppo.num_minibatches = 4;
  ppo.update_epochs = 2;
  ppo.eval_episodes = 1;
  ppo.progress_seconds = 0;
  const rl::TrainResult p1 = rl::train_ppo(ppo), p2 = rl::train_ppo(ppo);
  check_pendulum_run(p1, 512, 1);
  CHECK(p1.final_eval_return == p2.final_eval_return);
  CHECK(p1.episode_returns == p2.episode_returns);
  ppo.seed = 2;
  CHECK(rl::train_ppo(ppo).episode_returns != p1.episode_returns);

  rl::SACArgs sac;
  sac.total_timesteps = 300;
  sac.learning_starts = 200;
  sac.batch_size = 32;
  sac.hidden = 32;
  sac.eval_episodes = 1;
  sac.progress_seconds = 0;
  sac.log_csv = csv;
  const rl::TrainResult s1 = rl::train_sac(sac);
  sac.log_csv = "";
  const rl::TrainResult s2 = rl::train_sac(sac);
  check_pendulum_run(s1, 300, 1);
  CHECK(s1.final_eval_return == s2.final_eval_return);
  CHECK(s1.episode_returns == s2.episode_returns);
  sac.seed = 2;
  CHECK(rl::train_sac(sac).final_eval_return != s1.final_eval_return);

  std::ifstream in(csv);
  std::string header, line;
  std::getline(in, header);
  CHECK(header.rfind("global_step,episodic_return,episodic_length,", 0) == 0);
  CHECK(header.find("losses/qf_loss") != std::string::npos);
  CHECK(header.find("losses/alpha") != std::string::npos);
  CHECK(header.find("SPS") != std::string::npos);
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  CHECK(rows == 3);  // one episode (step 200), one loss row (step 201, every 100 steps), the final evaluation
  std::remove(csv.c_str());

  rl::TD3Args td3;
  td3.total_timesteps = 300;
  td3.learning_starts = 200;
  td3.batch_size = 32;
  td3.hidden = 32;
  td3.eval_episodes = 1;
  td3.progress_seconds = 0;
  const rl::TrainResult t1 = rl::train_td3(td3), t2 = rl::train_td3(td3);
  check_pendulum_run(t1, 300, 1);
  CHECK(t1.final_eval_return == t2.final_eval_return);
  CHECK(t1.episode_returns == t2.episode_returns);
  td3.seed = 2;
  CHECK(rl::train_td3(td3).final_eval_return != t1.final_eval_return);
}

TEST_CASE("The train functions refuse bad arguments and unsuitable envs, naming them") {
  rl::PPOArgs ppo;
  ppo.progress_seconds = 0;
  ppo.num_minibatches = 3;  // 4 x 128 does not split in 3
  CHECK_THROWS_WITH_AS(rl::train_ppo(ppo),
                       doctest::Contains("train_ppo: the batch (4 envs x 128 steps = 512) must split into "
                                         "--num-minibatches 3 equal parts"),
                       Error);
  ppo.num_minibatches = 4;
  ppo.total_timesteps = 100;  // less than one rollout
  CHECK_THROWS_WITH_AS(rl::train_ppo(ppo),
                       doctest::Contains("train_ppo: --total-timesteps 100 is less than one rollout (512 steps)"),
                       Error);

  rl::SACArgs sac;
  sac.progress_seconds = 0;
  CHECK_THROWS_WITH_AS(rl::train_sac(sac, [] { return std::make_unique<rl_test::TinyEnv>(5, 0); }),
                       doctest::Contains("needs box observation and action spaces, got"), Error);  // discrete
  rl::TD3Args td3;
  td3.tau = 2;
  CHECK_THROWS_WITH_AS(rl::train_td3(td3), doctest::Contains("train_td3: --tau must be in [0, 1], got 2"), Error);
  rl::PPOArgs unknown;
  unknown.env_id = "NoSuchEnv-v0";
  CHECK_THROWS_WITH_AS(rl::train_ppo(unknown), doctest::Contains("make_env: unknown environment 'NoSuchEnv-v0'"),
                       Error);
}
