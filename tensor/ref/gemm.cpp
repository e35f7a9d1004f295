// Reference GEMM (see gemm.h): one output element at a time, a dot product of a
// row of op(A) with a column of op(B), summed in double.
#include "tensor/ref/gemm.h"

#include "tensor/error.h"

namespace gradlab::ref {

// Both entries come here: every operand is a strided view, element (r, c) of a
// view at data[r * row_stride + c * col_stride].
template <class T>
static void gemm_strided(int64_t M, int64_t N, int64_t K, double alpha, cpu::MatrixView<T> A, cpu::MatrixView<T> B,
                         double beta, T* C, int64_t ldc, const T* bias) {
  GL_CHECK(M >= 0 && N >= 0 && K >= 0, "ref::gemm: negative size M={} N={} K={}", M, N, K);
  GL_CHECK(ldc >= N, "ref::gemm: ldc = {} is less than N = {}", ldc, N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0;  // sum_k A[i, k] B[k, j]
      for (int64_t k = 0; k < K; ++k)
        sum += double(A.data[i * A.row_stride + k * A.col_stride]) * double(B.data[k * B.row_stride + j * B.col_stride]);
      double c = alpha * sum;
      if (beta != 0) c += beta * double(C[i * ldc + j]);
      if (bias != nullptr) c += double(bias[j]);
      C[i * ldc + j] = T(c);
    }
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc) {
  GL_CHECK(lda >= (trans_a ? M : K), "ref::gemm: lda = {} is less than the {} columns of A", lda, trans_a ? M : K);
  GL_CHECK(ldb >= (trans_b ? K : N), "ref::gemm: ldb = {} is less than the {} columns of B", ldb, trans_b ? K : N);
  // op(A)[i, k] is A[i * lda + k], or A[k * lda + i] when transposed; likewise B.
  const cpu::MatrixView<T> a = trans_a ? cpu::MatrixView<T>{A, 1, lda} : cpu::MatrixView<T>{A, lda, 1};
  const cpu::MatrixView<T> b = trans_b ? cpu::MatrixView<T>{B, 1, ldb} : cpu::MatrixView<T>{B, ldb, 1};
  gemm_strided<T>(M, N, K, double(alpha), a, b, double(beta), C, ldc, nullptr);
}

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, cpu::MatrixView<T> A, cpu::MatrixView<T> B, T* C, int64_t ldc,
          bool accumulate, const T* bias) {
  // cpu::gemm adds the bias only when it overwrites C.
  gemm_strided<T>(M, N, K, 1.0, A, B, accumulate ? 1.0 : 0.0, C, ldc, accumulate ? nullptr : bias);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);
template void gemm<float>(int64_t, int64_t, int64_t, cpu::MatrixView<float>, cpu::MatrixView<float>, float*, int64_t,
                          bool, const float*);
template void gemm<double>(int64_t, int64_t, int64_t, cpu::MatrixView<double>, cpu::MatrixView<double>, double*,
                           int64_t, bool, const double*);

}  // namespace gradlab::ref
