// Reference layer norm (equations in layer_norm.h): one row at a time, one
// loop per quantity, every sum in double.
#include "tensor/ref/layer_norm.h"

#include <cmath>
#include <vector>

#include "tensor/error.h"

namespace gradlab::ref {

template <class T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, double eps, int64_t rows, int64_t C, T* y, T* mean,
                        T* rstd) {
  GL_CHECK(rows >= 0 && C > 0, "ref::layer_norm_forward: bad shape [{}, {}]", rows, C);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    double m = 0;  // pass 1: the mean
    for (int64_t i = 0; i < C; ++i) m += double(xr[i]);
    m /= double(C);
    double var = 0;  // pass 2: the variance about that mean
    for (int64_t i = 0; i < C; ++i) var += (double(xr[i]) - m) * (double(xr[i]) - m);
    var /= double(C);
    const double rs = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < C; ++i) {  // pass 3: normalise, scale and shift
      const double xhat = (double(xr[i]) - m) * rs;
      const double w = weight ? double(weight[i]) : 1.0, b = bias ? double(bias[i]) : 0.0;
      y[r * C + i] = T(xhat * w + b);
    }
    mean[r] = T(m);
    rstd[r] = T(rs);
  }
}

template <class T>
void layer_norm_backward(const T* dy, const T* x, const T* weight, const T* mean, const T* rstd, int64_t rows,
                         int64_t C, T* dx, T* dweight, T* dbias) {
  GL_CHECK(rows >= 0 && C > 0, "ref::layer_norm_backward: bad shape [{}, {}]", rows, C);
  std::vector<double> dw(size_t(C), 0.0), db(size_t(C), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
    const double m = double(mean[r]), rs = double(rstd[r]);
    double g_mean = 0, gx_mean = 0;  // mean_j(g_j) and mean_j(g_j xhat_j)
    for (int64_t i = 0; i < C; ++i) {
      const double g = double(dyr[i]) * (weight ? double(weight[i]) : 1.0);
      const double xhat = (double(xr[i]) - m) * rs;
      g_mean += g;
      gx_mean += g * xhat;
    }
    g_mean /= double(C);
    gx_mean /= double(C);
    for (int64_t i = 0; i < C; ++i) {
      const double g = double(dyr[i]) * (weight ? double(weight[i]) : 1.0);
      const double xhat = (double(xr[i]) - m) * rs;
      dx[r * C + i] = T(rs * (g - g_mean - xhat * gx_mean));
      dw[size_t(i)] += double(dyr[i]) * xhat;
      db[size_t(i)] += double(dyr[i]);
    }
  }
  for (int64_t i = 0; i < C; ++i) {
    dweight[i] = T(dw[size_t(i)]);
    dbias[i] = T(db[size_t(i)]);
  }
}

template void layer_norm_forward<float>(const float*, const float*, const float*, double, int64_t, int64_t, float*,
                                        float*, float*);
template void layer_norm_forward<double>(const double*, const double*, const double*, double, int64_t, int64_t,
                                         double*, double*, double*);
template void layer_norm_backward<float>(const float*, const float*, const float*, const float*, const float*, int64_t,
                                         int64_t, float*, float*, float*);
template void layer_norm_backward<double>(const double*, const double*, const double*, const double*, const double*,
                                          int64_t, int64_t, double*, double*, double*);

}  // namespace gradlab::ref
