// bf16 GEMM with AVX512-BF16 (vdpbf16ps). The scheme is the f32 GEMM's
// (gemm.cpp), kept to its core:
//   - the columns of C are shared out among threads in whole NR-wide panels;
//   - for each KC-deep slice of K, a thread packs its B columns into panels of
//     k-pairs: for pair p and column j, the 32-bit word (B[2p][j], B[2p+1][j]);
//   - for each MC-row block of A it packs MR-row micro-panels the same way,
//     (A[i][2p], A[i][2p+1]) per row, and runs the MR x NR micro-kernel, which
//     broadcasts one A word per row and adds its two products to 16 columns at
//     once with each vdpbf16ps.
// An odd K is padded with a zero pair half. Each element of C is summed by one
// thread in a fixed order, so results do not depend on the thread count.
#include "tensor/cpu/gemm_bf16.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "tensor/error.h"
#include "tensor/parallel.h"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define GL_HAVE_AVX512_BF16 1
#endif

namespace gradlab::cpu {

#ifdef GL_HAVE_AVX512_BF16

namespace {

constexpr int kMR = 8;                  // rows of a micro-tile
constexpr int kNR = 32;                 // columns of a micro-tile: two vectors of 16 f32
constexpr int64_t kKP = 256;            // k-pairs in a packed slice (K depth 512)
constexpr int64_t kMC = 64;             // rows of a packed A block
constexpr double kParallelFlops = 4e6;  // below this, one thread is faster

// A 64-byte aligned scratch buffer owned by the calling thread, grown on demand.
uint32_t* scratch(int which, size_t words) {
  struct Buffer {
    void* ptr = nullptr;
    size_t words = 0;
    ~Buffer() { std::free(ptr); }
  };
  static thread_local Buffer buffers[2];
  Buffer& b = buffers[which];
  if (b.words < words) {
    std::free(b.ptr);
    b.words = (words + 15) / 16 * 16;
    b.ptr = std::aligned_alloc(64, b.words * sizeof(uint32_t));
  }
  return static_cast<uint32_t*>(b.ptr);
}

// The 32-bit word holding the pair (lo, hi): lo in the low half, as vdpbf16ps reads it.
inline uint32_t pair(uint16_t lo, uint16_t hi) { return uint32_t(lo) | (uint32_t(hi) << 16); }

// One NR-wide panel of B [k0, k0 + 2 kp) x [j0, j0 + nr) into Bp[p * NR + j].
// When B's rows are adjacent (B is a transposed view, as linear's weight is),
// each pair is one 32-bit word in memory, read down one stored row at a time.
void pack_b(int64_t kp, int64_t k0, int64_t K, int64_t j0, int nr, MatrixView<uint16_t> B, uint32_t* Bp) {
  if (B.row_stride == 1 && k0 + 2 * kp <= K) {
    for (int j = 0; j < kNR; ++j) {
      if (j >= nr) {
        for (int64_t p = 0; p < kp; ++p) Bp[p * kNR + j] = 0u;
        continue;
      }
      const uint16_t* column = B.data + k0 + (j0 + j) * B.col_stride;
      for (int64_t p = 0; p < kp; ++p) std::memcpy(Bp + p * kNR + j, column + 2 * p, sizeof(uint32_t));
    }
    return;
  }
  for (int64_t p = 0; p < kp; ++p) {
    const int64_t k = k0 + 2 * p;
    const uint16_t* r0 = B.data + k * B.row_stride + j0 * B.col_stride;
    const uint16_t* r1 = r0 + B.row_stride;
    const bool odd_end = k + 1 >= K;
    uint32_t* dst = Bp + p * kNR;
    for (int j = 0; j < kNR; ++j)
      dst[j] = j < nr ? pair(r0[j * B.col_stride], odd_end ? uint16_t(0) : r1[j * B.col_stride]) : 0u;
  }
}

// An MR-row micro-panel of A [i0, i0 + mr) x [k0, k0 + 2 kp) into Ap[p * MR + i].
void pack_a(int64_t kp, int64_t k0, int64_t K, int64_t i0, int mr, MatrixView<uint16_t> A, uint32_t* Ap) {
  for (int i = 0; i < kMR; ++i) {
    if (i >= mr) {
      for (int64_t p = 0; p < kp; ++p) Ap[p * kMR + i] = 0u;
      continue;
    }
    const uint16_t* row = A.data + (i0 + i) * A.row_stride + k0 * A.col_stride;
    const int64_t whole = std::min(kp, (K - k0) / 2);  // pairs with both halves in A
    if (A.col_stride == 1) {  // a row-major A: each pair is one 32-bit word in memory
      for (int64_t p = 0; p < whole; ++p) std::memcpy(Ap + p * kMR + i, row + 2 * p, sizeof(uint32_t));
    } else {
      for (int64_t p = 0; p < whole; ++p)
        Ap[p * kMR + i] = pair(row[2 * p * A.col_stride], row[(2 * p + 1) * A.col_stride]);
    }
    if (whole < kp) Ap[whole * kMR + i] = pair(row[2 * whole * A.col_stride], 0);  // K odd: the last half is zero
  }
}

// C[mr, nr] = (add ? C : init row or 0) + Ap Bp over kp pairs.
void micro_kernel(int64_t kp, const uint32_t* Ap, const uint32_t* Bp, float* C, int64_t ldc, int mr, int nr, bool add,
                  const float* init) {
  __m512 acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(Bp + p * kNR);
    const __m512bh b1 = (__m512bh)_mm512_load_si512(Bp + p * kNR + 16);
    for (int i = 0; i < kMR; ++i) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(int32_t(Ap[p * kMR + i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
    }
  }
  const __mmask16 m0 = nr >= 16 ? __mmask16(0xffff) : __mmask16((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? __mmask16(0xffff) : nr > 16 ? __mmask16((1u << (nr - 16)) - 1) : __mmask16(0);
  for (int i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* base = add ? c : init;
    const __m512 s0 = base ? _mm512_maskz_loadu_ps(m0, base) : _mm512_setzero_ps();
    const __m512 s1 = base ? _mm512_maskz_loadu_ps(m1, base + 16) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(c, m0, _mm512_add_ps(s0, acc[i][0]));
    _mm512_mask_storeu_ps(c + 16, m1, _mm512_add_ps(s1, acc[i][1]));
  }
}

// The columns [c0, c1) of C (c0 a multiple of NR), all rows.
void gemm_columns(int64_t M, int64_t c0, int64_t c1, int64_t K, MatrixView<uint16_t> A, MatrixView<uint16_t> B,
                  float* C, int64_t ldc, const float* bias) {
  const int64_t panels = (c1 - c0 + kNR - 1) / kNR;
  const int64_t kp_max = std::min<int64_t>(kKP, (K + 1) / 2);
  uint32_t* Bp = scratch(0, size_t(panels * kNR * kp_max));
  uint32_t* Ap = scratch(1, size_t((kMC + kMR) * kp_max));
  for (int64_t k0 = 0; k0 < K; k0 += 2 * kKP) {
    const int64_t kp = std::min<int64_t>(kKP, (K - k0 + 1) / 2);
    const bool add = k0 > 0;
    for (int64_t q = 0; q < panels; ++q)
      pack_b(kp, k0, K, c0 + q * kNR, int(std::min<int64_t>(kNR, c1 - c0 - q * kNR)), B, Bp + q * kNR * kp);
    for (int64_t ic = 0; ic < M; ic += kMC) {
      const int64_t mc = std::min(kMC, M - ic);
      for (int64_t ir = 0; ir < mc; ir += kMR)
        pack_a(kp, k0, K, ic + ir, int(std::min<int64_t>(kMR, mc - ir)), A, Ap + ir * kp);
      for (int64_t q = 0; q < panels; ++q) {
        const int64_t j = c0 + q * kNR;
        const int nr = int(std::min<int64_t>(kNR, c1 - j));
        for (int64_t ir = 0; ir < mc; ir += kMR)
          micro_kernel(kp, Ap + ir * kp, Bp + q * kNR * kp, C + (ic + ir) * ldc + j, ldc,
                       int(std::min<int64_t>(kMR, mc - ir)), nr, add, bias ? bias + j : nullptr);
      }
    }
  }
}

}  // namespace

bool gemm_bf16_available() { return true; }

void gemm_bf16(int64_t M, int64_t N, int64_t K, MatrixView<uint16_t> A, MatrixView<uint16_t> B, float* C,
               int64_t ldc, const float* bias) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) {
      if (bias)
        std::memcpy(C + i * ldc, bias, size_t(N) * sizeof(float));
      else
        std::fill_n(C + i * ldc, N, 0.0f);
    }
    return;
  }
  const int64_t panels = (N + kNR - 1) / kNR;
  const double flops = 2.0 * double(M) * double(N) * double(K);
  int threads = (flops < kParallelFlops || omp_in_parallel()) ? 1 : num_threads();
  threads = int(std::min<int64_t>(threads, panels));
  if (threads <= 1) return gemm_columns(M, 0, N, K, A, B, C, ldc, bias);
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t c0 = panels * t / nt * kNR, c1 = std::min(N, panels * (t + 1) / nt * kNR);
    if (c0 < c1) gemm_columns(M, c0, c1, K, A, B, C, ldc, bias);
  }
}

#else  // no AVX512-BF16 in this build: callers widen to f32 instead

bool gemm_bf16_available() { return false; }

void gemm_bf16(int64_t, int64_t, int64_t, MatrixView<uint16_t>, MatrixView<uint16_t>, float*, int64_t, const float*) {
  fail("gemm_bf16: this build has no AVX512-BF16 kernel (check gemm_bf16_available() first)");
}

#endif

}  // namespace gradlab::cpu
