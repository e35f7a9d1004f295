// CUDA kernels along one axis of a contiguous [outer, n, inner] layout:
// softmax and log_softmax, cumsum, gather, scatter_add, index_select and
// index_add (the embedding's forward and backward). The CPU twins are in
// tensor/cpu/axis_ops.cpp. Indices are validated inside the kernels: a bad
// one is skipped and reported through the error slot, then raised on the host
// at its next check (tensor/cuda/error_slot.h).
// scatter_add and index_add accumulate with atomics, so repeated indices add
// up in an unspecified order (floating sums may differ from the CPU's in the
// last bits).
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

namespace {

// ---- softmax ----
// One block per row of n contiguous values: max, then the f64 sum of
// exp(x - max), then the normalised (or log) values.
template <class T>
__global__ void softmax_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  __shared__ T smax[32];
  __shared__ double ssum[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * n;
    T* yr = y + row * n;
    T m = MaxOp<T>::init();
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fn::Maximum{}(m, xr[j]);
    m = block_reduce<MaxOp<T>>(m, smax);
    if (isinf(m)) m = T(0);  // all -inf (or an inf): keep exp(x - m) finite where possible
    double s = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += double(fn::exp(xr[j] - m));
    s = block_reduce<DoubleSum>(s, ssum);
    if (log) {
      const T shift = m + T(::log(s));
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = xr[j] - shift;
    } else {
      const T inv = T(1.0 / s);
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) yr[j] = fn::exp(xr[j] - m) * inv;
    }
  }
}

// One thread per (outer, inner) column when the axis is not the last.
template <class T>
__global__ void softmax_cols(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t total = outer * inner, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t job = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; job < total; job += step) {
    const int64_t o = job / inner, i = job % inner;
    const T* xc = x + o * n * inner + i;
    T* yc = y + o * n * inner + i;
    T m = MaxOp<T>::init();
    for (int64_t r = 0; r < n; ++r) m = fn::Maximum{}(m, xc[r * inner]);
    if (isinf(m)) m = T(0);
    double s = 0;
    for (int64_t r = 0; r < n; ++r) s += double(yc[r * inner] = fn::exp(xc[r * inner] - m));
    const T shift = m + T(::log(s)), inv = T(1.0 / s);
    for (int64_t r = 0; r < n; ++r) yc[r * inner] = log ? xc[r * inner] - shift : yc[r * inner] * inv;
  }
}

// ---- cumsum: one thread per (outer, inner) column, accumulating in f64 / i64 ----
template <class T>
__global__ void cumsum_cols(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  const int64_t total = outer * inner, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t job = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; job < total; job += step) {
    const int64_t o = job / inner, i = job % inner;
    Acc acc = 0;
    for (int64_t r = 0; r < n; ++r) {
      const int64_t at = (o * n + r) * inner + i;
      acc += Acc(x[at]);
      y[at] = T(acc);
    }
  }
}

// Shape of the output / index and strides of the indexed tensor, by value.
struct GatherGeometry {
  int nd, axis;
  int64_t n_axis;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];  // of x (gather) or out (scatter_add)
};

template <class I>
__device__ __forceinline__ bool wrap(I raw, int64_t n, int64_t& idx) {
  idx = raw < 0 ? int64_t(raw) + n : int64_t(raw);
  return idx >= 0 && idx < n;
}

__device__ __forceinline__ int64_t scatter_offset(const GatherGeometry& g, int64_t lin, int64_t idx) {
  int64_t rem = lin, off = 0;
  for (int d = g.nd - 1; d >= 0; --d) {
    const int64_t c = rem % g.shape[d];
    rem /= g.shape[d];
    off += (d == g.axis ? idx : c) * g.strides[d];
  }
  return off;
}

template <class T, class I>
__global__ void gather_kernel(const T* x, const I* index, T* out, int64_t total, GatherGeometry g, IndexCheck check) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t lin = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; lin < total; lin += step) {
    int64_t idx;
    if (!wrap(index[lin], g.n_axis, idx)) {
      report_bad_index(check, int64_t(index[lin]), lin);
      out[lin] = T(0);
      continue;
    }
    out[lin] = x[scatter_offset(g, lin, idx)];
  }
}

template <class T, class I>
__global__ void scatter_add_kernel(T* out, const I* index, const T* src, int64_t total, GatherGeometry g,
                                   IndexCheck check) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t lin = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; lin < total; lin += step) {
    int64_t idx;
    if (!wrap(index[lin], g.n_axis, idx)) {
      report_bad_index(check, int64_t(index[lin]), lin);
      continue;
    }
    atomic_add(out + scatter_offset(g, lin, idx), src[lin]);
  }
}

// out [outer, m, inner] = x [outer, n, inner] at rows index[m].
template <class T, class I>
__global__ void index_select_kernel(const T* x, const I* index, T* out, int64_t outer, int64_t n, int64_t m,
                                    int64_t inner, IndexCheck check) {
  const int64_t total = outer * m * inner, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t lin = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; lin < total; lin += step) {
    const int64_t i = lin % inner, j = (lin / inner) % m, o = lin / (inner * m);
    int64_t row;
    if (!wrap(index[j], n, row)) {
      report_bad_index(check, int64_t(index[j]), j);
      out[lin] = T(0);
      continue;
    }
    out[lin] = x[(o * n + row) * inner + i];
  }
}

