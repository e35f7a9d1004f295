// Offline data handling and evaluation (algorithms/rl/offline/offline_data.h).
#include "algorithms/rl/offline/offline_data.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "algorithms/rl/rl_utils.h"
#include "envs/env.h"
#include "tensor/error.h"

namespace gradlab::rl {

ReplayBuffer dataset_buffer(const envs::Dataset& data, Device device) {
  const int64_t N = data.size();
  GL_CHECK(N > 0, "dataset_buffer: the dataset ({}) has no rows",
           data.metadata.count("env") ? data.metadata.at("env") : std::string("no env"));
  const int64_t O = data.obs_dim(), A = data.act_dim();
  ReplayBuffer buffer(N, O, A, device);  // host staging: each batch crosses to the device once
  const std::vector<double> obs = data.observations.to_vector<double>(), act = data.actions.to_vector<double>(),
                            rew = data.rewards.to_vector<double>(), next = data.next_observations.to_vector<double>(),
                            term = data.terminals.to_vector<double>();
  for (int64_t i = 0; i < N; ++i)
    buffer.add(std::vector<double>(obs.begin() + i * O, obs.begin() + (i + 1) * O),
               std::vector<double>(act.begin() + i * A, act.begin() + (i + 1) * A), rew[size_t(i)],
               std::vector<double>(next.begin() + i * O, next.begin() + (i + 1) * O), term[size_t(i)] > 0.5);
  return buffer;
}

ReplayBuffer::Batch to_device(const ReplayBuffer::Batch& b, Device device) {
  return {b.obs.to(device), b.actions.to(device), b.rewards.to(device), b.next_obs.to(device), b.terminated.to(device)};
}

ReplayBuffer::Batch concat_batches(const std::vector<ReplayBuffer::Batch>& parts) {
  GL_CHECK(!parts.empty(), "concat_batches: no batches");
  if (parts.size() == 1) return parts[0];
  std::vector<Tensor> obs, actions, rewards, next_obs, terminated;
  for (const ReplayBuffer::Batch& b : parts) {
    if (b.rewards.numel() == 0) continue;
    obs.push_back(b.obs);
    actions.push_back(b.actions);
    rewards.push_back(b.rewards);
    next_obs.push_back(b.next_obs);
    terminated.push_back(b.terminated);
  }
  GL_CHECK(!obs.empty(), "concat_batches: every batch is empty");
  return {concat(obs, 0), concat(actions, 0), concat(rewards, 0), concat(next_obs, 0), concat(terminated, 0)};
}

std::vector<int64_t> split_batch(int64_t total, const std::vector<double>& fractions) {
  GL_CHECK(total > 0 && !fractions.empty(), "split_batch: need a positive total and at least one fraction");
  double sum = 0;
  for (double f : fractions) {
    GL_CHECK(f >= 0 && std::isfinite(f), "split_batch: fractions must be finite and >= 0, got {}", f);
    sum += f;
  }
  GL_CHECK(std::abs(sum - 1.0) < 1e-9, "split_batch: fractions must sum to 1, got {}", sum);
  std::vector<int64_t> out;
  int64_t used = 0;
  for (size_t i = 0; i + 1 < fractions.size(); ++i) {
    out.push_back(int64_t(std::floor(double(total) * fractions[i] + 1e-9)));
    used += out.back();
  }
  out.push_back(total - used);
  return out;
}

StateNormalizer StateNormalizer::fit(const envs::Dataset& data, double eps) {
  const int64_t N = data.size();
  GL_CHECK(N > 0, "StateNormalizer::fit: the dataset has no rows");
  const int64_t O = data.obs_dim();
  const std::vector<double> obs = data.observations.to_vector<double>();
  StateNormalizer n;
  n.mean.assign(size_t(O), 0.0);
  n.std.assign(size_t(O), 0.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < O; ++j) n.mean[size_t(j)] += obs[size_t(i * O + j)] / double(N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < O; ++j) {
      const double d = obs[size_t(i * O + j)] - n.mean[size_t(j)];
      n.std[size_t(j)] += d * d / double(N);
    }
  for (double& s : n.std) s = std::sqrt(s) + eps;
  return n;
}

StateNormalizer StateNormalizer::identity(int64_t obs_dim) {
  StateNormalizer n;
  n.mean.assign(size_t(obs_dim), 0.0);
  n.std.assign(size_t(obs_dim), 1.0);
  return n;
}

Tensor StateNormalizer::apply(const Tensor& obs) const {
  GL_CHECK(obs.dim() == 2 && obs.size(1) == int64_t(mean.size()),
           "StateNormalizer: observations must be [B, {}], got {}", mean.size(), obs.shape());
  std::vector<float> m(mean.begin(), mean.end()), inv;
  for (double s : std) inv.push_back(float(1.0 / s));
  const int64_t O = int64_t(mean.size());
  return mul(sub(obs, from_vector(m, {1, O}).to(obs.device())), from_vector(inv, {1, O}).to(obs.device()));
}

std::vector<double> StateNormalizer::apply(const std::vector<double>& obs) const {
  GL_CHECK(obs.size() == mean.size(), "StateNormalizer: an observation of {} values, expected {}", obs.size(),
           mean.size());
  std::vector<double> out(obs.size());
  for (size_t j = 0; j < obs.size(); ++j) out[j] = (obs[j] - mean[j]) / std[j];
  return out;
}

ReplayBuffer::Batch StateNormalizer::apply(const ReplayBuffer::Batch& b) const {
  return {apply(b.obs), b.actions, b.rewards, apply(b.next_obs), b.terminated};
}

OfflineEvaluation evaluate_offline(const std::string& env_id,
                                   const std::function<std::vector<double>(const std::vector<double>&)>& act,
                                   int64_t episodes, uint64_t seed, const envs::ReferenceReturns* refs) {
  envs::EnvPtr env = envs::make_env(env_id);
  const Evaluation e = evaluate_policy(*env, act, episodes, seed);
  OfflineEvaluation out;
  out.mean_return = e.mean_return;
  out.returns = e.returns;
  out.score = refs ? envs::normalized_score(e.mean_return, *refs) : std::numeric_limits<double>::quiet_NaN();
  return out;
}

OfflineEvaluator::OfflineEvaluator(const std::string& caller, const std::string& method, const envs::Dataset& data,
                                   int64_t total_steps, int64_t every, int64_t episodes, uint64_t seed,
                                   double progress_seconds)
    : env_id_(data.metadata.count("env") ? data.metadata.at("env") : ""),
      refs_(dataset_references(data)),
      total_(total_steps),
      every_(every),
      episodes_(episodes),
      seed_(seed),
      recent_(std::nan("")) {
  GL_CHECK(data.size() > 0, "{}: the dataset has no rows", caller);
  GL_CHECK(!env_id_.empty(), "{}: the dataset names no env in its metadata", caller);
  const envs::EnvPtr probe = envs::make_env(env_id_);
  GL_CHECK(probe->action_space().dim() == data.act_dim() && probe->observation_space().dim() == data.obs_dim(),
           "{}: the dataset's dims (obs {}, actions {}) do not match {} (obs {}, actions {})", caller, data.obs_dim(),
           data.act_dim(), env_id_, probe->observation_space().dim(), probe->action_space().dim());
  GL_CHECK(total_steps > 0 && every >= 0 && episodes > 0,
           "{}: gradient steps and evaluation episodes must be positive and the evaluation interval >= 0, got {}, "
           "{} and {}",
           caller, total_steps, episodes, every);
  log_ = std::make_unique<RunLog>("", fmt::format("{}__{}__{}", env_id_, method, seed), total_steps, progress_seconds);
}

void OfflineEvaluator::after_step(int64_t step, const Act& act) {
  if (every_ > 0 && step % every_ == 0 && step < total_) {
    const OfflineEvaluation e =
        evaluate_offline(env_id_, act, episodes_, derive_seed(seed_, 4), refs_ ? &*refs_ : nullptr);
    result_.eval_returns.emplace_back(double(step), e.mean_return);
    recent_ = e.mean_return;
  }
  log_->progress(step, recent_);
}

OfflineResult OfflineEvaluator::finish(const Act& act) {
  const OfflineEvaluation e =
      evaluate_offline(env_id_, act, episodes_, derive_seed(seed_, 4), refs_ ? &*refs_ : nullptr);
  result_.eval_returns.emplace_back(double(total_), e.mean_return);
  result_.final_return = e.mean_return;
  result_.final_score = e.score;
  result_.final_episode_returns = e.returns;
  result_.gradient_steps = total_;
  result_.seconds = log_->seconds();
  result_.policy = act;
  return result_;
}

std::optional<envs::ReferenceReturns> dataset_references(const envs::Dataset& data) {
  if (!data.metadata.count("ref_random_return") || !data.metadata.count("ref_expert_return")) return std::nullopt;
  const envs::ReferenceReturns r{envs::metadata_number(data, "ref_random_return"),
                                 envs::metadata_number(data, "ref_expert_return")};
  if (!std::isfinite(r.random) || !std::isfinite(r.expert) || r.random == r.expert) return std::nullopt;
  return r;
}

}  // namespace gradlab::rl
