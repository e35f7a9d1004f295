// eigh and svd: reconstruction to 1e-10 in f64, orthonormal factors, ordering,
// known small cases, degenerate and rank-deficient inputs, batches, errors.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/tensor/reference.h"

using namespace gradlab;

namespace {

double max_abs(const Tensor& t) { return max(abs(t)).item(); }

Tensor random_symmetric(int64_t n, uint64_t seed) {
  Generator gen(seed);
  const Tensor a = randn({n, n}, gen, DType::f64);
  return (a + a.mT()) * 0.5;
}

}  // namespace

TEST_CASE("eigh reconstructs symmetric matrices to 1e-10 with orthonormal eigenvectors") {
  for (int64_t n : {1, 2, 5, 17, 31, 32, 33, 64, 200, 257}) {  // both sides of the tridiagonal threshold
    const Tensor a = random_symmetric(n, uint64_t(n));
    const Eigh e = eigh(a);
    CHECK(e.eigenvalues.shape() == Shape{n});
    CHECK(e.eigenvectors.shape() == Shape{n, n});
    const Tensor V = e.eigenvectors;
    const Tensor recon = matmul(V * e.eigenvalues, V.mT());  // V diag(w) V^T
    const double scale = max_abs(a);
    CHECK_MESSAGE(max_abs(recon - a) <= 1e-10 * scale, "n = " << n);
    CHECK_MESSAGE(max_abs(matmul(V.mT(), V) - eye(n, n, DType::f64)) <= 1e-10, "n = " << n);
    const auto w = e.eigenvalues.to_vector<double>();
    CHECK(std::is_sorted(w.begin(), w.end()));
  }
}

