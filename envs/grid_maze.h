// GridMaze: the four-rooms grid world of the curiosity experiments (docs/papers/environments.md).
// An N x N grid (N = 15 by default) with border walls, one vertical and one
// horizontal inner wall at N/2, and a doorway in each of the four wall
// segments. Start (1, 1); the FarGoal task puts the goal at (N-2, N-2) (+1,
// terminates); horizon 4N. Actions: 0 up (y-1), 1 right (x+1), 2 down (y+1),
// 3 left (x-1); a move into a wall stays put. Observation (x, y)/(N-1), or a
// one-hot of the N*N cells. NoisyTV variants append k = 16 dims that hold
// i.i.d. U[0,1] noise when the TV is on ("action": a 5th action, the remote,
// turns it on for that step and does not move; "cell": standing on the TV cell
// near the start turns it on), zeros otherwise. Optional sticky actions repeat
// the previous executed action with probability 0.25.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "envs/env_base.h"

namespace gradlab::envs {

struct GridMazeOptions {
  enum class Goal { far, none, room0, room1, room2, room3 };
  enum class NoisyTV { none, action, cell };
  int64_t size = 15;
  // far: (N-2, N-2). none: reward-free (episodes end at the horizon only).
  // roomK: the centre cell of room K (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right).
  Goal goal = Goal::far;
  bool one_hot = false;
  NoisyTV noisy_tv = NoisyTV::none;
  int64_t noise_dims = 16;
  double sticky_prob = 0;          // "-Sticky" sets 0.25
  double observation_noise = 0;    // std of Gaussian noise added to the position features (0: none)
  int64_t max_episode_steps = -1;  // -1: 4N
  std::string name = "GridMaze-FarGoal";
};

// What the agent did and saw on the last step (or reset), for state coverage
// and the "fraction of time on the TV" metrics.
struct GridMazeInfo {
  int64_t x = 0, y = 0;          // the agent's cell after the step
  bool on_tv_cell = false;       // cell variant: standing on the TV cell
  bool pressed_remote = false;   // action variant: the executed action was the remote
  bool tv_on = false;            // the noise dims hold noise in this observation
  int64_t executed_action = -1;  // after sticky actions; -1 after reset
};

class GridMaze : public BasicEnv {
 public:
  explicit GridMaze(GridMazeOptions options = {});
  const GridMazeOptions& options() const { return options_; }
  int64_t size() const { return options_.size; }
  bool is_wall(int64_t x, int64_t y) const;
  std::pair<int64_t, int64_t> start() const { return {1, 1}; }
  std::optional<std::pair<int64_t, int64_t>> goal() const { return goal_; }
  std::pair<int64_t, int64_t> tv_cell() const { return tv_cell_; }
  const GridMazeInfo& info() const { return info_; }
  // The agent's cell index y*N + x (for visit counts).
  int64_t cell_index() const { return info_.y * options_.size + info_.x; }
  static constexpr int64_t remote_action = 4;
  // For tests: put the agent on a free cell in a fresh episode.
  void set_position(int64_t x, int64_t y);
  // '#' wall, '.' floor, 'G' goal, 'T' TV cell, 'A' agent; one line per row y.
  std::string render() const override;

 protected:
  std::vector<double> do_reset() override;
  Step do_step(const std::vector<double>& action) override;

 private:
  std::vector<double> observe();
  GridMazeOptions options_;
  std::vector<char> walls_;
  std::optional<std::pair<int64_t, int64_t>> goal_;
  std::pair<int64_t, int64_t> tv_cell_{-1, -1};
  GridMazeInfo info_;
  int64_t previous_action_ = -1;
};

// Parses "GridMaze[-N<size>][-FarGoal|-NoGoal|-Room<k>][-NoisyTV-Action|-NoisyTV-Cell][-OneHot][-Sticky]",
// tokens in any order, e.g. "GridMaze-NoisyTV-Cell-Sticky"; throws naming an unknown token.
GridMazeOptions parse_grid_maze_name(const std::string& name);
// The registered GridMaze names listed by env_names().
std::vector<std::string> grid_maze_names();

}  // namespace gradlab::envs
