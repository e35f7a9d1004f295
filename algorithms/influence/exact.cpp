// ExactInfluence: H e_j for every coordinate j (P HVPs of the mean training
// loss), H <- (H + H^T) / 2, L L^T = H + damping I by Cholesky, and per query
// x = L^-T L^-1 g_q, score(m) = x . g_m. The HVPs, H and the dot products
// are on the problem's device; the Cholesky factor and its two triangular
// solves are host code (cholesky.cpp), so H crosses to the host once at fit(),
// and per query g_q goes to the host and x comes back (one crossing each way)
// before the scores are read once.
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
  const Device device = problem_device(problem);
  Tensor H = zeros({P, P}, DType::f64, device);
  Tensor unit = zeros({P}, DType::f64, device);
  for (int64_t j = 0; j < P; ++j) {
    unit.fill_(0);
    unit.select(0, j).fill_(1);
    H.select(0, j).copy_(training_hvp_flat(problem, rows, unit));  // row j of H = (H e_j)^T for symmetric H
  }
  hessian_ = ((H + H.mT()) * 0.5).contiguous();
  const Tensor damped = hessian_ + eye(P, P, DType::f64, device) * options_.damping;
  try {
    factor_ = cholesky_factor(damped.to(Device::cpu), "ExactInfluence::fit");  // host code: H crosses once
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
  // g_q to the host for the triangular solves, x back to the problem's device.
  const Tensor x = solve(query_gradient(query, problem_.params, "ExactInfluence::score")).to(problem_device(problem_));
  return example_gradient_dots(problem_, train_examples, x).to(Device::cpu);
}

}  // namespace gradlab::influence
