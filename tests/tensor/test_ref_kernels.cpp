// The reference kernels of tensor/ref/ (the plain loops students read first),
// checked twice: on tiny cases worked by hand, so that the references
// themselves are right, and as oracles for the fast CPU kernels on random
// inputs: the packed GEMM in every transpose combination on sizes that are not
// multiples of its micro-tile or blocks, layer norm forward and backward,
// softmax, and causal or masked multi-head attention forward and backward.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/fused_layers.h"
#include "tensor/ops.h"
#include "tensor/ref/attention.h"
#include "tensor/ref/gemm.h"
#include "tensor/ref/layer_norm.h"
#include "tensor/ref/softmax.h"

using namespace gradlab;

namespace {

template <class T>
std::vector<T> random_vector(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<T> v(n);
  for (T& x : v) x = T(normal(rng));
  return v;
}

// Every element of got within atol + rtol |want|; reports the first mismatch
// and the largest error.
template <class A, class B>
void check_close(const std::vector<A>& got, const std::vector<B>& want, double rtol, double atol,
                 const std::string& what) {
  REQUIRE(got.size() == want.size());
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = double(got[i]), w = double(want[i]), err = std::abs(g - w);
    const bool ok = (g == w) || err <= atol + rtol * std::abs(w);  // g == w also covers two infinities
    worst = std::max(worst, std::isnan(err) ? INFINITY : (g == w ? 0.0 : err));
    if (!ok && bad++ == 0) first = i;
  }
  INFO(what << ": " << bad << " of " << got.size() << " elements differ; largest error " << worst);
  if (bad > 0) INFO("first at " << first << ": got " << double(got[first]) << ", want " << double(want[first]));
  CHECK(bad == 0);
}

// ---- GEMM ----

