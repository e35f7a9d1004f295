// CPU random fills: element i is computed from its own Philox block and word
// (see tensor/random.h), so the result does not depend on thread count.
#include "tensor/random.h"

#include <cmath>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

// Box-Muller on the pair of uniforms (u1, u2), u1 in (0, 1]: returns the cos
// (first = true) or sin member of the pair. Computed in f64 for f32 too, so
// every backend rounds the same value.
double box_muller(double u1, double u2, bool first) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double angle = 6.283185307179586 * u2;
  return first ? r * std::cos(angle) : r * std::sin(angle);
}

// Standard normal number i of the stream.
template <class T>
double philox_normal(uint64_t seed, uint64_t offset, int64_t i) {
  // Elements 2j and 2j+1 share the uniforms 2j and 2j+1: words (0, 1) or
  // (2, 3) of one block in f32, the two 64-bit halves of one block in f64.
  const int64_t pair = i & ~int64_t(1);
  double u1, u2;
  if constexpr (std::is_same_v<T, float>) {
    u1 = philox_uniform_f32(seed, offset, pair);
    u2 = philox_uniform_f32(seed, offset, pair + 1);
  } else {
    u1 = philox_uniform_f64(seed, offset, pair);
    u2 = philox_uniform_f64(seed, offset, pair + 1);
  }
  return box_muller(1.0 - u1, u2, (i & 1) == 0);
}

}  // namespace

void random(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, const Tensor& out) {
  GL_CHECK(out.is_contiguous(), "random: output must be contiguous");
  const int64_t n = out.numel();
  dispatch_numeric(out.dtype(), "random", [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    parallel_for(n, kGrainTranscendental, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          if (kind == RandomKind::uniform) {
            const double u = std::is_same_v<T, float> ? double(philox_uniform_f32(seed, offset, i))
                                                      : philox_uniform_f64(seed, offset, i);
            p[i] = T(a + (b - a) * u);
          } else {
            p[i] = T(a + b * philox_normal<T>(seed, offset, i));
          }
        } else {
          // Lemire's multiply-shift maps a 32-bit word onto [0, range).
          uint32_t w[4];
          philox_block(seed, offset + uint64_t(i) / 4, w);
          const uint64_t range = uint64_t(int64_t(b) - int64_t(a));
          p[i] = T(int64_t(a) + int64_t((uint64_t(w[i % 4]) * range) >> 32));
        }
      }
    });
  });
}

}  // namespace gradlab::cpu
