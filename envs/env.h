// The environment interface every gradlab agent talks to, in the shape of
// Gymnasium's: reset(seed) gives the first observation; step(action) gives
// the next observation, the reward, and whether the episode terminated (a
// terminal state of the MDP) or was truncated (a time limit, not a terminal
// state: bootstrapping through it is correct). Observations and actions are
// vectors of doubles so that hand-worked trajectories can be checked to 1e-6;
// agents convert them to f32 tensors at the network's edge.
//
// A discrete action is a one-element vector holding an integer in [0, n).
// Each environment checks its input: an unknown action, a wrong action shape,
// or a step after the episode ended without a reset raises gradlab::Error
// naming the environment.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gradlab::envs {

// An observation or action space: `discrete` (n choices) or `box` (a vector
// of dim() reals with per-coordinate bounds, possibly infinite).
struct Space {
  enum class Kind { discrete, box };
  Kind kind = Kind::box;
  int64_t n = 0;                   // discrete: number of actions
  std::vector<double> low, high;   // box: bounds per coordinate
  static Space discrete_space(int64_t n);
  static Space box(std::vector<double> low, std::vector<double> high);
  bool is_discrete() const { return kind == Kind::discrete; }
  // box: the number of coordinates; discrete: 1 (one integer).
  int64_t dim() const;
  // "Discrete(2)" or "Box(4)".
  std::string str() const;
};

struct Step {
  std::vector<double> obs;
  double reward = 0;
  bool terminated = false;
  bool truncated = false;
  bool done() const { return terminated || truncated; }
};

class Env {
 public:
  virtual ~Env() = default;
  virtual std::string name() const = 0;
  virtual const Space& observation_space() const = 0;
  virtual const Space& action_space() const = 0;
  // Starts an episode. A seed re-seeds the environment's generator; without
  // one the generator continues, so successive episodes differ.
  virtual std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) = 0;
  virtual Step step(const std::vector<double>& action) = 0;
  // A text picture of the current state (grid worlds); empty when there is none.
  virtual std::string render() const { return {}; }
};

using EnvPtr = std::unique_ptr<Env>;

// Builds an environment by its registered name, e.g. "CartPole-v1",
// "Pendulum-v1", "DeepSea-10", "GridMaze-FarGoal"; throws gradlab::Error
// listing the known names when the name is unknown.
EnvPtr make_env(const std::string& name);
std::vector<std::string> env_names();

}  // namespace gradlab::envs
