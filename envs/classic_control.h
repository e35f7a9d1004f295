// The classic-control environments of Gymnasium with their exact dynamics and
// constants (docs/papers/environments.md): CartPole-v1, Pendulum-v1, Acrobot-v1,
// MountainCar-v0 and MountainCarContinuous-v0. States are doubles (Gymnasium
// keeps float64 for all but MountainCarContinuous, whose float32 rounding is
// reproduced, and Acrobot's float32 initial state). Each class has set_state
// for tests that check hand-computed trajectories.
#pragma once

#include <array>

#include "envs/env_base.h"

namespace gradlab::envs {

// Cart and pole; actions 0 (push left, F = -10) and 1 (push right, F = +10);
// observation (x, x_dot, theta, theta_dot); reward +1 per step; terminates when
// |x| > 2.4 or |theta| > 12 degrees; truncated at 500 steps.
class CartPole : public BasicEnv {
 public:
  static constexpr double gravity = 9.8, mass_cart = 1.0, mass_pole = 0.1, half_length = 0.5, force_mag = 10.0,
                          tau = 0.02, x_threshold = 2.4;
  static constexpr double theta_threshold = 12.0 * 2.0 * 3.14159265358979323846 / 360.0;
  explicit CartPole(int64_t max_episode_steps = 500);
  void set_state(const std::array<double, 4>& state);
  const std::array<double, 4>& state() const { return state_; }

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  std::array<double, 4> state_{};
};

// Inverted pendulum swing-up; action: torque u (clipped to [-2, 2]); state
// (theta, theta_dot) with theta = 0 upright; observation (cos, sin, theta_dot);
// reward -(norm(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2); never terminates;
// truncated at 200 steps.
class Pendulum : public BasicEnv {
 public:
  static constexpr double gravity = 10.0, mass = 1.0, length = 1.0, dt = 0.05, max_torque = 2.0, max_speed = 8.0;
  explicit Pendulum(int64_t max_episode_steps = 200);
  void set_state(double theta, double theta_dot);
  double theta() const { return theta_; }
  double theta_dot() const { return theta_dot_; }
  // ((theta + pi) mod 2 pi) - pi with a floor mod: in [-pi, pi).
  static double normalize_angle(double theta);

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  std::vector<double> observe() const;
  double theta_ = 0, theta_dot_ = 0;
};

// Two-link underactuated pendulum; actions 0, 1, 2 apply torque -1, 0, +1 on
// the second joint; state (theta1, theta2, dtheta1, dtheta2) integrated by one
// RK4 step of 0.2 s ("book" dynamics); observation (cos t1, sin t1, cos t2,
// sin t2, dt1, dt2); reward -1 per step, 0 on the terminating step; terminates
// when -cos(t1) - cos(t1 + t2) > 1; truncated at 500 steps.
class Acrobot : public BasicEnv {
 public:
  static constexpr double dt = 0.2, link_length = 1.0, link_mass = 1.0, link_com = 0.5, link_moi = 1.0, gravity = 9.8;
  static constexpr double max_vel_1 = 4 * 3.14159265358979323846, max_vel_2 = 9 * 3.14159265358979323846;
  explicit Acrobot(int64_t max_episode_steps = 500);
  void set_state(const std::array<double, 4>& state);
  const std::array<double, 4>& state() const { return state_; }
  // The time derivative of (theta1, theta2, dtheta1, dtheta2) under torque.
  static std::array<double, 4> derivatives(const std::array<double, 4>& s, double torque);
  // One classic RK4 step of length h with the torque held constant.
  static std::array<double, 4> rk4_step(const std::array<double, 4>& s, double torque, double h);

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  std::vector<double> observe() const;
  std::array<double, 4> state_{};
};

// Car in a valley (MountainCar-v0 discrete, or MountainCarContinuous-v0).
// Discrete: actions 0, 1, 2 accelerate left, not at all, right; reward -1 per
// step; goal x >= 0.5 (and v >= 0); truncated at 200. Continuous: force
// 0.0015 * clip(a, -1, 1); reward +100 at the goal minus 0.1 a^2 (raw a);
// goal x >= 0.45 (and v >= 0); truncated at 999; state rounded to float32
// after each step as Gymnasium stores it. Observation (x, v).
class MountainCar : public BasicEnv {
 public:
  static constexpr double min_position = -1.2, max_position = 0.6, max_speed = 0.07, force = 0.001, power = 0.0015,
                          gravity = 0.0025;
  explicit MountainCar(bool continuous, int64_t max_episode_steps = -1);  // -1: 200 or 999
  bool continuous() const { return continuous_; }
  double goal_position() const { return continuous_ ? 0.45 : 0.5; }
  void set_state(double position, double velocity);
  double position() const { return position_; }
  double velocity() const { return velocity_; }

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  bool continuous_;
  double position_ = 0, velocity_ = 0;
};

}  // namespace gradlab::envs
