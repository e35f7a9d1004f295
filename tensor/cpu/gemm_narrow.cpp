// The narrow product (see gemm_narrow.h). For each slice of K, B's rows become
// one vector each (lanes past N zero), kept in L1; then blocks of kRows rows of
// A run kRows independent chains of fused multiply-adds, one per row: for each
// k, one broadcast element of the row times the vector of B's row k. The lanes
// past N are computed and dropped. With at most half a vector of columns and
// rows contiguous in A, L rows go across the lanes instead (narrow_across):
// the same chains, element by element, with far fewer lanes wasted.
#include "tensor/cpu/gemm_narrow.h"

#include <algorithm>
#include <stdexcept>

#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

constexpr int kRows = 8;            // rows in flight: enough chains to keep both FMA units busy
constexpr int64_t kUnit = 16;       // rows per unit of work: whole blocks of kRows and of L rows
constexpr int64_t kMaxSlice = 256;  // B's vectors live on the stack: 16 KB at most

// Rows [i0, i0 + rows) of C over the slice's kc values of k (A already offset
// to the slice). Rows past `rows` repeat the last one; their sums are dropped.
template <class T, bool kUnitStride>
void narrow_rows(int64_t i0, int rows, int64_t kc, MatrixView<T> A, const typename Vec<T>::type* bv, T* C, int64_t ldc,
                 int N, bool add, const typename Vec<T>::type* init) {
  using V = typename Vec<T>::type;
  const int64_t cs = kUnitStride ? 1 : A.col_stride;
  const T* row[kRows];
  for (int r = 0; r < kRows; ++r) row[r] = A.data + (i0 + std::min(r, rows - 1)) * A.row_stride;
  V sum[kRows];
  for (int r = 0; r < kRows; ++r) sum[r] = init != nullptr ? *init : V{};
  for (int64_t k = 0; k < kc; ++k) {
    const V b = bv[k];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) sum[r] += row[r][k * cs] * b;
  }
  for (int r = 0; r < rows; ++r) {
    T* c = C + (i0 + r) * ldc;
    for (int j = 0; j < N; ++j) c[j] = add ? c[j] + sum[r][j] : sum[r][j];
  }
}

// The k loop of narrow_across for rows with unit column stride: the L rows'
// values at L consecutive k are L row vectors, transposed in registers.
template <class T, int NA>
void across_transposed(const T* a0, int64_t rs, int64_t kc, const T* bt, typename Vec<T>::type* acc) {
  using V = typename Vec<T>::type;
  using UV = typename Vec<T>::unaligned;
  constexpr int L = Vec<T>::lanes;
  int64_t k = 0;
  for (; k + L <= kc; k += L) {
    V a[L];
    for (int r = 0; r < L; ++r) a[r] = *reinterpret_cast<const UV*>(a0 + r * rs + k);
    transpose_block<T>(a);  // a[kk][r] = A[i0 + r, k + kk]
    for (int kk = 0; kk < L; ++kk)
      for (int j = 0; j < NA; ++j) acc[j] += a[kk] * bt[(k + kk) * L + j];
  }
  for (; k < kc; ++k) {
    V a;
    for (int r = 0; r < L; ++r) a[r] = a0[r * rs + k];
    for (int j = 0; j < NA; ++j) acc[j] += a * bt[k * L + j];
  }
}

// Rows [i0, i0 + L) of C, one per lane, for the first NA >= N columns. One
// vector holds one k for every row, multiplied by B[k, j] for each column j:
// loaded directly when A's rows are adjacent (row stride 1, a transposed
// view), else (column stride 1) L row vectors of L consecutive k transposed
// in registers. Every element gets the chain of narrow_rows: from the bias
// (or zero), one fused multiply-add per k in order.
template <class T, int NA, bool kAdjacentRows>
void narrow_across(int64_t i0, int64_t kc, MatrixView<T> A, const T* bt, T* C, int64_t ldc, int N, bool add,
                   const T* init) {
  using V = typename Vec<T>::type;
  using UV = typename Vec<T>::unaligned;
  constexpr int L = Vec<T>::lanes;
  const T* a0 = A.data + i0 * A.row_stride;
  const int64_t rs = A.row_stride;
  V acc[NA];
  for (int j = 0; j < NA; ++j)
    for (int r = 0; r < L; ++r) acc[j][r] = init != nullptr ? init[j] : T(0);
  if constexpr (kAdjacentRows) {
    for (int64_t k = 0; k < kc; ++k) {
      const V a = *reinterpret_cast<const UV*>(a0 + k * A.col_stride);  // a[r] = A[i0 + r, k]
      for (int j = 0; j < NA; ++j) acc[j] += a * bt[k * L + j];
    }
  } else {
    across_transposed<T, NA>(a0, rs, kc, bt, acc);
  }
  for (int r = 0; r < L; ++r) {
    T* c = C + (i0 + r) * ldc;
    for (int j = 0; j < N; ++j) c[j] = add ? c[j] + acc[j][r] : acc[j][r];
  }
}

