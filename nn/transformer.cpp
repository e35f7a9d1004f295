// Causal self-attention and the pre-LN block.
#include "nn/transformer.h"

#include <algorithm>
#include <cmath>

#include "tensor/fused_layers.h"

namespace gradlab::nn {

namespace {

Var apply_linear(const LinearApply& apply, const std::shared_ptr<Linear>& layer, const Var& x) {
  return apply ? apply(layer, x) : layer->forward(x);
}

}  // namespace

CausalSelfAttention::CausalSelfAttention(int64_t d_model, int64_t heads, Generator& gen, double dropout, uint64_t seed,
                                         DType dtype)
    : heads_(heads) {
  GL_CHECK(heads > 0 && d_model % heads == 0, "CausalSelfAttention: d_model {} is not a multiple of heads {}", d_model,
           heads);
  const LinearOptions o{.bias = true, .dtype = dtype};
  qkv = register_module("qkv", std::make_shared<Linear>(d_model, 3 * d_model, gen, o));
  proj = register_module("proj", std::make_shared<Linear>(d_model, d_model, gen, o));
  resid_dropout_ = register_module("resid_dropout", std::make_shared<Dropout>(dropout, seed));
}

Var CausalSelfAttention::forward(const Var& x, const LinearApply& apply) const {
  GL_CHECK(x.dim() == 3, "CausalSelfAttention: expected x [B, T, C], got {}", x.shape());
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), Dh = C / heads_;
  // [B, T, 3C] -> [3, B, H, T, Dh]: q, k and v are strided views, read in place.
  const Var split = permute(reshape(apply_linear(apply, qkv, x), {B, T, 3, heads_, Dh}), {2, 0, 3, 1, 4});
  const Var y = attention_packed(split, /*causal=*/true);
  const Var merged = reshape(permute(y, {0, 2, 1, 3}), {B, T, C});
  return resid_dropout_->forward(apply_linear(apply, proj, merged));
}

Tensor CausalSelfAttention::forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache, int64_t cached) const {
  NoGradGuard guard;
  const int64_t B = x.size(0), Tn = x.size(1), C = x.size(2), Dh = C / heads_, L = cached;
  GL_CHECK(L >= 0 && (L == 0 || (k_cache.defined() && k_cache.size(2) >= L)),
           "CausalSelfAttention::forward_cached: {} cached positions, but the cache holds {}", L,
           k_cache.defined() ? k_cache.size(2) : 0);
  const Tensor s = qkv->forward(Var(x)).value().view({B, Tn, 3, heads_, Dh}).permute({2, 0, 3, 1, 4});
  const Tensor q = s.select(0, 0);
  if (!k_cache.defined() || k_cache.size(2) < L + Tn) {  // grow: twice the length, in whole 16s
    const int64_t capacity = (std::max(L + Tn, k_cache.defined() ? 2 * k_cache.size(2) : 0) + 15) / 16 * 16;
    Tensor k_grown = Tensor::empty({B, heads_, capacity, Dh}, x.dtype(), x.device());
    Tensor v_grown = Tensor::empty({B, heads_, capacity, Dh}, x.dtype(), x.device());
    if (L > 0) {
      k_grown.narrow(2, 0, L).copy_(k_cache.narrow(2, 0, L));
      v_grown.narrow(2, 0, L).copy_(v_cache.narrow(2, 0, L));
    }
    k_cache = k_grown;
    v_cache = v_grown;
  }
  k_cache.narrow(2, L, Tn).copy_(s.select(0, 1));
  v_cache.narrow(2, L, Tn).copy_(s.select(0, 2));
  const Tensor keys = k_cache.narrow(2, 0, L + Tn), values = v_cache.narrow(2, 0, L + Tn);
  Tensor y;
  if (L == 0) {
    y = attention_forward(q, keys, values, /*causal=*/true).out;
  } else {
    // New token i (at position L + i) sees cached and new keys j <= L + i.
    Tensor scores = mul(matmul(q, keys.mT()), 1.0 / std::sqrt(double(Dh)));  // [B, H, Tn, L + Tn]
    if (Tn > 1) {
      const Tensor j = arange(0, double(L + Tn), 1, DType::i64, x.device()).view({1, L + Tn});
      const Tensor i = arange(double(L), double(L + Tn), 1, DType::i64, x.device()).view({Tn, 1});
      scores = where(gt(j, i), full({}, -INFINITY, scores.dtype(), x.device()), scores);
    }
    y = matmul(softmax(scores, -1), values);
  }
  const Tensor merged = y.permute({0, 2, 1, 3}).reshape({B, Tn, C});
  return proj->forward(Var(merged)).value();
}

Block::Block(int64_t d_model, int64_t heads, Generator& gen, double dropout, uint64_t seed, DType dtype, bool gelu_tanh)
    : gelu_tanh_(gelu_tanh) {
  const LinearOptions o{.bias = true, .dtype = dtype};
  ln1 = register_module("ln1", std::make_shared<LayerNorm>(d_model, 1e-5, dtype));
  attn = register_module(
      "attn", std::make_shared<CausalSelfAttention>(d_model, heads, gen, dropout, derive_seed(seed, 0), dtype));
  ln2 = register_module("ln2", std::make_shared<LayerNorm>(d_model, 1e-5, dtype));
  fc = register_module("fc", std::make_shared<Linear>(d_model, 4 * d_model, gen, o));
  fc_out = register_module("fc_out", std::make_shared<Linear>(4 * d_model, d_model, gen, o));
  mlp_dropout_ = register_module("mlp_dropout", std::make_shared<Dropout>(dropout, derive_seed(seed, 1)));
}

Var Block::forward(const Var& x, const LinearApply& apply) const {
  const auto [h, normed] = ln2->forward_residual(x, attn->forward(ln1->forward(x), apply));  // h = x + attention
  const Var inner = gelu(apply_linear(apply, fc, normed), gelu_tanh_);
  return h + mlp_dropout_->forward(apply_linear(apply, fc_out, inner));
}

Tensor Block::forward_cached(const Tensor& x, Tensor& k_cache, Tensor& v_cache, int64_t cached) const {
  NoGradGuard guard;
  const Tensor a = attn->forward_cached(ln1->forward(Var(x)).value(), k_cache, v_cache, cached);
  const auto [h, normed] = ln2->forward_residual(Var(x), Var(a));
  return add(h.value(), fc_out->forward(gelu(fc->forward(normed), gelu_tanh_)).value());
}

}  // namespace gradlab::nn
