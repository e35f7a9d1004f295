// Reference cross-entropy over the rows of logits [N, C] against target [N]
// (i64, < C; a negative target marks a row ignored), in double:
//
//   lse_n  = m + log sum_c exp(x_nc - m),  m = max_c x_nc  (lse = m when m is infinite)
//   loss_n = lse_n - x_n,target            (0 if ignored)
//   dx_nc  = (exp(x_nc - lse_n) - [c == target]) * dloss_n   (0 if ignored)
//
// Targets are checked (< C) before anything is written.
#include <cmath>

#include "tensor/functors.h"
#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

namespace {
void check_targets(const Tensor& target, int64_t classes) {
  for (int64_t n = 0; n < target.numel(); ++n) {
    const int64_t t = at<int64_t>(target, n);
    GL_CHECK(t < classes, "cross_entropy: target {} of row {} is out of range for {} classes", t, n, classes);
  }
}
}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& loss, const Tensor& lse) {
  const int64_t N = logits.size(0), C = logits.size(1);
  check_targets(target, C);
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n = 0; n < N; ++n) {
      auto x = [&](int64_t c) { return double(at<T>(logits, n * C + c)); };  // x_nc
      double m = -INFINITY;
      for (int64_t c = 0; c < C; ++c) m = fn::Maximum{}(m, x(c));  // NaN propagates
      double z = m;
      if (!std::isinf(m)) {
        double sum = 0;
        for (int64_t c = 0; c < C; ++c) sum += std::exp(x(c) - m);
        z = m + std::log(sum);
      }
      const int64_t t = at<int64_t>(target, n);
      at<T>(lse, n) = T(z);
      at<T>(loss, n) = t < 0 ? T(0) : T(z - x(t));
    }
  });
}

void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss,
                            const Tensor& dlogits) {
  const int64_t N = logits.size(0), C = logits.size(1);
  check_targets(target, C);
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t t = at<int64_t>(target, n);
      const double z = at<T>(lse, n), g = at<T>(dloss, n);
      for (int64_t c = 0; c < C; ++c) {
        const double p = std::exp(double(at<T>(logits, n * C + c)) - z);  // softmax probability
        at<T>(dlogits, n * C + c) = t < 0 ? T(0) : T((p - (c == t ? 1.0 : 0.0)) * g);
      }
    }
  });
}

}  // namespace gradlab::ref
