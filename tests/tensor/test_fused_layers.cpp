// The fused layer kernels against naive double-precision loops written here:
// layer norm (statistics, affine, backward by its formula and by central
// differences), attention (explicit softmax(q k^T / sqrt(D) + mask) v with
// causal and key masks, its backward likewise), and dropout (the mask rebuilt
// from philox_uniform, its keep rate); f32 and f64, odd sizes, strided
// inputs, independence from the thread count, and the bad-input errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tensor/fused_layers.h"
#include "tests/tensor/reference.h"

using namespace gradlab;
using ref::Layout;

namespace {

using Vec = std::vector<double>;

// got (any layout) against want, in C order.
void check_vec(const Tensor& got, const Vec& want, double rtol, double atol, const std::string& what) {
  const Shape shape = got.shape();
  ref::check_close(
      got, shape,
      [&](const ref::Index& idx) {
        int64_t lin = 0;
        for (int d = 0; d < shape.size(); ++d) lin = lin * shape[d] + idx[size_t(d)];
        return want[size_t(lin)];
      },
      rtol, atol, what);
}

Vec values(const Tensor& t) { return t.to_vector<double>(); }

Tensor b8_mask(const std::vector<int64_t>& bits, const Shape& shape) { return ne(from_vector(bits, shape), 0.0); }

// ---- layer norm reference ----
struct RefLayerNorm {
  Vec y, mean, rstd, dx, dweight, dbias;
};
RefLayerNorm ref_layer_norm(const Vec& x, const Vec& w, const Vec& b, const Vec& dy, int64_t C, double eps) {
  const int64_t rows = int64_t(x.size()) / C;
  RefLayerNorm r;
  r.y.resize(x.size());
  r.dx.resize(x.size());
  r.dweight.assign(size_t(C), 0.0);
  r.dbias.assign(size_t(C), 0.0);
  for (int64_t row = 0; row < rows; ++row) {
    const double* xr = &x[size_t(row * C)];
    double mean = 0, var = 0;
    for (int64_t i = 0; i < C; ++i) mean += xr[i];
    mean /= double(C);
    for (int64_t i = 0; i < C; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= double(C);
    const double rstd = 1.0 / std::sqrt(var + eps);
    r.mean.push_back(mean);
    r.rstd.push_back(rstd);
    double gm = 0, gxm = 0;
    for (int64_t i = 0; i < C; ++i) {
      const double xhat = (xr[i] - mean) * rstd;
      const double wi = w.empty() ? 1.0 : w[size_t(i)];
      r.y[size_t(row * C + i)] = xhat * wi + (b.empty() ? 0.0 : b[size_t(i)]);
      const double g = dy[size_t(row * C + i)] * wi;
      gm += g / double(C);
      gxm += g * xhat / double(C);
    }
    for (int64_t i = 0; i < C; ++i) {
      const double xhat = (xr[i] - mean) * rstd;
      const double dyi = dy[size_t(row * C + i)];
      const double g = dyi * (w.empty() ? 1.0 : w[size_t(i)]);
      r.dx[size_t(row * C + i)] = rstd * (g - gm - xhat * gxm);
      r.dweight[size_t(i)] += dyi * xhat;
      r.dbias[size_t(i)] += dyi;
    }
  }
  return r;
}

// ---- attention reference ----
struct RefAttention {
  Vec out, lse, dq, dk, dv;
};
// keep: B*T entries (empty = every key visible).
RefAttention ref_attention(const Vec& q, const Vec& k, const Vec& v, const Vec& dout, const std::vector<int64_t>& keep,
                           int64_t B, int64_t H, int64_t T, int64_t D, bool causal) {
  RefAttention r;
  r.out.assign(q.size(), 0.0);
  r.dq.assign(q.size(), 0.0);
  r.dk.assign(q.size(), 0.0);
  r.dv.assign(q.size(), 0.0);
  r.lse.assign(size_t(B * H * T), 0.0);
  const double scale = 1.0 / std::sqrt(double(D));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t base = (b * H + h) * T * D;
      auto at = [&](const Vec& t, int64_t i, int64_t d) { return t[size_t(base + i * D + d)]; };
      for (int64_t i = 0; i < T; ++i) {
        std::vector<int64_t> seen;
        for (int64_t j = 0; j < T; ++j)
          if ((!causal || j <= i) && (keep.empty() || keep[size_t(b * T + j)])) seen.push_back(j);
        double& lse = r.lse[size_t((b * H + h) * T + i)];
        if (seen.empty()) {
          lse = -INFINITY;
          continue;
        }
        Vec s;
        for (int64_t j : seen) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += at(q, i, d) * at(k, j, d);
          s.push_back(dot * scale);
        }
        const double m = *std::max_element(s.begin(), s.end());
        double z = 0;
        for (double e : s) z += std::exp(e - m);
        lse = m + std::log(z);
        Vec p, dp;
        double rowdot = 0;
        for (size_t n = 0; n < seen.size(); ++n) {
          p.push_back(std::exp(s[n] - lse));
          double g = 0;
          for (int64_t d = 0; d < D; ++d) g += at(dout, i, d) * at(v, seen[n], d);
          dp.push_back(g);
          rowdot += p[n] * g;
        }
        for (size_t n = 0; n < seen.size(); ++n) {
          const int64_t j = seen[n];
          const double ds = p[n] * (dp[n] - rowdot) * scale;
          for (int64_t d = 0; d < D; ++d) {
            r.out[size_t(base + i * D + d)] += p[n] * at(v, j, d);
            r.dv[size_t(base + j * D + d)] += p[n] * at(dout, i, d);
            r.dq[size_t(base + i * D + d)] += ds * at(k, j, d);
            r.dk[size_t(base + j * D + d)] += ds * at(q, i, d);
          }
        }
      }
    }
  return r;
}

