// bias_activation as separate passes of a backend's own kernels: z = x + bias
// (binary add), y = op(z) (unary), and for silu s = sigmoid(z) (unary); the
// backward is op's own unary_backward. That is the composite whose bits the
// bias_activation kernels keep (tensor/backend.h). The ref backend runs it as
// it is; the cpu and cuda backends fuse the passes
// (tensor/cpu/bias_activation.cpp, tensor/cuda/bias_activation.cu).
#pragma once

#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace gradlab {

inline void bias_activation_by_passes(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& bias,
                                      const Tensor& z, const Tensor& y, const Tensor& s) {
  const Backend& be = backend(y.device());
  const Tensor& sum = z.defined() ? z : y;  // without z, y holds x + bias until op runs in place
  be.binary(BinaryOp::add, x, bias, sum);
  be.unary(op, params, sum, y);
  if (s.defined()) be.unary(UnaryOp::sigmoid, {}, z, s);
}

inline void bias_activation_backward_by_passes(UnaryOp op, UnaryParams params, const Tensor& z, const Tensor& y,
                                               const Tensor& dy, const Tensor& dz) {
  backend(z.device()).unary_backward(op, params, z, y, dy, dz);
}

}  // namespace gradlab

// Inside a backend's namespace: its bias_activation and bias_activation_backward
// kernels as the passes above.
#define GL_BIAS_ACTIVATION_BY_PASSES()                                                                             \
  void bias_activation(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& bias, const Tensor& z,       \
                       const Tensor& y, const Tensor& s) {                                                         \
    ::gradlab::bias_activation_by_passes(op, params, x, bias, z, y, s);                                            \
  }                                                                                                                \
  void bias_activation_backward(UnaryOp op, UnaryParams params, const Tensor& z, const Tensor& y, const Tensor&,   \
                                const Tensor& dy, const Tensor& dz) {                                              \
    ::gradlab::bias_activation_backward_by_passes(op, params, z, y, dy, dz);                                       \
  }
