// CUDA random fills and dropout from Philox4x32-10. Element i reads the same
// Philox block and word as on the CPU (tensor/random.h's philox_uniform_f32 /
// philox_uniform_f64, GL_HD functions compiled for both), so uniform, randint
// and the dropout mask are bit-identical to the CPU for the same (seed,
// offset). Normals use the CPU's Box-Muller pairing in f64; the device's f64
// log, sin and cos may differ from glibc's by an ulp, so normals agree to
// ~1e-15 relative (f64) and almost always exactly after rounding to f32.
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/random.h"

namespace gradlab::cuda {

namespace {

// The CPU's box_muller (tensor/cpu/random.cpp): the cos (first) or sin member.
__device__ __forceinline__ double box_muller(double u1, double u2, bool first) {
  const double r = ::sqrt(-2.0 * ::log(u1));
  const double angle = 6.283185307179586 * u2;
  return first ? r * ::cos(angle) : r * ::sin(angle);
}

template <class T>
__device__ __forceinline__ double uniform_at(uint64_t seed, uint64_t offset, int64_t i) {
  if constexpr (std::is_same_v<T, float>)
    return double(philox_uniform_f32(seed, offset, i));
  else
    return philox_uniform_f64(seed, offset, i);
}

// Standard normal number i: elements 2j and 2j+1 share uniforms 2j and 2j+1.
template <class T>
__device__ __forceinline__ double normal_at(uint64_t seed, uint64_t offset, int64_t i) {
  const int64_t pair = i & ~int64_t(1);
  return box_muller(1.0 - uniform_at<T>(seed, offset, pair), uniform_at<T>(seed, offset, pair + 1), (i & 1) == 0);
}

template <class T>
__global__ void random_kernel(RandomKind kind, uint64_t seed, uint64_t offset, double a, double b, T* out, int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    if constexpr (std::is_floating_point_v<T>) {
      if (kind == RandomKind::uniform)
        out[i] = T(a + (b - a) * uniform_at<T>(seed, offset, i));
      else
        out[i] = T(a + b * normal_at<T>(seed, offset, i));
    } else {
      // Lemire's multiply-shift maps a 32-bit word onto [0, range).
      uint32_t w[4];
      philox_block(seed, offset + uint64_t(i) / 4, w);
      const uint64_t range = uint64_t(int64_t(b) - int64_t(a));
      out[i] = T(int64_t(a) + int64_t((uint64_t(w[i % 4]) * range) >> 32));
    }
  }
}

// out_i = x_i * (u_i >= p) / (1 - p).
template <class T>
__global__ void dropout_kernel(const T* x, double p, uint64_t seed, uint64_t offset, T* out, int64_t n) {
  const T scale = T(1.0 / (1.0 - p));
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = x[i] * (uniform_at<T>(seed, offset, i) >= p ? scale : T(0));
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
