// DataInfInfluence: the training gradients g_i [n, P] once at fit(), split
// into blocks G_l [n, P_l]; per query, block by block,
//   c_i = (g_{i,l} . v_l) / (lambda_l + |g_{i,l}|^2),   x_l = (v_l - G_l^T c / n) / lambda_l,
// then score(m) = g_m . x. All of it on the problem's device; the host reads
// lambda_l once per block at fit() and the k scores once per query.
#include "algorithms/influence/datainf.h"

#include <cmath>
#include <unordered_map>

#include "algorithms/influence/training_hessian.h"
#include "autograd/ops.h"

namespace gradlab::influence {

namespace {

// The blocks as lists of parameter indices, in parameter order of their first member.
std::vector<std::vector<size_t>> make_blocks(const Problem& problem, DataInfBlocks kind) {
  const size_t count = problem.params.size();
  std::vector<std::vector<size_t>> blocks;
  if (kind == DataInfBlocks::whole) {
    blocks.emplace_back();
    for (size_t i = 0; i < count; ++i) blocks.back().push_back(i);
    return blocks;
  }
  std::vector<int64_t> group(count, -1);  // per parameter: its Linear layer, or -1
  if (kind == DataInfBlocks::per_linear) {
    GL_CHECK(!problem.linear_layers.empty(),
             "DataInfInfluence::fit: blocks = per_linear needs problem.linear_layers, and it is empty");
    std::unordered_map<const VarImpl*, size_t> index;
    for (size_t i = 0; i < count; ++i) index[problem.params[i].impl().get()] = i;
    for (size_t l = 0; l < problem.linear_layers.size(); ++l) {
      for (const Var& p : {problem.linear_layers[l]->weight, problem.linear_layers[l]->bias}) {
        if (!p.defined()) continue;
        const auto it = index.find(p.impl().get());
        if (it != index.end()) group[it->second] = int64_t(l);
      }
    }
  }
  std::unordered_map<int64_t, size_t> block_of_group;
  for (size_t i = 0; i < count; ++i) {
    if (group[i] >= 0) {
      const auto [it, fresh] = block_of_group.emplace(group[i], blocks.size());
      if (fresh) blocks.emplace_back();
      blocks[it->second].push_back(i);
    } else {
      blocks.push_back({i});
    }
  }
  return blocks;
}

}  // namespace

DataInfInfluence::DataInfInfluence(DataInfOptions options) : options_(options) {
  GL_CHECK(std::isfinite(options_.damping_scale) && options_.damping_scale > 0,
           "DataInfInfluence: damping_scale must be finite and > 0, got {}", options_.damping_scale);
  GL_CHECK(options_.subsample >= 0, "DataInfInfluence: subsample must be >= 0 (0: all rows), got {}",
           options_.subsample);
}

void DataInfInfluence::fit(const Problem& problem) {
  check_problem(problem, "DataInfInfluence::fit");
  fitted_ = false;
  Generator gen(options_.seed);
  const Tensor G = example_gradients(problem, subsample_rows(problem.n_train, options_.subsample, gen));
  std::vector<int64_t> offsets(problem.params.size() + 1, 0);
  for (size_t i = 0; i < problem.params.size(); ++i) offsets[i + 1] = offsets[i] + problem.params[i].numel();

  blocks_ = make_blocks(problem, options_.blocks);
  block_columns_.clear(), block_gradients_.clear(), sq_norms_.clear(), lambdas_.clear();
  for (const std::vector<size_t>& block : blocks_) {
    std::vector<int64_t> columns;
    for (size_t i : block)
      for (int64_t c = offsets[i]; c < offsets[i + 1]; ++c) columns.push_back(c);
    const Tensor cols = from_vector(columns).to(problem_device(problem));
    const Tensor G_l = index_select(G, 1, cols).contiguous();
    const Tensor sq = sum(G_l * G_l, {1});
    const double lambda = options_.damping_scale * mean(sq).item();
    GL_CHECK(std::isfinite(lambda), "DataInfInfluence::fit: the training gradients of block {} are not finite",
             block_columns_.size());
    block_columns_.push_back(cols);
    block_gradients_.push_back(G_l);
    sq_norms_.push_back(sq);
    lambdas_.push_back(lambda);
  }
  problem_ = problem;
  fitted_ = true;
}

Tensor DataInfInfluence::apply_inverse(const Tensor& v) const {
  GL_CHECK(fitted_, "DataInfInfluence::apply_inverse: called before fit()");
  const int64_t P = parameter_count(problem_.params);
  GL_CHECK(v.defined() && v.dim() == 1 && v.numel() == P, "DataInfInfluence::apply_inverse: v has shape {}; want [{}]",
           v.defined() ? v.shape() : Shape{}, P);
  const Tensor v64 = v.to(problem_device(problem_)).to(DType::f64);
  Tensor out = zeros({P}, DType::f64, v64.device());
  for (size_t l = 0; l < blocks_.size(); ++l) {
    const double lambda = lambdas_[l];
    if (lambda == 0) continue;  // no training gradient reaches this block: it cannot carry influence
    const Tensor& G_l = block_gradients_[l];
    const int64_t n = G_l.size(0);
    const Tensor v_l = index_select(v64, 0, block_columns_[l]);
    const Tensor c = matmul(G_l, v_l.reshape({-1, 1})).reshape({-1}) / (sq_norms_[l] + lambda);
    const Tensor x_l = (v_l - matmul(G_l.mT(), c.reshape({-1, 1})).reshape({-1}) / double(n)) / lambda;
    out = scatter_add(out, 0, block_columns_[l], x_l);  // blocks are disjoint: a put
  }
  return out;
}

Tensor DataInfInfluence::score(const QueryLoss& query, const std::vector<int64_t>& train_examples) {
  GL_CHECK(fitted_, "DataInfInfluence::score: called before fit()");
  check_rows(problem_, train_examples, "DataInfInfluence::score");
  const Tensor x = apply_inverse(query_gradient(query, problem_.params, "DataInfInfluence::score"));
  return example_gradient_dots(problem_, train_examples, x).to(Device::cpu);
}

}  // namespace gradlab::influence
