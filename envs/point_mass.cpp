// PointMass with the run and jump rewards (the "jump"-style generalisation
// test of the ORPO experiments), docs/papers/environments.md.
#include "envs/offline_toys.h"

namespace gradlab::envs {

PointMass::PointMass(Task task, int64_t max_episode_steps)
    : BasicEnv(task == Task::run ? "PointMass-Run" : "PointMass-Jump",
               Space::box({-1, -1, -INFINITY, -INFINITY}, {1, 1, INFINITY, INFINITY}),
               Space::box({-1.0, -1.0}, {1.0, 1.0}), max_episode_steps),
      task_(task) {}

double PointMass::reward_of(Task task, const std::array<double, 4>& next) {
  const double run = clip(next[2], -0.5, 0.5);           // clip(v_x, ±0.5)
  return task == Task::run ? run : run + 3.0 * next[1];  // jump: + 3y
}

void PointMass::set_state(const std::array<double, 4>& state) {
  check_state_observation({state.begin(), state.end()});
  state_ = state;
  begin_episode_at_state();
}

std::vector<double> PointMass::do_reset() {
  state_ = {rng_.uniform(-0.1, 0.1), rng_.uniform(-0.1, 0.1), 0.0, 0.0};
  return {state_.begin(), state_.end()};
}

Step PointMass::do_step(const std::vector<double>& action) {
  auto& [px, py, vx, vy] = state_;
  const double ax = clip(action[0], -1.0, 1.0), ay = clip(action[1], -1.0, 1.0);
  vx += dt * (5 * ax - vx);  // v' = v + dt (5a - v)
  vy += dt * (5 * ay - vy);
  px = clip(px + dt * vx, -1.0, 1.0);  // p' = clip(p + dt v', ±1)
  py = clip(py + dt * vy, -1.0, 1.0);
  Step s;
  s.obs = {px, py, vx, vy};
  s.reward = reward_of(task_, state_);
  return s;
}

}  // namespace gradlab::envs
