// The device code of the flash attention kernels (the design is described in
// tensor/cuda/flash_attention.cu, which includes this file and launches them).
// It is a header so that two programs can compile it: nvcc, with CUDA's
// <mma.h> and <cuda_bf16.h> included first, and the CPU emulation of
// tests/cuda_emulated/, which includes its own stand-ins for the CUDA
// built-ins (threads, barriers, shuffles, WMMA fragments, bf16) and runs the
// same kernels with one host thread per CUDA thread, so that CI checks the
// kernels' arithmetic, tiling and masks without a GPU.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "tensor/cuda/precision.h"

// The dynamic shared memory of a block (the emulation defines its own).
// Loop unrolling (a pragma nvcc knows; the emulation makes it nothing).
#ifndef GL_UNROLL
#define GL_UNROLL _Pragma("unroll")
#endif
#ifndef GL_FLASH_DYNAMIC_SHARED
#define GL_FLASH_DYNAMIC_SHARED(name) extern __shared__ __align__(128) unsigned char name[]
#endif

// The namespace of the kernels (the emulation names its own, so that its
// host-compiled copies never meet the CUDA build's symbols at link time).
#ifndef GL_FLASH_NAMESPACE
#define GL_FLASH_NAMESPACE flash
#endif

namespace gradlab::cuda::GL_FLASH_NAMESPACE {

constexpr int kFlashWarps = 4;
constexpr int kFlashThreads = 32 * kFlashWarps;
constexpr int kFlashMaxHeadDim = 128;
constexpr int kForwardBQ = 64, kForwardBK = 64;
constexpr int kBackwardBQ = 32, kBackwardBK = 32;
constexpr int kScratchBytes = kFlashWarps * 2 * 256 * 2;  // per warp: two 16 x 16 bf16 operands

// Element strides of a [B, H, T, D] tensor.
struct Strides4 {
  int64_t b, h, t, d;
};

struct Geometry {
  int64_t B, H, T, D;
  int DP;  // D rounded up to a multiple of 16
  bool causal;
  const bool* key_mask;  // [B, T] or null
  float scale;           // 1 / sqrt(D)
};

// Row stride (floats) of the [rows][DP] tiles and of the score tiles: padded
// by 4 to spread rows over the shared-memory banks, and a multiple of 4 as
// WMMA's loads and stores need.
__host__ __device__ constexpr int ld_of(int cols) { return cols + 4; }

__device__ __forceinline__ bool visible(const Geometry& g, int64_t b, int64_t i, int64_t j) {
  return i < g.T && j < g.T && (!g.causal || j <= i) && (g.key_mask == nullptr || g.key_mask[b * g.T + j]);
}

// tile[r][d] = x[b, h, r0 + r, d] for r < rows, d < DP; zero past T and past D.
__device__ void load_rows(float* tile, const float* x, const Strides4& s, const Geometry& g, int64_t b, int64_t h,
                          int64_t r0, int rows) {
  const int ld = ld_of(g.DP);
  for (int e = threadIdx.x; e < rows * g.DP; e += blockDim.x) {
    const int r = e / g.DP, d = e % g.DP;
    const int64_t t = r0 + r;
    tile[r * ld + d] = (t < g.T && d < g.D) ? x[b * s.b + h * s.h + t * s.t + d * s.d] : 0.0f;
  }
}

__device__ void zero(float* p, int n) {
  for (int e = threadIdx.x; e < n; e += blockDim.x) p[e] = 0.0f;
}

// A(m, k) of an [M, K] operand stored row-major, or transposed (stored [K, M]).
template <bool Trans>
__device__ __forceinline__ float at(const float* A, int ld, int m, int k) {
  return Trans ? A[k * ld + m] : A[m * ld + k];
}

// block_mm with f32 FMAs (all kinds on a GPU without TF32 and bf16 tensor cores).
template <bool AT, bool BT>
__device__ void block_mm_fma(const float* A, int lda, const float* B, int ldb, float* C, int ldc, int M, int N, int K,
                             bool accumulate) {
  // Each thread: a 4 x 4 block of outputs, rows m + i M/4 and columns n + j N/4.
  const int m4 = M / 4, n4 = N / 4;
  for (int t = threadIdx.x; t < m4 * n4; t += blockDim.x) {
    const int m = t / n4, n = t % n4;
    float acc[4][4];
    GL_UNROLL
    for (int i = 0; i < 4; ++i)
      GL_UNROLL
      for (int j = 0; j < 4; ++j) acc[i][j] = accumulate ? C[(m + i * m4) * ldc + n + j * n4] : 0.0f;
    for (int k = 0; k < K; ++k) {
      float a[4], b[4];
      GL_UNROLL
      for (int i = 0; i < 4; ++i) {
        a[i] = at<AT>(A, lda, m + i * m4, k);
        b[i] = at<!BT>(B, ldb, n + i * n4, k);  // B(k, n) is B^T(n, k)
      }
      GL_UNROLL
      for (int i = 0; i < 4; ++i)
        GL_UNROLL
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    GL_UNROLL
    for (int i = 0; i < 4; ++i)
      GL_UNROLL
      for (int j = 0; j < 4; ++j) C[(m + i * m4) * ldc + n + j * n4] = acc[i][j];
  }
}

// C[M, N] = (accumulate ? C : 0) + A[M, K] B[K, N] over shared memory, for the
// whole block (callers synchronise around it). A is read as AT ? A^T : A and
// B as BT ? B^T : B, so that Q K^T and P^T dO need no transposed copies.
// M, N and K are multiples of 16.
template <MmaPrecision P, bool AT, bool BT>
__device__ void block_mm(const float* A, int lda, const float* B, int ldb, float* C, int ldc, int M, int N, int K,
                         bool accumulate, __nv_bfloat16* scratch) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  (void)scratch;  // TF32 and bf16 WMMA need sm_80: the host never picks them on older GPUs
  block_mm_fma<AT, BT>(A, lda, B, ldb, C, ldc, M, N, K, accumulate);
#else
  if constexpr (P == MmaPrecision::f32) {
    block_mm_fma<AT, BT>(A, lda, B, ldb, C, ldc, M, N, K, accumulate);
  } else {
    using namespace nvcuda;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int tiles_n = N / 16, tiles = (M / 16) * tiles_n;
    for (int tile = warp; tile < tiles; tile += kFlashWarps) {
      const int m0 = (tile / tiles_n) * 16, n0 = (tile % tiles_n) * 16;
      float* c_ptr = C + m0 * ldc + n0;
      if constexpr (P == MmaPrecision::tf32) {
        using LA = std::conditional_t<AT, wmma::col_major, wmma::row_major>;
        using LB = std::conditional_t<BT, wmma::col_major, wmma::row_major>;
        wmma::fragment<wmma::accumulator, 16, 16, 8, float> c;
        if (accumulate)
          wmma::load_matrix_sync(c, c_ptr, ldc, wmma::mem_row_major);
        else
          wmma::fill_fragment(c, 0.0f);
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, LA> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, LB> b;
        for (int k0 = 0; k0 < K; k0 += 8) {
          wmma::load_matrix_sync(a, AT ? A + k0 * lda + m0 : A + m0 * lda + k0, lda);
          wmma::load_matrix_sync(b, BT ? B + n0 * ldb + k0 : B + k0 * ldb + n0, ldb);
          GL_UNROLL
          for (int e = 0; e < a.num_elements; ++e) a.x[e] = wmma::__float_to_tf32(a.x[e]);
          GL_UNROLL
          for (int e = 0; e < b.num_elements; ++e) b.x[e] = wmma::__float_to_tf32(b.x[e]);
          wmma::mma_sync(c, a, b, c);
        }
        wmma::store_matrix_sync(c_ptr, c, ldc, wmma::mem_row_major);
      } else {  // bf16: this warp's 16 x 16 pieces of A and B, rounded, in row-major scratch
        __nv_bfloat16* sa = scratch + warp * 512;
        __nv_bfloat16* sb = sa + 256;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> c;
        if (accumulate)
          wmma::load_matrix_sync(c, c_ptr, ldc, wmma::mem_row_major);
        else
          wmma::fill_fragment(c, 0.0f);
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> b;
        for (int k0 = 0; k0 < K; k0 += 16) {
          for (int e = lane; e < 256; e += 32) {
            const int r = e / 16, q = e % 16;
            sa[e] = __float2bfloat16(at<AT>(A, lda, m0 + r, k0 + q));        // A(m0 + r, k0 + q)
            sb[e] = __float2bfloat16(at<!BT>(B, ldb, n0 + q, k0 + r));       // B(k0 + r, n0 + q)
          }
          __syncwarp();
          wmma::load_matrix_sync(a, sa, 16);
          wmma::load_matrix_sync(b, sb, 16);
          wmma::mma_sync(c, a, b, c);
          __syncwarp();  // before the next piece overwrites the scratch
        }
        wmma::store_matrix_sync(c_ptr, c, ldc, wmma::mem_row_major);
      }
    }
  }
#endif
}

__device__ __forceinline__ float warp_max(float x) {
  GL_UNROLL
  for (int o = 16; o > 0; o /= 2) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float warp_sum(float x) {
  GL_UNROLL
  for (int o = 16; o > 0; o /= 2) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

constexpr float kNegInf = -INFINITY;

// Shared memory of the forward kernel, in bytes.
inline size_t forward_shared(int DP) {
  const int ld = ld_of(DP), ls = ld_of(kForwardBK);
  return sizeof(float) * (size_t(2 * kForwardBQ + 2 * kForwardBK) * ld + size_t(kForwardBQ) * ls + 2 * kForwardBQ) +
         kScratchBytes;
}
// ... and of each backward kernel (dq and dk/dv use the same amount).
inline size_t backward_shared(int DP) {
  const int ld = ld_of(DP), ls = ld_of(kBackwardBK);
  return sizeof(float) * (size_t(4 * kBackwardBK + 2 * kBackwardBQ) * ld + size_t(2 * kBackwardBQ) * ls +
                          2 * kBackwardBQ) +
         kScratchBytes;
}

template <MmaPrecision P>
__global__ void __launch_bounds__(kFlashThreads)
    flash_forward_kernel(const float* q, Strides4 sq, const float* k, Strides4 sk, const float* v, Strides4 sv,
                         Geometry g, float* out, float* lse) {
  constexpr int BQ = kForwardBQ, BK = kForwardBK;
  GL_FLASH_DYNAMIC_SHARED(smem);
  const int ld = ld_of(g.DP), ls = ld_of(BK);
  float* Qs = reinterpret_cast<float*>(smem);
  float* Os = Qs + BQ * ld;
  float* Ks = Os + BQ * ld;
  float* Vs = Ks + BK * ld;
  float* Ss = Vs + BK * ld;
  float* m_row = Ss + BQ * ls;
  float* l_row = m_row + BQ;
  __nv_bfloat16* scratch = reinterpret_cast<__nv_bfloat16*>(l_row + BQ);
  const int64_t bh = blockIdx.y, b = bh / g.H, h = bh % g.H;
  const int64_t i0 = int64_t(blockIdx.x) * BQ;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  load_rows(Qs, q, sq, g, b, h, i0, BQ);
  zero(Os, BQ * ld);
  for (int r = threadIdx.x; r < BQ; r += blockDim.x) {
    m_row[r] = kNegInf;
    l_row[r] = 0.0f;
  }
  const int64_t kend = g.causal ? std::min<int64_t>(g.T, i0 + BQ) : g.T;
  for (int64_t j0 = 0; j0 < kend; j0 += BK) {
    __syncthreads();  // the last tile's P V is done with Ks, Vs and Ss
    load_rows(Ks, k, sk, g, b, h, j0, BK);
    load_rows(Vs, v, sv, g, b, h, j0, BK);
    __syncthreads();
    block_mm<P, false, true>(Qs, ld, Ks, ld, Ss, ls, BQ, BK, g.DP, false, scratch);  // S = Q K^T
    __syncthreads();
    for (int r = warp; r < BQ; r += kFlashWarps) {  // one warp a row: online softmax
      const int64_t i = i0 + r;
      float s[BK / 32];
      float tile_max = kNegInf;
      GL_UNROLL
      for (int u = 0; u < BK / 32; ++u) {
        const int c = lane + 32 * u;
        s[u] = visible(g, b, i, j0 + c) ? Ss[r * ls + c] * g.scale : kNegInf;
        tile_max = fmaxf(tile_max, s[u]);
      }
      tile_max = warp_max(tile_max);
      const float m_old = m_row[r];
      const float m_new = fmaxf(m_old, tile_max);
      float sum = 0.0f;
      GL_UNROLL
      for (int u = 0; u < BK / 32; ++u) {
        const float p = s[u] == kNegInf ? 0.0f : expf(s[u] - m_new);
        Ss[r * ls + lane + 32 * u] = p;
        sum += p;
      }
      sum = warp_sum(sum);
      const float corr = m_old == kNegInf ? 0.0f : expf(m_old - m_new);  // m_old finite: m_new is too
      for (int d = lane; d < g.DP; d += 32) Os[r * ld + d] *= corr;
      __syncwarp();
      if (lane == 0) {
        m_row[r] = m_new;
        l_row[r] = l_row[r] * corr + sum;
      }
    }
    __syncthreads();
    block_mm<P, false, false>(Ss, ls, Vs, ld, Os, ld, BQ, g.DP, BK, true, scratch);  // O += P V
  }
  __syncthreads();
  for (int e = threadIdx.x; e < BQ * g.D; e += blockDim.x) {
    const int r = e / int(g.D), d = e % int(g.D);
    const int64_t i = i0 + r;
    if (i >= g.T) continue;
    const float l = l_row[r];
    out[(bh * g.T + i) * g.D + d] = l > 0.0f ? Os[r * ld + d] / l : 0.0f;
  }
  for (int r = threadIdx.x; r < BQ; r += blockDim.x) {
    const int64_t i = i0 + r;
    if (i >= g.T) continue;
    const float l = l_row[r];
    lse[bh * g.T + i] = l > 0.0f ? m_row[r] + logf(l) : kNegInf;
  }
}

// Di[row] = dout_row . out_row, summed in f64, for every query row.
__global__ void flash_row_dots(const float* dout, Strides4 sd, const float* out, Strides4 so, Geometry g, float* Di) {
  const int64_t rows = g.B * g.H * g.T, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += step) {
    const int64_t t = r % g.T, bh = r / g.T, b = bh / g.H, h = bh % g.H;
    const float* a = dout + b * sd.b + h * sd.h + t * sd.t;
    const float* c = out + b * so.b + h * so.h + t * so.t;
    double s = 0;
    for (int64_t d = 0; d < g.D; ++d) s += double(a[d * sd.d]) * double(c[d * so.d]);
    Di[r] = float(s);
  }
}

// S (in Ss) and dP (in dPs) of one query tile and one key tile become P and
// dS = P (dP - Di) scale, in place.
__device__ void scores_to_ds(const Geometry& g, int64_t b, int64_t i0, int64_t j0, float* Ss, float* dPs,
                             const float* lse_s, const float* di_s) {
  constexpr int BQ = kBackwardBQ, BK = kBackwardBK, ls = ld_of(BK);
  for (int e = threadIdx.x; e < BQ * BK; e += blockDim.x) {
    const int r = e / BK, c = e % BK;
    const float li = lse_s[r];
    const float p = (li != kNegInf && visible(g, b, i0 + r, j0 + c)) ? expf(Ss[r * ls + c] * g.scale - li) : 0.0f;
    Ss[r * ls + c] = p;
    dPs[r * ls + c] = p * (dPs[r * ls + c] - di_s[r]) * g.scale;
  }
}

// Stages the query tile's lse and Di (lse -inf past T: those rows see nothing).
__device__ void load_row_stats(const Geometry& g, int64_t bh, int64_t i0, const float* lse, const float* Di,
                               float* lse_s, float* di_s) {
  for (int r = threadIdx.x; r < kBackwardBQ; r += blockDim.x) {
    const int64_t i = i0 + r;
    lse_s[r] = i < g.T ? lse[bh * g.T + i] : kNegInf;
    di_s[r] = i < g.T ? Di[bh * g.T + i] : 0.0f;
  }
}

// Writes rows [r0, r0 + rows) of a [rows][DP] tile to the contiguous x [B, H, T, D].
__device__ void store_rows(float* x, const float* tile, const Geometry& g, int64_t bh, int64_t r0, int rows) {
  const int ld = ld_of(g.DP);
  for (int e = threadIdx.x; e < rows * g.D; e += blockDim.x) {
    const int r = e / int(g.D), d = e % int(g.D);
    if (r0 + r < g.T) x[(bh * g.T + r0 + r) * g.D + d] = tile[r * ld + d];
  }
}

template <MmaPrecision P>
__global__ void __launch_bounds__(kFlashThreads)
    flash_dkdv_kernel(const float* dout, Strides4 sdo, const float* q, Strides4 sq, const float* k, Strides4 sk,
                      const float* v, Strides4 sv, const float* lse, const float* Di, Geometry g, float* dk,
                      float* dv) {
  constexpr int BQ = kBackwardBQ, BK = kBackwardBK;
  GL_FLASH_DYNAMIC_SHARED(smem);
  const int ld = ld_of(g.DP), ls = ld_of(BK);
  float* Ks = reinterpret_cast<float*>(smem);
  float* Vs = Ks + BK * ld;
  float* dKs = Vs + BK * ld;
  float* dVs = dKs + BK * ld;
  float* Qs = dVs + BK * ld;
  float* dOs = Qs + BQ * ld;
  float* Ss = dOs + BQ * ld;
  float* dPs = Ss + BQ * ls;
  float* lse_s = dPs + BQ * ls;
  float* di_s = lse_s + BQ;
  __nv_bfloat16* scratch = reinterpret_cast<__nv_bfloat16*>(di_s + BQ);
  const int64_t bh = blockIdx.y, b = bh / g.H, h = bh % g.H;
  const int64_t j0 = int64_t(blockIdx.x) * BK;

  load_rows(Ks, k, sk, g, b, h, j0, BK);
  load_rows(Vs, v, sv, g, b, h, j0, BK);
  zero(dKs, BK * ld);
  zero(dVs, BK * ld);
  const int64_t first = g.causal ? (j0 / BQ) * BQ : 0;  // earlier queries never see these keys
  for (int64_t i0 = first; i0 < g.T; i0 += BQ) {
    __syncthreads();
    load_rows(Qs, q, sq, g, b, h, i0, BQ);
    load_rows(dOs, dout, sdo, g, b, h, i0, BQ);
    load_row_stats(g, bh, i0, lse, Di, lse_s, di_s);
    __syncthreads();
    block_mm<P, false, true>(Qs, ld, Ks, ld, Ss, ls, BQ, BK, g.DP, false, scratch);    // S = Q K^T
    block_mm<P, false, true>(dOs, ld, Vs, ld, dPs, ls, BQ, BK, g.DP, false, scratch);  // dP = dO V^T
    __syncthreads();
    scores_to_ds(g, b, i0, j0, Ss, dPs, lse_s, di_s);
    __syncthreads();
    block_mm<P, true, false>(Ss, ls, dOs, ld, dVs, ld, BK, g.DP, BQ, true, scratch);  // dV += P^T dO
    block_mm<P, true, false>(dPs, ls, Qs, ld, dKs, ld, BK, g.DP, BQ, true, scratch);  // dK += dS^T Q
  }
  __syncthreads();
  store_rows(dk, dKs, g, bh, j0, BK);
  store_rows(dv, dVs, g, bh, j0, BK);
}

template <MmaPrecision P>
__global__ void __launch_bounds__(kFlashThreads)
    flash_dq_kernel(const float* dout, Strides4 sdo, const float* q, Strides4 sq, const float* k, Strides4 sk,
                    const float* v, Strides4 sv, const float* lse, const float* Di, Geometry g, float* dq) {
  constexpr int BQ = kBackwardBQ, BK = kBackwardBK;
  GL_FLASH_DYNAMIC_SHARED(smem);
  const int ld = ld_of(g.DP), ls = ld_of(BK);
  float* Ks = reinterpret_cast<float*>(smem);
  float* Vs = Ks + BK * ld;
  float* dQs = Vs + BK * ld;
  float* unused = dQs + BK * ld;  // same layout (and size) as the dk/dv kernel's
  float* Qs = unused + BK * ld;
  float* dOs = Qs + BQ * ld;
  float* Ss = dOs + BQ * ld;
  float* dPs = Ss + BQ * ls;
  float* lse_s = dPs + BQ * ls;
  float* di_s = lse_s + BQ;
  __nv_bfloat16* scratch = reinterpret_cast<__nv_bfloat16*>(di_s + BQ);
  const int64_t bh = blockIdx.y, b = bh / g.H, h = bh % g.H;
  const int64_t i0 = int64_t(blockIdx.x) * BQ;

  load_rows(Qs, q, sq, g, b, h, i0, BQ);
  load_rows(dOs, dout, sdo, g, b, h, i0, BQ);
  load_row_stats(g, bh, i0, lse, Di, lse_s, di_s);
  zero(dQs, BQ * ld);
  const int64_t kend = g.causal ? std::min<int64_t>(g.T, i0 + BQ) : g.T;
  for (int64_t j0 = 0; j0 < kend; j0 += BK) {
    __syncthreads();
    load_rows(Ks, k, sk, g, b, h, j0, BK);
    load_rows(Vs, v, sv, g, b, h, j0, BK);
    __syncthreads();
    block_mm<P, false, true>(Qs, ld, Ks, ld, Ss, ls, BQ, BK, g.DP, false, scratch);    // S = Q K^T
    block_mm<P, false, true>(dOs, ld, Vs, ld, dPs, ls, BQ, BK, g.DP, false, scratch);  // dP = dO V^T
    __syncthreads();
    scores_to_ds(g, b, i0, j0, Ss, dPs, lse_s, di_s);
    __syncthreads();
    block_mm<P, false, false>(dPs, ls, Ks, ld, dQs, ld, BQ, g.DP, BK, true, scratch);  // dQ += dS K
  }
  __syncthreads();
  store_rows(dq, dQs, g, bh, i0, BQ);
}

}  // namespace gradlab::cuda::GL_FLASH_NAMESPACE
