// Acrobot-v1 (Gymnasium's acrobot.py, "book" dynamics, one RK4 step of 0.2 s),
// docs/papers/environments.md.
#include <cmath>
#include <numbers>

#include "envs/classic_control.h"

namespace gradlab::envs {

namespace {
// Gymnasium's wrap(): shift by the interval's length until x is in [lo, hi].
double wrap(double x, double lo, double hi) {
  const double diff = hi - lo;
  while (x > hi) x -= diff;
  while (x < lo) x += diff;
  return x;
}
}  // namespace

Acrobot::Acrobot(int64_t max_episode_steps)
    : BasicEnv("Acrobot-v1", Space::box({-1, -1, -1, -1, -max_vel_1, -max_vel_2}, {1, 1, 1, 1, max_vel_1, max_vel_2}),
               Space::discrete_space(3), max_episode_steps) {}

void Acrobot::set_state(const std::array<double, 4>& state) {
  check_state_observation(
      {std::cos(state[0]), std::sin(state[0]), std::cos(state[1]), std::sin(state[1]), state[2], state[3]});
  state_ = state;
  begin_episode_at_state();
}

std::vector<double> Acrobot::observe() const {
  return {std::cos(state_[0]), std::sin(state_[0]), std::cos(state_[1]), std::sin(state_[1]), state_[2], state_[3]};
}

std::vector<double> Acrobot::do_reset() {
  for (double& v : state_) v = round_to_f32(rng_.uniform(-0.1, 0.1));  // U(±0.1)^4 cast to float32
  return observe();
}

std::array<double, 4> Acrobot::derivatives(const std::array<double, 4>& s, double torque) {
  const double m1 = link_mass, m2 = link_mass, l1 = link_length, lc1 = link_com, lc2 = link_com;
  const double i1 = link_moi, i2 = link_moi, g = gravity, pi = std::numbers::pi;
  const auto [theta1, theta2, dtheta1, dtheta2] = s;
  // docs/papers/environments.md "Acrobot-v1": d1, d2, phi2, phi1, then the "book" theta2'' and theta1''
  const double d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * std::cos(theta2)) + i1 + i2;
  const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * std::cos(theta2)) + i2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - pi / 2.0);
  const double phi1 = -m2 * l1 * lc2 * dtheta2 * dtheta2 * std::sin(theta2) -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - pi / 2) + phi2;
  const double ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 * dtheta1 * std::sin(theta2) - phi2) /
                          (m2 * lc2 * lc2 + i2 - d2 * d2 / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return {dtheta1, dtheta2, ddtheta1, ddtheta2};
}

std::array<double, 4> Acrobot::rk4_step(const std::array<double, 4>& s, double torque, double h) {
  auto add = [](const std::array<double, 4>& y, double c, const std::array<double, 4>& k) {
    std::array<double, 4> r;
    for (int i = 0; i < 4; ++i) r[i] = y[i] + c * k[i];
    return r;
  };
  const auto k1 = derivatives(s, torque);
  const auto k2 = derivatives(add(s, h / 2, k1), torque);
  const auto k3 = derivatives(add(s, h / 2, k2), torque);
  const auto k4 = derivatives(add(s, h, k3), torque);
  std::array<double, 4> out;
  for (int i = 0; i < 4; ++i) out[i] = s[i] + h / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  return out;
}

Step Acrobot::do_step(const std::vector<double>& action) {
  const double torque = action[0] - 1.0;  // actions 0, 1, 2 -> torque -1, 0, +1
  std::array<double, 4> ns = rk4_step(state_, torque, dt);
  // after the RK4 step only: wrap the angles, bound the velocities
  const double pi = std::numbers::pi;
  ns[0] = wrap(ns[0], -pi, pi);
  ns[1] = wrap(ns[1], -pi, pi);
  ns[2] = clip(ns[2], -max_vel_1, max_vel_1);
  ns[3] = clip(ns[3], -max_vel_2, max_vel_2);
  state_ = ns;
  Step s;
  s.obs = observe();
  s.terminated = -std::cos(ns[0]) - std::cos(ns[1] + ns[0]) > 1.0;
  s.reward = s.terminated ? 0.0 : -1.0;
  return s;
}

}  // namespace gradlab::envs
