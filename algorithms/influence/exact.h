// Exact influence: the explicit Hessian of the mean training loss,
//
//   H = (1/N) sum_m d^2 l_m / d theta^2,   built column by column, H e_j,
//
// from P Hessian-vector products (autograd/hvp.h, f64 when the parameters
// are f64), symmetrised as (H + H^T) / 2, damped, and factored once by
// Cholesky; a query is then one solve,
//
//   (H + damping I) x = g_q,   score(m) = x . g_m.
//
// Cost: fit P HVPs (2P forward/backward passes over the training set), P^2
// f64 of memory and P^3 / 6 multiply-adds; score one solve (P^2) plus one
// backward pass per scored example. The reference the other estimators are
// measured against, for P up to a few thousand. The HVPs and the dot products
// run on the problem's device, the Cholesky factor and solves on the host.
#pragma once

#include "algorithms/influence/influence.h"

namespace gradlab::influence {

struct ExactOptions {
  double damping = 0;        // added to H's diagonal; raise it when H is not positive definite
  int64_t max_params = 4000;  // fit() refuses larger problems (P^2 memory, P^3 time)
};

class ExactInfluence : public Estimator {
 public:
  explicit ExactInfluence(ExactOptions options = {});
  explicit ExactInfluence(double damping) : ExactInfluence(ExactOptions{.damping = damping}) {}
  std::string name() const override { return "exact"; }
  void fit(const Problem& problem) override;
  Tensor score(const QueryLoss& query, const std::vector<int64_t>& train_examples) override;

  // After fit(): the symmetrised, undamped Hessian [P, P] f64 on the problem's device.
  const Tensor& hessian() const;
  // (H + damping I)^-1 v for a flat [P] vector (after fit()), on the CPU (host code).
  Tensor solve(const Tensor& v) const;

 private:
  ExactOptions options_;
  Problem problem_;
  bool fitted_ = false;
  Tensor hessian_, factor_;  // H (problem's device), and L with L L^T = H + damping I (CPU)
};

}  // namespace gradlab::influence
