// Packed, cache-blocked GEMM (the BLIS scheme). For each NC-wide panel of
// columns and each KC-deep slice of K:
//   1. pack B[kc, nc] into NR-wide micro-panels, k-major (shared by all threads);
//   2. each thread takes a range of rows or of columns (whichever leaves the
//      smaller operand to be read by every thread), packs A[mc, kc] blocks
//      into MR-tall micro-panels (unless A is row-major, or column-major and
//      read by few panels: then it is read in place), and
//   3. runs the MR x NR micro-kernel over every (micro-panel of A, of B) pair.
// The packing buffers belong to the calling threads and are kept between calls.
// A product of one row skips all this (gemm_row.h): packing B would cost as
// much as using it once. So does one of at most one vector of columns
// (gemm_narrow.h), whose panels would be mostly padding.
// The micro-kernel holds an MR x NR tile of C in vector registers and, for each
// k, does MR * NR/L fused multiply-adds from one broadcast of A and NR/L loads
// of B. It is written once with GCC vector extensions; the vector width (and so
// AVX-512, AVX2 or SSE code) is chosen at compile time by -march. Each element
// of C is computed by one thread in a fixed order, so results do not depend on
// the thread count.
#include "tensor/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>

#include "tensor/cpu/gemm_narrow.h"
#include "tensor/cpu/gemm_row.h"
#include "tensor/cpu/simd.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

// Two tile shapes per instruction set, MR rows x NV vectors: a wide one, and a
// narrow one for products with few columns (attention's [T, T] x [T, D] with
// D = 32), where the wide tile would leave half its lanes idle.
#if defined(__AVX512F__)
constexpr int kMR = 6, kNV = 4;               // 6 x 64 f32: 24 accumulators of the 32 zmm registers
constexpr int kNarrowMR = 12, kNarrowNV = 2;  // 12 x 32 f32: also 24
const char* const kIsa = "avx512";
#elif defined(__AVX2__)
constexpr int kMR = 6, kNV = 2;  // 6 x 16 f32: 12 of the 16 ymm registers
constexpr int kNarrowMR = 12, kNarrowNV = 1;
const char* const kIsa = "avx2";
#else
constexpr int kMR = 4, kNV = 2;
constexpr int kNarrowMR = 8, kNarrowNV = 1;
const char* const kIsa = "portable";
#endif

constexpr int64_t kKC = 256;            // depth of a packed slice: an A micro-panel stays in L1
constexpr int64_t kMC = 120;            // rows of a packed A block (MC x KC stays in L2)
constexpr int64_t kNC = 4096;           // columns of a packed B panel (KC x NC stays in L3)
constexpr double kParallelFlops = 4e6;  // below this, one thread is faster
// A column-major A is read in place by up to this many panels of B (1,024
// f32 columns with the AVX-512 tile); beyond, packing it once measured faster
// (bench/results/gemm_in_place/: 768 x 256 x 3072).
constexpr int64_t kColumnMajorInPlacePanels = 16;
// Threads that split the rows of a product of up to this many panels of B
// (512 f32 columns: a slice of at most 512 KB) pack B each for itself rather
// than share it and wait (bench/results/gemm_in_place/).
constexpr int64_t kOwnPanelsMax = 8;

// A tile shape: MR rows of C by NV vectors of columns.
template <int MR_, int NV_>
struct Tile {
  static constexpr int MR = MR_, NV = NV_;
  template <class T>
  static constexpr int NR = NV* Vec<T>::lanes;
};
using WideTile = Tile<kMR, kNV>;
using NarrowTile = Tile<kNarrowMR, kNarrowNV>;

// How the micro-kernel reads A: packed (Ap[k * MR + i]), or in place from
// row-major (A[i * lda + k]) or column-major (A[i + k * lda]) memory.
enum class ARead { packed, row_major, column_major };

