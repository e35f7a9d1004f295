// CUDA sum_squares: the composite's passes through the CUDA backend's own
// kernels (copy to f64, square, sum, add; tensor/sum_squares_passes.h), all
// queued on the stream, nothing read back. Not fused yet: an f32 gradient
// makes one f64 scratch copy.
#include "tensor/cuda/kernels.h"
#include "tensor/sum_squares_passes.h"

namespace gradlab::cuda {

void sum_squares(std::span<const Tensor> xs, const Tensor& out) { sum_squares_by_passes(xs, out); }

}  // namespace gradlab::cuda
