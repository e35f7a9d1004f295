// PPO (Schulman et al. 2017, arXiv 1707.06347) for discrete actions
// (categorical head) and continuous ones (Gaussian head with a state-free
// log-std), in the form of CleanRL's ppo.py and ppo_continuous_action.py:
// N envs x T steps per rollout, GAE, advantage normalisation, the clipped
// surrogate, the clipped value loss, an entropy bonus, orthogonal init,
// Adam (eps 1e-5) with a linearly annealed learning rate, grad-norm clip.
// Equations: docs/papers/rl-baselines.md "PPO".
#pragma once

#include <optional>
#include <string>

#include "algorithms/rl/rl_utils.h"
#include "autograd/ops.h"
#include "dist/communicator.h"

namespace gradlab::rl {

// Defaults: CleanRL's ppo.py (classic control). ppo_continuous_args() gives
// ppo_continuous_action.py's.
struct PPOArgs {
  std::string exp_name = "ppo";
  std::string env_id = "CartPole-v1";
  uint64_t seed = 1;
  int64_t total_timesteps = 500000;
  double learning_rate = 2.5e-4;
  int64_t num_envs = 4;
  int64_t num_steps = 128;  // per env per rollout
  bool anneal_lr = true;
  double gamma = 0.99;
  double gae_lambda = 0.95;
  int64_t num_minibatches = 4;
  int64_t update_epochs = 4;
  bool norm_adv = true;
  double clip_coef = 0.2;
  bool clip_vloss = true;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  double target_kl = 0;  // > 0: stop an update's epochs once approx_kl exceeds it
  int64_t hidden = 64;   // two tanh layers of this width, actor and critic alike
  // V(final observation) where an episode was truncated (CleanRL treats
  // truncation as termination; bootstrapping is the correct target).
  bool bootstrap_truncation = true;
  // Continuous control: running observation / return normalisation, clipped.
  bool normalize_obs = false;
  bool normalize_reward = false;
  double obs_clip = 10.0, reward_clip = 10.0;
  int64_t eval_episodes = 10;
  int64_t eval_every = 0;         // environment steps between evaluations; 0: only the final one
  std::string log_csv;            // empty: no CSV
  double progress_seconds = 2.0;  // <= 0: no progress line
  // Where the agent, its optimiser state and the rollout live (cpu, cuda,
  // ref); the envs step on the CPU. Per rollout step the observations cross
  // to the device once and the actions back once; per update the logged
  // scalars are read once (algorithms/rl/README.md "Devices").
  Device device = Device::cpu;
  // Data-parallel (dist/README.md): with a communicator of N ranks, each rank
  // collects its own rollouts (its own env and action seeds) of num_envs x
  // num_steps, and every minibatch's gradients are averaged over the ranks,
  // so one update sees N times the data; total_timesteps counts each rank's
  // steps. The early stop at target_kl uses the KL averaged over the ranks.
  dist::Communicator* communicator = nullptr;
};
PPOArgs ppo_continuous_args();

// docs/papers/rl-baselines.md "PPO" objective, policy part: mean over the batch of
// max(-A rho, -A clip(rho, 1 - c, 1 + c)), rho = exp(new_log_prob - old_log_prob):
// the negated clipped surrogate, to minimise. All inputs [B]; or, with a 0/1
// mask, all of the mask's shape (e.g. PPO-RLHF's response tokens [B, L]) and
// the mean over the masked entries: sum(loss mask) / max(1, sum(mask)). A
// caller that knows max(1, sum(mask)) passes it as mask_count, and the loss
// reads nothing back from a device; otherwise it is counted here (one read).
Var ppo_policy_loss(const Var& new_log_prob, const Tensor& old_log_prob, const Tensor& advantages, double clip_coef,
                    const Tensor& mask = Tensor(), std::optional<double> mask_count = std::nullopt);
// docs/papers/rl-baselines.md "PPO" objective, value part (with CleanRL's clipping):
// 0.5 mean(max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2)); without
// clipping 0.5 mean((V - R)^2). All inputs [B], or of the shape of a 0/1 mask
// that picks the entries averaged (as in ppo_policy_loss, mask_count too).
Var ppo_value_loss(const Var& new_values, const Tensor& old_values, const Tensor& returns, double clip_coef, bool clip,
                   const Tensor& mask = Tensor(), std::optional<double> mask_count = std::nullopt);
// (A - mean A) / (std A + 1e-8), std unbiased (as torch.std).
Tensor normalize_advantages(const Tensor& advantages);

// Trains PPO on args.env_id (or on envs from `make`), returns the learning
// curve and the final greedy evaluation.
TrainResult train_ppo(const PPOArgs& args, const EnvFactory& make = {});

}  // namespace gradlab::rl
