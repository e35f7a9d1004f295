// Thread-count determinism of a short PPO run: the same seed on one thread and
// on two threads gives the same training episodes, logged losses and final
// evaluation, bit for bit. The networks are wide enough that the kernels
// really split their work across two threads (GEMM, tanh, Adam, the
// gradient-norm sum), so this checks more than the single-threaded path.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "algorithms/rl/ppo.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;

namespace {

struct PPORun {
  rl::TrainResult result;
  std::vector<std::string> log;  // the CSV rows, with the wall-clock column (SPS) blanked
};

// The CSV log of a run without its SPS column, which measures time, not the run.
std::vector<std::string> read_log_without_sps(const std::string& path) {
  std::ifstream in(path);
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> keys;
  std::stringstream hs(header);
  for (std::string key; std::getline(hs, key, ',');) keys.push_back(key);
  size_t sps = keys.size();
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == "SPS") sps = i;
  REQUIRE(sps < keys.size());
  std::vector<std::string> rows = {header};
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
    if (cells.size() > sps) cells[sps] = "";
    std::string row;
    for (size_t i = 0; i < cells.size(); ++i) row += (i ? "," : "") + cells[i];
    rows.push_back(row);
  }
  return rows;
}

PPORun run_ppo(int threads) {
  const test::ThreadCountGuard pin(threads);
  rl::PPOArgs a = rl::ppo_continuous_args();  // Pendulum-v1; continuous actions make returns sensitive to any bit
  a.seed = 3;
  a.hidden = 256;  // [256, 256] layers: GEMMs above the parallel threshold, 256 x 256 gradients above the sum grain
  a.num_envs = 4;
  a.num_steps = 128;
  a.num_minibatches = 2;  // minibatches of 256 rows
  a.update_epochs = 2;
  a.total_timesteps = 1024;  // two rollouts: the second acts with the updated policy
  a.eval_episodes = 1;
  a.progress_seconds = 0;
  a.log_csv = "/tmp/gradlab_test_rl_determinism_" + std::to_string(threads) + ".csv";
  PPORun run;
  run.result = rl::train_ppo(a);
  run.log = read_log_without_sps(a.log_csv);
  std::remove(a.log_csv.c_str());
  return run;
}

void check_same_bits(const PPORun& a, const PPORun& b) {
  CHECK(a.result.episode_returns == b.result.episode_returns);
  CHECK(a.result.final_eval_episode_returns == b.result.final_eval_episode_returns);
  CHECK(a.result.final_eval_return == b.result.final_eval_return);
  REQUIRE(a.log.size() == b.log.size());
  for (size_t i = 0; i < a.log.size(); ++i) {
    CAPTURE(i);
    CHECK(a.log[i] == b.log[i]);
  }
}

}  // namespace

TEST_CASE("a short PPO run gives the same bits on one thread and on two") {
  // A count neither run uses, to see that each run's guard restores it.
  const test::ThreadCountGuard outer(3);
  const PPORun one = run_ppo(1), two = run_ppo(2), two_again = run_ppo(2);
  CHECK(num_threads() == 3);
  // The run is long enough to say something: two logged updates, and 4
  // training episodes of 200 steps that end in the second rollout, acting
  // with the updated policy (a header, 4 episode rows, 2 loss rows and 1
  // evaluation row).
  REQUIRE(one.result.episode_returns.size() == 4);
  REQUIRE(one.log.size() == 8);
  check_same_bits(one, two);
  check_same_bits(two, two_again);
}