// Tile of C += A (MR x kc) * Bp (kc x NR, packed), over the first kVecs of the
// tile's vectors of columns (all of them but in a product's last panel, whose
// columns may fill fewer). A is read as kA says (lda unused when packed); read
// in place, rows past mr are clamped to the last valid one, whose results are
// discarded. C is written only in its top-left mr x nr corner (nr <= kVecs
// vectors); `add` adds to C instead of overwriting it. `init` (NR values,
// zero-padded, or null) is added to every row: the bias. Each element is the
// same chain of fused multiply-adds whatever kVecs and however A is read.
template <class T, class Tl, ARead kA, int kVecs = Tl::NV>
void micro_kernel(int64_t kc, const T* __restrict A, int64_t lda, const T* __restrict Bp, T* C, int64_t ldc, int mr,
                  int nr, bool add, const T* init) {
  using V = typename Vec<T>::type;
  using UV = typename Vec<T>::unaligned;
  constexpr int kMR = Tl::MR;
  constexpr int L = Vec<T>::lanes, NR = Tl::template NR<T>;
  const T* row[kMR];
  for (int i = 0; i < kMR; ++i)
    row[i] = kA == ARead::packed ? A + i : A + std::min(i, mr - 1) * (kA == ARead::row_major ? lda : 1);
  // the step between consecutive k (a constant but for a column-major A)
  const int64_t ks = kA == ARead::packed ? kMR : kA == ARead::row_major ? 1 : lda;
  V c[kMR][kVecs];
  for (int j = 0; j < kVecs; ++j) {
    const V start = init ? *reinterpret_cast<const V*>(init + j * L) : V{};
    for (int i = 0; i < kMR; ++i) c[i][j] = start;
  }
  for (int64_t k = 0; k < kc; ++k) {
    V b[kVecs];
#pragma GCC unroll 8
    for (int j = 0; j < kVecs; ++j) b[j] = *reinterpret_cast<const V*>(Bp + k * NR + j * L);
#pragma GCC unroll 16
    for (int i = 0; i < kMR; ++i) {
      const T a = row[i][k * ks];
#pragma GCC unroll 8
      for (int j = 0; j < kVecs; ++j) c[i][j] += a * b[j];
    }
  }
  if (mr == kMR && nr == kVecs * L) {
    for (int i = 0; i < kMR; ++i)
      for (int j = 0; j < kVecs; ++j) {
        UV* dst = reinterpret_cast<UV*>(C + i * ldc + j * L);
        *dst = add ? *dst + c[i][j] : c[i][j];
      }
    return;
  }
  constexpr int W = kVecs * L;
  alignas(64) T tile[kMR * W];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kVecs; ++j) *reinterpret_cast<V*>(tile + i * W + j * L) = c[i][j];
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) C[i * ldc + j] = add ? C[i * ldc + j] + tile[i * W + j] : tile[i * W + j];
}

// micro_kernel over just the vectors that nr columns fill: a product of 200
// columns runs its last panel of 8 on one vector, not on the tile's four.
template <class T, class Tl, ARead kA, int kVecs = Tl::NV>
void edge_kernel(int64_t kc, const T* A, int64_t lda, const T* Bp, T* C, int64_t ldc, int mr, int nr, bool add,
                 const T* init) {
  if constexpr (kVecs > 1) {
    if (nr <= (kVecs - 1) * Vec<T>::lanes)
      return edge_kernel<T, Tl, kA, kVecs - 1>(kc, A, lda, Bp, C, ldc, mr, nr, add, init);
  }
  micro_kernel<T, Tl, kA, kVecs>(kc, A, lda, Bp, C, ldc, mr, nr, add, init);
}

// Packs rows [0, mc) x depth [0, kc) of A into MR-tall micro-panels:
// Ap[p * MR * kc + k * MR + i] = A[p * MR + i, k], zero past mc.
template <class T, class Tl>
void pack_a(int64_t mc, int64_t kc, const T* A, int64_t rs, int64_t cs, T* Ap) {
  constexpr int kMR = Tl::MR;
  for (int64_t p = 0; p < mc; p += kMR) {
    const int rows = int(std::min<int64_t>(kMR, mc - p));
    T* dst = Ap + p * kc;
    const T* src = A + p * rs;
    if (rows == kMR && cs == 1) {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = 0; i < kMR; ++i) dst[k * kMR + i] = src[i * rs + k];
    } else if (rows == kMR && rs == 1) {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = 0; i < kMR; ++i) dst[k * kMR + i] = src[k * cs + i];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = 0; i < kMR; ++i) dst[k * kMR + i] = i < rows ? src[i * rs + k * cs] : T(0);
    }
  }
}

