// The differentiable op list: the tensor ops of tensor/ops.h on Vars, plus
// fused losses and layers with their own backward kernels. Each op records a
// Node when an input requires a gradient, and is declared (GL_OP), defined
// (forward next to backward) and gradient-checked (GL_GRADCHECK) in one
// autograd/*.cpp file of its family. Shapes, broadcasting and errors follow
// the tensor ops.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "autograd/var.h"
#include "tensor/ops.h"

namespace gradlab {

// ---- elementwise (autograd/elementwise.cpp) ----
// One function a row of GL_UNARY_OPS_PLAIN in tensor/unary_ops.h, which lists
// them: Var neg(const Var& x), ... The gradient of abs is sign(x) (0 at 0), of
// sign 0, of relu 0 at 0.
#define GL_DECLARE_VAR_UNARY(name, ...) Var name(const Var& x);
GL_UNARY_OPS_PLAIN(GL_DECLARE_VAR_UNARY)
#undef GL_DECLARE_VAR_UNARY
Var gelu(const Var& x, bool tanh_approximation = false);
Var softplus(const Var& x, double beta = 1.0, double threshold = 20.0);
Var clamp(const Var& x, double lo, double hi);  // gradient 1 inside [lo, hi], bounds included
Var pow(const Var& x, double exponent);

Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var pow(const Var& a, const Var& b);      // needs a > 0 where b's gradient is wanted
Var maximum(const Var& a, const Var& b);  // ties send half the gradient to each side
Var minimum(const Var& a, const Var& b);
Var where(const Tensor& cond, const Var& a, const Var& b);
// x converted to dtype (x itself when it has that dtype already); the gradient
// is converted back to x's dtype.
Var to_dtype(const Var& x, DType dtype);

Var operator-(const Var& x);
Var operator+(const Var& a, const Var& b);
Var operator-(const Var& a, const Var& b);
Var operator*(const Var& a, const Var& b);
Var operator/(const Var& a, const Var& b);
Var operator+(const Var& a, double b);
Var operator-(const Var& a, double b);
Var operator*(const Var& a, double b);
Var operator/(const Var& a, double b);
Var operator+(double a, const Var& b);
Var operator-(double a, const Var& b);
Var operator*(double a, const Var& b);
Var operator/(double a, const Var& b);

// ---- reductions (autograd/reduce.cpp) ----
Var sum(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var mean(const Var& x, const Axes& axes = {}, bool keepdim = false);
// The gradient goes to the maximal (minimal) elements, shared equally among ties.
Var max(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var min(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var var(const Var& x, const Axes& axes = {}, bool keepdim = false, int64_t correction = 1);
Var logsumexp(const Var& x, const Axes& axes = {}, bool keepdim = false);
Var norm(const Var& x, double p = 2.0, const Axes& axes = {}, bool keepdim = false);

// ---- matmul (autograd/matmul.cpp) ----
Var matmul(const Var& a, const Var& b);
// x W^T + b over the last axis of x [.., in]: weight [out, in], bias [out] or
// undefined. One node (a Linear layer), each gradient one GEMM.
Var linear(const Var& x, const Var& weight, const Var& bias);

// ---- views and joins (autograd/shape.cpp); gradients flow back through the view ----
Var reshape(const Var& x, const Shape& shape);
Var permute(const Var& x, const Shape& axes);
Var transpose(const Var& x, int64_t a, int64_t b);
Var slice(const Var& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Var narrow(const Var& x, int64_t axis, int64_t start, int64_t length);
Var select(const Var& x, int64_t axis, int64_t index);
Var expand(const Var& x, const Shape& shape);
Var squeeze(const Var& x, int64_t axis);
Var unsqueeze(const Var& x, int64_t axis);
Var flatten(const Var& x, int64_t start_axis = 0, int64_t end_axis = -1);
Var contiguous(const Var& x);
Var concat(const std::vector<Var>& xs, int64_t axis = 0);
Var stack(const std::vector<Var>& xs, int64_t axis = 0);
std::vector<Var> split(const Var& x, int64_t size, int64_t axis = 0);
std::vector<Var> split(const Var& x, const std::vector<int64_t>& sizes, int64_t axis = 0);

// ---- along one axis (autograd/axis.cpp) ----
Var softmax(const Var& x, int64_t axis = -1);
Var log_softmax(const Var& x, int64_t axis = -1);
Var cumsum(const Var& x, int64_t axis);
Var gather(const Var& x, int64_t axis, const Tensor& index);
Var scatter_add(const Var& x, int64_t axis, const Tensor& index, const Var& src);
Var index_select(const Var& x, int64_t axis, const Tensor& index);
struct VarIndices {
  Var values;
  Tensor indices;  // i64, not differentiable
};
VarIndices sort(const Var& x, int64_t axis = -1, bool descending = false);
VarIndices topk(const Var& x, int64_t k, int64_t axis = -1, bool largest = true);

// ---- losses (autograd/losses.cpp) ----
enum class Reduction { mean, sum, none };
struct CrossEntropyOptions {
  int64_t ignore_index = -100;            // targets equal to it contribute nothing
  Tensor mask{};                          // optional [..] weights (f32/f64) or b8 keep-mask, target's shape
  Reduction reduction = Reduction::mean;  // mean: over the kept (weighted) targets
};
// log_softmax over the last axis of logits [.., C] plus negative log-likelihood
// of the i32/i64 targets [..], fused (one pass forward, one backward).
Var cross_entropy(const Var& logits, const Tensor& target, const CrossEntropyOptions& options = {});
Var mse(const Var& prediction, const Var& target, Reduction reduction = Reduction::mean);
// 0.5 (log_var + (target - mean)^2 / exp(log_var)), the Gaussian negative
// log-likelihood without its constant 0.5 log(2 pi).
Var gaussian_nll(const Var& mean, const Var& log_var, const Var& target, Reduction reduction = Reduction::mean);
// max(x, 0) - x t + log(1 + exp(-|x|)), stable for any logit x.
Var bce_with_logits(const Var& logits, const Var& target, Reduction reduction = Reduction::mean);

// ---- activations (autograd/activations.cpp) ----
Var log_sigmoid(const Var& x);  // stable: min(x, 0) - log1p(exp(-|x|))
// Entropy -sum p log p of the categorical distribution softmax(logits) along axis.
Var entropy(const Var& logits, int64_t axis = -1);

// ---- layers (autograd/layers.cpp) ----
// Normalises the last axis of x [.., C] to zero mean and unit variance (biased),
// then scales and shifts by weight and bias [C] (either may be undefined).
Var layer_norm(const Var& x, const Var& weight, const Var& bias, double eps = 1e-5);
// A residual add and the layer norm after it: {x + r, layer_norm(x + r, ..)},
// the same values and graph as add then layer_norm, computed in one pass.
std::pair<Var, Var> add_layer_norm(const Var& x, const Var& r, const Var& weight, const Var& bias, double eps = 1e-5);
// softmax(q k^T / sqrt(D) + mask) v for q, k, v [B, H, T, D], fused: with
// causal, position i attends to j <= i; key_mask [B, T] (b8, true = attend)
// hides padding. A query that can attend to nothing gets a zero output.
Var attention(const Var& q, const Var& k, const Var& v, bool causal = true, const Tensor& key_mask = Tensor());
// The same for q, k and v packed along the first axis of one [3, B, H, T, D]
// Var (a fused qkv projection's output, any strides): the values and gradients
// of attention(select(qkv, 0, 0), select(qkv, 0, 1), select(qkv, 0, 2)), but
// the backward writes dq, dk and dv into one gradient tensor instead of adding
// up three mostly zero ones.
Var attention_packed(const Var& qkv, bool causal = true, const Tensor& key_mask = Tensor());
// op(x + bias), bias broadcast against x, in one pass: a layer's bias add and
// activation. The bits of op(x + bias) and of its gradients; silu keeps its
// sigmoid, so its backward computes no exp. params as the op takes them
// (softplus: beta, threshold).
Var bias_activation(const Var& x, const Var& bias, UnaryOp op, UnaryParams params = {});
// Rows of weight [V, C] picked by the i32/i64 indices [..]: [.., C].
Var embedding(const Tensor& indices, const Var& weight);
// Zeroes each element with probability p and scales the rest by 1/(1-p); the
// mask comes from the generator's Philox stream. The identity when !training.
Var dropout(const Var& x, double p, Generator& gen, bool training = true);

// ---- linear algebra (autograd/linalg.cpp) ----
// Sum of singular values of each matrix [.., m, n]; gradient U V^T from the thin SVD.
Var nuclear_norm(const Var& x);

// ---- per-example gradients (autograd/per_example.cpp) ----
// The weight gradient of y = x W (+ b), example by example, from the layer's
// input x [B, in] or [B, T, in] and output gradient dy [B, out] or
// [B, T, out] (as forward and backward hooks capture them): [B, in, out].
// One batched matmul, no loop over examples.
Tensor per_example_linear_grads(const Tensor& input, const Tensor& grad_output);

}  // namespace gradlab
