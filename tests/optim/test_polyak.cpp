// polyak_update on values worked by hand: the blend, tau 0 and 1, the source
// left alone, no graph recorded, the EMA reading of it, and the list checks.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "optim/polyak.h"
#include "tests/optim/optim_check.h"

using namespace gradlab;
using namespace optim_test;

TEST_CASE("polyak_update: target = (1 - tau) target + tau source") {
  const Var t1 = param({1, 2}), t2 = Var(tensor({4}));  // a target may be a constant (a frozen target network)
  const Var s1 = param({3, -2}), s2 = Var(tensor({0}));
  const uint64_t version = t1.value().version();
  optim::polyak_update({t1, t2}, {s1, s2}, 0.25);
  check_values(t1.value(), {1.5, 1.0}, 1e-15);  // [0.75 * 1 + 0.25 * 3, 0.75 * 2 + 0.25 * -2]
  check_values(t2.value(), {3}, 1e-6);          // 0.75 * 4 (f32)
  check_values(s1.value(), {3, -2}, 0);
  CHECK(t1.value().version() > version);
  CHECK(t1.is_leaf());
  CHECK_FALSE(t1.grad().defined());
  optim::polyak_update({t1}, {s1}, 0);
  check_values(t1.value(), {1.5, 1.0}, 0);
  optim::polyak_update({t1}, {s1}, 1);
  check_values(t1.value(), {3, -2}, 0);
}

TEST_CASE("polyak_update is an EMA: decay 0.5 over a source that changes") {
  const Var ema = param({0}), w = param({0});
  const double seq[] = {4, 8, 2};
  for (double x : seq) {
    Tensor(w.value()).fill_(x);
    optim::polyak_update({ema}, {w}, 1 - 0.5);
  }
  // 0.5 * 0 + 0.5 * 4 = 2; 0.5 * 2 + 0.5 * 8 = 5; 0.5 * 5 + 0.5 * 2 = 3.5
  check_values(ema.value(), {3.5}, 0);
}

TEST_CASE("polyak_update: the lists must pair up, tau in [0, 1]") {
  const Var a = param({1, 2}), b = param({3, 4}), c = param({1, 2, 3});
  CHECK_THROWS_WITH_AS(optim::polyak_update({a, b}, {a}, 0.1),
                       "polyak_update: 2 target parameters but 1 source parameters", Error);
  CHECK_THROWS_WITH_AS(optim::polyak_update({a, b}, {b, c}, 0.1),
                       "polyak_update: parameter 1: target shape [2] but source shape [3]", Error);
  CHECK_THROWS_WITH_AS(optim::polyak_update({a}, {Var::leaf(tensor({1, 2}))}, 0.1),
                       "polyak_update: parameter 0: target dtype f64 but source dtype f32", Error);
  CHECK_THROWS_WITH_AS(optim::polyak_update({a}, {b}, 1.5), "polyak_update: tau must be in [0, 1], got 1.5", Error);
  CHECK_THROWS_WITH_AS(optim::polyak_update({a}, {b}, -0.1), "polyak_update: tau must be in [0, 1], got -0.1", Error);
  CHECK_THROWS_WITH_AS(optim::polyak_update({a}, {Var()}, 0.5), "polyak_update: parameter 0 is an undefined Var",
                       Error);
  // Nothing changed by a refused update, even where the first pair was fine.
  CHECK_THROWS_WITH_AS(optim::polyak_update({a, b}, {b, c}, 0.5),
                       doctest::Contains("polyak_update: parameter 1: target shape [2] but source shape [3]"), Error);
  check_values(a.value(), {1, 2}, 0);
}
