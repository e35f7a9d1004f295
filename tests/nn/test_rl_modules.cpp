// nn/ensemble, nn/gaussian_mlp, nn/policy: EnsembleLinear against K separate
// Linear layers, f64 gradient checks of every module (inputs by gradcheck_at,
// parameters by central differences on their values), the soft log-variance
// bounds at extreme inputs, the Gaussian NLL by hand, categorical sampling
// frequencies, the tanh-Gaussian density against its direct formula, and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <vector>

#include "autograd/gradcheck.h"
#include "nn/ensemble.h"
#include "nn/gaussian_mlp.h"
#include "nn/policy.h"
#include "tensor/backend.h"

using namespace gradlab;
using namespace gradlab::nn;

namespace {

std::vector<double> vals(const Var& v) { return v.value().to(DType::f64).contiguous().to_vector<double>(); }
std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    CHECK_MESSAGE(std::fabs(a[i] - b[i]) <= tol, "element ", i, ": ", a[i], " vs ", b[i]);
}

// Compares the gradient backward() leaves on every parameter of `m` (f64)
// with central differences of loss() on that parameter's values.
void check_parameter_grads(Module& m, const std::function<Var()>& loss, double tol = 1e-6) {
  m.zero_grad();
  loss().backward();
  const double h = 1e-6;
  for (const auto& [name, p] : m.named_parameters()) {
    REQUIRE_MESSAGE(p.grad().defined(), "no gradient reached ", name);
    const std::vector<double> analytic = vals(p.grad());
    Tensor value = p.value();
    REQUIRE(value.dtype() == DType::f64);
    double* x = value.data<double>();
    for (int64_t i = 0; i < value.numel(); ++i) {
      NoGradGuard guard;
      const double orig = x[i];
      x[i] = orig + h;
      const double plus = loss().item();
      x[i] = orig - h;
      const double minus = loss().item();
      x[i] = orig;
      const double numeric = (plus - minus) / (2 * h);
      CHECK_MESSAGE(std::fabs(analytic[size_t(i)] - numeric) <= tol * (1 + std::fabs(numeric)), name, "[", i,
                    "]: analytic ", analytic[size_t(i)], ", numeric ", numeric);
    }
  }
}

// <v, y> for a fixed random v: a scalar that weighs every output differently.
Var project(const Var& y, uint64_t seed = 99) {
  Generator g(seed);
  return sum(y * randn(y.shape(), g, y.dtype()));
}

}  // namespace

// ---------------------------------------------------------------- EnsembleLinear

TEST_CASE("EnsembleLinear equals K separate Linear layers with the same weights") {
  Generator gen(1);
  const int64_t K = 3, N = 6, in = 4, out = 5;
  EnsembleLinear ens(K, in, out, gen);
  CHECK(ens.weight.shape() == Shape{K, out, in});
  CHECK(ens.bias.shape() == Shape{K, out});
  CHECK(ens.members() == K);
  CHECK(ens.in_features() == in);
  CHECK(ens.out_features() == out);
  // default init: every member uniform in +-1/sqrt(in), and members differ
  CHECK(max(abs(ens.weight.value())).item<float>() <= 1.0f / std::sqrt(float(in)));
  CHECK(vals(ens.weight.value().select(0, 0)) != vals(ens.weight.value().select(0, 1)));

  std::vector<std::shared_ptr<Linear>> singles;
  for (int64_t k = 0; k < K; ++k) {
    auto l = std::make_shared<Linear>(in, out, gen);
    NoGradGuard guard;
    Tensor w = l->weight.value(), b = l->bias.value();
    w.copy_(ens.weight.value().select(0, k));
    b.copy_(ens.bias.value().select(0, k));
    singles.push_back(l);
  }
  const Tensor shared = randn({N, in}, gen);
  const Tensor own = randn({K, N, in}, gen);
  const Var ys = ens(shared), yo = ens(own);
  CHECK(ys.shape() == Shape{K, N, out});
  CHECK(yo.shape() == Shape{K, N, out});
  for (int64_t k = 0; k < K; ++k) {
    check_close(vals(ys.value().select(0, k)), vals(singles[k]->forward(shared)), 1e-5);
    check_close(vals(yo.value().select(0, k)), vals(singles[k]->forward(own.select(0, k))), 1e-5);
  }
}

