// Small dense linear algebra: symmetric eigendecomposition and the thin SVD
// by one-sided (Hestenes) Jacobi. eigh uses cyclic Jacobi rotations below
// kTridiagonalFrom rows (simple, accurate to a few ulp: Gram matrices of a
// few snapshots) and, from there on, Householder reduction to a tridiagonal
// matrix followed by the implicitly shifted QL iteration, about ten times
// fewer flops than Jacobi's sweeps and contiguous memory access (K-FAC factors
// of a few hundred rows). They run in f64 on the CPU whatever the input's
// device; the result is returned in the input's dtype and device.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "tensor/ops.h"

namespace gradlab {

namespace {

constexpr int kMaxSweeps = 100;

void check_finite(const std::vector<double>& a, std::string_view op) {
  for (double v : a) GL_CHECK(std::isfinite(v), "{}: input contains NaN or infinity", op);
}

// Eigen-decomposes the symmetric n x n matrix whose lower triangle is in `a`
// (row-major). Writes ascending eigenvalues to w and eigenvectors to the
// columns of v (row-major n x n).
void jacobi_eigh(std::vector<double> a, int64_t n, double* w, double* v) {
  for (int64_t i = 0; i < n; ++i)  // mirror the lower triangle
    for (int64_t j = i + 1; j < n; ++j) a[size_t(i * n + j)] = a[size_t(j * n + i)];
  std::vector<double> V(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) V[size_t(i * n + i)] = 1.0;
  auto A = [&](int64_t i, int64_t j) -> double& { return a[size_t(i * n + j)]; };
  double total = 0;
  for (double x : a) total += x * x;
  int sweep = 0;
  for (; sweep < kMaxSweeps; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        if (i != j) off += A(i, j) * A(i, j);
    if (off <= 1e-30 * total || off == 0) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = A(p, q);
        if (apq == 0) continue;
        // The rotation J (c, s) with J^T A J zeroing a_pq; t = tan(angle) is the
        // smaller root of t^2 + 2 theta t - 1 = 0.
        const double theta = (A(q, q) - A(p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // A <- A J
          const double akp = A(k, p), akq = A(k, q);
          A(k, p) = c * akp - s * akq;
          A(k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // A <- J^T A
          const double apk = A(p, k), aqk = A(q, k);
          A(p, k) = c * apk - s * aqk;
          A(q, k) = s * apk + c * aqk;
        }
        A(p, q) = A(q, p) = 0;
        for (int64_t k = 0; k < n; ++k) {  // V <- V J
          const double vkp = V[size_t(k * n + p)], vkq = V[size_t(k * n + q)];
          V[size_t(k * n + p)] = c * vkp - s * vkq;
          V[size_t(k * n + q)] = s * vkp + c * vkq;
        }
      }
  }
  GL_CHECK(sweep < kMaxSweeps, "eigh: Jacobi iteration did not converge in {} sweeps", kMaxSweeps);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return A(x, x) < A(y, y); });
  for (int64_t j = 0; j < n; ++j) {
    w[j] = A(order[size_t(j)], order[size_t(j)]);
    for (int64_t i = 0; i < n; ++i) v[i * n + j] = V[size_t(i * n + order[size_t(j)])];
  }
}

// From this many rows eigh reduces to a tridiagonal matrix instead of
// rotating the full one.
constexpr int64_t kTridiagonalFrom = 32;
constexpr int kMaxQLIterations = 60;  // per eigenvalue; a few are typical

// Householder reduction of the symmetric n x n matrix `a` (row-major, both
// triangles filled) to a tridiagonal T = Q^T A Q. Writes T's diagonal to d
// [n] and its off-diagonal to e (e[i] couples rows i and i+1, e[n-1] = 0),
// and Q^T, row-major, to qt [n x n].
//
// Step k reflects x = A[k+1.., k] onto alpha e_1 with H = I - tau v v^T,
// v = x - alpha e_1, tau = 2 / v^T v, alpha = -sign(x_0)|x| (no cancellation
// in v_0). The trailing block B = A[k+1.., k+1..] becomes H B H =
// B - v w^T - w v^T with p = tau B v and w = p - (tau/2)(v^T p) v, and Q <- Q H.
void householder_tridiagonal(std::vector<double>& a, int64_t n, double* d, double* e, std::vector<double>& qt) {
  const size_t un = static_cast<size_t>(n);
  std::vector<double> q(un * un, 0.0), v(un), w(un);
  for (int64_t i = 0; i < n; ++i) q[size_t(i * n + i)] = 1.0;
  auto A = [&](int64_t i, int64_t j) -> double& { return a[size_t(i * n + j)]; };
  for (int64_t k = 0; k + 2 < n; ++k) {
    const int64_t m = n - k - 1;  // the trailing block's size
    double norm2 = 0;
    for (int64_t i = 0; i < m; ++i) norm2 += A(k, k + 1 + i) * A(k, k + 1 + i);  // row k = column k
    const double x0 = A(k, k + 1);
    const double alpha = norm2 == 0 ? 0.0 : (x0 >= 0 ? -std::sqrt(norm2) : std::sqrt(norm2));
    for (int64_t i = 0; i < m; ++i) v[size_t(i)] = A(k, k + 1 + i);
    v[0] -= alpha;
    double vv = 0;
    for (int64_t i = 0; i < m; ++i) vv += v[size_t(i)] * v[size_t(i)];
    e[k] = alpha;
    if (vv == 0) continue;  // the column is already reduced
    const double tau = 2.0 / vv;
    double vp = 0;
    for (int64_t i = 0; i < m; ++i) {  // p = tau B v
      double acc = 0;
      const double* row = &A(k + 1 + i, k + 1);
      for (int64_t j = 0; j < m; ++j) acc += row[j] * v[size_t(j)];
      w[size_t(i)] = tau * acc;
      vp += v[size_t(i)] * w[size_t(i)];
    }
    const double half = 0.5 * tau * vp;
    for (int64_t i = 0; i < m; ++i) w[size_t(i)] -= half * v[size_t(i)];
    for (int64_t i = 0; i < m; ++i) {  // B <- B - v w^T - w v^T
      double* row = &A(k + 1 + i, k + 1);
      const double vi = v[size_t(i)], wi = w[size_t(i)];
      for (int64_t j = 0; j < m; ++j) row[j] -= vi * w[size_t(j)] + wi * v[size_t(j)];
    }
    for (int64_t r = 0; r < n; ++r) {  // Q <- Q H, row by row
      double* row = &q[size_t(r * n + k + 1)];
      double dot = 0;
      for (int64_t j = 0; j < m; ++j) dot += row[j] * v[size_t(j)];
      dot *= tau;
      for (int64_t j = 0; j < m; ++j) row[j] -= dot * v[size_t(j)];
    }
  }
  for (int64_t i = 0; i < n; ++i) d[i] = A(i, i);
  if (n >= 2) e[n - 2] = A(n - 2, n - 1);
  e[n - 1] = 0;
  qt.assign(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) qt[size_t(j * n + i)] = q[size_t(i * n + j)];
}

// The eigenvalues of the symmetric tridiagonal (d, e) by the implicitly
// shifted QL iteration, overwriting d; every rotation is also applied to the
// rows of zt (so that, started from Q^T, its rows end as A's eigenvectors).
// For the block starting at l, the shift is the eigenvalue of the leading 2 x 2
// closer to d[l]; a sweep chases the bulge from the bottom of the unreduced
// block (m, where e[m] is negligible) up to l with Givens rotations.
void tridiagonal_ql(double* d, double* e, int64_t n, std::vector<double>& zt) {
  constexpr double eps = 2.220446049250313e-16;
  for (int64_t l = 0; l < n; ++l) {
    for (int iter = 0;; ++iter) {
      int64_t m = l;
      for (; m + 1 < n; ++m)
        if (std::fabs(e[m]) <= eps * (std::fabs(d[m]) + std::fabs(d[m + 1]))) break;
      if (m == l) break;
      GL_CHECK(iter < kMaxQLIterations, "eigh: QL iteration did not converge in {} steps", kMaxQLIterations);
      double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
      double r = std::hypot(g, 1.0);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      double s = 1, c = 1, p = 0;
      bool deflated = false;
      for (int64_t i = m - 1; i >= l; --i) {
        const double f = s * e[i], b = c * e[i];
        r = std::hypot(f, g);
        e[i + 1] = r;
        if (r == 0) {  // an exact zero split the block: restart on the smaller one
          d[i + 1] -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        double* zi = &zt[size_t(i * n)];
        double* zj = &zt[size_t((i + 1) * n)];
        for (int64_t k = 0; k < n; ++k) {
          const double t = zj[k];
          zj[k] = s * zi[k] + c * t;
          zi[k] = c * zi[k] - s * t;
        }
      }
      if (deflated) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

// eigh for larger matrices: tridiagonalise, then QL; the same output
// contract as jacobi_eigh.
void tridiagonal_eigh(std::vector<double> a, int64_t n, double* w, double* v) {
  for (int64_t i = 0; i < n; ++i)  // mirror the lower triangle
    for (int64_t j = i + 1; j < n; ++j) a[size_t(i * n + j)] = a[size_t(j * n + i)];
  std::vector<double> d(static_cast<size_t>(n)), e(static_cast<size_t>(n)), zt;
  householder_tridiagonal(a, n, d.data(), e.data(), zt);
  tridiagonal_ql(d.data(), e.data(), n, zt);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return d[size_t(x)] < d[size_t(y)]; });
  for (int64_t j = 0; j < n; ++j) {
    const int64_t o = order[size_t(j)];
    w[j] = d[size_t(o)];
    for (int64_t i = 0; i < n; ++i) v[i * n + j] = zt[size_t(o * n + i)];
  }
}

// Thin SVD of the m x n matrix `a` (row-major) with m >= n. Works on the
// columns of A as contiguous rows of W = A^T, rotating pairs until all are
// mutually orthogonal; then S = column norms, U = normalised columns.
// Writes U (m x n), S (n), Vh (n x n), all row-major.
void jacobi_svd_tall(const std::vector<double>& a, int64_t m, int64_t n, double* U, double* S, double* Vh) {
  std::vector<double> W(size_t(n * m)), V(size_t(n * n), 0.0);  // W = A^T; V^T as rows
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) W[size_t(j * m + i)] = a[size_t(i * n + j)];
  for (int64_t j = 0; j < n; ++j) V[size_t(j * n + j)] = 1.0;
  auto col = [&](int64_t j) { return W.data() + j * m; };
  auto vcol = [&](int64_t j) { return V.data() + j * n; };
  int sweep = 0;
  for (; sweep < kMaxSweeps; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double alpha = 0, beta = 0, gamma = 0;
        const double *up = col(p), *uq = col(q);
        for (int64_t k = 0; k < m; ++k) {
          alpha += up[k] * up[k];
          beta += uq[k] * uq[k];
          gamma += up[k] * uq[k];
        }
        if (gamma == 0 || std::fabs(gamma) <= 1e-15 * std::sqrt(alpha * beta)) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        double *xp = col(p), *xq = col(q);
        for (int64_t k = 0; k < m; ++k) {
          const double x = xp[k], y = xq[k];
          xp[k] = c * x - s * y;
          xq[k] = s * x + c * y;
        }
        double *vp = vcol(p), *vq = vcol(q);
        for (int64_t k = 0; k < n; ++k) {
          const double x = vp[k], y = vq[k];
          vp[k] = c * x - s * y;
          vq[k] = s * x + c * y;
        }
      }
    if (!rotated) break;
  }
  GL_CHECK(sweep < kMaxSweeps, "svd: Jacobi iteration did not converge in {} sweeps", kMaxSweeps);
  std::vector<double> norms(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    double s2 = 0;
    for (int64_t k = 0; k < m; ++k) s2 += col(j)[k] * col(j)[k];
    norms[size_t(j)] = std::sqrt(s2);
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x, int64_t y) { return norms[size_t(x)] > norms[size_t(y)]; });
  const double tiny = norms[size_t(order[0])] * 1e-300 + 1e-300;
  std::vector<double> Ucols(size_t(n * m));  // columns of U as rows
  for (int64_t j = 0; j < n; ++j) {
    const int64_t src = order[size_t(j)];
    S[j] = norms[size_t(src)];
    for (int64_t k = 0; k < n; ++k) Vh[j * n + k] = vcol(src)[k];
    double* u = Ucols.data() + j * m;
    if (S[j] > tiny) {
      for (int64_t k = 0; k < m; ++k) u[k] = col(src)[k] / S[j];
      continue;
    }
    // A zero singular value: complete U with a unit vector orthogonal to the
    // columns so far (Gram-Schmidt on the standard basis), keeping U orthonormal.
    for (int64_t e = 0; e < m; ++e) {
      std::fill(u, u + m, 0.0);
      u[e] = 1.0;
      for (int pass = 0; pass < 2; ++pass)
        for (int64_t i = 0; i < j; ++i) {
          const double* ui = Ucols.data() + i * m;
          double d = 0;
          for (int64_t k = 0; k < m; ++k) d += ui[k] * u[k];
          for (int64_t k = 0; k < m; ++k) u[k] -= d * ui[k];
        }
      double nn = 0;
      for (int64_t k = 0; k < m; ++k) nn += u[k] * u[k];
      if (nn > 0.5) {
        for (int64_t k = 0; k < m; ++k) u[k] /= std::sqrt(nn);
        break;
      }
    }
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) U[i * n + j] = Ucols[size_t(j * m + i)];
}

