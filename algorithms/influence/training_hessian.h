// The curvature most estimators invert: the Hessian of the mean training loss
// over a set of rows R,
//
//   H_R = (1/|R|) sum_{m in R} d^2 l_m / d theta^2,
//
// applied to a direction as a Hessian-vector product (autograd/hvp.h), in
// chunks of problem.batch_size rows: H_R v = sum_chunks (|c| / |R|) H_c v.
// Also the row sets the estimators draw (all rows, a fixed random subsample)
// and the two sides of every score: the query gradient g_q and the dot
// products g_m . x with the training examples' gradients.
#pragma once

#include "algorithms/influence/influence.h"

namespace gradlab::influence {

// H_R v for v one tensor per parameter (of its shape and dtype).
std::vector<Tensor> training_hvp(const Problem& problem, const std::vector<int64_t>& rows,
                                 const std::vector<Tensor>& v);
// H_R v with v and the result flat [P] f64.
Tensor training_hvp_flat(const Problem& problem, const std::vector<int64_t>& rows, const Tensor& v);

// 0 .. n - 1.
std::vector<int64_t> all_rows(int64_t n);
// `count` distinct rows of 0 .. n - 1 drawn with gen, ascending; all rows when
// count <= 0 or count >= n.
std::vector<int64_t> subsample_rows(int64_t n, int64_t count, Generator& gen);

// g_q: the gradient of the query's loss, flat [P] f64 (recorded even inside a NoGradGuard).
Tensor query_gradient(const QueryLoss& query, const std::vector<Var>& params, const std::string& op);
// [k] f64 on the problem's device: g_m . x for each m in rows (x flat [P] on
// that device), one backward pass per row.
Tensor example_gradient_dots(const Problem& problem, const std::vector<int64_t>& rows, const Tensor& x);

}  // namespace gradlab::influence
