// CPU layer norm over the last axis of a contiguous x [rows, C], forward (also
// after a residual add, in the same pass) and backward, f32 and f64. Row
// statistics are accumulated in f64 (also for f32) with several independent
// accumulators so that the loops vectorise; rows run in parallel. The
// backward's dweight and dbias sum over rows: each chunk of rows keeps its own
// partial sums, added in chunk order afterwards.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

// sum_{i < n} f(i) in f64, with 8 accumulators combined in a fixed order.
template <class F>
double sum_lanes(int64_t n, F f) {
  constexpr int kLanes = 8;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += f(i + j);
  for (; i < n; ++i) acc[0] += f(i);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// One row: mean, biased variance (two passes), then y = xhat * w + b.
template <class T>
void layer_norm_row(const T* x, const T* w, const T* b, double eps, int64_t C, T* y, T& mean_out, T& rstd_out) {
  const double mean = sum_lanes(C, [&](int64_t i) { return double(x[i]); }) / double(C);
  const double var = sum_lanes(C,
                               [&](int64_t i) {
                                 const double d = double(x[i]) - mean;
                                 return d * d;
                               }) /
                     double(C);
  const double rstd = 1.0 / std::sqrt(var + eps);
  for (int64_t i = 0; i < C; ++i) {
    const double xhat = (double(x[i]) - mean) * rstd;
    y[i] = T(xhat * (w ? double(w[i]) : 1.0) + (b ? double(b[i]) : 0.0));
  }
  mean_out = T(mean);
  rstd_out = T(rstd);
}

// One row of the backward, with g = dy * w and xhat = (x - mean) rstd:
//   dx = rstd (g - mean(g) - xhat mean(g xhat)),
// adding dy xhat into dw and dy into db.
template <class T>
void layer_norm_backward_row(const T* dy, const T* x, const T* w, double mean, double rstd, int64_t C, T* dx,
                             double* dw, double* db) {
  auto xhat = [&](int64_t i) { return (double(x[i]) - mean) * rstd; };
  auto g = [&](int64_t i) { return double(dy[i]) * (w ? double(w[i]) : 1.0); };
  const double g_mean = sum_lanes(C, g) / double(C);
  const double gx_mean = sum_lanes(C, [&](int64_t i) { return g(i) * xhat(i); }) / double(C);
  for (int64_t i = 0; i < C; ++i) {
    const double xh = xhat(i);
    dx[i] = T(rstd * (g(i) - g_mean - xh * gx_mean));
    dw[i] += double(dy[i]) * xh;
    db[i] += double(dy[i]);
  }
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd) {
  const int64_t C = x.shape().back(), rows = x.numel() / C;
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(weight);
    const T* pb = data_or_null<T>(bias);
    T* py = y.data<T>();
    T* pm = mean.data<T>();
    T* pr = rstd.data<T>();
    parallel_for(rows, std::max<int64_t>(1, kGrainElementwise / (4 * C)), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) layer_norm_row(px + r * C, pw, pb, eps, C, py + r * C, pm[r], pr[r]);
    });
  });
}

// Each row's sum is written, then normalised while it is still in cache: one
// pass over the rows instead of an add's and then layer_norm's.
void add_layer_norm(const Tensor& x, const Tensor& r, const Tensor& weight, const Tensor& bias, double eps,
                    const Tensor& sum, const Tensor& y, const Tensor& mean, const Tensor& rstd) {
  const int64_t C = x.shape().back(), rows = x.numel() / C;
  dispatch_float(x.dtype(), "add_layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pres = r.data<T>();
    const T* pw = data_or_null<T>(weight);
    const T* pb = data_or_null<T>(bias);
    T* ps = sum.data<T>();
    T* py = y.data<T>();
    T* pm = mean.data<T>();
    T* pr = rstd.data<T>();
    parallel_for(rows, std::max<int64_t>(1, kGrainElementwise / (4 * C)), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        T* s = ps + row * C;
        for (int64_t i = 0; i < C; ++i) s[i] = px[row * C + i] + pres[row * C + i];
        layer_norm_row(s, pw, pb, eps, C, py + row * C, pm[row], pr[row]);
      }
    });
  });
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const int64_t C = x.shape().back(), rows = x.numel() / C;
  // Chunks of rows, one per thread at most and none below the grain; the
  // split depends only on the sizes and the thread count.
  const int64_t chunks = std::clamp<int64_t>(rows * C / kGrainElementwise, 1, std::min<int64_t>(num_threads(), rows));
  std::vector<double> partial(size_t(chunks * 2 * C), 0.0);  // [chunk][dw | db]
  dispatch_float(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    const T* px = x.data<T>();
    const T* pw = data_or_null<T>(weight);
    const T* pm = mean.data<T>();
    const T* pr = rstd.data<T>();
    T* pdx = dx.data<T>();
    parallel_for(chunks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c) {
        double* dw = partial.data() + c * 2 * C;
        for (int64_t r = rows * c / chunks; r < rows * (c + 1) / chunks; ++r)
          layer_norm_backward_row(pdy + r * C, px + r * C, pw, double(pm[r]), double(pr[r]), C, pdx + r * C, dw,
                                  dw + C);
      }
    });
    T* pdw = dweight.data<T>();
    T* pdb = dbias.data<T>();
    for (int64_t i = 0; i < C; ++i) {
      double sw = 0, sb = 0;
      for (int64_t c = 0; c < chunks; ++c) {
        sw += partial[size_t(c * 2 * C + i)];
        sb += partial[size_t(c * 2 * C + C + i)];
      }
      pdw[i] = T(sw);
      pdb[i] = T(sb);
    }
  });
}

}  // namespace gradlab::cpu
