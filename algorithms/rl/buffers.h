// The two kinds of experience storage the RL algorithms share:
// RolloutStorage (on-policy, PPO: T steps x N envs, then GAE advantages and
// returns, docs/papers/rl-baselines.md) and ReplayBuffer (off-policy, SAC/TD3: a ring of
// transitions sampled uniformly with an explicit Generator). Both hand out f32
// tensors on their device. What crosses between the CPU and the device, and
// when (algorithms/rl/README.md "Devices"): RolloutStorage keeps each step's
// tensors where the agent made them and reads the values to the host once per
// rollout, for GAE; ReplayBuffer keeps its ring on the device, stages the
// transitions the env hands it on the CPU and sends them over together, and
// samples on the device, so a batch never crosses.
#pragma once

#include <cstdint>
#include <utility>
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

// T steps x N envs of (obs, action, log_prob, value, reward, flags). The
// tensors of a step stay on the storage's device (no read); the rewards and
// flags come from the env on the CPU. compute_returns reads the rollout's
// values to the host in one crossing, runs GAE there, and sends the
// advantages and returns back in one.
class RolloutStorage {
 public:
  // action_dim: 1 for a discrete action (stored as its index).
  RolloutStorage(int64_t num_steps, int64_t num_envs, int64_t obs_dim, int64_t action_dim, Device device = Device::cpu);

  // Step t's data: obs [N, obs_dim], actions [N] or [N, action_dim],
  // log_probs and values [N] (any float dtype; moved to the storage's device
  // if elsewhere), and from the vector env the rewards and done flags of the
  // step. bootstrap_values [N]: V(final_obs) where the step truncated, ignored
  // elsewhere (may be empty when none did, or given by set_bootstrap).
  void add(int64_t t, const Tensor& obs, const Tensor& actions, const Tensor& log_probs, const Tensor& values,
           const std::vector<double>& rewards, const std::vector<uint8_t>& terminated,
           const std::vector<uint8_t>& truncated, const std::vector<double>& bootstrap_values = {});
  // V(final_obs) of env i, truncated at step t (call after add(t, ...)), as a
  // one-element tensor on any device: read with the values in compute_returns,
  // so a truncation costs no host synchronisation.
  void set_bootstrap(int64_t t, int64_t i, const Tensor& value);

  // GAE (compute_gae) from the values of the observations after the rollout [N].
  void compute_returns(const Tensor& last_values, double gamma, double lambda);

  // The rollout flattened to T N rows (step-major), as f32 tensors on the device:
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
  Device device_;
  std::vector<Tensor> obs_, actions_, log_probs_, values_;  // per step, on device_ (values f64, the rest f32)
  std::vector<double> values_host_, rewards_, bootstrap_, advantages_, returns_;
  std::vector<uint8_t> terminated_, truncated_, needs_bootstrap_;
  std::vector<std::pair<size_t, Tensor>> pending_bootstrap_;  // (t N + i, V) read in compute_returns
  Tensor advantages_dev_, returns_dev_;
};

// A ring buffer of transitions (obs, action, reward, next_obs, terminated).
// next_obs is the true next observation (the final one where an episode
// ended), and only termination, not truncation, stops the bootstrap.
// The ring is one f32 tensor [capacity, 2 obs_dim + action_dim + 2] on the
// buffer's device. add() writes a transition into host-side staging rows;
// the staged rows cross to the device together (one CPU -> device copy)
// before the next sample or gather, or when 4096 of them have gathered.
// Sampling draws the indices on the device (the same numbers as on the CPU)
// and gathers there: a batch never crosses back.
class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int64_t obs_dim, int64_t action_dim, Device device = Device::cpu);

  void add(const std::vector<double>& obs, const std::vector<double>& action, double reward,
           const std::vector<double>& next_obs, bool terminated);

  struct Batch {  // every tensor on the buffer's device
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
  Device device() const { return device_; }

 private:
  // Copies the staged rows into the ring on the device (at most two copies:
  // the rows up to the ring's end, then the rest from its start).
  void flush() const;
  Batch gather_rows(const Tensor& index) const;  // index [B] i64 on the device

  int64_t capacity_, obs_dim_, action_dim_, width_;
  Device device_;
  int64_t size_ = 0, next_ = 0;
  Tensor ring_;                       // [capacity, width] f32 on device_
  mutable std::vector<float> stage_;  // staged rows, width_ floats each
  mutable int64_t stage_start_ = 0;   // the ring row of the first staged one
};

}  // namespace gradlab::rl
