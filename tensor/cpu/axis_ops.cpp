// CPU kernels along one axis of a contiguous [outer, n, inner] layout: softmax
// and log_softmax, cumsum, gather, scatter_add and index_select.
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

// Softmax of a contiguous row of n values: shift by the max (no overflow),
// exponentiate, normalise by the sum (accumulated in f64).
template <class T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  T m = max_row(x, n);
  if (std::isinf(m)) m = T(0);  // all -inf (or an inf): keep exp(x - m) finite where possible
  exp_minus(x, y, n, m);
  const double s = sum_row(y, n);
  if (log) {
    const T shift = m + T(std::log(s));
    for (int64_t j = 0; j < n; ++j) y[j] = x[j] - shift;
  } else {
    const T inv = T(1.0 / s);
    for (int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
}

// The same for up to kTile columns at once of a [n, inner] slab (axis not
// last): every step is vectorised across the columns.
constexpr int64_t kTile = 64;
template <class T>
void softmax_columns(const T* x, T* y, int64_t n, int64_t inner, int64_t w, bool log) {
  T m[kTile];
  double s[kTile];
  for (int64_t i = 0; i < w; ++i) m[i] = -INFINITY, s[i] = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < w; ++i) m[i] = fn::Maximum{}(m[i], x[r * inner + i]);
  for (int64_t i = 0; i < w; ++i) m[i] = std::isinf(m[i]) ? T(0) : m[i];
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < w; ++i) s[i] += double(y[r * inner + i] = fn::exp(x[r * inner + i] - m[i]));
  for (int64_t i = 0; i < w; ++i) m[i] = log ? m[i] + T(std::log(s[i])) : T(1.0 / s[i]);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < w; ++i) y[r * inner + i] = log ? x[r * inner + i] - m[i] : y[r * inner + i] * m[i];
}

// Indices are checked in one serial pass before any parallel loop, since an
// exception must never leave an OpenMP region. Negative indices count from the end.
template <class I>
void check_indices(const I* idx, int64_t count, int64_t n, std::string_view op) {
  for (int64_t j = 0; j < count; ++j)
    GL_CHECK(idx[j] >= -n && idx[j] < n, "{}: index {} is out of range for an axis of size {}", op, int64_t(idx[j]), n);
}
template <class I>
int64_t wrap_index(I raw, int64_t n) {
  return raw < 0 ? int64_t(raw) + n : int64_t(raw);
}

}  // namespace

void softmax(const Tensor& x_in, int axis, bool log, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  dispatch_float(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    if (s.inner == 1) {
      parallel_for(s.outer, std::max<int64_t>(1, kGrainTranscendental / std::max<int64_t>(s.n, 1)),
                   [&](int64_t b, int64_t e) {
                     for (int64_t o = b; o < e; ++o) softmax_row(src + o * s.n, dst + o * s.n, s.n, log);
                   });
      return;
    }
    const int64_t tiles = (s.inner + kTile - 1) / kTile;
    parallel_for(s.outer * tiles, std::max<int64_t>(1, kGrainTranscendental / std::max<int64_t>(s.n * kTile, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t job = b; job < e; ++job) {
                     const int64_t o = job / tiles, i0 = (job % tiles) * kTile;
                     const int64_t base = o * s.n * s.inner + i0;
                     softmax_columns(src + base, dst + base, s.n, s.inner, std::min(kTile, s.inner - i0), log);
                   }
                 });
  });
}

void cumsum(const Tensor& x_in, int axis, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  dispatch_numeric(x.dtype(), "cumsum", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    parallel_for(s.outer, std::max<int64_t>(1, kGrainElementwise / std::max<int64_t>(s.n * s.inner, 1)),
                 [&](int64_t b, int64_t e) {
                   std::vector<Acc> acc(static_cast<size_t>(s.inner));
                   for (int64_t o = b; o < e; ++o) {
                     std::fill(acc.begin(), acc.end(), Acc(0));
                     for (int64_t r = 0; r < s.n; ++r) {
                       const int64_t base = (o * s.n + r) * s.inner;
                       for (int64_t i = 0; i < s.inner; ++i) dst[base + i] = T(acc[size_t(i)] += Acc(src[base + i]));
                     }
                   }
                 });
  });
}

