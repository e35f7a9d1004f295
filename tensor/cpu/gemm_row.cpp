// The one-row product (see gemm_row.h). Columns go in groups of G vectors, G
// independent chains of fused multiply-adds in flight. A row-major B gives each
// k one contiguous row segment per vector; a transposed B (a Linear weight read
// as W^T, the keys of an attention cache) is read along its contiguous axis in
// L x L blocks (L = lanes) and transposed in registers, so each k again meets
// one vector of columns. The last columns that fill no vector share one.
#include "tensor/cpu/gemm_row.h"

#include <algorithm>

#include "tensor/cpu/simd.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

constexpr int kGroup = 4;  // vectors of columns per group

// Columns [n0, n0 + G L) of c.
template <class T, int G>
void row_group(int64_t n0, int64_t K, const T* a, int64_t as, MatrixView<T> B, T* c, bool accumulate, const T* bias,
               int64_t slice) {
  using V = typename Vec<T>::type;
  using UV = typename Vec<T>::unaligned;
  constexpr int L = Vec<T>::lanes;
  const auto load = [](const T* p) { return V(*reinterpret_cast<const UV*>(p)); };
  const int64_t rs = B.row_stride, cs = B.col_stride;
  V out[G] = {};
  for (int64_t k0 = 0; k0 < K; k0 += slice) {
    const int64_t k1 = std::min(K, k0 + slice);
    V sum[G];
    for (int g = 0; g < G; ++g) sum[g] = k0 == 0 && bias != nullptr ? load(bias + n0 + g * L) : V{};
    if (cs == 1) {
      for (int64_t k = k0; k < k1; ++k) {
        const T ak = a[k * as];
        const T* row = B.data + k * rs + n0;
        for (int g = 0; g < G; ++g) sum[g] += ak * load(row + g * L);
      }
    } else {  // rs == 1: column n of B is contiguous in k
      int64_t k = k0;
      for (; k + L <= k1; k += L)
        for (int g = 0; g < G; ++g) {
          V block[L];
          for (int i = 0; i < L; ++i) block[i] = load(B.data + (n0 + g * L + i) * cs + k);
          transpose_block<T>(block);  // block[i]: B[k + i, n0 + g L ...]
          for (int i = 0; i < L; ++i) sum[g] += a[(k + i) * as] * block[i];
        }
      for (; k < k1; ++k)
        for (int g = 0; g < G; ++g) {
          V b;
          for (int i = 0; i < L; ++i) b[i] = B.data[(n0 + g * L + i) * cs + k];
          sum[g] += a[k * as] * b;
        }
    }
    for (int g = 0; g < G; ++g) out[g] = k0 > 0 ? out[g] + sum[g] : accumulate ? load(c + n0 + g * L) + sum[g] : sum[g];
  }
  for (int g = 0; g < G; ++g) *reinterpret_cast<UV*>(c + n0 + g * L) = out[g];
}

// The last nn < L columns [n0, n0 + nn) as one vector, its other lanes zero
// (vector arithmetic as in the groups, so the same fused multiply-adds).
template <class T>
void row_tail(int64_t n0, int nn, int64_t K, const T* a, int64_t as, MatrixView<T> B, T* c, bool accumulate,
              const T* bias, int64_t slice) {
  using V = typename Vec<T>::type;
  V out{};
  for (int64_t k0 = 0; k0 < K; k0 += slice) {
    const int64_t k1 = std::min(K, k0 + slice);
    V sum{};
    if (k0 == 0 && bias != nullptr)
      for (int i = 0; i < nn; ++i) sum[i] = bias[n0 + i];
    for (int64_t k = k0; k < k1; ++k) {
      V b{};
      for (int i = 0; i < nn; ++i) b[i] = B.data[k * B.row_stride + (n0 + i) * B.col_stride];
      sum += a[k * as] * b;
    }
    if (k0 > 0) {
      out += sum;
    } else if (accumulate) {
      for (int i = 0; i < nn; ++i) out[i] = c[n0 + i];
      out += sum;
    } else {
      out = sum;
    }
  }
  for (int i = 0; i < nn; ++i) c[n0 + i] = out[i];
}

}  // namespace

template <class T>
void gemm_row(int64_t N, int64_t K, const T* a, int64_t a_stride, MatrixView<T> B, T* c, bool accumulate, const T* bias,
              int64_t slice, double parallel_flops) {
  constexpr int L = Vec<T>::lanes;
  const int64_t groups = N / (kGroup * L);
  const double group_flops = 2.0 * double(K) * kGroup * L;
  const int64_t grain = std::max<int64_t>(1, int64_t(parallel_flops / 2 / std::max(group_flops, 1.0)));
  parallel_for(groups, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t g = lo; g < hi; ++g)
      row_group<T, kGroup>(g * kGroup * L, K, a, a_stride, B, c, accumulate, bias, slice);
  });
  int64_t n = groups * kGroup * L;
  for (; n + L <= N; n += L) row_group<T, 1>(n, K, a, a_stride, B, c, accumulate, bias, slice);
  if (n < N) row_tail<T>(n, int(N - n), K, a, a_stride, B, c, accumulate, bias, slice);
}

template void gemm_row<float>(int64_t, int64_t, const float*, int64_t, MatrixView<float>, float*, bool, const float*,
                              int64_t, double);
template void gemm_row<double>(int64_t, int64_t, const double*, int64_t, MatrixView<double>, double*, bool,
                               const double*, int64_t, double);

}  // namespace gradlab::cpu
