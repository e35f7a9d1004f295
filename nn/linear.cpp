// Linear layer, and the mixed-precision product it runs through.
#include "nn/linear.h"

namespace gradlab::nn {

Linear::Linear(int64_t in, int64_t out, Generator& gen, LinearOptions options) {
  GL_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got in = {}, out = {}", in, out);
  weight = register_parameter("weight", fan_in_uniform({out, in}, in, gen, options.dtype));
  if (options.bias) bias = register_parameter("bias", fan_in_uniform({out}, in, gen, options.dtype));
}

Var linear_in(DType compute, const Var& x, const Var& weight, const Var& bias) {
  GL_CHECK(x.defined() && weight.defined(), "linear_in: x or weight is undefined");
  if (compute == x.dtype() && compute == weight.dtype()) return linear(x, weight, bias);
  GL_CHECK(is_floating(compute), "linear_in: the compute dtype must be floating, got {}", compute);
  const Var b = bias.defined() ? to_dtype(bias, compute) : Var();
  return to_dtype(linear(to_dtype(x, compute), to_dtype(weight, compute), b), x.dtype());
}

Var Linear::forward(const Var& x) const {
  const DType compute = compute_dtype.value_or(weight.dtype());
  Var y = linear_in(compute, x, weight, bias);
  if (lora_A.defined())  // + s (x A^T) B^T
    y = y + linear_in(compute, linear_in(compute, x, lora_A, Var()), lora_B, Var()) * lora_scale;
  call_forward_hooks(x, y);
  return y;
}

void Linear::add_low_rank_adapter(int64_t rank, double alpha, Generator& gen) {
  GL_CHECK(rank > 0 && alpha > 0, "Linear::add_low_rank_adapter: rank and alpha must be positive, got {} and {}", rank,
           alpha);
  GL_CHECK(!lora_A.defined(), "Linear::add_low_rank_adapter: this layer already has an adapter");
  freeze();
  const int64_t in = in_features(), out = out_features();
  lora_A = register_parameter("lora_A", fan_in_uniform({rank, in}, in, gen, weight.dtype()));
  lora_B = register_parameter("lora_B", zeros({out, rank}, weight.dtype()));
  lora_scale = alpha / double(rank);
}

}  // namespace gradlab::nn
