// The fused cross-entropy kernel (tensor/fused_losses.h) against a naive
// double-precision loop: log-sum-exp, the negative log-likelihood of the
// target and softmax minus one-hot, in f32 and f64, for odd class counts,
// ignored rows, strided logits, many rows (threads) and logits of +-1000;
// and the errors its entries raise on bad input.
#include <doctest/doctest.h>

#include <cmath>

#include "tensor/fused_losses.h"
#include "tests/tensor/reference.h"

using namespace gradlab;
using ref::Index;
using ref::Layout;

namespace {

// The naive reference, one row at a time in double precision.
struct Expected {
  std::vector<double> loss, lse;
  std::vector<std::vector<double>> dlogits;
};
Expected reference(const Tensor& logits, const std::vector<int64_t>& target, const std::vector<double>& dloss) {
  const int64_t n = logits.size(0), classes = logits.size(1);
  Expected e;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> row;
    for (int64_t j = 0; j < classes; ++j) row.push_back(ref::read(logits, {i, j}));
    double m = -INFINITY;
    for (double v : row) m = std::max(m, v);
    double s = 0;
    for (double v : row) s += std::exp(v - m);
    const double lse = m + std::log(s);
    const int64_t t = target[size_t(i)];
    e.lse.push_back(lse);
    e.loss.push_back(t < 0 ? 0.0 : lse - row[size_t(t)]);
    std::vector<double> d(size_t(classes), 0.0);
    if (t >= 0)
      for (int64_t j = 0; j < classes; ++j)
        d[size_t(j)] = (std::exp(row[size_t(j)] - lse) - (j == t ? 1.0 : 0.0)) * dloss[size_t(i)];
    e.dlogits.push_back(d);
  }
  return e;
}

// Runs forward and backward on logits and target and compares all three
// results with the reference. f32 tolerances suit logits of size ~20; `scale`
// widens them for larger logits, whose f32 spacing is coarser.
void check_against_reference(const Tensor& logits, const std::vector<int64_t>& target, uint64_t seed,
                             const std::string& what, double scale = 1) {
  const int64_t n = logits.size(0), classes = logits.size(1);
  Generator gen(seed);
  const Tensor dloss = uniform({n}, -2, 2, gen, logits.dtype());
  const Tensor t = from_vector(target, {n});
  const Expected want = reference(logits, target, dloss.to_vector<double>());
  const bool f32 = logits.dtype() == DType::f32;
  const double s32 = 1e-6 * scale;
  const CrossEntropyForward f = cross_entropy_forward(logits, t);
  CHECK(f.loss.dtype() == logits.dtype());
  auto want_lse = [&](const Index& i) { return want.lse[size_t(i[0])]; };
  auto want_loss = [&](const Index& i) { return want.loss[size_t(i[0])]; };
  auto want_dlogits = [&](const Index& i) { return want.dlogits[size_t(i[0])][size_t(i[1])]; };
  ref::check_close(f.lse, {n}, want_lse, f32 ? s32 : 1e-13, f32 ? s32 : 1e-13, what + " lse");
  ref::check_close(f.loss, {n}, want_loss, f32 ? s32 : 1e-13, f32 ? 5 * s32 : 1e-12, what + " loss");
  const Tensor dlogits = cross_entropy_backward(logits, t, f.lse, dloss);
  ref::check_close(dlogits, {n, classes}, want_dlogits, f32 ? 10 * s32 : 1e-12, f32 ? s32 : 1e-14, what + " dlogits");
}

// Targets in [0, classes) with every `ignore_every`-th row ignored (-1 or -100).
std::vector<int64_t> make_targets(int64_t n, int64_t classes, int64_t ignore_every, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> t = randint(0, classes, {n}, gen, DType::i64).to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    if (ignore_every > 0 && i % ignore_every == 1) t[size_t(i)] = i % 2 ? -1 : -100;
  return t;
}

}  // namespace

TEST_CASE("cross_entropy kernel matches the reference for odd class counts, f32 and f64") {
  uint64_t seed = 1;
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t classes : {1, 7, 65, 1000})
      for (Layout layout : {Layout::contiguous, Layout::transposed, Layout::strided}) {
        const int64_t n = classes == 1000 ? 6 : 23;
        const Tensor logits = ref::make_input({n, classes}, dt, layout, seed++, -20, 20);
        const std::vector<int64_t> target = make_targets(n, classes, 4, seed++);
        check_against_reference(logits, target, seed++,
                                fmt::format("{} C={} {}", dtype_name(dt), classes, ref::layout_name(layout)));
      }
}

TEST_CASE("cross_entropy kernel: many rows split across threads agree with the reference") {
  for (DType dt : {DType::f32, DType::f64}) {
    const int64_t n = 3001, classes = 65;
    const Tensor logits = ref::make_input({n, classes}, dt, Layout::contiguous, 77, -5, 5);
    check_against_reference(logits, make_targets(n, classes, 7, 78), 79, fmt::format("{} N={}", dtype_name(dt), n));
  }
}

