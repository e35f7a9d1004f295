// CPU cross-entropy over the rows of logits [N, C] with targets [N] (i64;
// negative = ignored). Forward: lse = max + log sum exp(x - max) (the sum in
// f64) and loss = lse - x[target]. Backward: dx = (exp(x - lse) - onehot) *
// dloss. One pass per row, rows split across threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/exp_avx512.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/row_reduce.h"
#include "tensor/functors.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

// Serial, before any parallel loop: an exception must never leave an OpenMP region.
void check_targets(const int64_t* target, int64_t n, int64_t classes) {
  for (int64_t i = 0; i < n; ++i)
    GL_CHECK(target[i] < classes, "cross_entropy: target {} of row {} is out of range for {} classes", target[i], i,
             classes);
}

// Rows per thread chunk: about kGrainTranscendental exponentials.
int64_t row_grain(int64_t classes) { return std::max<int64_t>(1, kGrainTranscendental / classes); }

// log sum_j exp(x_j) of one row of n values, shifted by the row's max so that
// nothing overflows. `scratch` (n values) holds the exponentials, so that both
// the exp and the sum vectorise. An infinite max is the answer itself.
template <class T>
double row_logsumexp(const T* x, int64_t n, T* scratch) {
  const T m = max_row(x, n);
  if (std::isinf(m)) return double(m);
  exp_minus(x, scratch, n, m);
  return double(m) + std::log(sum_row(scratch, n));
}

}  // namespace

void cross_entropy(const Tensor& logits_in, const Tensor& target_in, const Tensor& loss, const Tensor& lse) {
  const Tensor logits = logits_in.contiguous();
  const Tensor target = target_in.contiguous();
  const int64_t n = logits.size(0), classes = logits.size(1);
  const int64_t* t = target.data<int64_t>();
  check_targets(t, n, classes);
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* x = logits.data<T>();
    T* out_loss = loss.data<T>();
    T* out_lse = lse.data<T>();
    parallel_for(n, row_grain(classes), [&](int64_t b, int64_t e) {
      std::vector<T> scratch(static_cast<size_t>(classes));
      for (int64_t i = b; i < e; ++i) {
        const T* row = x + i * classes;
        const double z = row_logsumexp(row, classes, scratch.data());
        out_lse[i] = T(z);
        out_loss[i] = t[i] < 0 ? T(0) : T(z - double(row[t[i]]));
      }
    });
  });
}

void cross_entropy_backward(const Tensor& logits_in, const Tensor& target_in, const Tensor& lse_in,
                            const Tensor& dloss_in, const Tensor& dlogits) {
  const Tensor logits = logits_in.contiguous();
  const Tensor target = target_in.contiguous();
  const Tensor lse = lse_in.contiguous();
  const Tensor dloss = dloss_in.contiguous();
  const int64_t n = logits.size(0), classes = logits.size(1);
  const int64_t* t = target.data<int64_t>();
  check_targets(t, n, classes);
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    const T* x = logits.data<T>();
    const T* z = lse.data<T>();
    const T* d = dloss.data<T>();
    T* dx = dlogits.data<T>();
    parallel_for(n, row_grain(classes), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T* row = x + i * classes;
        T* drow = dx + i * classes;
        if (t[i] < 0) {
          std::fill_n(drow, classes, T(0));
          continue;
        }
        const T g = d[i], shift = z[i];
        exp_minus(row, drow, classes, shift);
        for (int64_t j = 0; j < classes; ++j) drow[j] *= g;
        drow[t[i]] -= g;
      }
    });
  });
}

}  // namespace gradlab::cpu
