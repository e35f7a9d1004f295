// The pieces of a small GPT: causal self-attention with a fused qkv Linear
// (and a key/value cache for generation), and the pre-LN transformer Block:
// x + attn(ln1(x)), then x + mlp(ln2(x)) with a 4x MLP and exact GELU (or,
// as an option, its tanh approximation).
#pragma once

#include <functional>

#include "nn/layers.h"

namespace gradlab::nn {

// How a block applies one of its Linear layers to x: empty, the layer's own
// forward; a caller may route the layers elsewhere (e.g. through an ensemble's
// LoRA adapters, alignment/reward_ensemble.cpp) and keep the block's arithmetic.
using LinearApply = std::function<Var(const std::shared_ptr<Linear>& layer, const Var& x)>;

// Keys and values of the tokens seen so far, per layer, for incremental
// decoding (no gradients): k[l], v[l] are [B, H, capacity, D/H] buffers whose
// first `length` positions hold the tokens seen. New tokens are written in
// place; a full buffer is replaced by one twice as long, so a step copies only
// its own keys and values.
struct KVCache {
  std::vector<Tensor> k, v;
  int64_t length = 0;
};

class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(int64_t d_model, int64_t heads, Generator& gen, double dropout = 0.0, uint64_t seed = 0,
                      DType dtype = DType::f32);
  // x [B, T, C] -> [B, T, C], each position attending to itself and earlier ones.
  Var forward(const Var& x, const LinearApply& apply = {}) const;
  // The same for new tokens x [B, Tn, C] (no gradients), extending the cache
  // buffers (KVCache), whose first `cached` positions are filled: new token i
  // attends to every cached token and to new tokens j <= i.
  Tensor forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache, int64_t cached) const;

  std::shared_ptr<Linear> qkv;   // C -> 3C: queries, keys, values
  std::shared_ptr<Linear> proj;  // C -> C

 private:
  int64_t heads_;
  std::shared_ptr<Dropout> resid_dropout_;
};

class Block : public Module {
 public:
  // gelu_tanh: the MLP uses GELU's tanh approximation instead of the exact erf.
  // seed: the dropout streams, derive_seed(seed, 0) for attention's and
  // derive_seed(seed, 1) for the MLP's.
  Block(int64_t d_model, int64_t heads, Generator& gen, double dropout = 0.0, uint64_t seed = 0,
        DType dtype = DType::f32, bool gelu_tanh = false);
  Var forward(const Var& x, const LinearApply& apply = {}) const;
  Tensor forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache, int64_t cached) const;

  std::shared_ptr<LayerNorm> ln1, ln2;
  std::shared_ptr<CausalSelfAttention> attn;
  std::shared_ptr<Linear> fc, fc_out;  // C -> 4C -> C

 private:
  std::shared_ptr<Dropout> mlp_dropout_;
  bool gelu_tanh_ = false;
};

}  // namespace gradlab::nn
