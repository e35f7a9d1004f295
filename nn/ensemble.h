// Ensembles evaluated as one batched computation: EnsembleLinear holds K
// independent Linear layers as weight [K, out, in] and bias [K, out], and
// EnsembleMLP stacks them with an activation in between. One call runs every
// member (a batched matmul, no loop over members): the dynamics ensembles of
// MOPO/ORPO and the forward models of Disagreement.
#pragma once

#include <vector>

#include "nn/layers.h"

namespace gradlab::nn {

// y[k] = x[k] W[k]^T + b[k] for weight [K, out, in] and bias [K, out] (or
// undefined). x is [K, N, in] (member k's own inputs) or [N, in] (shared by
// every member); y is [K, N, out]. Differentiable in x, weight and bias.
Var ensemble_linear(const Var& x, const Var& weight, const Var& bias);

class EnsembleLinear : public Module {
 public:
  // Each member starts like a Linear: weight and bias uniform in +-1/sqrt(in).
  EnsembleLinear(int64_t K, int64_t in, int64_t out, Generator& gen, LinearOptions options = {});
  // x [K, N, in] or [N, in] -> [K, N, out]; calls the forward hooks with (x, y).
  Var forward(const Var& x) const;
  // activate(forward(x), a), the bias added in the activation's pass
  // (add_bias_activate) unless there is no bias or a forward hook must see y.
  Var forward_activated(const Var& x, Activation a) const;
  Var operator()(const Var& x) const { return forward(x); }

  int64_t members() const { return weight.size(0); }
  int64_t in_features() const { return weight.size(2); }
  int64_t out_features() const { return weight.size(1); }

  Var weight;  // [K, out, in]
  Var bias;    // [K, out], undefined without bias
};

struct EnsembleMLPOptions {
  Activation activation = Activation::relu;  // between layers
  Activation output = Activation::none;      // after the last layer
  DType dtype = DType::f32;
};

// K MLPs of sizes {in, hidden..., out}, each layer an EnsembleLinear:
// x [K, N, in] or [N, in] -> [K, N, out].
class EnsembleMLP : public Module {
 public:
  EnsembleMLP(int64_t K, const std::vector<int64_t>& sizes, Generator& gen, EnsembleMLPOptions options = {});
  Var forward(const Var& x) const;
  Var operator()(const Var& x) const { return forward(x); }

  int64_t members() const { return layers_.front()->members(); }
  // The layers in order (per-layer weight decay reads them).
  const std::vector<std::shared_ptr<EnsembleLinear>>& layers() const { return layers_; }

 private:
  std::vector<std::shared_ptr<EnsembleLinear>> layers_;
  EnsembleMLPOptions options_;
};

}  // namespace gradlab::nn
