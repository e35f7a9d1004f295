// Branched model rollouts, the data source of model-based offline RL (MOPO,
// ORPO; docs/papers/orpo.md "Rollouts" and "Uncertainty and the two MDPs"):
// start from dataset states, act with a policy for h steps inside the learned
// dynamics ensemble, and store each model transition with both reward labels
//   optimistic   r_O = r^ + beta u(s, a)     (ORPO's O-MDP)
//   pessimistic  r_P = r^ - lambda u(s, a)   (the P-MDP of MOPO and ORPO)
// computed once at rollout time. A branch stops where the env's known
// termination function fires. ModelBuffer is FIFO: it keeps the most recent
// rows (5 rollout rounds when sized so) and hands out batches of one label.
// A rollout runs on the ensemble's device: the states and the policy's
// actions stay there; the buffer lives on the host (the termination function
// is host code), so each rollout step's rows are read back in one copy.
#pragma once

#include <functional>
#include <span>

#include "algorithms/rl/buffers.h"
#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "envs/datasets.h"
#include "envs/env.h"

namespace gradlab::rl {

enum class RewardLabel { optimistic, pessimistic };

class ModelBuffer {
 public:
  ModelBuffer(int64_t capacity, int64_t obs_dim, int64_t act_dim);
  // N rows: obs and next_obs [N, obs], actions [N, A], the two rewards and
  // terminated [N] (0 or 1), on any one device (read to the host in one
  // copy). The oldest rows go first once full.
  void add(const Tensor& obs, const Tensor& actions, const Tensor& next_obs, const Tensor& reward_optimistic,
           const Tensor& reward_pessimistic, const Tensor& terminated);
  // The same from rows already on the host: row i of `rows` [N, 2 obs + A + 2]
  // is (obs, actions, next_obs, r_O, r_P), and terminated[i] its flag.
  void add_rows(std::span<const double> rows, std::span<const float> terminated);
  // n rows uniformly with replacement, rewards of the given label.
  ReplayBuffer::Batch sample(int64_t n, RewardLabel label, Generator& gen) const;
  int64_t size() const { return optimistic_.size(); }
  int64_t capacity() const { return optimistic_.capacity(); }

 private:
  ReplayBuffer optimistic_, pessimistic_;  // the same rows, one reward label each
  int64_t obs_dim_, act_dim_;
};

// One batch mixing real and model data: n_real dataset rows, then each
// model share's rows with its label; shares of 0 rows are skipped.
struct ModelShare {
  const ModelBuffer* buffer;
  RewardLabel label;
  int64_t rows;
};
ReplayBuffer::Batch mixed_batch(const ReplayBuffer& real, int64_t n_real, const std::vector<ModelShare>& shares,
                                Generator& gen);

// The labels of one model transition: r_O = r^ + beta u and r_P = r^ - lambda u, each [N].
struct RewardLabels {
  Tensor optimistic, pessimistic;
};
RewardLabels label_rewards(const Tensor& model_reward, const Tensor& uncertainty, double beta, double lambda);

struct RolloutStats {
  int64_t transitions = 0;      // rows added
  double mean_uncertainty = 0;  // over the rows added
  double mean_model_reward = 0;
  double mean_length = 0;  // steps per branch before termination or the horizon
};

// Rolls every start state [N, obs] forward `horizon` steps: actions from
// policy(obs [M, obs]) -> [M, A], next states, rewards and u from model.step,
// both labels stored in buffer; rows whose termination fires stop branching.
// The states are on the model's device (the starts are copied there once
// when they are elsewhere), and the policy must return its actions there.
// With state_box, model states are clipped into the env's observation box
// (known, like the termination function): a model trained on the data alone
// otherwise extrapolates states, and rewards, that the env can never reach.
using BatchPolicy = std::function<Tensor(const Tensor& obs)>;
RolloutStats branched_rollout(const DynamicsEnsemble& model, const BatchPolicy& policy, const Tensor& starts,
                              int64_t horizon, const envs::TerminationFn& terminated, double beta, double lambda,
                              ModelBuffer& buffer, Generator& gen, const envs::Space* state_box = nullptr);

// A policy of uniform actions in the box [low, high] (ORPO's random-rollout
// ablation), drawn on the states' device: the same numbers on every device.
// `device` is where it keeps the box (where the states will be).
BatchPolicy uniform_policy(const std::vector<double>& low, const std::vector<double>& high, Generator& gen,
                           Device device = Device::cpu);

}  // namespace gradlab::rl