TEST_CASE("EnsembleLinear without bias, in f64, calls its forward hooks") {
  Generator gen(2);
  EnsembleLinear ens(2, 3, 4, gen, LinearOptions{.bias = false, .dtype = DType::f64});
  CHECK_FALSE(ens.bias.defined());
  CHECK(ens.parameter_count() == 2 * 3 * 4);
  CHECK(ens.weight.dtype() == DType::f64);
  Shape seen_in, seen_out;
  ens.register_forward_hook([&](const Module&, const Var& x, const Var& y) {
    seen_in = x.shape();
    seen_out = y.shape();
  });
  const Tensor x = randn({5, 3}, gen, DType::f64);
  const Var y = ens(x);
  CHECK(seen_in == Shape{5, 3});
  CHECK(seen_out == Shape{2, 5, 4});
  // member 1, row 2, output 3 by hand
  double want = 0;
  for (int64_t i = 0; i < 3; ++i)
    want += x.select(0, 2).select(0, i).item<double>() *
            ens.weight.value().select(0, 1).select(0, 3).select(0, i).item<double>();
  CHECK(y.value().select(0, 1).select(0, 2).select(0, 3).item<double>() == doctest::Approx(want).epsilon(1e-12));
}

TEST_CASE("ensemble_linear gradients in f64: input, weight and bias, shared and per-member input") {
  GradcheckResult r =
      gradcheck([](const Vars& v) { return ensemble_linear(v[0], v[1], v[2]); }, {{{4, 3}}, {{2, 5, 3}}, {{2, 5}}});
  CHECK_MESSAGE(r.ok, r.message);
  r = gradcheck([](const Vars& v) { return ensemble_linear(v[0], v[1], v[2]); }, {{{2, 4, 3}}, {{2, 5, 3}}, {{2, 5}}});
  CHECK_MESSAGE(r.ok, r.message);
  r = gradcheck([](const Vars& v) { return ensemble_linear(v[0], v[1], Var()); }, {{{2, 4, 3}}, {{2, 5, 3}}});
  CHECK_MESSAGE(r.ok, r.message);
  // the module's own parameters, by central differences on their values
  Generator gen(3);
  EnsembleLinear ens(3, 2, 4, gen, LinearOptions{.dtype = DType::f64});
  const Tensor x = randn({5, 2}, gen, DType::f64);
  check_parameter_grads(ens, [&] { return project(ens(x)); });
}

TEST_CASE("EnsembleLinear errors name the layer and the shapes") {
  Generator gen(4);
  EnsembleLinear ens(3, 4, 5, gen);
  CHECK_THROWS_WITH_AS(ens(randn({6, 7}, gen)),
                       "EnsembleLinear: x must be [K, N, 4] or [N, 4] (weight [3, 5, 4]), got shape [6, 7]", Error);
  CHECK_THROWS_WITH_AS(
      ens(randn({2, 6, 4}, gen)),
      "EnsembleLinear: x of shape [2, 6, 4] has 2 members on its first axis, the weight [3, 5, 4] has 3", Error);
  CHECK_THROWS_WITH_AS(ens(randn({4}, gen)), doctest::Contains("got shape [4]"), Error);
  CHECK_THROWS_WITH_AS(ens(randn({6, 4}, gen, DType::f64)), doctest::Contains("x is f64 but the weight is f32"), Error);
  CHECK_THROWS_WITH_AS(EnsembleLinear(0, 4, 5, gen), doctest::Contains("K = 0"), Error);
}

// ---------------------------------------------------------------- EnsembleMLP

TEST_CASE("EnsembleMLP: shapes, independent members, parameter names") {
  Generator gen(5);
  EnsembleMLP mlp(3, {4, 8, 8, 2}, gen, {.activation = Activation::silu});
  CHECK(mlp.members() == 3);
  REQUIRE(mlp.layers().size() == 3);
  const auto named = mlp.named_parameters();
  REQUIRE(named.size() == 6);
  CHECK(named[0].first == "layers.0.weight");
  CHECK(named[0].second.shape() == Shape{3, 8, 4});
  CHECK(named[5].first == "layers.2.bias");
  CHECK(named[5].second.shape() == Shape{3, 2});

  const Tensor x = randn({7, 4}, gen);
  const Var shared = mlp(x);
  CHECK(shared.shape() == Shape{3, 7, 2});
  // every member fed the same rows separately gives the shared result
  const Var own = mlp(stack({x, x, x}, 0));
  check_close(vals(own), vals(shared), 1e-6);
  // changing member 0's inputs leaves members 1 and 2 alone
  const Var changed = mlp(stack({randn({7, 4}, gen), x, x}, 0));
  CHECK(vals(changed.value().select(0, 0)) != vals(shared.value().select(0, 0)));
  check_close(vals(changed.value().narrow(0, 1, 2)), vals(shared.value().narrow(0, 1, 2)), 1e-6);
}

