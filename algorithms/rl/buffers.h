// The two kinds of experience storage the RL algorithms share:
// RolloutStorage (on-policy, PPO: T steps x N envs, then GAE advantages and
// returns, docs/papers/rl-baselines.md) and ReplayBuffer (off-policy, SAC/TD3: a ring of
// transitions sampled uniformly with an explicit Generator). Both keep host
// arrays and hand out f32 tensors, so an inner loop never runs a Tensor op per
// element.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/ops.h"

namespace gradlab::rl {


// Generalised advantage estimation over T steps of N envs, arrays [T, N]
// row-major (step t, env i at t N + i):
//   delta_t = r_t + gamma (1 - terminated_t) next_value_t - V_t
//   A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1}
// where next_value_t is V_{t+1}, or bootstrap_t (V of the final observation)
// where the episode was truncated at t, or last_values [N] (V of the
// observation after the rollout) at t = T-1. done_t = terminated or truncated
// cuts the sum at the episode's end. Returns A; the returns are A + V.
std::vector<double> compute_gae(int64_t T, int64_t N, const std::vector<double>& rewards,
                                const std::vector<double>& values, const std::vector<uint8_t>& terminated,
                                const std::vector<uint8_t>& truncated, const std::vector<double>& bootstrap,
                                const std::vector<double>& last_values, double gamma, double lambda);

// T steps x N envs of (obs, action, log_prob, value, reward, flags).
class RolloutStorage {
 public:
  // action_dim: 1 for a discrete action (stored as its index).
  RolloutStorage(int64_t num_steps, int64_t num_envs, int64_t obs_dim, int64_t action_dim);

  // Step t's data: obs [N, obs_dim], actions [N] or [N, action_dim],
  // log_probs and values [N] (any float dtype), and from the vector env the
  // rewards and done flags of the step. bootstrap_values [N]: V(final_obs)
  // where the step truncated, ignored elsewhere (may be empty when none did).
  void add(int64_t t, const Tensor& obs, const Tensor& actions, const Tensor& log_probs, const Tensor& values,
           const std::vector<double>& rewards, const std::vector<uint8_t>& terminated,
           const std::vector<uint8_t>& truncated, const std::vector<double>& bootstrap_values);

  // GAE (compute_gae) from the values of the observations after the rollout [N].
  void compute_returns(const Tensor& last_values, double gamma, double lambda);

  // The rollout flattened to T N rows (step-major), as f32 tensors:
  // obs [TN, obs_dim], actions [TN] i64 (discrete) or [TN, action_dim],
  // log_probs, values, advantages, returns [TN].
  struct Flat {
    Tensor obs, actions, log_probs, values, advantages, returns;
  };
  Flat flat(bool discrete) const;

  int64_t num_steps() const { return T_; }
  int64_t num_envs() const { return N_; }
  const std::vector<double>& advantages() const { return advantages_; }
  const std::vector<double>& returns() const { return returns_; }

 private:
  int64_t T_, N_, obs_dim_, action_dim_;
  std::vector<float> obs_, actions_;
  std::vector<double> log_probs_, values_, rewards_, bootstrap_, advantages_, returns_;
  std::vector<uint8_t> terminated_, truncated_;
};

// A ring buffer of transitions (obs, action, reward, next_obs, terminated).
// next_obs is the true next observation (the final one where an episode
// ended), and only termination, not truncation, stops the bootstrap.
class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int64_t obs_dim, int64_t action_dim);

  void add(const std::vector<double>& obs, const std::vector<double>& action, double reward,
           const std::vector<double>& next_obs, bool terminated);

  struct Batch {
    Tensor obs;         // [B, obs_dim] f32
    Tensor actions;     // [B, action_dim] f32
    Tensor rewards;     // [B] f32
    Tensor next_obs;    // [B, obs_dim] f32
    Tensor terminated;  // [B] f32, 1 where the episode terminated
  };
  // B transitions drawn uniformly with replacement from the stored ones.
  Batch sample(int64_t batch_size, Generator& gen) const;
  // The transitions at the given indices (in [0, size())).
  Batch gather(const std::vector<int64_t>& indices) const;

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }

 private:
  int64_t capacity_, obs_dim_, action_dim_;
  int64_t size_ = 0, next_ = 0;
  std::vector<float> obs_, actions_, rewards_, next_obs_, terminated_;
};

}  // namespace gradlab::rl
