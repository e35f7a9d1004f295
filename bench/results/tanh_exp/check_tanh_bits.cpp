// Every f32 input through vm::exp, vm::expm1, vm::tanh and the sigmoid on
// vm::exp as they are now (tensor/vec_math.h), and as they were before tanh
// got its own exp for [0, 20] (written out below): counts the inputs whose
// results differ in any bit. Build it twice, vectorised and not, since the
// scalar and vector loops contract multiply-adds in different places and both
// kinds run in the library (README.md here has the commands).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "tensor/vec_math.h"

namespace {

using gradlab::vm::from_bits;
using gradlab::vm::pow2i;
using gradlab::vm::to_bits;

// The three functions before, as vec_math.h had them (inline, as they are
// there: a call would keep the callers' multiply-adds from fusing).
inline float exp_before(float x) {
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
  const int32_t n1 = ni >> 1;
  const float y = p * pow2i(n1) * pow2i(ni - n1);
  return x != x ? x : y;
}

inline float expm1_before(float x) {
  float p = 1.f / 40320.f;
  p = p * x + 1.f / 5040.f;
  p = p * x + 1.f / 720.f;
  p = p * x + 1.f / 120.f;
  p = p * x + 1.f / 24.f;
  p = p * x + 1.f / 6.f;
  p = p * x + 0.5f;
  p = p * x + 1.f;
  const float small = p * x;
  return std::fabs(x) < 0.5f ? small : exp_before(x) - 1.f;
}

inline float tanh_before(float x) {
  float ax = std::fabs(x);
  ax = ax > 10.f ? 10.f : ax;
  const float e = expm1_before(2.f * ax);
  const float t = e / (e + 2.f);
  return x != x ? x : std::copysign(t, x);
}

enum Fn { kExp, kExpm1, kTanh, kSigmoid, kFns };
const char* const kNames[kFns] = {"exp", "expm1", "tanh", "sigmoid"};

__attribute__((noinline)) void run(bool before, int fn, const float* x, float* y, int64_t n) {
  namespace vm = gradlab::vm;
  switch (fn * 2 + int(before)) {
    case kExp * 2:
      for (int64_t i = 0; i < n; ++i) y[i] = vm::exp(x[i]);
      break;
    case kExp * 2 + 1:
      for (int64_t i = 0; i < n; ++i) y[i] = exp_before(x[i]);
      break;
    case kExpm1 * 2:
      for (int64_t i = 0; i < n; ++i) y[i] = vm::expm1(x[i]);
      break;
    case kExpm1 * 2 + 1:
      for (int64_t i = 0; i < n; ++i) y[i] = expm1_before(x[i]);
      break;
    case kTanh * 2:
      for (int64_t i = 0; i < n; ++i) y[i] = vm::tanh(x[i]);
      break;
    case kTanh * 2 + 1:
      for (int64_t i = 0; i < n; ++i) y[i] = tanh_before(x[i]);
      break;
    case kSigmoid * 2:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + vm::exp(-x[i]));
      break;
    default:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + exp_before(-x[i]));
      break;
  }
}

}  // namespace

int main() {
  const int64_t chunk = int64_t(1) << 24;
  std::vector<float> x(static_cast<size_t>(chunk)), a(x.size()), b(x.size());
  int64_t differ[kFns] = {};
  for (int64_t base = 0; base < (int64_t(1) << 32); base += chunk) {
    for (int64_t i = 0; i < chunk; ++i) x[size_t(i)] = from_bits(int32_t(uint32_t(base + i)));
    for (int f = 0; f < kFns; ++f) {
      run(true, f, x.data(), a.data(), chunk);
      run(false, f, x.data(), b.data(), chunk);
      for (int64_t i = 0; i < chunk; ++i) differ[f] += to_bits(a[size_t(i)]) != to_bits(b[size_t(i)]);
    }
  }
  int64_t total = 0;
  for (int f = 0; f < kFns; ++f) {
    std::printf("%s: %lld of 2^32 inputs differ in bits\n", kNames[f], (long long)differ[f]);
    total += differ[f];
  }
  return total != 0;
}
