// Losses, activations and the nuclear norm on hand-worked cases (the numbers
// are worked out in the comments), every reduction, ignore_index and masks,
// stability at extreme inputs, errors, and agreement with the same formula
// composed from plain Var ops (values and gradients).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/ops.h"

using namespace gradlab;

namespace {

void check_values(const Tensor& got, const std::vector<double>& want, double eps = 1e-12) {
  const std::vector<double> g = got.to_vector<double>();
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i)
    CHECK_MESSAGE(g[i] == doctest::Approx(want[i]).epsilon(eps).scale(1.0), "element " << i);
}

void check_same(const Tensor& a, const Tensor& b, double eps = 1e-12) {
  REQUIRE(a.shape() == b.shape());
  check_values(a, b.to_vector<double>(), eps);
}

Tensor i64(std::vector<int64_t> v, const Shape& shape = {}) { return from_vector(v, shape); }

CrossEntropyOptions ce(Reduction reduction, int64_t ignore_index = -100, Tensor mask = Tensor()) {
  CrossEntropyOptions o;
  o.reduction = reduction;
  o.ignore_index = ignore_index;
  o.mask = std::move(mask);
  return o;
}

// The gradient of sum(f(x)) with respect to x (a fresh f64 leaf).
Tensor grad_of(const Tensor& x0, const std::function<Var(const Var&)>& f) {
  const Var x = Var::leaf(x0.clone());
  sum(f(x)).backward();
  return x.grad();
}

// Row 0 of kLogits: log(e + e^2 + e^3) - 3 = log(1 + e^-1 + e^-2) = 0.40760596444438;
// row 1 (uniform): log 3 = 1.09861228866811.
const double kRow0 = 0.40760596444438013, kRow1 = 1.0986122886681098;
Tensor logits_2x3() { return tensor({1, 2, 3, 1, 1, 1}, {2, 3}, DType::f64); }

}  // namespace

// ---------------------------------------------------------------- cross-entropy

TEST_CASE("cross_entropy of logits [0, 0] with target 1 is log 2") {
  const Var x = Var::leaf(zeros({2}, DType::f64));
  const Var loss = cross_entropy(x, i64({1}).reshape({}));  // 1-D logits, 0-d target
  CHECK(loss.dim() == 0);
  CHECK(loss.item() == doctest::Approx(std::log(2.0)));
  loss.backward();
  check_values(x.grad(), {0.5, -0.5});  // softmax [1/2, 1/2] minus one-hot [0, 1]
}

TEST_CASE("cross_entropy: each reduction on a hand-worked batch") {
  const Tensor t = i64({2, 0}, {2});
  // mean = (0.4076060 + 1.0986123) / 2 = 0.7531091; sum = 1.5062183; none = both
  CHECK(cross_entropy(logits_2x3(), t).item() == doctest::Approx((kRow0 + kRow1) / 2));
  CHECK(cross_entropy(logits_2x3(), t, ce(Reduction::sum)).item() == doctest::Approx(kRow0 + kRow1));
  const Var none = cross_entropy(logits_2x3(), t, ce(Reduction::none));
  check_values(none.value(), {kRow0, kRow1});
  // Gradient of the mean: (softmax - onehot) / 2. softmax of [1, 2, 3] is
  // [0.0900306, 0.2447285, 0.6652410]; of [1, 1, 1] is 1/3 each.
  const Tensor g = grad_of(logits_2x3(), [&](const Var& x) { return cross_entropy(x, t); });
  check_values(g, {0.09003057317038046 / 2, 0.24472847105479767 / 2, (0.6652409557748219 - 1) / 2,  //
                   (1.0 / 3 - 1) / 2, 1.0 / 6, 1.0 / 6});
  // Targets may be i32, and f32 logits give an f32 loss.
  const Var f32 = cross_entropy(logits_2x3().to(DType::f32), t.to(DType::i32), ce(Reduction::sum));
  CHECK(f32.dtype() == DType::f32);
  CHECK(f32.item() == doctest::Approx(kRow0 + kRow1).epsilon(1e-6));
}

