// GridMaze (four rooms), FarGoal and the NoisyTV variants, docs/papers/environments.md.
#include "envs/grid_maze.h"

#include <charconv>

#include "tensor/error.h"

namespace gradlab::envs {

namespace {

std::vector<std::string> split_dashes(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('-', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

int64_t observation_dim(const GridMazeOptions& o) {
  return (o.one_hot ? o.size * o.size : 2) + (o.noisy_tv != GridMazeOptions::NoisyTV::none ? o.noise_dims : 0);
}

Space observation_space_of(const GridMazeOptions& o) {
  const int64_t d = observation_dim(o);
  if (o.observation_noise > 0) return Space::box(std::vector<double>(d, -INFINITY), std::vector<double>(d, INFINITY));
  return Space::box(std::vector<double>(d, 0.0), std::vector<double>(d, 1.0));
}

GridMazeOptions checked(GridMazeOptions o) {
  GL_CHECK(o.size >= 7 && o.size <= 201, "{}: size must be in [7, 201], got {}", o.name, o.size);
  GL_CHECK(o.noise_dims >= 1, "{}: noise_dims must be positive, got {}", o.name, o.noise_dims);
  GL_CHECK(o.sticky_prob >= 0 && o.sticky_prob < 1, "{}: sticky_prob must be in [0, 1), got {}", o.name, o.sticky_prob);
  GL_CHECK(o.observation_noise >= 0, "{}: observation_noise must be >= 0, got {}", o.name, o.observation_noise);
  if (o.max_episode_steps < 0) o.max_episode_steps = 4 * o.size;  // horizon 4N
  return o;
}

}  // namespace

GridMaze::GridMaze(GridMazeOptions options)
    : BasicEnv(options.name, observation_space_of(checked(options)),
               Space::discrete_space(options.noisy_tv == GridMazeOptions::NoisyTV::action ? 5 : 4),
               checked(options).max_episode_steps),
      options_(checked(std::move(options))) {
  const int64_t n = options_.size, h = n / 2;
  walls_.assign(n * n, 0);
  for (int64_t i = 0; i < n; ++i) {
    walls_[0 * n + i] = walls_[(n - 1) * n + i] = 1;  // top and bottom borders
    walls_[i * n + 0] = walls_[i * n + (n - 1)] = 1;  // left and right borders
    walls_[h * n + i] = 1;                            // horizontal inner wall y = N/2
    walls_[i * n + h] = 1;                            // vertical inner wall x = N/2
  }
  // One doorway in the middle of each wall segment; the room centres share these coordinates.
  const int64_t near = h / 2, far = (h + 1 + n - 2) / 2;
  walls_[near * n + h] = walls_[far * n + h] = 0;  // doorways in the vertical wall
  walls_[h * n + near] = walls_[h * n + far] = 0;  // doorways in the horizontal wall
  using Goal = GridMazeOptions::Goal;
  switch (options_.goal) {
    case Goal::far: goal_ = std::pair<int64_t, int64_t>{n - 2, n - 2}; break;
    case Goal::none: break;
    case Goal::room0: goal_ = std::pair<int64_t, int64_t>{near, near}; break;
    case Goal::room1: goal_ = std::pair<int64_t, int64_t>{far, near}; break;
    case Goal::room2: goal_ = std::pair<int64_t, int64_t>{near, far}; break;
    case Goal::room3: goal_ = std::pair<int64_t, int64_t>{far, far}; break;
  }
  if (options_.noisy_tv == GridMazeOptions::NoisyTV::cell) tv_cell_ = {std::min<int64_t>(3, h - 1), 1};
}

bool GridMaze::is_wall(int64_t x, int64_t y) const {
  const int64_t n = options_.size;
  if (x < 0 || y < 0 || x >= n || y >= n) return true;
  return walls_[y * n + x] != 0;
}

void GridMaze::set_position(int64_t x, int64_t y) {
  GL_CHECK(!is_wall(x, y), "{}: set_position({}, {}) is a wall or outside the grid", name(), x, y);
  info_ = GridMazeInfo{};
  info_.x = x;
  info_.y = y;
  previous_action_ = -1;
  begin_episode_at_state();
}

std::vector<double> GridMaze::observe() {
  const int64_t n = options_.size;
  std::vector<double> obs;
  obs.reserve(observation_dim(options_));
  if (options_.one_hot) {
    obs.assign(n * n, 0.0);
    obs[info_.y * n + info_.x] = 1.0;
  } else {
    obs = {double(info_.x) / double(n - 1), double(info_.y) / double(n - 1)};
  }
  if (options_.observation_noise > 0)
    for (double& v : obs) v += options_.observation_noise * rng_.normal();
  if (options_.noisy_tv != GridMazeOptions::NoisyTV::none)
    for (int64_t i = 0; i < options_.noise_dims; ++i) obs.push_back(info_.tv_on ? rng_.uniform01() : 0.0);
  return obs;
}

std::vector<double> GridMaze::do_reset() {
  info_ = GridMazeInfo{};
  info_.x = start().first;
  info_.y = start().second;
  previous_action_ = -1;
  return observe();
}

Step GridMaze::do_step(const std::vector<double>& action) {
  int64_t a = int64_t(action[0]);
  // Sticky actions (Machado et al.): with probability p the previous executed action repeats.
  if (options_.sticky_prob > 0 && previous_action_ >= 0 && rng_.bernoulli(options_.sticky_prob)) a = previous_action_;
  previous_action_ = a;
  static constexpr int64_t dx[4] = {0, 1, 0, -1}, dy[4] = {-1, 0, 1, 0};
  info_.executed_action = a;
  info_.pressed_remote = a == remote_action;
  if (a < 4) {
    const int64_t nx = info_.x + dx[a], ny = info_.y + dy[a];
    if (!is_wall(nx, ny)) {  // into a wall: stay put
      info_.x = nx;
      info_.y = ny;
    }
  }
  info_.on_tv_cell = info_.x == tv_cell_.first && info_.y == tv_cell_.second;
  info_.tv_on = info_.pressed_remote || info_.on_tv_cell;
  Step s;
  s.terminated = goal_ && info_.x == goal_->first && info_.y == goal_->second;
  s.reward = s.terminated ? 1.0 : 0.0;
  s.obs = observe();
  return s;
}

std::string GridMaze::render() const {
  const int64_t n = options_.size;
  std::string out;
  for (int64_t y = 0; y < n; ++y) {
    for (int64_t x = 0; x < n; ++x) {
      char c = is_wall(x, y) ? '#' : '.';
      if (goal_ && goal_->first == x && goal_->second == y) c = 'G';
      if (tv_cell_.first == x && tv_cell_.second == y) c = 'T';
      if (info_.x == x && info_.y == y) c = 'A';
      out += c;
    }
    out += '\n';
  }
  return out;
}

GridMazeOptions parse_grid_maze_name(const std::string& name) {
  GridMazeOptions o;
  o.name = name;
  const std::vector<std::string> tokens = split_dashes(name);
  GL_CHECK(!tokens.empty() && tokens[0] == "GridMaze", "make_env: '{}' does not start with GridMaze", name);
  bool goal_set = false;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    auto set_goal = [&](GridMazeOptions::Goal g) {
      GL_CHECK(!goal_set, "make_env: '{}' names two goals", name);
      o.goal = g;
      goal_set = true;
    };
    if (t == "FarGoal") {
      set_goal(GridMazeOptions::Goal::far);
    } else if (t == "NoGoal") {
      set_goal(GridMazeOptions::Goal::none);
    } else if (t.size() == 5 && t.starts_with("Room") && t[4] >= '0' && t[4] <= '3') {
      set_goal(GridMazeOptions::Goal(int(GridMazeOptions::Goal::room0) + (t[4] - '0')));
    } else if (t == "OneHot") {
      o.one_hot = true;
    } else if (t == "Sticky") {
      o.sticky_prob = 0.25;
    } else if (t == "NoisyTV") {
      GL_CHECK(i + 1 < tokens.size() && (tokens[i + 1] == "Action" || tokens[i + 1] == "Cell"),
               "make_env: in '{}', NoisyTV must be followed by -Action or -Cell", name);
      o.noisy_tv = tokens[++i] == "Action" ? GridMazeOptions::NoisyTV::action : GridMazeOptions::NoisyTV::cell;
    } else if (t.size() > 1 && t[0] == 'N' && t.find_first_not_of("0123456789", 1) == std::string::npos) {
      const auto [end, ec] = std::from_chars(t.data() + 1, t.data() + t.size(), o.size);
      GL_CHECK(ec == std::errc(), "make_env: bad size '{}' in '{}'", t, name);
    } else {
      GL_CHECK(!t.empty(), "make_env: empty option in '{}'", name);
      fail(
          "make_env: unknown GridMaze option '{}' in '{}' (known: FarGoal, NoGoal, Room0..Room3, NoisyTV-Action, "
          "NoisyTV-Cell, OneHot, Sticky, N<size>)",
          t, name);
    }
  }
  return o;
}

std::vector<std::string> grid_maze_names() {
  return {"GridMaze-FarGoal",
          "GridMaze-FarGoal-OneHot",
          "GridMaze-NoGoal",
          "GridMaze-Room0",
          "GridMaze-Room1",
          "GridMaze-Room2",
          "GridMaze-Room3",
          "GridMaze-NoisyTV-Action",
          "GridMaze-NoisyTV-Cell",
          "GridMaze-NoisyTV-Action-Sticky",
          "GridMaze-NoisyTV-Cell-Sticky"};
}

}  // namespace gradlab::envs
