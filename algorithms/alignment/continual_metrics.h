// The continual-learning scores of a task sequence (COPR's evaluation,
// docs/papers/copr.md). a[k][j] is the score on task j after training stage k
// (k, j = 0 .. T-1; only j <= k is needed for AIA, FM and BWT):
//   AA  = (1/T) sum_j a[T-1][j]                                  average accuracy at the end
//   AIA = (1/T) sum_k (1/(k+1)) sum_{j<=k} a[k][j]              average incremental accuracy
//   FM  = (1/(T-1)) sum_{j<T-1} max_{j<=l<T-1} (a[l][j] - a[T-1][j])   forgetting measure
//   BWT = (1/(T-1)) sum_{j<T-1} (a[T-1][j] - a[j][j])            backward transfer (negative: forgetting)
#pragma once

#include <vector>

namespace gradlab::alignment {

// Rows are stages, columns tasks: T x T, T >= 1.
using ScoreMatrix = std::vector<std::vector<double>>;

double average_accuracy(const ScoreMatrix& a);
double average_incremental_accuracy(const ScoreMatrix& a);
// FM and BWT need T >= 2.
double forgetting_measure(const ScoreMatrix& a);
double backward_transfer(const ScoreMatrix& a);

}  // namespace gradlab::alignment
