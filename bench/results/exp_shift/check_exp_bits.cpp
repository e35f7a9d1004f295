// Every f32 input, through vm::exp as it is now (tensor/vec_math.h) and as it
// was before the halving of n became a shift (written out below), and through
// sigmoid built on each: counts the inputs whose results differ in any bit.
// Build it twice, vectorised and not, since the loop's scalar and vector
// code contract multiply-adds differently (README.md here has the commands).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "tensor/vec_math.h"

namespace {

using gradlab::vm::from_bits;
using gradlab::vm::pow2i;
using gradlab::vm::to_bits;

// vm::exp before: n / 2 (truncating) where it is now n >> 1 (flooring).
inline float exp_before(float x) {  // inline, as vm::exp is: a call would keep 1 + exp from fusing
  const float xc = x < -104.f ? -104.f : (x > 89.f ? 89.f : x);
  const float n = std::nearbyint(xc * 1.44269504088896341f);
  const float r = (xc - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni / 2;
  const float y = p * pow2i(n1) * pow2i(ni - n1);
  return x != x ? x : y;
}

__attribute__((noinline)) void run(bool before, bool sigmoid, const float* x, float* y, int64_t n) {
  if (before && sigmoid)
    for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + exp_before(-x[i]));
  else if (sigmoid)
    for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + gradlab::vm::exp(-x[i]));
  else if (before)
    for (int64_t i = 0; i < n; ++i) y[i] = exp_before(x[i]);
  else
    for (int64_t i = 0; i < n; ++i) y[i] = gradlab::vm::exp(x[i]);
}

}  // namespace

int main() {
  const int64_t chunk = int64_t(1) << 24;
  std::vector<float> x(static_cast<size_t>(chunk)), a(x.size()), b(x.size());
  int64_t differ[2] = {0, 0};
  for (int64_t base = 0; base < (int64_t(1) << 32); base += chunk) {
    for (int64_t i = 0; i < chunk; ++i) x[size_t(i)] = from_bits(int32_t(uint32_t(base + i)));
    for (int s = 0; s < 2; ++s) {
      run(true, s == 1, x.data(), a.data(), chunk);
      run(false, s == 1, x.data(), b.data(), chunk);
      for (int64_t i = 0; i < chunk; ++i) differ[s] += to_bits(a[size_t(i)]) != to_bits(b[size_t(i)]);
    }
  }
  std::printf("exp: %lld of 2^32 inputs differ in bits; sigmoid: %lld\n", (long long)differ[0], (long long)differ[1]);
  return differ[0] != 0 || differ[1] != 0;
}
