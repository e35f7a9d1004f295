// Nuclear norm through the Gram matrix and Jacobi eigh (docs/papers/temporal-inconsistency.md).
#include "algorithms/rl/curiosity/nuclear_norm.h"

#include "tensor/error.h"

namespace gradlab::rl::curiosity {

Tensor nuclear_norm_by_gram(const Tensor& P) {
  GL_CHECK(P.defined() && (P.dim() == 2 || P.dim() == 3), "nuclear_norm_by_gram: expected [K, d] or [N, K, d], got {}",
           P.defined() ? P.shape() : Shape{});
  const Tensor p = P.to(DType::f64);
  // G = P P^T: [.., K, K], eigenvalues sigma_i^2; on the host for eigh (one read from a device).
  const Tensor gram = matmul(p, p.mT()).to(Device::cpu);
  const Tensor lambda = eigh(gram).eigenvalues;   // ascending
  // Eigenvalues below the Jacobi round-off of the largest (K eps lambda_max)
  // are zeros of a rank-deficient P: counted as 0, not as sqrt(round-off).
  const Tensor floor = lambda.narrow(-1, lambda.size(-1) - 1, 1) * (double(lambda.size(-1)) * 1e-15);
  const Tensor kept = where(gt(lambda, floor), lambda, zeros_like(lambda));
  return sum(sqrt(kept), {-1}).to(P.device());  // ||P||_* = sum_i sqrt(lambda_i), back on P's device
}

Tensor frobenius_norm(const Tensor& P) {
  GL_CHECK(P.defined() && (P.dim() == 2 || P.dim() == 3), "frobenius_norm: expected [K, d] or [N, K, d], got {}",
           P.defined() ? P.shape() : Shape{});
  return sqrt(sum(square(P.to(DType::f64)), {-2, -1}));
}

}  // namespace gradlab::rl::curiosity
