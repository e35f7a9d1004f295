// EnsembleLinear and EnsembleMLP: K members as one batched matmul plus a
// broadcast bias, differentiable through the matmul and add ops (the matmul's
// backward sums a shared input's gradient over the members). Between layers
// the bias is added in the activation's own pass (bias_activation).
#include "nn/ensemble.h"

namespace gradlab::nn {

namespace {

void check_ensemble_linear(const Var& x, const Var& weight, const Var& bias) {
  GL_CHECK(x.defined() && weight.defined(), "EnsembleLinear: x or weight is undefined");
  GL_CHECK(weight.dim() == 3, "EnsembleLinear: weight must be [K, out, in], got shape {}", weight.shape());
  const int64_t K = weight.size(0), out = weight.size(1), in = weight.size(2);
  GL_CHECK((x.dim() == 2 || x.dim() == 3) && x.size(-1) == in,
           "EnsembleLinear: x must be [K, N, {}] or [N, {}] (weight {}), got shape {}", in, in, weight.shape(),
           x.shape());
  GL_CHECK(x.dim() == 2 || x.size(0) == K,
           "EnsembleLinear: x of shape {} has {} members on its first axis, the weight {} has {}", x.shape(), x.size(0),
           weight.shape(), K);
  GL_CHECK(x.dtype() == weight.dtype(), "EnsembleLinear: x is {} but the weight is {}; convert one with .to()",
           x.dtype(), weight.dtype());
  GL_CHECK(!bias.defined() || (bias.shape() == Shape{K, out}), "EnsembleLinear: bias of shape {} should be [{}, {}]",
           bias.defined() ? bias.shape() : Shape{}, K, out);
}

// [K, N, in] (or [N, in], broadcast over K) @ [K, in, out] -> [K, N, out], no bias
Var ensemble_product(const Var& x, const Var& weight) { return matmul(x, transpose(weight, 1, 2)); }

}  // namespace

Var ensemble_linear(const Var& x, const Var& weight, const Var& bias) {
  check_ensemble_linear(x, weight, bias);
  Var y = ensemble_product(x, weight);
  if (bias.defined()) y = y + unsqueeze(bias, 1);  // [K, 1, out] over the N rows
  return y;
}

EnsembleLinear::EnsembleLinear(int64_t K, int64_t in, int64_t out, Generator& gen, LinearOptions options) {
  GL_CHECK(K > 0 && in > 0 && out > 0, "EnsembleLinear: sizes must be positive, got K = {}, in = {}, out = {}", K, in,
           out);
  weight = register_parameter("weight", fan_in_uniform({K, out, in}, in, gen, options.dtype));
  if (options.bias) bias = register_parameter("bias", fan_in_uniform({K, out}, in, gen, options.dtype));
}

Var EnsembleLinear::forward(const Var& x) const {
  Var y = ensemble_linear(x, weight, bias);
  call_forward_hooks(x, y);
  return y;
}

Var EnsembleLinear::forward_activated(const Var& x, Activation a) const {
  if (!bias.defined() || has_forward_hooks()) return activate(forward(x), a);
  check_ensemble_linear(x, weight, bias);
  return add_bias_activate(ensemble_product(x, weight), unsqueeze(bias, 1), a);
}

EnsembleMLP::EnsembleMLP(int64_t K, const std::vector<int64_t>& sizes, Generator& gen, EnsembleMLPOptions options)
    : options_(options) {
  GL_CHECK(sizes.size() >= 2, "EnsembleMLP: needs at least {{in, out}} sizes, got {}", sizes.size());
  auto list = register_module("layers", std::make_shared<ModuleList>());
  for (size_t i = 0; i + 1 < sizes.size(); ++i)
    layers_.push_back(list->push_back(std::make_shared<EnsembleLinear>(
        K, sizes[i], sizes[i + 1], gen, LinearOptions{.bias = true, .dtype = options.dtype})));
}

Var EnsembleMLP::forward(const Var& x) const {
  Var h = x;
  for (size_t i = 0; i < layers_.size(); ++i)
    h = layers_[i]->forward_activated(h, i + 1 == layers_.size() ? options_.output : options_.activation);
  return h;
}

}  // namespace gradlab::nn
