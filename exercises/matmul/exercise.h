// Exercise matmul: a matrix product by plain loops, reading any strides.
#pragma once

#include "tensor/tensor.h"

namespace gradlab::exercise {

// C = A B for A [M, K] and B [K, N] (f64, any strides: a transposed view is
// fine): C[i, j] = sum_k A[i, k] B[k, j]. Returns a new contiguous [M, N].
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace gradlab::exercise
