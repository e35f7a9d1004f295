// A product with one row, c[N] (+)= a[K] B[K, N], with B read in place: a
// decoding step of a GPT at batch 1, one query's attention scores, an actor
// acting on one state. Packing B for the blocked GEMM would move every element
// of B once to use it once, as much work as the product itself.
#pragma once

#include <cstdint>

#include "tensor/cpu/gemm.h"

namespace gradlab::cpu {

// Whether gemm_row takes a B of these strides: one of them must be 1.
template <class T>
bool gemm_row_reads(MatrixView<T> B) {
  return B.col_stride == 1 || B.row_stride == 1;
}

// c = a B (+ bias), or c += a B with accumulate, a with element stride
// a_stride. Every element is summed in the order of gemm's packed kernels:
// each slice of `slice` consecutive k from zero (the first from the bias), and
// each slice's sum added to c, so the bits equal those of a row of a taller
// product. Threads split the columns when the product is large enough.
template <class T>
void gemm_row(int64_t N, int64_t K, const T* a, int64_t a_stride, MatrixView<T> B, T* c, bool accumulate, const T* bias,
              int64_t slice, double parallel_flops);

}  // namespace gradlab::cpu
