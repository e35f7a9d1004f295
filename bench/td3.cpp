// The TD3 command line: every field of rl::TD3Args as a flag (CleanRL's
// names, dashes for underscores), then one training run with its CSV log,
// progress line and final deterministic evaluation.
//   build/bench/td3 --env-id Pendulum-v1 --total-timesteps 30000 --learning-starts 5000
#include "algorithms/rl/td3.h"

#include "bench/common/cli.h"
#include "bench/rl_front_end.h"

using namespace gradlab;

int main(int argc, char** argv) {
  bench::Cli cli("td3", "TD3 (arXiv 1802.09477) with CleanRL's defaults: train, log, evaluate");
  rl::TD3Args a;
  bench::FrontEndFlags f;
  bench::bind_run_flags(cli, a, f, "environment (envs::make_env name; box actions)");
  cli.bind(a.learning_rate, "--learning-rate", "actor and critic learning rate");
  cli.bind(a.buffer_size, "--buffer-size", "replay capacity", {1, INT64_MAX});
  cli.bind(a.gamma, "--gamma", "discount");
  cli.bind(a.tau, "--tau", "Polyak rate of the target networks");
  cli.bind(a.batch_size, "--batch-size", "replay minibatch", {1, INT64_MAX});
  cli.bind(a.policy_noise, "--policy-noise", "target smoothing noise std (x action scale)");
  cli.bind(a.exploration_noise, "--exploration-noise", "acting noise std (x action scale)");
  cli.bind(a.learning_starts, "--learning-starts", "uniform random actions before this step", {0, INT64_MAX});
  cli.bind(a.policy_frequency, "--policy-frequency", "delayed actor and target updates", {1, INT64_MAX});
  cli.bind(a.noise_clip, "--noise-clip", "clip of the smoothing noise (x action scale)");
  bench::parse_off_policy(cli, argc, argv, a, f);
  return bench::run_off_policy("td3", a, f, [](const rl::TD3Args& args) { return rl::train_td3(args); });
}
