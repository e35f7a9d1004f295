// The SAC command line: every field of rl::SACArgs as a flag (CleanRL's
// names, dashes for underscores), then one training run with its CSV log,
// progress line and final deterministic evaluation.
//   build/bench/sac --env-id Pendulum-v1 --total-timesteps 30000 --learning-starts 5000
#include "algorithms/rl/sac.h"

#include <fmt/format.h>

#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "bench/rl_front_end.h"
#include "tensor/parallel.h"

using namespace gradlab;

int main(int argc, char** argv) {
  const rl::SACArgs d;
  bench::Cli cli("sac", "SAC (arXiv 1801.01290, 1812.05905) with CleanRL's defaults: train, log, evaluate");
  auto& exp_name = cli.text("--exp-name", d.exp_name, "run name (CSV and progress line)");
  auto& env_id = cli.text("--env-id", d.env_id, "environment (envs::make_env name; box actions)");
  auto& seed = cli.integer("--seed", int64_t(d.seed), "seed of every generator of the run", {0, INT64_MAX});
  auto& total = cli.integer("--total-timesteps", d.total_timesteps, "environment steps", {1, INT64_MAX});
  auto& buffer = cli.integer("--buffer-size", d.buffer_size, "replay capacity", {1, INT64_MAX});
  auto& gamma = cli.real("--gamma", d.gamma, "discount");
  auto& tau = cli.real("--tau", d.tau, "Polyak rate of the target critics");
  auto& batch = cli.integer("--batch-size", d.batch_size, "replay minibatch", {1, INT64_MAX});
  auto& starts =
      cli.integer("--learning-starts", d.learning_starts, "uniform random actions before this step", {0, INT64_MAX});
  auto& policy_lr = cli.real("--policy-lr", d.policy_lr, "actor learning rate");
  auto& q_lr = cli.real("--q-lr", d.q_lr, "critic (and temperature) learning rate");
  auto& policy_freq = cli.integer("--policy-frequency", d.policy_frequency, "delayed actor updates", {1, INT64_MAX});
  auto& target_freq = cli.integer("--target-network-frequency", d.target_network_frequency,
                                  "steps between Polyak updates", {1, INT64_MAX});
  auto& alpha = cli.real("--alpha", d.alpha, "temperature when not autotuned");
  auto& autotune = cli.boolean("--autotune", d.autotune, "tune the temperature towards entropy -|A|");
  auto& hidden = cli.integer("--hidden", d.hidden, "width of the two ReLU layers", {1, INT64_MAX});
  auto& eval_episodes =
      cli.integer("--eval-episodes", d.eval_episodes, "episodes of the deterministic evaluation", {1, INT64_MAX});
  auto& eval_every =
      cli.integer("--eval-every", d.eval_every, "steps between evaluations (0: only at the end)", {0, INT64_MAX});
  auto& log_csv = cli.text("--log-csv", "", "CSV log (fixed CleanRL keys), appended line by line");
  auto& threads = cli.integer("--threads", 1, "OpenMP threads", bench::kThreadBounds);
  auto& jsonl = cli.text("--jsonl", "", "append eval_return and SPS records to this file");
  auto& smoke =
      cli.flag("--smoke", "a few seconds: 300 steps, learning from step 200, 64-unit networks, 2 evaluation episodes");
  cli.parse(argc, argv);
  set_num_threads(int(threads));

  rl::SACArgs a;
  a.exp_name = exp_name;
  a.env_id = env_id;
  a.seed = uint64_t(seed);
  a.total_timesteps = cli.budget_default<int64_t>(smoke, "--total-timesteps", total, 300);
  a.buffer_size = buffer;
  a.gamma = gamma;
  a.tau = tau;
  a.batch_size = batch;
  a.learning_starts = cli.budget_default<int64_t>(smoke, "--learning-starts", starts, 200);
  a.policy_lr = policy_lr;
  a.q_lr = q_lr;
  a.policy_frequency = policy_freq;
  a.target_network_frequency = target_freq;
  a.alpha = alpha;
  a.autotune = autotune;
  a.hidden = cli.budget_default<int64_t>(smoke, "--hidden", hidden, 64);
  a.eval_episodes = cli.budget_default<int64_t>(smoke, "--eval-episodes", eval_episodes, 2);
  a.eval_every = eval_every;
  a.log_csv = log_csv;
  try {
    const rl::TrainResult r = rl::train_sac(a);
    bench::report_training("sac", a.env_id, a.seed, r, "deterministic", a.eval_episodes, jsonl, threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sac: %s\n", e.what());
    return 1;
  }
  return 0;
}