// Packs one NR-wide micro-panel of B (depth kc, width nr <= NR):
// Bp[k * NR + j] = B[k, j], zero past nr.
template <class T, class Tl>
void pack_b_panel(int64_t kc, int64_t nr, const T* B, int64_t rs, int64_t cs, T* Bp) {
  constexpr int NR = Tl::template NR<T>;
  if (nr == NR && cs == 1) {
    for (int64_t k = 0; k < kc; ++k) std::memcpy(Bp + k * NR, B + k * rs, sizeof(T) * NR);
  } else if (nr == NR && rs == 1) {
    // B is a transposed view (a Linear weight read as W^T): each of the NR
    // source rows is contiguous in k. Move L x L blocks (L = vector lanes):
    // L row loads, a transpose in registers, L row stores.
    using V = typename Vec<T>::type;
    using UV = typename Vec<T>::unaligned;
    constexpr int L = Vec<T>::lanes;
    int64_t k0 = 0;
    for (; k0 + L <= kc; k0 += L)
      for (int j0 = 0; j0 < NR; j0 += L) {
        V v[L];
        for (int i = 0; i < L; ++i) v[i] = *reinterpret_cast<const UV*>(B + (j0 + i) * cs + k0);
        transpose_block<T>(v);
        for (int i = 0; i < L; ++i) *reinterpret_cast<UV*>(Bp + (k0 + i) * NR + j0) = v[i];
      }
    for (int j = 0; j < NR; ++j)
      for (int64_t k = k0; k < kc; ++k) Bp[k * NR + j] = B[j * cs + k];
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int j = 0; j < NR; ++j) Bp[k * NR + j] = j < nr ? B[k * rs + j * cs] : T(0);
  }
}

// The calling thread's packing buffer number `slot`, 64-byte aligned, grown to
// at least `elements` and kept for the thread's next GEMM: packing needs no
// allocator call (small products run many at a time, one per thread, and
// would queue at its lock). Slots: 0 A blocks (each thread its own), 1 the B
// slice and 2 the bias panels (the calling thread's, read by its whole team).
template <class T, int slot>
T* thread_buffer(size_t elements) {
  struct Buffer {
    void* ptr = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(ptr); }
  };
  static thread_local Buffer buf;
  const size_t bytes = (sizeof(T) * std::max<size_t>(elements, 1) + 63) / 64 * 64;
  if (bytes > buf.bytes) {
    std::free(buf.ptr);
    buf.ptr = std::aligned_alloc(64, bytes);
    buf.bytes = buf.ptr ? bytes : 0;
    if (buf.ptr == nullptr) throw std::bad_alloc();
  }
  return static_cast<T*>(buf.ptr);
}

template <class T>
T* a_buffer() {
  return thread_buffer<T, 0>(size_t(kMC + kNarrowMR) * kKC);
}

