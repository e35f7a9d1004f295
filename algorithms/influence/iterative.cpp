// CGInfluence and LiSSAInfluence: g_q -> x ~ (H + damping I)^-1 g_q by
// conjugate_gradient or lissa (autograd/hvp.h) on Hessian-vector products of
// the mean training loss, then score(m) = x . g_m. LiSSA's automatic scale is
// 1.5 times the top eigenvalue of H + damping I from power iteration
// (v <- H v / |H v|, lambda ~ |H v| for unit v). Vectors, HVPs and dot
// products stay on the problem's device; the host reads the scalars the
// solvers steer by (hvp()'s step size, CG's p.Hp and r.r, the power
// iteration's |H v|) and the k scores once at the end.
#include "algorithms/influence/iterative.h"

#include <cmath>

#include "algorithms/influence/training_hessian.h"
#include "autograd/ops.h"

namespace gradlab::influence {

namespace {

void check_damping(double damping, const char* op) {
  GL_CHECK(std::isfinite(damping) && damping >= 0, "{}: damping must be finite and >= 0, got {}", op, damping);
}

}  // namespace

// ---- CG ----

CGInfluence::CGInfluence(CGOptions options) : options_(options) {
  check_damping(options_.damping, "CGInfluence");
  GL_CHECK(options_.max_iters >= 1, "CGInfluence: max_iters must be >= 1, got {}", options_.max_iters);
  GL_CHECK(std::isfinite(options_.tol) && options_.tol >= 0, "CGInfluence: tol must be finite and >= 0, got {}",
           options_.tol);
}

void CGInfluence::fit(const Problem& problem) {
  check_problem(problem, "CGInfluence::fit");
  Generator gen(options_.seed);
  rows_ = subsample_rows(problem.n_train, options_.subsample, gen);
  problem_ = problem;
  fitted_ = true;
}

Tensor CGInfluence::score(const QueryLoss& query, const std::vector<int64_t>& train_examples) {
  GL_CHECK(fitted_, "CGInfluence::score: called before fit()");
  check_rows(problem_, train_examples, "CGInfluence::score");
  const Tensor g_q = query_gradient(query, problem_.params, "CGInfluence::score");
  const HvpOperator H = [&](const std::vector<Tensor>& v) { return training_hvp(problem_, rows_, v); };
  const std::vector<Tensor> x = conjugate_gradient(H, unflatten(g_q, problem_.params), options_.damping,
                                                   options_.max_iters, options_.tol, &report_);
  return example_gradient_dots(problem_, train_examples, flatten(x)).to(Device::cpu);
}

// ---- LiSSA ----

LiSSAInfluence::LiSSAInfluence(LiSSAOptions options) : options_(options) {
  check_damping(options_.damping, "LiSSAInfluence");
  GL_CHECK(std::isfinite(options_.scale) && options_.scale >= 0,
           "LiSSAInfluence: scale must be finite and >= 0 (0 estimates it), got {}", options_.scale);
  GL_CHECK(options_.depth >= 1, "LiSSAInfluence: depth must be >= 1, got {}", options_.depth);
  GL_CHECK(options_.repeats >= 1, "LiSSAInfluence: repeats must be >= 1, got {}", options_.repeats);
  GL_CHECK(options_.batch_size >= 0, "LiSSAInfluence: batch_size must be >= 0 (0: all rows), got {}",
           options_.batch_size);
  GL_CHECK(options_.power_iterations >= 1, "LiSSAInfluence: power_iterations must be >= 1, got {}",
           options_.power_iterations);
}

void LiSSAInfluence::fit(const Problem& problem) {
  check_problem(problem, "LiSSAInfluence::fit");
  fitted_ = false;
  scale_ = options_.scale;
  if (scale_ == 0) {
    const std::vector<int64_t> rows = all_rows(problem.n_train);
    Generator gen = Generator(options_.seed).fork(0);
    // Drawn on the host (the same numbers for every device), then moved.
    Tensor v = randn({parameter_count(problem.params)}, gen, DType::f64).to(problem_device(problem));
    v = div(v, norm(v));
    // |H v| stays on the device, read once after the last iteration with the
    // sum of every iteration's (non-finite if any was). A zero product keeps
    // v, so every later one is zero too, as stopping there would leave it.
    Tensor top = zeros({}, DType::f64, v.device()), all_tops = top;
    for (int it = 0; it < options_.power_iterations; ++it) {
      const Tensor hv = training_hvp_flat(problem, rows, v);
      top = norm(hv);
      all_tops = add(all_tops, top);
      v = where(ne(top, 0.0), div(hv, top), v);
    }
    const std::vector<double> read = concat({top.reshape({1}), all_tops.reshape({1})}).to_vector<double>();
    GL_CHECK(std::isfinite(read[1]), "LiSSAInfluence::fit: the Hessian-vector product is not finite");
    scale_ = 1.5 * (read[0] + options_.damping);
    GL_CHECK(scale_ > 0, "LiSSAInfluence::fit: H + damping I looks zero; give a positive scale or damping");
  }
  problem_ = problem;
  fitted_ = true;
}

Tensor LiSSAInfluence::score(const QueryLoss& query, const std::vector<int64_t>& train_examples) {
  GL_CHECK(fitted_, "LiSSAInfluence::score: called before fit()");
  check_rows(problem_, train_examples, "LiSSAInfluence::score");
  const Tensor g_q = query_gradient(query, problem_.params, "LiSSAInfluence::score");
  Generator minibatches(options_.seed);
  const std::vector<int64_t> everything = all_rows(problem_.n_train);
  const HvpOperator H = [&](const std::vector<Tensor>& v) {
    if (options_.batch_size == 0 || options_.batch_size >= problem_.n_train)
      return training_hvp(problem_, everything, v);
    return training_hvp(problem_, subsample_rows(problem_.n_train, options_.batch_size, minibatches), v);
  };
  const std::vector<Tensor> x = lissa(H, unflatten(g_q, problem_.params), options_.damping, scale_, options_.depth,
                                      options_.repeats);
  return example_gradient_dots(problem_, train_examples, flatten(x)).to(Device::cpu);
}

}  // namespace gradlab::influence
