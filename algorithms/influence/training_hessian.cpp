// Hessian-vector products of the mean training loss over a row set, chunked
// by problem.batch_size so that one graph never holds more than a batch:
//   H_R v = sum_chunks (|c| / |R|) H_c v,  H_c the Hessian of mean_{m in c} l_m.
// Plus row sets, the query gradient g_q and the dot products g_m . x, all on
// the problem's device.
#include "algorithms/influence/training_hessian.h"

#include <algorithm>

#include "autograd/hvp.h"
#include "autograd/ops.h"

namespace gradlab::influence {

std::vector<Tensor> training_hvp(const Problem& problem, const std::vector<int64_t>& rows,
                                 const std::vector<Tensor>& v) {
  GL_CHECK(!rows.empty(), "training_hvp: no rows given");
  std::vector<Tensor> total;
  const int64_t n = int64_t(rows.size());
  for (int64_t start = 0; start < n; start += problem.batch_size) {
    const int64_t end = std::min(n, start + problem.batch_size);
    const std::vector<int64_t> chunk(rows.begin() + start, rows.begin() + end);
    const std::vector<Tensor> hv =
        hvp([&] { return mean(problem.example_losses(chunk)); }, problem.params, v);
    const double weight = double(end - start) / double(n);
    if (total.empty()) {
      for (const Tensor& t : hv) total.push_back(mul(t, weight));
    } else {
      for (size_t i = 0; i < hv.size(); ++i) total[i] = add(total[i], mul(hv[i], weight));
    }
  }
  return total;
}

Tensor training_hvp_flat(const Problem& problem, const std::vector<int64_t>& rows, const Tensor& v) {
  return flatten(training_hvp(problem, rows, unflatten(v, problem.params)));
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> rows(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = i;
  return rows;
}

std::vector<int64_t> subsample_rows(int64_t n, int64_t count, Generator& gen) {
  if (count <= 0 || count >= n) return all_rows(n);
  std::vector<int64_t> rows = randperm(n, gen).slice(0, 0, count).to_vector<int64_t>();
  std::sort(rows.begin(), rows.end());
  return rows;
}

Tensor query_gradient(const QueryLoss& query, const std::vector<Var>& params, const std::string& op) {
  GL_CHECK(bool(query), "{}: the query is an empty function", op);
  EnableGradGuard recording;
  const Var loss = query();
  GL_CHECK(loss.defined() && loss.numel() == 1, "{}: the query returned shape {}; it must return one element (a loss)",
           op, loss.defined() ? loss.shape() : Shape{});
  return flat_gradient(loss, params);
}

Tensor example_gradient_dots(const Problem& problem, const std::vector<int64_t>& rows, const Tensor& x) {
  if (rows.empty()) return zeros({0}, DType::f64, problem_device(problem));
  const Tensor G = example_gradients(problem, rows);  // [k, P] on the problem's device
  return matmul(G, x.to(DType::f64).reshape({-1, 1})).reshape({-1}).contiguous();
}

}  // namespace gradlab::influence
