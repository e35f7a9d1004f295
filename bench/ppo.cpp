// The PPO command line: every field of rl::PPOArgs as a flag (CleanRL's
// names, dashes for underscores), then one training run with its CSV log,
// progress line and final greedy evaluation. --continuous starts from
// CleanRL's ppo_continuous_action.py defaults instead of ppo.py's.
//   build/bench/ppo --env-id CartPole-v1 --seed 1 --log-csv runs/ppo_cartpole.csv
#include "algorithms/rl/ppo.h"

#include <fmt/format.h>

#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "dist/communicator.h"
#include "bench/rl_front_end.h"
#include "tensor/parallel.h"

using namespace gradlab;

int main(int argc, char** argv) {
  bench::Cli cli("ppo", "PPO (arXiv 1707.06347) with CleanRL's defaults: train, log, evaluate greedily");
  bool continuous = false, distributed = false;
  cli.bind_flag(continuous, "--continuous",
                "start from ppo_continuous_action.py's defaults (Pendulum-v1, 1 env x 2048 steps, ...)");
  // --continuous picks the defaults shown by --help, so read it before binding the other flags.
  for (int i = 1; i < argc; ++i) continuous = continuous || std::string(argv[i]) == "--continuous";
  rl::PPOArgs a = continuous ? rl::ppo_continuous_args() : rl::PPOArgs{};
  bench::FrontEndFlags f;
  bench::bind_run_flags(cli, a, f, "environment (envs::make_env name)");
  cli.bind(a.learning_rate, "--learning-rate", "Adam learning rate");
  cli.bind(a.num_envs, "--num-envs", "parallel envs", {1, INT64_MAX});
  cli.bind(a.num_steps, "--num-steps", "steps per env per rollout", {1, INT64_MAX});
  cli.bind(a.anneal_lr, "--anneal-lr", "anneal the learning rate linearly to 0");
  cli.bind(a.gamma, "--gamma", "discount");
  cli.bind(a.gae_lambda, "--gae-lambda", "GAE lambda");
  cli.bind(a.num_minibatches, "--num-minibatches", "minibatches per epoch", {1, INT64_MAX});
  cli.bind(a.update_epochs, "--update-epochs", "epochs per rollout", {1, INT64_MAX});
  cli.bind(a.norm_adv, "--norm-adv", "normalise advantages per minibatch");
  cli.bind(a.clip_coef, "--clip-coef", "surrogate and value clipping");
  cli.bind(a.clip_vloss, "--clip-vloss", "clipped value loss");
  cli.bind(a.ent_coef, "--ent-coef", "entropy bonus");
  cli.bind(a.vf_coef, "--vf-coef", "value-loss weight");
  cli.bind(a.max_grad_norm, "--max-grad-norm", "gradient-norm clip");
  cli.bind(a.target_kl, "--target-kl", "stop the epochs above this approx KL (0: never)");
  cli.bind(a.hidden, "--hidden", "width of the two tanh layers", {1, INT64_MAX});
  cli.bind(a.bootstrap_truncation, "--bootstrap-truncation",
           "bootstrap from V(final obs) at truncation (off: CleanRL's treat-as-terminal)");
  cli.bind(a.normalize_obs, "--normalize-obs", "running observation normalisation");
  cli.bind(a.normalize_reward, "--normalize-reward", "running return-based reward scaling");
  bench::bind_output_flags(cli, a, f, "greedy");
  cli.bind_flag(f.smoke, "--smoke", "a few seconds: 2 rollouts, 2 evaluation episodes");
  cli.bind_flag(distributed, "--distributed",
                "data-parallel over the ranks of an mpirun job: each rank collects its own rollouts "
                "and the update's gradients are averaged (--total-timesteps counts each rank's steps)");
  cli.parse(argc, argv);
  set_num_threads(int(f.threads));
  a.seed = uint64_t(f.seed);
  a.total_timesteps =
      cli.budget_default<int64_t>(f.smoke, "--total-timesteps", a.total_timesteps, 2 * a.num_envs * a.num_steps);
  a.eval_episodes = cli.budget_default<int64_t>(f.smoke, "--eval-episodes", a.eval_episodes, 2);
  std::unique_ptr<dist::Communicator> comm;
  try {
    comm = dist::make_communicator(distributed ? "auto" : "single");
    if (distributed) a.communicator = comm.get();
    const bool lead = comm->rank() == 0;
    if (!lead) a.progress_seconds = 0, a.log_csv = "";  // rank 0 reports
    const rl::TrainResult r = rl::train_ppo(a);
    if (lead)
      bench::report_training("ppo", a.env_id, a.seed, r, "greedy", a.eval_episodes, f.jsonl, f.threads, a.device);
  } catch (const std::exception& e) {
    if (comm && comm->world_size() > 1) comm->abort(fmt::format("ppo: {}", e.what()));
    std::fprintf(stderr, "ppo: %s\n", e.what());
    return 1;
  }
  return 0;
}
