// Branch-free f32 versions of exp, expm1, log, log1p, tanh and erfc that the
// compiler can vectorise (glibc's scalar expf cannot be, without -ffast-math).
// They propagate NaN and get the infinities right. Largest errors over their
// domains, with or without fused multiply-adds: exp 1.5 ulp, expm1 2.5, log
// 1.5, log1p 2, tanh 3; erfc as stated below. tests/tensor/test_vec_math.cpp
// checks these against the f64 library functions over dense sweeps. f64
// callers use <cmath> directly.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "tensor/host_device.h"

namespace gradlab::vm {

GL_HD float from_bits(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
GL_HD int32_t to_bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

// 2^n for integer-valued n in [-126, 127], built from the exponent bits.
GL_HD float pow2i(int32_t n) { return from_bits((n + 127) << 23); }

// exp(x) = 2^n exp(r), n = round(x / ln2), |r| <= ln2 / 2; exp(r) by its Taylor
// series to r^7 (truncation error < 5e-9): exp_reduced(x, n) gives exp(r) and n.
GL_HD float exp_reduced(float x, int32_t& ni) {
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;  // ln2 in two parts
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  ni = static_cast<int32_t>(n);
  return p;
}

// exp over every f32: 2^n is applied in two halves, 2^floor(n/2) then the
// rest, so that n in [-150, 128] neither overflows the exponent field nor
// loses denormals: the first product is exact, and the second rounds once (so
// which half goes first does not change the result).
GL_HD float exp(float x) {
  const float xc = x < -104.f ? -104.f : (x > 89.f ? 89.f : x);
  int32_t ni;
  const float p = exp_reduced(xc, ni);
  const int32_t n1 = ni >> 1;  // floor(ni / 2): one shift, where ni / 2 needs a sign fix-up
  const float y = p * pow2i(n1) * pow2i(ni - n1);
  return x != x ? x : y;
}

// exp(x) for x in [0, 88] (or NaN, which gives a NaN), where exp() gives the
// same value with less work: no clamp, and 2^n in one product, which is exact
// there as both of exp()'s are.
GL_HD float exp_nonneg(float x) {
  int32_t ni;
  const float p = exp_reduced(x, ni);
  return p * pow2i(ni);
}

// exp(x) - 1 for |x| < 0.5 by its Taylor series to x^8.
GL_HD float expm1_taylor(float x) {
  float p = 1.f / 40320.f;
  p = p * x + 1.f / 5040.f;
  p = p * x + 1.f / 720.f;
  p = p * x + 1.f / 120.f;
  p = p * x + 1.f / 24.f;
  p = p * x + 1.f / 6.f;
  p = p * x + 0.5f;
  p = p * x + 1.f;
  return p * x;
}

// exp(x) - 1 without cancellation near 0: the Taylor series for |x| < 0.5.
GL_HD float expm1(float x) {
  const float small = expm1_taylor(x);
  return std::fabs(x) < 0.5f ? small : exp(x) - 1.f;
}

// log(x) = e ln2 + log(1 + f), 1 + f = m in [sqrt(1/2), sqrt(2)). With
// s = f / (2 + f), log(1 + f) = 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R)),
// R = 2s^2/3 + 2s^4/5 + ... to s^8 (|s| < 0.172); this arrangement keeps the
// large term f exact so the result is within about 1 ulp.
GL_HD float log(float x) {
  const bool denormal = x < 1.17549435e-38f;
  const float xs = denormal ? x * 8388608.f : x;  // 2^23 lifts denormals
  const int32_t bits = to_bits(xs);
  int32_t e = ((bits >> 23) & 0xff) - 127 - (denormal ? 23 : 0);
  float m = from_bits((bits & 0x007fffff) | 0x3f800000);  // in [1, 2)
  const bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = big ? e + 1 : e;
  const float f = m - 1.f;
  const float s = f / (2.f + f);
  const float s2 = s * s;
  float R = 2.f / 9.f;
  R = R * s2 + 2.f / 7.f;
  R = R * s2 + 2.f / 5.f;
  R = R * s2 + 2.f / 3.f;
  R = R * s2;
  const float hfsq = 0.5f * f * f;
  const float fe = static_cast<float>(e);
  // ln2 in two parts so that fe * ln2_hi is exact
  const float y = fe * 0.693145751953125f + (f - (hfsq - (s * (hfsq + R) + fe * 1.42860682030941723e-6f)));
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float r = x == inf ? inf : y;
  r = x == 0.f ? -inf : r;
  r = (x < 0.f || x != x) ? nan : r;
  return r;
}

// log(1 + x) within 2 ulp, near 0 too: log(u) of the rounded u = 1 + x, plus the
// first-order correction (x - (u - 1)) / u for the rounding of u.
GL_HD float log1p(float x) {
  const float u = 1.f + x;
  const float y = log(u) + (x - (u - 1.f)) / u;
  const float r = u == 1.f ? x : y;
  return x == std::numeric_limits<float>::infinity() ? x : r;
}

// tanh(x) = sign(x) e / (e + 2) with e = expm1(2|x|); |x| clipped at 10 where
// tanh is 1 in f32. 2|x| is in [0, 20], where exp_nonneg is expm1's exp.
GL_HD float tanh(float x) {
  float ax = std::fabs(x);
  ax = ax > 10.f ? 10.f : ax;
  const float u = 2.f * ax;
  const float small = expm1_taylor(u);
  const float e = u < 0.5f ? small : exp_nonneg(u) - 1.f;
  const float t = e / (e + 2.f);
  return x != x ? x : std::copysign(t, x);
}

GL_HD float sigmoid(float x) { return 1.f / (1.f + exp(-x)); }

// erfc(z) for z >= 0 from the Chebyshev fit in Numerical Recipes (erfcc),
// whose own relative error is below 1.2e-7. Evaluated in f32 the relative
// error is below 4e-7 + z^2 * 1.2e-7 (rounding of the exponent, z^2 included;
// half that with fused multiply-adds): 2.3e-6 at z = 4, where erfc is 1.5e-8.
GL_HD float erfc_nonneg(float z) {
  const float t = 1.f / (1.f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * exp(p - z * z);
}

}  // namespace gradlab::vm