// cpu::gemm against ref::gemm with the same arguments: A stored [M, K] or, for
// ta, [K, M] and read through swapped strides; likewise B.
template <class T>
void compare_gemm(int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool accumulate, bool with_bias, uint64_t seed) {
  const std::vector<T> a = random_vector<T>(size_t(M * K), seed), b = random_vector<T>(size_t(K * N), seed + 1);
  const std::vector<T> c0 = random_vector<T>(size_t(M * N), seed + 2), bias = random_vector<T>(size_t(N), seed + 3);
  const cpu::MatrixView<T> A{a.data(), ta ? 1 : K, ta ? M : 1};
  const cpu::MatrixView<T> B{b.data(), tb ? 1 : N, tb ? K : 1};
  std::vector<T> got = c0, want = c0;
  const T* pb = with_bias ? bias.data() : nullptr;
  cpu::gemm<T>(M, N, K, A, B, got.data(), N, accumulate, pb);
  ref::gemm<T>(M, N, K, A, B, want.data(), N, accumulate, pb);
  // The forward error bound of a length-K dot product in any order (with or
  // without FMA): |fast - exact| <= K u (|A| |B|)_ij, u the unit roundoff;
  // the reference is the exact value rounded once. Checked with 2 K u and
  // |A||B| computed by the reference as well, plus |C0| and |bias| terms.
  std::vector<T> abs_a(a.size()), abs_b(b.size());
  for (size_t i = 0; i < a.size(); ++i) abs_a[i] = std::abs(a[i]);
  for (size_t i = 0; i < b.size(); ++i) abs_b[i] = std::abs(b[i]);
  std::vector<double> bound(size_t(M * N));
  std::vector<T> mag(size_t(M * N));
  ref::gemm<T>(M, N, K, {abs_a.data(), A.row_stride, A.col_stride}, {abs_b.data(), B.row_stride, B.col_stride},
               mag.data(), N, false);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  size_t bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const size_t at = size_t(i * N + j);
      const double extra = (accumulate ? std::abs(double(c0[at])) : 0.0) + (pb && !accumulate ? std::abs(double(bias[j])) : 0.0);
      const double tol = 2 * double(K + 2) * u * (double(mag[at]) + extra) + 2 * u * std::abs(double(want[at]));
      const double err = std::abs(double(got[at]) - double(want[at]));
      worst = std::max(worst, err / std::max(tol, 1e-300));
      if (!(err <= tol)) ++bad;
    }
  INFO("gemm " << (sizeof(T) == 4 ? "f32" : "f64") << " M=" << M << " N=" << N << " K=" << K << " ta=" << ta
               << " tb=" << tb << " acc=" << accumulate << " bias=" << with_bias << ": " << bad
               << " elements past the bound; largest error / bound " << worst);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("ref::gemm on 2x2 cases worked by hand") {
  const std::vector<double> A = {1, 2, 3, 4}, B = {5, 6, 7, 8};
  std::vector<double> C(4, NAN);  // beta = 0 never reads C
  ref::gemm<double>(false, false, 2, 2, 2, 1.0, A.data(), 2, B.data(), 2, 0.0, C.data(), 2);
  CHECK(C == std::vector<double>{19, 22, 43, 50});  // A B
  ref::gemm<double>(true, false, 2, 2, 2, 1.0, A.data(), 2, B.data(), 2, 0.0, C.data(), 2);
  CHECK(C == std::vector<double>{26, 30, 38, 44});  // A^T B
  ref::gemm<double>(false, true, 2, 2, 2, 1.0, A.data(), 2, B.data(), 2, 0.0, C.data(), 2);
  CHECK(C == std::vector<double>{17, 23, 39, 53});  // A B^T
  ref::gemm<double>(true, true, 2, 2, 2, 1.0, A.data(), 2, B.data(), 2, 0.0, C.data(), 2);
  CHECK(C == std::vector<double>{23, 31, 34, 46});  // A^T B^T
  C = {1, 1, 1, 1};
  ref::gemm<double>(false, false, 2, 2, 2, 2.0, A.data(), 2, B.data(), 2, 1.0, C.data(), 2);
  CHECK(C == std::vector<double>{39, 45, 87, 101});  // 2 A B + C
  // The fast kernel's signature: A B + bias on every row, then C += A B.
  const std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8}, bias = {100, 200};
  std::vector<float> c(4);
  ref::gemm<float>(2, 2, 2, {a.data(), 2, 1}, {b.data(), 2, 1}, c.data(), 2, false, bias.data());
  CHECK(c == std::vector<float>{119, 222, 143, 250});
  ref::gemm<float>(2, 2, 2, {a.data(), 2, 1}, {b.data(), 2, 1}, c.data(), 2, true);
  CHECK(c == std::vector<float>{138, 244, 186, 300});
  // A 1x3 row times a 3x1 column, with a row stride larger than the width (ldc = 5).
  const std::vector<float> r = {1, 2, 3}, col = {4, 5, 6};
  std::vector<float> wide(5, -1);
  ref::gemm<float>(false, false, 1, 1, 3, 1.0f, r.data(), 3, col.data(), 1, 0.0f, wide.data(), 5);
  CHECK(wide == std::vector<float>{32, -1, -1, -1, -1});
}

TEST_CASE("cpu::gemm agrees with ref::gemm in every transpose combination on sizes off the micro-tile") {
  // The micro-tiles are 6x64 / 12x32 (AVX-512), 6x16 / 12x16 (AVX2) or 4x8 / 8x8
  // f32 lanes, and K is cut into slices of 256 and M into blocks of 120: these
  // sizes leave partial tiles, slices and blocks everywhere.
  const int64_t Ms[] = {1, 5, 13, 121, 127}, Ns[] = {1, 7, 33, 65, 130}, Ks[] = {1, 3, 17, 257, 300};
  uint64_t seed = 1;
  for (int64_t M : Ms)
    for (int64_t N : Ns)
      for (int64_t K : Ks) {
        if (M * N * K > 3'000'000) continue;
        for (int t = 0; t < 4; ++t) {
          const bool ta = t & 1, tb = t & 2;
          compare_gemm<float>(M, N, K, ta, tb, false, false, seed++);
          if ((M + N + K + t) % 3 == 0) compare_gemm<float>(M, N, K, ta, tb, true, false, seed++);
          if ((M + N + K + t) % 4 == 1) compare_gemm<float>(M, N, K, ta, tb, false, true, seed++);
          if ((M + N + K + t) % 5 == 2) compare_gemm<double>(M, N, K, ta, tb, t == 3, false, seed++);
        }
      }
  // Large enough to run threaded, and wider than one 4096-column panel.
  compare_gemm<float>(300, 400, 500, true, true, false, false, 900);
  compare_gemm<float>(40, 4100, 70, false, true, true, false, 901);
}

