// The AVX-512 forms of exp, sigmoid, silu and the erf GELU
// (tensor/cpu/exp_avx512.h) give the bits of their scalar twins over a dense
// sweep of all floats (NaN for NaN), and the ops that use them (the unary ops,
// silu's derivative, the fused bias and activation, softmax) give, element by
// element, the bits of the scalar functors, on lengths that leave a scalar
// tail. Builds that do not use the forms (no AVX-512, or the unfused -O1
// sanitizer build) compile none of these cases.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "tensor/cpu/exp_avx512.h"
#include "tensor/cpu/row_reduce.h"
#include "tensor/creation.h"
#include "tensor/fused_layers.h"
#include "tensor/ops.h"
#include "tensor/random.h"

#if defined(GRADLAB_EXP_AVX512)
using namespace gradlab;

namespace {

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b); }

// Every 29th float bit pattern (148 million values, both signs, NaN and the
// infinities among them), plus every float in [-105, -102] and [88, 89.5]
// where exp's clamp, overflow and denormal results meet. Returns the first
// bit pattern where vec (16 lanes) and scalar differ, or -1.
template <class Vec, class Scalar>
int64_t first_mismatch(Vec vec, Scalar scalar) {
  std::vector<float> xs;
  auto check_block = [&]() -> int64_t {
    while (xs.size() % 16) xs.push_back(0.f);
    std::vector<float> got(xs.size());
    for (size_t i = 0; i < xs.size(); i += 16) vec(xs.data() + i, got.data() + i);
    for (size_t i = 0; i < xs.size(); ++i)
      if (!same_bits(got[i], scalar(xs[i]))) {
        uint32_t u;
        std::memcpy(&u, &xs[i], 4);
        return int64_t(u);
      }
    xs.clear();
    return -1;
  };
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 29) {
    float x;
    const uint32_t b = uint32_t(u);
    std::memcpy(&x, &b, 4);
    xs.push_back(x);
    if (xs.size() == (1 << 20))
      if (const int64_t bad = check_block(); bad >= 0) return bad;
  }
  for (float x = -105.f; x <= -102.f; x = std::nextafter(x, 0.f)) xs.push_back(x);
  for (float x = 88.f; x <= 89.5f; x = std::nextafter(x, 100.f)) xs.push_back(x);
  return check_block();
}

