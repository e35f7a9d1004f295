// ExactInfluence: H e_j for every coordinate j (P HVPs of the mean training
// loss), H <- (H + H^T) / 2, L L^T = H + damping I by Cholesky, and per query
// x = L^-T L^-1 g_q, score(m) = x . g_m.
#include "algorithms/influence/exact.h"

#include <cmath>

#include "algorithms/influence/cholesky.h"
#include "algorithms/influence/training_hessian.h"
#include "autograd/ops.h"

namespace gradlab::influence {

ExactInfluence::ExactInfluence(ExactOptions options) : options_(options) {
  GL_CHECK(std::isfinite(options_.damping) && options_.damping >= 0,
           "ExactInfluence: damping must be finite and >= 0, got {}", options_.damping);
  GL_CHECK(options_.max_params >= 1, "ExactInfluence: max_params must be >= 1, got {}", options_.max_params);
}

void ExactInfluence::fit(const Problem& problem) {
  check_problem(problem, "ExactInfluence::fit");
  const int64_t P = parameter_count(problem.params);
  GL_CHECK(P <= options_.max_params,
           "ExactInfluence::fit: {} parameters exceed max_params = {} (the explicit Hessian needs P^2 f64 and P "
           "Hessian-vector products); restrict the parameters, raise max_params, or use CG, LiSSA or K-FAC",
           P, options_.max_params);
  fitted_ = false;
  const std::vector<int64_t> rows = all_rows(problem.n_train);
  Tensor H = zeros({P, P}, DType::f64);
  Tensor unit = zeros({P}, DType::f64);
  for (int64_t j = 0; j < P; ++j) {
    unit.fill_(0);
    unit.select(0, j).fill_(1);
    H.select(0, j).copy_(training_hvp_flat(problem, rows, unit));  // row j of H = (H e_j)^T for symmetric H
  }
  hessian_ = ((H + H.mT()) * 0.5).contiguous();
  const Tensor damped = hessian_ + eye(P, P, DType::f64) * options_.damping;
  try {
    factor_ = cholesky_factor(damped, "ExactInfluence::fit");
  } catch (const Error& e) {
    fail("{} (H + damping I with damping {}); raise the damping", e.what(), options_.damping);
  }
  problem_ = problem;
  fitted_ = true;
}

const Tensor& ExactInfluence::hessian() const {
  GL_CHECK(fitted_, "ExactInfluence::hessian: called before fit()");
  return hessian_;
}

Tensor ExactInfluence::solve(const Tensor& v) const {
  GL_CHECK(fitted_, "ExactInfluence::solve: called before fit()");
  return cholesky_solve(factor_, v);
}

Tensor ExactInfluence::score(const QueryLoss& query, const std::vector<int64_t>& train_examples) {
  GL_CHECK(fitted_, "ExactInfluence::score: called before fit()");
  check_rows(problem_, train_examples, "ExactInfluence::score");
  const Tensor x = solve(query_gradient(query, problem_.params, "ExactInfluence::score"));
  return example_gradient_dots(problem_, train_examples, x);
}

}  // namespace gradlab::influence