// bias_panels: the bias zero-padded to whole NR-wide panels, or null.
template <class T, class Tl>
void gemm_thread(int t, int nt, int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc,
                 bool accumulate, T* Bp, const T* bias_panels) {
  constexpr int kMR = Tl::MR, NR = Tl::template NR<T>;
  T* Ap = a_buffer<T>();
  // Each packed panel of B has a fixed place, whatever the slice's depth.
  const int64_t panel_size = NR * std::min(K, kKC);
  std::array<int64_t, 3> split_before{};  // the previous chunk's split (see below)
  for (int64_t jc = 0; jc < N; jc += kNC) {
    const int64_t nc = std::min(kNC, N - jc);
    const int64_t panels = (nc + NR - 1) / NR;
    // This thread's rows and columns, in whole micro-tiles. With enough of
    // both to go round, split so that the operand every thread reads whole is
    // the smaller one: a split of rows shares the packed B slice, one of
    // columns shares A. Otherwise split the longer way.
    const int64_t row_units = (M + kMR - 1) / kMR;
    const bool by_rows = std::min(row_units, panels) >= 2 * nt ? M > nc : row_units >= panels;
    int64_t r0 = 0, r1 = M, c0 = 0, c1 = panels;
    if (by_rows) {
      r0 = std::min(M, row_units * t / nt * kMR);
      r1 = std::min(M, row_units * (t + 1) / nt * kMR);
    } else {
      c0 = panels * t / nt;
      c1 = panels * (t + 1) / nt;
    }
    // A thread that splits the columns packs exactly the panels it reads.
    // Threads that split the rows of a product with few panels (a narrow
    // layer over a long batch) each pack the whole slice of B into a buffer
    // of their own: a little packing done twice, and no waiting, which for a
    // passive OpenMP thread means sleeping and being woken, dearer than such
    // a product.
    const bool own_b = nt > 1 && by_rows && panels <= kOwnPanelsMax;
    T* const Bt = own_b ? thread_buffer<T, 3>(size_t(panels * panel_size)) : Bp;
    const int64_t p0 = own_b ? 0 : panels * t / nt, p1 = own_b ? panels : panels * (t + 1) / nt;
    // Threads that share the packed slice wait for it to be whole before
    // reading it, and for every thread to be done with it before the next
    // slice overwrites it. Threads that split the columns never wait within
    // a chunk of NC columns, nor from one chunk to the next while the split
    // stays the same (every chunk but the last, narrower one of a wide
    // product such as a language model's head): where it changes, a thread's
    // new panels may lie where another thread is still reading, so they wait
    // there once.
    const bool wait = nt > 1 && !own_b && by_rows;
    const std::array<int64_t, 3> split = {by_rows, own_b, panels};
    if (nt > 1 && jc > 0 && split != split_before) {
#pragma omp barrier
    }
    split_before = split;
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      const bool add = accumulate || pc > 0;
      // 1. pack B[pc:pc+kc, jc:jc+nc], panels shared out among threads (or each thread's own)
      for (int64_t p = p0; p < p1; ++p)
        pack_b_panel<T, Tl>(kc, std::min<int64_t>(NR, nc - p * NR),
                            B.data + pc * B.row_stride + (jc + p * NR) * B.col_stride, B.row_stride, B.col_stride,
                            Bt + p * panel_size);
      if (wait) {
#pragma omp barrier
      }
      // 2. micro-kernels. A row-major A is read in place, and so is a
      // column-major one (a weight gradient X^T dY) unless this thread reads
      // it for many panels of B; anything else is packed.
      ARead read = ARead::packed;
      if (A.col_stride == 1)
        read = ARead::row_major;
      else if (A.row_stride == 1 && c1 - c0 <= kColumnMajorInPlacePanels)
        read = ARead::column_major;
      for (int64_t ic = r0; ic < r1; ic += kMC) {
        const int64_t mc = std::min(kMC, r1 - ic);
        const T* a_block = A.data + ic * A.row_stride + pc * A.col_stride;
        if (read == ARead::packed) pack_a<T, Tl>(mc, kc, a_block, A.row_stride, A.col_stride, Ap);
        for (int64_t p = c0; p < c1; ++p) {
          const int nr = int(std::min<int64_t>(NR, nc - p * NR));
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int mr = int(std::min<int64_t>(kMR, mc - ir));
            T* c_tile = C + (ic + ir) * ldc + jc + p * NR;
            const T* init = bias_panels != nullptr && pc == 0 ? bias_panels + jc + p * NR : nullptr;
            const T* b_panel = Bt + p * panel_size;
            if (read == ARead::packed)
              edge_kernel<T, Tl, ARead::packed>(kc, Ap + ir * kc, 0, b_panel, c_tile, ldc, mr, nr, add, init);
            else if (read == ARead::row_major)
              edge_kernel<T, Tl, ARead::row_major>(kc, a_block + ir * A.row_stride, A.row_stride, b_panel, c_tile, ldc,
                                                   mr, nr, add, init);
            else
              edge_kernel<T, Tl, ARead::column_major>(kc, a_block + ir, A.col_stride, b_panel, c_tile, ldc, mr, nr, add,
                                                      init);
          }
        }
      }
      if (wait) {
#pragma omp barrier
      }
    }
  }
}

