// CUDA random fills and dropout from Philox4x32-10. Element i comes from the
// functions every backend shares (tensor/random.h's philox_uniform,
// philox_normal and philox_randint, GL_HD functions compiled for both), so
// uniform, randint and the dropout mask are bit-identical to the CPU for the
// same (seed, offset). Normals use the same Box-Muller pairing in f64; the
// device's f64 log, sin and cos may differ from glibc's by an ulp, so normals
// agree to ~1e-15 relative (f64) and almost always exactly after rounding to f32.
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/random.h"

namespace gradlab::cuda {

namespace {

template <class T>
__global__ void random_kernel(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, T* out, int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    if constexpr (std::is_floating_point_v<T>) {
      if (kind == RandomKind::uniform)
        out[i] = T(a + (b - a) * philox_uniform<T>(seed, offset, i));
      else
        out[i] = T(a + b * philox_normal<T>(seed, offset, i));
    } else {
      out[i] = T(philox_randint(seed, offset, i, int64_t(a), int64_t(b)));
    }
  }
}

// out_i = x_i * (u_i >= p) / (1 - p).
template <class T>
__global__ void dropout_kernel(const T* x, double p, uint64_t seed, uint64_t offset, T* out, int64_t n) {
  const T scale = T(1.0 / (1.0 - p));
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = x[i] * (philox_uniform<T>(seed, offset, i) >= p ? scale : T(0));
}

}  // namespace

void random(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, const Tensor& out) {
  GL_CHECK(out.is_contiguous(), "random: output must be contiguous");
  const int64_t n = out.numel();
  if (n == 0) return;
  dispatch_numeric(out.dtype(), "random", [&](auto tag) {
    using T = decltype(tag);
    random_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(kind, seed, offset, a, b, ptr<T>(out), n);
    GL_CUDA_LAUNCHED("random");
  });
}

void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out) {
  const int64_t n = x.numel();
  if (n == 0) return;
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    dropout_kernel<T>
        <<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(ptr<const T>(x), p, seed, offset, ptr<T>(out), n);
    GL_CUDA_LAUNCHED("dropout");
  });
}

}  // namespace gradlab::cuda
