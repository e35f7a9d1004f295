// MountainCar-v0 and MountainCarContinuous-v0 (Gymnasium's mountain_car.py and
// continuous_mountain_car.py), docs/papers/environments.md.
#include <cmath>

#include "envs/classic_control.h"

namespace gradlab::envs {

MountainCar::MountainCar(bool continuous, int64_t max_episode_steps)
    : BasicEnv(continuous ? "MountainCarContinuous-v0" : "MountainCar-v0",
               // The continuous env's observations are float32 (as Gymnasium's), and so is its box: the f32
               // roundings of the bounds, which contain every rounded observation.
               continuous ? Space::box({round_to_f32(min_position), round_to_f32(-max_speed)},
                                       {round_to_f32(max_position), round_to_f32(max_speed)})
                          : Space::box({min_position, -max_speed}, {max_position, max_speed}),
               continuous ? Space::box({-1.0}, {1.0}) : Space::discrete_space(3),
               max_episode_steps >= 0 ? max_episode_steps : (continuous ? 999 : 200)),
      continuous_(continuous) {}

void MountainCar::set_state(double position, double velocity) {
  check_state_observation({position, velocity});
  position_ = position;
  velocity_ = velocity;
  begin_episode_at_state();
}

std::vector<double> MountainCar::do_reset() {
  position_ = rng_.uniform(-0.6, -0.4);
  velocity_ = 0;
  // Gymnasium keeps the reset state in float64 and returns it as float32;
  // the continuous env's state becomes float32 from the first step on.
  if (continuous_) return {round_to_f32(position_), velocity_};
  return {position_, velocity_};
}

Step MountainCar::do_step(const std::vector<double>& action) {
  double x = position_, v = velocity_;
  // docs/papers/environments.md "MountainCar-v0": v' = clip(v + force term - 0.0025 cos(3x), ±0.07)
  const double push = continuous_ ? power * clip(action[0], -1.0, 1.0) : (action[0] - 1.0) * force;
  v = clip(v + push - gravity * std::cos(3 * x), -max_speed, max_speed);
  x = clip(x + v, min_position, max_position);
  if (x == min_position && v < 0) v = 0;  // inelastic left wall
  Step s;
  s.terminated = x >= goal_position() && v >= 0;
  if (continuous_) {
    s.reward = (s.terminated ? 100.0 : 0.0) - 0.1 * action[0] * action[0];  // raw, unclipped action
    x = round_to_f32(x);                                                    // Gymnasium stores the state as float32
    v = round_to_f32(v);
  } else {
    s.reward = -1.0;
  }
  position_ = x;
  velocity_ = v;
  s.obs = {x, v};
  return s;
}

}  // namespace gradlab::envs
