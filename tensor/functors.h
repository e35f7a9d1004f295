// The arithmetic of every elementwise op, as small functors shared by the CPU
// kernels (and by the CUDA kernels once they exist), so that each op has one
// definition. f32 goes through the vectorisable vm:: functions, f64 through
// <cmath>. Ops whose math needs parameters (clamp, pow, softplus) carry them.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/host_device.h"
#include "tensor/vec_math.h"

namespace gradlab::fn {

// clang-format off: one op per line reads best here

// Transcendentals: f32 through vm::, everything else through <cmath>.
template <class T>
GL_HD T exp(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::exp(x);
  else
    return std::exp(x);
}
template <class T>
GL_HD T log(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::log(x);
  else
    return std::log(x);
}
template <class T>
GL_HD T log1p(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::log1p(x);
  else
    return std::log1p(x);
}
template <class T>
GL_HD T tanh(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::tanh(x);
  else
    return std::tanh(x);
}
template <class T>
GL_HD T expm1(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vm::expm1(x);
  else
    return std::expm1(x);
}
template <class T>
GL_HD T erfc(T x) {
  if constexpr (std::is_same_v<T, float>) {
    const float e = vm::erfc_nonneg(std::fabs(x));  // erfc(-z) = 2 - erfc(z)
    return x >= 0.f ? e : 2.f - e;
  } else {
    return std::erfc(x);
  }
}
template <class T>
GL_HD T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

// ---- unary ----
struct Neg {
  template <class T>
  GL_HD T operator()(T x) const {
    return -x;
  }
};
struct Abs {
  template <class T>
  GL_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>)
      return std::fabs(x);
    else
      return x < T(0) ? -x : x;
  }
};
struct Sign {
  template <class T>
  GL_HD T operator()(T x) const {
    return x != x ? x : T((T(0) < x) - (x < T(0)));
  }
};
struct Square {
  template <class T>
  GL_HD T operator()(T x) const {
    return x * x;
  }
};
struct Relu {
  template <class T>
  GL_HD T operator()(T x) const {
    return x > T(0) ? x : T(0);
  }
};
struct Exp {
  template <class T>
  GL_HD T operator()(T x) const {
    return exp(x);
  }
};
struct Log {
  template <class T>
  GL_HD T operator()(T x) const {
    return log(x);
  }
};
struct Log1p {
  template <class T>
  GL_HD T operator()(T x) const {
    return log1p(x);
  }
};
struct Sqrt {
  template <class T>
  GL_HD T operator()(T x) const {
    return std::sqrt(x);
  }
};
struct Rsqrt {
  template <class T>
  GL_HD T operator()(T x) const {
    return T(1) / std::sqrt(x);
  }
};
struct Tanh {
  template <class T>
  GL_HD T operator()(T x) const {
    return tanh(x);
  }
};
struct Sigmoid {
  template <class T>
  GL_HD T operator()(T x) const {
    return sigmoid(x);
  }
};
struct Silu {
  template <class T>
  GL_HD T operator()(T x) const {
    return x * sigmoid(x);
  }
};
// softsign = x / (1 + |x|): a tanh-like squash with polynomial tails.
struct Softsign {
  template <class T>
  GL_HD T operator()(T x) const {
    return x / (T(1) + std::fabs(x));
  }
};

// GELU, erf form: x Phi(x) = x/2 erfc(-x/sqrt2), written with erfc so that the
// small tail for negative x keeps its relative accuracy.
struct GeluErf {
  template <class T>
  GL_HD T operator()(T x) const {
    return T(0.5) * x * erfc(x * T(-0.70710678118654752));
  }
};
// GELU, tanh form: x/2 (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3);
// the sigmoid form avoids cancelling 1 + tanh(u) for negative x.
struct GeluTanh {
  template <class T>
  GL_HD T operator()(T x) const {
    const T u = T(0.79788456080286536) * (x + T(0.044715) * x * x * x);
    return x * sigmoid(T(2) * u);
  }
};
// softplus(x) = log(1 + exp(beta x)) / beta, linear where beta x > threshold;
// max(z, 0) + log1p(exp(-|z|)) never overflows.
struct Softplus {
  double beta, threshold;
  template <class T>
  GL_HD T operator()(T x) const {
    const T z = T(beta) * x;
    const T az = z < T(0) ? -z : z;
    const T sp = (z > T(0) ? z : T(0)) + log1p(exp(-az));
    return z > T(threshold) ? x : sp / T(beta);
  }
};
struct Clamp {
  double lo, hi;
  template <class T>
  GL_HD T operator()(T x) const {
    const T l = T(lo), h = T(hi);
    return x < l ? l : (x > h ? h : x);
  }
};
struct PowScalar {
  double p;
  template <class T>
  GL_HD T operator()(T x) const {
    if (p == 2.0) return x * x;
    if (p == 0.5) return std::sqrt(x);
    if (p == 1.0) return x;
    return T(std::pow(x, T(p)));
  }
};