// Some hidden keys; key 0 of batch 0 is hidden, so with causal its first
// query sees nothing, and with all_hidden_batch >= 0 that batch hides every key.
std::vector<int64_t> some_keys(int64_t B, int64_t T, int64_t all_hidden_batch = -1) {
  std::vector<int64_t> keep(size_t(B * T));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < T; ++j)
      keep[size_t(b * T + j)] = (b == all_hidden_batch || (b == 0 && j == 0) || (3 * j + b) % 5 == 2) ? 0 : 1;
  return keep;
}

}  // namespace

// ---------------------------------------------------------------- layer norm

TEST_CASE("layer_norm forward and backward against a reference loop") {
  uint64_t seed = 1;
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& shape : {Shape{1, 1}, Shape{3, 7}, Shape{2, 5, 33}, Shape{65}, Shape{4, 2, 130}})
      for (int affine = 0; affine < 4; ++affine)
        for (Layout layout : {Layout::contiguous, Layout::strided}) {
          const int64_t C = shape.back();
          const Tensor x = ref::make_input(shape, dt, layout, seed++, -3, 3);
          const Tensor w = (affine & 1) ? ref::make_input({C}, dt, Layout::strided, seed++) : Tensor();
          const Tensor b = (affine & 2) ? ref::make_input({C}, dt, Layout::contiguous, seed++) : Tensor();
          const Tensor dy = ref::make_input(shape, dt, Layout::contiguous, seed++);
          const double eps = 1e-5;
          const RefLayerNorm want = ref_layer_norm(values(x), w.defined() ? values(w) : Vec{},
                                                   b.defined() ? values(b) : Vec{}, values(dy), C, eps);
          const std::string what =
              fmt::format("layer_norm {} {} affine {} {}", dtype_name(dt), shape, affine, ref::layout_name(layout));
          const double tol = dt == DType::f32 ? 2e-6 : 1e-12;
          const LayerNormForward f = layer_norm_forward(x, w, b, eps);
          CHECK(f.mean.shape() == Shape{x.numel() / C});
          check_vec(f.y, want.y, tol, tol, what + " y");
          check_vec(f.mean, want.mean, tol, tol, what + " mean");
          check_vec(f.rstd, want.rstd, tol, tol, what + " rstd");
          const LayerNormGrads g = layer_norm_backward(dy, x, w, f.mean, f.rstd);
          const double gtol = dt == DType::f32 ? 2e-5 : 1e-10;
          check_vec(g.dx, want.dx, gtol, gtol, what + " dx");
          check_vec(g.dweight, want.dweight, gtol, gtol, what + " dweight");
          check_vec(g.dbias, want.dbias, gtol, gtol, what + " dbias");
        }
}

