// hvp, conjugate_gradient and lissa against the closed-form Hessian of
// L2-regularised logistic regression (inverted exactly with eigh), plus the
// promises hvp makes about the parameters (restored bit-exactly, grads kept,
// also when the loss throws), its default step (on a device computed there,
// read by no one), and the solvers' errors.
#include <doctest/doctest.h>

#include "tests/error_of.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "autograd/hvp.h"
#include "autograd/ops.h"
#include "tensor/backend.h"

using namespace gradlab;
using gradlab::test::error_of;

namespace {

using Tensors = std::vector<Tensor>;

// Logistic regression with labels y_i in {-1, +1}, weights w [d] and an
// intercept c [1], both L2-regularised:
//
//   L(w, c) = mean_i log(1 + exp(-y_i (x_i.w + c))) + lambda/2 (|w|^2 + c^2).
//
// Write theta = (w, c) and a_i = (x_i, 1), so that the margin is m_i = y_i a_i.theta.
// With sigma the logistic function, d/dm log(1 + exp(-m)) = -sigma(-m), so
//   grad L = mean_i -sigma(-m_i) y_i a_i + lambda theta,
// and differentiating once more, with sigma' = sigma (1 - sigma) and y_i^2 = 1,
//   H = mean_i sigma(-m_i) (1 - sigma(-m_i)) a_i a_i^T + lambda I.
// sigma(z) (1 - sigma(z)) is even in z, so the weight of example i is
// s_i (1 - s_i) with s_i = sigma(a_i.theta), whatever the label: with A the
// [n, d+1] matrix of rows a_i and D = diag(s_i (1 - s_i)),
//   H = A^T D A / n + lambda I.
struct Logistic {
  Tensor X, y;  // [n, d], [n] (+-1)
  double lambda;
  Var w, c;  // [d], [1]

  Logistic(int64_t n, int64_t d, double lambda, uint64_t seed, DType dtype = DType::f64) : lambda(lambda) {
    Generator gen(seed);
    X = randn({n, d}, gen, DType::f64);
    const Tensor w_true = randn({d}, gen, DType::f64);
    y = sign(matmul(X, w_true) + randn({n}, gen, DType::f64));  // noisy labels, so the optimum is finite
    w = Var::leaf(mul(randn({d}, gen, DType::f64), 0.5).to(dtype));
    c = Var::leaf(tensor({0.3}, {1}, dtype));
    X = X.to(dtype), y = y.to(dtype);
  }
  std::vector<Var> params() const { return {w, c}; }

  // The loss over the rows `rows` of the data (all of them when undefined).
  Var loss(const Tensor& rows = Tensor()) const {
    const Tensor Xs = rows.defined() ? index_select(X, 0, rows) : X;
    const Tensor ys = rows.defined() ? index_select(y, 0, rows) : y;
    const Var margin = (matmul(Var(Xs), w) + c) * Var(ys);
    return mean(softplus(-margin)) + (0.5 * lambda) * (sum(w * w) + sum(c * c));
  }

