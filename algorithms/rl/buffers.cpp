// Rollout storage with GAE (docs/papers/rl-baselines.md "PPO") and the uniform replay buffer
// (SAC, TD3); see buffers.h.
#include "algorithms/rl/buffers.h"

#include <algorithm>

#include "tensor/error.h"

namespace gradlab::rl {

std::vector<double> compute_gae(int64_t T, int64_t N, const std::vector<double>& rewards,
                                const std::vector<double>& values, const std::vector<uint8_t>& terminated,
                                const std::vector<uint8_t>& truncated, const std::vector<double>& bootstrap,
                                const std::vector<double>& last_values, double gamma, double lambda) {
  const size_t TN = size_t(T * N);
  GL_CHECK(T > 0 && N > 0, "compute_gae: T and N must be positive, got T={} N={}", T, N);
  GL_CHECK(rewards.size() == TN && values.size() == TN && terminated.size() == TN && truncated.size() == TN &&
               bootstrap.size() == TN && last_values.size() == size_t(N),
           "compute_gae: expected [T, N] = {} entries per array and {} last values, got rewards {} values {} "
           "terminated {} truncated {} bootstrap {} last_values {}",
           TN, N, rewards.size(), values.size(), terminated.size(), truncated.size(), bootstrap.size(),
           last_values.size());
  std::vector<double> adv(TN, 0.0);
  for (int64_t i = 0; i < N; ++i) {
    double next_adv = 0;
    for (int64_t t = T - 1; t >= 0; --t) {
      const size_t k = size_t(t * N + i);
      const double next_value =
          truncated[k] ? bootstrap[k] : (t == T - 1 ? last_values[size_t(i)] : values[size_t((t + 1) * N + i)]);
      const bool done = terminated[k] || truncated[k];
      // docs/papers/rl-baselines.md "PPO", GAE: delta_t = r_t + gamma V(s_{t+1}) (1 - d) - V(s_t), d = termination only
      const double delta = rewards[k] + gamma * (terminated[k] ? 0.0 : next_value) - values[k];
      // docs/papers/rl-baselines.md "PPO", GAE: A_t = sum_l (gamma lambda)^l delta_{t+l}, the sum ends with the episode
      next_adv = delta + gamma * lambda * (done ? 0.0 : next_adv);
      adv[k] = next_adv;
    }
  }
  return adv;
}

// ---------------------------------------------------------------- RolloutStorage

RolloutStorage::RolloutStorage(int64_t num_steps, int64_t num_envs, int64_t obs_dim, int64_t action_dim, Device device)
    : T_(num_steps), N_(num_envs), obs_dim_(obs_dim), action_dim_(action_dim), device_(device) {
  GL_CHECK(num_steps > 0 && num_envs > 0 && obs_dim > 0 && action_dim > 0,
           "RolloutStorage: sizes must be positive, got steps {} envs {} obs_dim {} action_dim {}", num_steps, num_envs,
           obs_dim, action_dim);
  const size_t TN = size_t(T_ * N_);
  obs_.assign(size_t(T_), Tensor());
  actions_.assign(size_t(T_), Tensor());
  log_probs_.assign(size_t(T_), Tensor());
  values_.assign(size_t(T_), Tensor());
  rewards_.assign(TN, 0.0);
  bootstrap_.assign(TN, 0.0);
  terminated_.assign(TN, 0);
  truncated_.assign(TN, 0);
  needs_bootstrap_.assign(TN, 0);
}

void RolloutStorage::add(int64_t t, const Tensor& obs, const Tensor& actions, const Tensor& log_probs,
                         const Tensor& values, const std::vector<double>& rewards,
                         const std::vector<uint8_t>& terminated, const std::vector<uint8_t>& truncated,
                         const std::vector<double>& bootstrap_values) {
  GL_CHECK(t >= 0 && t < T_, "RolloutStorage::add: step {} is outside [0, {})", t, T_);
  GL_CHECK(obs.shape() == (Shape{N_, obs_dim_}), "RolloutStorage::add: obs must be [{}, {}], got {}", N_, obs_dim_,
           obs.shape());
  GL_CHECK(actions.numel() == N_ * action_dim_, "RolloutStorage::add: actions must hold {} x {} values, got shape {}",
           N_, action_dim_, actions.shape());
  GL_CHECK(log_probs.numel() == N_ && values.numel() == N_,
           "RolloutStorage::add: log_probs and values must be [{}], got {} and {}", N_, log_probs.shape(),
           values.shape());
  GL_CHECK(int64_t(rewards.size()) == N_ && int64_t(terminated.size()) == N_ && int64_t(truncated.size()) == N_,
           "RolloutStorage::add: rewards and flags must have {} entries, got {}, {}, {}", N_, rewards.size(),
           terminated.size(), truncated.size());
  GL_CHECK(bootstrap_values.empty() || int64_t(bootstrap_values.size()) == N_,
           "RolloutStorage::add: bootstrap_values must be empty or have {} entries, got {}", N_,
           bootstrap_values.size());
  // Copies kept on the device (the caller may reuse its tensors): f32, the
  // precision the update reads them in; the values in f64 for GAE.
  obs_[size_t(t)] = obs.to(DType::f32).to(device_).clone();
  actions_[size_t(t)] = actions.to(DType::f32).to(device_).clone().reshape({N_ * action_dim_});
  log_probs_[size_t(t)] = log_probs.to(DType::f32).to(device_).clone().reshape({N_});
  values_[size_t(t)] = values.to(DType::f64).to(device_).clone().reshape({N_});
  for (int64_t i = 0; i < N_; ++i) {
    const size_t k = size_t(t * N_ + i);
    rewards_[k] = rewards[size_t(i)];
    terminated_[k] = terminated[size_t(i)];
    truncated_[k] = truncated[size_t(i)];
    bootstrap_[k] = bootstrap_values.empty() ? 0.0 : bootstrap_values[size_t(i)];
    // A truncation needs V(final_obs): given here, or later by set_bootstrap.
    needs_bootstrap_[k] = truncated_[k] && !terminated_[k] && bootstrap_values.empty();
  }
}

void RolloutStorage::set_bootstrap(int64_t t, int64_t i, const Tensor& value) {
  GL_CHECK(t >= 0 && t < T_ && i >= 0 && i < N_, "RolloutStorage::set_bootstrap: step {} env {} is outside [{}, {}]", t,
           i, T_, N_);
  GL_CHECK(value.defined() && value.numel() == 1, "RolloutStorage::set_bootstrap: expected one value, got shape {}",
           value.defined() ? value.shape() : Shape{});
  const size_t k = size_t(t * N_ + i);
  GL_CHECK(truncated_[k] && !terminated_[k],
           "RolloutStorage::set_bootstrap: env {} did not truncate at step {} (add the step first)", i, t);
  pending_bootstrap_.emplace_back(k, value.to(DType::f64).to(device_).reshape({1}));
  needs_bootstrap_[k] = 0;
}

void RolloutStorage::compute_returns(const Tensor& last_values, double gamma, double lambda) {
  GL_CHECK(last_values.numel() == N_, "RolloutStorage::compute_returns: last_values must be [{}], got {}", N_,
           last_values.shape());
  for (int64_t t = 0; t < T_; ++t) {
    GL_CHECK(values_[size_t(t)].defined(), "RolloutStorage::compute_returns: step {} was never added", t);
    for (int64_t i = 0; i < N_; ++i)
      GL_CHECK(!needs_bootstrap_[size_t(t * N_ + i)],
               "RolloutStorage::compute_returns: env {} truncated at step {} but no bootstrap value was given (to "
               "add or set_bootstrap)",
               i, t);
  }
  // One read for the whole rollout: the values [T N], last_values [N] and
  // the bootstrap values, in f64 (exact for the f32 values).
  std::vector<Tensor> parts{concat(values_, 0), last_values.to(DType::f64).to(device_).reshape({N_})};
  for (const auto& [k, v] : pending_bootstrap_) parts.push_back(v);
  const std::vector<double> host = concat(parts, 0).to_vector<double>();
  const size_t TN = size_t(T_ * N_);
  values_host_.assign(host.begin(), host.begin() + std::ptrdiff_t(TN));
  const std::vector<double> last(host.begin() + std::ptrdiff_t(TN), host.begin() + std::ptrdiff_t(TN + size_t(N_)));
  for (size_t j = 0; j < pending_bootstrap_.size(); ++j)
    bootstrap_[pending_bootstrap_[j].first] = host[TN + size_t(N_) + j];
  pending_bootstrap_.clear();
  advantages_ = compute_gae(T_, N_, rewards_, values_host_, terminated_, truncated_, bootstrap_, last, gamma, lambda);
  returns_.resize(advantages_.size());
  for (size_t k = 0; k < advantages_.size(); ++k) returns_[k] = advantages_[k] + values_host_[k];
  // Back in one crossing each, as the f32 the update reads.
  advantages_dev_ = from_vector(std::vector<float>(advantages_.begin(), advantages_.end())).to(device_);
  returns_dev_ = from_vector(std::vector<float>(returns_.begin(), returns_.end())).to(device_);
}

RolloutStorage::Flat RolloutStorage::flat(bool discrete) const {
  GL_CHECK(!advantages_.empty(), "RolloutStorage::flat: call compute_returns first");
  const int64_t TN = T_ * N_;
  Flat out;
  out.obs = concat(obs_, 0);
  const Tensor actions = concat(actions_, 0);
  out.actions = discrete ? actions.to(DType::i64) : actions.reshape({TN, action_dim_});
  out.log_probs = concat(log_probs_, 0);
  out.values = concat(values_, 0).to(DType::f32);
  out.advantages = advantages_dev_;
  out.returns = returns_dev_;
  return out;
}

// ---------------------------------------------------------------- ReplayBuffer

namespace {
constexpr int64_t kMaxStagedRows = 4096;  // staged transitions cross to the device at least this often
}

ReplayBuffer::ReplayBuffer(int64_t capacity, int64_t obs_dim, int64_t action_dim, Device device)
    : capacity_(capacity),
      obs_dim_(obs_dim),
      action_dim_(action_dim),
      width_(2 * obs_dim + action_dim + 2),
      device_(device) {
  GL_CHECK(capacity > 0 && obs_dim > 0 && action_dim > 0,
           "ReplayBuffer: sizes must be positive, got capacity {} obs_dim {} action_dim {}", capacity, obs_dim,
           action_dim);
  // Row layout: obs | next_obs | action | reward | terminated.
  ring_ = zeros({capacity_, width_}, DType::f32, device_);
}

void ReplayBuffer::add(const std::vector<double>& obs, const std::vector<double>& action, double reward,
                       const std::vector<double>& next_obs, bool terminated) {
  GL_CHECK(
      int64_t(obs.size()) == obs_dim_ && int64_t(next_obs.size()) == obs_dim_ && int64_t(action.size()) == action_dim_,
      "ReplayBuffer::add: expected obs and next_obs of {} values and an action of {}, got {}, {} and {}", obs_dim_,
      action_dim_, obs.size(), next_obs.size(), action.size());
  if (stage_.empty()) stage_start_ = next_;
  for (double x : obs) stage_.push_back(float(x));
  for (double x : next_obs) stage_.push_back(float(x));
  for (double x : action) stage_.push_back(float(x));
  stage_.push_back(float(reward));
  stage_.push_back(terminated ? 1.0f : 0.0f);
  next_ = (next_ + 1) % capacity_;
  size_ = std::min(size_ + 1, capacity_);
  if (int64_t(stage_.size()) / width_ >= std::min(capacity_, kMaxStagedRows)) flush();
}

void ReplayBuffer::flush() const {
  const int64_t rows = int64_t(stage_.size()) / width_;
  if (rows == 0) return;
  const int64_t first = std::min(rows, capacity_ - stage_start_);
  auto part = [&](int64_t from, int64_t count) {
    const std::vector<float> v(stage_.begin() + from * width_, stage_.begin() + (from + count) * width_);
    return from_vector(v, {count, width_}, device_);
  };
  ring_.narrow(0, stage_start_, first).copy_(part(0, first));
  if (rows > first) ring_.narrow(0, 0, rows - first).copy_(part(first, rows - first));
  stage_.clear();
}

ReplayBuffer::Batch ReplayBuffer::sample(int64_t batch_size, Generator& gen) const {
  GL_CHECK(size_ > 0, "ReplayBuffer::sample: the buffer is empty");
  GL_CHECK(batch_size > 0, "ReplayBuffer::sample: batch_size must be positive, got {}", batch_size);
  return gather_rows(randint(0, size_, {batch_size}, gen, DType::i64, device_));
}

ReplayBuffer::Batch ReplayBuffer::gather(const std::vector<int64_t>& indices) const {
  GL_CHECK(!indices.empty(), "ReplayBuffer::gather: no indices");
  for (int64_t k : indices)
    GL_CHECK(k >= 0 && k < size_, "ReplayBuffer::gather: index {} is outside [0, {})", k, size_);
  return gather_rows(from_vector(indices, {int64_t(indices.size())}, device_));
}

ReplayBuffer::Batch ReplayBuffer::gather_rows(const Tensor& index) const {
  flush();
  const Tensor rows = index_select(ring_, 0, index);  // [B, width]
  const int64_t O = obs_dim_, A = action_dim_;
  Batch b;
  b.obs = rows.narrow(1, 0, O).contiguous();
  b.next_obs = rows.narrow(1, O, O).contiguous();
  b.actions = rows.narrow(1, 2 * O, A).contiguous();
  b.rewards = rows.select(1, 2 * O + A).contiguous();
  b.terminated = rows.select(1, 2 * O + A + 1).contiguous();
  return b;
}

}  // namespace gradlab::rl