TEST_CASE("EnsembleMLP gradients in f64: input and every parameter") {
  Generator gen(6);
  EnsembleMLP mlp(2, {3, 4, 2}, gen,
                  {.activation = Activation::tanh, .output = Activation::sigmoid, .dtype = DType::f64});
  const Tensor x = randn({2, 5, 3}, gen, DType::f64);
  check_parameter_grads(mlp, [&] { return project(mlp(x)); });
  const GradcheckResult r = gradcheck_at([&](const Vars& v) { return mlp(v[0]); }, {x});
  CHECK_MESSAGE(r.ok, r.message);
  CHECK_THROWS_WITH_AS(EnsembleMLP(2, {3}, gen), "EnsembleMLP: needs at least {in, out} sizes, got 1", Error);
}

// ---------------------------------------------------------------- GaussianMLP

TEST_CASE("GaussianMLP: shapes, initial bounds, penalty") {
  Generator gen(7);
  GaussianMLP model(2, {3, 8, 4}, gen);
  CHECK(model.members() == 2);
  CHECK(model.out_features() == 4);
  CHECK(vals(model.max_log_var) == std::vector<double>(4, 0.5));
  CHECK(vals(model.min_log_var) == std::vector<double>(4, -10.0));
  CHECK(model.bound_penalty().item() == doctest::Approx(4 * 10.5));
  const auto out = model(randn({5, 3}, gen));
  CHECK(out.mean.shape() == Shape{2, 5, 4});
  CHECK(out.log_var.shape() == Shape{2, 5, 4});
  // K = 1 keeps a member axis of size 1
  GaussianMLP single(1, {3, 4}, gen);
  CHECK(single(randn({5, 3}, gen)).mean.shape() == Shape{1, 5, 4});
  const auto names = model.named_parameters();
  CHECK(names[0].first == "max_log_var");
  CHECK(names[1].first == "min_log_var");
  CHECK(names[2].first == "net.layers.0.weight");
  CHECK_THROWS_WITH_AS(GaussianMLP(1, {3, 4}, gen, {.max_log_var = -1, .min_log_var = 0}),
                       "GaussianMLP: min_log_var (0) must be below max_log_var (-1)", Error);
}

TEST_CASE("the soft log-variance bounds hold for extreme raw outputs") {
  for (const DType dt : {DType::f32, DType::f64}) {
    const Var maxlv = full({5}, 0.5, dt), minlv = full({5}, -10.0, dt);
    const Tensor raw = tensor({-1e30, -1e4, -50, -3, 0, 3, 50, 1e4, 1e30, -20}, {2, 5}, dt);
    const std::vector<double> lv = vals(soft_bound_log_var(raw, maxlv, minlv));
    const double overshoot = std::log1p(std::exp(-10.5));  // the documented slack above max_lv
    for (size_t i = 0; i < lv.size(); ++i) {
      CHECK(std::isfinite(lv[i]));
      CHECK(lv[i] >= -10.0);
      CHECK(lv[i] <= 0.5 + overshoot + 1e-6);
    }
    CHECK(lv[0] == doctest::Approx(-10.0));
    CHECK(lv[8] == doctest::Approx(0.5).epsilon(1e-4));
    CHECK(lv[3] == doctest::Approx(-3.0).epsilon(0.02));  // near the identity well inside the bounds
  }
  // through the model: a huge bias on the log-variance half of the last layer
  Generator gen(8);
  GaussianMLP model(2, {3, 6, 2}, gen);
  const Tensor x = randn({4, 3}, gen);
  for (const double push : {1e6, -1e6}) {
    NoGradGuard guard;
    Tensor b = model.net->layers().back()->bias.value();
    b.narrow(1, 2, 2).fill_(push);
    const std::vector<double> lv = vals(model(x).log_var);
    for (const double v : lv) CHECK((v >= -10.0 && v <= 0.5 + 1e-4));
    for (const double v : lv) CHECK(v == doctest::Approx(push > 0 ? 0.5 : -10.0).epsilon(1e-4));
  }
}

