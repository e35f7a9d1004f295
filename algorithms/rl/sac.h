// SAC (Haarnoja et al. 2018, arXiv 1801.01290 and 1812.05905) for continuous
// actions, in the form of CleanRL's sac_continuous_action.py: twin Q
// networks with Polyak-averaged targets, a tanh-squashed Gaussian policy with
// the change-of-variables correction, delayed (TD3-style) actor updates, and
// automatic temperature tuning towards the target entropy -|A|.
// Equations: docs/papers/rl-baselines.md "SAC".
#pragma once

#include <string>

#include "algorithms/rl/rl_utils.h"
#include "autograd/ops.h"

namespace gradlab::rl {

// Defaults: CleanRL's sac_continuous_action.py.
struct SACArgs {
  std::string exp_name = "sac";
  std::string env_id = "Pendulum-v1";
  uint64_t seed = 1;
  int64_t total_timesteps = 1000000;
  int64_t buffer_size = 1000000;
  double gamma = 0.99;
  double tau = 0.005;  // target smoothing
  int64_t batch_size = 256;
  int64_t learning_starts = 5000;  // uniform random actions before this step
  double policy_lr = 3e-4;
  double q_lr = 1e-3;
  int64_t policy_frequency = 2;  // actor (and alpha) updated this often, that many times (delayed, TD3-style)
  int64_t target_network_frequency = 1;
  double alpha = 0.2;  // the temperature when not autotuned
  bool autotune = true;
  int64_t hidden = 256;
  double log_std_min = -5, log_std_max = 2;
  int64_t eval_episodes = 10;
  int64_t eval_every = 0;  // environment steps between evaluations; 0: only the final one
  std::string log_csv;
  double progress_seconds = 2.0;
  // Where the networks, their optimiser state and the sampled batches live
  // (cpu, cuda, ref); the env steps on the CPU and the replay ring is host
  // staging (algorithms/rl/README.md "Devices").
  Device device = Device::cpu;
};

// The temperature is a tensor so that a device never waits for it: alpha is
// 0-d, of any floating dtype, on the operands' device, and is rounded to their
// dtype where it multiplies them (as a double would be). The double overloads
// make such a tensor.
// docs/papers/rl-baselines.md "SAC" critic target: y = r + gamma (1 - d) (min(Q1', Q2') - alpha log pi(a'|s')).
// All inputs [B]; a constant (no gradient).
Tensor sac_critic_target(const Tensor& rewards, const Tensor& terminated, const Tensor& next_q1, const Tensor& next_q2,
                         const Tensor& next_log_prob, const Tensor& alpha, double gamma);
Tensor sac_critic_target(const Tensor& rewards, const Tensor& terminated, const Tensor& next_q1, const Tensor& next_q2,
                         const Tensor& next_log_prob, double alpha, double gamma);
// docs/papers/rl-baselines.md "SAC" temperature loss: mean(-alpha (log pi + target_entropy)) with
// alpha = exp(log_alpha) ([1] or 0-d leaf) and log_prob [B] a constant.
Var sac_temperature_loss(const Var& log_alpha, const Tensor& log_prob, double target_entropy);
// alpha = exp(log_alpha) as a 0-d f64 tensor on log_alpha's device, with no
// gradient: the temperature the losses take after a temperature step.
Tensor sac_temperature(const Var& log_alpha);
// docs/papers/rl-baselines.md SAC.3: mean(alpha log pi(a|s) - min(Q1(s, a), Q2(s, a))), a ~ pi reparameterised.
Var sac_actor_loss(const Var& log_prob, const Var& q1, const Var& q2, const Tensor& alpha);
Var sac_actor_loss(const Var& log_prob, const Var& q1, const Var& q2, double alpha);

TrainResult train_sac(const SACArgs& args, const EnvFactory& make = {});

}  // namespace gradlab::rl
