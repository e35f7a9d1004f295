// GEMM on the CPU: C[M, N] (+)= A[M, K] B[K, N] for f32 and f64, with A and B
// given by arbitrary element strides (so transposed views are read in place)
// and C row-major with row stride ldc. Packed and cache-blocked, with a
// register-tiled micro-kernel; threaded over blocks of C when the product is
// large enough to pay for it. See gemm.cpp for the blocking scheme.
#pragma once

#include <cstdint>

namespace gradlab::cpu {

template <class T>
struct MatrixView {
  const T* data;
  int64_t row_stride;  // elements between consecutive rows
  int64_t col_stride;  // elements between consecutive columns
};

// C = A B (accumulate = false) or C += A B (accumulate = true). With a bias
// [N] (and accumulate = false), C = A B + bias on every row: the bias is the
// accumulators' starting value, so it costs no extra pass. Uses up to
// num_threads() threads unless called from inside a parallel region.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc, bool accumulate,
          const T* bias = nullptr);

// The plain triple loop, for tests and as the readable definition.
template <class T>
void gemm_reference(int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc,
                    bool accumulate);

// The instruction set the micro-kernel was compiled for ("avx512", "avx2", "portable").
const char* gemm_isa();

}  // namespace gradlab::cpu
