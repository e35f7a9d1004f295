// CPU random fills: element i is computed from its own Philox block and word
// by the functions every backend shares (tensor/random.h: philox_uniform,
// philox_normal, philox_randint), so the result depends on no thread count.
#include "tensor/random.h"

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

void random(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, const Tensor& out) {
  GL_CHECK(out.is_contiguous(), "random: output must be contiguous");
  const int64_t n = out.numel();
  dispatch_numeric(out.dtype(), "random", [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    parallel_for(n, kGrainTranscendental, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
          if (kind == RandomKind::uniform)
            p[i] = T(a + (b - a) * philox_uniform<T>(seed, offset, i));
          else
            p[i] = T(a + b * philox_normal<T>(seed, offset, i));
        } else {
          p[i] = T(philox_randint(seed, offset, i, int64_t(a), int64_t(b)));
        }
      }
    });
  });
}

}  // namespace gradlab::cpu
