// The actor and critic networks of the off-policy learners (SAC, TD3 and the
// offline learners built on them): a Q network on [s, a], a deterministic
// tanh actor (TD3, TD3+BC) and a squashed Gaussian actor (SAC, CQL, MOPO,
// ORPO's rollout policy). Hidden sizes are a list, so the same classes serve
// CleanRL's 2x256 and the offline papers' 3x256 or 2x64.
#pragma once

#include <memory>
#include <vector>

#include "envs/env.h"
#include "nn/layers.h"
#include "nn/policy.h"

namespace gradlab::rl {

// Q(s, a): an MLP on the concatenation [s, a] with ReLU hidden layers, one output.
class QNetwork : public nn::Module {
 public:
  QNetwork(int64_t obs_dim, int64_t action_dim, const std::vector<int64_t>& hidden, Generator& gen);
  Var forward(const Var& obs, const Var& actions) const;  // [B, obs], [B, A] -> [B]
  std::shared_ptr<nn::MLP> net;
};

// mu(s) = tanh(MLP(s)) scale + bias: a deterministic action inside the box.
class DeterministicActor : public nn::Module {
 public:
  DeterministicActor(int64_t obs_dim, const envs::Space& actions, const std::vector<int64_t>& hidden, Generator& gen);
  Var forward(const Var& obs) const;  // [B, obs] -> [B, A]
  std::shared_ptr<nn::MLP> net;
  nn::DeterministicHead head{1.0};
  // The action box as buffers "action_scale" and "action_bias" (f32 [A]).
};

// The squashed Gaussian actor: a ReLU trunk, then mean and log-std heads;
// log-std is bounded smoothly into [log_std_min, log_std_max] (tanh), and
// a = tanh(u) scale + bias with log pi(a) = log N(u) - sum log(1 - tanh^2 u) - sum log scale.
class SquashedGaussianActor : public nn::Module {
 public:
  SquashedGaussianActor(int64_t obs_dim, const envs::Space& actions, const std::vector<int64_t>& hidden,
                        double log_std_min, double log_std_max, Generator& gen);
  nn::TanhGaussianSample sample(const Var& obs, Generator& gen) const;  // reparameterised
  Var deterministic(const Var& obs) const;                              // tanh(mean) scale + bias

  std::shared_ptr<nn::MLP> trunk;
  std::shared_ptr<nn::Linear> fc_mean, fc_logstd;
  std::shared_ptr<nn::TanhGaussianHead> head;
};

// Both lists, a's first (one optimiser over two networks).
std::vector<Var> joined(const std::vector<Var>& a, const std::vector<Var>& b);
// One observation as a [1, n] f32 row.
Tensor row_tensor(const std::vector<double>& x);

}  // namespace gradlab::rl
