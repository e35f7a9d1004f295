// Differentiable elementwise ops. Unary ops share one pattern: the forward
// tensor op, then the fused derivative kernel (tensor/functors.h holds each
// op's derivative next to its definition). Binary ops sum their gradients
// back over the axes that broadcasting stretched (sum_to).
#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace gradlab {

namespace {

// y = op(x), saving x and y for the derivative kernel.
Var unary_var(const OpInfo& op, UnaryOp kind, const Var& x, Tensor y, UnaryParams params = {}) {
  return record(op, y, {x}, {x.value(), y}, [kind, params](const GradContext& g) -> std::vector<Tensor> {
    return {unary_grad(kind, g.saved[0], g.saved[1], g.dout, params)};
  });
}

Var constant_like(double v, const Var& like) { return Var(scalar_like(v, like.value())); }

}  // namespace

// Every row of GL_UNARY_OPS_PLAIN: its op, its function and a gradient check
// over the row's input range.
#define GL_DEFINE_VAR_UNARY(name, printed, F, G, dtypes, cost, args, lo, hi)                   \
  GL_OP(kUnary_##name, printed);                                                             \
  Var name(const Var& x) { return unary_var(kUnary_##name, UnaryOp::name, x, name(x.value())); } \
  GL_GRADCHECK(kUnary_##name, "", {{{3, 4}, lo, hi}}, [](const Vars& x) { return name(x[0]); });
GL_UNARY_OPS_PLAIN(GL_DEFINE_VAR_UNARY)
#undef GL_DEFINE_VAR_UNARY

// Further checks: both signs, and ops whose gradient is zero seen through a product.
GL_GRADCHECK(kUnary_abs, "negative", {{{5}, -2, -0.1}}, [](const Vars& x) { return abs(x[0]); });
GL_GRADCHECK(kUnary_sign, "times x", {{{3, 4}, 0.1, 2}}, [](const Vars& x) { return sign(x[0]) * x[0]; });
GL_GRADCHECK(kUnary_relu, "both signs", {{{3, 4}, 0.1, 2}}, [](const Vars& x) { return relu(x[0]) + relu(-x[0]); });

GL_OP(kGelu, "gelu");
GL_OP(kGeluTanh, "gelu(tanh)");
GL_OP(kSoftplus, "softplus");
GL_OP(kClamp, "clamp");
GL_OP(kPowScalar, "pow(x, p)");

Var gelu(const Var& x, bool tanh_approximation) {
  if (tanh_approximation) return unary_var(kGeluTanh, UnaryOp::gelu_tanh, x, gelu(x.value(), true));
  return unary_var(kGelu, UnaryOp::gelu_erf, x, gelu(x.value(), false));
}
Var softplus(const Var& x, double beta, double threshold) {
  return unary_var(kSoftplus, UnaryOp::softplus, x, softplus(x.value(), beta, threshold), {beta, threshold});
}
Var clamp(const Var& x, double lo, double hi) {
  return unary_var(kClamp, UnaryOp::clamp, x, clamp(x.value(), lo, hi), {lo, hi});
}
Var pow(const Var& x, double exponent) {
  return unary_var(kPowScalar, UnaryOp::pow_scalar, x, pow(x.value(), exponent), {exponent});
}

// Inputs keep away from each op's kinks and poles.
GL_GRADCHECK(kGelu, "", {{{4, 5}, -4, 4}}, [](const Vars& x) { return gelu(x[0]); });
GL_GRADCHECK(kGeluTanh, "", {{{4, 5}, -4, 4}}, [](const Vars& x) { return gelu(x[0], true); });
GL_GRADCHECK(kSoftplus, "", {{{4, 5}, -6, 6}}, [](const Vars& x) { return softplus(x[0]); });
GL_GRADCHECK(kSoftplus, "beta 2, linear region", {{{4, 5}, -6, 6}},
             [](const Vars& x) { return softplus(x[0], 2.0, 3.0); });
GL_GRADCHECK(kClamp, "", {{{4, 5}, -2, 2}}, [](const Vars& x) { return clamp(x[0], -0.55, 0.45); });
GL_GRADCHECK(kPowScalar, "", {{{3, 4}, 0.2, 3}}, [](const Vars& x) { return pow(x[0], 2.5); });
GL_GRADCHECK(kPowScalar, "square", {{{3, 4}, -2, 2}}, [](const Vars& x) { return pow(x[0], 2.0); });

// ---------------------------------------------------------------- binary

GL_OP(kAdd, "add");
GL_OP(kSub, "sub");
GL_OP(kMul, "mul");
GL_OP(kDiv, "div");
GL_OP(kPow, "pow");
GL_OP(kMaximum, "maximum");
GL_OP(kMinimum, "minimum");
GL_OP(kWhere, "where");

Var add(const Var& a, const Var& b) {
  return record(kAdd, add(a.value(), b.value()), {a, b}, {}, [](const GradContext& g) -> std::vector<Tensor> {
    return {g.need(0) ? sum_to(g.dout, g.shapes[0]) : Tensor(), g.need(1) ? sum_to(g.dout, g.shapes[1]) : Tensor()};
  });
}

Var sub(const Var& a, const Var& b) {
  return record(kSub, sub(a.value(), b.value()), {a, b}, {}, [](const GradContext& g) -> std::vector<Tensor> {
    return {g.need(0) ? sum_to(g.dout, g.shapes[0]) : Tensor(),
            g.need(1) ? sum_to(neg(g.dout), g.shapes[1]) : Tensor()};
  });
}

Var mul(const Var& a, const Var& b) {
  // d(ab) = b da + a db
  return record(kMul, mul(a.value(), b.value()), {a, b}, {a.value(), b.value()},
                [](const GradContext& g) -> std::vector<Tensor> {
                  return {g.need(0) ? sum_to(mul(g.dout, g.saved[1]), g.shapes[0]) : Tensor(),
                          g.need(1) ? sum_to(mul(g.dout, g.saved[0]), g.shapes[1]) : Tensor()};
                });
}

Var div(const Var& a, const Var& b) {
  // d(a/b) = da / b - a db / b^2
  return record(kDiv, div(a.value(), b.value()), {a, b}, {a.value(), b.value()},
                [](const GradContext& g) -> std::vector<Tensor> {
                  const Tensor& av = g.saved[0];
                  const Tensor& bv = g.saved[1];
                  return {g.need(0) ? sum_to(div(g.dout, bv), g.shapes[0]) : Tensor(),
                          g.need(1) ? sum_to(neg(div(mul(g.dout, av), mul(bv, bv))), g.shapes[1]) : Tensor()};
                });
}

Var pow(const Var& a, const Var& b) {
  // d(a^b) = b a^(b-1) da + log(a) a^b db
  Tensor y = pow(a.value(), b.value());
  return record(kPow, y, {a, b}, {a.value(), b.value(), y}, [](const GradContext& g) -> std::vector<Tensor> {
    const Tensor &av = g.saved[0], &bv = g.saved[1], &yv = g.saved[2];
    return {g.need(0) ? sum_to(mul(g.dout, mul(bv, pow(av, sub(bv, 1.0)))), g.shapes[0]) : Tensor(),
            g.need(1) ? sum_to(mul(g.dout, mul(log(av), yv)), g.shapes[1]) : Tensor()};
  });
}

namespace {
// The share of the gradient the first argument of maximum/minimum gets: 1
// where it wins, 1/2 on ties, 0 where it loses.
Tensor winner_share(const Tensor& a, const Tensor& b, bool is_max) {
  const Tensor wins = is_max ? gt(a, b) : lt(a, b);
  return add(wins.to(a.dtype()), mul(eq(a, b).to(a.dtype()), 0.5));
}
Var extremum(const OpInfo& op, bool is_max, const Var& a, const Var& b) {
  Tensor y = is_max ? maximum(a.value(), b.value()) : minimum(a.value(), b.value());
  return record(op, y, {a, b}, {a.value(), b.value()}, [is_max](const GradContext& g) -> std::vector<Tensor> {
    const Tensor share = winner_share(g.saved[0], g.saved[1], is_max);
    return {g.need(0) ? sum_to(mul(g.dout, share), g.shapes[0]) : Tensor(),
            g.need(1) ? sum_to(mul(g.dout, 1.0 - share), g.shapes[1]) : Tensor()};
  });
}
}  // namespace

Var maximum(const Var& a, const Var& b) { return extremum(kMaximum, true, a, b); }
Var minimum(const Var& a, const Var& b) { return extremum(kMinimum, false, a, b); }

Var where(const Tensor& cond, const Var& a, const Var& b) {
  return record(kWhere, where(cond, a.value(), b.value()), {a, b}, {cond},
                [](const GradContext& g) -> std::vector<Tensor> {
                  const Tensor zero = zeros({}, g.dout.dtype(), g.dout.device());
                  return {g.need(0) ? sum_to(where(g.saved[0], g.dout, zero), g.shapes[0]) : Tensor(),
                          g.need(1) ? sum_to(where(g.saved[0], zero, g.dout), g.shapes[1]) : Tensor()};
                });
}

Var operator-(const Var& x) { return neg(x); }
Var operator+(const Var& a, const Var& b) { return add(a, b); }
Var operator-(const Var& a, const Var& b) { return sub(a, b); }
Var operator*(const Var& a, const Var& b) { return mul(a, b); }
Var operator/(const Var& a, const Var& b) { return div(a, b); }
Var operator+(const Var& a, double b) { return add(a, constant_like(b, a)); }
Var operator-(const Var& a, double b) { return sub(a, constant_like(b, a)); }
Var operator*(const Var& a, double b) { return mul(a, constant_like(b, a)); }
Var operator/(const Var& a, double b) { return div(a, constant_like(b, a)); }
Var operator+(double a, const Var& b) { return add(constant_like(a, b), b); }
Var operator-(double a, const Var& b) { return sub(constant_like(a, b), b); }
Var operator*(double a, const Var& b) { return mul(constant_like(a, b), b); }
Var operator/(double a, const Var& b) { return div(constant_like(a, b), b); }

GL_GRADCHECK(kAdd, "broadcast", {{{3, 1, 4}}, {{2, 4}}}, [](const Vars& x) { return x[0] + x[1]; });
GL_GRADCHECK(kAdd, "same input twice", {{{3, 4}}}, [](const Vars& x) { return x[0] + x[0]; });
GL_GRADCHECK(kSub, "broadcast", {{{3, 4}}, {{4}}}, [](const Vars& x) { return x[0] - x[1]; });
GL_GRADCHECK(kMul, "broadcast", {{{3, 1, 4}}, {{2, 4}}}, [](const Vars& x) { return x[0] * x[1]; });
GL_GRADCHECK(kMul, "scalar", {{{3, 4}}}, [](const Vars& x) { return 2.5 * x[0] * 3.0; });
GL_GRADCHECK(kDiv, "broadcast", {{{3, 4}}, {{3, 1}, 0.5, 2}}, [](const Vars& x) { return x[0] / x[1]; });
GL_GRADCHECK(kDiv, "scalar numerator", {{{3, 4}, 0.5, 2}}, [](const Vars& x) { return 1.0 / x[0] - 1.0; });
GL_GRADCHECK(kPow, "", {{{3, 4}, 0.5, 2}, {{3, 4}, -2, 2}}, [](const Vars& x) { return pow(x[0], x[1]); });
GL_GRADCHECK(kMaximum, "", {{{4, 5}}, {{5}}}, [](const Vars& x) { return maximum(x[0], x[1]); });
GL_GRADCHECK(kMinimum, "", {{{4, 5}}, {{4, 1}}}, [](const Vars& x) { return minimum(x[0], x[1]); });
GL_GRADCHECK(kWhere, "", {{{4, 5}}, {{5}}}, [](const Vars& x) { return where(gt(x[0].value(), 0.0), x[0], x[1]); });

// A dtype conversion is the identity on values up to rounding, so its
// gradient is the incoming one converted back to the input's dtype. Mixed
// precision is built from it: a bf16 copy of an f32 weight sends its gradient
// back to the f32 weight in f32.
GL_OP(kToDtype, "to_dtype");

Var to_dtype(const Var& x, DType dtype) {
  GL_CHECK(x.defined(), "to_dtype: x is undefined");
  if (x.dtype() == dtype) return x;
  const DType from = x.dtype();
  return record(kToDtype, x.value().to(dtype), {x}, {},
                [from](const GradContext& g) -> std::vector<Tensor> { return {g.dout.to(from)}; });
}

// Through f32 and back: a linear function, so a wide step measures it exactly
// up to f32's rounding of the values (about 1e-7 of 1e-2).
GL_GRADCHECK(kToDtype, "f64 -> f32 -> f64", {{{3, 4}}},
             [](const Vars& x) { return to_dtype(to_dtype(x[0], DType::f32), x[0].dtype()) * x[0]; },
             GradcheckOptions{.eps = 1e-2, .atol = 1e-5, .rtol = 1e-5});

}  // namespace gradlab
