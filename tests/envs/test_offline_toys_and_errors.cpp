// envs/offline_toys and the checks every env shares: the square toy and
// PointMass against their equations by hand, their resets and episode
// lengths; make_env/env_names; and the errors for unknown actions, wrong
// shapes, non-finite values, stepping before reset or after the end; states
// set outside the observation space; MountainCarContinuous inside its box.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "envs/classic_control.h"
#include "envs/env.h"
#include "envs/offline_toys.h"
#include "tensor/error.h"
#include "tests/envs/env_test_util.h"

using namespace gradlab;
using namespace gradlab::envs;
using gradlab::envs::testing::act;
using gradlab::envs::testing::check_close;

TEST_CASE("SquareToy: s' = clip(s + a, -3, 3), reward (x' + y')/sqrt(2), 10-step episodes") {
  SquareToy env;
  env.set_state(0.1, -0.2);
  Step s = env.step({0.5, 0.25});
  check_close(s.obs, {0.6, 0.05}, 1e-15);
  CHECK(s.reward == doctest::Approx(0.65 / std::sqrt(2.0)).epsilon(1e-14));
  s = env.step({1.0, -1.0});
  check_close(s.obs, {1.6, -0.95}, 1e-14);
  CHECK(s.reward == doctest::Approx(0.65 / std::sqrt(2.0)).epsilon(1e-12));
  env.set_state(2.5, -2.8);
  s = env.step({1.0, -1.0});  // both coordinates clipped
  check_close(s.obs, {3.0, -3.0}, 0);
  CHECK(s.reward == doctest::Approx(0.0));
  // the optimal policy (1, 1) from (0, 0): 54/sqrt(2) ~ 38.18 in 10 steps
  env.set_state(0.0, 0.0);
  double ret = 0;
  for (int t = 0; t < 10; ++t) {
    s = env.step({1.0, 1.0});
    ret += s.reward;
    CHECK(!s.terminated);
    CHECK(s.truncated == (t == 9));
  }
  CHECK(ret == doctest::Approx(54.0 / std::sqrt(2.0)).epsilon(1e-12));
  // resets in the band |x + y| < 0.25 inside the square
  for (int i = 0; i < 200; ++i) {
    const auto o = env.reset(uint64_t(i));
    CHECK(std::fabs(o[0] + o[1]) < 0.25);
    CHECK(std::fabs(o[0]) <= 3.0);
    CHECK(std::fabs(o[1]) <= 3.0);
  }
}

TEST_CASE("PointMass: v' = v + dt(5a - v), p' = clip(p + dt v', ±1); run and jump rewards") {
  PointMass run(PointMass::Task::run), jump(PointMass::Task::jump);
  CHECK(run.name() == "PointMass-Run");
  CHECK(jump.name() == "PointMass-Jump");
  for (PointMass* env : {&run, &jump}) env->set_state({0.2, -0.1, 0.3, 0.0});
  // by hand: a = (1, 0.4); vx' = 0.3 + 0.1 (5 - 0.3) = 0.77; vy' = 0 + 0.1 (2 - 0) = 0.2
  // px' = 0.2 + 0.077 = 0.277; py' = -0.1 + 0.02 = -0.08
  Step a = run.step({1.0, 0.4}), b = jump.step({1.0, 0.4});
  check_close(a.obs, {0.277, -0.08, 0.77, 0.2}, 1e-14);
  CHECK(a.obs == b.obs);
  CHECK(a.reward == doctest::Approx(0.5));         // clip(0.77, ±0.5)
  CHECK(b.reward == doctest::Approx(0.5 - 0.24));  // + 3 y'
  // second step with an out-of-range action: clipped to (-1, 1)
  a = run.step({-3.0, 2.0});
  // vx' = 0.77 + 0.1 (-5 - 0.77) = 0.193; vy' = 0.2 + 0.1 (5 - 0.2) = 0.68
  check_close(a.obs, {0.277 + 0.0193, -0.08 + 0.068, 0.193, 0.68}, 1e-14);
  CHECK(a.reward == doctest::Approx(0.193));
  // the position clips at ±1
  run.set_state({0.99, 0.0, 5.0, 0.0});
  a = run.step({1.0, 0.0});
  CHECK(a.obs[0] == 1.0);
  CHECK(PointMass::reward_of(PointMass::Task::jump, {0, 1.0, -2.0, 0}) == doctest::Approx(-0.5 + 3.0));
  // 100-step episodes, never terminated
  run.reset(4);
  Step s;
  for (int t = 0; t < 100; ++t) {
    REQUIRE(!s.done());
    s = run.step({0.1, 0.1});
  }
  CHECK(s.truncated);
  CHECK(!s.terminated);
}

