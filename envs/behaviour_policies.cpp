// Hand-written behaviour policies and the random / mixture policies used to
// build the offline datasets (envs/datasets.h).
#include "envs/behaviour_policies.h"

#include <cmath>
#include <numbers>

#include "tensor/error.h"

namespace gradlab::envs {

Policy uniform_random_policy(const Space& action_space, uint64_t seed) {
  auto rng = std::make_shared<EnvRandom>(seed);
  return [rng, space = action_space](const std::vector<double>&) {
    if (space.is_discrete()) return std::vector<double>{double(rng->integer(space.n))};
    std::vector<double> a(space.dim());
    for (size_t i = 0; i < a.size(); ++i) a[i] = rng->uniform(space.low[i], space.high[i]);
    return a;
  };
}

Policy mixture_policy(Policy expert, Policy random, double p, uint64_t seed) {
  GL_CHECK(p >= 0 && p <= 1, "mixture_policy: p must be in [0, 1], got {}", p);
  auto rng = std::make_shared<EnvRandom>(seed);
  return [=](const std::vector<double>& obs) {
    // both are called every step so that each keeps its own stream position
    // whatever the coin says
    std::vector<double> e = expert(obs), r = random(obs);
    return rng->bernoulli(p) ? e : r;
  };
}

Policy pendulum_expert() {
  return [](const std::vector<double>& obs) {
    GL_CHECK(obs.size() == 3, "pendulum_expert: expected the 3 values (cos, sin, theta_dot), got {}", obs.size());
    const double theta = std::atan2(obs[1], obs[0]), theta_dot = obs[2];
    const double balance_angle = 0.6, kp = 10.0, kd = 3.0, k_energy = 2.0;
    if (std::fabs(theta) < balance_angle) return std::vector<double>{clip(-(kp * theta + kd * theta_dot), -2.0, 2.0)};
    const double energy = 0.5 * theta_dot * theta_dot + 15.0 * (std::cos(theta) - 1.0);
    // pump energy toward E = 0; at rest at the bottom theta_dot = 0, so push to start
    const double u = theta_dot == 0 ? 2.0 : k_energy * (0.0 - energy) * theta_dot;
    return std::vector<double>{clip(u, -2.0, 2.0)};
  };
}

Policy point_mass_runner() {
  return [](const std::vector<double>& obs) {
    GL_CHECK(obs.size() == 4, "point_mass_runner: expected (p_x, p_y, v_x, v_y), got {} values", obs.size());
    return std::vector<double>{1.0, clip(-(2.0 * obs[1] + 0.5 * obs[3]), -1.0, 1.0)};
  };
}

Policy square_toy_optimal() {
  return [](const std::vector<double>&) { return std::vector<double>{1.0, 1.0}; };
}

BehaviourSet builtin_behaviour(const std::string& env, uint64_t seed) {
  BehaviourSet b;
  if (env == "Pendulum-v1") {
    b.expert = pendulum_expert();
    b.expert_description = "energy swing-up + PD balance (hand-written)";
    b.medium_p = 0.22;
  } else if (env == "PointMass-Run" || env == "PointMass-Jump") {
    b.expert = point_mass_runner();
    b.expert_description = "runner: a = (1, clip(-(2y + 0.5 v_y)))";
    b.medium_p = 0.08;
  } else if (env == "SquareToy") {
    b.expert = square_toy_optimal();
    b.expert_description = "a = (1, 1)";
    b.medium_p = 0.22;
  } else {
    fail(
        "builtin_behaviour: no built-in behaviour policies for '{}' (known: Pendulum-v1, PointMass-Run, "
        "PointMass-Jump, SquareToy); pass your own BehaviourSet",
        env);
  }
  const Space space = env == "Pendulum-v1" ? Space::box({-2.0}, {2.0}) : Space::box({-1.0, -1.0}, {1.0, 1.0});
  b.random = uniform_random_policy(space, seed);
  b.random_description = "uniform random actions";
  return b;
}

}  // namespace gradlab::envs
