// The kernel list: one table of function pointers per device. Each public op in
// tensor/ops.h checks its arguments, allocates its result, and then dispatches
// once, at its entry, through backend(device). The CPU table lives in
// tensor/cpu/backend.cpp; the CUDA table is registered by the CUDA build. A
// missing kernel is a clear error naming the op and the device, never a crash.
#pragma once

#include <span>
#include <string_view>

#include "tensor/tensor.h"

namespace gradlab {

enum class UnaryOp {
  neg,
  abs,
  sign,
  exp,
  log,
  log1p,
  sqrt,
  rsqrt,
  square,
  tanh,
  sigmoid,
  relu,
  gelu_tanh,
  gelu_erf,
  silu,
  softplus,
  clamp,
  pow_scalar,
};
// Parameters of the unary ops that take them: clamp (a = lo, b = hi), pow_scalar
// (a = exponent), softplus (a = beta, b = threshold).
struct UnaryParams {
  double a = 0, b = 0;
};
enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum };
enum class CompareOp { eq, ne, lt, le, gt, ge };
enum class ReduceOp { sum, max, min };
enum class ArgReduceOp { argmax, argmin };
enum class RandomKind { uniform, normal, randint };

std::string_view op_name(UnaryOp op);
std::string_view op_name(BinaryOp op);
std::string_view op_name(CompareOp op);

