// Entries of the fused layers (layer norm, attention, bias and activation,
// dropout): argument checks that name the op and the offending shapes,
// allocation of the results, and one dispatch to the device's kernel. See
// tensor/fused_layers.h.
#include "tensor/fused_layers.h"

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gradlab {

namespace {

void check_float(const Tensor& t, std::string_view op, std::string_view what) {
  GL_CHECK(t.defined(), "{}: {} is undefined", op, what);
  GL_CHECK(is_floating(t.dtype()), "{}: {} must be f32 or f64, got {}", op, what, t.dtype());
}

// `t` has x's dtype and device and exactly `shape`.
void check_like(const Tensor& t, const Tensor& x, const Shape& shape, std::string_view op, std::string_view what) {
  GL_CHECK(t.defined(), "{}: {} is undefined", op, what);
  GL_CHECK(t.shape() == shape, "{}: {} of shape {} should be {}", op, what, t.shape(), shape);
  GL_CHECK(t.dtype() == x.dtype(), "{}: {} has dtype {} but x has {}", op, what, t.dtype(), x.dtype());
  GL_CHECK(t.device() == x.device(), "{}: {} is on {} but x is on {}", op, what, t.device(), x.device());
}

// ---- layer norm ----

void check_affine(const Tensor& t, const Tensor& x, std::string_view op, std::string_view what) {
  if (!t.defined()) return;
  const int64_t C = x.shape().back();
  GL_CHECK(t.shape() == Shape{C}, "{}: {} of shape {} should be [{}] (the last axis of x of shape {})", op, what,
           t.shape(), C, x.shape());
  GL_CHECK(t.dtype() == x.dtype(), "{}: {} has dtype {} but x has {}", op, what, t.dtype(), x.dtype());
  GL_CHECK(t.device() == x.device(), "{}: {} is on {} but x is on {}", op, what, t.device(), x.device());
}

Tensor contiguous_or_undefined(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

// The checks of a layer norm's arguments, and its results allocated.
LayerNormForward layer_norm_results(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                                    std::string_view op) {
  check_float(x, op, "x");
  GL_CHECK(x.dim() >= 1, "{}: x must have at least one axis, got shape {}", op, x.shape());
  GL_CHECK(x.shape().back() > 0, "{}: the last axis of x of shape {} is empty", op, x.shape());
  GL_CHECK(eps >= 0, "{}: eps must be >= 0, got {}", op, eps);
  check_affine(weight, x, op, "weight");
  check_affine(bias, x, op, "bias");
  const int64_t rows = x.numel() / x.shape().back();
  return {Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty({rows}, x.dtype(), x.device()),
          Tensor::empty({rows}, x.dtype(), x.device())};
}

}  // namespace

LayerNormForward layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  LayerNormForward r = layer_norm_results(x, weight, bias, eps, "layer_norm");
  if (r.mean.numel() == 0) return r;
  kernel(&Backend::layer_norm, x.device(), "layer_norm")(x.contiguous(), contiguous_or_undefined(weight),
                                                         contiguous_or_undefined(bias), eps, r.y, r.mean, r.rstd);
  return r;
}

AddLayerNormForward add_layer_norm_forward(const Tensor& x, const Tensor& r, const Tensor& weight, const Tensor& bias,
                                           double eps) {
  AddLayerNormForward f{Tensor(), layer_norm_results(x, weight, bias, eps, "add_layer_norm")};
  check_like(r, x, x.shape(), "add_layer_norm", "r");
  f.sum = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (f.norm.mean.numel() == 0) return f;
  kernel(&Backend::add_layer_norm, x.device(), "add_layer_norm")(
      x.contiguous(), r.contiguous(), contiguous_or_undefined(weight), contiguous_or_undefined(bias), eps, f.sum,
      f.norm.y, f.norm.mean, f.norm.rstd);
  return f;
}

LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& rstd) {
  check_float(x, "layer_norm_backward", "x");
  GL_CHECK(x.dim() >= 1 && x.shape().back() > 0, "layer_norm_backward: x of shape {} has no last axis to normalise",
           x.shape());
  const int64_t C = x.shape().back(), rows = x.numel() / C;
  check_like(dy, x, x.shape(), "layer_norm_backward", "dy");
  check_like(mean, x, {rows}, "layer_norm_backward", "mean");
  check_like(rstd, x, {rows}, "layer_norm_backward", "rstd");
  check_affine(weight, x, "layer_norm_backward", "weight");
  LayerNormGrads g{Tensor::empty(x.shape(), x.dtype(), x.device()), zeros({C}, x.dtype(), x.device()),
                   zeros({C}, x.dtype(), x.device())};
  if (rows == 0) return g;
  kernel(&Backend::layer_norm_backward, x.device(), "layer_norm_backward")(
      dy.contiguous(), x.contiguous(), contiguous_or_undefined(weight), mean.contiguous(), rstd.contiguous(), g.dx,
      g.dweight, g.dbias);
  return g;
}

