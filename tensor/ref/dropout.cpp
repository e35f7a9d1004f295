// Reference dropout: out_i = x_i * keep_i / (1 - p), keep_i = (u_i >= p), with
// u_i element i (C order) of the uniform Philox stream (seed, offset) in x's
// dtype (tensor/random.h's philox_uniform). The CPU kernel makes the same
// numbers sixteen blocks at a time; here each element asks for its own. The
// product is taken in x's dtype with the scale rounded first, exactly as the
// CPU does, so that the two agree bit for bit (a dropped NaN or inf stays NaN).
#include "tensor/random.h"
#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out) {
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T scale = T(1.0 / (1.0 - p));
    for (int64_t i = 0; i < x.numel(); ++i) {
      const bool keep = philox_uniform<T>(seed, offset, i) >= p;
      at<T>(out, i) = at<T>(x, i) * (keep ? scale : T(0));
    }
  });
}

}  // namespace gradlab::ref
