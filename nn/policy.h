// Policy and value heads for the actor-critic algorithms: CategoricalHead
// (discrete actions, PPO), TanhGaussianHead (squashed Gaussian actions with a
// reparameterised sample, SAC), DeterministicHead (TD3) and ValueHead (a
// Linear(d, 1) that returns one value per row). The heads turn a network's
// outputs into actions and log-probabilities; they own no trained parameters.
#pragma once

#include <optional>

#include "nn/linear.h"

namespace gradlab::nn {

// The categorical distribution softmax(logits) over the last axis of logits
// [N, A]. Stateless: every function reads the logits it is given.
struct CategoricalHead {
  // log softmax(logits)[i, actions[i]] for actions [N] (i32/i64 in [0, A)): [N].
  static Var log_prob(const Var& logits, const Tensor& actions);
  // -sum_a p log p per row: [N].
  static Var entropy(const Var& logits);
  // One action per row by the inverse CDF of a Philox uniform: [N] i64.
  static Tensor sample(const Var& logits, Generator& gen);
  // The most likely action per row (the first on ties): [N] i64.
  static Tensor mode(const Var& logits);
};

// How TanhGaussianHead keeps log_std in [log_std_min, log_std_max].
enum class LogStdBound {
  clamp,  // clamp(log_std, min, max): the gradient is zero outside the bounds
  tanh,   // min + (max - min) (tanh(log_std) + 1) / 2: smooth, every input maps inside
};

struct TanhGaussianOptions {
  double log_std_min = -20.0;
  double log_std_max = 2.0;
  LogStdBound bound = LogStdBound::clamp;
};

struct TanhGaussianSample {
  Var action;    // tanh(u) scale + bias: [N, A]
  Var log_prob;  // log density of action, summed over the action dims: [N]
  Var pre_tanh;  // u = mean + std eps: [N, A]
};

// The squashed Gaussian a = tanh(u) scale + bias, u ~ N(mean, std^2), with
// scale = (high - low) / 2 and bias = (high + low) / 2 mapping (-1, 1) onto the
// action bounds (kept as buffers "action_scale" and "action_bias").
class TanhGaussianHead : public Module {
 public:
  // Actions in [-1, 1] in every dimension (any number of them).
  explicit TanhGaussianHead(TanhGaussianOptions options = {});
  // Actions in [low[j], high[j]] for low, high [A] with low < high.
  TanhGaussianHead(const Tensor& low, const Tensor& high, TanhGaussianOptions options = {});

  // log_std brought inside [log_std_min, log_std_max] as options.bound says.
  Var bound_log_std(const Var& log_std) const;

  // A reparameterised sample from mean [N, A] and log_std [N, A] (or [A],
  // shared by the rows): eps ~ N(0, 1) from gen, so gradients reach mean and
  // log_std through u. log_prob = sum_j [log N(u_j; mean_j, std_j) -
  // log(1 - tanh(u_j)^2) - log scale_j], the middle term in the stable form
  // 2 (log 2 - u - softplus(-2u)), finite for any u.
  TanhGaussianSample rsample(const Var& mean, const Var& log_std, Generator& gen) const;

  // The deterministic (evaluation) action tanh(mean) scale + bias: [N, A].
  Var deterministic(const Var& mean) const;

  const TanhGaussianOptions& options() const { return options_; }

 private:
  void check_actions(const Var& mean, std::string_view op) const;
  // The buffers "action_scale" and "action_bias" (f64 [A], or 0-d for the
  // [-1, 1] default) in the dtype and on the device of `like`.
  Tensor scale_like(const Var& like) const;
  Tensor bias_like(const Var& like) const;
  TanhGaussianOptions options_;
};

// max_action tanh(x): the bounded deterministic actor of TD3.
struct DeterministicHead {
  explicit DeterministicHead(double max_action = 1.0);
  Var forward(const Var& x) const;
  Var operator()(const Var& x) const { return forward(x); }
  double max_action;
};

struct ValueHeadOptions {
  // Set: an orthogonal weight with this gain and a zero bias (PPO uses 1.0);
  // unset: Linear's default uniform +-1/sqrt(d).
  std::optional<double> orthogonal_gain{};
  DType dtype = DType::f32;
};

// A Linear(d, 1) whose forward drops the size-1 output axis: x [.., d] -> [..].
class ValueHead : public Module {
 public:
  ValueHead(int64_t d, Generator& gen, ValueHeadOptions options = {});
  Var forward(const Var& x) const;
  Var operator()(const Var& x) const { return forward(x); }
  std::shared_ptr<Linear> layer;  // "layer.weight" [1, d], "layer.bias" [1]
};

}  // namespace gradlab::nn
