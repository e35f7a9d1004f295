// Fused layer kernels with their own entries, forward and backward: layer norm
// over the last axis (also straight after a residual add), scaled dot-product
// attention (causal and key masks, the backward recomputing the probabilities
// from the saved log-sum-exp), a bias add with an activation, and dropout from
// a Philox stream. autograd/layers.cpp builds the differentiable layer_norm,
// add_layer_norm, attention, bias_activation and dropout on these.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"
#include "tensor/unary_ops.h"

namespace gradlab {

// ---- layer norm ----
struct LayerNormForward {
  Tensor y;     // x's shape and dtype
  Tensor mean;  // [rows], x's dtype: the mean of each row of the last axis
  Tensor rstd;  // [rows], x's dtype: 1 / sqrt(biased variance + eps)
};
struct LayerNormGrads {
  Tensor dx;       // x's shape
  Tensor dweight;  // [C]: sum over rows of dy * xhat (also when weight is undefined)
  Tensor dbias;    // [C]: sum over rows of dy
};

// y = (x - mean) * rstd * weight + bias over the last axis of x [.., C]
// (f32 or f64; rows = numel / C). weight and bias are [C] or undefined.
LayerNormForward layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
// The gradients of layer_norm_forward from dy (x's shape) and its saved mean and rstd.
LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& rstd);

// A residual add and the layer norm after it, as in a transformer block:
// sum = x + r, then layer_norm_forward(sum, weight, bias, eps), with the same
// bits as those two calls (one pass over the rows on the CPU). x and r have
// one shape, dtype and device.
struct AddLayerNormForward {
  Tensor sum;             // x + r
  LayerNormForward norm;  // of sum
};
AddLayerNormForward add_layer_norm_forward(const Tensor& x, const Tensor& r, const Tensor& weight, const Tensor& bias,
                                           double eps);

// ---- attention ----
struct AttentionForward {
  Tensor out;  // [B, H, T, D]
  Tensor lse;  // [B, H, T]: log sum_j exp(s_ij) over the keys query i sees; -inf when it sees none
};
struct AttentionGrads {
  Tensor dq, dk, dv;  // [B, H, T, D]
};

// out = softmax(q k^T / sqrt(D) + mask) v for q, k, v [B, H, T, D] (f32 or f64,
// any strides). causal: query i sees keys j <= i. key_mask [B, T] (b8, true =
// visible) or undefined. A query that sees no key gets a zero output.
AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                                   const Tensor& key_mask = Tensor());
// The gradients from dout [B, H, T, D] and the forward's out and lse; the
// probabilities are recomputed from q, k and lse (nothing T x T was saved).
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, bool causal, const Tensor& key_mask = Tensor());
// The same for q, k and v packed as the three entries of the first axis of
// one [3, B, H, T, D] tensor (a fused qkv projection's output, any strides):
// dq, dk and dv written into the three slices of one contiguous
// [3, B, H, T, D] tensor, the gradient of the packed one.
Tensor attention_backward_packed(const Tensor& dout, const Tensor& qkv, const Tensor& out, const Tensor& lse,
                                 bool causal, const Tensor& key_mask = Tensor());

// ---- bias and activation ----
struct BiasActivationForward {
  Tensor y;        // op(z), the broadcast shape of x and bias
  Tensor z;        // x + bias: where the backward takes op's derivative (undefined unless kept)
  Tensor sigmoid;  // sigmoid(z) for silu (a factor of its derivative); undefined for other ops or unless kept
};

// y = op(x + bias) in one pass (f32 or f64), bias broadcast against x: a
// [out] bias over the rows of [N, out], a [K, 1, out] one over [K, N, out].
// The bits of add then op. With keep, z (and for silu its sigmoid) are kept
// for the backward; without, only y is written (inference).
BiasActivationForward bias_activation_forward(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& bias,
                                              bool keep = true);
// dz = dy * op'(z) from the forward's results (dy of y's shape): the bits of
// unary_grad(op, z, y, dy), with no exp for silu.
Tensor bias_activation_backward(UnaryOp op, UnaryParams params, const BiasActivationForward& saved, const Tensor& dy);

// ---- dropout ----
// out_i = keep_i ? x_i / (1 - p) : 0 with keep_i = (u_i >= p), u_i the uniform
// element i of the Philox stream (seed, offset) in x's dtype (tensor/random.h:
// philox_uniform_f32 or philox_uniform_f64), i the C-order index. p in [0, 1).
// Dropout is linear in x, so its backward is the same call on dy.
Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset);
// Philox blocks a dropout mask of n elements of dtype reads (what a Generator reserves).
uint64_t dropout_blocks(int64_t n, DType dtype);

}  // namespace gradlab