// ---- attention ----

namespace {

// q, k, v [B, H, T, D] of one floating dtype and device; key_mask [B, T] b8.
void check_qkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_mask, std::string_view op) {
  check_float(q, op, "q");
  GL_CHECK(k.defined() && v.defined(), "{}: k or v is undefined", op);
  GL_CHECK(q.dim() == 4, "{}: q must be [B, H, T, D], got shape {}", op, q.shape());
  GL_CHECK(k.shape() == q.shape() && v.shape() == q.shape(),
           "{}: q, k and v must have one shape [B, H, T, D], got {}, {} and {}", op, q.shape(), k.shape(), v.shape());
  GL_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), "{}: q, k and v must have one dtype, got {}, {} and {}",
           op, q.dtype(), k.dtype(), v.dtype());
  GL_CHECK(k.device() == q.device() && v.device() == q.device(), "{}: q, k and v are on different devices", op);
  GL_CHECK(q.shape()[3] > 0, "{}: the head dimension D of q of shape {} is empty", op, q.shape());
  if (!key_mask.defined()) return;
  GL_CHECK(key_mask.dtype() == DType::b8, "{}: key_mask must be b8 (true = attend), got {}", op, key_mask.dtype());
  const Shape want{q.shape()[0], q.shape()[2]};
  GL_CHECK(key_mask.shape() == want, "{}: key_mask of shape {} should be [B, T] = {}", op, key_mask.shape(), want);
  GL_CHECK(key_mask.device() == q.device(), "{}: key_mask is on {} but q is on {}", op, key_mask.device(), q.device());
}

}  // namespace

AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                                   const Tensor& key_mask) {
  check_qkv(q, k, v, key_mask, "attention");
  const Shape& s = q.shape();
  AttentionForward r{Tensor::empty(s, q.dtype(), q.device()), Tensor::empty({s[0], s[1], s[2]}, q.dtype(), q.device())};
  if (r.lse.numel() == 0) return r;
  kernel(&Backend::attention, q.device(), "attention")(q, k, v, causal, contiguous_or_undefined(key_mask), r.out,
                                                       r.lse);
  return r;
}

namespace {

// The backward kernel into g's contiguous dq, dk and dv, after the checks.
void attention_backward_into(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                             const Tensor& lse, bool causal, const Tensor& key_mask, const AttentionGrads& g,
                             std::string_view op) {
  check_qkv(q, k, v, key_mask, op);
  const Shape& s = q.shape();
  check_like(dout, q, s, op, "dout");
  check_like(out, q, s, op, "out");
  check_like(lse, q, {s[0], s[1], s[2]}, op, "lse");
  if (lse.numel() == 0) return;
  kernel(&Backend::attention_backward, q.device(), op)(dout, q, k, v, out, lse.contiguous(), causal,
                                                       contiguous_or_undefined(key_mask), g.dq, g.dk, g.dv);
}

}  // namespace

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, bool causal, const Tensor& key_mask) {
  check_float(q, "attention_backward", "q");
  const Shape& s = q.shape();
  AttentionGrads g{Tensor::empty(s, q.dtype(), q.device()), Tensor::empty(s, q.dtype(), q.device()),
                   Tensor::empty(s, q.dtype(), q.device())};
  attention_backward_into(dout, q, k, v, out, lse, causal, key_mask, g, "attention_backward");
  return g;
}

