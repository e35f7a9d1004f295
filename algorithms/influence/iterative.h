// Influence by iterative inverse-Hessian-vector products (autograd/hvp.h),
// never forming H: x ~ (H + damping I)^-1 g_q, then score(m) = x . g_m.
//
//   CGInfluence     conjugate gradients on H_R, the Hessian of the mean
//                   training loss over all rows or a fixed random subsample R
//                   (training_hessian.h). Exact in at most P iterations (in
//                   exact arithmetic); needs H + damping I positive definite.
//                   Cost per query: up to max_iters HVPs over |R| rows.
//   LiSSAInfluence  the LiSSA recursion x_j = g_q + (I - (H_B + damping I) /
//                   scale) x_{j-1}, x_depth / scale -> (H + damping I)^-1 g_q,
//                   with H_B the Hessian of a fresh random minibatch of
//                   batch_size rows at every step (its own Generator), averaged
//                   over `repeats` recursions. Needs scale > the top
//                   eigenvalue of H + damping I; scale 0 picks 1.5 times a
//                   power-iteration estimate of it at fit(). Cost per query:
//                   depth * repeats HVPs over batch_size rows.
// Memory for both: a few P-vectors.
#pragma once

#include "algorithms/influence/influence.h"
#include "autograd/hvp.h"

namespace gradlab::influence {

struct CGOptions {
  double damping = 0;
  int max_iters = 200;
  double tol = 1e-10;     // stop when |r| <= tol |g_q|
  int64_t subsample = 0;  // rows of the Hessian; 0: all n_train
  uint64_t seed = 0;      // draws the subsample
};

class CGInfluence : public Estimator {
 public:
  explicit CGInfluence(CGOptions options = {});
  std::string name() const override { return "cg"; }
  void fit(const Problem& problem) override;
  Tensor score(const QueryLoss& query, const std::vector<int64_t>& train_examples) override;
  // The last query's solver report (iterations, residual, converged).
  const SolveReport& last_report() const { return report_; }

 private:
  CGOptions options_;
  Problem problem_;
  std::vector<int64_t> rows_;
  bool fitted_ = false;
  SolveReport report_;
};

struct LiSSAOptions {
  double damping = 0;
  double scale = 0;           // > top eigenvalue of H + damping I; 0: estimated at fit()
  int depth = 1000;           // recursion steps
  int repeats = 1;            // independent recursions averaged
  int64_t batch_size = 0;     // rows per step's Hessian; 0: all n_train (deterministic)
  uint64_t seed = 0;          // the minibatch stream (restarted at every score())
  int power_iterations = 20;  // for scale = 0, on the full training Hessian
};

class LiSSAInfluence : public Estimator {
 public:
  explicit LiSSAInfluence(LiSSAOptions options = {});
  std::string name() const override { return "lissa"; }
  void fit(const Problem& problem) override;
  Tensor score(const QueryLoss& query, const std::vector<int64_t>& train_examples) override;
  // The scale in use (after fit(): the estimated one when options.scale was 0).
  double scale() const { return scale_; }

 private:
  LiSSAOptions options_;
  Problem problem_;
  bool fitted_ = false;
  double scale_ = 0;
};

}  // namespace gradlab::influence