std::vector<float> values_of(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace

TEST_CASE("exp16, sigmoid16, silu and gelu_erf16 give the scalar functions' bits") {
  auto exp_vec = [](const float* x, float* y) { _mm512_storeu_ps(y, cpu::exp16(_mm512_loadu_ps(x))); };
  CHECK(first_mismatch(exp_vec, [](float x) { return vm::exp(x); }) == -1);
  auto sigmoid_vec = [](const float* x, float* y) { _mm512_storeu_ps(y, cpu::sigmoid16(_mm512_loadu_ps(x))); };
  CHECK(first_mismatch(sigmoid_vec, [](float x) { return fn::sigmoid(x); }) == -1);
  auto silu_vec = [](const float* x, float* y) {
    _mm512_storeu_ps(y, cpu::Avx512Form<fn::Silu>::apply(_mm512_loadu_ps(x)));
  };
  CHECK(first_mismatch(silu_vec, [](float x) { return fn::Silu{}(x); }) == -1);
  auto gelu_vec = [](const float* x, float* y) { _mm512_storeu_ps(y, cpu::gelu_erf16(_mm512_loadu_ps(x))); };
  CHECK(first_mismatch(gelu_vec, [](float x) { return fn::GeluErf{}(x); }) == -1);
}

TEST_CASE("the 16-wide silu derivative gives the scalar functor's bits") {
  // d = 1.5 + x / 4 varies with x, so the products with d are exercised too
  auto grad_of = [](auto form) {
    return [form](const float* x, float* out) {
      const __m512 xv = _mm512_loadu_ps(x);
      const __m512 d = _mm512_fmadd_ps(xv, _mm512_set1_ps(0.25f), _mm512_set1_ps(1.5f));
      _mm512_storeu_ps(out, form.apply(xv, xv, d));
    };
  };
  auto scalar_of = [](auto f) { return [f](float x) { return f(x, x, std::fma(x, 0.25f, 1.5f)); }; };
  CHECK(first_mismatch(grad_of(cpu::Avx512GradForm<fn::SiluGrad>{}), scalar_of(fn::SiluGrad{})) == -1);
}

TEST_CASE("exp, sigmoid, silu and gelu ops and silu's derivative give the scalar functors' bits, tails included") {
  Generator gen(3);
  for (const int64_t n : {1, 15, 16, 17, 100, 4099}) {
    const Tensor x = mul(randn({n}, gen), 12.0);  // into the tails of sigmoid and the clamp of exp
    const std::vector<float> xv = values_of(x);
    const std::vector<float> e = values_of(exp(x)), s = values_of(sigmoid(x)), si = values_of(silu(x));
    const std::vector<float> g = values_of(gelu(x));
    const Tensor d = randn({n}, gen);
    const std::vector<float> dv = values_of(d);
    const std::vector<float> dsi = values_of(unary_grad(UnaryOp::silu, x, silu(x), d));
    for (int64_t i = 0; i < n; ++i) {
      INFO("n = " << n << ", i = " << i << ", x = " << xv[size_t(i)]);
      CHECK(same_bits(e[size_t(i)], fn::Exp{}(xv[size_t(i)])));
      CHECK(same_bits(s[size_t(i)], fn::Sigmoid{}(xv[size_t(i)])));
      CHECK(same_bits(si[size_t(i)], fn::Silu{}(xv[size_t(i)])));
      CHECK(same_bits(g[size_t(i)], fn::GeluErf{}(xv[size_t(i)])));
      CHECK(same_bits(dsi[size_t(i)], fn::SiluGrad{}(xv[size_t(i)], si[size_t(i)], dv[size_t(i)])));
    }
  }
}

TEST_CASE("the fused bias and silu/sigmoid/gelu give the scalar functors' bits, tails included") {
  Generator gen(4);
  for (const int64_t out : {1, 16, 21, 200}) {
    const Tensor x = mul(randn({3, out}, gen), 6.0), bias = randn({out}, gen), one = randn({1}, gen);
    const std::vector<float> xv = values_of(x), bv = values_of(bias);
    for (const bool keep : {false, true}) {
      const BiasActivationForward silu_f = bias_activation_forward(UnaryOp::silu, {}, x, bias, keep);
      const BiasActivationForward sig_f = bias_activation_forward(UnaryOp::sigmoid, {}, x, bias, keep);
      const BiasActivationForward gelu_f = bias_activation_forward(UnaryOp::gelu_erf, {}, x, bias, keep);
      const std::vector<float> y = values_of(silu_f.y), ys = values_of(sig_f.y), yg = values_of(gelu_f.y);
      const std::vector<float> s = keep ? values_of(silu_f.sigmoid) : std::vector<float>{};
      for (int64_t i = 0; i < 3 * out; ++i) {
        const float z = xv[size_t(i)] + bv[size_t(i % out)];
        INFO("out = " << out << ", keep = " << keep << ", i = " << i);
        CHECK(same_bits(y[size_t(i)], fn::Silu{}(z)));
        CHECK(same_bits(ys[size_t(i)], fn::Sigmoid{}(z)));
        CHECK(same_bits(yg[size_t(i)], fn::GeluErf{}(z)));
        if (keep) CHECK(same_bits(s[size_t(i)], fn::sigmoid(z)));
      }
    }
    // one bias value for every element (a stride-0 bias along the run)
    const std::vector<float> y1 = values_of(bias_activation_forward(UnaryOp::silu, {}, x, one, false).y);
    const float b1 = values_of(one)[0];
    for (int64_t i = 0; i < 3 * out; ++i) CHECK(same_bits(y1[size_t(i)], fn::Silu{}(xv[size_t(i)] + b1)));
  }
}

TEST_CASE("softmax along the last axis gives the scalar exp's bits, tails included") {
  Generator gen(5);
  for (const int64_t n : {3, 16, 37}) {
    const Tensor x = mul(randn({4, n}, gen), 8.0);
    const std::vector<float> xv = values_of(x), p = values_of(softmax(x, -1));
    for (int64_t r = 0; r < 4; ++r) {
      const float* row = xv.data() + r * n;
      float m = row[0];
      for (int64_t j = 1; j < n; ++j) m = std::max(m, row[j]);
      std::vector<float> e(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) e[size_t(j)] = fn::exp(row[j] - m);
      const float inv = float(1.0 / cpu::sum_row(e.data(), n));  // the kernel's summation order
      for (int64_t j = 0; j < n; ++j) {
        INFO("n = " << n << ", row " << r << ", j = " << j);
        CHECK(same_bits(p[size_t(r * n + j)], e[size_t(j)] * inv));
      }
    }
  }
}
#endif  // GRADLAB_EXP_AVX512
