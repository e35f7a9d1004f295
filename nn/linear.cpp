// Linear layer.
#include "nn/linear.h"

namespace gradlab::nn {

Linear::Linear(int64_t in, int64_t out, Generator& gen, LinearOptions options) {
  GL_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got in = {}, out = {}", in, out);
  weight = register_parameter("weight", fan_in_uniform({out, in}, in, gen, options.dtype));
  if (options.bias) bias = register_parameter("bias", fan_in_uniform({out}, in, gen, options.dtype));
}

Var Linear::forward(const Var& x) const {
  Var y = linear(x, weight, bias);
  call_forward_hooks(x, y);
  return y;
}

}  // namespace gradlab::nn