TEST_CASE("layer_norm keeps f32 statistics accurate far from zero") {
  // Rows of 1e4 + u(-1, 1): a one-pass f32 variance would lose every digit.
  Generator gen(3);
  const Tensor x = add(uniform({8, 256}, -1, 1, gen), 1e4);
  const RefLayerNorm want = ref_layer_norm(values(x), {}, {}, Vec(size_t(x.numel()), 1.0), 256, 1e-5);
  const LayerNormForward f = layer_norm_forward(x, Tensor(), Tensor(), 1e-5);
  check_vec(f.y, want.y, 1e-4, 1e-4, "layer_norm at 1e4");
  check_vec(f.rstd, want.rstd, 1e-5, 0, "layer_norm rstd at 1e4");
}

TEST_CASE("layer_norm's backward matches central differences (f64)") {
  Generator gen(5);
  const Tensor x = uniform({3, 6}, -2, 2, gen, DType::f64);
  const Tensor w = uniform({6}, 0.5, 2, gen, DType::f64);
  const Tensor bias = uniform({6}, -1, 1, gen, DType::f64);
  const Tensor dy = uniform({3, 6}, -1, 1, gen, DType::f64);
  const LayerNormForward f = layer_norm_forward(x, w, bias, 1e-5);
  const LayerNormGrads g = layer_norm_backward(dy, x, w, f.mean, f.rstd);
  // <dy, y(inputs)> differentiated numerically in each input.
  auto numeric = [&](const Tensor& t, int64_t i) {
    const double h = 1e-6;
    double* p = t.data<double>();
    const double orig = p[i];
    p[i] = orig + h;
    const double plus = sum(mul(layer_norm_forward(x, w, bias, 1e-5).y, dy)).item();
    p[i] = orig - h;
    const double minus = sum(mul(layer_norm_forward(x, w, bias, 1e-5).y, dy)).item();
    p[i] = orig;
    return (plus - minus) / (2 * h);
  };
  const std::vector<std::pair<Tensor, Tensor>> pairs = {{x, g.dx}, {w, g.dweight}, {bias, g.dbias}};
  for (const auto& [input, grad] : pairs) {
    const Vec analytic = values(grad);
    for (int64_t i = 0; i < input.numel(); ++i)
      CHECK(analytic[size_t(i)] == doctest::Approx(numeric(input, i)).epsilon(1e-6));
  }
}

// ---------------------------------------------------------------- attention

TEST_CASE("attention forward and backward against explicit softmax(q k^T / sqrt(D) + mask) v") {
  struct Case {
    int64_t B, H, T, D;
  };
  const Case cases[] = {{1, 1, 1, 1}, {2, 3, 7, 16}, {3, 2, 12, 12}, {1, 2, 65, 33}, {1, 1, 130, 5}, {2, 2, 65, 1}};
  uint64_t seed = 100;
  for (DType dt : {DType::f32, DType::f64})
    for (const Case& c : cases)
      for (bool causal : {true, false})
        for (int mask_kind = 0; mask_kind < 3; ++mask_kind)  // none, some keys hidden, a batch entry all hidden
          for (Layout layout : {Layout::contiguous, Layout::transposed}) {
            const Shape shape{c.B, c.H, c.T, c.D};
            const Tensor q = ref::make_input(shape, dt, layout, seed++);
            const Tensor k = ref::make_input(shape, dt, Layout::contiguous, seed++);
            const Tensor v = ref::make_input(shape, dt, layout, seed++);
            const Tensor dout = ref::make_input(shape, dt, Layout::contiguous, seed++);
            std::vector<int64_t> keep;
            Tensor mask;
            if (mask_kind > 0) {
              keep = some_keys(c.B, c.T, mask_kind == 2 ? c.B - 1 : -1);
              mask = b8_mask(keep, {c.B, c.T});
            }
            const RefAttention want =
                ref_attention(values(q), values(k), values(v), values(dout), keep, c.B, c.H, c.T, c.D, causal);
            const std::string what = fmt::format("attention {} [{}, {}, {}, {}] causal {} mask {} {}", dtype_name(dt),
                                                 c.B, c.H, c.T, c.D, causal, mask_kind, ref::layout_name(layout));
            const double tol = dt == DType::f32 ? 2e-5 : 1e-11;
            const AttentionForward f = attention_forward(q, k, v, causal, mask);
            check_vec(f.out, want.out, tol, tol, what + " out");
            check_vec(f.lse, want.lse, tol, tol, what + " lse");
            const AttentionGrads g = attention_backward(dout, q, k, v, f.out, f.lse, causal, mask);
            const double gtol = dt == DType::f32 ? 1e-4 : 1e-10;
            check_vec(g.dq, want.dq, gtol, gtol, what + " dq");
            check_vec(g.dk, want.dk, gtol, gtol, what + " dk");
            check_vec(g.dv, want.dv, gtol, gtol, what + " dv");
          }
}

