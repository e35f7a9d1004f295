// Branched model rollouts on the ensemble's device and the two-label model
// buffer on the host (algorithms/rl/offline/model_rollouts.h).
#include "algorithms/rl/offline/model_rollouts.h"

#include "algorithms/rl/offline/offline_data.h"
#include "tensor/error.h"

namespace gradlab::rl {

namespace {

// [N, 2 obs + A + 2] f32: the columns (obs, actions, next_obs, r_O, r_P) of
// ModelBuffer::add_rows, on the tensors' device. f32 is what the buffer
// stores, so the rows reach it unchanged.
Tensor model_rows(const Tensor& obs, const Tensor& actions, const Tensor& next_obs, const Tensor& reward_optimistic,
                  const Tensor& reward_pessimistic) {
  return concat({obs.to(DType::f32), actions.to(DType::f32), next_obs.to(DType::f32),
                 reward_optimistic.to(DType::f32).unsqueeze(1), reward_pessimistic.to(DType::f32).unsqueeze(1)},
                1);
}

}  // namespace

ModelBuffer::ModelBuffer(int64_t capacity, int64_t obs_dim, int64_t act_dim)
    : optimistic_(capacity, obs_dim, act_dim),
      pessimistic_(capacity, obs_dim, act_dim),
      obs_dim_(obs_dim),
      act_dim_(act_dim) {}

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
  // Two reads to the host for all N rows: the rows and their flags.
  add_rows(model_rows(obs, actions, next_obs, reward_optimistic, reward_pessimistic).to_vector<double>(),
           terminated.to_vector<float>());
}

void ModelBuffer::add_rows(std::span<const double> rows, std::span<const float> terminated) {
  const int64_t O = obs_dim_, A = act_dim_, W = 2 * O + A + 2, N = int64_t(terminated.size());
  GL_CHECK(int64_t(rows.size()) == N * W,
           "ModelBuffer::add_rows: {} values for {} rows of 2 obs + A + 2 = {} values each (obs {}, A {})", rows.size(),
           N, W, O, A);
  for (int64_t i = 0; i < N; ++i) {
    const double* row = rows.data() + i * W;
    const std::vector<double> oi(row, row + O), ai(row + O, row + O + A), ni(row + O + A, row + 2 * O + A);
    const bool done = terminated[size_t(i)] > 0.5f;
    optimistic_.add(oi, ai, row[2 * O + A], ni, done);
    pessimistic_.add(oi, ai, row[2 * O + A + 1], ni, done);
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
  const Device device = model.device();
  double u_sum = 0, r_sum = 0;
  // Once per rollout, on a device: the start states cross there (when they
  // are elsewhere), and so does the state box.
  Tensor obs = starts.to(device);
  Tensor box_low, box_high;  // [1, O]
  if (state_box) {
    box_low = from_vector(std::vector<float>(state_box->low.begin(), state_box->low.end()), {1, O}, device);
    box_high = from_vector(std::vector<float>(state_box->high.begin(), state_box->high.end()), {1, O}, device);
  }
  for (int64_t t = 0; t < horizon && obs.size(0) > 0; ++t) {
    const int64_t M = obs.size(0);
    const Tensor actions = policy(obs);
    GL_CHECK(actions.dim() == 2 && actions.size(0) == M && actions.device() == device,
             "branched_rollout: the policy returned actions {} on {} for {} states on {}", actions.shape(),
             actions.device(), M, device);
    ModelStep step = model.step(obs, actions, gen);
    if (state_box) step.next_obs = minimum(maximum(step.next_obs, box_low), box_high);
    const RewardLabels labels = label_rewards(step.rewards, step.uncertainty, beta, lambda);
    // The one read of a rollout step: every row (s, a, s', r_O, r_P), for the
    // known termination function and the buffer (both on the host), and the
    // step's sums of u and r^ for the statistics.
    const Tensor rows = model_rows(obs, actions, step.next_obs, labels.optimistic, labels.pessimistic);
    const int64_t A = actions.size(1), W = rows.size(1);
    const std::vector<double> host =
        concat({rows.view({M * W}), sum(step.uncertainty).view({1}), sum(step.rewards).view({1})}, 0)
            .to_vector<double>();
    // The known termination function decides which branches end here.
    std::vector<float> done(size_t(M), 0.0f);
    std::vector<int64_t> alive;
    for (int64_t i = 0; i < M; ++i) {
      const double* row = host.data() + i * W;
      const bool end = terminated(std::vector<double>(row, row + O), std::vector<double>(row + O, row + O + A),
                                  std::vector<double>(row + O + A, row + 2 * O + A));
      done[size_t(i)] = end ? 1.0f : 0.0f;
      if (!end) alive.push_back(i);
    }
    buffer.add_rows(std::span<const double>(host.data(), size_t(M * W)), done);
    stats.transitions += M;
    u_sum += host[size_t(M * W)];
    r_sum += host[size_t(M * W + 1)];
    if (int64_t(alive.size()) == M)
      obs = step.next_obs;
    else if (alive.empty())
      break;
    else  // the surviving rows' indices cross to the device (once per step that ends some branches)
      obs = index_select(step.next_obs, 0, from_vector(alive, {int64_t(alive.size())}, device));
  }
  stats.mean_uncertainty = u_sum / double(stats.transitions);
  stats.mean_model_reward = r_sum / double(stats.transitions);
  stats.mean_length = double(stats.transitions) / double(N0);
  return stats;
}

BatchPolicy uniform_policy(const std::vector<double>& low, const std::vector<double>& high, Generator& gen,
                           Device device) {
  GL_CHECK(!low.empty() && low.size() == high.size(), "uniform_policy: low and high must have the same length");
  std::vector<float> lo(low.begin(), low.end()), width;
  for (size_t j = 0; j < low.size(); ++j) width.push_back(float(high[j] - low[j]));
  const int64_t A = int64_t(low.size());
  const Tensor lo_t = from_vector(lo, {1, A}, device), width_t = from_vector(width, {1, A}, device);
  return [lo_t, width_t, A, &gen](const Tensor& obs) {
    const Device d = obs.device();  // the box crosses only when the states are not where it was made
    const Tensor u = rand({obs.size(0), A}, gen, DType::f32, d);
    return add(mul(u, width_t.to(d)), lo_t.to(d));
  };
}

}  // namespace gradlab::rl