// out [outer, n, inner] += src [outer, m, inner] at rows index[m].
template <class T, class I>
__global__ void index_add_kernel(T* out, const I* index, const T* src, int64_t outer, int64_t n, int64_t m,
                                 int64_t inner, IndexCheck check) {
  const int64_t total = outer * m * inner, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t lin = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; lin < total; lin += step) {
    const int64_t i = lin % inner, j = (lin / inner) % m, o = lin / (inner * m);
    int64_t row;
    if (!wrap(index[j], n, row)) {
      report_bad_index(check, int64_t(index[j]), j);
      continue;
    }
    atomic_add(out + (o * n + row) * inner + i, src[lin]);
  }
}

GatherGeometry geometry(const Shape& shape, const Shape& strides, int axis, int64_t n_axis) {
  GatherGeometry g{};
  g.nd = shape.size();
  g.axis = axis;
  g.n_axis = n_axis;
  for (int d = 0; d < g.nd; ++d) {
    g.shape[d] = shape[d];
    g.strides[d] = strides[d];
  }
  return g;
}

}  // namespace

void softmax(const Tensor& x_in, int axis, bool log, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  if (x.numel() == 0) return;
  dispatch_float(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    if (s.inner == 1) {
      softmax_rows<T>
          <<<unsigned(std::min<int64_t>(s.outer, 1 << 20)), row_threads(std::min<int64_t>(s.n, 512)), 0, stream()>>>(
              ptr<const T>(x), ptr<T>(out), s.outer, s.n, log);
    } else {
      softmax_cols<T><<<blocks_for(s.outer * s.inner, kThreads), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<T>(out),
                                                                                          s.outer, s.n, s.inner, log);
    }
    GL_CUDA_LAUNCHED("softmax");
  });
}

void cumsum(const Tensor& x_in, int axis, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  if (x.numel() == 0) return;
  dispatch_numeric(x.dtype(), "cumsum", [&](auto tag) {
    using T = decltype(tag);
    cumsum_cols<T><<<blocks_for(s.outer * s.inner, kThreads), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<T>(out),
                                                                                       s.outer, s.n, s.inner);
    GL_CUDA_LAUNCHED("cumsum");
  });
}

void gather(const Tensor& x, int axis, const Tensor& index_in, const Tensor& out) {
  const Tensor index = index_in.contiguous();
  const int64_t total = out.numel();
  if (total == 0) return;
  const GatherGeometry g = geometry(out.shape(), x.strides(), axis, x.shape()[axis]);
  const IndexCheck check = expect_check("gather", x.shape()[axis], CheckKind::index);
  dispatch_all(x.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "gather", [&](auto itag) {
      using I = decltype(itag);
      gather_kernel<T, I><<<blocks_for(total, kThreads), kThreads, 0, stream()>>>(ptr<const T>(x), ptr<const I>(index),
                                                                                  ptr<T>(out), total, g, check);
      GL_CUDA_LAUNCHED("gather");
    });
  });
  after_checked_launch();
}

void scatter_add(const Tensor& out, int axis, const Tensor& index_in, const Tensor& src_in) {
  const Tensor index = index_in.contiguous();
  const Tensor src = src_in.contiguous();
  const int64_t total = index.numel();
  if (total == 0) return;
  const GatherGeometry g = geometry(index.shape(), out.strides(), axis, out.shape()[axis]);
  const IndexCheck check = expect_check("scatter_add", out.shape()[axis], CheckKind::index);
  dispatch_numeric(out.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "scatter_add", [&](auto itag) {
      using I = decltype(itag);
      scatter_add_kernel<T, I><<<blocks_for(total, kThreads), kThreads, 0, stream()>>>(
          ptr<T>(out), ptr<const I>(index), ptr<const T>(src), total, g, check);
      GL_CUDA_LAUNCHED("scatter_add");
    });
  });
  after_checked_launch();
}

void index_select(const Tensor& x_in, int axis, const Tensor& index_in, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const Tensor index = index_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  const int64_t m = index.numel();
  if (out.numel() == 0) return;
  const IndexCheck check = expect_check("index_select", s.n, CheckKind::index);
  dispatch_all(x.dtype(), "index_select", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "index_select", [&](auto itag) {
      using I = decltype(itag);
      index_select_kernel<T, I><<<blocks_for(s.outer * m * s.inner, kThreads), kThreads, 0, stream()>>>(
          ptr<const T>(x), ptr<const I>(index), ptr<T>(out), s.outer, s.n, m, s.inner, check);
      GL_CUDA_LAUNCHED("index_select");
    });
  });
  after_checked_launch();
}

void index_add(const Tensor& out, int axis, const Tensor& index_in, const Tensor& src_in) {
  const Tensor index = index_in.contiguous();
  const Tensor src = src_in.contiguous();
  const AxisSplit s = split_at_axis(out.shape(), axis);
  const int64_t m = index.numel();
  if (src.numel() == 0) return;
  const IndexCheck check = expect_check("index_add", s.n, CheckKind::index);
  dispatch_numeric(out.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), "index_add", [&](auto itag) {
      using I = decltype(itag);
      index_add_kernel<T, I><<<blocks_for(s.outer * m * s.inner, kThreads), kThreads, 0, stream()>>>(
          ptr<T>(out), ptr<const I>(index), ptr<const T>(src), s.outer, s.n, m, s.inner, check);
      GL_CUDA_LAUNCHED("index_add");
    });
  });
  after_checked_launch();
}

}  // namespace gradlab::cuda
