// Reference softmax and log_softmax along one axis of x, seen as [outer, n,
// inner] (one softmax per (outer, inner) pair), in double:
//
//   m     = max_r x_r                    (NaN if any x_r is NaN)
//   shift = m, or 0 when m is infinite
//   y_r   = exp(x_r - shift) / sum_s exp(x_s - shift)
//   log_softmax: y_r = x_r - (shift + log sum_s exp(x_s - shift))
//
// Unlike softmax_row (softmax.h), whose all -inf row gives zeros for a query
// that sees no key, this is the op's meaning (the CPU kernel's, and PyTorch's): a row of
// all -inf is 0/0 = NaN, and a +inf entry gives NaN there and 0 elsewhere.
#include <cmath>

#include "tensor/functors.h"
#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

void softmax(const Tensor& x, int axis, bool log, const Tensor& out) {
  const AxisSplit s = split_at_axis(x.shape(), axis);
  dispatch_float(x.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        auto elem = [&](int64_t r) { return (o * s.n + r) * s.inner + i; };  // C-order position of x_r
        double m = -INFINITY;
        for (int64_t r = 0; r < s.n; ++r) m = fn::Maximum{}(m, double(at<T>(x, elem(r))));
        const double shift = std::isinf(m) ? 0.0 : m;
        double sum = 0;
        for (int64_t r = 0; r < s.n; ++r) sum += std::exp(double(at<T>(x, elem(r))) - shift);
        for (int64_t r = 0; r < s.n; ++r) {
          const double xr = double(at<T>(x, elem(r)));
          at<T>(out, elem(r)) = T(log ? xr - (shift + std::log(sum)) : std::exp(xr - shift) / sum);
        }
      }
  });
}

}  // namespace gradlab::ref