// Every kernel writes into `out`, which the entry has allocated with the right
// shape and dtype; inputs have already been broadcast (expanded) to the shapes
// the kernel states. Tensors are handles: `const Tensor& out` is written through.
struct Backend {
  std::string_view name;
  // dst = src elementwise with dtype conversion; equal shapes, any strides.
  void (*copy)(const Tensor& src, const Tensor& dst) = nullptr;
  void (*fill)(const Tensor& dst, double value) = nullptr;
  // out = op(x); equal shapes; x and out share a dtype.
  void (*unary)(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& out) = nullptr;
  // dx = dout * op'(x), from the op's input x and output y (all of one shape).
  void (*unary_backward)(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& y, const Tensor& dout,
                         const Tensor& dx) = nullptr;
  // out = op(a, b); a, b expanded to out's shape.
  void (*binary)(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;
  // out (b8) = op(a, b); a, b expanded to out's shape.
  void (*compare)(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;
  // out = cond ? a : b; all expanded to out's shape; cond is b8.
  void (*where)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;
  // out[kept] = op over `axes` of x; out has x's shape with size 1 on the axes.
  void (*reduce)(ReduceOp op, const Tensor& x, std::span<const int> axes, const Tensor& out) = nullptr;
  // out (i64) = index of the max/min along axis; out has size 1 on that axis.
  void (*arg_reduce)(ArgReduceOp op, const Tensor& x, int axis, const Tensor& out) = nullptr;
  // out [B.., M, N] = a [B.., M, K] @ b [B.., K, N]; batch axes already expanded; any strides.
  void (*matmul)(const Tensor& a, const Tensor& b, const Tensor& out) = nullptr;
  // out [N, out] = x [N, in] weight^T (+ bias [out], contiguous, when defined); any strides for x and weight.
  void (*linear)(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) = nullptr;
  // softmax (or log_softmax) of x along axis.
  void (*softmax)(const Tensor& x, int axis, bool log, const Tensor& out) = nullptr;
  // out[.., i, ..] = x[.., index[.., i, ..], ..] along axis; index has out's shape.
  void (*gather)(const Tensor& x, int axis, const Tensor& index, const Tensor& out) = nullptr;
  // out[.., index[.., i, ..], ..] += src[.., i, ..] along axis, in place.
  void (*scatter_add)(const Tensor& out, int axis, const Tensor& index, const Tensor& src) = nullptr;
  // out = x with axis restricted to the entries of the 1-D index.
  void (*index_select)(const Tensor& x, int axis, const Tensor& index, const Tensor& out) = nullptr;
  // out[.., index[j], ..] += src[.., j, ..] along axis, in place; out contiguous.
  void (*index_add)(const Tensor& out, int axis, const Tensor& index, const Tensor& src) = nullptr;
  void (*cumsum)(const Tensor& x, int axis, const Tensor& out) = nullptr;
  // Stable sort along axis; indices are i64.
  void (*sort)(const Tensor& x, int axis, bool descending, const Tensor& values, const Tensor& indices) = nullptr;
  // The k largest (or smallest) along axis, in order.
  void (*topk)(const Tensor& x, int64_t k, int axis, bool largest, const Tensor& values,
               const Tensor& indices) = nullptr;
  // -- fused layers (layer_norm, attention, dropout): entries below --
  // Over the last axis of x [rows, C] (contiguous): y = (x - mean) rstd w + b,
  // mean and rstd [rows]; weight and bias [C] contiguous or undefined.
  void (*layer_norm)(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                     const Tensor& mean, const Tensor& rstd) = nullptr;
  // dx [rows, C], dweight and dbias [C] from dy and x [rows, C] (contiguous).
  void (*layer_norm_backward)(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& rstd, const Tensor& dx, const Tensor& dweight,
                              const Tensor& dbias) = nullptr;
  // out [B, H, T, D] and lse [B, H, T] (contiguous) from q, k, v [B, H, T, D]
  // (any strides); key_mask [B, T] b8 contiguous or undefined.
  void (*attention)(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
                    const Tensor& out, const Tensor& lse) = nullptr;
  // dq, dk, dv [B, H, T, D] (contiguous) from dout and out [B, H, T, D] (any
  // strides) and lse [B, H, T] (contiguous), recomputing the probabilities.
  void (*attention_backward)(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                             const Tensor& lse, bool causal, const Tensor& key_mask, const Tensor& dq, const Tensor& dk,
                             const Tensor& dv) = nullptr;
  // out = x * (u >= p) / (1 - p), u from Philox (seed, offset); x and out contiguous.
  void (*dropout)(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out) = nullptr;

  // -- optimisers (adam): entries below --
  // The scalars of one Adam step (tensor/optim_kernels.h gives the formulas).
  struct AdamHyperparams {
    double lr, beta1, beta2, eps, weight_decay;
    bool decoupled;  // AdamW: p *= 1 - lr wd first; Adam: g += wd p (L2)
    int64_t step;    // t >= 1, for the bias corrections 1 - beta^t
  };
  // One Adam(W) step over a whole parameter list in one pass: params[i], m[i],
  // v[i] updated in place from grads[i]; all four of one shape and dtype (f32
  // or f64), contiguous; the lists of equal length.
  void (*adam_step)(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
                    std::span<const Tensor> v, const AdamHyperparams& h) = nullptr;

  // -- fused losses (cross_entropy): entries below --
  // Rows of logits [N, C] against target [N] (i64, < C; negative = ignored):
  // lse [N] = log sum exp of each row, loss [N] = lse - logits[target] (0 if ignored).
  void (*cross_entropy)(const Tensor& logits, const Tensor& target, const Tensor& loss, const Tensor& lse) = nullptr;
  // dlogits [N, C] = (exp(logits - lse) - onehot(target)) * dloss [N]; zero rows if ignored.
  void (*cross_entropy_backward)(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss,
                                 const Tensor& dlogits) = nullptr;

  // Fills out from Philox4x32-10 with key `seed`, counters from `offset`; (a, b)
  // are (low, high) for uniform and randint, (mean, std) for normal.
  void (*random)(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, const Tensor& out) = nullptr;
};

// The table for a device. Throws when the device is unavailable (a build
// without CUDA, or no GPU present).
const Backend& backend(Device device);

// Registers the table of a device; the CUDA backend calls this at start-up.
void register_backend(Device device, const Backend* table);

// backend(device).*kernel, or a clear error naming op and device when missing.
template <class Kernel>
Kernel kernel(Kernel Backend::*member, Device device, std::string_view op) {
  const Backend& be = backend(device);
  Kernel k = be.*member;
  GL_CHECK(k != nullptr, "{}: no {} kernel yet", op, be.name);
  return k;
}

}  // namespace gradlab
