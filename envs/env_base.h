// Shared plumbing for gradlab's environments: a small seeded random source,
// the action checks every env runs (shape, finiteness, range, step after the
// end of an episode), and BasicEnv, which holds the name, the spaces, the step
// counter and the time limit so each concrete env only writes its dynamics.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "envs/env.h"

namespace gradlab::envs {

// A seeded random source for environments (std::mt19937_64 with our own
// 53-bit mapping to [0, 1), so the numbers do not depend on the C++ library's
// distribution implementations).
class EnvRandom {
 public:
  explicit EnvRandom(uint64_t seed = 0) : engine_(seed) {}
  void seed(uint64_t seed) { engine_.seed(seed); }
  double uniform01() { return double(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
  bool bernoulli(double p) { return uniform01() < p; }
  // Standard normal by Box-Muller (one value per call; the pair's second is dropped).
  double normal();
  int64_t integer(int64_t n) { return int64_t(uniform01() * double(n)); }  // uniform in [0, n)

 private:
  std::mt19937_64 engine_;
};

// Checks a discrete action (one element, finite, an integer in [0, n)) and returns it.
int64_t check_discrete_action(const std::string& env, const std::vector<double>& action, int64_t n);
// Checks a box action's length and that every value is finite.
void check_box_action(const std::string& env, const std::vector<double>& action, int64_t dim);
// Checks an action against `space` (either kind).
void check_action(const std::string& env, const std::vector<double>& action, const Space& space);

// Rounds to the nearest float32 and back (Gymnasium's float32 state arrays).
inline double round_to_f32(double x) { return double(float(x)); }
// Floor modulus (Python's %): the result has the sign of m, unlike std::fmod.
double floor_mod(double x, double m);
inline double clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

// The common part of every env: spaces, episode bookkeeping, time limit.
class BasicEnv : public Env {
 public:
  BasicEnv(std::string name, Space observation_space, Space action_space, int64_t max_episode_steps, uint64_t seed = 0);
  std::string name() const override { return name_; }
  const Space& observation_space() const override { return observation_space_; }
  const Space& action_space() const override { return action_space_; }
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) final;
  Step step(const std::vector<double>& action) final;

  // The time limit (0: none; the env ends its episodes itself).
  int64_t max_episode_steps() const { return max_episode_steps_; }
  int64_t elapsed_steps() const { return elapsed_; }
  // True after a step that terminated or truncated, until the next reset.
  bool episode_over() const { return over_; }

 protected:
  // The env's own reset (random initial state from rng_) and step. do_step
  // receives an action already checked against action_space(); it fills obs,
  // reward and terminated; BasicEnv adds the time-limit truncation.
  virtual std::vector<double> do_reset() = 0;
  virtual Step do_step(const std::vector<double>& action) = 0;
  // set_state's check, before it changes anything: the observation of the
  // requested state must be finite and inside the observation space; throws
  // "NAME::set_state: ..." naming the coordinate otherwise.
  void check_state_observation(const std::vector<double>& obs) const;
  // For set_state in tests: starts an episode at a given state without
  // drawing from the generator.
  void begin_episode_at_state() {
    elapsed_ = 0;
    over_ = false;
    started_ = true;
  }

  EnvRandom rng_;

 private:
  std::string name_;
  Space observation_space_, action_space_;
  int64_t max_episode_steps_;
  int64_t elapsed_ = 0;
  bool over_ = false, started_ = false;
};

}  // namespace gradlab::envs
