// The small layers: Embedding (rows of a [V, C] table), LayerNorm over the
// last axis, Dropout with its own Philox generator, and MLP (a stack of
// Linear layers with an activation between them).
#pragma once

#include <vector>

#include "nn/linear.h"

namespace gradlab::nn {

class Embedding : public Module {
 public:
  // Entries start N(0, std^2).
  Embedding(int64_t num, int64_t dim, Generator& gen, double std = 1.0, DType dtype = DType::f32);
  Var forward(const Tensor& indices) const { return embedding(indices, weight); }
  Var operator()(const Tensor& indices) const { return forward(indices); }
  Var weight;  // [num, dim]
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, DType dtype = DType::f32);
  Var forward(const Var& x) const { return layer_norm(x, weight, bias, eps_); }
  Var operator()(const Var& x) const { return forward(x); }
  // A residual add and this norm in one pass: {x + r, forward(x + r)}.
  std::pair<Var, Var> forward_residual(const Var& x, const Var& r) const {
    return add_layer_norm(x, r, weight, bias, eps_);
  }
  Var weight;  // [dim], ones
  Var bias;    // [dim], zeros

 private:
  double eps_;
};

// Zeroes elements with probability p while training (scaling the rest by
// 1/(1-p)); the identity in eval mode. Its mask stream is its own Generator.
class Dropout : public Module {
 public:
  explicit Dropout(double p, uint64_t seed = 0);
  Var forward(const Var& x) const;
  Var operator()(const Var& x) const { return forward(x); }
  double p() const { return p_; }

 private:
  double p_;
  mutable Generator gen_;
};

enum class Activation { none, relu, tanh, gelu, silu, sigmoid };
Var activate(const Var& x, Activation a);
// activate(x + bias) as one fused pass (bias_activation), bias broadcast
// against x; the same bits as activate(x + bias).
Var add_bias_activate(const Var& x, const Var& bias, Activation a);
Activation activation_from_name(const std::string& name);  // "relu", "tanh", ... ; throws on others

struct MLPOptions {
  Activation activation = Activation::relu;  // between layers
  Activation output = Activation::none;      // after the last layer
  // "default" (uniform +-1/sqrt(in)), "orthogonal" (gain below, output layer
  // gain output_gain; biases zero), "xavier", "kaiming"
  std::string init = "default";
  double gain = 1.4142135623730951;
  double output_gain = 1.0;
  DType dtype = DType::f32;
};

// Linear layers of sizes {in, hidden..., out}.
class MLP : public Module {
 public:
  MLP(const std::vector<int64_t>& sizes, Generator& gen, MLPOptions options = {});
  Var forward(const Var& x) const;
  Var operator()(const Var& x) const { return forward(x); }
  const std::vector<std::shared_ptr<Linear>>& layers() const { return layers_; }

 private:
  std::vector<std::shared_ptr<Linear>> layers_;
  MLPOptions options_;
};

}  // namespace gradlab::nn
