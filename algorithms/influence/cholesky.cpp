// Cholesky-Crout, column by column: for j = 0..n-1,
//   L_jj = sqrt(a_jj - sum_{k<j} L_jk^2),
//   L_ij = (a_ij - sum_{k<j} L_ik L_jk) / L_jj   for i > j,
// where both sums run along contiguous rows of L (so they vectorise), and the
// rows i > j of one column are independent (so they run in parallel).
#include "algorithms/influence/cholesky.h"

#include <cmath>

#include "tensor/creation.h"
#include "tensor/error.h"

namespace gradlab::influence {

namespace {

double row_dot(const double* a, const double* b, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t k = 0; k < n; ++k) s += a[k] * b[k];
  return s;
}

}  // namespace

Tensor cholesky_factor(const Tensor& a, const std::string& op) {
  GL_CHECK(a.defined() && a.dim() == 2 && a.size(0) == a.size(1), "{}: want a square matrix [n, n], got {}", op,
           a.defined() ? a.shape() : Shape{});
  GL_CHECK(a.is_cpu(), "{}: the matrix must be on the CPU", op);
  const int64_t n = a.size(0);
  const Tensor A = a.to(DType::f64).contiguous();
  Tensor L = zeros({n, n}, DType::f64);
  const double* pa = A.data<double>();
  double* pl = L.data<double>();
  for (int64_t j = 0; j < n; ++j) {
    const double pivot = pa[j * n + j] - row_dot(pl + j * n, pl + j * n, j);
    GL_CHECK(std::isfinite(pivot) && pivot > 0,
             "{}: the matrix is not positive definite (pivot {} at row {} of {})", op, pivot, j, n);
    const double diag = std::sqrt(pivot);
    pl[j * n + j] = diag;
#pragma omp parallel for schedule(static) if (n - j > 256)
    for (int64_t i = j + 1; i < n; ++i) pl[i * n + j] = (pa[i * n + j] - row_dot(pl + i * n, pl + j * n, j)) / diag;
  }
  return L;
}

Tensor cholesky_solve(const Tensor& L, const Tensor& b) {
  GL_CHECK(L.defined() && L.dim() == 2 && L.size(0) == L.size(1) && L.dtype() == DType::f64 && L.is_contiguous(),
           "cholesky_solve: want a contiguous f64 factor [n, n], got {}", L.defined() ? L.shape() : Shape{});
  const int64_t n = L.size(0);
  GL_CHECK(b.defined() && b.dim() == 1 && b.size(0) == n, "cholesky_solve: right-hand side of shape {} for [{}, {}]",
           b.defined() ? b.shape() : Shape{}, n, n);
  Tensor x = b.to(Device::cpu).to(DType::f64).contiguous().clone();
  const double* pl = L.data<double>();
  double* px = x.data<double>();
  for (int64_t i = 0; i < n; ++i) px[i] = (px[i] - row_dot(pl + i * n, px, i)) / pl[i * n + i];  // L y = b
  for (int64_t i = n - 1; i >= 0; --i) {                                                            // L^T x = y
    px[i] /= pl[i * n + i];
    for (int64_t k = 0; k < i; ++k) px[k] -= pl[i * n + k] * px[i];
  }
  return x;
}

}  // namespace gradlab::influence