TEST_CASE("cross_entropy: ignore_index, keep-masks and weights") {
  // ignore_index -100 drops row 1: the mean is row 0 alone, row 1 gets no gradient.
  const Tensor t = i64({2, -100}, {2});
  CHECK(cross_entropy(logits_2x3(), t).item() == doctest::Approx(kRow0));
  const Tensor g = grad_of(logits_2x3(), [&](const Var& x) { return cross_entropy(x, t); });
  check_values(g, {0.09003057317038046, 0.24472847105479767, 0.6652409557748219 - 1, 0, 0, 0});
  // An ignore_index that is a real class (0) drops the rows with that target.
  CHECK(cross_entropy(logits_2x3(), i64({2, 0}, {2}), ce(Reduction::mean, 0)).item() == doctest::Approx(kRow0));
  check_values(cross_entropy(logits_2x3(), i64({2, 0}, {2}), ce(Reduction::none, 0)).value(), {kRow0, 0});
  // b8 keep-mask [false, true]: the mean is row 1 alone = log 3.
  const Tensor keep = gt(tensor({0, 1}), 0.5);
  CHECK(cross_entropy(logits_2x3(), i64({2, 0}, {2}), ce(Reduction::mean, -100, keep)).item() ==
        doctest::Approx(kRow1));
  // Weights [2, 1]: none = [2 * 0.4076060, 1.0986123]; sum = 1.9138242;
  // mean divides by the weight total 3: 0.6379414.
  const Tensor w = tensor({2, 1}, {2}, DType::f64);
  check_values(cross_entropy(logits_2x3(), i64({2, 0}, {2}), ce(Reduction::none, -100, w)).value(), {2 * kRow0, kRow1});
  CHECK(cross_entropy(logits_2x3(), i64({2, 0}, {2}), ce(Reduction::sum, -100, w)).item() ==
        doctest::Approx(2 * kRow0 + kRow1));
  CHECK(cross_entropy(logits_2x3(), i64({2, 0}, {2}), ce(Reduction::mean, -100, w)).item() ==
        doctest::Approx((2 * kRow0 + kRow1) / 3));
  // An ignored target's weight does not count in the mean's denominator: (2 * 0.4076060) / 2.
  CHECK(cross_entropy(logits_2x3(), t, ce(Reduction::mean, -100, w)).item() == doctest::Approx(kRow0));
}

TEST_CASE("cross_entropy: an all-ignored batch gives 0 loss and zero gradient, not NaN") {
  const Tensor t = i64({-100, -100}, {2});
  for (Reduction r : {Reduction::mean, Reduction::sum}) {
    const Var x = Var::leaf(logits_2x3());
    const Var loss = cross_entropy(x, t, ce(r));
    CHECK(loss.item() == 0.0);
    loss.backward();
    check_values(x.grad(), {0, 0, 0, 0, 0, 0});
  }
  // So does a keep-mask that keeps nothing, and an empty batch.
  CHECK(cross_entropy(logits_2x3(), i64({1, 2}, {2}), ce(Reduction::mean, -100, gt(tensor({0, 0}), 0.5))).item() ==
        0.0);
  CHECK(cross_entropy(zeros({0, 4}, DType::f64), zeros({0}, DType::i64)).item() == 0.0);
}