TEST_CASE("attention: a query that sees no key outputs zeros and gets zero gradients") {
  for (DType dt : {DType::f32, DType::f64}) {
    Generator gen(8);
    const Tensor q = randn({1, 2, 3, 4}, gen, dt), k = randn({1, 2, 3, 4}, gen, dt), v = randn({1, 2, 3, 4}, gen, dt);
    const Tensor none = b8_mask({0, 0, 0}, {1, 3});
    const AttentionForward f = attention_forward(q, k, v, false, none);
    for (double o : values(f.out)) CHECK(o == 0.0);
    for (double l : values(f.lse)) CHECK(l == -INFINITY);
    const AttentionGrads g = attention_backward(ones_like(q), q, k, v, f.out, f.lse, false, none);
    for (const Tensor& t : {g.dq, g.dk, g.dv})
      for (double e : values(t)) CHECK(e == 0.0);
    // causal with key 0 hidden: query 0 only is empty, the others are finite
    const AttentionForward c = attention_forward(q, k, v, true, b8_mask({0, 1, 1}, {1, 3}));
    const Vec out = values(c.out);
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t d = 0; d < 4; ++d) {
          const double o = out[size_t((h * 3 + i) * 4 + d)];
          CHECK(std::isfinite(o));
          if (i == 0) CHECK(o == 0.0);
        }
  }
}

TEST_CASE("attention's backward matches central differences (f64, causal, masked)") {
  Generator gen(21);
  const Shape shape{2, 2, 5, 3};
  const Tensor q = uniform(shape, -1, 1, gen, DType::f64), k = uniform(shape, -1, 1, gen, DType::f64);
  const Tensor v = uniform(shape, -1, 1, gen, DType::f64), dout = uniform(shape, -1, 1, gen, DType::f64);
  const Tensor mask = b8_mask(some_keys(2, 5), {2, 5});
  const AttentionForward f = attention_forward(q, k, v, true, mask);
  const AttentionGrads g = attention_backward(dout, q, k, v, f.out, f.lse, true, mask);
  auto loss = [&] { return sum(mul(attention_forward(q, k, v, true, mask).out, dout)).item(); };
  const std::vector<std::pair<Tensor, Tensor>> pairs = {{q, g.dq}, {k, g.dk}, {v, g.dv}};
  for (const auto& [input, grad] : pairs) {
    const Vec analytic = values(grad);
    double* p = input.data<double>();
    for (int64_t i = 0; i < input.numel(); ++i) {
      const double orig = p[i], h = 1e-6;
      p[i] = orig + h;
      const double plus = loss();
      p[i] = orig - h;
      const double minus = loss();
      p[i] = orig;
      CHECK(std::fabs(analytic[size_t(i)] - (plus - minus) / (2 * h)) < 1e-8);
    }
  }
}

