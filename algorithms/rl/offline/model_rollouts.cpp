// Branched model rollouts and the two-label model buffer (algorithms/rl/offline/model_rollouts.h).
#include "algorithms/rl/offline/model_rollouts.h"

#include "algorithms/rl/offline/offline_data.h"
#include "tensor/error.h"

namespace gradlab::rl {

ModelBuffer::ModelBuffer(int64_t capacity, int64_t obs_dim, int64_t act_dim)
    : optimistic_(capacity, obs_dim, act_dim), pessimistic_(capacity, obs_dim, act_dim) {}

void ModelBuffer::add(const Tensor& obs, const Tensor& actions, const Tensor& next_obs, const Tensor& reward_optimistic,
                      const Tensor& reward_pessimistic, const Tensor& terminated) {
  const int64_t N = obs.size(0);
  GL_CHECK(obs.dim() == 2 && next_obs.shape() == obs.shape() && actions.dim() == 2 && actions.size(0) == N &&
               reward_optimistic.shape() == Shape{N} && reward_pessimistic.shape() == Shape{N} &&
               terminated.shape() == Shape{N},
           "ModelBuffer::add: obs and next_obs [N, obs], actions [N, A], rewards and terminated [N]; got obs {}, "
           "actions {}, next_obs {}, rewards {} and {}, terminated {}",
           obs.shape(), actions.shape(), next_obs.shape(), reward_optimistic.shape(), reward_pessimistic.shape(),
           terminated.shape());
  const int64_t O = obs.size(1), A = actions.size(1);
  const std::vector<double> o = obs.to_vector<double>(), a = actions.to_vector<double>(),
                            n = next_obs.to_vector<double>(), ro = reward_optimistic.to_vector<double>(),
                            rp = reward_pessimistic.to_vector<double>(), d = terminated.to_vector<double>();
  for (int64_t i = 0; i < N; ++i) {
    const std::vector<double> oi(o.begin() + i * O, o.begin() + (i + 1) * O),
        ai(a.begin() + i * A, a.begin() + (i + 1) * A), ni(n.begin() + i * O, n.begin() + (i + 1) * O);
    optimistic_.add(oi, ai, ro[size_t(i)], ni, d[size_t(i)] > 0.5);
    pessimistic_.add(oi, ai, rp[size_t(i)], ni, d[size_t(i)] > 0.5);
  }
}

ReplayBuffer::Batch ModelBuffer::sample(int64_t n, RewardLabel label, Generator& gen) const {
  GL_CHECK(size() > 0, "ModelBuffer::sample: the buffer is empty (no rollout has been added)");
  return label == RewardLabel::optimistic ? optimistic_.sample(n, gen) : pessimistic_.sample(n, gen);
}

ReplayBuffer::Batch mixed_batch(const ReplayBuffer& real, int64_t n_real, const std::vector<ModelShare>& shares,
                                Generator& gen) {
  std::vector<ReplayBuffer::Batch> parts;
  if (n_real > 0) parts.push_back(real.sample(n_real, gen));
  for (const ModelShare& s : shares)
    if (s.rows > 0) parts.push_back(s.buffer->sample(s.rows, s.label, gen));
  GL_CHECK(!parts.empty(), "mixed_batch: every share is empty");
  return concat_batches(parts);
}

RewardLabels label_rewards(const Tensor& model_reward, const Tensor& uncertainty, double beta, double lambda) {
  GL_CHECK(model_reward.dim() == 1 && uncertainty.shape() == model_reward.shape(),
           "label_rewards: reward and uncertainty must both be [N], got {} and {}", model_reward.shape(),
           uncertainty.shape());
  // docs/papers/orpo.md "Uncertainty and the two MDPs": r_O = r^ + beta u, r_P = r^ - lambda u
  return {add(model_reward, mul(uncertainty, beta)), sub(model_reward, mul(uncertainty, lambda))};
}

RolloutStats branched_rollout(const DynamicsEnsemble& model, const BatchPolicy& policy, const Tensor& starts,
                              int64_t horizon, const envs::TerminationFn& terminated, double beta, double lambda,
                              ModelBuffer& buffer, Generator& gen, const envs::Space* state_box) {
  GL_CHECK(starts.dim() == 2 && starts.size(0) > 0, "branched_rollout: start states must be [N, obs], got {}",
           starts.shape());
  GL_CHECK(horizon > 0, "branched_rollout: the horizon must be positive, got {}", horizon);
  GL_CHECK(!state_box || (!state_box->is_discrete() && state_box->dim() == starts.size(1)),
           "branched_rollout: the state box must be a box of {} coordinates, got {}", starts.size(1),
           state_box ? state_box->str() : "");
  RolloutStats stats;
  const int64_t N0 = starts.size(0), O = starts.size(1);
  double u_sum = 0, r_sum = 0;
  Tensor obs = starts;
  for (int64_t t = 0; t < horizon && obs.size(0) > 0; ++t) {
    const int64_t M = obs.size(0);
    const Tensor actions = policy(obs);
    GL_CHECK(actions.dim() == 2 && actions.size(0) == M,
             "branched_rollout: the policy returned actions {} for {} states", actions.shape(), M);
    ModelStep step = model.step(obs, actions, gen);
    if (state_box) {
      std::vector<float> low(state_box->low.begin(), state_box->low.end()),
          high(state_box->high.begin(), state_box->high.end());
      step.next_obs = minimum(maximum(step.next_obs, from_vector(low, {1, O})), from_vector(high, {1, O}));
    }
    const RewardLabels labels = label_rewards(step.rewards, step.uncertainty, beta, lambda);
    // The known termination function decides which branches end here.
    const std::vector<double> o = obs.to_vector<double>(), a = actions.to_vector<double>(),
                              n = step.next_obs.to_vector<double>();
    const int64_t A = actions.size(1);
    std::vector<float> done(size_t(M), 0.0f);
    std::vector<int64_t> alive;
    for (int64_t i = 0; i < M; ++i) {
      const bool end = terminated(std::vector<double>(o.begin() + i * O, o.begin() + (i + 1) * O),
                                  std::vector<double>(a.begin() + i * A, a.begin() + (i + 1) * A),
                                  std::vector<double>(n.begin() + i * O, n.begin() + (i + 1) * O));
      done[size_t(i)] = end ? 1.0f : 0.0f;
      if (!end) alive.push_back(i);
    }
    buffer.add(obs, actions, step.next_obs, labels.optimistic, labels.pessimistic, from_vector(done));
    stats.transitions += M;
    u_sum += sum(step.uncertainty).item();
    r_sum += sum(step.rewards).item();
    if (int64_t(alive.size()) == M)
      obs = step.next_obs;
    else if (alive.empty())
      break;
    else
      obs = index_select(step.next_obs, 0, from_vector(alive, {int64_t(alive.size())}));
  }
  stats.mean_uncertainty = u_sum / double(stats.transitions);
  stats.mean_model_reward = r_sum / double(stats.transitions);
  stats.mean_length = double(stats.transitions) / double(N0);
  return stats;
}

BatchPolicy uniform_policy(const std::vector<double>& low, const std::vector<double>& high, Generator& gen) {
  GL_CHECK(!low.empty() && low.size() == high.size(), "uniform_policy: low and high must have the same length");
  std::vector<float> lo(low.begin(), low.end()), width;
  for (size_t j = 0; j < low.size(); ++j) width.push_back(float(high[j] - low[j]));
  const int64_t A = int64_t(low.size());
  return [lo, width, A, &gen](const Tensor& obs) {
    const Tensor u = rand({obs.size(0), A}, gen);
    return add(mul(u, from_vector(width, {1, A})), from_vector(lo, {1, A}));
  };
}

}  // namespace gradlab::rl
