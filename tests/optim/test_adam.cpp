// Adam and AdamW against steps worked by hand on a 2-element f64 parameter
// (lr 0.1, betas 0.9 and 0.999): plain, L2 weight decay, decoupled weight
// decay and their difference; the bias-corrected first step moving each
// coordinate by lr sign(g); a state save/load round trip that continues
// bit for bit; the option errors; and Adam minimising a quadratic.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "optim/adam.h"
#include "optim/schedule.h"
#include "tests/optim/optim_check.h"

using namespace gradlab;
using namespace optim_test;

// Shared by the two-step cases: p0 = [1, -2], g1 = [0.5, -1], g2 = [0.5, 1].
// Without weight decay:
//   step 1: m1 = 0.1 g1 = [0.05, -0.1]; v1 = 0.001 g1^2 = [0.00025, 0.001]
//           m_hat = m1 / 0.1 = g1; v_hat = v1 / 0.001 = g1^2; so p moves by 0.1 g1 / |g1| = [0.1, -0.1]
//   step 2: m2 = 0.9 m1 + 0.1 g2 = [0.045 + 0.05, -0.09 + 0.1] = [0.095, 0.01]
//           v2 = 0.999 v1 + 0.001 g2^2 = [0.00024975 + 0.00025, 0.000999 + 0.001] = [0.00049975, 0.001999]
//           bias corrections 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999
//           m_hat = [0.5, 0.01 / 0.19 = 0.0526315789...]; v_hat = [0.00049975 / 0.001999, 1] = [0.25, 1]
//           p moves by 0.1 m_hat / sqrt(v_hat) = [0.1 * 0.5 / 0.5, 0.1 * 0.0526315789] = [0.1, 0.00526315789...]
// eps = 1e-8 shifts each result by under 1e-8.

TEST_CASE("Adam: two steps by hand") {
  const Var p = param({1, -2});
  optim::Adam opt({p}, {.lr = 0.1});
  set_grad(p, {0.5, -1});
  opt.step();
  check_values(p.value(), {0.9, -1.9}, 1e-8, "step 1");
  set_grad(p, {0.5, 1});
  opt.step();
  check_values(p.value(), {0.8, -1.9 - 0.1 / 19}, 1e-8, "step 2");
  const auto state = opt.state();
  check_values(state[0].second, {0.095, 0.01}, 1e-15, "m");
  check_values(state[1].second, {0.00049975, 0.001999}, 1e-15, "v");
  CHECK(state[2].second.item() == 2);
}

TEST_CASE("Adam: L2 weight decay enters the moments") {
  const Var p = param({1, -2});
  optim::Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  set_grad(p, {0.5, -1});
  opt.step();
  // g' = g + 0.1 p0 = [0.6, -1.2]: the first step still moves by 0.1 sign(g') = [0.1, -0.1]
  check_values(p.value(), {0.9, -1.9}, 1e-8, "step 1");
  set_grad(p, {0.5, 1});
  opt.step();
  // g' = g2 + 0.1 p1 = [0.5 + 0.09, 1 - 0.19] = [0.59, 0.81]
  // m2 = 0.9 [0.06, -0.12] + 0.1 [0.59, 0.81] = [0.113, -0.027]
  // v2 = 0.999 [0.00036, 0.00144] + 0.001 [0.3481, 0.6561] = [0.00070774, 0.00209466]
  // m_hat = m2 / 0.19 = [0.5947368421, -0.1421052632]; v_hat = v2 / 0.001999 = [0.3540470235, 1.0478539270]
  // p2 = p1 - 0.1 m_hat / sqrt(v_hat) = [0.9 - 0.0999526612, -1.9 + 0.0138822476]
  check_values(p.value(), {0.8000473388, -1.8861177524}, 1e-8, "step 2");
}

TEST_CASE("AdamW: decoupled weight decay shrinks p by lr wd p before the Adam step") {
  const Var p = param({1, -2});
  optim::AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  set_grad(p, {0.5, -1});
  opt.step();
  // p0 (1 - 0.1 * 0.1) = [0.99, -1.98], then the Adam move [0.1, -0.1]
  check_values(p.value(), {0.89, -1.88}, 1e-8, "step 1");
  set_grad(p, {0.5, 1});
  opt.step();
  // p1 * 0.99 = [0.8811, -1.8612], then the Adam move [0.1, 0.00526315789] (decay kept out of the moments)
  check_values(p.value(), {0.7811, -1.8612 - 0.1 / 19}, 1e-8, "step 2");
  CHECK(opt.name() == "AdamW");
  CHECK(optim::AdamW({Var::leaf(t64({1}))}).options().weight_decay == 0.01);  // AdamW's default, as in PyTorch
}

TEST_CASE("Adam vs AdamW: with a zero gradient, L2 decay moves a full lr, decoupled decay lr wd p") {
  const Var a = param({1, -2}), w = param({1, -2});
  optim::Adam adam({a}, {.lr = 0.1, .weight_decay = 0.1});
  optim::AdamW adamw({w}, {.lr = 0.1, .weight_decay = 0.1});
  set_grad(a, {0, 0});
  set_grad(w, {0, 0});
  adam.step();
  adamw.step();
  // Adam: g' = 0.1 p = [0.1, -0.2] is normalised by sqrt(v_hat) = |g'|: p moves by 0.1 sign(p)
  check_values(a.value(), {0.9, -1.9}, 1e-8, "Adam");
  // AdamW: p (1 - 0.01) = [0.99, -1.98]; m = v = 0, so the Adam part moves nothing
  check_values(w.value(), {0.99, -1.98}, 1e-15, "AdamW");
}