// narrow_across with NA = `across` accumulators.
template <class T, bool kAdjacentRows>
void across_block(int across, int64_t i0, int64_t kc, MatrixView<T> A, const T* bt, T* C, int64_t ldc, int N, bool add,
                  const T* init) {
  switch (across) {
    case 1: return narrow_across<T, 1, kAdjacentRows>(i0, kc, A, bt, C, ldc, N, add, init);
    case 2: return narrow_across<T, 2, kAdjacentRows>(i0, kc, A, bt, C, ldc, N, add, init);
    case 4: return narrow_across<T, 4, kAdjacentRows>(i0, kc, A, bt, C, ldc, N, add, init);
    default: return narrow_across<T, 8, kAdjacentRows>(i0, kc, A, bt, C, ldc, N, add, init);
  }
}

}  // namespace

template <class T>
void gemm_narrow(int64_t M, int64_t N, int64_t K, MatrixView<T> A, MatrixView<T> B, T* C, int64_t ldc, bool accumulate,
                 const T* bias, int64_t slice, double parallel_flops) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  if (!gemm_narrow_takes<T>(N) || slice < 1 || slice > kMaxSlice)
    throw std::invalid_argument("gemm_narrow: needs 1 <= N <= the vector lanes and 1 <= slice <= 256");
  V init{};
  if (bias != nullptr && !accumulate)
    for (int j = 0; j < N; ++j) init[j] = bias[j];
  alignas(64) T bt[kMaxSlice * L];  // bt[k L + j] = B[k0 + k, j], zero past N
  const int64_t units = (M + kUnit - 1) / kUnit;
  const double unit_flops = 2.0 * kUnit * L * double(std::min(K, slice));
  const int64_t grain = std::max<int64_t>(1, int64_t(parallel_flops / 2 / unit_flops));
  // Columns per lane-across block (0: rows in flight instead), and whether A's
  // rows are adjacent (one load per k) rather than contiguous (transposes).
  const bool adjacent = A.row_stride == 1;
  const int across = (A.col_stride != 1 && !adjacent) || N > L / 2 ? 0 : N <= 1 ? 1 : N <= 2 ? 2 : N <= 4 ? 4 : 8;
  for (int64_t k0 = 0; k0 < K; k0 += slice) {
    const int64_t kc = std::min(slice, K - k0);
    // B[k0 + k, :N] as bv[k]; a transposed B (row stride 1) is read along k.
    if (N < L)  // the lanes past N, zero (they are summed and dropped)
      for (int64_t k = 0; k < kc; ++k) std::fill(bt + k * L + N, bt + (k + 1) * L, T(0));
    const T* b = B.data + k0 * B.row_stride;
    for (int j = 0; j < N; ++j)
      for (int64_t k = 0; k < kc; ++k) bt[k * L + j] = b[k * B.row_stride + j * B.col_stride];
    const V* bv = reinterpret_cast<const V*>(bt);
    const bool add = accumulate || k0 > 0;
    const V* start = k0 == 0 && bias != nullptr && !accumulate ? &init : nullptr;
    const MatrixView<T> a{A.data + k0 * A.col_stride, A.row_stride, A.col_stride};
    const T* init = start != nullptr ? reinterpret_cast<const T*>(start) : nullptr;
    parallel_for(units, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t u = lo; u < hi; ++u) {
        const int64_t end = std::min(M, (u + 1) * kUnit);
        int64_t i = u * kUnit;
        for (; across > 0 && i + L <= end; i += L) {
          if (adjacent)
            across_block<T, true>(across, i, kc, a, bt, C, ldc, int(N), add, init);
          else
            across_block<T, false>(across, i, kc, a, bt, C, ldc, int(N), add, init);
        }
        for (; i < end; i += kRows) {
          const int rows = int(std::min<int64_t>(kRows, end - i));
          if (a.col_stride == 1)
            narrow_rows<T, true>(i, rows, kc, a, bv, C, ldc, int(N), add, start);
          else
            narrow_rows<T, false>(i, rows, kc, a, bv, C, ldc, int(N), add, start);
        }
      }
    });
  }
}

template void gemm_narrow<float>(int64_t, int64_t, int64_t, MatrixView<float>, MatrixView<float>, float*, int64_t,
                                 bool, const float*, int64_t, double);
template void gemm_narrow<double>(int64_t, int64_t, int64_t, MatrixView<double>, MatrixView<double>, double*, int64_t,
                                  bool, const double*, int64_t, double);

}  // namespace gradlab::cpu
