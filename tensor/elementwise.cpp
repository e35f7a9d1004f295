// Entries of the elementwise ops: check dtypes and devices, broadcast, allocate
// the result, dispatch to the device's kernel.
#include <cmath>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gradlab {

namespace {

void check_defined(const Tensor& t, std::string_view op) { GL_CHECK(t.defined(), "{}: tensor is undefined", op); }

void check_same_device(const Tensor& a, const Tensor& b, std::string_view op) {
  GL_CHECK(a.device() == b.device(), "{}: tensors are on different devices ({} and {})", op, a.device(), b.device());
}

Tensor unary_op(UnaryOp op, const Tensor& x, UnaryParams params = {}) {
  const std::string_view name = op_name(op);
  check_defined(x, name);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  kernel(&Backend::unary, x.device(), name)(op, params, x, out);
  return out;
}

// Checks two operands of a binary op and returns their broadcast shape.
Shape binary_shape(const Tensor& a, const Tensor& b, std::string_view name) {
  check_defined(a, name);
  check_defined(b, name);
  check_same_device(a, b, name);
  GL_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ ({} and {}); convert one with .to()", name, a.dtype(), b.dtype());
  return broadcast_shapes(a.shape(), b.shape(), name);
}

// x as an operand of `shape`: x itself when it has that shape already (no
// copy of its header), else a broadcast view of it kept in `view`.
const Tensor& broadcast(const Tensor& x, const Shape& shape, Tensor& view) {
  if (x.shape() == shape) return x;
  view = x.expand(shape);
  return view;
}

Tensor binary_op(BinaryOp op, const Tensor& a, const Tensor& b) {
  const std::string_view name = op_name(op);
  const Shape shape = binary_shape(a, b, name);
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  Tensor va, vb;
  kernel(&Backend::binary, a.device(), name)(op, broadcast(a, shape, va), broadcast(b, shape, vb), out);
  return out;
}

Tensor compare_op(CompareOp op, const Tensor& a, const Tensor& b) {
  const std::string_view name = op_name(op);
  const Shape shape = binary_shape(a, b, name);
  Tensor out = Tensor::empty(shape, DType::b8, a.device());
  Tensor va, vb;
  kernel(&Backend::compare, a.device(), name)(op, broadcast(a, shape, va), broadcast(b, shape, vb), out);
  return out;
}

void require_float(const Tensor& x, std::string_view op) {
  GL_CHECK(is_floating(x.dtype()), "{}: expected a floating dtype (f32 or f64), got {}", op, x.dtype());
}

Tensor float_unary(UnaryOp op, const Tensor& x, UnaryParams params = {}) {
  check_defined(x, op_name(op));
  require_float(x, op_name(op));
  return unary_op(op, x, params);
}

// The rows of GL_UNARY_OPS_PLAIN: integers allowed (`any`) or floating only.
Tensor any_unary(UnaryOp op, const Tensor& x) { return unary_op(op, x); }
Tensor floating_unary(UnaryOp op, const Tensor& x) { return float_unary(op, x); }

}  // namespace

#define GL_DEFINE_TENSOR_UNARY(name, printed, F, G, dtypes, ...) \
  Tensor name(const Tensor& x) { return dtypes##_unary(UnaryOp::name, x); }
GL_UNARY_OPS_PLAIN(GL_DEFINE_TENSOR_UNARY)
#undef GL_DEFINE_TENSOR_UNARY
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  return float_unary(tanh_approximation ? UnaryOp::gelu_tanh : UnaryOp::gelu_erf, x);
}
Tensor softplus(const Tensor& x, double beta, double threshold) {
  GL_CHECK(beta > 0, "softplus: beta must be positive, got {}", beta);
  return float_unary(UnaryOp::softplus, x, {beta, threshold});
}
Tensor clamp(const Tensor& x, double lo, double hi) {
  GL_CHECK(!(lo > hi), "clamp: lower bound {} is above upper bound {}", lo, hi);
  return unary_op(UnaryOp::clamp, x, {lo, hi});
}
Tensor pow(const Tensor& x, double exponent) { return float_unary(UnaryOp::pow_scalar, x, {exponent}); }

Tensor unary_grad(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dout, UnaryParams params) {
  const std::string_view name = op_name(op);
  GL_CHECK(x.defined() && y.defined() && dout.defined(), "{} backward: tensor is undefined", name);
  GL_CHECK(x.shape() == y.shape() && x.shape() == dout.shape(), "{} backward: shapes {}, {} and {} differ", name,
           x.shape(), y.shape(), dout.shape());
  GL_CHECK(x.dtype() == dout.dtype() && y.dtype() == x.dtype(), "{} backward: dtypes differ", name);
  require_float(x, name);
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  kernel(&Backend::unary_backward, x.device(), name)(op, params, x, y, dout, dx);
  return dx;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::div, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::pow, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::minimum, a, b); }

Tensor scalar_like(double value, const Tensor& like) {
  GL_CHECK(like.defined(), "scalar_like: tensor is undefined");
  return scalar(value, like.dtype(), like.device());
}
Tensor add(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor maximum(const Tensor& a, double b) { return maximum(a, scalar_like(b, a)); }
Tensor minimum(const Tensor& a, double b) { return minimum(a, scalar_like(b, a)); }

Tensor eq(const Tensor& a, const Tensor& b) { return compare_op(CompareOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare_op(CompareOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare_op(CompareOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare_op(CompareOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare_op(CompareOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare_op(CompareOp::ge, a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_like(b, a)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_like(b, a)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(b, a)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_like(b, a)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(b, a)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_like(b, a)); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined(cond, "where");
  check_defined(a, "where");
  check_defined(b, "where");
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  GL_CHECK(cond.dtype() == DType::b8, "where: condition must be a b8 mask, got {}", cond.dtype());
  GL_CHECK(a.dtype() == b.dtype(), "where: dtypes differ ({} and {})", a.dtype(), b.dtype());
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  kernel(&Backend::where, a.device(), "where")(cond.expand(shape), a.expand(shape), b.expand(shape), out);
  return out;
}

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace gradlab
