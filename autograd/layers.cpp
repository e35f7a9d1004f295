// Differentiable layers: layer_norm (also straight after a residual add),
// attention and bias_activation on the fused kernels of tensor/fused_layers.h
// (each backward is one kernel call on what the forward saved), embedding as a
// row lookup whose gradient adds rows back, and dropout, whose backward
// regenerates the forward's mask from its Philox (seed, offset) instead of
// saving it.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/fused_layers.h"

namespace gradlab {

namespace {
Tensor value_or_undefined(const Var& v) { return v.defined() ? v.value() : Tensor(); }
}  // namespace

GL_OP(kLayerNorm, "layer_norm");
GL_OP(kAddLayerNorm, "add_layer_norm");
GL_OP(kAttention, "attention");
GL_OP(kAttentionPacked, "attention_packed");
GL_OP(kBiasActivation, "bias_activation");
GL_OP(kEmbedding, "embedding");
GL_OP(kDropout, "dropout");

namespace {
// The layer norm y = f.y of x as a node of the graph.
Var record_layer_norm(const LayerNormForward& f, const Var& x, const Var& weight, const Var& bias) {
  return record(
      kLayerNorm, f.y, {x, weight, bias}, {x.value(), value_or_undefined(weight), f.mean, f.rstd},
      [](const GradContext& g) -> std::vector<Tensor> {
        const LayerNormGrads d = layer_norm_backward(g.dout, g.saved[0], g.saved[1], g.saved[2], g.saved[3]);
        return {g.need(0) ? d.dx : Tensor(), g.need(1) ? d.dweight : Tensor(), g.need(2) ? d.dbias : Tensor()};
      });
}
}  // namespace

Var layer_norm(const Var& x, const Var& weight, const Var& bias, double eps) {
  GL_CHECK(x.defined(), "layer_norm: x is undefined");
  return record_layer_norm(layer_norm_forward(x.value(), value_or_undefined(weight), value_or_undefined(bias), eps), x,
                           weight, bias);
}

// Two nodes, as add then layer_norm would make: the sum, whose gradient passes
// to x and r unchanged, and the norm of the sum.
std::pair<Var, Var> add_layer_norm(const Var& x, const Var& r, const Var& weight, const Var& bias, double eps) {
  GL_CHECK(x.defined() && r.defined(), "add_layer_norm: x or r is undefined");
  const AddLayerNormForward f =
      add_layer_norm_forward(x.value(), r.value(), value_or_undefined(weight), value_or_undefined(bias), eps);
  const Var sum = record(kAddLayerNorm, f.sum, {x, r}, {}, [](const GradContext& g) -> std::vector<Tensor> {
    return {g.need(0) ? g.dout : Tensor(), g.need(1) ? g.dout : Tensor()};
  });
  return {sum, record_layer_norm(f.norm, sum, weight, bias)};
}

Var attention(const Var& q, const Var& k, const Var& v, bool causal, const Tensor& key_mask) {
  GL_CHECK(q.defined() && k.defined() && v.defined(), "attention: q, k or v is undefined");
  const AttentionForward f = attention_forward(q.value(), k.value(), v.value(), causal, key_mask);
  // Saves out [B, H, T, D] and lse [B, H, T], never the T x T probabilities.
  return record(kAttention, f.out, {q, k, v}, {q.value(), k.value(), v.value(), f.out, f.lse, key_mask},
                [causal](const GradContext& g) -> std::vector<Tensor> {
                  const std::span<const Tensor> s = g.saved;
                  const AttentionGrads d = attention_backward(g.dout, s[0], s[1], s[2], s[3], s[4], causal, s[5]);
                  return {g.need(0) ? d.dq : Tensor(), g.need(1) ? d.dk : Tensor(), g.need(2) ? d.dv : Tensor()};
                });
}

Var attention_packed(const Var& qkv, bool causal, const Tensor& key_mask) {
  GL_CHECK(qkv.defined(), "attention_packed: qkv is undefined");
  GL_CHECK(qkv.dim() == 5 && qkv.size(0) == 3, "attention_packed: qkv must be [3, B, H, T, D], got shape {}",
           qkv.shape());
  const Tensor& x = qkv.value();
  const AttentionForward f = attention_forward(x.select(0, 0), x.select(0, 1), x.select(0, 2), causal, key_mask);
  return record(kAttentionPacked, f.out, {qkv}, {x, f.out, f.lse, key_mask},
                [causal](const GradContext& g) -> std::vector<Tensor> {
                  const std::span<const Tensor> s = g.saved;
                  return {attention_backward_packed(g.dout, s[0], s[1], s[2], causal, s[3])};
                });
}

Var bias_activation(const Var& x, const Var& bias, UnaryOp op, UnaryParams params) {
  GL_CHECK(x.defined() && bias.defined(), "bias_activation: x or bias is undefined");
  // Keeps z = x + bias and (silu) the sigmoid only when record will make a
  // node; the gradient of x + bias is summed back over the broadcast axes as
  // add's is.
  const bool keep = grad_enabled() && (x.requires_grad() || bias.requires_grad());
  const BiasActivationForward f = bias_activation_forward(op, params, x.value(), bias.value(), keep);
  return record(
      kBiasActivation, f.y, {x, bias}, {f.z, f.y, f.sigmoid},
      [op, params](const GradContext& g) -> std::vector<Tensor> {
        const Tensor dz = bias_activation_backward(op, params, {g.saved[1], g.saved[0], g.saved[2]}, g.dout);
        return {g.need(0) ? sum_to(dz, g.shapes[0]) : Tensor(), g.need(1) ? sum_to(dz, g.shapes[1]) : Tensor()};
      });
}

Var embedding(const Tensor& indices, const Var& weight) {
  GL_CHECK(indices.defined() && weight.defined(), "embedding: indices or weight is undefined");
  GL_CHECK(is_integral(indices.dtype()), "embedding: indices must be i32 or i64, got {}", indices.dtype());
  GL_CHECK(weight.dim() == 2, "embedding: weight must be [V, C], got shape {}", weight.shape());
  const Tensor flat = indices.reshape({indices.numel()});
  Shape shape = indices.shape();
  shape.push_back(weight.size(1));
  const Tensor y = index_select(weight.value(), 0, flat).view(shape);
  // dweight[index[n]] += dy[n], repeated indices accumulating.
  return record(kEmbedding, y, {weight}, {flat}, [](const GradContext& g) -> std::vector<Tensor> {
    const Tensor& index = g.saved[0];
    Tensor dweight = zeros(g.shapes[0], g.dout.dtype(), g.dout.device());
    index_add_(dweight, 0, index, g.dout.reshape({index.numel(), g.shapes[0][1]}).contiguous());
    return {dweight};
  });
}

Var dropout(const Var& x, double p, Generator& gen, bool training) {
  GL_CHECK(x.defined(), "dropout: x is undefined");
  GL_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got {}", p);
  GL_CHECK(is_floating(x.dtype()), "dropout: x must be f32 or f64, got {}", x.dtype());
  if (!training || p == 0) return x;
  // The mask's blocks are reserved here, as for any random tensor, so the
  // next draw from gen never reuses them; backward replays (seed, offset).
  const uint64_t seed = gen.seed(), offset = gen.reserve(dropout_blocks(x.numel(), x.dtype()));
  return record(
      kDropout, dropout(x.value(), p, seed, offset), {x}, {},
      [p, seed, offset](const GradContext& g) -> std::vector<Tensor> { return {dropout(g.dout, p, seed, offset)}; });
}

// ---- gradient checks (f64, central differences) ----

namespace {
// A b8 key mask from 0/1 values.
Tensor mask_of(std::vector<int64_t> bits, const Shape& shape) { return ne(from_vector(bits, shape), 0.0); }
Tensor index_tensor(std::vector<int64_t> v, const Shape& shape) { return from_vector(v, shape); }
}  // namespace

GL_GRADCHECK(kLayerNorm, "weight and bias", {{{3, 5}}, {{5}}, {{5}}},
             [](const Vars& x) { return layer_norm(x[0], x[1], x[2]); });
GL_GRADCHECK(kLayerNorm, "no weight, no bias, 3-D", {{{2, 3, 4}}},
             [](const Vars& x) { return layer_norm(x[0], Var(), Var()); });
GL_GRADCHECK(kLayerNorm, "weight only, eps 0.1", {{{4, 3}}, {{3}}},
             [](const Vars& x) { return layer_norm(x[0], x[1], Var(), 0.1); });
GL_GRADCHECK(kLayerNorm, "bias only, strided x", {{{2, 6}}, {{2}}},
             [](const Vars& x) { return layer_norm(transpose(x[0], 0, 1), Var(), x[1]); });

// Both outputs reach the loss: the sum's gradient is its own plus the norm's.
GL_GRADCHECK(kAddLayerNorm, "the sum and its norm", {{{3, 5}}, {{3, 5}}, {{5}}, {{5}}}, [](const Vars& x) {
  const auto [sum, norm] = add_layer_norm(x[0], x[1], x[2], x[3]);
  return sum * 0.5 + norm;
});
GL_GRADCHECK(kAddLayerNorm, "no weight, no bias, 3-D", {{{2, 3, 4}}, {{2, 3, 4}}},
             [](const Vars& x) { return add_layer_norm(x[0], x[1], Var(), Var()).second; });

GL_GRADCHECK(kAttention, "causal", {{{1, 2, 4, 3}}, {{1, 2, 4, 3}}, {{1, 2, 4, 3}}},
             [](const Vars& x) { return attention(x[0], x[1], x[2], true); });
GL_GRADCHECK(kAttention, "non-causal", {{{2, 2, 3, 2}}, {{2, 2, 3, 2}}, {{2, 2, 3, 2}}},
             [](const Vars& x) { return attention(x[0], x[1], x[2], false); });
// Batch 0 hides key 0, so its first query (causal) sees nothing.
GL_GRADCHECK(kAttention, "causal, key mask, a fully masked query", {{{2, 2, 4, 2}}, {{2, 2, 4, 2}}, {{2, 2, 4, 2}}},
             [](const Vars& x) {
               return attention(x[0], x[1], x[2], true, mask_of({0, 1, 1, 0, 1, 1, 0, 1}, {2, 4}));
             });
// Batch 1 hides every key.
GL_GRADCHECK(kAttention, "non-causal, key mask, a fully masked batch entry",
             {{{2, 2, 3, 4}}, {{2, 2, 3, 4}}, {{2, 2, 3, 4}}}, [](const Vars& x) {
               return attention(x[0], x[1], x[2], false, mask_of({1, 0, 1, 0, 0, 0}, {2, 3}));
             });
// q, k, v as [B, H, T, D] views of [B, T, H, D] tensors, as a fused qkv projection makes them.
GL_GRADCHECK(kAttention, "strided q, k, v", {{{1, 5, 2, 2}}, {{1, 5, 2, 2}}, {{1, 5, 2, 2}}}, [](const Vars& x) {
  return attention(permute(x[0], {0, 2, 1, 3}), permute(x[1], {0, 2, 1, 3}), permute(x[2], {0, 2, 1, 3}), true);
});

// q, k, v as the three slices of a [B, T, 3, H, D] projection permuted to [3, B, H, T, D].
GL_GRADCHECK(kAttentionPacked, "causal, strided", {{{1, 4, 3, 2, 3}}},
             [](const Vars& x) { return attention_packed(permute(x[0], {2, 0, 3, 1, 4}), true); });
GL_GRADCHECK(kAttentionPacked, "non-causal, key mask, a fully masked batch entry", {{{3, 2, 2, 3, 2}}},
             [](const Vars& x) { return attention_packed(x[0], false, mask_of({1, 0, 1, 0, 0, 0}, {2, 3})); });

GL_GRADCHECK(kBiasActivation, "silu, a bias per column", {{{4, 5}, -3, 3}, {{5}, -3, 3}},
             [](const Vars& x) { return bias_activation(x[0], x[1], UnaryOp::silu); });
GL_GRADCHECK(kBiasActivation, "silu, an ensemble's [K, 1, out] bias, strided x",
             {{{2, 4, 3}, -3, 3}, {{2, 1, 4}, -3, 3}},
             [](const Vars& x) { return bias_activation(transpose(x[0], 1, 2), x[1], UnaryOp::silu); });
GL_GRADCHECK(kBiasActivation, "relu", {{{3, 4}, 0.2, 2}, {{4}, 0.2, 1}},
             [](const Vars& x) { return bias_activation(x[0], x[1], UnaryOp::relu); });
GL_GRADCHECK(kBiasActivation, "tanh", {{{3, 4}, -2, 2}, {{4}, -1, 1}},
             [](const Vars& x) { return bias_activation(x[0], x[1], UnaryOp::tanh); });
GL_GRADCHECK(kBiasActivation, "gelu", {{{3, 4}, -2, 2}, {{4}, -1, 1}},
             [](const Vars& x) { return bias_activation(x[0], x[1], UnaryOp::gelu_erf); });
GL_GRADCHECK(kBiasActivation, "softplus, beta 2", {{{3, 4}, -2, 2}, {{1, 4}, -1, 1}}, [](const Vars& x) {
  return bias_activation(x[0], x[1], UnaryOp::softplus, {2.0, 20.0});
});

GL_GRADCHECK(kEmbedding, "repeated indices", {{{5, 3}}}, [](const Vars& x) {
  return embedding(index_tensor({4, 0, 4, 2, 4, 1}, {2, 3}), x[0]);
});

// A Generator made inside the function gives every evaluation the same mask.
GL_GRADCHECK(kDropout, "p 0.4", {{{4, 5}}}, [](const Vars& x) {
  Generator g(7);
  return dropout(x[0], 0.4, g);
});
GL_GRADCHECK(kDropout, "p 0.1, odd size", {{{3, 7}}}, [](const Vars& x) {
  Generator g(11);
  g.set_offset(3);
  return dropout(x[0], 0.1, g) * 2.0;
});

}  // namespace gradlab