TEST_CASE("attention and dropout give the same bits on 1 and 2 threads") {
  const int threads = num_threads();
  Generator gen(4);
  const Shape shape{2, 3, 70, 16};
  const Tensor q = randn(shape, gen), k = randn(shape, gen), v = randn(shape, gen), dout = randn(shape, gen);
  const Tensor x = randn({100003}, gen);
  auto run = [&] {
    const AttentionForward f = attention_forward(q, k, v, true);
    const AttentionGrads g = attention_backward(dout, q, k, v, f.out, f.lse, true);
    return std::vector<std::vector<float>>{f.out.to_vector<float>(), f.lse.to_vector<float>(),
                                           g.dq.to_vector<float>(),  g.dk.to_vector<float>(),
                                           g.dv.to_vector<float>(),  dropout(x, 0.3, 9, 2).to_vector<float>()};
  };
  set_num_threads(1);
  const auto one = run();
  set_num_threads(std::max(threads, 2));
  const auto two = run();
  set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) CHECK_MESSAGE(one[i] == two[i], "result " << i);
}

// ---------------------------------------------------------------- dropout

TEST_CASE("dropout's mask is element i of the Philox stream, regenerated from (seed, offset)") {
  // the second offset carries into the counter's high word midway
  for (uint64_t offset : {uint64_t(17), uint64_t(0xFFFFFFF8)})
    for (DType dt : {DType::f32, DType::f64})
      for (int64_t n : {1, 3, 5, 8, 1001})
        for (double p : {0.0, 0.25, 0.5, 0.9}) {
          const uint64_t seed = 0xabcdef12345ULL + uint64_t(n);
          Generator gen(static_cast<uint64_t>(n));
          const Tensor x = uniform({n}, 0.5, 1.5, gen, dt);  // never zero, so out == 0 means dropped
          const Tensor y = dropout(x, p, seed, offset);
          const Vec xv = values(x), yv = values(y);
          int mismatches = 0;
          for (int64_t i = 0; i < n; ++i) {
            const double u =
                dt == DType::f32 ? double(philox_uniform_f32(seed, offset, i)) : philox_uniform_f64(seed, offset, i);
            const double want = u >= p ? xv[size_t(i)] / (1 - p) : 0.0;
            if (std::fabs(yv[size_t(i)] - want) > 1e-6 * std::fabs(want)) ++mismatches;
          }
          CHECK_MESSAGE(mismatches == 0, dtype_name(dt) << " n " << n << " p " << p);
          // the backward is the same call on dy: the same elements survive
          const Vec back = values(dropout(ones_like(x), p, seed, offset));
          for (int64_t i = 0; i < n; ++i) CHECK((back[size_t(i)] != 0) == (yv[size_t(i)] != 0));
          // another offset draws another mask
          if (n == 1001 && p == 0.5) CHECK(values(dropout(x, p, seed, offset + 1)) != yv);
        }
  CHECK(dropout_blocks(9, DType::f32) == 3);
  CHECK(dropout_blocks(9, DType::f64) == 5);
}

TEST_CASE("dropout keeps about 1 - p of a large tensor and preserves the mean") {
  const int64_t n = 1 << 20;
  for (DType dt : {DType::f32, DType::f64})
    for (double p : {0.1, 0.5}) {
      const Tensor y = dropout(ones({n}, dt), p, 99, 0);
      const double kept = sum(ne(y, 0.0)).item() / double(n);
      const double sd = std::sqrt(p * (1 - p) / double(n));
      CHECK(std::fabs(kept - (1 - p)) < 6 * sd);
      CHECK(mean(y).item() == doctest::Approx(1.0).epsilon(6 * sd / (1 - p)));
    }
  // p = 0 is the identity, strided input is read in C order
  Generator gen(1);
  const Tensor x = randn({5, 6}, gen).mT();
  CHECK(values(dropout(x, 0.0, 1, 0)) == values(x));
  CHECK(values(dropout(x, 0.5, 1, 0)) == values(dropout(x.contiguous(), 0.5, 1, 0)));
}

// ---------------------------------------------------------------- errors

