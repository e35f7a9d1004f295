// Linear: y = x W^T + b with weight [out, in] and bias [out] (the PyTorch
// layout, so checkpoints interchange), as one fused autograd node. Calls its
// forward hooks with (input, output), which K-FAC-style influence methods use.
#pragma once

#include "nn/init.h"
#include "nn/module.h"

namespace gradlab::nn {

struct LinearOptions {
  bool bias = true;
  DType dtype = DType::f32;
};

class Linear : public Module {
 public:
  // Weight and bias start uniform in +-1/sqrt(in).
  Linear(int64_t in, int64_t out, Generator& gen, LinearOptions options = {});
  Var forward(const Var& x) const;
  Var operator()(const Var& x) const { return forward(x); }

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  Var weight;  // [out, in]
  Var bias;    // [out], undefined without bias
};

}  // namespace gradlab::nn
