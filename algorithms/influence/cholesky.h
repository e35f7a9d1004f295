// A small dense f64 Cholesky factorisation for the exact influence solve:
// A = L L^T with L lower triangular, for A symmetric positive definite, and
// the solve A x = b by forward (L y = b) and back (L^T x = y) substitution.
// Host code: the factor is a CPU tensor; the solve copies b to the host.
// O(n^3 / 6) multiply-adds to factor, O(n^2) per solve.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace gradlab::influence {

// L [n, n] f64 (zeros above the diagonal) with a = L L^T; a is [n, n] f32/f64
// on the CPU and read as symmetric from its lower triangle. Throws
// gradlab::Error, naming `op`, the row and the pivot, when a is not positive
// definite (a pivot a_jj - sum_k L_jk^2 <= 0 or not finite).
Tensor cholesky_factor(const Tensor& a, const std::string& op = "cholesky_factor");
// x [n] f64 solving (L L^T) x = b for b [n].
Tensor cholesky_solve(const Tensor& L, const Tensor& b);

}  // namespace gradlab::influence
