// CartPole-v1 (Gymnasium's cartpole.py, explicit Euler), docs/papers/environments.md.
#include <cmath>

#include "envs/classic_control.h"

namespace gradlab::envs {

CartPole::CartPole(int64_t max_episode_steps)
    : BasicEnv("CartPole-v1",
               Space::box({-2 * x_threshold, -INFINITY, -2 * theta_threshold, -INFINITY},
                          {2 * x_threshold, INFINITY, 2 * theta_threshold, INFINITY}),
               Space::discrete_space(2), max_episode_steps) {}

void CartPole::set_state(const std::array<double, 4>& state) {
  check_state_observation({state.begin(), state.end()});
  state_ = state;
  begin_episode_at_state();
}

std::vector<double> CartPole::do_reset() {
  for (double& v : state_) v = rng_.uniform(-0.05, 0.05);  // initial state ~ U(±0.05)^4
  return {state_.begin(), state_.end()};
}

Step CartPole::do_step(const std::vector<double>& action) {
  auto [x, x_dot, theta, theta_dot] = state_;
  const double f = action[0] == 1 ? force_mag : -force_mag;
  const double cos_t = std::cos(theta), sin_t = std::sin(theta);
  const double total_mass = mass_cart + mass_pole, pole_ml = mass_pole * half_length;
  // docs/papers/environments.md "CartPole-v1": temp, theta_acc, x_acc
  const double temp = (f + pole_ml * theta_dot * theta_dot * sin_t) / total_mass;
  const double theta_acc =
      (gravity * sin_t - cos_t * temp) / (half_length * (4.0 / 3.0 - mass_pole * cos_t * cos_t / total_mass));
  const double x_acc = temp - pole_ml * theta_acc * cos_t / total_mass;
  // explicit Euler: positions move with the old velocities
  x += tau * x_dot;
  x_dot += tau * x_acc;
  theta += tau * theta_dot;
  theta_dot += tau * theta_acc;
  state_ = {x, x_dot, theta, theta_dot};
  Step s;
  s.obs = {x, x_dot, theta, theta_dot};
  s.terminated = x < -x_threshold || x > x_threshold || theta < -theta_threshold || theta > theta_threshold;
  s.reward = 1.0;  // the terminating step is rewarded too
  return s;
}

}  // namespace gradlab::envs
