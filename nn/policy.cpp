// Policy and value heads: categorical log-probabilities, entropy and sampling;
// the tanh-squashed Gaussian with its change-of-variables correction; the
// TD3 tanh actor; and the squeezed value Linear.
#include "nn/policy.h"

#include <cmath>
#include <numbers>

#include "nn/gpt.h"  // sample_categorical

namespace gradlab::nn {

namespace {

void check_logits(const Var& logits, std::string_view op) {
  GL_CHECK(logits.defined(), "{}: logits are undefined", op);
  GL_CHECK(logits.dim() == 2 && logits.size(1) > 0, "{}: expected logits [N, A] with A > 0, got shape {}", op,
           logits.shape());
}

}  // namespace

// ---------------------------------------------------------------- categorical

Var CategoricalHead::log_prob(const Var& logits, const Tensor& actions) {
  check_logits(logits, "CategoricalHead::log_prob");
  const int64_t N = logits.size(0), A = logits.size(1);
  GL_CHECK(actions.defined() && is_integral(actions.dtype()) && actions.shape() == Shape{N},
           "CategoricalHead::log_prob: actions must be i32/i64 [{}] for logits of shape {}, got {} {}", N,
           logits.shape(), actions.defined() ? actions.dtype() : DType::i64,
           actions.defined() ? actions.shape() : Shape{});
  const Tensor index = actions.to(DType::i64).view({N, 1});
  if (N > 0 && index.device() == Device::cpu) {
    const int64_t lo = min(index).item<int64_t>(), hi = max(index).item<int64_t>();
    GL_CHECK(lo >= 0 && hi < A, "CategoricalHead::log_prob: actions must be in [0, {}), got values in [{}, {}]", A, lo,
             hi);
  } else if (N > 0) {  // counted on the device, not read back (tensor/backend.h: check_none_bad)
    const Tensor bad = add(sum(lt(index, 0.0).to(DType::i64)), sum(ge(index, double(A)).to(DType::i64)));
    check_none_bad(bad, fmt::format("CategoricalHead::log_prob: actions outside [0, {})", A));
  }
  return squeeze(gather(log_softmax(logits, 1), 1, index), 1);
}

Var CategoricalHead::entropy(const Var& logits) {
  check_logits(logits, "CategoricalHead::entropy");
  return gradlab::entropy(logits, 1);
}

Tensor CategoricalHead::sample(const Var& logits, Generator& gen) {
  check_logits(logits, "CategoricalHead::sample");
  return sample_categorical(softmax(logits.value(), 1), gen);
}

Tensor CategoricalHead::mode(const Var& logits) {
  check_logits(logits, "CategoricalHead::mode");
  return argmax(logits.value(), 1);
}

// ---------------------------------------------------------------- tanh Gaussian

TanhGaussianHead::TanhGaussianHead(TanhGaussianOptions options) : options_(options) {
  GL_CHECK(options.log_std_min < options.log_std_max,
           "TanhGaussianHead: log_std_min ({}) must be below log_std_max ({})", options.log_std_min,
           options.log_std_max);
  register_buffer("action_scale", scalar(1.0, DType::f64));
  register_buffer("action_bias", scalar(0.0, DType::f64));
}

TanhGaussianHead::TanhGaussianHead(const Tensor& low, const Tensor& high, TanhGaussianOptions options)
    : options_(options) {
  GL_CHECK(options.log_std_min < options.log_std_max,
           "TanhGaussianHead: log_std_min ({}) must be below log_std_max ({})", options.log_std_min,
           options.log_std_max);
  GL_CHECK(low.defined() && high.defined() && low.dim() == 1 && low.shape() == high.shape() && low.numel() > 0,
           "TanhGaussianHead: action bounds low and high must both be [A], got shapes {} and {}",
           low.defined() ? low.shape() : Shape{}, high.defined() ? high.shape() : Shape{});
  const Tensor lo = low.to(DType::f64), hi = high.to(DType::f64);
  GL_CHECK(min(sub(hi, lo)).item<double>() > 0,
           "TanhGaussianHead: every low must be below its high, got low {} high {}", lo, hi);
  register_buffer("action_scale", mul(sub(hi, lo), 0.5));
  register_buffer("action_bias", mul(add(hi, lo), 0.5));
}

Tensor TanhGaussianHead::scale_like(const Var& like) const {
  return buffer("action_scale").to(like.dtype()).to(like.device());
}
Tensor TanhGaussianHead::bias_like(const Var& like) const {
  return buffer("action_bias").to(like.dtype()).to(like.device());
}

Var TanhGaussianHead::bound_log_std(const Var& log_std) const {
  const double lo = options_.log_std_min, hi = options_.log_std_max;
  if (options_.bound == LogStdBound::clamp) return clamp(log_std, lo, hi);
  return lo + (0.5 * (hi - lo)) * (tanh(log_std) + 1.0);
}

void TanhGaussianHead::check_actions(const Var& mean, std::string_view op) const {
  GL_CHECK(mean.defined() && mean.dim() == 2, "{}: expected mean [N, A], got shape {}", op,
           mean.defined() ? mean.shape() : Shape{});
  GL_CHECK(is_floating(mean.dtype()), "{}: mean must be f32 or f64, got {}", op, mean.dtype());
  const Tensor& scale = buffer("action_scale");
  GL_CHECK(scale.dim() == 0 || scale.size(0) == mean.size(1),
           "{}: mean of shape {} has {} action dims, the action bounds have {}", op, mean.shape(), mean.size(1),
           scale.size(0));
}

TanhGaussianSample TanhGaussianHead::rsample(const Var& mean, const Var& log_std, Generator& gen) const {
  check_actions(mean, "TanhGaussianHead::rsample");
  GL_CHECK(log_std.defined() && (log_std.shape() == mean.shape() || log_std.shape() == Shape{mean.size(1)}),
           "TanhGaussianHead::rsample: log_std of shape {} should be [N, A] = {} or [A] = [{}]",
           log_std.defined() ? log_std.shape() : Shape{}, mean.shape(), mean.size(1));
  const DType dt = mean.dtype();
  const Tensor scale = scale_like(mean), bias = bias_like(mean);
  const Var ls = bound_log_std(log_std);
  const Tensor eps = randn(mean.shape(), gen, dt, mean.device());
  const Var u = mean + exp(ls) * eps;
  // (u - mean) / std is eps whatever mean and std are, so the Gaussian term
  // -0.5 eps^2 - log std - 0.5 log 2 pi reads eps directly: same value, same gradient.
  const double half_log_2pi = 0.5 * std::log(2.0 * std::numbers::pi);
  const Var log_normal = Var(mul(square(eps), -0.5)) - ls - half_log_2pi;
  // log(1 - tanh(u)^2), written so that neither tanh(u)^2 -> 1 nor exp overflows.
  const Var log_dtanh = 2.0 * (std::numbers::ln2 - u - softplus(-2.0 * u));
  const Var log_prob = sum(log_normal - log_dtanh - Var(log(scale)), {1});
  return {tanh(u) * scale + bias, log_prob, u};
}

Var TanhGaussianHead::deterministic(const Var& mean) const {
  check_actions(mean, "TanhGaussianHead::deterministic");
  return tanh(mean) * scale_like(mean) + bias_like(mean);
}

// ---------------------------------------------------------------- deterministic and value

DeterministicHead::DeterministicHead(double max_action) : max_action(max_action) {
  GL_CHECK(max_action > 0, "DeterministicHead: max_action must be positive, got {}", max_action);
}

Var DeterministicHead::forward(const Var& x) const { return tanh(x) * max_action; }

ValueHead::ValueHead(int64_t d, Generator& gen, ValueHeadOptions options) {
  layer = register_module("layer",
                          std::make_shared<Linear>(d, 1, gen, LinearOptions{.bias = true, .dtype = options.dtype}));
  if (options.orthogonal_gain) {
    NoGradGuard guard;
    Tensor w = layer->weight.value(), b = layer->bias.value();
    w.copy_(orthogonal({1, d}, gen, *options.orthogonal_gain, options.dtype));
    b.fill_(0.0);
  }
}

Var ValueHead::forward(const Var& x) const {
  const int64_t d = layer->in_features();
  GL_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == d, "ValueHead: expected x [.., {}], got shape {}", d,
           x.defined() ? x.shape() : Shape{});
  return squeeze(layer->forward(x), -1);
}

}  // namespace gradlab::nn
