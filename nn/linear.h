// Linear: y = x W^T + b with weight [out, in] and bias [out] (the PyTorch
// layout, so checkpoints interchange), as one fused autograd node. Calls its
// forward hooks with (input, output), which K-FAC-style influence methods use.
// With a compute dtype of bf16 (mixed precision) the product runs on bf16
// copies of x, W and b and its result is widened back: see linear_in.
#pragma once

#include <optional>

#include "nn/init.h"
#include "nn/module.h"

namespace gradlab::nn {

struct LinearOptions {
  bool bias = true;
  DType dtype = DType::f32;  // of the parameters
};

// y = x W^T + b computed in `compute` (bf16 for mixed precision): x, W and b
// are converted to it, the product runs there (bf16: exact products summed in
// f32, rounded once to bf16) and y is converted back to x's dtype. The
// conversions are autograd ops, so W's and b's gradients arrive in their own
// dtype (f32 master weights get f32 gradients). With compute equal to x's
// dtype it is linear(x, W, b) itself.
Var linear_in(DType compute, const Var& x, const Var& weight, const Var& bias);

class Linear : public Module {
 public:
  // Weight and bias start uniform in +-1/sqrt(in).
  Linear(int64_t in, int64_t out, Generator& gen, LinearOptions options = {});
  Var forward(const Var& x) const;
  Var operator()(const Var& x) const { return forward(x); }

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  // Low-rank adaptation in place (LoRA): freezes weight and bias and adds a
  // trainable path, y = x W^T + b + (alpha / r) (x A^T) B^T, with A [r, in]
  // fan-in uniform and B [out, r] zero, so the output is unchanged until B
  // trains. The new parameters are "lora_A" and "lora_B". (nn/lora.h's
  // LoRALinear wraps a Linear instead, with K adapters for ensembles.)
  void add_low_rank_adapter(int64_t rank, double alpha, Generator& gen);
  bool has_low_rank_adapter() const { return lora_A.defined(); }

  Var weight;             // [out, in]
  Var bias;               // [out], undefined without bias
  Var lora_A, lora_B;     // [r, in], [out, r]: undefined without an adapter
  double lora_scale = 0;  // alpha / r
  // The dtype the products run in (linear_in); undefined (the default) means
  // the parameters' own. GPTConfig::matmul_dtype sets it on a GPT's layers.
  std::optional<DType> compute_dtype = std::nullopt;
};

}  // namespace gradlab::nn
