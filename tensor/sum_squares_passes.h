// sum_squares as separate passes of a backend's own kernels: for each tensor,
// copy to f64, square, sum with the reduce kernel, add to the total. That is
// the composite sum(square(x.to(f64))) whose bits the sum_squares kernel keeps
// (tensor/backend.h). The ref and cuda backends run it as it is; the cpu
// backend fuses the f32 case and runs this for f64.
#pragma once

#include <numeric>
#include <span>
#include <vector>

#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace gradlab {

inline void sum_squares_by_passes(std::span<const Tensor> xs, const Tensor& out) {
  const Backend& be = backend(out.device());
  be.fill(out, 0.0);
  for (const Tensor& x : xs) {
    Tensor squares = Tensor::empty(x.shape(), DType::f64, x.device());
    be.copy(x, squares);
    be.unary(UnaryOp::square, {}, squares, squares);
    std::vector<int> axes(size_t(x.dim()));
    std::iota(axes.begin(), axes.end(), 0);
    const Tensor s = Tensor::empty(Shape(std::vector<int64_t>(size_t(x.dim()), 1)), DType::f64, x.device());
    be.reduce(ReduceOp::sum, squares, axes, s);
    be.binary(BinaryOp::add, out, s.reshape({}), out);
  }
}

}  // namespace gradlab
