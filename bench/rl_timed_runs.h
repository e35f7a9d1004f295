// The RL training runs whose throughput the benchmarks time
// (build/bench/rl_throughput, build/bench/gpu_algorithms): PPO on CartPole-v1,
// SAC and TD3 on Pendulum-v1, each with its Args' defaults (networks, batch,
// learning rates) and only the bench's budget. No progress lines, no
// evaluation during training (eval_every stays 0), and one evaluation episode
// after the clock stops, so TrainResult::sps counts env stepping, acting,
// storage and every update.
#pragma once

#include <cstdint>

#include "algorithms/rl/ppo.h"
#include "algorithms/rl/sac.h"
#include "algorithms/rl/td3.h"

namespace gradlab::bench {

// PPO, 4 envs x 128 steps, 64-64 tanh; `steps` environment steps (whole rollouts).
inline rl::TrainResult timed_ppo_cartpole(uint64_t seed, Device device, int64_t steps) {
  rl::PPOArgs a;
  a.seed = seed;
  a.device = device;
  a.total_timesteps = steps;
  a.progress_seconds = 0;
  a.eval_episodes = 1;
  return rl::train_ppo(a);
}

// SAC's or TD3's Args (2x256, batch 256): uniformly random actions and no update before `learning_starts`.
template <typename OffPolicyArgs>
OffPolicyArgs timed_off_policy_args(uint64_t seed, Device device, int64_t steps, int64_t learning_starts) {
  OffPolicyArgs a;
  a.seed = seed;
  a.device = device;
  a.total_timesteps = steps;
  a.learning_starts = learning_starts;
  a.progress_seconds = 0;
  a.eval_episodes = 1;
  return a;
}

inline rl::TrainResult timed_sac_pendulum(uint64_t seed, Device device, int64_t steps, int64_t learning_starts) {
  return rl::train_sac(timed_off_policy_args<rl::SACArgs>(seed, device, steps, learning_starts));
}

inline rl::TrainResult timed_td3_pendulum(uint64_t seed, Device device, int64_t steps, int64_t learning_starts) {
  return rl::train_td3(timed_off_policy_args<rl::TD3Args>(seed, device, steps, learning_starts));
}

}  // namespace gradlab::bench
