// CUDA layer norm over the last axis of a contiguous x [rows, C], forward and
// backward, f32 and f64 (the CPU twins are in tensor/cpu/layer_norm.cpp). One
// block per row; the row statistics accumulate in f64, as on the CPU, with
// two passes (mean, then the biased variance). The backward's dweight and
// dbias are column sums over rows: each block of rows writes f64 partial sums,
// which a second kernel adds in a fixed order (deterministic, no atomics).
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

namespace {

template <class T>
__global__ void layer_norm_rows(const T* x, const T* w, const T* b, double eps, int64_t rows, int64_t C, T* y,
                                T* mean_out, T* rstd_out) {
  __shared__ double scratch[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * C;
    T* yr = y + row * C;
    double s = 0;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) s += double(xr[i]);
    const double mean = block_reduce<DoubleSum>(s, scratch) / double(C);
    double q = 0;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const double d = double(xr[i]) - mean;
      q += d * d;
    }
    const double var = block_reduce<DoubleSum>(q, scratch) / double(C);
    const double rstd = 1.0 / ::sqrt(var + eps);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const double xhat = (double(xr[i]) - mean) * rstd;
      yr[i] = T(xhat * (w ? double(w[i]) : 1.0) + (b ? double(b[i]) : 0.0));
    }
    if (threadIdx.x == 0) {
      mean_out[row] = T(mean);
      rstd_out[row] = T(rstd);
    }
  }
}

// dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy w, xhat = (x - mean) rstd.
template <class T>
__global__ void layer_norm_backward_rows(const T* dy, const T* x, const T* w, const T* mean, const T* rstd,
                                         int64_t rows, int64_t C, T* dx) {
  __shared__ double scratch[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* dyr = dy + row * C;
    const T* xr = x + row * C;
    const double mu = double(mean[row]), rs = double(rstd[row]);
    double sg = 0, sgx = 0;
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const double g = double(dyr[i]) * (w ? double(w[i]) : 1.0);
      sg += g;
      sgx += g * (double(xr[i]) - mu) * rs;
    }
    const double g_mean = block_reduce<DoubleSum>(sg, scratch) / double(C);
    const double gx_mean = block_reduce<DoubleSum>(sgx, scratch) / double(C);
    for (int64_t i = threadIdx.x; i < C; i += blockDim.x) {
      const double g = double(dyr[i]) * (w ? double(w[i]) : 1.0);
      const double xh = (double(xr[i]) - mu) * rs;
      dx[row * C + i] = T(rs * (g - g_mean - xh * gx_mean));
    }
  }
}

// partial[chunk][0..C) = sum over the chunk's rows of dy xhat, [C..2C) of dy.
template <class T>
__global__ void layer_norm_param_partials(const T* dy, const T* x, const T* mean, const T* rstd, int64_t rows,
                                          int64_t C, int64_t rows_per_chunk, double* partial) {
  const int64_t chunk = blockIdx.y;
  const int64_t r0 = chunk * rows_per_chunk, r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < C; i += int64_t(gridDim.x) * blockDim.x) {
    double dw = 0, db = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const double d = double(dy[r * C + i]);
      dw += d * (double(x[r * C + i]) - double(mean[r])) * double(rstd[r]);
      db += d;
    }
    partial[chunk * 2 * C + i] = dw;
    partial[chunk * 2 * C + C + i] = db;
  }
}

template <class T>
__global__ void layer_norm_param_sums(const double* partial, int64_t chunks, int64_t C, T* dweight, T* dbias) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < C; i += int64_t(gridDim.x) * blockDim.x) {
    double sw = 0, sb = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      sw += partial[c * 2 * C + i];
      sb += partial[c * 2 * C + C + i];
    }
    if (dweight) dweight[i] = T(sw);
    if (dbias) dbias[i] = T(sb);
  }
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? ptr<const T>(t) : nullptr;
}

}  // namespace

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd) {
  const int64_t C = x.shape().back(), rows = C == 0 ? 0 : x.numel() / C;
  if (rows == 0) return;
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_rows<T>
        <<<unsigned(std::min<int64_t>(rows, 1 << 20)), int(std::min<int64_t>(row_threads(C), 256)), 0, stream()>>>(
            ptr<const T>(x), ptr_or_null<T>(weight), ptr_or_null<T>(bias), eps, rows, C, ptr<T>(y), ptr<T>(mean),
            ptr<T>(rstd));
    GL_CUDA_LAUNCHED("layer_norm");
  });
}

// The residual add and the norm as the two kernels they are on their own.
void add_layer_norm(const Tensor& x, const Tensor& r, const Tensor& weight, const Tensor& bias, double eps,
                    const Tensor& sum, const Tensor& y, const Tensor& mean, const Tensor& rstd) {
  binary(BinaryOp::add, x, r, sum);
  layer_norm(sum, weight, bias, eps, y, mean, rstd);
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const int64_t C = x.shape().back(), rows = C == 0 ? 0 : x.numel() / C;
  if (rows == 0) return;
  dispatch_float(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_backward_rows<T>
        <<<unsigned(std::min<int64_t>(rows, 1 << 20)), int(std::min<int64_t>(row_threads(C), 256)), 0, stream()>>>(
            ptr<const T>(dy), ptr<const T>(x), ptr_or_null<T>(weight), ptr<const T>(mean), ptr<const T>(rstd), rows, C,
            ptr<T>(dx));
    GL_CUDA_LAUNCHED("layer_norm_backward");
    if (!dweight.defined() && !dbias.defined()) return;
    // Enough chunks of rows to fill the GPU, at least 32 rows each.
    const int64_t col_blocks = (C + 255) / 256;
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>((rows + 31) / 32, 1024 / col_blocks + 1));
    const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
    const Tensor partial = Tensor::empty({chunks * 2 * C}, DType::f64, Device::cuda);
    layer_norm_param_partials<T><<<dim3(unsigned(col_blocks), unsigned(chunks)), 256, 0, stream()>>>(
        ptr<const T>(dy), ptr<const T>(x), ptr<const T>(mean), ptr<const T>(rstd), rows, C, rows_per_chunk,
        ptr<double>(partial));
    GL_CUDA_LAUNCHED("layer_norm_backward (partials)");
    layer_norm_param_sums<T><<<blocks_for(C, 256), 256, 0, stream()>>>(ptr<const double>(partial), chunks, C,
                                                                       dweight.defined() ? ptr<T>(dweight) : nullptr,
                                                                       dbias.defined() ? ptr<T>(dbias) : nullptr);
    GL_CUDA_LAUNCHED("layer_norm_backward (sums)");
  });
}

}  // namespace gradlab::cuda
