// SGD against steps worked by hand on a 2-element f64 parameter: plain,
// momentum, Nesterov, L2 weight decay alone and with momentum; a real backward
// pass feeding it; and the option errors.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "optim/sgd.h"
#include "tests/optim/optim_check.h"

using namespace gradlab;
using namespace optim_test;

TEST_CASE("SGD: a plain step is p - lr g") {
  const Var p = param({1, -2});
  optim::SGD opt({p}, {.lr = 0.1});
  set_grad(p, {0.5, -1});
  opt.step();
  check_values(p.value(), {0.95, -1.9}, 1e-15);  // [1 - 0.1 * 0.5, -2 - 0.1 * -1]
  CHECK(opt.step_count() == 1);
}

TEST_CASE("SGD: momentum 0.9 over three steps") {
  const Var p = param({1, -2});
  optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  set_grad(p, {1, 2});
  opt.step();
  // b1 = g1 = [1, 2]; p1 = [1 - 0.1, -2 - 0.2]
  check_values(p.value(), {0.9, -2.2}, 1e-14, "step 1");
  set_grad(p, {0.5, -1});
  opt.step();
  // b2 = 0.9 [1, 2] + [0.5, -1] = [1.4, 0.8]; p2 = [0.9 - 0.14, -2.2 - 0.08]
  check_values(p.value(), {0.76, -2.28}, 1e-14, "step 2");
  set_grad(p, {0, 1});
  opt.step();
  // b3 = 0.9 [1.4, 0.8] + [0, 1] = [1.26, 1.72]; p3 = [0.76 - 0.126, -2.28 - 0.172]
  check_values(p.value(), {0.634, -2.452}, 1e-14, "step 3");
  const auto state = opt.state();
  REQUIRE(state.size() == 2);
  CHECK(state[0].first == "0.momentum");
  check_values(state[0].second, {1.26, 1.72}, 1e-14, "momentum buffer");
}

TEST_CASE("SGD: Nesterov momentum steps along g + mu b") {
  const Var p = param({1, -2});
  optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  set_grad(p, {1, 2});
  opt.step();
  // b1 = [1, 2]; d1 = g1 + 0.9 b1 = [1.9, 3.8]; p1 = [1 - 0.19, -2 - 0.38]
  check_values(p.value(), {0.81, -2.38}, 1e-14, "step 1");
  set_grad(p, {0.5, -1});
  opt.step();
  // b2 = [1.4, 0.8]; d2 = [0.5 + 1.26, -1 + 0.72] = [1.76, -0.28]; p2 = [0.81 - 0.176, -2.38 + 0.028]
  check_values(p.value(), {0.634, -2.352}, 1e-14, "step 2");
}

TEST_CASE("SGD: L2 weight decay adds wd p to the gradient") {
  const Var p = param({1, -2});
  optim::SGD opt({p}, {.lr = 0.1, .weight_decay = 0.1});
  set_grad(p, {0.5, -1});
  opt.step();
  // g' = [0.5 + 0.1, -1 - 0.2] = [0.6, -1.2]; p1 = [1 - 0.06, -2 + 0.12]
  check_values(p.value(), {0.94, -1.88}, 1e-14, "step 1");
  set_grad(p, {0.5, -1});
  opt.step();
  // g' = [0.5 + 0.094, -1 - 0.188] = [0.594, -1.188]; p2 = [0.94 - 0.0594, -1.88 + 0.1188]
  check_values(p.value(), {0.8806, -1.7612}, 1e-14, "step 2");
}

TEST_CASE("SGD: weight decay goes into the momentum buffer") {
  const Var p = param({1, -2});
  optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.5, .weight_decay = 0.1});
  set_grad(p, {0.5, -1});
  opt.step();
  // g' = [0.6, -1.2] = b1; p1 = [0.94, -1.88]
  check_values(p.value(), {0.94, -1.88}, 1e-14, "step 1");
  set_grad(p, {0.5, -1});
  opt.step();
  // g' = [0.594, -1.188]; b2 = 0.5 [0.6, -1.2] + g' = [0.894, -1.788]; p2 = [0.94 - 0.0894, -1.88 + 0.1788]
  check_values(p.value(), {0.8506, -1.7012}, 1e-14, "step 2");
}

TEST_CASE("SGD: a backward pass feeds it, and f32 parameters work") {
  const Var w = Var::leaf(tensor({1, 2, 3}));  // f32
  optim::SGD opt({w}, {.lr = 0.25});
  sum(square(w)).backward();  // g = 2 w = [2, 4, 6]
  const uint64_t version = w.value().version();
  opt.step();
  check_values(w.value(), {0.5, 1, 1.5}, 1e-7);  // w - 0.25 * 2 w = w / 2
  CHECK(w.value().version() > version);
  CHECK(w.value().dtype() == DType::f32);
}

TEST_CASE("SGD: option errors") {
  const Var p = param({1, 2});
  CHECK_THROWS_WITH_AS(optim::SGD({p}, {.lr = 0.1, .momentum = -0.5}),
                       "SGD: momentum must be finite and >= 0, got -0.5", Error);
  CHECK_THROWS_WITH_AS(optim::SGD({p}, {.lr = 0.1, .weight_decay = -1}),
                       "SGD: weight_decay must be finite and >= 0, got -1", Error);
  CHECK_THROWS_WITH_AS(optim::SGD({p}, {.lr = 0.1, .nesterov = true}),
                       "SGD: nesterov needs momentum > 0, got momentum 0", Error);
  CHECK_THROWS_WITH_AS(optim::SGD({p}, {.lr = -0.1}), "SGD: lr must be finite and >= 0, got -0.1", Error);
  // A gradient of another dtype (set_grad checks only the shape) is refused before anything changes.
  const Var q = param({3, 4});
  optim::SGD opt({q, p}, {.lr = 0.1});
  set_grad(q, {1, 1});
  p.set_grad(tensor({1, 1}));  // f32
  CHECK_THROWS_WITH_AS(opt.step(), "SGD: parameter 1 has dtype f64 but its gradient has f32", Error);
  check_values(q.value(), {3, 4}, 0);
  CHECK(opt.step_count() == 0);
}
