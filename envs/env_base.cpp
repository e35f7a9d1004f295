// BasicEnv's episode bookkeeping and the action checks shared by every env.
#include "envs/env_base.h"

#include <cmath>
#include <numbers>

#include "tensor/error.h"

namespace gradlab::envs {

double EnvRandom::normal() {
  // Box-Muller on (0, 1]: 1 - u avoids log(0).
  const double u1 = 1.0 - uniform01(), u2 = uniform01();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

int64_t check_discrete_action(const std::string& env, const std::vector<double>& action, int64_t n) {
  GL_CHECK(action.size() == 1, "{}: a discrete action is one integer in [0, {}), got {} values", env, n, action.size());
  const double a = action[0];
  GL_CHECK(std::isfinite(a) && a == std::floor(a) && a >= 0 && a < double(n),
           "{}: unknown action {} (the actions are the integers 0..{})", env, a, n - 1);
  return int64_t(a);
}

void check_box_action(const std::string& env, const std::vector<double>& action, int64_t dim) {
  GL_CHECK(int64_t(action.size()) == dim, "{}: the action has {} values, expected {}", env, action.size(), dim);
  for (size_t i = 0; i < action.size(); ++i)
    GL_CHECK(std::isfinite(action[i]), "{}: action[{}] is {} (actions must be finite)", env, i, action[i]);
}

void check_action(const std::string& env, const std::vector<double>& action, const Space& space) {
  if (space.is_discrete())
    check_discrete_action(env, action, space.n);
  else
    check_box_action(env, action, space.dim());
}

double floor_mod(double x, double m) {
  const double r = std::fmod(x, m);
  return (r != 0 && ((r < 0) != (m < 0))) ? r + m : r;
}

BasicEnv::BasicEnv(std::string name, Space observation_space, Space action_space, int64_t max_episode_steps,
                   uint64_t seed)
    : rng_(seed),
      name_(std::move(name)),
      observation_space_(std::move(observation_space)),
      action_space_(std::move(action_space)),
      max_episode_steps_(max_episode_steps) {}

void BasicEnv::check_state_observation(const std::vector<double>& obs) const {
  const Space& box = observation_space_;
  GL_CHECK(!box.is_discrete() && int64_t(obs.size()) == box.dim(), "{}::set_state: {} values for an observation of {}",
           name_, obs.size(), box.dim());
  for (size_t i = 0; i < obs.size(); ++i)
    GL_CHECK(std::isfinite(obs[i]) && obs[i] >= box.low[i] && obs[i] <= box.high[i],
             "{}::set_state: observation coordinate {} would be {}, outside [{}, {}]", name_, i, obs[i], box.low[i],
             box.high[i]);
}

std::vector<double> BasicEnv::reset(std::optional<uint64_t> seed) {
  if (seed) rng_.seed(*seed);
  std::vector<double> obs = do_reset();
  begin_episode_at_state();
  return obs;
}

Step BasicEnv::step(const std::vector<double>& action) {
  GL_CHECK(started_, "{}: step() before reset()", name_);
  GL_CHECK(!over_, "{}: step() after the episode ended (terminated or truncated) without reset()", name_);
  check_action(name_, action, action_space_);
  Step s = do_step(action);
  ++elapsed_;
  if (max_episode_steps_ > 0 && elapsed_ >= max_episode_steps_) s.truncated = true;  // Gymnasium's TimeLimit
  over_ = s.done();
  return s;
}

}  // namespace gradlab::envs
