// The fused adam_step_ entry against a naive per-element loop in double written
// here, over one list mixing f32 and f64 parameters of several shapes (an
// empty one and one big enough to be split between threads mid-tensor), for
// Adam and AdamW over several steps; the same bits at 1 and 2 threads; version
// bumps; and the argument errors.
#include <doctest/doctest.h>

#include <cmath>

#include "optim/adam.h"
#include "tensor/optim_kernels.h"
#include "tests/optim/optim_check.h"

using namespace gradlab;
using namespace optim_test;

namespace {

// One parameter's values, moments and the formulas of tensor/optim_kernels.h, element by element.
struct RefParam {
  std::vector<double> p, m, v;
};
void ref_adam(RefParam& r, const std::vector<double>& g, const AdamHyperparams& h) {
  const double bc1 = 1 - std::pow(h.beta1, double(h.step)), bc2 = 1 - std::pow(h.beta2, double(h.step));
  for (size_t i = 0; i < r.p.size(); ++i) {
    double p = r.p[i], gi = g[i];
    if (h.decoupled)
      p -= h.lr * h.weight_decay * p;
    else
      gi += h.weight_decay * p;
    r.m[i] = h.beta1 * r.m[i] + (1 - h.beta1) * gi;
    r.v[i] = h.beta2 * r.v[i] + (1 - h.beta2) * gi * gi;
    const double m_hat = r.m[i] / bc1, v_hat = r.v[i] / bc2;
    r.p[i] = p - h.lr * m_hat / (std::sqrt(v_hat) + h.eps);
  }
}

struct Case {
  Shape shape;
  DType dtype;
};
const std::vector<Case> kCases = {{{3}, DType::f64},        {{4, 5}, DType::f32},    {{0}, DType::f32},
                                  {{}, DType::f64},         {{2, 3, 7}, DType::f64}, {{40001}, DType::f32},
                                  {{250, 201}, DType::f64}, {{17}, DType::f32}};

}  // namespace

TEST_CASE("adam_step_ equals a per-element reference on mixed shapes and dtypes, with threads") {
  const int threads = num_threads();
  set_num_threads(std::max(threads, 2));
  for (const bool decoupled : {false, true}) {
    CAPTURE(decoupled);
    Generator gen(11);
    std::vector<Tensor> p, m, v;
    std::vector<RefParam> ref;
    for (const Case& c : kCases) {
      p.push_back(randn(c.shape, gen, c.dtype));
      m.push_back(zeros(c.shape, c.dtype));
      v.push_back(zeros(c.shape, c.dtype));
      const std::vector<double> p0 = p.back().to_vector<double>();  // the reference starts from the same values
      ref.push_back({p0, std::vector<double>(p0.size(), 0.0), std::vector<double>(p0.size(), 0.0)});
    }
    for (int64_t step = 1; step <= 3; ++step) {
      const AdamHyperparams h{.lr = 0.01 * double(step),
                              .beta1 = 0.85,
                              .beta2 = 0.995,
                              .eps = 1e-6,
                              .weight_decay = 0.05,
                              .decoupled = decoupled,
                              .step = step};
      std::vector<Tensor> g;
      for (size_t i = 0; i < kCases.size(); ++i) {
        g.push_back(randn(kCases[i].shape, gen, kCases[i].dtype) * 3.0);
        ref_adam(ref[i], g.back().to_vector<double>(), h);
      }
      g[1] = g[1].mT().contiguous().mT();  // a strided gradient (same values)
      adam_step_(p, g, m, v, h);
    }
    for (size_t i = 0; i < kCases.size(); ++i) {
      const bool f32 = kCases[i].dtype == DType::f32;
      const double tol = f32 ? 2e-5 : 1e-12;
      check_values(p[i], ref[i].p, tol, fmt::format("p[{}] {}", i, kCases[i].shape));
      check_values(m[i], ref[i].m, tol, fmt::format("m[{}]", i));
      check_values(v[i], ref[i].v, f32 ? 1e-4 : 1e-12, fmt::format("v[{}]", i));
      CHECK(p[i].dtype() == kCases[i].dtype);
    }
  }
  set_num_threads(threads);
}