TEST_CASE("fused layers reject bad input with clear errors") {
  const Tensor x = zeros({3, 5});
  CHECK_THROWS_WITH_AS(layer_norm_forward(zeros({3, 5}, DType::i64), Tensor(), Tensor(), 1e-5),
                       "layer_norm: x must be f32 or f64, got i64", Error);
  CHECK_THROWS_WITH_AS(layer_norm_forward(x, zeros({4}), Tensor(), 1e-5),
                       "layer_norm: weight of shape [4] should be [5] (the last axis of x of shape [3, 5])", Error);
  CHECK_THROWS_WITH_AS(layer_norm_forward(x, Tensor(), zeros({5}, DType::f64), 1e-5),
                       "layer_norm: bias has dtype f64 but x has f32", Error);
  CHECK_THROWS_WITH_AS(layer_norm_forward(scalar(1.0), Tensor(), Tensor(), 1e-5),
                       "layer_norm: x must have at least one axis, got shape []", Error);
  CHECK_THROWS_WITH_AS(layer_norm_forward(x, Tensor(), Tensor(), -1.0),
                       doctest::Contains("layer_norm: eps must be >= 0, got -1"), Error);
  CHECK_THROWS_WITH_AS(layer_norm_backward(x, x, Tensor(), zeros({2}), zeros({3})),
                       "layer_norm_backward: mean of shape [2] should be [3]", Error);
  CHECK_THROWS_WITH_AS(layer_norm_backward(zeros({3, 4}), x, Tensor(), zeros({3}), zeros({3})),
                       doctest::Contains("layer_norm_backward: dy of shape [3, 4] should be [3, 5]"), Error);

  const Tensor q = zeros({1, 2, 3, 4});
  CHECK_THROWS_WITH_AS(attention_forward(zeros({2, 3, 4}), zeros({2, 3, 4}), zeros({2, 3, 4}), true),
                       "attention: q must be [B, H, T, D], got shape [2, 3, 4]", Error);
  CHECK_THROWS_WITH_AS(attention_forward(q, zeros({1, 2, 3, 5}), q, true),
                       "attention: q, k and v must have one shape [B, H, T, D], got [1, 2, 3, 4], [1, 2, 3, 5] and "
                       "[1, 2, 3, 4]",
                       Error);
  CHECK_THROWS_WITH_AS(attention_forward(q, zeros({1, 2, 3, 4}, DType::f64), q, true),
                       "attention: q, k and v must have one dtype, got f32, f64 and f32", Error);
  CHECK_THROWS_WITH_AS(attention_forward(q, q, q, true, ones({1, 3})),
                       "attention: key_mask must be b8 (true = attend), got f32", Error);
  CHECK_THROWS_WITH_AS(attention_forward(q, q, q, false, b8_mask({1, 1, 1, 1, 1, 1}, {2, 3})),
                       "attention: key_mask of shape [2, 3] should be [B, T] = [1, 3]", Error);
  CHECK_THROWS_WITH_AS(attention_forward(zeros({1, 2, 3, 4}, DType::i32), q, q, true),
                       "attention: q must be f32 or f64, got i32", Error);
  CHECK_THROWS_WITH_AS(attention_forward(zeros({1, 2, 3, 0}), zeros({1, 2, 3, 0}), zeros({1, 2, 3, 0}), true),
                       "attention: the head dimension D of q of shape [1, 2, 3, 0] is empty", Error);
  CHECK_THROWS_WITH_AS(attention_backward(q, q, q, q, q, zeros({1, 2, 4}), true),
                       "attention_backward: lse of shape [1, 2, 4] should be [1, 2, 3]", Error);

  CHECK_THROWS_WITH_AS(dropout(x, 1.0, 0, 0), "dropout: p must be in [0, 1), got 1", Error);
  CHECK_THROWS_WITH_AS(dropout(x, -0.1, 0, 0), "dropout: p must be in [0, 1), got -0.1", Error);
  CHECK_THROWS_WITH_AS(dropout(zeros({3}, DType::i32), 0.5, 0, 0), "dropout: x must be f32 or f64, got i32", Error);

  // empty inputs are fine
  CHECK(layer_norm_forward(zeros({0, 4}), Tensor(), Tensor(), 1e-5).y.shape() == Shape{0, 4});
  CHECK(attention_forward(zeros({1, 2, 0, 4}), zeros({1, 2, 0, 4}), zeros({1, 2, 0, 4}), true).lse.shape() ==
        Shape{1, 2, 0});
  CHECK(dropout(zeros({0}), 0.5, 0, 0).numel() == 0);
}