// ---- layer norm ----

TEST_CASE("ref::layer_norm of [1, 2, 3] worked by hand") {
  // mean 2, biased variance 2/3, rstd = sqrt(3/2) =: a, xhat = [-a, 0, a].
  const double a = std::sqrt(1.5);
  const std::vector<double> x = {1, 2, 3};
  std::vector<double> y(3), mean(1), rstd(1);
  ref::layer_norm_forward<double>(x.data(), nullptr, nullptr, 0.0, 1, 3, y.data(), mean.data(), rstd.data());
  CHECK(mean[0] == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(rstd[0] == doctest::Approx(a).epsilon(1e-15));
  check_close(y, std::vector<double>{-a, 0, a}, 1e-15, 1e-15, "y");
  // With weight [1, 2, 3] and bias [0, 1, 0]: y = xhat w + b.
  const std::vector<double> w = {1, 2, 3}, b = {0, 1, 0};
  ref::layer_norm_forward<double>(x.data(), w.data(), b.data(), 0.0, 1, 3, y.data(), mean.data(), rstd.data());
  check_close(y, std::vector<double>{-a, 1, 3 * a}, 1e-15, 1e-15, "y affine");
  // Backward with dy = [1, 0, 0], no weight: g = dy, mean(g) = 1/3,
  // mean(g xhat) = -a/3, so dx_i = a (g_i - 1/3 + xhat_i a / 3) = a [1/6, -1/3, 1/6];
  // dweight = dy xhat = [-a, 0, 0], dbias = dy.
  const std::vector<double> dy = {1, 0, 0};
  std::vector<double> dx(3), dw(3), db(3);
  ref::layer_norm_backward<double>(dy.data(), x.data(), nullptr, mean.data(), rstd.data(), 1, 3, dx.data(), dw.data(),
                                   db.data());
  check_close(dx, std::vector<double>{a / 6, -a / 3, a / 6}, 1e-14, 1e-15, "dx");
  check_close(dw, std::vector<double>{-a, 0, 0}, 1e-15, 1e-15, "dweight");
  check_close(db, std::vector<double>{1, 0, 0}, 0, 0, "dbias");
  // eps enters under the square root: a constant row normalises to zero with rstd = 1/sqrt(eps).
  const std::vector<double> flat = {5, 5, 5, 5};
  std::vector<double> y4(4);
  ref::layer_norm_forward<double>(flat.data(), nullptr, nullptr, 0.25, 1, 4, y4.data(), mean.data(), rstd.data());
  CHECK(rstd[0] == 2.0);
  check_close(y4, std::vector<double>{0, 0, 0, 0}, 0, 0, "constant row");
}

namespace {

template <class T>
void compare_layer_norm(int64_t rows, int64_t C, bool affine, uint64_t seed) {
  const DType dt = dtype_of<T>();
  // Rows with a large common offset (x = 3 + noise) test the variance's care.
  std::vector<T> x = random_vector<T>(size_t(rows * C), seed);
  for (T& e : x) e = T(3) + e;
  const std::vector<T> w = random_vector<T>(size_t(C), seed + 1), b = random_vector<T>(size_t(C), seed + 2);
  const std::vector<T> dy = random_vector<T>(size_t(rows * C), seed + 3);
  const Tensor tx = from_vector(x, {rows, C}), tdy = from_vector(dy, {rows, C});
  const Tensor tw = affine ? from_vector(w, {C}) : Tensor(), tb = affine ? from_vector(b, {C}) : Tensor();
  const LayerNormForward f = layer_norm_forward(tx, tw, tb, 1e-5);
  std::vector<T> y(x.size()), mean(static_cast<size_t>(rows)), rstd(static_cast<size_t>(rows));
  const T* pw = affine ? w.data() : nullptr;
  ref::layer_norm_forward<T>(x.data(), pw, affine ? b.data() : nullptr, 1e-5, rows, C, y.data(), mean.data(),
                             rstd.data());
  // Both compute in double and round once: a few ulps apart at most.
  const double tol = std::is_same_v<T, float> ? 4e-7 : 1e-13;
  const std::string what = fmt::format("layer_norm {} rows={} C={} affine={}", dtype_name(dt), rows, C, affine);
  check_close(f.y.to_vector<T>(), y, tol, tol, what + " y");
  check_close(f.mean.to_vector<T>(), mean, tol, tol, what + " mean");
  check_close(f.rstd.to_vector<T>(), rstd, tol, tol, what + " rstd");
  // The backward, both from the library's saved statistics.
  const LayerNormGrads g = layer_norm_backward(tdy, tx, tw, f.mean, f.rstd);
  const std::vector<T> lib_mean = f.mean.to_vector<T>(), lib_rstd = f.rstd.to_vector<T>();
  std::vector<T> dx(x.size()), dw(static_cast<size_t>(C)), db(static_cast<size_t>(C));
  ref::layer_norm_backward<T>(dy.data(), x.data(), pw, lib_mean.data(), lib_rstd.data(), rows, C, dx.data(), dw.data(),
                              db.data());
  // dx subtracts two means from g: allow for the cancellation with an absolute term.
  const double btol = std::is_same_v<T, float> ? 2e-6 : 1e-12;
  check_close(g.dx.to_vector<T>(), dx, btol, btol, what + " dx");
  check_close(g.dweight.to_vector<T>(), dw, btol, btol * std::sqrt(double(rows)), what + " dweight");
  check_close(g.dbias.to_vector<T>(), db, btol, btol * std::sqrt(double(rows)), what + " dbias");
}

}  // namespace

TEST_CASE("the layer norm kernel agrees with ref::layer_norm forward and backward") {
  uint64_t seed = 100;
  for (int64_t C : {1, 3, 8, 67, 768})
    for (int64_t rows : {1, 5, 203}) {
      compare_layer_norm<float>(rows, C, true, seed++);
      compare_layer_norm<float>(rows, C, false, seed++);
      compare_layer_norm<double>(rows, C, true, seed++);
    }
  compare_layer_norm<float>(4096, 96, true, seed++);  // enough rows to run threaded
}

// ---- softmax ----

TEST_CASE("ref::softmax_row worked by hand, with masked entries") {
  const std::vector<double> x = {0, std::log(2.0), std::log(3.0)};
  std::vector<double> y(3);
  const double lse = ref::softmax_row(x.data(), 3, y.data());
  check_close(y, std::vector<double>{1.0 / 6, 2.0 / 6, 3.0 / 6}, 1e-15, 0, "softmax [0, ln 2, ln 3]");
  CHECK(lse == doctest::Approx(std::log(6.0)).epsilon(1e-15));
  // A shift changes nothing; huge values do not overflow.
  const std::vector<float> big = {1000, 1000.5f};
  std::vector<float> p(2);
  const double e = std::exp(0.5);
  CHECK(ref::softmax_row(big.data(), 2, p.data()) == doctest::Approx(1000.5 + std::log1p(1 / e)).epsilon(1e-12));
  check_close(p, std::vector<double>{1 / (1 + e), e / (1 + e)}, 1e-7, 0, "softmax of large values");
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> masked = {-inf, 0, -inf, 0}, none = {-inf, -inf};
  std::vector<double> pm(4), pn(2);
  CHECK(ref::softmax_row(masked.data(), 4, pm.data()) == doctest::Approx(std::log(2.0)));
  CHECK(pm == std::vector<double>{0, 0.5, 0, 0.5});
  CHECK(ref::softmax_row(none.data(), 2, pn.data()) == -inf);
  CHECK(pn == std::vector<double>{0, 0});
}

TEST_CASE("the softmax op agrees with ref::softmax_rows") {
  for (int64_t n : {1, 7, 64, 1000}) {
    std::vector<float> x = random_vector<float>(size_t(13 * n), uint64_t(n));
    for (float& e : x) e *= 4;
    const std::vector<float> got = softmax(from_vector(x, {13, n}), -1).to_vector<float>();
    std::vector<float> want(x.size()), lse(13);
    ref::softmax_rows(x.data(), 13, n, want.data(), lse.data());
    check_close(got, want, 2e-6, 1e-8, fmt::format("softmax rows=13 n={}", n));
  }
}

// ---- attention ----

TEST_CASE("ref::attention on a causal 2-token head worked by hand") {
  // D = 1 (scale 1), q = [1, 1], k = [0, ln 3], v = [2, 6]. Query 0 sees key 0
  // alone: out = 2, lse = 0. Query 1 sees scores [0, ln 3]: P = [1/4, 3/4],
  // out = 2/4 + 18/4 = 5, lse = ln 4.
  const ref::AttentionShape s{1, 1, 2, 1};
  const std::vector<double> q = {1, 1}, k = {0, std::log(3.0)}, v = {2, 6};
  std::vector<double> out(2), lse(2);
  ref::attention_forward<double>(q.data(), k.data(), v.data(), s, true, nullptr, out.data(), lse.data());
  check_close(out, std::vector<double>{2, 5}, 1e-15, 1e-15, "out");
  check_close(lse, std::vector<double>{0, std::log(4.0)}, 1e-15, 1e-15, "lse");
  // dout = [0, 1]: dv = P^T dout = [1/4, 3/4]; dP_1 = [v_0, v_1] = [2, 6],
  // sum P dP = 5, dS_1 = [1/4 (2 - 5), 3/4 (6 - 5)] = [-3/4, 3/4];
  // dq_1 = dS_1 . k = 3/4 ln 3, dk = dS_1 q_1 = [-3/4, 3/4].
  const std::vector<double> dout = {0, 1};
  std::vector<double> dq(2), dk(2), dv(2);
  ref::attention_backward<double>(dout.data(), q.data(), k.data(), v.data(), s, true, nullptr, dq.data(), dk.data(),
                                  dv.data());
  check_close(dq, std::vector<double>{0, 0.75 * std::log(3.0)}, 1e-15, 1e-15, "dq");
  check_close(dk, std::vector<double>{-0.75, 0.75}, 1e-15, 1e-15, "dk");
  check_close(dv, std::vector<double>{0.25, 0.75}, 1e-15, 1e-15, "dv");
  // Without the causal mask query 0 also sees key 1: the same P as query 1.
  ref::attention_forward<double>(q.data(), k.data(), v.data(), s, false, nullptr, out.data(), lse.data());
  check_close(out, std::vector<double>{5, 5}, 1e-15, 1e-15, "out, not causal");
  // A key mask that hides key 0 from a causal query 0 leaves it nothing: zero output, lse -inf.
  const bool mask[2] = {false, true};
  ref::attention_forward<double>(q.data(), k.data(), v.data(), s, true, mask, out.data(), lse.data());
  CHECK(out[0] == 0.0);
  CHECK(lse[0] == -std::numeric_limits<double>::infinity());
  CHECK(out[1] == doctest::Approx(6.0));
}

namespace {

template <class T>
void compare_attention(ref::AttentionShape s, bool causal, bool masked, uint64_t seed) {
  const auto [B, H, Tn, D] = s;
  const size_t n = size_t(B * H * Tn * D);
  const std::vector<T> q = random_vector<T>(n, seed), k = random_vector<T>(n, seed + 1);
  const std::vector<T> v = random_vector<T>(n, seed + 2), dout = random_vector<T>(n, seed + 3);
  // Mask: batch 0 keeps every key, the others drop every third (and, when not
  // causal, the first key too).
  std::vector<uint8_t> mask_bits(size_t(B * Tn), 1);
  for (int64_t b = 1; b < B; ++b)
    for (int64_t j = 0; j < Tn; ++j) mask_bits[size_t(b * Tn + j)] = (j % 3 != 2) && (causal || j != 0);
  std::unique_ptr<bool[]> mask(new bool[mask_bits.size()]);
  for (size_t i = 0; i < mask_bits.size(); ++i) mask[i] = mask_bits[i] != 0;
  std::vector<int64_t> mask_i64(mask_bits.begin(), mask_bits.end());
  const Tensor key_mask = masked ? ne(from_vector(mask_i64, {B, Tn}), 0.0) : Tensor();
  const Shape shape{B, H, Tn, D};
  const Tensor tq = from_vector(q, shape), tk = from_vector(k, shape), tv = from_vector(v, shape);
  const AttentionForward f = attention_forward(tq, tk, tv, causal, key_mask);
  std::vector<T> out(n), lse(static_cast<size_t>(B * H * Tn));
  ref::attention_forward<T>(q.data(), k.data(), v.data(), s, causal, masked ? mask.get() : nullptr, out.data(),
                            lse.data());
  // The fast kernel runs f32 GEMMs and a vectorised f32 exp (a few ulps):
  // out, a convex combination of v rows of size ~1, is good to ~1e-5.
  const bool f32 = std::is_same_v<T, float>;
  const double tol = f32 ? 3e-5 : 1e-11;
  const std::string what = fmt::format("attention {} B={} H={} T={} D={} causal={} masked={}", dtype_name(dtype_of<T>()),
                                       B, H, Tn, D, causal, masked);
  check_close(f.out.to_vector<T>(), out, tol, tol, what + " out");
  check_close(f.lse.to_vector<T>(), lse, tol, tol, what + " lse");
  const AttentionGrads g = attention_backward(from_vector(dout, shape), tq, tk, tv, f.out, f.lse, causal, key_mask);
  std::vector<T> dq(n), dk(n), dv(n);
  ref::attention_backward<T>(dout.data(), q.data(), k.data(), v.data(), s, causal, masked ? mask.get() : nullptr,
                             dq.data(), dk.data(), dv.data());
  // Gradients sum up to T terms of size ~1: scale the tolerance with sqrt(T).
  const double btol = tol * 4 * std::sqrt(double(Tn));
  check_close(g.dq.to_vector<T>(), dq, btol, btol, what + " dq");
  check_close(g.dk.to_vector<T>(), dk, btol, btol, what + " dk");
  check_close(g.dv.to_vector<T>(), dv, btol, btol, what + " dv");
}

}  // namespace

TEST_CASE("the attention kernel agrees with ref::attention forward and backward") {
  uint64_t seed = 500;
  // T crosses the kernel's 64-row causal blocks; D = 8, 33 and 64 give partial
  // and whole micro-tiles.
  for (int64_t Tn : {1, 5, 64, 97, 130})
    for (int64_t D : {8, 33, 64}) {
      compare_attention<float>({2, 3, Tn, D}, true, false, seed++);
      if ((Tn + D) % 2 == 1) compare_attention<float>({2, 2, Tn, D}, false, false, seed++);
      if (Tn >= 5) compare_attention<float>({3, 2, Tn, D}, (Tn + D) % 2 == 0, true, seed++);
      if (D == 33) compare_attention<double>({2, 2, Tn, D}, true, Tn == 97, seed++);
    }
}
