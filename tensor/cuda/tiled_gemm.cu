// The teaching GEMM: C = A B for row-major f32 matrices, in the classic
// shared-memory tiling. Each block of 256 threads computes a 64 x 64 tile of C:
// it walks K in steps of 16, staging a 64 x 16 slab of A and a 16 x 64 slab of
// B in shared memory, and each thread accumulates a 4 x 4 micro-tile of C in
// registers (16 multiply-adds per 8 shared-memory loads). cuBLAS adds double
// buffering, tensor-core paths and autotuned shapes on top of this idea.
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/tiled_gemm.h"

namespace gradlab {

namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kMicro = 4;

__global__ void __launch_bounds__(256)
    tiled_gemm_kernel(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[kTileK][kTileM + 4];  // A slab stored transposed: As[k][m]; padded against bank conflicts
  __shared__ float Bs[kTileK][kTileN];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;  // 16 x 16 threads, each 4 x 4 outputs
  const int row0 = blockIdx.y * kTileM, col0 = blockIdx.x * kTileN;
  float acc[kMicro][kMicro] = {};
  for (int k0 = 0; k0 < K; k0 += kTileK) {
    // 1024 elements of each slab, 4 per thread.
    for (int e = threadIdx.x; e < kTileM * kTileK; e += blockDim.x) {
      const int m = e / kTileK, k = e % kTileK;
      const int gm = row0 + m, gk = k0 + k;
      As[k][m] = (gm < M && gk < K) ? A[int64_t(gm) * K + gk] : 0.f;
    }
    for (int e = threadIdx.x; e < kTileK * kTileN; e += blockDim.x) {
      const int k = e / kTileN, n = e % kTileN;
      const int gk = k0 + k, gn = col0 + n;
      Bs[k][n] = (gk < K && gn < N) ? B[int64_t(gk) * N + gn] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTileK; ++k) {
      float a[kMicro], b[kMicro];
#pragma unroll
      for (int i = 0; i < kMicro; ++i) a[i] = As[k][ty * kMicro + i];
#pragma unroll
      for (int j = 0; j < kMicro; ++j) b[j] = Bs[k][tx * kMicro + j];
#pragma unroll
      for (int i = 0; i < kMicro; ++i)
#pragma unroll
        for (int j = 0; j < kMicro; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kMicro; ++i) {
    const int gm = row0 + ty * kMicro + i;
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < kMicro; ++j) {
      const int gn = col0 + tx * kMicro + j;
      if (gn < N) C[int64_t(gm) * N + gn] = acc[i][j];
    }
  }
}

}  // namespace

void cuda_tiled_gemm(const Tensor& a, const Tensor& b, const Tensor& out) {
  GL_CHECK(a.is_cuda() && b.is_cuda() && out.is_cuda(), "cuda_tiled_gemm: tensors must be on cuda");
  GL_CHECK(a.dtype() == DType::f32 && b.dtype() == DType::f32 && out.dtype() == DType::f32,
           "cuda_tiled_gemm: tensors must be f32");
  GL_CHECK(a.dim() == 2 && b.dim() == 2 && out.dim() == 2 && a.size(1) == b.size(0) && out.size(0) == a.size(0) &&
               out.size(1) == b.size(1),
           "cuda_tiled_gemm: shapes {} @ {} -> {} do not match", a.shape(), b.shape(), out.shape());
  GL_CHECK(a.is_contiguous() && b.is_contiguous() && out.is_contiguous(),
           "cuda_tiled_gemm: tensors must be contiguous");
  const int M = int(a.size(0)), K = int(a.size(1)), N = int(b.size(1));
  if (M == 0 || N == 0) return;
  const dim3 grid(unsigned((N + kTileN - 1) / kTileN), unsigned((M + kTileM - 1) / kTileM));
  tiled_gemm_kernel<<<grid, 256, 0, cuda::stream()>>>(static_cast<const float*>(a.data_ptr()),
                                                      static_cast<const float*>(b.data_ptr()),
                                                      static_cast<float*>(out.data_ptr()), M, N, K);
  GL_CUDA_LAUNCHED("tiled_gemm");
}

}  // namespace gradlab
