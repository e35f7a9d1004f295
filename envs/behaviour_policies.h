// Behaviour policies for the offline datasets (envs/datasets.h): callables from
// an observation to an action. Hand-written experts (Pendulum: energy-based
// swing-up plus a PD balance near the top; PointMass: run right while holding
// y near 0; SquareToy: (1, 1)), uniform random actions, and the per-step
// mixture "expert with probability p, random otherwise" that makes the medium
// levels. A trained agent plugs in through the same Policy type.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "envs/env_base.h"

namespace gradlab::envs {

using Policy = std::function<std::vector<double>(const std::vector<double>& obs)>;

// Uniform over the action space (box bounds, or the n discrete actions), seeded.
Policy uniform_random_policy(const Space& action_space, uint64_t seed);
// Each step: `expert` with probability p, else `random` (p in [0, 1]), seeded.
Policy mixture_policy(Policy expert, Policy random, double p, uint64_t seed);

// Pendulum-v1 expert. With theta measured from upright, theta'' = 15 sin(theta)
// + 3u, and E = theta_dot^2/2 + 15 (cos(theta) - 1) is 0 at rest on top with
// dE/dt = 3 u theta_dot. Far from the top it pumps energy, u = clip(k (0 - E)
// theta_dot, ±2); within `balance_angle` of the top it balances with
// u = clip(-(kp theta + kd theta_dot), ±2).
Policy pendulum_expert();
// PointMass: a_x = 1 (run right; v_x reaches the clipped reward's 0.5 in one
// step), a_y = clip(-(2 y + 0.5 v_y), ±1) keeps y in a narrow band near 0.
Policy point_mass_runner();
// SquareToy: (1, 1), straight away from the line y = -x.
Policy square_toy_optimal();

// The behaviour policies of one environment for the dataset levels.
struct BehaviourSet {
  Policy random;        // the "random" level
  Policy expert;        // the "expert" level
  double medium_p = 0;  // medium = mixture(expert, random, medium_p)
  std::string expert_description, random_description;
};
// The built-in set for "Pendulum-v1", "PointMass-Run", "PointMass-Jump" (the
// runner: data for the jump task come from the run behaviour) or "SquareToy";
// throws naming the env otherwise. medium_p is tuned so that the medium level
// scores about 33 (see envs/README.md for the measurement).
BehaviourSet builtin_behaviour(const std::string& env, uint64_t seed);

}  // namespace gradlab::envs
