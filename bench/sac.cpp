// The SAC command line: every field of rl::SACArgs as a flag (CleanRL's
// names, dashes for underscores), then one training run with its CSV log,
// progress line and final deterministic evaluation.
//   build/bench/sac --env-id Pendulum-v1 --total-timesteps 30000 --learning-starts 5000
#include "algorithms/rl/sac.h"

#include "bench/common/cli.h"
#include "bench/rl_front_end.h"

using namespace gradlab;

int main(int argc, char** argv) {
  bench::Cli cli("sac", "SAC (arXiv 1801.01290, 1812.05905) with CleanRL's defaults: train, log, evaluate");
  rl::SACArgs a;
  bench::FrontEndFlags f;
  bench::bind_run_flags(cli, a, f, "environment (envs::make_env name; box actions)");
  cli.bind(a.buffer_size, "--buffer-size", "replay capacity", {1, INT64_MAX});
  cli.bind(a.gamma, "--gamma", "discount");
  cli.bind(a.tau, "--tau", "Polyak rate of the target critics");
  cli.bind(a.batch_size, "--batch-size", "replay minibatch", {1, INT64_MAX});
  cli.bind(a.learning_starts, "--learning-starts", "uniform random actions before this step", {0, INT64_MAX});
  cli.bind(a.policy_lr, "--policy-lr", "actor learning rate");
  cli.bind(a.q_lr, "--q-lr", "critic (and temperature) learning rate");
  cli.bind(a.policy_frequency, "--policy-frequency", "delayed actor updates", {1, INT64_MAX});
  cli.bind(a.target_network_frequency, "--target-network-frequency", "steps between Polyak updates", {1, INT64_MAX});
  cli.bind(a.alpha, "--alpha", "temperature when not autotuned");
  cli.bind(a.autotune, "--autotune", "tune the temperature towards entropy -|A|");
  bench::parse_off_policy(cli, argc, argv, a, f);
  return bench::run_off_policy("sac", a, f, [](const rl::SACArgs& args) { return rl::train_sac(args); });
}
