// Reference row softmax (equations in softmax.h): a max pass, an exp-and-sum
// pass, a normalise pass.
#include "tensor/ref/softmax.h"

#include <cmath>
#include <limits>

#include "tensor/error.h"

namespace gradlab::ref {

template <class T>
double softmax_row(const T* x, int64_t n, T* y) {
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  double m = kNegInf;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, double(x[i]));
  if (m == kNegInf) {  // no entry takes part
    for (int64_t i = 0; i < n; ++i) y[i] = T(0);
    return kNegInf;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[i]) - m);
  for (int64_t i = 0; i < n; ++i) y[i] = T(std::exp(double(x[i]) - m) / sum);
  return m + std::log(sum);
}

template <class T>
void softmax_rows(const T* x, int64_t rows, int64_t n, T* y, T* lse) {
  GL_CHECK(rows >= 0 && n >= 0, "ref::softmax_rows: bad shape [{}, {}]", rows, n);
  for (int64_t r = 0; r < rows; ++r) {
    const double l = softmax_row(x + r * n, n, y + r * n);
    if (lse != nullptr) lse[r] = T(l);
  }
}

template double softmax_row<float>(const float*, int64_t, float*);
template double softmax_row<double>(const double*, int64_t, double*);
template void softmax_rows<float>(const float*, int64_t, int64_t, float*, float*);
template void softmax_rows<double>(const double*, int64_t, int64_t, double*, double*);

}  // namespace gradlab::ref
