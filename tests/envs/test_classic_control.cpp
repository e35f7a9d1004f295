// envs/classic_control: CartPole-v1, Pendulum-v1, Acrobot-v1, MountainCar-v0
// and MountainCarContinuous-v0 against trajectories of the same equations
// written independently in numpy (tests/envs/reference_trajectories.py, whose
// output is pasted below), their termination and truncation rules, Pendulum's
// floor-mod angle normalisation, and the float32 rounding of the continuous
// mountain car.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "envs/classic_control.h"
#include "envs/env.h"
#include "tests/envs/env_test_util.h"

using namespace gradlab;
using namespace gradlab::envs;
using gradlab::envs::testing::act;
using gradlab::envs::testing::check_close;

TEST_CASE("CartPole-v1 follows the explicit-Euler equations step by step") {
  CartPole env;
  env.set_state({0.01, -0.02, 0.03, 0.04});
  const int actions[] = {1, 1, 0, 1, 0};
  const std::vector<std::vector<double>> want = {
      {0.009600000000000001, 0.17467919574755525, 0.030799999999999998, -0.2430687179600081},
      {0.013093583914951107, 0.3693479760579556, 0.025938625640799837, -0.5258796280501483},
      {0.02048054343611022, 0.17387081260481596, 0.01542103307979687, -0.22513741609237464},
      {0.02395795968820654, 0.3687690101747617, 0.010918284757949377, -0.5129163478026587},
      {0.03133333989170178, 0.17349499275068458, 0.0006599578018962032, -0.21681286835696195}};
  for (int t = 0; t < 5; ++t) {
    const Step s = env.step(act(actions[t]));
    check_close(s.obs, want[t], 1e-9);
    CHECK(s.reward == 1.0);
    CHECK(!s.done());
  }
}

TEST_CASE("CartPole-v1 terminates on the updated state, rewards that step, truncates at 500") {
  CartPole env;
  // x = 2.399 with x_dot = 0.1: x' = 2.401 > 2.4 after one step.
  env.set_state({2.399, 0.1, 0.0, 0.0});
  Step s = env.step(act(1));
  CHECK(s.terminated);
  CHECK(!s.truncated);
  CHECK(s.reward == 1.0);
  // theta = 12 degrees exactly is not yet out; theta_dot pushes it over.
  env.set_state({0, 0, CartPole::theta_threshold, 0});
  CHECK(env.step(act(0)).terminated == false);  // theta' = theta + tau * 0 = threshold, not > it
  CHECK(env.step(act(0)).terminated == true);   // pushing left made theta_dot > 0
  // Truncation: a short limit makes it visible without balancing 500 steps.
  CartPole short_env(3);
  short_env.set_state({0, 0, 0, 0});
  CHECK(!short_env.step(act(0)).truncated);
  CHECK(!short_env.step(act(1)).truncated);
  s = short_env.step(act(0));
  CHECK(s.truncated);
  CHECK(!s.terminated);
  CHECK(CartPole().max_episode_steps() == 500);
}

TEST_CASE("CartPole-v1 resets to U(±0.05)^4 and is reproducible from a seed") {
  CartPole a, b;
  const auto oa = a.reset(7), ob = b.reset(7);
  CHECK(oa == ob);
  for (double v : oa) CHECK(std::fabs(v) <= 0.05);
  const auto oc = a.reset();  // no seed: the generator continues
  CHECK(oc != oa);
  CHECK(a.reset(7) == oa);
  // the same actions give the same trajectory
  for (int t = 0; t < 10; ++t) CHECK(a.step(act(t % 2)).obs == b.step(act(t % 2)).obs);
}

TEST_CASE("Pendulum-v1 follows its equations with the torque clipped and the cost on the old state") {
  Pendulum env;
  env.set_state(3.0, -0.5);
  const double actions[] = {1.5, -3.0, 0.25, 2.0, 0.0};
  // (cos, sin, theta_dot, reward)
  const std::vector<std::vector<double>> want = {
      {-0.9887635071348782, 0.1494882167875972, -0.16915999395509962, -9.02725},
      {-0.9859374009536194, 0.16711505438117166, -0.35704383136440176, -8.956185049927841},
      {-0.9842681939156035, 0.1766808491209953, -0.194207540578523, -8.855641608320138},
      {-0.9863034558723079, 0.16494087708734417, 0.23830309626222348, -8.792945728452635},
      {-0.9891272300837755, 0.14706230892651503, 0.3620087540777316, -8.861627426637206}};
  for (int t = 0; t < 5; ++t) {
    const Step s = env.step({actions[t]});
    std::vector<double> got = s.obs;
    got.push_back(s.reward);
    check_close(got, want[t], 1e-9);
    CHECK(!s.done());
  }
  // the state's angle is never wrapped
  env.set_state(3.1, 8.0);
  env.step({2.0});
  CHECK(env.theta() > std::numbers::pi);
}