// The batch axes of a [.., r, c] matrix tensor, and the number of matrices.
int64_t batch_count(const Tensor& a) {
  int64_t b = 1;
  for (int d = 0; d < a.dim() - 2; ++d) b *= a.shape()[d];
  return b;
}

Shape with_tail(const Tensor& a, std::initializer_list<int64_t> tail) {
  Shape s(std::span<const int64_t>(a.shape().begin(), a.shape().end() - 2));
  for (int64_t t : tail) s.push_back(t);
  return s;
}

}  // namespace

Eigh eigh(const Tensor& a) {
  GL_CHECK(a.defined(), "eigh: tensor is undefined");
  GL_CHECK(is_floating(a.dtype()), "eigh: expected f32 or f64, got {}", a.dtype());
  GL_CHECK(a.dim() >= 2 && a.size(-1) == a.size(-2), "eigh: expected square matrices [.., n, n], got {}", a.shape());
  const int64_t n = a.size(-1), batch = batch_count(a);
  const std::vector<double> values = a.to_vector<double>();
  check_finite(values, "eigh");
  std::vector<double> w(size_t(batch * n)), v(size_t(batch * n * n));
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> m(values.begin() + b * n * n, values.begin() + (b + 1) * n * n);
    if (n >= kTridiagonalFrom)
      tridiagonal_eigh(std::move(m), n, w.data() + b * n, v.data() + b * n * n);
    else
      jacobi_eigh(std::move(m), n, w.data() + b * n, v.data() + b * n * n);
  }
  return {from_vector(w, with_tail(a, {n})).to(a.dtype()).to(a.device()),
          from_vector(v, with_tail(a, {n, n})).to(a.dtype()).to(a.device())};
}

