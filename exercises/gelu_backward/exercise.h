// Exercise gelu_backward: the derivative of the exact GELU, as its backward.
#pragma once

#include "tensor/tensor.h"

namespace gradlab::exercise {

// y = gelu(x) = x Phi(x). Returns dx = dout * (Phi(x) + x phi(x)), elementwise;
// x, y and dout are f64 tensors of one shape.
Tensor gelu_backward(const Tensor& x, const Tensor& y, const Tensor& dout);

}  // namespace gradlab::exercise
