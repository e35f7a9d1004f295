// The nuclear norm ||P||_* = sum_i sigma_i(P) of small wide matrices P [K, d]
// (TI's snapshot prediction matrices, docs/papers/temporal-inconsistency.md), computed from the K x K Gram
// matrix G = P P^T: its eigenvalues are sigma_i^2, found by the cyclic Jacobi
// eigensolver of tensor/ops.h (eigh), so sigma_i = sqrt(max(lambda_i, 0)).
// Eigenvalues under K * 1e-15 * lambda_max count as exact zeros (rank-deficient
// P), so agreeing snapshots give exactly sqrt(K) rather than sqrt(K) + sqrt(eps).
// No gradient: the result is a reward. The eigensolver is host code
// (tensor/linalg.cpp): for P on another device the Gram matrices are formed
// there, read back once, and the norms sent back once.
#pragma once

#include "tensor/ops.h"

namespace gradlab::rl::curiosity {

// P [N, K, d] (or [K, d]) -> [N] (or 0-d) f64: sum_i sqrt(max(lambda_i(P P^T), 0)).
Tensor nuclear_norm_by_gram(const Tensor& P);
// ||P||_F per matrix: [N] (or 0-d) f64.
Tensor frobenius_norm(const Tensor& P);

}  // namespace gradlab::rl::curiosity