Svd svd(const Tensor& a) {
  GL_CHECK(a.defined(), "svd: tensor is undefined");
  GL_CHECK(is_floating(a.dtype()), "svd: expected f32 or f64, got {}", a.dtype());
  GL_CHECK(a.dim() >= 2, "svd: expected matrices [.., m, n], got {}", a.shape());
  const int64_t m = a.size(-2), n = a.size(-1), k = std::min(m, n), batch = batch_count(a);
  const std::vector<double> values = a.to_vector<double>();
  check_finite(values, "svd");
  std::vector<double> U(size_t(batch * m * k)), S(size_t(batch * k)), Vh(size_t(batch * k * n));
  for (int64_t b = 0; b < batch && k > 0; ++b) {
    std::vector<double> mat(values.begin() + b * m * n, values.begin() + (b + 1) * m * n);
    double* u = U.data() + b * m * k;
    double* s = S.data() + b * k;
    double* vh = Vh.data() + b * k * n;
    if (m >= n) {
      jacobi_svd_tall(mat, m, n, u, s, vh);
    } else {
      // A^T = U' S V'^T, so A = V' S U'^T: U = V' (Vh' transposed), Vh = U'^T.
      std::vector<double> t(size_t(m * n));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) t[size_t(j * m + i)] = mat[size_t(i * n + j)];
      std::vector<double> u2(size_t(n * m)), vh2(size_t(m * m));
      jacobi_svd_tall(t, n, m, u2.data(), s, vh2.data());
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j) u[i * m + j] = vh2[size_t(j * m + i)];
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) vh[i * n + j] = u2[size_t(j * m + i)];
    }
  }
  auto back = [&](const std::vector<double>& v, Shape shape) {
    return from_vector(v, shape).to(a.dtype()).to(a.device());
  };
  return {back(U, with_tail(a, {m, k})), back(S, with_tail(a, {k})), back(Vh, with_tail(a, {k, n}))};
}

}  // namespace gradlab