TEST_CASE("eigh on known matrices, repeated eigenvalues, batches and f32") {
  const Eigh e = eigh(tensor({2, 1, 1, 2}, {2, 2}, DType::f64));
  CHECK(e.eigenvalues.to_vector<double>()[0] == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(e.eigenvalues.to_vector<double>()[1] == doctest::Approx(3.0).epsilon(1e-14));
  const Eigh id = eigh(eye(4, 4, DType::f64) * 3.0);
  CHECK(id.eigenvalues.to_vector<double>() == std::vector<double>(4, 3.0));
  // lower triangle only, as documented
  const Eigh lower = eigh(tensor({1, 100, 0, 1}, {2, 2}, DType::f64));
  CHECK(lower.eigenvalues.to_vector<double>() == std::vector<double>{1, 1});
  // a batch of 3 matrices equals 3 separate calls
  const Tensor batch = stack({random_symmetric(6, 1), random_symmetric(6, 2), random_symmetric(6, 3)});
  const Eigh eb = eigh(batch);
  CHECK(eb.eigenvalues.shape() == Shape{3, 6});
  CHECK(max_abs(eb.eigenvalues.select(0, 1) - eigh(random_symmetric(6, 2)).eigenvalues) == 0);
  const Eigh ef = eigh(random_symmetric(8, 9).to(DType::f32));
  CHECK(ef.eigenvalues.dtype() == DType::f32);
  CHECK(max_abs(ef.eigenvalues.to(DType::f64) - eigh(random_symmetric(8, 9)).eigenvalues) < 1e-5);
  CHECK_THROWS_WITH_AS(eigh(zeros({2, 3})), "eigh: expected square matrices [.., n, n], got [2, 3]", Error);
  CHECK_THROWS_WITH_AS(eigh(tensor({1, NAN, NAN, 1}, {2, 2})), "eigh: input contains NaN or infinity", Error);
}

TEST_CASE("eigh from 32 rows (tridiagonal QL): repeated eigenvalues, low rank, diagonal and f32 inputs") {
  // Repeated eigenvalues: Q diag(1,1,1,...,2,2,...,5) Q^T with a random orthogonal Q.
  const int64_t n = 48;
  const Tensor q = svd(random_symmetric(n, 3)).U;
  std::vector<double> spectrum(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) spectrum[size_t(i)] = i < 20 ? 1.0 : i < 40 ? 2.0 : 5.0;
  const Tensor w = from_vector(spectrum, {n});
  const Tensor a = matmul(q * w, q.mT());
  const Eigh e = eigh(a);
  CHECK(max_abs(e.eigenvalues - w) <= 1e-12 * 5);
  CHECK(max_abs(matmul(e.eigenvectors * e.eigenvalues, e.eigenvectors.mT()) - a) <= 1e-12 * 5);
  CHECK(max_abs(matmul(e.eigenvectors.mT(), e.eigenvectors) - eye(n, n, DType::f64)) <= 1e-12);
  // Rank 3 (a Gram matrix, as K-FAC's factors often are): the rest of the spectrum is zero.
  Generator gen(4);
  const Tensor x = randn({n, 3}, gen, DType::f64);
  const Eigh g = eigh(matmul(x, x.mT()));
  const auto gw = g.eigenvalues.to_vector<double>();
  const double top = gw.back();
  for (int64_t i = 0; i < n - 3; ++i) CHECK(std::fabs(gw[size_t(i)]) <= 1e-12 * top);
  CHECK(max_abs(matmul(g.eigenvectors * g.eigenvalues, g.eigenvectors.mT()) - matmul(x, x.mT())) <= 1e-11 * top);
  // Already diagonal (every Householder step is skipped), unsorted, with a zero.
  std::vector<double> diag(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) diag[size_t(i)] = double((i * 7) % n) - 10.0;
  const Tensor dm = eye(n, n, DType::f64) * from_vector(diag, {n});
  const Eigh de = eigh(dm);
  std::vector<double> sorted = diag;
  std::sort(sorted.begin(), sorted.end());
  CHECK(de.eigenvalues.to_vector<double>() == sorted);
  // f32 in, f32 out, agreeing with the f64 result.
  const Eigh ef = eigh(random_symmetric(40, 5).to(DType::f32));
  CHECK(ef.eigenvalues.dtype() == DType::f32);
  CHECK(max_abs(ef.eigenvalues.to(DType::f64) - eigh(random_symmetric(40, 5)).eigenvalues) < 1e-4);
}

TEST_CASE("svd reconstructs tall, wide and square matrices to 1e-10") {
  const Shape shapes[] = {{1, 1}, {5, 3}, {3, 5}, {40, 40}, {120, 30}, {30, 120}, {7, 1}, {1, 7}};
  uint64_t seed = 10;
  for (const Shape& s : shapes) {
    Generator gen(seed++);
    const Tensor a = randn(s, gen, DType::f64);
    const Svd d = svd(a);
    const int64_t k = std::min(s[0], s[1]);
    CHECK(d.U.shape() == Shape{s[0], k});
    CHECK(d.S.shape() == Shape{k});
    CHECK(d.Vh.shape() == Shape{k, s[1]});
    const Tensor recon = matmul(d.U * d.S, d.Vh);
    CHECK_MESSAGE(max_abs(recon - a) <= 1e-10 * max_abs(a), "shape " << fmt::format("{}", s));
    CHECK(max_abs(matmul(d.U.mT(), d.U) - eye(k, k, DType::f64)) <= 1e-10);
    CHECK(max_abs(matmul(d.Vh, d.Vh.mT()) - eye(k, k, DType::f64)) <= 1e-10);
    const auto sv = d.S.to_vector<double>();
    CHECK(std::is_sorted(sv.rbegin(), sv.rend()));
    CHECK(sv.back() >= 0);
  }
}

TEST_CASE("svd of known and rank-deficient matrices") {
  const Svd d = svd(tensor({3, 0, 0, -4}, {2, 2}, DType::f64));
  CHECK(d.S.to_vector<double>() == std::vector<double>{4, 3});
  // rank 1: u v^T; the thin U must still have orthonormal columns
  const Tensor u = tensor({1, 2, 3, 4}, {4, 1}, DType::f64), v = tensor({1, -1, 2}, {1, 3}, DType::f64);
  const Svd r = svd(matmul(u, v));
  const auto s = r.S.to_vector<double>();
  CHECK(s[0] == doctest::Approx(std::sqrt(30.0) * std::sqrt(6.0)));
  CHECK(s[1] < 1e-12);
  CHECK(s[2] < 1e-12);
  CHECK(max_abs(matmul(r.U.mT(), r.U) - eye(3, 3, DType::f64)) <= 1e-10);
  CHECK(max_abs(matmul(r.U * r.S, r.Vh) - matmul(u, v)) <= 1e-10 * 12);
  const Svd z = svd(zeros({3, 2}, DType::f64));
  CHECK(z.S.to_vector<double>() == std::vector<double>{0, 0});
  CHECK(max_abs(matmul(z.U.mT(), z.U) - eye(2, 2, DType::f64)) <= 1e-12);
  // the nuclear norm (sum of singular values) of the identity
  CHECK(sum(svd(eye(5)).S).item() == doctest::Approx(5.0));
  // batched
  Generator gen(2);
  const Tensor b = randn({2, 3, 4, 3}, gen, DType::f64);
  const Svd db = svd(b);
  CHECK(db.S.shape() == Shape{2, 3, 3});
  CHECK(max_abs(matmul(db.U * db.S.unsqueeze(-2), db.Vh) - b) <= 1e-10 * max_abs(b));
  CHECK_THROWS_WITH_AS(svd(zeros({3})), "svd: expected matrices [.., m, n], got [3]", Error);
}