TEST_CASE("GaussianMLP gradients reach the bounds and every weight (f64)") {
  GradcheckResult r = gradcheck([](const Vars& v) { return soft_bound_log_var(v[0], v[1], v[2]); },
                                {{{3, 2}, -12, 3}, {{2}, 0, 1}, {{2}, -11, -9}});
  CHECK_MESSAGE(r.ok, r.message);

  Generator gen(9);
  GaussianMLP model(2, {3, 5, 2}, gen, {.dtype = DType::f64});
  const Tensor x = randn({4, 3}, gen, DType::f64);
  const Tensor y = randn({4, 2}, gen, DType::f64);
  auto loss = [&] {
    const auto p = model(x);
    return GaussianMLP::nll(p.mean, p.log_var, y) + 0.01 * model.bound_penalty();
  };
  model.zero_grad();
  loss().backward();
  REQUIRE(model.max_log_var.grad().defined());
  REQUIRE(model.min_log_var.grad().defined());
  CHECK(sum(abs(model.max_log_var.grad())).item() > 0);
  CHECK(sum(abs(model.min_log_var.grad())).item() > 0);
  // move the bounds inside the outputs' range so both softplus steps bend
  {
    NoGradGuard guard;
    Tensor hi = model.max_log_var.value(), lo = model.min_log_var.value();
    hi.fill_(0.2);
    lo.fill_(-0.3);
  }
  check_parameter_grads(model, loss);
}

TEST_CASE("GaussianMLP::nll equals the hand formula, with a target shared by the members") {
  Generator gen(10);
  const int64_t K = 2, N = 3, D = 2;
  const Tensor m = randn({K, N, D}, gen, DType::f64), lv = randn({K, N, D}, gen, DType::f64);
  const Tensor t = randn({N, D}, gen, DType::f64);
  double total = 0;
  std::vector<double> each;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t d = 0; d < D; ++d) {
        const double mu = m.select(0, k).select(0, n).select(0, d).item<double>();
        const double l = lv.select(0, k).select(0, n).select(0, d).item<double>();
        const double y = t.select(0, n).select(0, d).item<double>();
        each.push_back(0.5 * (l + (y - mu) * (y - mu) * std::exp(-l)));
        total += each.back();
      }
  CHECK(GaussianMLP::nll(m, lv, t).item() == doctest::Approx(total / double(K * N * D)).epsilon(1e-12));
  CHECK(GaussianMLP::nll(m, lv, t, Reduction::sum).item() == doctest::Approx(total).epsilon(1e-12));
  const Var none = GaussianMLP::nll(m, lv, t, Reduction::none);
  CHECK(none.shape() == Shape{K, N, D});
  check_close(vals(none), each, 1e-12);

  CHECK_THROWS_WITH_AS(
      GaussianMLP::nll(m, lv, randn({N, 3}, gen, DType::f64)),
      "GaussianMLP::nll: target of shape [3, 3] does not broadcast to the prediction's shape [2, 3, 2]", Error);
  CHECK_THROWS_WITH_AS(GaussianMLP::nll(m, randn({K, N, 1}, gen, DType::f64), t),
                       "GaussianMLP::nll: mean of shape [2, 3, 2] and log_var of shape [2, 3, 1] differ", Error);
  // a larger target must not silently widen the loss
  CHECK_THROWS_WITH_AS(
      GaussianMLP::nll(m, lv, randn({4, K, N, D}, gen, DType::f64)),
      doctest::Contains(
          "GaussianMLP::nll: target of shape [4, 2, 3, 2] does not broadcast to the prediction's shape [2, 3, 2]"),
      Error);
}

// ---------------------------------------------------------------- categorical

