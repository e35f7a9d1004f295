// The unary elementwise ops, listed once. Every row generates the op's enum
// entry and name, its entries in every backend's unary kernels (through
// tensor/unary_visit.h), and, for the ops without parameters, its tensor
// function (tensor/ops.h), its differentiable function with its gradient check
// (autograd/ops.h) and its op-spec (tests/ops/). Adding an op is one row here
// and its two functors in tensor/functors.h.
//
// X(name, printed name, functor, derivative functor, dtypes, cost on the CPU,
//   functor arguments from UnaryParams p, gradient-check input range lo, hi)
//
//   dtypes: any (integers too) or floating;
//   cost: cheap (a few flops) or transcendental (exp, log, tanh... : a smaller
//         parallel grain on the CPU);
//   lo, hi: the range a gradient check draws inputs from, away from kinks and poles.
#pragma once

// The ops whose tensor function is y = op(x) with nothing else to give.
#define GL_UNARY_OPS_PLAIN(X)                                          \
  X(neg, "neg", Neg, NegGrad, any, cheap, (), -1, 1)                   \
  X(abs, "abs", Abs, AbsGrad, any, cheap, (), 0.1, 2)                  \
  X(sign, "sign", Sign, ZeroGrad, any, cheap, (), 0.1, 2)              \
  X(exp, "exp", Exp, ExpGrad, floating, transcendental, (), -3, 3)     \
  X(log, "log", Log, LogGrad, floating, transcendental, (), 0.2, 5)    \
  X(log1p, "log1p", Log1p, Log1pGrad, floating, transcendental, (), -0.8, 5) \
  X(sqrt, "sqrt", Sqrt, SqrtGrad, floating, cheap, (), 0.2, 5)         \
  X(rsqrt, "rsqrt", Rsqrt, RsqrtGrad, floating, cheap, (), 0.2, 5)     \
  X(square, "square", Square, SquareGrad, any, cheap, (), -2, 2)       \
  X(tanh, "tanh", Tanh, TanhGrad, floating, transcendental, (), -3, 3) \
  X(sigmoid, "sigmoid", Sigmoid, SigmoidGrad, floating, transcendental, (), -5, 5) \
  X(relu, "relu", Relu, ReluGrad, any, cheap, (), 0.1, 2)              \
  X(silu, "silu", Silu, SiluGrad, floating, transcendental, (), -6, 6)

// The ops with a variant or parameters: their tensor and autograd functions
// are written by hand (tensor/elementwise.cpp, autograd/elementwise.cpp).
#define GL_UNARY_OPS_WITH_PARAMS(X)                                                   \
  X(gelu_tanh, "gelu(tanh)", GeluTanh, GeluTanhGrad, floating, transcendental, (), -4, 4) \
  X(gelu_erf, "gelu", GeluErf, GeluErfGrad, floating, transcendental, (), -4, 4)          \
  X(softplus, "softplus", Softplus, SoftplusGrad, floating, transcendental, (p.a, p.b), -6, 6) \
  X(clamp, "clamp", Clamp, ClampGrad, any, cheap, (p.a, p.b), -2, 2)                      \
  X(pow_scalar, "pow", PowScalar, PowScalarGrad, floating, transcendental, (p.a), 0.2, 3)

#define GL_UNARY_OPS(X) GL_UNARY_OPS_PLAIN(X) GL_UNARY_OPS_WITH_PARAMS(X)

// (a, b) -> a, b: a row's functor arguments inside braces.
#define GL_UNPACK(...) __VA_ARGS__

namespace gradlab {

enum class UnaryOp {
#define GL_UNARY_ENUM(name, ...) name,
  GL_UNARY_OPS(GL_UNARY_ENUM)
#undef GL_UNARY_ENUM
};

// Parameters of the unary ops that take them: clamp (a = lo, b = hi), pow_scalar
// (a = exponent), softplus (a = beta, b = threshold).
struct UnaryParams {
  double a = 0, b = 0;
};

}  // namespace gradlab
