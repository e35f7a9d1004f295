// The Optimizer base, through SGD and Adam: the parameter-list checks
// (duplicates, non-leaves, frozen, empty), learning-rate get/set, zero_grad,
// parameters without gradients left alone, and load_state's mismatch errors.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "tests/optim/optim_check.h"

using namespace gradlab;
using namespace optim_test;

TEST_CASE("Optimizer: the parameter list is checked") {
  const Var a = param({1, 2}), b = param({3});
  CHECK_THROWS_WITH_AS(optim::SGD({a, b, a}),
                       "SGD: parameter 2 is the same Var as parameter 0 (each parameter may appear once)", Error);
  CHECK_THROWS_WITH_AS(optim::Adam({b, b}),
                       "Adam: parameter 1 is the same Var as parameter 0 (each parameter may appear once)", Error);
  CHECK_THROWS_WITH_AS(optim::Adam({}), "Adam: got an empty parameter list", Error);
  CHECK_THROWS_WITH_AS(optim::AdamW({a, Var()}), "AdamW: parameter 1 is an undefined Var", Error);
  const Var made = a * 2.0;
  CHECK_THROWS_WITH_AS(optim::SGD({made}), "SGD: parameter 0 (shape [2]) was made by an op; parameters must be leaves",
                       Error);
  const Var frozen(t64({1, 2}));
  CHECK_THROWS_WITH_AS(optim::SGD({a, frozen}),
                       "SGD: parameter 1 (shape [2]) does not require a gradient (pass trainable_parameters())", Error);
  // Two Vars over the same values are distinct parameters (tied weights must be one Var).
  CHECK_NOTHROW(optim::SGD({a, Var::leaf(a.value())}));
}

TEST_CASE("Optimizer: lr get and set, checked") {
  const Var a = param({1});
  optim::Adam opt({a}, {.lr = 0.01});
  CHECK(opt.lr() == 0.01);
  opt.set_lr(0.5);
  CHECK(opt.lr() == 0.5);
  CHECK(opt.options().lr == 0.01);
  CHECK_THROWS_WITH_AS(opt.set_lr(-1), "Adam: lr must be finite and >= 0, got -1", Error);
  CHECK_THROWS_WITH_AS(opt.set_lr(NAN), "Adam: lr must be finite and >= 0, got nan", Error);
  CHECK(opt.lr() == 0.5);
  CHECK(opt.name() == "Adam");
  CHECK(opt.params().size() == 1);
}

TEST_CASE("Optimizer: zero_grad forgets every gradient") {
  const Var a = param({1, 2}), b = param({3});
  optim::SGD opt({a, b}, {.lr = 0.1});
  sum(a * b).backward();
  REQUIRE(a.grad().defined());
  REQUIRE(b.grad().defined());
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("Optimizer: parameters without a gradient are untouched, value and state") {
  for (int which = 0; which < 3; ++which) {
    CAPTURE(which);
    const Var a = param({1, 2}), b = param({3, 4});
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0)
      opt = std::make_unique<optim::SGD>(std::vector<Var>{a, b}, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    if (which == 1)
      opt = std::make_unique<optim::Adam>(std::vector<Var>{a, b}, optim::AdamOptions{.weight_decay = 0.1});
    if (which == 2) opt = std::make_unique<optim::AdamW>(std::vector<Var>{a, b});
    const uint64_t version = b.value().version();
    set_grad(a, {1, 1});
    opt->step();
    opt->step();
    CHECK(a.value().to_vector<double>() != std::vector<double>{1, 2});  // a moved
    check_values(b.value(), {3, 4}, 0, "b");                            // b did not, not even by weight decay
    CHECK(b.value().version() == version);
    for (const auto& [name, t] : opt->state())
      if (name.starts_with("1.")) check_values(t, {0, 0}, 0, name);  // and b's state is still zero
    CHECK(opt->step_count() == 2);
  }
}

TEST_CASE("Optimizer: load_state refuses a state that does not fit, and changes nothing") {
  const Var a = param({1, 2}), b = param({3});
  optim::Adam opt({a, b});
  set_grad(a, {1, 1});
  set_grad(b, {1});
  opt.step();
  const NamedTensors good = opt.state();
  REQUIRE(good.size() == 5);
  CHECK(good[0].first == "0.m");
  CHECK(good[1].first == "0.v");
  CHECK(good[2].first == "1.m");
  CHECK(good[3].first == "1.v");
  CHECK(good[4].first == "step");
  CHECK(good[4].second.dtype() == DType::i64);
  CHECK(good[4].second.item() == 1);

  NamedTensors missing(good.begin(), good.end());
  missing.erase(missing.begin() + 3);
  CHECK_THROWS_WITH_AS(opt.load_state(missing), "Adam: load_state: '1.v' is missing", Error);

  NamedTensors extra = good;
  extra.emplace_back("2.m", t64({0}));
  CHECK_THROWS_WITH_AS(opt.load_state(extra),
                       "Adam: load_state: unexpected '2.m' (2 parameters, 2 state slots each, and 'step')", Error);

  NamedTensors twice = good;
  twice.push_back(good[0]);
  CHECK_THROWS_WITH_AS(opt.load_state(twice), "Adam: load_state: '0.m' appears twice", Error);

  NamedTensors wrong_shape = good;
  wrong_shape[2].second = t64({0, 0});
  CHECK_THROWS_WITH_AS(
      opt.load_state(wrong_shape),
      "Adam: load_state: '1.m' has shape [2] and dtype f64 but parameter 1 needs shape [1] and dtype f64", Error);

  NamedTensors wrong_dtype = good;
  wrong_dtype[0].second = zeros({2}, DType::f32);
  CHECK_THROWS_WITH_AS(
      opt.load_state(wrong_dtype),
      "Adam: load_state: '0.m' has shape [2] and dtype f32 but parameter 0 needs shape [2] and dtype f64", Error);

  NamedTensors bad_step = good;
  bad_step[4].second = scalar(1.5, DType::f64);
  CHECK_THROWS_WITH_AS(opt.load_state(bad_step), "Adam: load_state: 'step' must be one integer, got f64 of shape []",
                       Error);
  bad_step[4].second = scalar(-1, DType::i64);
  CHECK_THROWS_WITH_AS(opt.load_state(bad_step), "Adam: load_state: 'step' must be >= 0, got -1", Error);

  // A failed load left everything as it was, though some names before the bad one matched.
  NamedTensors zeroed = good;
  for (size_t i = 0; i < 4; ++i) zeroed[i].second = zeros_like(good[i].second);
  zeroed[4].second = t64({7});  // bad: not an integer
  CHECK_THROWS_WITH_AS(opt.load_state(zeroed),
                       doctest::Contains("Adam: load_state: 'step' must be one integer, got f64 of shape [1]"), Error);
  const NamedTensors after = opt.state();
  for (size_t i = 0; i < good.size(); ++i)
    CHECK_MESSAGE(after[i].second.to_vector<double>() == good[i].second.to_vector<double>(), good[i].first);
  CHECK(opt.step_count() == 1);
}
