// A hand-written tiled GEMM for CUDA, kept as a teaching kernel beside cuBLAS
// (bench/gpu.cpp reports it as a percentage of cuBLAS). Not used by matmul.
// In a build without CUDA it throws the usual "built without CUDA" error.
#pragma once

#include "tensor/tensor.h"

namespace gradlab {

// out [M, N] = a [M, K] @ b [K, N]; all three contiguous f32 CUDA tensors.
void cuda_tiled_gemm(const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace gradlab
