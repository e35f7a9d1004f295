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
  // --continuous picks the defaults shown by --help, so read it before declaring the flags.
  bool continuous = false;
  for (int i = 1; i < argc; ++i) continuous = continuous || std::string(argv[i]) == "--continuous";
  const rl::PPOArgs d = continuous ? rl::ppo_continuous_args() : rl::PPOArgs{};

  bench::Cli cli("ppo", "PPO (arXiv 1707.06347) with CleanRL's defaults: train, log, evaluate greedily");
  cli.flag("--continuous", "start from ppo_continuous_action.py's defaults (Pendulum-v1, 1 env x 2048 steps, ...)");
  auto& exp_name = cli.text("--exp-name", d.exp_name, "run name (CSV and progress line)");
  auto& env_id = cli.text("--env-id", d.env_id, "environment (envs::make_env name)");
  auto& seed = cli.integer("--seed", int64_t(d.seed), "seed of every generator of the run", {0, INT64_MAX});
  auto& total = cli.integer("--total-timesteps", d.total_timesteps, "environment steps", {1, INT64_MAX});
  auto& lr = cli.real("--learning-rate", d.learning_rate, "Adam learning rate");
  auto& num_envs = cli.integer("--num-envs", d.num_envs, "parallel envs", {1, INT64_MAX});
  auto& num_steps = cli.integer("--num-steps", d.num_steps, "steps per env per rollout", {1, INT64_MAX});
  auto& anneal = cli.boolean("--anneal-lr", d.anneal_lr, "anneal the learning rate linearly to 0");
  auto& gamma = cli.real("--gamma", d.gamma, "discount");
  auto& lambda = cli.real("--gae-lambda", d.gae_lambda, "GAE lambda");
  auto& minibatches = cli.integer("--num-minibatches", d.num_minibatches, "minibatches per epoch", {1, INT64_MAX});
  auto& epochs = cli.integer("--update-epochs", d.update_epochs, "epochs per rollout", {1, INT64_MAX});
  auto& norm_adv = cli.boolean("--norm-adv", d.norm_adv, "normalise advantages per minibatch");
  auto& clip = cli.real("--clip-coef", d.clip_coef, "surrogate and value clipping");
  auto& clip_vloss = cli.boolean("--clip-vloss", d.clip_vloss, "clipped value loss");
  auto& ent = cli.real("--ent-coef", d.ent_coef, "entropy bonus");
  auto& vf = cli.real("--vf-coef", d.vf_coef, "value-loss weight");
  auto& max_grad_norm = cli.real("--max-grad-norm", d.max_grad_norm, "gradient-norm clip");
  auto& target_kl = cli.real("--target-kl", d.target_kl, "stop the epochs above this approx KL (0: never)");
  auto& hidden = cli.integer("--hidden", d.hidden, "width of the two tanh layers", {1, INT64_MAX});
  auto& bootstrap = cli.boolean("--bootstrap-truncation", d.bootstrap_truncation,
                                "bootstrap from V(final obs) at truncation (off: CleanRL's treat-as-terminal)");
  auto& norm_obs = cli.boolean("--normalize-obs", d.normalize_obs, "running observation normalisation");
  auto& norm_rew = cli.boolean("--normalize-reward", d.normalize_reward, "running return-based reward scaling");
  auto& eval_episodes =
      cli.integer("--eval-episodes", d.eval_episodes, "episodes of the greedy evaluation", {1, INT64_MAX});
  auto& eval_every =
      cli.integer("--eval-every", d.eval_every, "steps between evaluations (0: only at the end)", {0, INT64_MAX});
  auto& log_csv = cli.text("--log-csv", "", "CSV log (fixed CleanRL keys), appended line by line");
  auto& threads = cli.integer("--threads", 1, "OpenMP threads", bench::kThreadBounds);
  auto& jsonl = cli.text("--jsonl", "", "append eval_return and SPS records to this file");
  auto& smoke = cli.flag("--smoke", "a few seconds: 2 rollouts, 2 evaluation episodes");
  auto& distributed = cli.flag("--distributed",
                               "data-parallel over the ranks of an mpirun job: each rank collects its own rollouts "
                               "and the update's gradients are averaged (--total-timesteps counts each rank's steps)");
  cli.parse(argc, argv);
  set_num_threads(int(threads));

  rl::PPOArgs a = d;
  a.exp_name = exp_name;
  a.env_id = env_id;
  a.seed = uint64_t(seed);
  a.total_timesteps = cli.budget_default<int64_t>(smoke, "--total-timesteps", total, 2 * num_envs * num_steps);
  a.learning_rate = lr;
  a.num_envs = num_envs;
  a.num_steps = num_steps;
  a.anneal_lr = anneal;
  a.gamma = gamma;
  a.gae_lambda = lambda;
  a.num_minibatches = minibatches;
  a.update_epochs = epochs;
  a.norm_adv = norm_adv;
  a.clip_coef = clip;
  a.clip_vloss = clip_vloss;
  a.ent_coef = ent;
  a.vf_coef = vf;
  a.max_grad_norm = max_grad_norm;
  a.target_kl = target_kl;
  a.hidden = hidden;
  a.bootstrap_truncation = bootstrap;
  a.normalize_obs = norm_obs;
  a.normalize_reward = norm_rew;
  a.eval_episodes = cli.budget_default<int64_t>(smoke, "--eval-episodes", eval_episodes, 2);
  a.eval_every = eval_every;
  a.log_csv = log_csv;
  std::unique_ptr<dist::Communicator> comm;
  try {
    comm = dist::make_communicator(distributed ? "auto" : "single");
    if (distributed) a.communicator = comm.get();
    const bool lead = comm->rank() == 0;
    if (!lead) a.progress_seconds = 0, a.log_csv = "";  // rank 0 reports
    const rl::TrainResult r = rl::train_ppo(a);
    if (lead) bench::report_training("ppo", a.env_id, a.seed, r, "greedy", a.eval_episodes, jsonl, threads);
  } catch (const std::exception& e) {
    if (comm && comm->world_size() > 1) comm->abort(fmt::format("ppo: {}", e.what()));
    std::fprintf(stderr, "ppo: %s\n", e.what());
    return 1;
  }
  return 0;
}
