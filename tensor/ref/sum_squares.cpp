// Reference sum_squares: the composite's passes through ref's own kernels
// (copy to f64, square, sum, add; tensor/sum_squares_passes.h).
#include "tensor/ref/kernels.h"
#include "tensor/sum_squares_passes.h"

namespace gradlab::ref {

void sum_squares(std::span<const Tensor> xs, const Tensor& out) { sum_squares_by_passes(xs, out); }

}  // namespace gradlab::ref
