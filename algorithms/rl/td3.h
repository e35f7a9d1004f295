// TD3 (Fujimoto et al. 2018, arXiv 1802.09477) for continuous actions, in
// the form of CleanRL's td3_continuous_action.py: clipped double Q-learning,
// target policy smoothing, and a delayed deterministic actor with Polyak
// targets for the actor and both critics. Equations: docs/papers/rl-baselines.md "TD3".
#pragma once

#include <string>
#include <vector>

#include "algorithms/rl/rl_utils.h"
#include "autograd/ops.h"

namespace gradlab::rl {

// Defaults: CleanRL's td3_continuous_action.py.
struct TD3Args {
  std::string exp_name = "td3";
  std::string env_id = "Pendulum-v1";
  uint64_t seed = 1;
  int64_t total_timesteps = 1000000;
  double learning_rate = 3e-4;
  int64_t buffer_size = 1000000;
  double gamma = 0.99;
  double tau = 0.005;
  int64_t batch_size = 256;
  double policy_noise = 0.2;       // std of the target smoothing noise, in units of the action scale
  double exploration_noise = 0.1;  // std of the acting noise, in units of the action scale
  int64_t learning_starts = 25000;
  int64_t policy_frequency = 2;
  double noise_clip = 0.5;
  int64_t hidden = 256;
  int64_t eval_episodes = 10;
  int64_t eval_every = 0;
  std::string log_csv;
  double progress_seconds = 2.0;
  // Where the networks, their optimiser state and the sampled batches live
  // (cpu, cuda, ref); the env steps on the CPU and the replay ring is host
  // staging (algorithms/rl/README.md "Devices").
  Device device = Device::cpu;
};

// docs/papers/rl-baselines.md "TD3" target policy smoothing: clip(pi'(s') + clip(eps, -c, c) scale, low, high)
// for target actions [B, A], eps [B, A] already scaled by policy_noise, and
// per-dimension action scale and bounds [A].
Tensor td3_smoothed_target_action(const Tensor& target_action, const Tensor& eps, double noise_clip,
                                  const std::vector<double>& scale, const std::vector<double>& low,
                                  const std::vector<double>& high);
// docs/papers/rl-baselines.md "TD3" target: y = r + gamma (1 - d) min(Q1'(s', a~), Q2'(s', a~)). All [B].
Tensor td3_critic_target(const Tensor& rewards, const Tensor& terminated, const Tensor& next_q1, const Tensor& next_q2,
                         double gamma);

TrainResult train_td3(const TD3Args& args, const EnvFactory& make = {});

}  // namespace gradlab::rl