TEST_CASE("cross_entropy agrees with -gather(log_softmax(x), target) composed from Var ops") {
  Generator gen(7);
  const Tensor x0 = uniform({4, 3, 7}, -3, 3, gen, DType::f64);
  Tensor t = randint(0, 7, {4, 3}, gen, DType::i64);
  // The composite: per-target NLL, weighted, summed, divided by the kept weight.
  const Tensor w = uniform({4, 3}, 0.5, 2, gen, DType::f64);
  auto nll = [&](const Var& x) { return neg(squeeze(gather(log_softmax(x, -1), -1, t.unsqueeze(-1)), -1)); };

  const Var a = Var::leaf(x0.clone()), b = Var::leaf(x0.clone());
  const Var fused = cross_entropy(a, t);
  const Var composite = mean(nll(b));
  CHECK(fused.item() == doctest::Approx(composite.item()).epsilon(1e-12));
  fused.backward();
  composite.backward();
  check_same(a.grad(), b.grad());

  const Var c = Var::leaf(x0.clone()), d = Var::leaf(x0.clone());
  const Var fused_w = cross_entropy(c, t, ce(Reduction::mean, -100, w));
  const Var composite_w = sum(nll(d) * Var(w)) / sum(w).item();
  CHECK(fused_w.item() == doctest::Approx(composite_w.item()).epsilon(1e-12));
  fused_w.backward();
  composite_w.backward();
  check_same(c.grad(), d.grad());

  // none keeps the target's shape.
  check_same(cross_entropy(x0, t, ce(Reduction::none)).value(), nll(Var(x0)).value());
}

TEST_CASE("cross_entropy: extreme logits stay finite") {
  for (DType dt : {DType::f32, DType::f64}) {
    const Var x = Var::leaf(tensor({1000, -1000, -1000, 1000}, {2, 2}, dt));
    // Each row picks its -1000 against a 1000: loss = 2000 + log(1 + e^-2000) = 2000.
    const Var loss = cross_entropy(x, i64({1, 0}, {2}));
    CHECK(loss.item() == doctest::Approx(2000.0));
    loss.backward();
    check_values(x.grad(), {0.5, -0.5, -0.5, 0.5}, 1e-6);  // ([1, 0] - [0, 1]) / 2 and ([0, 1] - [1, 0]) / 2
  }
}

TEST_CASE("cross_entropy errors name the op and the offending shapes and values") {
  const Tensor x = logits_2x3();
  CHECK_THROWS_WITH_AS(cross_entropy(x, i64({-5, 1}, {2})),
                       "cross_entropy: target -5 is out of range for 3 classes (ignore_index is -100)", Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, i64({0, 3}, {2})),
                       "cross_entropy: target 3 of row 1 is out of range for 3 classes", Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, i64({0, 1, 2}, {3})),
                       "cross_entropy: target of shape [3] should be [2] for logits of shape [2, 3]", Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, tensor({0, 1})), "cross_entropy: target must be i32 or i64, got f32", Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, i64({0, 1}, {2}), ce(Reduction::mean, -100, ones({3}))),
                       "cross_entropy: mask of shape [3] should match the target's shape [2]", Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, i64({0, 1}, {2}), ce(Reduction::mean, -100, i64({1, 1}, {2}))),
                       "cross_entropy: mask must be b8 (keep) or f32/f64 (weights), got i64", Error);
}

// ---------------------------------------------------------------- elementwise losses

TEST_CASE("mse of a known pair, each reduction, and its gradients") {
  // p - t = [0, 2, -3]: squares [0, 4, 9], sum 13, mean 13/3.
  const Var p = Var::leaf(tensor({1, 2, 3}, {3}, DType::f64));
  const Var t = Var::leaf(tensor({1, 0, 6}, {3}, DType::f64));
  const Var loss = mse(p, t);
  CHECK(loss.item() == doctest::Approx(13.0 / 3));
  CHECK(mse(p, t, Reduction::sum).item() == doctest::Approx(13.0));
  check_values(mse(p, t, Reduction::none).value(), {0, 4, 9});
  loss.backward();
  check_values(p.grad(), {0, 4.0 / 3, -2});  // 2 (p - t) / 3
  check_values(t.grad(), {0, -4.0 / 3, 2});
  // A broadcast target: prediction [2, 2] against [2] = [1, 1]: (0 + 1 + 4 + 9) / 4 = 3.5
  CHECK(mse(tensor({1, 2, 3, 4}, {2, 2}), tensor({1, 1})).item() == doctest::Approx(3.5));
  CHECK_THROWS_WITH_AS(mse(zeros({2, 3}), zeros({4})), "mse: shapes [2, 3] and [4] do not broadcast", Error);
  CHECK_THROWS_WITH_AS(mse(zeros({2}), zeros({2}, DType::f64)),
                       "mse: dtypes differ (f32 and f64); convert one with .to()", Error);
}