TEST_CASE("cross_entropy kernel: ignored rows give zero loss and zero gradient") {
  const Tensor logits = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor t = from_vector(std::vector<int64_t>{-1, 2}, {2});
  const CrossEntropyForward f = cross_entropy_forward(logits, t);
  const auto loss = f.loss.to_vector<double>();
  CHECK(loss[0] == 0.0);
  // row 1: log(e^4 + e^5 + e^6) - 6 = log(e^-2 + e^-1 + 1)
  CHECK(loss[1] == doctest::Approx(std::log(std::exp(-2.0) + std::exp(-1.0) + 1.0)).epsilon(1e-6));
  // The lse is computed for every row, ignored or not.
  CHECK(f.lse.to_vector<double>()[0] == doctest::Approx(std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0))));
  const auto d = cross_entropy_backward(logits, t, f.lse, ones({2})).to_vector<double>();
  for (int j = 0; j < 3; ++j) CHECK(d[size_t(j)] == 0.0);
  double row_sum = 0;
  for (int j = 3; j < 6; ++j) row_sum += d[size_t(j)];
  CHECK(row_sum == doctest::Approx(0.0).epsilon(1e-6));  // softmax sums to one, minus the one-hot
}

TEST_CASE("cross_entropy kernel stays finite for logits of +-1000") {
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor logits = tensor({1000, -1000, 0, 999,         //
                                  -1000, -1000, -1000, -1000,  //
                                  -1000, 1000, 1000, -1000},
                                 {3, 4}, dt);
    const std::vector<int64_t> target{1, 2, 0};
    const CrossEntropyForward f = cross_entropy_forward(logits, from_vector(target, {3}));
    for (double v : f.loss.to_vector<double>()) CHECK(std::isfinite(v));
    // row 0 picks the -1000: loss = 1000 + log(1 + e^-1) + 1000; row 1: log 4; row 2: 2000 + log 2
    const auto loss = f.loss.to_vector<double>();
    CHECK(loss[0] == doctest::Approx(2000 + std::log1p(std::exp(-1.0))));
    CHECK(loss[1] == doctest::Approx(std::log(4.0)));
    CHECK(loss[2] == doctest::Approx(2000 + std::log(2.0)));
    const Tensor d = cross_entropy_backward(logits, from_vector(target, {3}), f.lse, ones({3}, dt));
    for (double v : d.to_vector<double>()) CHECK(std::isfinite(v));
    check_against_reference(logits, target, 5, fmt::format("+-1000 {}", dtype_name(dt)), 50);
  }
}

TEST_CASE("cross_entropy kernel on an empty batch") {
  const CrossEntropyForward f = cross_entropy_forward(zeros({0, 5}), zeros({0}, DType::i64));
  CHECK(f.loss.shape() == Shape{0});
  CHECK(f.lse.shape() == Shape{0});
  CHECK(cross_entropy_backward(zeros({0, 5}), zeros({0}, DType::i64), f.lse, f.loss).shape() == Shape{0, 5});
}

TEST_CASE("cross_entropy kernel entries name the op and the offending shapes and values") {
  const Tensor x = zeros({2, 3});
  const Tensor t = from_vector(std::vector<int64_t>{0, 1}, {2});
  CHECK_THROWS_WITH_AS(cross_entropy_forward(x, from_vector(std::vector<int64_t>{0, 3}, {2})),
                       "cross_entropy: target 3 of row 1 is out of range for 3 classes", Error);
  CHECK_THROWS_WITH_AS(cross_entropy_forward(x, t.to(DType::i32)), "cross_entropy: target must be i64, got i32", Error);
  CHECK_THROWS_WITH_AS(cross_entropy_forward(zeros({3}), t), "cross_entropy: logits must be [N, C], got shape [3]",
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy_forward(x, zeros({3}, DType::i64)),
                       "cross_entropy: target of shape [3] should be [2] for logits of shape [2, 3]", Error);
  CHECK_THROWS_WITH_AS(cross_entropy_forward(zeros({2, 3}, DType::i64), t),
                       "cross_entropy: logits must be f32 or f64, got i64", Error);
  CHECK_THROWS_WITH_AS(cross_entropy_forward(zeros({2, 0}), t), "cross_entropy: logits of shape [2, 0] have no classes",
                       Error);
  const CrossEntropyForward f = cross_entropy_forward(x, t);
  CHECK_THROWS_WITH_AS(cross_entropy_backward(x, t, f.lse, ones({2}, DType::f64)),
                       "cross_entropy_backward: dloss should be [2] f32 on cpu for logits of shape [2, 3], got [2] f64 "
                       "on cpu",
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy_backward(x, t, zeros({3}), ones({2})),
                       "cross_entropy_backward: lse should be [2] f32 on cpu for logits of shape [2, 3], got [3] f32 "
                       "on cpu",
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy_backward(x, from_vector(std::vector<int64_t>{7, 0}, {2}), f.lse, ones({2})),
                       "cross_entropy: target 7 of row 0 is out of range for 3 classes", Error);
}
