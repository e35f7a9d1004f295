// Learning-rate schedules at chosen steps, each value worked out from the
// formula in optim/schedule.h; one driving an optimiser's lr; and the bad
// arguments.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "optim/schedule.h"
#include "optim/sgd.h"
#include "tests/optim/optim_check.h"

using namespace gradlab;
using namespace optim_test;
using doctest::Approx;

TEST_CASE("ConstantSchedule and LinearWarmup") {
  const optim::ConstantSchedule constant;
  CHECK(constant(0) == 1);
  CHECK(constant(123456) == 1);
  const optim::LinearWarmup warm(4);
  CHECK(warm(0) == 0.25);  // (0 + 1) / 4
  CHECK(warm(1) == 0.5);   // (1 + 1) / 4
  CHECK(warm(3) == 1);     // (3 + 1) / 4
  CHECK(warm(4) == 1);
  CHECK(warm(1000) == 1);
  CHECK(optim::LinearWarmup(0)(0) == 1);  // no warm-up
}

TEST_CASE("CosineWithWarmup: ramp, half-cosine to the floor, then the floor") {
  const optim::CosineWithWarmup cos(2, 10, 0.1);
  CHECK(cos(0) == 0.5);  // warm-up (0 + 1) / 2
  CHECK(cos(1) == 1);    // (1 + 1) / 2
  CHECK(cos(2) == 1);    // p = 0: 0.1 + 0.9 (1 + cos 0) / 2
  // p = (4 - 2) / 8 = 0.25: 0.1 + 0.9 (1 + cos(pi / 4)) / 2 = 0.1 + 0.45 * 1.70710678 = 0.86819805
  CHECK(cos(4) == Approx(0.1 + 0.45 * (1 + std::sqrt(0.5))).epsilon(1e-14));
  CHECK(cos(4) == Approx(0.86819805).epsilon(1e-8));
  CHECK(cos(6) == Approx(0.55).epsilon(1e-14));  // p = 0.5: 0.1 + 0.9 * 0.5
  CHECK(cos(10) == Approx(0.1).epsilon(1e-14));  // p = 1: the floor
  CHECK(cos(500) == Approx(0.1).epsilon(1e-14));
  const optim::CosineWithWarmup to_zero(0, 4);
  CHECK(to_zero(0) == 1);
  CHECK(to_zero(2) == Approx(0.5).epsilon(1e-14));  // (1 + cos(pi / 2)) / 2
  CHECK(std::abs(to_zero(4)) < 1e-16);
}

TEST_CASE("LinearDecay: a straight line to end_ratio, with an optional warm-up") {
  const optim::LinearDecay decay(10);
  CHECK(decay(0) == 1);
  CHECK(decay(5) == 0.5);  // 1 + (0 - 1) * 5 / 10
  CHECK(decay(10) == 0);
  CHECK(decay(20) == 0);
  const optim::LinearDecay warm(12, 0.2, 2);
  CHECK(warm(0) == 0.5);                         // warm-up (0 + 1) / 2
  CHECK(warm(2) == 1);                           // p = 0
  CHECK(warm(7) == Approx(0.6).epsilon(1e-14));  // p = 5 / 10: 1 - 0.8 * 0.5
  CHECK(warm(12) == Approx(0.2).epsilon(1e-14));
  CHECK(warm(99) == Approx(0.2).epsilon(1e-14));
}

TEST_CASE("a schedule drives an optimiser's lr through set_lr") {
  const Var p = param({0});
  optim::SGD opt({p}, {.lr = 1});
  const optim::Schedule schedule = optim::LinearDecay(4, 0.0);
  std::vector<double> lrs;
  for (int s = 0; s < 5; ++s) {
    opt.set_lr(2.0 * schedule(opt.step_count()));
    lrs.push_back(opt.lr());
    set_grad(p, {1});
    opt.step();
  }
  CHECK(lrs == std::vector<double>{2, 1.5, 1, 0.5, 0});
  check_values(p.value(), {-5}, 1e-15);  // -(2 + 1.5 + 1 + 0.5 + 0)
}

TEST_CASE("schedules: bad arguments") {
  CHECK_THROWS_WITH_AS(optim::LinearWarmup(-1), "LinearWarmup: warmup_steps must be >= 0, got -1", Error);
  CHECK_THROWS_WITH_AS(optim::CosineWithWarmup(5, 5),
                       "CosineWithWarmup: total_steps (5) must be greater than warmup_steps (5)", Error);
  CHECK_THROWS_WITH_AS(optim::CosineWithWarmup(-2, 5), "CosineWithWarmup: warmup_steps must be >= 0, got -2", Error);
  CHECK_THROWS_WITH_AS(optim::CosineWithWarmup(0, 5, 1.5), "CosineWithWarmup: floor_ratio must be in [0, 1], got 1.5",
                       Error);
  CHECK_THROWS_WITH_AS(optim::LinearDecay(0), "LinearDecay: total_steps (0) must be greater than warmup_steps (0)",
                       Error);
  CHECK_THROWS_WITH_AS(optim::LinearDecay(10, -0.1), "LinearDecay: end_ratio must be finite and >= 0, got -0.1", Error);
  CHECK_THROWS_WITH_AS(optim::LinearWarmup(3)(-1), "LinearWarmup: step must be >= 0, got -1", Error);
  CHECK_THROWS_WITH_AS(optim::CosineWithWarmup(0, 3)(-4), "CosineWithWarmup: step must be >= 0, got -4", Error);
  CHECK_THROWS_WITH_AS(optim::ConstantSchedule()(-1), "ConstantSchedule: step must be >= 0, got -1", Error);
}