  // H = A^T D A / n + lambda I, in f64, at the current parameters.
  Tensor hessian() const {
    const Tensor Xd = X.to(DType::f64);
    const int64_t n = Xd.size(0), d = Xd.size(1);
    const Tensor A = concat(Tensors{Xd, ones({n, 1}, DType::f64)}, 1);
    const Tensor theta = concat(Tensors{w.value().to(DType::f64), c.value().to(DType::f64)});
    const Tensor s = sigmoid(matmul(A, theta));
    const Tensor D = s * (1.0 - s);
    return matmul(A.mT(), A * D.unsqueeze(1)) / double(n) + eye(d + 1, d + 1, DType::f64) * lambda;
  }
};

// The list (w-like, c-like) as one f64 vector [d + 1], and back.
Tensor flat(const Tensors& xs) {
  Tensors parts;
  for (const Tensor& x : xs) parts.push_back(x.to(DType::f64).reshape({-1}));
  return concat(parts);
}
Tensors unflat(const Tensor& v, const Logistic& model) {
  const int64_t d = model.w.numel();
  return {v.slice(0, 0, d).contiguous().to(model.w.dtype()), v.slice(0, d, d + 1).contiguous().to(model.c.dtype())};
}

double rel_err(const Tensor& got, const Tensor& want) {
  return norm(got.to(DType::f64) - want.to(DType::f64)).item() / norm(want.to(DType::f64)).item();
}

// A^-1 b for a small symmetric positive definite A, through its eigendecomposition.
Tensor spd_solve(const Tensor& A, const Tensor& b) {
  const Eigh e = eigh(A);
  const Tensor V = e.eigenvectors;
  return matmul(V, matmul(V.mT(), b) / e.eigenvalues);
}


bool same_bits(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("hvp matches the closed-form Hessian of logistic regression (f64)") {
  const Logistic model(200, 5, 0.05, 1);
  const Tensor H = model.hessian();
  Generator gen(7);
  for (int trial = 0; trial < 4; ++trial) {
    const Tensor v = randn({6}, gen, DType::f64) * (trial == 3 ? 1e3 : 1.0);  // the step adapts to |v|
    const Tensors hv = hvp([&] { return model.loss(); }, model.params(), unflat(v, model));
    REQUIRE(hv.size() == 2);
    CHECK(hv[0].shape() == Shape{5});
    CHECK(hv[1].shape() == Shape{1});
    const double err = rel_err(flat(hv), matmul(H, v));
    CHECK_MESSAGE(err < 1e-8, "trial " << trial << ": relative error " << err);
  }
  // A zero direction gives zeros without calling the loss.
  const Tensors zero = hvp([]() -> Var { throw std::runtime_error("not called"); }, model.params(),
                           {zeros({5}, DType::f64), zeros({1}, DType::f64)});
  CHECK(norm(flat(zero)).item() == 0);
}

TEST_CASE("hvp's default step balances truncation against rounding (f32)") {
  // In f32 the rounding term u |grad| / eps is visible: a step 100 times
  // smaller than the default, or 100 times larger, is worse than the default.
  const Logistic model(200, 5, 0.05, 2, DType::f32);
  const Tensor H = model.hessian();  // in f64 at the f32 parameters
  Generator gen(3);
  const Tensor v = randn({6}, gen, DType::f64);
  const Tensors vs = unflat(v, model);
  const double eps = hvp_default_eps(model.params(), vs);
  const double theta_norm = norm(flat({model.w.value(), model.c.value()})).item();
  CHECK(eps == doctest::Approx(std::cbrt(std::pow(2.0, -24)) * (1 + theta_norm) / norm(v).item()).epsilon(1e-6));
  auto error_at = [&](double step) {
    return rel_err(flat(hvp([&] { return model.loss(); }, model.params(), vs, step)), matmul(H, v));
  };
  const double at_default = error_at(0), too_small = error_at(eps / 100), too_large = error_at(eps * 100);
  MESSAGE("f32 hvp relative error: default step " << at_default << ", 100x smaller " << too_small << ", 100x larger "
                                                  << too_large);
  CHECK_MESSAGE(at_default < 1e-3, "relative error " << at_default);
  CHECK(at_default < too_small);
  CHECK(at_default < too_large);
  CHECK(hvp([&] { return model.loss(); }, model.params(), vs)[0].dtype() == DType::f32);
}

TEST_CASE("hvp restores the parameters bit-exactly and keeps their grads") {
  const Logistic model(50, 5, 0.1, 3);
  const Tensor w0 = model.w.value().clone(), c0 = model.c.value().clone();
  const Tensor w_storage = model.w.value();  // a second handle that must see the same bits afterwards
  const Tensor old_grad = full({5}, 2.5, DType::f64);
  model.w.set_grad(old_grad);  // a grad from before; c has none
  Generator gen(4);
  const Tensors v = {randn({5}, gen, DType::f64), randn({1}, gen, DType::f64)};

  std::vector<Tensor> seen;  // the w the loss saw on each call
  hvp(
      [&] {
        seen.push_back(model.w.value().clone());
        return model.loss();
      },
      model.params(), v, 1e-3);
  REQUIRE(seen.size() == 2);
  CHECK(rel_err(seen[0] - w0, v[0] * 1e-3) < 1e-9);  // theta + eps v, then theta - eps v
  CHECK(rel_err(seen[1] - w0, v[0] * -1e-3) < 1e-9);
  CHECK(same_bits(model.w.value(), w0));
  CHECK(same_bits(w_storage, w0));
  CHECK(same_bits(model.c.value(), c0));
  CHECK(model.w.grad().storage() == old_grad.storage());
  CHECK(same_bits(model.w.grad(), full({5}, 2.5, DType::f64)));
  CHECK_FALSE(model.c.grad().defined());

  // Also when the loss throws on the second, perturbed evaluation.
  int calls = 0;
  auto throwing = [&] {
    if (++calls == 2) throw std::runtime_error("loss failed");
    return model.loss();
  };
  CHECK_THROWS_WITH_AS(hvp(throwing, model.params(), v, 1e-3), "loss failed", std::runtime_error);
  CHECK(calls == 2);
  CHECK(same_bits(model.w.value(), w0));
  CHECK(same_bits(model.c.value(), c0));
  CHECK(model.w.grad().storage() == old_grad.storage());
  CHECK_FALSE(model.c.grad().defined());

  // Inside a NoGradGuard the loss is still recorded.
  NoGradGuard no_grad;
  const Tensors hv = hvp([&] { return model.loss(); }, model.params(), v);
  CHECK(rel_err(flat(hv), matmul(model.hessian(), flat(v))) < 1e-8);
}

TEST_CASE("hvp on a device takes its default step there: the CPU's product, nothing read back") {
  // L(w) = sum(w^3) / 6: grad = w^2 / 2, H = diag(w), so H v = w * v.
  Generator gen(11);
  const Tensor w0 = randn({7}, gen, DType::f64), v0 = randn({7}, gen, DType::f64);
  auto product_on = [&](Device d, const Tensor& v) {
    const Var w = Var::leaf(w0.to(d));
    const Tensors hv = hvp([&] { return sum(w * w * w) / 6.0; }, {w}, {v.to(d)});
    REQUIRE(hv[0].device() == d);
    return hv[0];
  };
  const Tensor on_cpu = product_on(Device::cpu, v0);
  CHECK(rel_err(on_cpu, mul(w0, v0)) < 1e-9);
  const TransferCounts before = transfer_counts();
  const Tensor on_ref = product_on(Device::ref, v0);
  const Tensor zero_on_ref = product_on(Device::ref, zeros({7}, DType::f64));
  CHECK(transfer_counts().to_host == before.to_host);
  CHECK(rel_err(on_ref.to(Device::cpu), on_cpu) < 1e-12);
  CHECK(norm(zero_on_ref.to(Device::cpu)).item() == 0);  // a zero v moves nothing and gives zeros
}

TEST_CASE("hvp names the mismatch between v and the parameters") {
  const Logistic model(20, 5, 0.1, 5);
  auto loss = [&] { return model.loss(); };
  const Tensor v5 = zeros({5}, DType::f64) + 1.0, v1 = zeros({1}, DType::f64) + 1.0;
  CHECK(error_of([&] { hvp(loss, model.params(), {v5}); }) ==
        "hvp: 1 direction tensors for 2 parameters (one per parameter)");
  CHECK(error_of([&] {
          hvp(loss, model.params(), {zeros({4}, DType::f64), v1});
        }) == "hvp: direction 0 has shape [4] but parameter 0 has shape [5]");
  CHECK(error_of([&] {
          hvp(loss, model.params(), {v5.reshape({5, 1}), v1});
        }) == "hvp: direction 0 has shape [5, 1] but parameter 0 has shape [5]");
  CHECK(error_of([&] {
          hvp(loss, model.params(), {v5, v1.to(DType::f32)});
        }) == "hvp: direction 1 has dtype f32 but parameter 1 has dtype f64");
  CHECK(error_of([&] { hvp(loss, model.params(), {v5, Tensor()}); }) == "hvp: direction 1 is an undefined tensor");
  CHECK(error_of([&] { hvp(loss, {}, {}); }) == "hvp: no parameters given");
  CHECK(error_of([&] { hvp(loss, {model.w, model.w}, {v5, v5}); }) == "hvp: parameters 0 and 1 are the same Var");
  const Var made = model.w * 2.0;
  CHECK(error_of([&] { hvp(loss, {made}, {v5}); }) ==
        "hvp: parameter 0 (shape [5]) was made by 'mul'; only leaf Vars can be perturbed");
  const Var frozen(zeros({5}, DType::f64));
  CHECK(error_of([&] { hvp(loss, {frozen}, {v5}); }) == "hvp: parameter 0 (shape [5]) does not require a gradient");
  CHECK(error_of([&] { hvp([&] { return model.w * 1.0; }, {model.w}, {v5}); }) ==
        "hvp: loss_fn returned a Var of shape [5]; it must return one element (a loss)");
  CHECK(error_of([&] {
          hvp(loss, model.params(), {v5, v1}, -1.0);
        }) == "hvp: eps must be finite and >= 0 (0 chooses it), got -1");
}

TEST_CASE("conjugate_gradient solves a diagonal system over a list of tensors") {
  // A = diag(1..7) + lambda I over the list ([2, 2], [3]): seven distinct
  // eigenvalues, so CG is exact after at most 7 iterations.
  const Tensor a0 = tensor({1, 2, 3, 4}, {2, 2}, DType::f64), a1 = tensor({5, 6, 7}, {3}, DType::f64);
  int applications = 0;
  const HvpOperator diag = [&](const Tensors& x) {
    ++applications;
    return Tensors{x[0] * a0, x[1] * a1};
  };
  const Tensors b = {tensor({1, -1, 2, 0.5}, {2, 2}, DType::f64), tensor({3, 1, -2}, {3}, DType::f64)};
  const double lambda = 0.5;
  SolveReport report;
  const Tensors x = conjugate_gradient(diag, b, lambda, 50, 1e-12, &report);
  CHECK(rel_err(x[0], b[0] / (a0 + lambda)) < 1e-12);
  CHECK(rel_err(x[1], b[1] / (a1 + lambda)) < 1e-12);
  CHECK(report.converged);
  CHECK(report.iterations <= 7);
  CHECK(report.iterations == applications);
  CHECK(report.relative_residual <= 1e-12);

  SolveReport capped;
  conjugate_gradient(diag, b, lambda, 2, 1e-12, &capped);
  CHECK(capped.iterations == 2);
  CHECK_FALSE(capped.converged);
  CHECK(capped.relative_residual > 1e-6);
}

TEST_CASE("conjugate_gradient with hvp inverts the logistic-regression Hessian") {
  const Logistic model(200, 5, 0.05, 6);
  Generator gen(8);
  const Tensor b = randn({6}, gen, DType::f64);
  const HvpOperator H = [&](const Tensors& v) { return hvp([&] { return model.loss(); }, model.params(), v); };
  for (double damping : {0.0, 0.01}) {
    SolveReport report;
    const Tensors x = conjugate_gradient(H, unflat(b, model), damping, 100, 1e-12, &report);
    const Tensor exact = spd_solve(model.hessian() + eye(6, 6, DType::f64) * damping, b);
    const double err = rel_err(flat(x), exact);
    CHECK_MESSAGE(err < 1e-8, "damping " << damping << ": relative error " << err);
    CHECK(report.converged);
    CHECK(report.iterations <= 12);  // n = 6, and a few more for the finite-difference products
  }
}

TEST_CASE("conjugate_gradient refuses indefinite systems and bad operators") {
  const Tensors b = {tensor({1, 2}, {2}, DType::f64)};
  const HvpOperator negative = [](const Tensors& x) { return Tensors{-x[0]}; };
  CHECK(error_of([&] { conjugate_gradient(negative, b, 0.5); })
            .starts_with("conjugate_gradient: direction of non-positive curvature (p^T (H + lambda I) p = -2.5 at "
                         "iteration 0"));
  const HvpOperator wrong_shape = [](const Tensors& x) { return Tensors{x[0].reshape({1, 2})}; };
  CHECK(error_of([&] { conjugate_gradient(wrong_shape, b); }) ==
        "conjugate_gradient: the operator returned tensor 0 of shape [1, 2] and dtype f64 for one of shape [2] and "
        "dtype f64");
  const HvpOperator too_many = [](const Tensors& x) { return Tensors{x[0], x[0]}; };
  CHECK(error_of([&] { conjugate_gradient(too_many, b); }) ==
        "conjugate_gradient: the operator returned 2 tensors for 1 (it must keep the list's length)");
  CHECK(error_of([&] { conjugate_gradient(negative, b, -1.0); }) ==
        "conjugate_gradient: lambda must be finite and >= 0, got -1");
  // b = 0 is solved by x = 0 at once.
  SolveReport report;
  const Tensors x = conjugate_gradient(negative, {zeros({3}, DType::f64)}, 0, 10, 1e-10, &report);
  CHECK(report.iterations == 0);
  CHECK(norm(x[0]).item() == 0);
}

TEST_CASE("lissa approximates the inverse-HVP when scale exceeds the top eigenvalue") {
  const Logistic model(200, 5, 0.05, 9);
  Generator gen(10);
  const Tensor b = randn({6}, gen, DType::f64);
  const double damping = 0.01;
  const Tensor A = model.hessian() + eye(6, 6, DType::f64) * damping;
  const auto mu = eigh(A).eigenvalues.to_vector<double>();
  const double scale = 1.0;
  const int depth = 300;
  REQUIRE(mu.back() < scale);                               // the convergence condition
  REQUIRE(std::pow(1 - mu.front() / scale, depth) < 1e-5);  // and a depth that gets within 1e-5
  const HvpOperator H = [&](const Tensors& v) { return hvp([&] { return model.loss(); }, model.params(), v); };
  SolveReport report;
  const Tensors x = lissa(H, unflat(b, model), damping, scale, depth, 1, &report);
  const Tensor exact = spd_solve(A, b);
  const double err = rel_err(flat(x), exact);
  CHECK_MESSAGE(err < 1e-3, "relative error " << err);
  CHECK(report.iterations == depth);

  // Too small a scale (below half the top eigenvalue) makes the series diverge.
  const double bad = rel_err(flat(lissa(H, unflat(b, model), damping, 0.4 * mu.back(), 60)), exact);
  CHECK_MESSAGE(bad > 1e3, "relative error " << bad);
}

TEST_CASE("lissa averages repeats of a stochastic minibatch Hessian") {
  // Each operator call differentiates the loss on a fresh random minibatch of
  // 40 of the 400 rows: an unbiased but noisy H. Averaging repeats of the
  // recursion brings the estimate closer to the full-batch answer.
  const Logistic model(400, 5, 0.05, 11);
  Generator gen(12);
  const Tensor b = randn({6}, gen, DType::f64);
  const double damping = 0.05;
  const Tensor exact = spd_solve(model.hessian() + eye(6, 6, DType::f64) * damping, b);
  auto estimate_error = [&](int repeats) {
    Generator batches(13);
    const HvpOperator minibatch_H = [&](const Tensors& v) {
      const Tensor rows = argsort(rand({400}, batches)).slice(0, 0, 40);
      return hvp([&] { return model.loss(rows); }, model.params(), v);
    };
    return rel_err(flat(lissa(minibatch_H, unflat(b, model), damping, 2.0, 150, repeats)), exact);
  };
  const double one = estimate_error(1), many = estimate_error(16);
  MESSAGE("minibatch LiSSA relative error: " << one << " with 1 repeat, " << many << " with 16");
  CHECK(many < 0.1);
  CHECK(many < one);
}

TEST_CASE("lissa checks its arguments") {
  const Tensors b = {tensor({1, 2}, {2}, DType::f64)};
  const HvpOperator identity = [](const Tensors& x) { return x; };
  CHECK(error_of([&] { lissa(identity, b, 0, 0.0, 10); }) ==
        "lissa: scale must be positive (larger than the top eigenvalue of H + lambda I), got 0");
  CHECK(error_of([&] { lissa(identity, b, 0, 2.0, 0); }) == "lissa: depth must be >= 1, got 0");
  CHECK(error_of([&] { lissa(identity, b, 0, 2.0, 5, 0); }) == "lissa: repeats must be >= 1, got 0");
  CHECK(error_of([&] { lissa(identity, {}, 0, 2.0, 5); }) == "lissa: b is an empty list");
  // H = I, scale 2: x_j = b + x_{j-1} / 2 -> 2 b, so x / scale -> b = I^-1 b.
  const Tensors x = lissa(identity, b, 0, 2.0, 60);
  CHECK(rel_err(x[0], b[0]) < 1e-15);
}