TEST_CASE("gaussian_nll with log_var 0 is half the squared error") {
  // mean 1, target 3, log_var 0: 0.5 (0 + 4 / 1) = 2
  CHECK(gaussian_nll(tensor({1}), tensor({0}), tensor({3})).item() == doctest::Approx(2.0));
  // log_var log 4: 0.5 (log 4 + 4 / 4) = 1.1931472; d/dmean = -(3 - 1) / 4 = -0.5,
  // d/dlog_var = 0.5 (1 - 4 / 4) = 0, d/dtarget = 0.5.
  const Var mu = Var::leaf(tensor({1}, {1}, DType::f64));
  const Var lv = Var::leaf(tensor({std::log(4.0)}, {1}, DType::f64));
  const Var t = Var::leaf(tensor({3}, {1}, DType::f64));
  const Var loss = gaussian_nll(mu, lv, t);
  CHECK(loss.item() == doctest::Approx(1.1931471805599454));
  loss.backward();
  check_values(mu.grad(), {-0.5});
  check_values(lv.grad(), {0});
  check_values(t.grad(), {0.5});
  // Reductions over a broadcast: mean [2, 1], log_var 0, target [2] = [0, 1]:
  // errors [[1, 0], [4, 1]] (means 1 and 2), halves [0.5, 0, 2, 0.5]: sum 3, mean 0.75.
  const Tensor m2 = tensor({1, 2}, {2, 1}), z = zeros({1}), t2 = tensor({0, 1});
  check_values(gaussian_nll(m2, z, t2, Reduction::none).value(), {0.5, 0, 2, 0.5});
  CHECK(gaussian_nll(m2, z, t2, Reduction::sum).item() == doctest::Approx(3.0));
  CHECK(gaussian_nll(m2, z, t2).item() == doctest::Approx(0.75));
}

TEST_CASE("gaussian_nll agrees with its formula composed from Var ops") {
  Generator gen(3);
  const Tensor m0 = uniform({3, 4}, -1, 1, gen, DType::f64), v0 = uniform({4}, -1, 1, gen, DType::f64);
  const Tensor t0 = uniform({3, 4}, -1, 1, gen, DType::f64);
  const Var m1 = Var::leaf(m0.clone()), v1 = Var::leaf(v0.clone()), t1 = Var::leaf(t0.clone());
  const Var m2 = Var::leaf(m0.clone()), v2 = Var::leaf(v0.clone()), t2 = Var::leaf(t0.clone());
  const Var fused = gaussian_nll(m1, v1, t1, Reduction::sum);
  const Var composite = sum(0.5 * (v2 + square(t2 - m2) / exp(v2)));
  CHECK(fused.item() == doctest::Approx(composite.item()).epsilon(1e-12));
  fused.backward();
  composite.backward();
  check_same(m1.grad(), m2.grad());
  check_same(v1.grad(), v2.grad());
  check_same(t1.grad(), t2.grad());
}

TEST_CASE("bce_with_logits: hand-worked values, gradients and extreme logits") {
  // x = 0, t = 1: 0 - 0 + log(1 + 1) = log 2; d/dx = sigmoid(0) - 1 = -0.5, d/dt = -x = 0
  const Var x = Var::leaf(tensor({0}, {1}, DType::f64));
  const Var t = Var::leaf(tensor({1}, {1}, DType::f64));
  const Var loss = bce_with_logits(x, t);
  CHECK(loss.item() == doctest::Approx(std::log(2.0)));
  loss.backward();
  check_values(x.grad(), {-0.5});
  check_values(t.grad(), {0});
  // x = 2, t = 0: 2 + log(1 + e^-2) = 2.1269280; x = -2, t = 0: log(1 + e^-2) = 0.1269280
  check_values(bce_with_logits(tensor({2, -2}, {2}, DType::f64), zeros({2}, DType::f64), Reduction::none).value(),
               {2.1269280110429727, 0.1269280110429727});
  // Logits of +-1000 with t = 1: 0 and 1000, finite in f32 and f64; sum and mean.
  for (DType dt : {DType::f32, DType::f64}) {
    const Var big = Var::leaf(tensor({1000, -1000}, {2}, dt));
    const Var l = bce_with_logits(big, Var(ones({2}, dt)), Reduction::sum);
    CHECK(l.item() == doctest::Approx(1000.0));
    l.backward();
    check_values(big.grad(), {0, -1});  // sigmoid(x) - 1
    CHECK(bce_with_logits(big, Var(ones({2}, dt))).item() == doctest::Approx(500.0));
  }
}

