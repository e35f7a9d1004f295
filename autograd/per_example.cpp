// Per-example weight gradients of a linear layer y = x W (+ b): for example
// i the gradient of its own loss is x_i^T dy_i, so all of them come out of one
// batched matmul over the layer's captured input and output gradient.
#include "autograd/ops.h"

namespace gradlab {

Tensor per_example_linear_grads(const Tensor& input, const Tensor& grad_output) {
  GL_CHECK(input.defined() && grad_output.defined(), "per_example_linear_grads: tensor is undefined");
  GL_CHECK((input.dim() == 2 || input.dim() == 3) && grad_output.dim() == input.dim() &&
               input.size(0) == grad_output.size(0) && (input.dim() == 2 || input.size(1) == grad_output.size(1)),
           "per_example_linear_grads: expected input [B, in] and grad_output [B, out] (or [B, T, in] and "
           "[B, T, out]), got {} and {}",
           input.shape(), grad_output.shape());
  if (input.dim() == 2) return matmul(input.unsqueeze(-1), grad_output.unsqueeze(-2));  // [B, in, 1] @ [B, 1, out]
  return matmul(input.mT(), grad_output);                                               // [B, in, T] @ [B, T, out]
}

}  // namespace gradlab
