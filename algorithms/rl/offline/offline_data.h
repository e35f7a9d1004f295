// What the offline learners share: a dataset's rows in a ReplayBuffer (to
// sample uniformly), batches joined from several buffers (5% real data and
// 95% model rollouts, say), the state normaliser of TD3+BC, the evaluation of
// a deterministic policy in the true env, and the result every offline train
// function returns.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/rl/buffers.h"
#include "algorithms/rl/rl_utils.h"
#include "envs/datasets.h"

namespace gradlab::rl {

// Every row of the dataset (terminals as `terminated`; timeouts do not stop
// the bootstrap, since next_observations is always the true next state).
ReplayBuffer dataset_buffer(const envs::Dataset& data, Device device = Device::cpu);

// The batch on `device`: one copy per field (none when it is there already).
ReplayBuffer::Batch to_device(const ReplayBuffer::Batch& batch, Device device);

// The rows of every batch, in order (all from buffers of the same dims).
ReplayBuffer::Batch concat_batches(const std::vector<ReplayBuffer::Batch>& parts);

// Counts of a batch of `total` rows split by `fractions` (summing to 1):
// rounded down, the remainder given to the last share, e.g. 256 by
// {0.05, 0.45, 0.5} -> {12, 115, 129}.
std::vector<int64_t> split_batch(int64_t total, const std::vector<double>& fractions);

// Observations standardised per dimension, (s - mean) / std, with the
// dataset's statistics (TD3+BC); std gets eps added so a constant dimension
// does not divide by zero. identity() leaves observations as they are.
struct StateNormalizer {
  std::vector<double> mean, std;
  static StateNormalizer fit(const envs::Dataset& data, double eps = 1e-3);
  static StateNormalizer identity(int64_t obs_dim);
  Tensor apply(const Tensor& obs) const;  // [B, obs] f32
  std::vector<double> apply(const std::vector<double>& obs) const;
  ReplayBuffer::Batch apply(const ReplayBuffer::Batch& batch) const;  // obs and next_obs
};

// The final answer of an offline train function: evaluations of the
// deterministic policy in the true env as training went (x = gradient steps),
// the last one, and its D4RL-normalised score when the env has references.
struct OfflineResult {
  std::vector<std::pair<double, double>> eval_returns;  // (gradient step, mean return)
  double final_return = 0;
  double final_score = 0;  // 100 (R - R_random) / (R_expert - R_random); NaN without references
  std::vector<double> final_episode_returns;
  int64_t gradient_steps = 0;
  double seconds = 0;
  // The trained deterministic policy on raw observations (normalisation inside).
  std::function<std::vector<double>(const std::vector<double>&)> policy;
  // Named scalars a method reports besides the return (model holdout MSE, rollout uncertainty, ...).
  std::map<std::string, double> diagnostics;
};

// Mean return of `episodes` episodes of `act` in a fresh env_id, episode e
// from reset(seed + e), and the normalised score against `refs` (NaN when
// refs is null).
struct OfflineEvaluation {
  double mean_return = 0, score = 0;
  std::vector<double> returns;
};
OfflineEvaluation evaluate_offline(const std::string& env_id,
                                   const std::function<std::vector<double>(const std::vector<double>&)>& act,
                                   int64_t episodes, uint64_t seed, const envs::ReferenceReturns* refs);

// The bookkeeping every offline train function shares: the env the dataset
// names, its references, the evaluation schedule (every `every` gradient
// steps, 0: only at the end), the progress line and the result.
class OfflineEvaluator {
 public:
  using Act = std::function<std::vector<double>(const std::vector<double>&)>;  // raw observation -> action
  // caller names the train function in errors ("train_bc: the dataset has no rows"); method names the run.
  OfflineEvaluator(const std::string& caller, const std::string& method, const envs::Dataset& data, int64_t total_steps,
                   int64_t every, int64_t episodes, uint64_t seed, double progress_seconds);
  const std::string& env_id() const { return env_id_; }
  // After gradient step `step` (1-based): evaluates `act` when due and prints progress.
  void after_step(int64_t step, const Act& act);
  // The final evaluation and the result; `act` becomes result.policy.
  OfflineResult finish(const Act& act);

 private:
  std::string env_id_;
  std::optional<envs::ReferenceReturns> refs_;
  int64_t total_, every_, episodes_;
  uint64_t seed_;
  OfflineResult result_;
  double recent_;
  std::unique_ptr<RunLog> log_;
};

// The references of the normalised score recorded in the dataset's metadata
// (ref_random_return, ref_expert_return), or none when it has none.
std::optional<envs::ReferenceReturns> dataset_references(const envs::Dataset& data);

}  // namespace gradlab::rl