// ---- derivatives of the unary ops ----
// dx = dout * f'(x), given x, the forward output y = f(x) and dout; each reads
// whichever of x and y makes the formula cheapest and most accurate.
struct NegGrad {
  template <class T>
  GL_HD T operator()(T, T, T d) const {
    return -d;
  }
};
struct AbsGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    return x > T(0) ? d : (x < T(0) ? -d : T(0));
  }
};
struct ZeroGrad {
  template <class T>
  GL_HD T operator()(T, T, T) const {
    return T(0);
  }
};
struct SquareGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    return T(2) * x * d;
  }
};
struct ReluGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    return x > T(0) ? d : T(0);
  }
};
struct ExpGrad {
  template <class T>
  GL_HD T operator()(T, T y, T d) const {
    return d * y;
  }
};
struct LogGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    return d / x;
  }
};
struct Log1pGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    return d / (T(1) + x);
  }
};
struct SqrtGrad {
  template <class T>
  GL_HD T operator()(T, T y, T d) const {
    return d * T(0.5) / y;
  }
};
struct RsqrtGrad {
  template <class T>
  GL_HD T operator()(T, T y, T d) const {
    return d * T(-0.5) * y * y * y;
  }
};
struct TanhGrad {
  template <class T>
  GL_HD T operator()(T, T y, T d) const {
    return d * (T(1) - y * y);
  }
};
struct SigmoidGrad {
  template <class T>
  GL_HD T operator()(T, T y, T d) const {
    return d * y * (T(1) - y);
  }
};
// silu = x s(x): s + x s (1 - s)
// (from s = sigmoid(x) too, as a fused forward that kept it passes it)
template <class T>
GL_HD T silu_grad(T x, T s, T d) {
  return d * s * (T(1) + x * (T(1) - s));
}
struct SiluGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    return silu_grad(x, sigmoid(x), d);
  }
};
// softsign' = 1 / (1 + |x|)^2
struct SoftsignGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    const T q = T(1) + std::fabs(x);
    return d / (q * q);
  }
};
// gelu = x Phi(x): Phi(x) + x phi(x)
struct GeluErfGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    const T cdf = T(0.5) * erfc(x * T(-0.70710678118654752));
    const T pdf = T(0.39894228040143268) * exp(T(-0.5) * x * x);
    return d * (cdf + x * pdf);
  }
};
// gelu_tanh = x s(2u): s + 2 x u' s (1 - s), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
struct GeluTanhGrad {
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    const T u = T(0.79788456080286536) * (x + T(0.044715) * x * x * x);
    const T du = T(0.79788456080286536) * (T(1) + T(0.134145) * x * x);
    const T s = sigmoid(T(2) * u);
    return d * (s + T(2) * x * du * s * (T(1) - s));
  }
};
// softplus' = s(beta x), 1 where the forward is linear
struct SoftplusGrad {
  double beta, threshold;
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    const T z = T(beta) * x;
    return z > T(threshold) ? d : d * sigmoid(z);
  }
};
// clamp passes the gradient inside [lo, hi], bounds included
struct ClampGrad {
  double lo, hi;
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    return (x >= T(lo) && x <= T(hi)) ? d : T(0);
  }
};
struct PowScalarGrad {
  double p;
  template <class T>
  GL_HD T operator()(T x, T, T d) const {
    if (p == 2.0) return T(2) * x * d;
    if (p == 1.0) return d;
    if (p == 0.0) return T(0);
    return d * T(p) * T(std::pow(x, T(p - 1.0)));
  }
};

// ---- binary ----
struct Add {
  template <class T>
  GL_HD T operator()(T a, T b) const {
    return a + b;
  }
};
struct Sub {
  template <class T>
  GL_HD T operator()(T a, T b) const {
    return a - b;
  }
};
struct Mul {
  template <class T>
  GL_HD T operator()(T a, T b) const {
    return a * b;
  }
};
struct Div {
  template <class T>
  GL_HD T operator()(T a, T b) const {
    return a / b;
  }
};
struct Pow {
  template <class T>
  GL_HD T operator()(T a, T b) const {
    return T(std::pow(a, b));
  }
};
// maximum and minimum propagate NaN, as NumPy's do.
struct Maximum {
  template <class T>
  GL_HD T operator()(T a, T b) const {
    return (a > b || a != a) ? a : b;
  }
};
struct Minimum {
  template <class T>
  GL_HD T operator()(T a, T b) const {
    return (a < b || a != a) ? a : b;
  }
};

// ---- comparisons (produce 0 or 1) ----
struct Eq {
  template <class T>
  GL_HD bool operator()(T a, T b) const {
    return a == b;
  }
};
struct Ne {
  template <class T>
  GL_HD bool operator()(T a, T b) const {
    return a != b;
  }
};
struct Lt {
  template <class T>
  GL_HD bool operator()(T a, T b) const {
    return a < b;
  }
};
struct Le {
  template <class T>
  GL_HD bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct Gt {
  template <class T>
  GL_HD bool operator()(T a, T b) const {
    return a > b;
  }
};
struct Ge {
  template <class T>
  GL_HD bool operator()(T a, T b) const {
    return a >= b;
  }
};

// clang-format on

}  // namespace gradlab::fn
