// A product with at most one vector of columns, C[M, N] (+)= A[M, K] B[K, N]
// with N <= L (L = vector lanes: 16 f32 with AVX-512): the output layer of a
// critic or value head (N = 1), a dynamics model's [s' - s, r] (N = 4), the
// products of attention heads with a dozen positions and a dozen dimensions.
// The blocked GEMM would pack B into panels twice as wide as a vector and
// leave most of its tile idle; here B becomes K vectors once and each row of A
// meets them directly, several rows in flight. With at most half a vector of
// columns, a vector holds one k of L rows instead, one row per lane.
#pragma once

#include <cstdint>

#include "tensor/cpu/gemm.h"
#include "tensor/cpu/simd.h"

namespace gradlab::cpu {

// Whether gemm_narrow takes a product with N columns.
template <class T>
constexpr bool gemm_narrow_takes(int64_t N) {
  return N >= 1 && N <= Vec<T>::lanes;
}

// C = A B (+ bias on every row) or C += A B with accumulate (the bias is then
// ignored, as in gemm). Every element is summed in the order of gemm's packed
// kernels: each slice of `slice` consecutive k from zero (the first from the
// bias), each slice's sum added to C, so the bits equal those of the same
// columns of a wider product. Threads split the rows when the product is
// large enough; each element is computed by one thread.
template <class T>
void gemm_narrow(int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc, bool accumulate,
                 const T* bias, int64_t slice, double parallel_flops);

}  // namespace gradlab::cpu
