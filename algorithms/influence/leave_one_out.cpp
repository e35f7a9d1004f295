// leave_one_out: restore theta_0, retrain on all rows but m, read L_q; the
// same on all rows for the baseline; score(m) = L_q(theta_{-m}) - L_q(theta_all).
#include "algorithms/influence/leave_one_out.h"

#include <cmath>

#include "autograd/ops.h"

namespace gradlab::influence {

namespace {

double query_value(const QueryLoss& query) {
  NoGradGuard no_grad;
  const Var loss = query();
  GL_CHECK(loss.defined() && loss.numel() == 1, "leave_one_out: the query returned shape {}; want one element",
           loss.defined() ? loss.shape() : Shape{});
  const double value = loss.item();
  GL_CHECK(std::isfinite(value), "leave_one_out: the query loss is {} after retraining", value);
  return value;
}

}  // namespace

Tensor leave_one_out(const Problem& problem, const Retrain& retrain, const QueryLoss& query,
                     const std::vector<int64_t>& rows, const Progress& progress) {
  check_problem(problem, "leave_one_out");
  check_rows(problem, rows, "leave_one_out");
  GL_CHECK(bool(retrain), "leave_one_out: retrain is an empty function");
  GL_CHECK(bool(query), "leave_one_out: the query is an empty function");
  const std::vector<Tensor> start = snapshot(problem.params);
  const int64_t total = int64_t(rows.size()) + 1;
  std::vector<double> scores(rows.size());
  try {
    std::vector<int64_t> keep(size_t(problem.n_train));
    for (int64_t i = 0; i < problem.n_train; ++i) keep[size_t(i)] = i;
    retrain(keep);
    const double baseline = query_value(query);
    if (progress) progress(1, total);
    for (size_t k = 0; k < rows.size(); ++k) {
      restore(problem.params, start);
      std::vector<int64_t> without;
      without.reserve(keep.size() - 1);
      for (int64_t i : keep)
        if (i != rows[k]) without.push_back(i);
      retrain(without);
      scores[k] = query_value(query) - baseline;
      if (progress) progress(int64_t(k) + 2, total);
    }
  } catch (...) {
    restore(problem.params, start);
    throw;
  }
  restore(problem.params, start);
  return from_vector(scores);
}

}  // namespace gradlab::influence