TEST_CASE("bce_with_logits agrees with -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x))") {
  Generator gen(4);
  const Tensor x0 = uniform({3, 5}, -4, 4, gen, DType::f64), t0 = uniform({5}, 0, 1, gen, DType::f64);
  const Var x1 = Var::leaf(x0.clone()), t1 = Var::leaf(t0.clone());
  const Var x2 = Var::leaf(x0.clone()), t2 = Var::leaf(t0.clone());
  const Var fused = bce_with_logits(x1, t1);
  const Var s = sigmoid(x2);
  const Var composite = mean(neg(t2 * log(s) + (1.0 - t2) * log(1.0 - s)));
  CHECK(fused.item() == doctest::Approx(composite.item()).epsilon(1e-10));
  fused.backward();
  composite.backward();
  check_same(x1.grad(), x2.grad(), 1e-10);
  check_same(t1.grad(), t2.grad(), 1e-10);
}

// ---------------------------------------------------------------- activations

TEST_CASE("log_sigmoid: hand-worked values, extremes and gradient sigmoid(-x)") {
  // log sigmoid(0) = -log 2; at 30: -log1p(e^-30) = -9.3576e-14; at -30: -30 - 9.3576e-14
  check_values(log_sigmoid(Var(tensor({0, 30, -30}, {3}, DType::f64))).value(),
               {-std::log(2.0), -9.357622968839737e-14, -30.000000000000092});
  for (DType dt : {DType::f32, DType::f64}) {
    const Var x = Var::leaf(tensor({-1000, 1000, 0}, {3}, dt));
    const Var y = log_sigmoid(x);
    check_values(y.value(), {-1000, 0, -std::log(2.0)}, 1e-6);
    sum(y).backward();
    check_values(x.grad(), {1, 0, 0.5}, 1e-6);  // sigmoid(-x)
  }
  Generator gen(5);
  const Tensor x0 = uniform({4, 3}, -6, 6, gen, DType::f64);
  check_same(grad_of(x0, [](const Var& x) { return log_sigmoid(x); }),
             grad_of(x0, [](const Var& x) { return log(sigmoid(x)); }), 1e-10);
}

TEST_CASE("entropy: uniform logits give log C, a certain distribution gives 0") {
  for (int64_t c : {1, 2, 4, 7}) {
    const Var x = Var::leaf(zeros({3, c}, DType::f64));
    const Var h = entropy(x);
    CHECK(h.shape() == Shape{3});
    check_values(h.value(), {std::log(double(c)), std::log(double(c)), std::log(double(c))});
    sum(h).backward();  // the uniform distribution is the maximum: gradient zero
    for (double g : x.grad().to_vector<double>()) CHECK(g == doctest::Approx(0.0).scale(1.0));
  }
  // [0, -inf] is certain: H = 0, finite gradient.
  const Var masked = Var::leaf(tensor({0, -INFINITY}, {2}, DType::f64));
  const Var h0 = entropy(masked);
  CHECK(h0.item() == 0.0);
  h0.backward();
  check_values(masked.grad(), {0, 0});
  // [30, -30]: p = [1 - e^-60, e^-60]: H = 61 e^-60 = 5.25e-25 (log p_0 = -e^-60 rounds
  // to 0 beside the logits, leaving 60 e^-60 = 5.17e-25); [1000, -1000]: exactly 0. No NaN.
  for (DType dt : {DType::f32, DType::f64}) {
    const Var x = Var::leaf(tensor({30, -30, 1000, -1000}, {2, 2}, dt));
    const Var h = entropy(x, 1);
    const auto v = h.value().to_vector<double>();
    CHECK(v[0] > 5.1e-25);
    CHECK(v[0] < 5.3e-25);
    CHECK(v[1] == 0.0);
    sum(h).backward();
    for (double g : x.grad().to_vector<double>()) CHECK(std::isfinite(g));
  }
}

