// The offline-RL toys (docs/papers/environments.md): ORPO's square toy and PointMass with a run
// task and a "jump" task. Neither has a terminal state: their termination
// function (for model rollouts) is "never".
#pragma once

#include <array>

#include "envs/env_base.h"

namespace gradlab::envs {

// ORPO's square toy: s in [-3, 3]^2, a in [-1, 1]^2, s' = clip(s + a, -3, 3)
// (the action itself is not clipped, as in the paper's code), reward
// (x' + y')/sqrt(2), the signed distance to the line y = -x. Resets draw s
// uniformly in the band |x + y| < 0.25 (rejection from the square). Episodes
// last 10 steps (truncated, never terminated). Optimal 10-step return ~38.2.
class SquareToy : public BasicEnv {
 public:
  static constexpr double bound = 3.0, band = 0.25;
  static constexpr int64_t episode_length = 10;
  SquareToy();
  void set_state(double x, double y);
  std::array<double, 2> state() const { return {x_, y_}; }
  // A state drawn uniformly in the band (what reset and the dataset generator use).
  static std::array<double, 2> sample_band_state(EnvRandom& rng);
  static double reward_at(double x, double y);

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  double x_ = 0, y_ = 0;
};

// PointMass: position p and velocity v in R^2, dt = 0.1; a clipped to
// [-1, 1]^2; v' = v + dt(5a - v), p' = clip(p + dt v', -1, 1). Observation
// (p_x, p_y, v_x, v_y). Reward run: clip(v'_x, -0.5, 0.5); jump:
// clip(v'_x, -0.5, 0.5) + 3 p'_y. Reset p ~ U(±0.1)^2, v = 0; episodes last
// 100 steps (truncated, never terminated).
class PointMass : public BasicEnv {
 public:
  enum class Task { run, jump };
  static constexpr double dt = 0.1;
  explicit PointMass(Task task, int64_t max_episode_steps = 100);
  Task task() const { return task_; }
  void set_state(const std::array<double, 4>& state);
  const std::array<double, 4>& state() const { return state_; }
  // The reward of a transition that lands in `next` (p'_x, p'_y, v'_x, v'_y).
  static double reward_of(Task task, const std::array<double, 4>& next);

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  Task task_;
  std::array<double, 4> state_{};
};

}  // namespace gradlab::envs