void gather(const Tensor& x_in, int axis, const Tensor& index_in, const Tensor& out) {
  // out[o, j, i] = x[o, index[o, j, i], i]; index and out share a shape whose
  // sizes off the axis may be smaller than x's, so x is addressed by strides.
  const Tensor x = x_in;
  const Tensor index = index_in.contiguous();
  const int nd = out.dim();
  const int64_t n_axis = x.shape()[axis];
  dispatch_all(x.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "gather", [&](auto itag) {
      using I = decltype(itag);
      const I* idx = index.data<I>();
      check_indices(idx, index.numel(), n_axis, "gather");
      T* dst = out.data<T>();
      const T* src = static_cast<const T*>(x.data_ptr());
      const Shape& shape = out.shape();
      parallel_for(out.numel(), kGrainElementwise, [&](int64_t b, int64_t e) {
        for (int64_t lin = b; lin < e; ++lin) {
          int64_t rem = lin, off = 0;
          for (int d = nd - 1; d >= 0; --d) {
            const int64_t c = rem % shape[d];
            rem /= shape[d];
            off += (d == axis ? wrap_index(idx[lin], n_axis) : c) * x.strides()[d];
          }
          dst[lin] = src[off];
        }
      });
    });
  });
}

void scatter_add(const Tensor& out, int axis, const Tensor& index_in, const Tensor& src_in) {
  // out[o, index[o, j, i], i] += src[o, j, i]. Serial: duplicate indices would race.
  const Tensor index = index_in.contiguous();
  const Tensor src = src_in.contiguous();
  const int nd = index.dim();
  const int64_t n_axis = out.shape()[axis];
  dispatch_numeric(out.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "scatter_add", [&](auto itag) {
      using I = decltype(itag);
      const I* idx = index.data<I>();
      check_indices(idx, index.numel(), n_axis, "scatter_add");
      const T* s = src.data<T>();
      T* dst = static_cast<T*>(out.data_ptr());
      const Shape& shape = index.shape();
      for (int64_t lin = 0; lin < index.numel(); ++lin) {
        int64_t rem = lin, off = 0;
        for (int d = nd - 1; d >= 0; --d) {
          const int64_t c = rem % shape[d];
          rem /= shape[d];
          off += (d == axis ? wrap_index(idx[lin], n_axis) : c) * out.strides()[d];
        }
        dst[off] += s[lin];
      }
    });
  });
}

namespace {

// Copies one row of n elements. Rows of a few elements (a replay buffer's
// observations, a dataset's rows) are copied in place: a library memmove call
// per row of 16 bytes costs more than the copy. GCC would turn the plain loop
// back into that call, hence the attribute.
template <class T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void copy_row(const T* src, int64_t n, T* dst) {
  if (n > 16) {
    std::copy_n(src, n, dst);
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

}  // namespace

void index_select(const Tensor& x_in, int axis, const Tensor& index_in, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const Tensor index = index_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  const int64_t m = index.numel();
  dispatch_all(x.dtype(), "index_select", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "index_select", [&](auto itag) {
      using I = decltype(itag);
      const I* idx = index.data<I>();
      check_indices(idx, m, s.n, "index_select");
      std::vector<int64_t> rows(static_cast<size_t>(m));
      for (int64_t j = 0; j < m; ++j) rows[size_t(j)] = wrap_index(idx[j], s.n);
      const T* src = x.data<T>();
      T* dst = out.data<T>();
      parallel_for(s.outer * m, std::max<int64_t>(1, kGrainElementwise / std::max<int64_t>(s.inner, 1)),
                   [&](int64_t b, int64_t e) {
                     int64_t o = b / m, j = b % m;
                     for (int64_t job = b; job < e; ++job) {
                       copy_row(src + (o * s.n + rows[size_t(j)]) * s.inner, s.inner, dst + job * s.inner);
                       if (++j == m) {
                         j = 0;
                         ++o;
                       }
                     }
                   });
    });
  });
}

void index_add(const Tensor& out, int axis, const Tensor& index_in, const Tensor& src_in) {
  const Tensor index = index_in.contiguous();
  const Tensor src = src_in.contiguous();
  const AxisSplit s = split_at_axis(out.shape(), axis);
  const int64_t m = index.numel();
  dispatch_numeric(out.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "index_add", [&](auto itag) {
      using I = decltype(itag);
      const I* idx = index.data<I>();
      check_indices(idx, m, s.n, "index_add");
      const T* from = src.data<T>();
      T* dst = out.data<T>();
      // Parallel over the outer axes only: repeated indices must add serially.
      parallel_for(s.outer, std::max<int64_t>(1, kGrainElementwise / std::max<int64_t>(m * s.inner, 1)),
                   [&](int64_t b, int64_t e) {
                     for (int64_t o = b; o < e; ++o)
                       for (int64_t j = 0; j < m; ++j) {
                         T* row = dst + (o * s.n + wrap_index(idx[j], s.n)) * s.inner;
                         const T* add = from + (o * m + j) * s.inner;
                         for (int64_t i = 0; i < s.inner; ++i) row[i] += add[i];
                       }
                   });
    });
  });
}

}  // namespace gradlab::cpu