TEST_CASE("entropy agrees with -sum(softmax(x) * log_softmax(x)) along any axis") {
  Generator gen(6);
  const Tensor x0 = uniform({3, 4, 5}, -3, 3, gen, DType::f64);
  for (int64_t axis : {0, 1, -1}) {
    CHECK(entropy(Var(x0), axis).shape() == sum(x0, {axis}).shape());
    auto composite = [axis](const Var& x) { return neg(sum(softmax(x, axis) * log_softmax(x, axis), {axis})); };
    check_same(entropy(Var(x0), axis).value(), composite(Var(x0)).value());
    check_same(grad_of(x0, [axis](const Var& x) { return entropy(x, axis); }), grad_of(x0, composite), 1e-10);
  }
}

// ---------------------------------------------------------------- nuclear norm

TEST_CASE("nuclear_norm: diag(3, -4) is 7, a rank-1 matrix is the product of its vector norms") {
  // Singular values of diag(3, -4) are 4 and 3; U Vh = diag(1, -1), the signs.
  const Var d = Var::leaf(tensor({3, 0, 0, -4}, {2, 2}, DType::f64));
  const Var n = nuclear_norm(d);
  CHECK(n.dim() == 0);
  CHECK(n.item() == doctest::Approx(7.0));
  n.backward();
  check_values(d.grad(), {1, 0, 0, -1});
  // a b^T with a = [1, 2, 2] (norm 3) and b = [3, 4] (norm 5): one singular value, 15.
  // Its (sub)gradient U Vh = a b^T / 15.
  const Var r = Var::leaf(tensor({3, 4, 6, 8, 6, 8}, {3, 2}, DType::f64));
  const Var nr = nuclear_norm(r);
  CHECK(nr.item() == doctest::Approx(15.0));
  nr.backward();
  check_values(r.grad(), {3.0 / 15, 4.0 / 15, 6.0 / 15, 8.0 / 15, 6.0 / 15, 8.0 / 15}, 1e-9);
}

TEST_CASE("nuclear_norm of a symmetric positive definite matrix is its trace, gradient I; batches") {
  // [[2, 1], [1, 2]] has eigenvalues 3 and 1: nuclear norm 4; [[5, 0], [0, 1]]: 6.
  const Var x = Var::leaf(tensor({2, 1, 1, 2, 5, 0, 0, 1}, {2, 2, 2}, DType::f64));
  const Var n = nuclear_norm(x);
  CHECK(n.shape() == Shape{2});
  check_values(n.value(), {4, 6});
  n.backward(tensor({1, 2}, {2}, DType::f64));  // per-matrix cotangents scale each gradient
  check_values(x.grad(), {1, 0, 0, 1, 2, 0, 0, 2}, 1e-9);
  // Wide matrices work too: [[3, 0, 0], [0, 0, 4]] has singular values 4 and 3.
  CHECK(nuclear_norm(Var(tensor({3, 0, 0, 0, 0, 4}, {2, 3}, DType::f64))).item() == doctest::Approx(7.0));
  // The zero matrix: norm 0, and 0 is the subgradient of least norm.
  const Var z = Var::leaf(zeros({2, 3}, DType::f64));
  const Var nz = nuclear_norm(z);
  CHECK(nz.item() == 0.0);
  nz.backward();
  check_values(z.grad(), {0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(nuclear_norm(Var(zeros({3}))), "nuclear_norm: expected matrices [.., m, n], got shape [3]",
                       Error);
}
