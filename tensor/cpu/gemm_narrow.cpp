// The narrow product (see gemm_narrow.h). For each slice of K, B's rows become
// one vector each (lanes past N zero), kept in L1; then blocks of kRows rows of
// A run kRows independent chains of fused multiply-adds, one per row: for each
// k, one broadcast element of the row times the vector of B's row k. The lanes
// past N are computed and dropped.
#include "tensor/cpu/gemm_narrow.h"

#include <algorithm>
#include <stdexcept>

#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

constexpr int kRows = 8;            // rows in flight: enough chains to keep both FMA units busy
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
  const int64_t blocks = (M + kRows - 1) / kRows;
  const double block_flops = 2.0 * kRows * L * double(std::min(K, slice));
  const int64_t grain = std::max<int64_t>(1, int64_t(parallel_flops / 2 / block_flops));
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
    parallel_for(blocks, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t blk = lo; blk < hi; ++blk) {
        const int64_t i0 = blk * kRows;
        const int rows = int(std::min<int64_t>(kRows, M - i0));
        if (a.col_stride == 1)
          narrow_rows<T, true>(i0, rows, kc, a, bv, C, ldc, int(N), add, start);
        else
          narrow_rows<T, false>(i0, rows, kc, a, bv, C, ldc, int(N), add, start);
      }
    });
  }
}

template void gemm_narrow<float>(int64_t, int64_t, int64_t, MatrixView<float>, MatrixView<float>, float*, int64_t,
                                 bool, const float*, int64_t, double);
template void gemm_narrow<double>(int64_t, int64_t, int64_t, MatrixView<double>, MatrixView<double>, double*, int64_t,
                                  bool, const double*, int64_t, double);

}  // namespace gradlab::cpu
