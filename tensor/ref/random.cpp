// Reference random fills: element i (C order) of out from its own Philox block
// and word, through the functions every backend shares (tensor/random.h:
// philox_uniform, philox_normal, philox_randint), so the numbers are the CPU's
// bit for bit:
//   uniform on [a, b):      a + (b - a) u_i
//   normal (mean a, std b): a + b n_i, n_i from Box-Muller in double
//   randint on [a, b):      integer dtypes, Lemire's multiply-shift of one word
#include "tensor/random.h"

#include <type_traits>

#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

void random(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, const Tensor& out) {
  dispatch_numeric(out.dtype(), "random", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < out.numel(); ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        if (kind == RandomKind::uniform)
          at<T>(out, i) = T(a + (b - a) * philox_uniform<T>(seed, offset, i));
        else
          at<T>(out, i) = T(a + b * philox_normal<T>(seed, offset, i));
      } else {
        at<T>(out, i) = T(philox_randint(seed, offset, i, int64_t(a), int64_t(b)));
      }
    }
  });
}

}  // namespace gradlab::ref
