// A CPU stand-in for the CUDA built-ins that the flash attention kernels
// (tensor/cuda/flash_attention_kernels.cuh) use, so that a test can run those
// kernels without a GPU: one host thread per CUDA thread of a 128-thread
// block, blocks one after another over one shared-memory buffer.
//   threads and barriers: threadIdx / blockIdx (thread-local), __syncthreads
//     and __syncwarp as std::barrier over the block and over each warp;
//   __shfl_xor_sync through a per-warp exchange array;
//   bf16: a float holding a value rounded to 8 significant bits (nearest even);
//   WMMA: each thread's fragment holds the whole 16 x 16 (or 16 x 8) tile, read
//     with the layout and leading dimension given, so the kernels' pointers,
//     strides and layouts are checked, not the hardware's lane mapping;
//     mma_sync sums in f32 in k order; store_matrix_sync writes from lane 0.
// Not a CUDA emulator in general: only what those kernels call.
#pragma once
#include <algorithm>
#include <barrier>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <type_traits>
#include <vector>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define GL_FLASH_DYNAMIC_SHARED(name) unsigned char* name = g_smem
#define GL_UNROLL
#define GL_FLASH_NAMESPACE flash_emulated
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* g_block_barrier;
inline std::barrier<>* g_warp_barriers[4];
alignas(128) inline unsigned char g_smem[256 * 1024];
inline void __syncthreads() { g_block_barrier->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { g_warp_barriers[threadIdx.x / 32]->arrive_and_wait(); }
inline float g_shfl[4][32];
inline float __shfl_xor_sync(unsigned, float v, int o) {
  int w = threadIdx.x / 32, l = threadIdx.x % 32;
  g_shfl[w][l] = v;
  __syncwarp();
  float r = g_shfl[w][l ^ o];
  __syncwarp();
  return r;
}
struct __nv_bfloat16 { float v; };
inline __nv_bfloat16 __float2bfloat16(float f) {
  uint32_t b = std::bit_cast<uint32_t>(f);
  b += 0x7fffu + ((b >> 16) & 1u);
  b &= 0xffff0000u;
  return {std::bit_cast<float>(b)};
}
namespace nvcuda::wmma {
struct matrix_a {}; struct matrix_b {}; struct accumulator {}; struct row_major {}; struct col_major {};
namespace precision { struct tf32 {}; }
enum layout_t { mem_row_major, mem_col_major };
template <class Use, int M, int N, int K, class T, class L = void>
struct fragment {
  static constexpr int rows = std::is_same_v<Use, matrix_b> ? K : M;
  static constexpr int cols = std::is_same_v<Use, matrix_a> ? K : N;
  static constexpr int num_elements = rows * cols;
  float x[num_elements];
};
inline float __float_to_tf32(float f) {
  uint32_t b = std::bit_cast<uint32_t>(f);
  b += 0xfffu + ((b >> 13) & 1u);
  b &= 0xffffe000u;
  return std::bit_cast<float>(b);
}
inline float val(float f) { return f; }
inline float val(__nv_bfloat16 b) { return b.v; }
template <class Use, int M, int N, int K, class T, class L, class P>
void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const P* p, unsigned ldm) {
  using F = fragment<Use, M, N, K, T, L>;
  for (int r = 0; r < F::rows; ++r)
    for (int c = 0; c < F::cols; ++c)
      f.x[r * F::cols + c] = val(std::is_same_v<L, col_major> ? p[c * ldm + r] : p[r * ldm + c]);
}
template <int M, int N, int K>
void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t) {
  for (int r = 0; r < M; ++r) for (int c = 0; c < N; ++c) f.x[r * N + c] = p[r * ldm + c];
}
template <class F> void fill_fragment(F& f, float v) { for (auto& e : f.x) e = v; }
template <int M, int N, int K, class A, class B>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const A& a, const B& b, const fragment<accumulator, M, N, K, float>& c) {
  float t[M * N];
  for (int m = 0; m < M; ++m) for (int n = 0; n < N; ++n) {
    float s = c.x[m * N + n];
    for (int k = 0; k < K; ++k) s += a.x[m * K + k] * b.x[k * N + n];
    t[m * N + n] = s;
  }
  std::memcpy(d.x, t, sizeof t);
}
template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t) {
  if (threadIdx.x % 32 == 0)
    for (int r = 0; r < M; ++r) for (int c = 0; c < N; ++c) p[r * ldm + c] = f.x[r * N + c];
  __syncwarp();
}
}  // namespace nvcuda::wmma