TEST_CASE("CategoricalHead: log_prob is log_softmax gathered, entropy, mode") {
  const Tensor logits = tensor({1.0, 2.0, -0.5, 0.3, 0.0, 4.0, -2.0, 1.5}, {2, 4}, DType::f64);
  const Tensor actions = from_vector<int64_t>({2, 1});
  const std::vector<double> lp = vals(CategoricalHead::log_prob(logits, actions));
  const std::vector<double> l = vals(logits);
  for (int n = 0; n < 2; ++n) {
    double z = 0, h = 0;
    for (int a = 0; a < 4; ++a) z += std::exp(l[size_t(4 * n + a)]);
    const int64_t act = n == 0 ? 2 : 1;
    CHECK(lp[size_t(n)] == doctest::Approx(l[size_t(4 * n + act)] - std::log(z)).epsilon(1e-12));
    for (int a = 0; a < 4; ++a) {
      const double p = std::exp(l[size_t(4 * n + a)]) / z;
      h -= p * std::log(p);
    }
    CHECK(vals(CategoricalHead::entropy(logits))[size_t(n)] == doctest::Approx(h).epsilon(1e-12));
  }
  // i32 actions work too
  check_close(vals(CategoricalHead::log_prob(logits, actions.to(DType::i32))), lp, 0);
  const std::vector<double> uniform = vals(CategoricalHead::entropy(zeros({3, 6})));
  for (const double h : uniform) CHECK(h == doctest::Approx(std::log(6.0)).epsilon(1e-6));
  CHECK(CategoricalHead::mode(logits).to_vector<int64_t>() == std::vector<int64_t>{1, 1});

  const GradcheckResult r = gradcheck(
      [&](const Vars& v) {
        return concat({CategoricalHead::log_prob(v[0], actions), CategoricalHead::entropy(v[0])});
      },
      {{{2, 4}}});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("CategoricalHead sampling matches the probabilities and is deterministic per seed") {
  const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
  const int64_t n = 20000;
  const Tensor logits = log(tensor({0.1, 0.2, 0.3, 0.4}, {1, 4})).expand({n, 4});
  Generator gen(11);
  const Tensor draws = CategoricalHead::sample(logits, gen);
  CHECK(draws.dtype() == DType::i64);
  CHECK(draws.shape() == Shape{n});
  std::vector<double> count(4, 0);
  for (const int64_t a : draws.to_vector<int64_t>()) {
    REQUIRE((a >= 0 && a < 4));
    count[size_t(a)] += 1;
  }
  double chi2 = 0;
  for (size_t a = 0; a < 4; ++a) {
    const double expected = p[a] * double(n);
    chi2 += (count[a] - expected) * (count[a] - expected) / expected;
    CHECK(count[a] / double(n) == doctest::Approx(p[a]).epsilon(0.1));  // within 10% of each bin
  }
  CHECK(chi2 < 16.27);  // 3 degrees of freedom, p = 0.001
  Generator again(11), other(12);
  CHECK(CategoricalHead::sample(logits, again).to_vector<int64_t>() == draws.to_vector<int64_t>());
  CHECK(CategoricalHead::sample(logits, other).to_vector<int64_t>() != draws.to_vector<int64_t>());
}

TEST_CASE("CategoricalHead errors") {
  const Tensor logits = zeros({3, 4});
  CHECK_THROWS_WITH_AS(CategoricalHead::log_prob(logits, from_vector<int64_t>({0, 1})),
                       "CategoricalHead::log_prob: actions must be i32/i64 [3] for logits of shape [3, 4], got i64 [2]",
                       Error);
  CHECK_THROWS_WITH_AS(CategoricalHead::log_prob(logits, from_vector<int64_t>({0, 4, 1})),
                       "CategoricalHead::log_prob: actions must be in [0, 4), got values in [0, 4]", Error);
  CHECK_THROWS_WITH_AS(CategoricalHead::log_prob(logits, zeros({3})), doctest::Contains("got f32 [3]"), Error);
  Generator gen(0);
  CHECK_THROWS_WITH_AS(CategoricalHead::sample(zeros({4}), gen),
                       "CategoricalHead::sample: expected logits [N, A] with A > 0, got shape [4]", Error);
}

// ---------------------------------------------------------------- tanh Gaussian

namespace {
// The log-density of a = tanh(u) scale + bias straight from its definition, in f64:
// sum_j log N(u_j; m_j, s_j) - log(1 - tanh(u_j)^2) - log scale_j.
double direct_log_prob(const std::vector<double>& u, const std::vector<double>& m, const std::vector<double>& ls,
                       const std::vector<double>& scale) {
  double total = 0;
  for (size_t j = 0; j < u.size(); ++j) {
    const double s = std::exp(ls[j]), z = (u[j] - m[j]) / s, t = std::tanh(u[j]);
    total += -0.5 * z * z - ls[j] - 0.5 * std::log(2 * std::numbers::pi) - std::log(1 - t * t) - std::log(scale[j]);
  }
  return total;
}
std::vector<double> row(const std::vector<double>& v, size_t r, size_t A) {
  return {v.begin() + long(r * A), v.begin() + long((r + 1) * A)};
}
}  // namespace

TEST_CASE("TanhGaussianHead: log_prob equals the squashed density computed directly") {
  const Tensor low = tensor({-2.0, 0.0, -1.0}, {3}, DType::f64), high = tensor({2.0, 1.0, 3.0}, {3}, DType::f64);
  TanhGaussianHead head(low, high);
  const std::vector<double> scale{2.0, 0.5, 2.0}, bias{0.0, 0.5, 1.0};
  Generator gen(13);
  const Tensor mean = uniform({4, 3}, -1, 1, gen, DType::f64), log_std = uniform({4, 3}, -1, 0.5, gen, DType::f64);
  Generator draw(14);
  const auto s = head.rsample(mean, log_std, draw);
  CHECK(s.action.shape() == Shape{4, 3});
  CHECK(s.log_prob.shape() == Shape{4});
  const std::vector<double> u = vals(s.pre_tanh), a = vals(s.action), lp = vals(s.log_prob);
  const std::vector<double> m = vals(mean), ls = vals(log_std);
  // u = mean + std eps with eps the generator's standard normals
  Generator replay(14);
  const std::vector<double> eps = vals(randn({4, 3}, replay, DType::f64));
  for (size_t i = 0; i < u.size(); ++i) {
    CHECK(u[i] == doctest::Approx(m[i] + std::exp(ls[i]) * eps[i]).epsilon(1e-12));
    CHECK(a[i] == doctest::Approx(std::tanh(u[i]) * scale[i % 3] + bias[i % 3]).epsilon(1e-12));
  }
  for (size_t r = 0; r < 4; ++r)
    CHECK(lp[r] == doctest::Approx(direct_log_prob(row(u, r, 3), row(m, r, 3), row(ls, r, 3), scale)).epsilon(1e-10));
  // a shared log_std [A] is the same as repeating it over the rows
  const Tensor shared_ls = tensor({-0.5, 0.2, 0.0}, {3}, DType::f64);
  Generator g1(15), g2(15);
  const auto s1 = head.rsample(mean, shared_ls, g1);
  const auto s2 = head.rsample(mean, shared_ls.view({1, 3}).expand({4, 3}).contiguous(), g2);
  check_close(vals(s1.log_prob), vals(s2.log_prob), 1e-12);
  check_close(vals(s1.action), vals(s2.action), 1e-12);
  // the deterministic action
  const std::vector<double> det = vals(head.deterministic(mean));
  for (size_t i = 0; i < det.size(); ++i)
    CHECK(det[i] == doctest::Approx(std::tanh(m[i]) * scale[i % 3] + bias[i % 3]).epsilon(1e-12));
}

TEST_CASE("TanhGaussianHead: log_prob stays finite where the direct form breaks down") {
  TanhGaussianHead head;  // actions in [-1, 1]
  for (const DType dt : {DType::f64, DType::f32}) {
    const Tensor mean = tensor({30.0, -30.0, 50.0, -400.0}, {1, 4}, dt);
    const Tensor log_std = full({1, 4}, -5.0, dt);
    Generator gen(16);
    const auto s = head.rsample(mean, log_std, gen);
    const std::vector<double> u = vals(s.pre_tanh), a = vals(s.action);
    const double lp = s.log_prob.item();
    CHECK(std::isfinite(lp));
    for (const double x : a) CHECK((x >= -1.0 && x <= 1.0));
    if (dt == DType::f64) {
      // 1 - tanh(u)^2 rounds to 0: the direct form is +inf
      CHECK(std::isinf(direct_log_prob(u, vals(mean), vals(log_std), std::vector<double>(4, 1.0))));
      // log(1 - tanh(u)^2) -> 2 (log 2 - |u|) for large |u|
      Generator replay(16);
      const std::vector<double> eps = vals(randn({1, 4}, replay, DType::f64));
      double want = 0;
      for (size_t j = 0; j < 4; ++j)
        want +=
            -0.5 * eps[j] * eps[j] + 5.0 - 0.5 * std::log(2 * std::numbers::pi) - 2 * (std::log(2.0) - std::fabs(u[j]));
      CHECK(lp == doctest::Approx(want).epsilon(1e-12));
    }
  }
}

TEST_CASE("TanhGaussianHead gradients reach mean and log_std (f64, fixed noise)") {
  const Tensor low = tensor({-1.0, 0.0}, {2}, DType::f64), high = tensor({3.0, 0.5}, {2}, DType::f64);
  TanhGaussianHead head(low, high);
  auto f = [&](const Vars& v) {
    Generator gen(17);  // the same eps on every evaluation
    const auto s = head.rsample(v[0], v[1], gen);
    return concat({flatten(s.action), s.log_prob});
  };
  GradcheckResult r = gradcheck(f, {{{3, 2}, -2, 2}, {{3, 2}, -1.5, 0.5}});
  CHECK_MESSAGE(r.ok, r.message);
  r = gradcheck(f, {{{3, 2}, -2, 2}, {{2}, -1.5, 0.5}});  // shared log_std
  CHECK_MESSAGE(r.ok, r.message);
  TanhGaussianHead soft({.bound = LogStdBound::tanh});
  r = gradcheck(
      [&](const Vars& v) {
        Generator gen(18);
        const auto s = soft.rsample(v[0], v[1], gen);
        return concat({flatten(s.action), s.log_prob});
      },
      {{{2, 3}, -2, 2}, {{2, 3}, -3, 3}});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("TanhGaussianHead: log_std bounds, actions inside the bounds, determinism") {
  const Tensor low = tensor({-2.0, 0.0}, {2}), high = tensor({2.0, 1.0}, {2});
  TanhGaussianHead head(low, high);
  CHECK(head.state_dict().size() == 2);  // action_scale and action_bias buffers
  Generator gen(19);
  const Tensor mean = mul(randn({500, 2}, gen), 20.0f);
  const auto s = head.rsample(mean, full({500, 2}, 2.0), gen);
  const std::vector<double> a = vals(s.action);
  for (size_t i = 0; i < a.size(); ++i) CHECK((a[i] >= (i % 2 ? 0.0 : -2.0) && a[i] <= (i % 2 ? 1.0 : 2.0)));
  for (const double lp : vals(s.log_prob)) CHECK(std::isfinite(lp));

  // clamp: a log_std above log_std_max acts as log_std_max and gets no gradient
  const Var big = Var::leaf(full({3, 2}, 5.0, DType::f64));
  Generator g1(20), g2(20);
  const auto clamped = head.rsample(zeros({3, 2}, DType::f64), big, g1);
  const auto at_max = head.rsample(zeros({3, 2}, DType::f64), full({3, 2}, 2.0, DType::f64), g2);
  check_close(vals(clamped.action), vals(at_max.action), 0);
  sum(clamped.log_prob).backward();
  CHECK(vals(big.grad()) == std::vector<double>(6, 0.0));
  check_close(vals(head.bound_log_std(tensor({-30.0, 0.0, 30.0}))), {-20.0, 0.0, 2.0}, 0);
  // tanh: every log_std lands strictly inside, the midpoint maps to the middle
  TanhGaussianHead soft({.log_std_min = -5, .log_std_max = 2, .bound = LogStdBound::tanh});
  const std::vector<double> b = vals(soft.bound_log_std(tensor({-1e3, 0.0, 1e3}, {3}, DType::f64)));
  check_close(b, {-5.0, -1.5, 2.0}, 1e-12);

  Generator g3(21), g4(21);
  CHECK(vals(head.rsample(mean, zeros({500, 2}), g3).action) == vals(head.rsample(mean, zeros({500, 2}), g4).action));
}

TEST_CASE("TanhGaussianHead errors") {
  CHECK_THROWS_WITH_AS(TanhGaussianHead(tensor({0.0, 1.0}), tensor({1.0, 1.0})),
                       doctest::Contains("TanhGaussianHead: every low must be below its high"), Error);
  CHECK_THROWS_WITH_AS(TanhGaussianHead(tensor({0.0}), tensor({1.0, 2.0})),
                       "TanhGaussianHead: action bounds low and high must both be [A], got shapes [1] and [2]", Error);
  CHECK_THROWS_WITH_AS(TanhGaussianHead({.log_std_min = 2, .log_std_max = -20}),
                       "TanhGaussianHead: log_std_min (2) must be below log_std_max (-20)", Error);
  TanhGaussianHead head(tensor({-1.0, -1.0}), tensor({1.0, 1.0}));
  Generator gen(0);
  CHECK_THROWS_WITH_AS(head.rsample(zeros({4, 2}), zeros({4, 3}), gen),
                       "TanhGaussianHead::rsample: log_std of shape [4, 3] should be [N, A] = [4, 2] or [A] = [2]",
                       Error);
  CHECK_THROWS_WITH_AS(head.rsample(zeros({4, 3}), zeros({4, 3}), gen),
                       "TanhGaussianHead::rsample: mean of shape [4, 3] has 3 action dims, the action bounds have 2",
                       Error);
  CHECK_THROWS_WITH_AS(head.deterministic(zeros({3})),
                       "TanhGaussianHead::deterministic: expected mean [N, A], got shape [3]", Error);
}

TEST_CASE("TanhGaussianHead: to() moves the action bounds, so acting on the device crosses nothing") {
  TanhGaussianHead head(tensor({-2.0, 0.0}, {2}), tensor({2.0, 1.0}, {2}));
  const Tensor mean_cpu = tensor({0.5, -0.3, 0.1, 0.2}, {2, 2});
  const std::vector<double> on_cpu = vals(head.deterministic(mean_cpu));
  head.to(Device::ref);
  for (const auto& [name, t] : head.state_dict()) CHECK_MESSAGE(t.device() == Device::ref, name);
  const Tensor mean = mean_cpu.to(Device::ref), log_std = zeros({2, 2}, DType::f32, Device::ref);
  const TransferCounts before = transfer_counts();
  const Var action = head.deterministic(mean);
  Generator gen(3);
  const TanhGaussianSample sample = head.rsample(mean, log_std, gen);
  CHECK(transfer_counts().from_host == before.from_host);
  CHECK(transfer_counts().to_host == before.to_host);
  check_close(vals(action), on_cpu, 1e-6);
  CHECK(sample.action.device() == Device::ref);
  // load_state_dict copies into the moved buffers, and the head reads what it loaded.
  TanhGaussianHead wide(tensor({-4.0, 0.0}, {2}), tensor({4.0, 1.0}, {2}));
  head.load_state_dict(wide.state_dict());
  check_close(vals(head.deterministic(mean)), vals(wide.deterministic(mean_cpu)), 1e-6);
}

// ---------------------------------------------------------------- deterministic and value heads

TEST_CASE("DeterministicHead: max_action tanh(x)") {
  const DeterministicHead head(2.5);
  const Tensor x = tensor({-100.0, -0.5, 0.0, 0.7, 3.0, 100.0}, {3, 2}, DType::f64);
  const Var a = head(x);
  CHECK(a.shape() == Shape{3, 2});
  const std::vector<double> xs = vals(x), as = vals(a);
  for (size_t i = 0; i < xs.size(); ++i) {
    CHECK(as[i] == doctest::Approx(2.5 * std::tanh(xs[i])).epsilon(1e-14));
    CHECK(std::fabs(as[i]) <= 2.5);
  }
  const GradcheckResult r = gradcheck([&](const Vars& v) { return head(v[0]); }, {{{2, 3}}});
  CHECK_MESSAGE(r.ok, r.message);
  CHECK_THROWS_WITH_AS(DeterministicHead(0.0), "DeterministicHead: max_action must be positive, got 0", Error);
}

TEST_CASE("ValueHead: one value per row, orthogonal init, gradients") {
  Generator gen(22);
  ValueHead v(4, gen, {.dtype = DType::f64});
  const Tensor x = randn({5, 4}, gen, DType::f64);
  const Var y = v(x);
  CHECK(y.shape() == Shape{5});
  const std::vector<double> w = vals(v.layer->weight), xs = vals(x), ys = vals(y);
  const double b = v.layer->bias.item();
  for (size_t n = 0; n < 5; ++n) {
    double want = b;
    for (size_t i = 0; i < 4; ++i) want += xs[n * 4 + i] * w[i];
    CHECK(ys[n] == doctest::Approx(want).epsilon(1e-12));
  }
  CHECK(v(randn({2, 3, 4}, gen, DType::f64)).shape() == Shape{2, 3});
  CHECK(v.named_parameters()[0].first == "layer.weight");
  check_parameter_grads(v, [&] { return project(v(x)); });

  ValueHead orth(6, gen, {.orthogonal_gain = 1.0});
  CHECK(norm(orth.layer->weight.value()).item<float>() == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(orth.layer->bias.item() == 0.0);
  ValueHead orth_small(6, gen, {.orthogonal_gain = 0.01});
  CHECK(norm(orth_small.layer->weight.value()).item<float>() == doctest::Approx(0.01).epsilon(1e-5));

  CHECK_THROWS_WITH_AS(v(randn({5, 3}, gen, DType::f64)), "ValueHead: expected x [.., 4], got shape [5, 3]", Error);
}