TEST_CASE("Pendulum-v1 angle normalisation uses a floor mod into [-pi, pi)") {
  const double pi = std::numbers::pi;
  CHECK(Pendulum::normalize_angle(-7.0) == doctest::Approx(-0.7168146928204138).epsilon(1e-12));
  CHECK(Pendulum::normalize_angle(-pi) == doctest::Approx(-pi).epsilon(1e-15));
  CHECK(Pendulum::normalize_angle(pi) == doctest::Approx(-pi).epsilon(1e-15));  // pi maps to -pi
  CHECK(Pendulum::normalize_angle(4.0) == doctest::Approx(-2.2831853071795862).epsilon(1e-12));
  CHECK(Pendulum::normalize_angle(10.0) == doctest::Approx(-2.5663706143591725).epsilon(1e-12));
  // std::fmod would leave -7 + pi + 2pi... in the wrong half; the floor mod never does
  for (double th = -20; th <= 20; th += 0.37) {
    const double n = Pendulum::normalize_angle(th);
    CHECK(n >= -pi);
    CHECK(n < pi);
    const double turns = (th - n) / (2 * pi);
    CHECK(std::fabs(turns - std::round(turns)) < 1e-9);
  }
}

TEST_CASE("Pendulum-v1 truncates at 200 and never terminates") {
  Pendulum env;
  env.reset(3);
  Step s;
  for (int t = 0; t < 200; ++t) {
    REQUIRE(!s.done());
    s = env.step({0.5});
    CHECK(!s.terminated);
  }
  CHECK(s.truncated);
  CHECK(env.elapsed_steps() == 200);
}

TEST_CASE("Acrobot-v1 matches an independent RK4 of the book dynamics") {
  Acrobot env;
  env.set_state({0.05, -0.03, 0.2, -0.1});
  const int actions[] = {2, 0, 1, 2, 2};
  const std::vector<std::array<double, 4>> want = {
      {0.06833221312450234, -0.006050427914747216, -0.019342585325187095, 0.337617084749551},
      {0.06991653463436237, 0.03159937184039467, 0.035896780910598676, 0.032949486910667236},
      {0.06893776539916815, 0.04136681353523037, -0.04510502728023089, 0.0627848272622476},
      {0.03950998078188986, 0.08954604792060579, -0.24140882542777264, 0.40556831806062493},
      {-0.022603663020968147, 0.19479543983029635, -0.36357148497521763, 0.6185122693923042}};
  for (int t = 0; t < 5; ++t) {
    const Step s = env.step(act(actions[t]));
    const auto& w = want[t];
    check_close({env.state().begin(), env.state().end()}, {w.begin(), w.end()}, 1e-9);
    check_close(s.obs, {std::cos(w[0]), std::sin(w[0]), std::cos(w[1]), std::sin(w[1]), w[2], w[3]}, 1e-9);
    CHECK(s.reward == -1.0);
    CHECK(!s.terminated);
  }
}

TEST_CASE("Acrobot-v1 RK4 step has fourth-order accuracy against a fine integration of the same ODE") {
  // An independent check of the integrator: 20000 small midpoint steps of the
  // same derivatives serve as the exact solution. One classic RK4 step has a
  // local error O(h^5): halving h divides it by about 32 (Euler would give 4,
  // a second-order method 8).
  const std::array<double, 4> s0 = {0.4, -0.7, 1.0, -2.0};
  auto fine = [&](double span) {
    std::array<double, 4> s = s0;
    const int n = 20000;
    const double h = span / n;
    for (int i = 0; i < n; ++i) {
      const auto k1 = Acrobot::derivatives(s, 1.0);
      std::array<double, 4> mid;
      for (int j = 0; j < 4; ++j) mid[j] = s[j] + h / 2 * k1[j];
      const auto k2 = Acrobot::derivatives(mid, 1.0);
      for (int j = 0; j < 4; ++j) s[j] += h * k2[j];
    }
    return s;
  };
  auto error = [&](double h) {
    const auto a = Acrobot::rk4_step(s0, 1.0, h), b = fine(h);
    double e = 0;
    for (int j = 0; j < 4; ++j) e = std::max(e, std::fabs(a[j] - b[j]));
    return e;
  };
  const double e1 = error(0.2), e2 = error(0.1);
  INFO("RK4 local error at h = 0.2: ", e1, ", at h = 0.1: ", e2);
  CHECK(e1 < 2e-3);
  CHECK(e1 / e2 > 20);
  CHECK(e1 / e2 < 45);
}