Tensor attention_backward_packed(const Tensor& dout, const Tensor& qkv, const Tensor& out, const Tensor& lse,
                                 bool causal, const Tensor& key_mask) {
  const std::string_view op = "attention_backward_packed";
  check_float(qkv, op, "qkv");
  GL_CHECK(qkv.dim() == 5 && qkv.size(0) == 3, "{}: qkv must be [3, B, H, T, D], got shape {}", op, qkv.shape());
  // The kernel writes each gradient whole, so the slices need no zeros first.
  const Tensor d = Tensor::empty(qkv.shape(), qkv.dtype(), qkv.device());
  attention_backward_into(dout, qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), out, lse, causal, key_mask,
                          {d.select(0, 0), d.select(0, 1), d.select(0, 2)}, op);
  return d;
}

// ---- bias and activation ----

BiasActivationForward bias_activation_forward(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& bias,
                                              bool keep) {
  check_float(x, "bias_activation", "x");
  GL_CHECK(bias.defined(), "bias_activation: bias is undefined");
  GL_CHECK(bias.dtype() == x.dtype(), "bias_activation: bias has dtype {} but x has {}", bias.dtype(), x.dtype());
  GL_CHECK(bias.device() == x.device(), "bias_activation: bias is on {} but x is on {}", bias.device(), x.device());
  const Shape shape = broadcast_shapes(x.shape(), bias.shape(), "bias_activation");
  BiasActivationForward r{Tensor::empty(shape, x.dtype(), x.device()),
                          keep ? Tensor::empty(shape, x.dtype(), x.device()) : Tensor(),
                          keep && op == UnaryOp::silu ? Tensor::empty(shape, x.dtype(), x.device()) : Tensor()};
  if (shape.numel() == 0) return r;
  kernel(&Backend::bias_activation, x.device(), "bias_activation")(op, params, x.expand(shape), bias.expand(shape), r.z,
                                                                   r.y, r.sigmoid);
  return r;
}

Tensor bias_activation_backward(UnaryOp op, UnaryParams params, const BiasActivationForward& saved, const Tensor& dy) {
  const Tensor& z = saved.z;
  check_float(z, "bias_activation_backward", "z");
  check_like(dy, z, z.shape(), "bias_activation_backward", "dy");
  check_like(saved.y, z, z.shape(), "bias_activation_backward", "y");
  if (op == UnaryOp::silu) check_like(saved.sigmoid, z, z.shape(), "bias_activation_backward", "sigmoid");
  Tensor dz = Tensor::empty(z.shape(), z.dtype(), z.device());
  if (z.numel() == 0) return dz;
  kernel(&Backend::bias_activation_backward, z.device(), "bias_activation_backward")(op, params, z, saved.y,
                                                                                     saved.sigmoid, dy, dz);
  return dz;
}

// ---- dropout ----

uint64_t dropout_blocks(int64_t n, DType dtype) {
  // f32 takes one 32-bit word an element, f64 two (tensor/random.h).
  const int64_t per_block = dtype == DType::f64 ? 2 : 4;
  return uint64_t((n + per_block - 1) / per_block);
}

Tensor dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  check_float(x, "dropout", "x");
  GL_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got {}", p);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  kernel(&Backend::dropout, x.device(), "dropout")(x.contiguous(), p, seed, offset, out);
  return out;
}

}  // namespace gradlab