TEST_CASE("Adam: bias correction makes the first step lr sign(g) whatever the gradient's scale") {
  const Tensor g = t64({1e-3, -50, 7, -0.2, 1e4, -3e-2});
  const Var p = Var::leaf(zeros({6}, DType::f64));
  optim::Adam opt({p}, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99});
  p.set_grad(g);
  opt.step();
  // m_hat = g and v_hat = g^2 at t = 1, so the move is lr g / (|g| + eps)
  check_values(p.value(), {-0.01, 0.01, -0.01, 0.01, -0.01, 0.01}, 0.01 * 1e-4);
}

TEST_CASE("Adam: state() and load_state() continue a run bit for bit") {
  Generator gen(7);
  const Tensor w0 = randn({3, 4}, gen, DType::f32), b0 = randn({5}, gen, DType::f64);
  std::vector<std::vector<Tensor>> grads;  // per step: the gradients of w and b
  for (int s = 0; s < 5; ++s) grads.push_back({randn({3, 4}, gen, DType::f32), randn({5}, gen, DType::f64)});
  auto run = [&](optim::Optimizer& opt, int from, int to) {
    for (int s = from; s < to; ++s) {
      opt.params()[0].set_grad(grads[size_t(s)][0].clone());
      opt.params()[1].set_grad(grads[size_t(s)][1].clone());
      opt.step();
    }
  };
  const Var w = Var::leaf(w0.clone()), b = Var::leaf(b0.clone());
  optim::AdamW first({w, b}, {.lr = 0.05, .weight_decay = 0.1});
  run(first, 0, 3);
  const NamedTensors saved = first.state();
  const Tensor w3 = w.value().clone(), b3 = b.value().clone();
  run(first, 3, 5);

  // A fresh optimiser on parameters restored to step 3 continues identically.
  const Var w_copy = Var::leaf(w3), b_copy = Var::leaf(b3);
  optim::AdamW second({w_copy, b_copy}, {.lr = 0.05, .weight_decay = 0.1});
  second.load_state(saved);
  CHECK(second.step_count() == 3);
  run(second, 3, 5);
  CHECK(w_copy.value().to_vector<float>() == w.value().to_vector<float>());
  CHECK(b_copy.value().to_vector<double>() == b.value().to_vector<double>());
  const NamedTensors s1 = first.state(), s2 = second.state();
  for (size_t i = 0; i < s1.size(); ++i)
    CHECK_MESSAGE(s1[i].second.to_vector<double>() == s2[i].second.to_vector<double>(), s1[i].first);
  // state() is a snapshot: later steps did not change what was saved.
  CHECK(saved.back().second.item() == 3);
  CHECK(saved[0].second.to_vector<float>() != s1[0].second.to_vector<float>());
}

TEST_CASE("Adam: option errors") {
  const Var p = param({1, 2});
  CHECK_THROWS_WITH_AS(optim::Adam({p}, {.beta1 = 1.0}), "Adam: beta1 must be in [0, 1), got 1", Error);
  CHECK_THROWS_WITH_AS(optim::Adam({p}, {.beta1 = -0.1}), "Adam: beta1 must be in [0, 1), got -0.1", Error);
  CHECK_THROWS_WITH_AS(optim::AdamW({p}, {.beta2 = 1.5}), "AdamW: beta2 must be in [0, 1), got 1.5", Error);
  CHECK_THROWS_WITH_AS(optim::Adam({p}, {.eps = -1e-8}), "Adam: eps must be finite and >= 0, got -1e-08", Error);
  CHECK_THROWS_WITH_AS(optim::AdamW({p}, {.weight_decay = -0.01}),
                       "AdamW: weight_decay must be finite and >= 0, got -0.01", Error);
  CHECK_THROWS_WITH_AS(optim::Adam({p}, {.lr = INFINITY}), "Adam: lr must be finite and >= 0, got inf", Error);
  const Var view = Var::leaf(t64({1, 2, 3, 4}).view({2, 2}).mT());
  CHECK_THROWS_WITH_AS(
      optim::Adam({view}),
      "Adam: parameter 0 of shape [2, 2] is a non-contiguous view; the fused step needs contiguous parameters", Error);
  optim::Adam opt({p});
  p.set_grad(tensor({1, 1}));  // f32 gradient on an f64 parameter
  CHECK_THROWS_WITH_AS(opt.step(), "Adam: parameter 0 has dtype f64 but its gradient has f32", Error);
  CHECK(opt.step_count() == 0);
}

TEST_CASE("Adam minimises a quadratic to within 1e-6") {
  // loss = sum c (x - t)^2 with curvatures two decades apart; a cosine
  // schedule lets the steps shrink so that Adam settles instead of hovering.
  const Tensor c = t64({1, 10, 0.1}), t = t64({3, -1, 0.5});
  const Var x = Var::leaf(zeros({3}, DType::f64));
  optim::Adam opt({x}, {.lr = 0.1});
  const optim::CosineWithWarmup schedule(0, 3000);
  for (int s = 0; s < 3000; ++s) {
    opt.set_lr(0.1 * schedule(opt.step_count()));
    opt.zero_grad();
    sum(c * square(x - t)).backward();
    opt.step();
  }
  check_values(x.value(), {3, -1, 0.5}, 1e-6);
}