template <class T, class Tl>
void gemm_with(int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc, bool accumulate,
               const T* bias) {
  constexpr int kMR = Tl::MR, NR = Tl::template NR<T>;
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int64_t tiles = std::max((M + kMR - 1) / kMR, (std::min(N, kNC) + NR - 1) / NR);
  int threads = (flops < kParallelFlops || omp_in_parallel()) ? 1 : num_threads();
  threads = int(std::min<int64_t>(threads, tiles));
  const int64_t panel_cols = (std::min(N, kNC) + NR - 1) / NR * NR;
  T* Bp = thread_buffer<T, 1>(size_t(panel_cols * std::min(K, kKC)));
  T* bias_panels = nullptr;
  if (bias != nullptr && !accumulate) {
    const int64_t padded = (N + NR - 1) / NR * NR;
    bias_panels = thread_buffer<T, 2>(size_t(padded));
    std::fill_n(std::copy_n(bias, N, bias_panels), padded - N, T(0));
  }
  if (threads <= 1) {
    gemm_thread<T, Tl>(0, 1, M, N, K, A, B, C, ldc, accumulate, Bp, bias_panels);
  } else {
#pragma omp parallel num_threads(threads)
    gemm_thread<T, Tl>(omp_get_thread_num(), omp_get_num_threads(), M, N, K, A, B, C, ldc, accumulate, Bp, bias_panels);
  }
}

}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc, bool accumulate,
          const T* bias) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) {
        if (bias)
          std::copy_n(bias, N, C + i * ldc);
        else
          std::fill_n(C + i * ldc, N, T(0));
      }
    return;
  }
  // One row: B read in place (gemm_row.h). At most one vector of columns:
  // rows against B's rows as vectors (gemm_narrow.h). Otherwise the narrow tile
  // when the columns would fill at most one narrow panel. All sum each element
  // in the same order.
  if (M == 1 && gemm_row_reads(B))
    gemm_row<T>(N, K, A.data, A.col_stride, B, C, accumulate, bias, kKC, kParallelFlops);
  else if (gemm_narrow_takes<T>(N))
    gemm_narrow<T>(M, N, K, A, B, C, ldc, accumulate, bias, kKC, kParallelFlops);
  else if (N <= NarrowTile::template NR<T>)
    gemm_with<T, NarrowTile>(M, N, K, A, B, C, ldc, accumulate, bias);
  else
    gemm_with<T, WideTile>(M, N, K, A, B, C, ldc, accumulate, bias);
}

template <class T>
void gemm_reference(int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc,
                    bool accumulate) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = accumulate ? double(C[i * ldc + j]) : 0.0;
      for (int64_t k = 0; k < K; ++k)
        s += double(A.data[i * A.row_stride + k * A.col_stride]) * double(B.data[k * B.row_stride + j * B.col_stride]);
      C[i * ldc + j] = T(s);
    }
}

const char* gemm_isa() { return kIsa; }

template void gemm<float>(int64_t, int64_t, int64_t, MatrixView<float>, MatrixView<float>, float*, int64_t, bool,
                          const float*);
template void gemm<double>(int64_t, int64_t, int64_t, MatrixView<double>, MatrixView<double>, double*, int64_t, bool,
                           const double*);
template void gemm_reference<float>(int64_t, int64_t, int64_t, MatrixView<float>, MatrixView<float>, float*, int64_t,
                                    bool);
template void gemm_reference<double>(int64_t, int64_t, int64_t, MatrixView<double>, MatrixView<double>, double*,
                                     int64_t, bool);

}  // namespace gradlab::cpu
