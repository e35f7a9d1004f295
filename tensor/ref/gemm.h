// Reference GEMM: the plain triple loop, the first GEMM to read and the one the
// fast kernel (tensor/cpu/gemm.h) is checked against.
//
//   C[i, j] = alpha * sum_k op(A)[i, k] * op(B)[k, j] + beta * C[i, j]
//
// for i < M, j < N, k < K, where op(X) is X or its transpose. All matrices are
// row-major. The sum is accumulated in double, so for f32 inputs the result is
// the exact product rounded once: a better oracle than any f32 loop.
#pragma once

#include <cstdint>

#include "tensor/cpu/gemm.h"

namespace gradlab::ref {

// BLAS-style: A is [M, K] (or [K, M] when trans_a) with row stride lda, B is
// [K, N] (or [N, K] when trans_b) with row stride ldb, C is [M, N] with row
// stride ldc. beta == 0 writes C without reading it (NaNs already there vanish).
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc);

// The fast kernel's signature (cpu::gemm), so that either can be called with
// the same arguments: A and B as strided views (a transposed operand is a view
// with its strides swapped), C = A B (+ bias on every row), or C += A B when
// accumulate is true.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, cpu::MatrixView<T> A, cpu::MatrixView<T> B, T* C, int64_t ldc,
          bool accumulate, const T* bias = nullptr);

}  // namespace gradlab::ref