TEST_CASE("adam_step_ gives the same bits at 1 and 2 threads and bumps versions") {
  const int threads = num_threads();
  auto run = [](int n) {
    set_num_threads(n);
    Generator gen(3);
    std::vector<Tensor> p, g, m, v;
    for (const Case& c : kCases) {
      p.push_back(randn(c.shape, gen, c.dtype));
      g.push_back(randn(c.shape, gen, c.dtype));
      m.push_back(randn(c.shape, gen, c.dtype));
      v.push_back(square(randn(c.shape, gen, c.dtype)));
    }
    const uint64_t version = p[5].version();
    adam_step_(
        p, g, m, v,
        {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01, .decoupled = true, .step = 4});
    CHECK(p[5].version() > version);
    std::vector<std::vector<double>> out;
    for (size_t i = 0; i < p.size(); ++i)
      for (const Tensor* t : {&p[i], &m[i], &v[i]}) out.push_back(t->to_vector<double>());
    return out;
  };
  const auto one = run(1), two = run(std::max(threads, 2));
  set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) CHECK_MESSAGE(one[i] == two[i], "tensor " << i);
}

TEST_CASE("adam_step_ argument errors") {
  const AdamHyperparams h{
      .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0, .decoupled = false, .step = 1};
  const std::vector<Tensor> p = {zeros({2, 3}, DType::f64)}, g = {zeros({2, 3}, DType::f64)};
  const std::vector<Tensor> m = {zeros({2, 3}, DType::f64)}, v = {zeros({2, 3}, DType::f64)};
  CHECK_NOTHROW(adam_step_(p, g, m, v, h));
  CHECK_THROWS_WITH_AS(adam_step_(p, {}, m, v, h), "adam_step: lists of different lengths: 1 params, 0 grads, 1 m, 1 v",
                       Error);
  CHECK_THROWS_WITH_AS(adam_step_(p, std::vector<Tensor>{zeros({3, 2}, DType::f64)}, m, v, h),
                       "adam_step: grads[0] has shape [3, 2] but params[0] has [2, 3]", Error);
  CHECK_THROWS_WITH_AS(adam_step_(p, std::vector<Tensor>{zeros({2, 3})}, m, v, h),
                       "adam_step: grads[0] has dtype f32 but params[0] has f64", Error);
  CHECK_THROWS_WITH_AS(adam_step_(p, g, std::vector<Tensor>{zeros({3, 2}, DType::f64).mT()}, v, h),
                       "adam_step: m[0] of shape [2, 3] must be contiguous (it is written in place)", Error);
  CHECK_THROWS_WITH_AS(adam_step_(p, g, m, p, h), "adam_step: params[0], m[0] and v[0] must not share storage", Error);
  CHECK_THROWS_WITH_AS(adam_step_(std::vector<Tensor>{zeros({2, 3}, DType::i64)}, g, m, v, h),
                       "adam_step: params[0] must be f32 or f64, got i64", Error);
  CHECK_THROWS_WITH_AS(adam_step_(std::vector<Tensor>{zeros({3, 2}, DType::f64).mT()}, g, m, v, h),
                       "adam_step: params[0] of shape [2, 3] must be contiguous (it is written in place)", Error);
  AdamHyperparams bad = h;
  bad.step = 0;
  CHECK_THROWS_WITH_AS(adam_step_(p, g, m, v, bad),
                       "adam_step: step must be >= 1 (the bias corrections divide by 1 - beta^step), got 0", Error);
  bad = h;
  bad.beta2 = 1;
  CHECK_THROWS_WITH_AS(adam_step_(p, g, m, v, bad), "adam_step: beta2 must be in [0, 1), got 1", Error);
  bad = h;
  bad.lr = -1;
  CHECK_THROWS_WITH_AS(adam_step_(p, g, m, v, bad), "adam_step: lr must be finite and >= 0, got -1", Error);
  bad = h;
  bad.eps = NAN;
  CHECK_THROWS_WITH_AS(adam_step_(p, g, m, v, bad), "adam_step: eps must be finite and >= 0, got nan", Error);
  bad = h;
  bad.weight_decay = -0.5;
  CHECK_THROWS_WITH_AS(adam_step_(p, g, m, v, bad), "adam_step: weight_decay must be finite and >= 0, got -0.5", Error);
  CHECK_NOTHROW(adam_step_({}, {}, {}, {}, h));  // nothing to do
}
