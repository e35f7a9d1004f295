// DataInf (Kwon et al. 2024): per block l of parameters, the damped empirical
// Fisher G_l + lambda_l I, G_l = (1/n) sum_i g_{i,l} g_{i,l}^T over training
// gradients, is inverted in closed form by averaging per-example
// Sherman-Morrison inverses (exact for n = 1, an approximation otherwise):
//
//   (G_l + lambda_l I)^-1 v ~ (1/lambda_l) [v - (1/n) sum_i (g_{i,l} . v) / (lambda_l + |g_{i,l}|^2) g_{i,l}],
//   lambda_l = damping_scale * (1/n) sum_i |g_{i,l}|^2,
//   score(m) = sum_l g_{m,l} . (G_l + lambda_l I)^-1 g_{q,l}.
//
// Cost: fit n backward passes and n P f64 of memory (the training
// gradients); a query O(n P) plus one backward pass per scored example.
#pragma once

#include "algorithms/influence/influence.h"

namespace gradlab::influence {

// How parameters are grouped into DataInf's blocks ("layers").
enum class DataInfBlocks {
  per_tensor,  // each parameter tensor its own block
  per_linear,  // a Linear layer's weight and bias together (problem.linear_layers), other tensors alone
  whole,       // one block of all parameters
};

struct DataInfOptions {
  double damping_scale = 0.1;
  DataInfBlocks blocks = DataInfBlocks::per_tensor;
  int64_t subsample = 0;  // training gradients used for G_l; 0: all n_train
  uint64_t seed = 0;      // draws the subsample
};

class DataInfInfluence : public Estimator {
 public:
  explicit DataInfInfluence(DataInfOptions options = {});
  std::string name() const override { return "datainf"; }
  void fit(const Problem& problem) override;
  Tensor score(const QueryLoss& query, const std::vector<int64_t>& train_examples) override;
  // After fit(): each block's parameter indices (into problem.params), and its lambda_l.
  const std::vector<std::vector<size_t>>& blocks() const { return blocks_; }
  const std::vector<double>& block_damping() const { return lambdas_; }
  // (G + lambda I)^-1 v, block by block, for a flat [P] vector (after fit()),
  // on the problem's device.
  Tensor apply_inverse(const Tensor& v) const;

 private:
  DataInfOptions options_;
  Problem problem_;
  bool fitted_ = false;
  std::vector<std::vector<size_t>> blocks_;
  std::vector<Tensor> block_columns_;    // per block: its positions in the flat vector [P_l] (i64)
  std::vector<Tensor> block_gradients_;  // per block: g_{i,l} [n, P_l] f64
  std::vector<Tensor> sq_norms_;         // per block: |g_{i,l}|^2 [n]
  std::vector<double> lambdas_;
};

}  // namespace gradlab::influence