TEST_CASE("Acrobot-v1 wraps angles after the step, clips velocities, terminates with reward 0") {
  Acrobot env;
  // The line: the episode ends when the tip height -cos(t1) - cos(t1 + t2) of the state after the step
  // exceeds 1. Links aligned at t1 = pi - x have height 2 cos(x), which is 1 at x = pi / 3: start on
  // both sides of it, so that after one step some runs are above the line and some below.
  int ended = 0, going = 0;
  for (double x = 0.80; x <= 1.10; x += 0.01) {
    env.set_state({std::numbers::pi - x, 0.0, 0.0, 0.0});
    const Step step = env.step(act(1));
    const auto& st = env.state();
    const double height = -std::cos(st[0]) - std::cos(st[0] + st[1]);
    CHECK_MESSAGE(step.terminated == (height > 1.0), "x ", x, " height after the step ", height);
    CHECK(step.reward == (step.terminated ? 0.0 : -1.0));
    (step.terminated ? ended : going) += 1;
  }
  CHECK(ended > 0);
  CHECK(going > 0);
  // wrap: an angle just past pi comes back near -pi
  env.set_state({3.1, 0.0, 4 * std::numbers::pi, 0.0});
  env.step(act(1));
  CHECK(env.state()[0] >= -std::numbers::pi);
  CHECK(env.state()[0] <= std::numbers::pi);
  CHECK(std::fabs(env.state()[2]) <= Acrobot::max_vel_1);
  // reset: U(±0.1)^4 rounded to float32
  const auto obs = env.reset(11);
  for (double v : env.state()) {
    CHECK(std::fabs(v) <= 0.1);
    CHECK(double(float(v)) == v);
  }
  CHECK(obs.size() == 6);
  CHECK(Acrobot().max_episode_steps() == 500);
}

TEST_CASE("MountainCar-v0 follows its equations, stops at the left wall, ends at the goal") {
  MountainCar env(false);
  env.set_state(-0.5, 0.0);
  const int actions[] = {2, 2, 0, 1, 2};
  const std::vector<std::vector<double>> want = {{-0.49917684300416926, 0.0008231569958307428},
                                                 {-0.49753668667935325, 0.0016401563248160246},
                                                 {-0.4970917969323474, 0.00044488974700586273},
                                                 {-0.49684550006784745, 0.0002462968644999427},
                                                 {-0.4957996374204934, 0.0010458626473540712}};
  for (int t = 0; t < 5; ++t) {
    const Step s = env.step(act(actions[t]));
    check_close(s.obs, want[t], 1e-12);
    CHECK(s.reward == -1.0);
    CHECK(!s.done());
  }
  // left wall: position clipped to -1.2 and a negative velocity zeroed
  env.set_state(-1.19, -0.05);
  Step s = env.step(act(0));
  CHECK(s.obs[0] == -1.2);
  CHECK(s.obs[1] == 0.0);
  // goal at 0.5 with v >= 0
  env.set_state(0.49, 0.02);
  s = env.step(act(2));
  CHECK(s.terminated);
  CHECK(s.reward == -1.0);
  CHECK(MountainCar(false).max_episode_steps() == 200);
  const auto obs = env.reset(5);
  CHECK(obs[0] >= -0.6);
  CHECK(obs[0] <= -0.4);
  CHECK(obs[1] == 0.0);
}

TEST_CASE("MountainCarContinuous-v0 rounds its state to float32 and charges the raw action") {
  MountainCar env(true);
  CHECK(env.name() == "MountainCarContinuous-v0");
  env.set_state(double(float(-0.5234)), double(float(0.0123)));
  const double actions[] = {0.7, -1.5, 0.2};
  const std::vector<std::vector<double>> want = {
      {-0.5100514888763428, 0.01334850862622261, -0.048999999999999995},
      {-0.498304545879364, 0.011746931821107864, -0.22500000000000003},  // -0.1 * 1.5^2: raw action
      {-0.48644712567329407, 0.011857407167553902, -0.004000000000000001}};
  for (int t = 0; t < 3; ++t) {
    const Step s = env.step({actions[t]});
    std::vector<double> got = s.obs;
    got.push_back(s.reward);
    check_close(got, want[t], 1e-6);
    CHECK(double(float(s.obs[0])) == s.obs[0]);
    CHECK(double(float(s.obs[1])) == s.obs[1]);
  }
  env.set_state(0.44, 0.02);
  const Step s = env.step({0.5});
  CHECK(s.terminated);
  CHECK(s.reward == doctest::Approx(100.0 - 0.1 * 0.25));
  CHECK(MountainCar(true).max_episode_steps() == 999);
  const auto obs = env.reset(5);  // the observation is float32; the state keeps float64 until the first step
  CHECK(double(float(obs[0])) == obs[0]);
  CHECK(std::fabs(env.position() - obs[0]) < 1e-7);
  CHECK(obs[0] >= -0.6);
  CHECK(obs[0] <= -0.4);
}