TEST_CASE("make_env builds every listed name, and names the known ones for an unknown one") {
  for (const std::string& name : env_names()) {
    EnvPtr env = make_env(name);
    REQUIRE(env != nullptr);
    CHECK(env->name() == name);
    const auto obs = env->reset(1);
    CHECK(int64_t(obs.size()) == env->observation_space().dim());
    // one step with a valid action
    std::vector<double> a =
        env->action_space().is_discrete() ? act(0) : std::vector<double>(env->action_space().dim(), 0.0);
    const Step s = env->step(a);
    CHECK(int64_t(s.obs.size()) == env->observation_space().dim());
  }
  CHECK(make_env("DeepSea-7")->observation_space().dim() == 49);
  try {
    make_env("CartPole-v0");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("CartPole-v0") != std::string::npos);
    CHECK(msg.find("CartPole-v1") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(make_env("DeepSea-0"),
                       doctest::Contains("make_env: 'DeepSea-0' is not DeepSea-<N> with N in [1, 1000]"), Error);
  CHECK_THROWS_WITH_AS(make_env("DeepSea-x"),
                       doctest::Contains("make_env: 'DeepSea-x' is not DeepSea-<N> with N in [1, 1000]"), Error);
  CHECK(make_env("Pendulum-v1")->action_space().str() == "Box(1)");
  CHECK(make_env("CartPole-v1")->action_space().str() == "Discrete(2)");
}

namespace {
std::string error_of(Env& env, const std::vector<double>& action) {
  try {
    env.step(action);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("every env rejects bad actions with an error naming it") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (const std::string& name : env_names()) {
    EnvPtr env = make_env(name);
    CAPTURE(name);
    CHECK(error_of(*env, env->action_space().is_discrete() ? act(0) : std::vector<double>(env->action_space().dim()))
              .find("before reset") != std::string::npos);
    env->reset(0);
    const Space& space = env->action_space();
    std::vector<std::string> errors;
    if (space.is_discrete()) {
      errors.push_back(error_of(*env, act(int(space.n))));  // unknown action
      errors.push_back(error_of(*env, {-1.0}));             // negative
      errors.push_back(error_of(*env, {0.5}));              // not an integer
      errors.push_back(error_of(*env, {nan}));              // not finite
      errors.push_back(error_of(*env, {0.0, 1.0}));         // two values
      errors.push_back(error_of(*env, {}));                 // none
    } else {
      errors.push_back(error_of(*env, std::vector<double>(space.dim() + 1, 0.0)));  // wrong length
      errors.push_back(error_of(*env, {}));
      std::vector<double> a(space.dim(), 0.0);
      a.back() = nan;
      errors.push_back(error_of(*env, a));
      a.back() = inf;
      errors.push_back(error_of(*env, a));
    }
    for (const std::string& e : errors) {
      CHECK_MESSAGE(e.find(name) != std::string::npos, "error '", e, "' does not name ", name);
    }
    // a valid step still works after the rejected ones
    CHECK_NOTHROW(env->step(space.is_discrete() ? act(0) : std::vector<double>(space.dim(), 0.0)));
  }
}

TEST_CASE("stepping after the episode ended without reset is an error; reset clears it") {
  EnvPtr env = make_env("CartPole-v1");
  env->reset(0);
  Step s;
  int steps = 0;
  while (!s.done()) {
    s = env->step(act(1));
    ++steps;
  }
  CHECK(s.terminated);
  CHECK(steps < 100);
  const std::string e = error_of(*env, act(1));
  CHECK(e.find("CartPole-v1") != std::string::npos);
  CHECK(e.find("after the episode ended") != std::string::npos);
  env->reset();
  CHECK_NOTHROW(env->step(act(1)));
}

TEST_CASE("reset(seed) reproduces whole episodes for every env") {
  for (const std::string& name : env_names()) {
    CAPTURE(name);
    EnvPtr a = make_env(name), b = make_env(name);
    for (int episode = 0; episode < 2; ++episode) {
      const uint64_t seed = 100 + episode;
      CHECK(a->reset(seed) == b->reset(seed));
      const Space& space = a->action_space();
      for (int t = 0; t < 30; ++t) {
        std::vector<double> action = space.is_discrete() ? act(int((t * 7 + 3) % space.n))
                                                         : std::vector<double>(space.dim(), 0.3 - 0.1 * (t % 7));
        const Step sa = a->step(action), sb = b->step(action);
        CHECK(sa.obs == sb.obs);
        CHECK(sa.reward == sb.reward);
        CHECK(sa.terminated == sb.terminated);
        CHECK(sa.truncated == sb.truncated);
        if (sa.done()) break;
      }
    }
  }
}

TEST_CASE("set_state refuses NaN and states outside the observation space, naming the env and coordinate") {
  CartPole cartpole;
  CHECK_THROWS_WITH_AS(cartpole.set_state({0.0, NAN, 0.0, 0.0}),
                       doctest::Contains("CartPole-v1::set_state: observation coordinate 1 would be nan"), Error);
  CHECK_THROWS_WITH_AS(
      cartpole.set_state({5.0, 0.0, 0.0, 0.0}),
      doctest::Contains("CartPole-v1::set_state: observation coordinate 0 would be 5, outside [-4.8, 4.8]"), Error);
  Pendulum pendulum;
  CHECK_THROWS_WITH_AS(pendulum.set_state(0.0, 9.0),
                       doctest::Contains("Pendulum-v1::set_state: observation coordinate 2"), Error);
  CHECK_THROWS_WITH_AS(pendulum.set_state(INFINITY, 0.0), doctest::Contains("Pendulum-v1::set_state"), Error);
  MountainCar car(false);
  CHECK_THROWS_WITH_AS(car.set_state(-1.3, 0.0),
                       doctest::Contains("MountainCar-v0::set_state: observation coordinate 0"), Error);
  Acrobot acrobot;
  CHECK_THROWS_WITH_AS(acrobot.set_state({0.0, 0.0, 100.0, 0.0}),
                       doctest::Contains("Acrobot-v1::set_state: observation coordinate 4"), Error);
  SquareToy toy;
  CHECK_THROWS_WITH_AS(toy.set_state(0.0, 3.5), doctest::Contains("SquareToy::set_state: observation coordinate 1"),
                       Error);
  // A refused state changes nothing: the env is as it was, and a valid state still works.
  pendulum.reset(uint64_t(3));
  CHECK_NOTHROW(pendulum.set_state(1.0, -8.0));
  CHECK_NOTHROW(car.set_state(-1.2, 0.07));
}

TEST_CASE("MountainCarContinuous-v0's float32 observations stay inside its float32 box") {
  MountainCar car(true);
  const Space& box = car.observation_space();
  std::vector<double> obs = car.reset(uint64_t(1));
  // Full throttle left then right: the car reaches the left wall and the top speed, where f32 rounding of the
  // f64 bounds (e.g. 0.07 -> 0.07000000029802322) used to fall outside an f64 box.
  for (int t = 0; t < 999; ++t) {
    const Step s = car.step({t < 60 ? -1.0 : 1.0});
    for (size_t i = 0; i < s.obs.size(); ++i) {
      CHECK(s.obs[i] >= box.low[i]);
      CHECK(s.obs[i] <= box.high[i]);
    }
    if (s.done()) break;
  }
  CHECK(box.high[1] == double(float(0.07)));
}
