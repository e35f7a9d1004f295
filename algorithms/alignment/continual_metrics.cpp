// AA, AIA, FM and BWT of a score matrix (equations in continual_metrics.h).
#include "algorithms/alignment/continual_metrics.h"

#include <algorithm>

#include "tensor/error.h"

namespace gradlab::alignment {

namespace {
size_t check_square(const ScoreMatrix& a, size_t min_tasks, const char* where) {
  GL_CHECK(a.size() >= min_tasks, "{}: need at least {} stages, got {}", where, min_tasks, a.size());
  for (size_t k = 0; k < a.size(); ++k)
    GL_CHECK(a[k].size() == a.size(), "{}: a score matrix is T x T; row {} has {} scores, T = {}", where, k,
             a[k].size(), a.size());
  return a.size();
}
}  // namespace

double average_accuracy(const ScoreMatrix& a) {
  const size_t T = check_square(a, 1, "average_accuracy");
  double s = 0;
  for (size_t j = 0; j < T; ++j) s += a[T - 1][j];
  return s / double(T);  // AA = (1/T) sum_j a[T-1][j]
}

double average_incremental_accuracy(const ScoreMatrix& a) {
  const size_t T = check_square(a, 1, "average_incremental_accuracy");
  double total = 0;
  for (size_t k = 0; k < T; ++k) {
    double s = 0;
    for (size_t j = 0; j <= k; ++j) s += a[k][j];
    total += s / double(k + 1);  // the average over the tasks seen after stage k
  }
  return total / double(T);
}

double forgetting_measure(const ScoreMatrix& a) {
  const size_t T = check_square(a, 2, "forgetting_measure");
  double s = 0;
  for (size_t j = 0; j + 1 < T; ++j) {
    double best = a[j][j];
    for (size_t l = j; l + 1 < T; ++l) best = std::max(best, a[l][j]);
    s += best - a[T - 1][j];  // max_{j<=l<T-1} a[l][j] - a[T-1][j]
  }
  return s / double(T - 1);
}

double backward_transfer(const ScoreMatrix& a) {
  const size_t T = check_square(a, 2, "backward_transfer");
  double s = 0;
  for (size_t j = 0; j + 1 < T; ++j) s += a[T - 1][j] - a[j][j];
  return s / double(T - 1);
}

}  // namespace gradlab::alignment
