// Pendulum-v1 (Gymnasium's pendulum.py), docs/papers/environments.md.
#include <cmath>
#include <numbers>

#include "envs/classic_control.h"

namespace gradlab::envs {

Pendulum::Pendulum(int64_t max_episode_steps)
    : BasicEnv("Pendulum-v1", Space::box({-1, -1, -max_speed}, {1, 1, max_speed}),
               Space::box({-max_torque}, {max_torque}), max_episode_steps) {}

double Pendulum::normalize_angle(double theta) {
  return floor_mod(theta + std::numbers::pi, 2 * std::numbers::pi) - std::numbers::pi;
}

void Pendulum::set_state(double theta, double theta_dot) {
  check_state_observation({std::cos(theta), std::sin(theta), theta_dot});
  theta_ = theta;
  theta_dot_ = theta_dot;
  begin_episode_at_state();
}

std::vector<double> Pendulum::observe() const { return {std::cos(theta_), std::sin(theta_), theta_dot_}; }

std::vector<double> Pendulum::do_reset() {
  theta_ = rng_.uniform(-std::numbers::pi, std::numbers::pi);
  theta_dot_ = rng_.uniform(-1.0, 1.0);
  return observe();
}

Step Pendulum::do_step(const std::vector<double>& action) {
  const double u = clip(action[0], -max_torque, max_torque);
  const double th = theta_, thdot = theta_dot_;
  // docs/papers/environments.md "Pendulum-v1": cost on the state before the update and the clipped torque
  const double norm_th = normalize_angle(th);
  const double cost = norm_th * norm_th + 0.1 * thdot * thdot + 0.001 * u * u;
  double new_thdot = thdot + (3 * gravity / (2 * length) * std::sin(th) + 3.0 / (mass * length * length) * u) * dt;
  new_thdot = clip(new_thdot, -max_speed, max_speed);
  theta_ = th + new_thdot * dt;  // never wrapped
  theta_dot_ = new_thdot;
  Step s;
  s.obs = observe();
  s.reward = -cost;
  return s;
}

}  // namespace gradlab::envs
