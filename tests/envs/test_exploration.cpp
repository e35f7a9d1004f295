// envs/deep_sea and envs/grid_maze: DeepSea's per-cell action mapping against
// numpy's RandomState(42).binomial bits (pasted from
// tests/envs/reference_trajectories.py) and against the same formula computed
// here, the optimal path's 0.99, the all-zeros last observation; GridMaze's
// walls, doorways, render, goal, horizon, the NoisyTV noise appearing exactly
// when it should, sticky actions, and name parsing.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "envs/deep_sea.h"
#include "envs/grid_maze.h"
#include "tensor/error.h"
#include "tests/envs/env_test_util.h"

using namespace gradlab;
using namespace gradlab::envs;
using gradlab::envs::testing::act;

namespace {

// numpy's RandomState(42).binomial(1, 0.5, [N, N]).flatten() (reference_trajectories.py).
const std::string numpy_bits_10 =
    "0111000111011000010010000101101001110010000101011011111100000010010101100111100011000011100111101000";

// The same for N = 20 (reference_trajectories.py prints it as deepsea20).
const std::string numpy_bits_20 =
    "0111000111011000010010000101101001110010000101011011111100000010010101100111100011000011100111101000"
    "0101100100001111101111000011010000101101100000110010001011010111010001101010101000110111100111001111"
    "1001100100111010011111000010111110010010111001011100100111101101111100111111111110001001010010011010"
    "0111111010000111000011101111000100001100000001100111100101110101101100000100101001111100111001011011";

}  // namespace

TEST_CASE("DeepSea's action mapping equals numpy's RandomState(42).binomial bits") {
  const std::vector<int> m = DeepSea::bsuite_mapping(10, 42);
  REQUIRE(m.size() == 100);
  for (size_t i = 0; i < m.size(); ++i) CHECK_MESSAGE(m[i] == numpy_bits_10[i] - '0', "cell ", i);
  const std::vector<int> m20 = DeepSea::bsuite_mapping(20, 42);
  REQUIRE(m20.size() == 400);
  for (size_t i = 0; i < m20.size(); ++i) CHECK_MESSAGE(m20[i] == numpy_bits_20[i] - '0', "cell ", i);
  // The environment reads its cells from that mapping, row-major.
  DeepSea env(10);
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 10; ++c) CHECK(env.right_action(r, c) == numpy_bits_10[r * 10 + c] - '0');
}

TEST_CASE("DeepSea pays 0.99 on the optimal path and ends with an all-zeros observation") {
  for (int n : {10, 20, 30}) {
    DeepSea env(n);
    std::vector<double> obs = env.reset(0);
    REQUIRE(obs.size() == size_t(n * n));
    CHECK(obs[0] == 1.0);
    double ret = 0;
    Step s;
    for (int t = 0; t < n; ++t) {
      CHECK(!s.done());
      s = env.step(act(env.right_action(env.row(), env.column())));
      ret += s.reward;
      if (t < n - 1) {
        double sum = 0;
        for (double v : s.obs) sum += v;
        CHECK(sum == 1.0);
        CHECK(s.obs[(t + 1) * n + (t + 1)] == 1.0);  // the diagonal
      }
    }
    CHECK(s.terminated);
    CHECK(!s.truncated);
    CHECK(ret == doctest::Approx(0.99).epsilon(1e-12));
    for (double v : s.obs) CHECK(v == 0.0);
    CHECK_THROWS_WITH_AS(env.step(act(0)),
                         doctest::Contains(fmt::format("DeepSea-{}: step() after the episode ended", n).c_str()),
                         Error);
  }
}

TEST_CASE("DeepSea: left moves are free and clip at column 0; a wrong turn forfeits the treasure") {
  DeepSea env(10);
  env.reset();
  const Step s = env.step(act(1 - env.right_action(0, 0)));  // left from column 0
  CHECK(s.reward == 0.0);
  CHECK(env.column() == 0);
  CHECK(env.row() == 1);
  double ret = s.reward;
  Step last;
  for (int t = 1; t < 10; ++t) {
    last = env.step(act(env.right_action(env.row(), env.column())));
    ret += last.reward;
  }
  CHECK(env.column() == 9);
  CHECK(ret == doctest::Approx(-0.009).epsilon(1e-12));  // nine right moves, no treasure
  // a right move from the last column at the last row: +1 - 0.01/N
  env.set_position(9, 9);
  CHECK(env.step(act(env.right_action(9, 9))).reward == doctest::Approx(1.0 - 0.001));
  env.set_position(9, 9);
  CHECK(env.step(act(1 - env.right_action(9, 9))).reward == 0.0);
}

TEST_CASE("GridMaze has four rooms with four doorways and renders them") {
  GridMaze env;
  env.reset(0);
  const std::string want =
      "###############\n"
      "#A.T...#......#\n"
      "#......#......#\n"
      "#.............#\n"
      "#......#......#\n"
      "#......#......#\n"
      "#......#......#\n"
      "###.######.####\n"
      "#......#......#\n"
      "#......#......#\n"
      "#.............#\n"
      "#......#......#\n"
      "#......#......#\n"
      "#......#.....G#\n"
      "###############\n";
  GridMaze cell_tv(parse_grid_maze_name("GridMaze-NoisyTV-Cell"));
  cell_tv.reset(0);
  CHECK(cell_tv.render() == want);
  std::string no_tv = want;
  no_tv[16 + 3] = '.';
  CHECK(env.render() == no_tv);
  CHECK(env.is_wall(7, 1));
  CHECK(!env.is_wall(7, 3));
  CHECK(!env.is_wall(3, 7));
  CHECK(env.is_wall(-1, 3));
}

TEST_CASE("GridMaze moves, stays put at walls, pays +1 at the goal and observes (x, y)/(N-1)") {
  GridMaze env;
  auto obs = env.reset(0);
  CHECK(obs == std::vector<double>{1.0 / 14, 1.0 / 14});
  Step s = env.step(act(0));  // up into the border: stays
  CHECK(env.info().x == 1);
  CHECK(env.info().y == 1);
  CHECK(s.reward == 0);
  s = env.step(act(3));  // left into the border
  CHECK(env.info().x == 1);
  s = env.step(act(2));  // down
  CHECK(env.info().y == 2);
  s = env.step(act(1));  // right
  CHECK(env.info().x == 2);
  CHECK(s.obs == std::vector<double>{2.0 / 14, 2.0 / 14});
  env.set_position(6, 1);
  env.step(act(1));  // into the inner wall at x = 7
  CHECK(env.info().x == 6);
  env.set_position(12, 13);
  s = env.step(act(1));
  CHECK(s.terminated);
  CHECK(s.reward == 1.0);
  CHECK(env.info().x == 13);
  CHECK_THROWS_WITH_AS(
      env.step(act(1)),
      doctest::Contains("GridMaze-FarGoal: step() after the episode ended (terminated or truncated) without reset()"),
      Error);
  // horizon 4N = 60
  env.reset();
  for (int t = 0; t < 59; ++t) CHECK(!env.step(act(0)).done());
  s = env.step(act(0));
  CHECK(s.truncated);
  CHECK(!s.terminated);
  // one-hot
  GridMaze one_hot(parse_grid_maze_name("GridMaze-FarGoal-OneHot"));
  obs = one_hot.reset(0);
  REQUIRE(obs.size() == 225);
  CHECK(obs[1 * 15 + 1] == 1.0);
  one_hot.step(act(1));
  CHECK(one_hot.step(act(2)).obs[2 * 15 + 2] == 1.0);
}

TEST_CASE("GridMaze shortest path to the far goal fits the horizon") {
  // breadth-first search over free cells from the start
  GridMaze env;
  const int n = 15;
  std::vector<int> dist(n * n, -1);
  std::vector<int> queue = {1 * n + 1};
  dist[1 * n + 1] = 0;
  for (size_t q = 0; q < queue.size(); ++q) {
    const int x = queue[q] % n, y = queue[q] / n;
    const int dx[] = {0, 1, 0, -1}, dy[] = {-1, 0, 1, 0};
    for (int k = 0; k < 4; ++k) {
      const int nx = x + dx[k], ny = y + dy[k];
      if (!env.is_wall(nx, ny) && dist[ny * n + nx] < 0) {
        dist[ny * n + nx] = dist[queue[q]] + 1;
        queue.push_back(ny * n + nx);
      }
    }
  }
  CHECK(dist[13 * n + 13] == 24);
  int free_cells = 0;
  for (int d : dist) free_cells += d >= 0;
  CHECK(free_cells == 4 * 36 + 4);  // every floor cell is reachable
}

TEST_CASE("NoisyTV action variant: noise only on the step the remote is pressed") {
  GridMaze env(parse_grid_maze_name("GridMaze-NoisyTV-Action"));
  CHECK(env.action_space().n == 5);
  auto obs = env.reset(1);
  REQUIRE(obs.size() == 2 + 16);
  for (int i = 2; i < 18; ++i) CHECK(obs[i] == 0.0);
  Step s = env.step(act(GridMaze::remote_action));
  CHECK(env.info().pressed_remote);
  CHECK(env.info().tv_on);
  CHECK(env.info().x == 1);  // the remote does not move the agent
  std::set<double> values;
  for (int i = 2; i < 18; ++i) {
    CHECK(s.obs[i] >= 0.0);
    CHECK(s.obs[i] < 1.0);
    values.insert(s.obs[i]);
  }
  CHECK(values.size() == 16);
  const Step s2 = env.step(act(GridMaze::remote_action));
  CHECK(s2.obs != s.obs);  // fresh noise every press
  s = env.step(act(1));
  CHECK(!env.info().tv_on);
  for (int i = 2; i < 18; ++i) CHECK(s.obs[i] == 0.0);
  // the plain maze rejects a fifth action
  GridMaze plain;
  plain.reset();
  CHECK_THROWS_WITH_AS(plain.step(act(4)),
                       doctest::Contains("GridMaze-FarGoal: unknown action 4 (the actions are the integers 0..3)"),
                       Error);
}

TEST_CASE("NoisyTV cell variant: noise exactly while the agent stands on the TV cell") {
  GridMaze env(parse_grid_maze_name("GridMaze-NoisyTV-Cell"));
  CHECK(env.action_space().n == 4);
  CHECK(env.tv_cell() == std::pair<int64_t, int64_t>{3, 1});
  env.reset(2);
  auto noise_sum = [](const std::vector<double>& o) {
    double sum = 0;
    for (size_t i = 2; i < o.size(); ++i) sum += o[i];
    return sum;
  };
  CHECK(noise_sum(env.step(act(2)).obs) == 0.0);  // (1, 2)
  CHECK(noise_sum(env.step(act(1)).obs) == 0.0);  // (2, 2)
  CHECK(noise_sum(env.step(act(1)).obs) == 0.0);  // (3, 2)
  Step s = env.step(act(0));                      // (3, 1): the TV
  CHECK(env.info().on_tv_cell);
  CHECK(noise_sum(s.obs) > 0.0);
  s = env.step(act(0));  // up into the wall: still on the TV, new noise
  CHECK(env.info().on_tv_cell);
  CHECK(noise_sum(s.obs) > 0.0);
  s = env.step(act(1));  // (4, 1)
  CHECK(!env.info().on_tv_cell);
  CHECK(noise_sum(s.obs) == 0.0);
}

TEST_CASE("Sticky actions repeat the previous action about a quarter of the time, reproducibly") {
  GridMaze env(parse_grid_maze_name("GridMaze-NoGoal-Sticky"));
  CHECK(env.options().sticky_prob == 0.25);
  env.reset(3);
  // Among steps whose chosen action differs from the previous executed one,
  // the executed action is the previous one with probability 0.25.
  int repeats = 0, steps = 0;
  int prev = -1;
  std::vector<int64_t> executed;
  for (int episode = 0; episode < 40; ++episode) {
    env.reset();
    prev = -1;
    for (int t = 0; t < 60; ++t) {
      const int a = (t % 2 == 0) ? 1 : 2;  // alternate, so a repeat is visible
      env.step(act(a));
      if (prev >= 0 && prev != a) {
        ++steps;
        repeats += env.info().executed_action == prev;
      }
      prev = int(env.info().executed_action);
      executed.push_back(env.info().executed_action);
    }
  }
  const double rate = double(repeats) / steps;
  CHECK(rate > 0.21);
  CHECK(rate < 0.29);
  GridMaze again(parse_grid_maze_name("GridMaze-NoGoal-Sticky"));
  again.reset(3);
  size_t k = 0;
  for (int episode = 0; episode < 3; ++episode) {
    again.reset();
    for (int t = 0; t < 60; ++t) {
      again.step(act((t % 2 == 0) ? 1 : 2));
      CHECK(again.info().executed_action == executed[k++]);
    }
  }
}

TEST_CASE("GridMaze names parse into options; bad names are errors") {
  const auto o = parse_grid_maze_name("GridMaze-N21-Room2-OneHot");
  CHECK(o.size == 21);
  CHECK(o.goal == GridMazeOptions::Goal::room2);
  CHECK(o.one_hot);
  GridMaze room(parse_grid_maze_name("GridMaze-Room1"));
  CHECK(room.goal() == std::pair<int64_t, int64_t>{10, 3});
  GridMaze free(parse_grid_maze_name("GridMaze-NoGoal"));
  CHECK(!free.goal());
  CHECK_THROWS_WITH_AS(parse_grid_maze_name("GridMaze-Banana"),
                       doctest::Contains("unknown GridMaze option 'Banana' in 'GridMaze-Banana'"), Error);
  CHECK_THROWS_WITH_AS(parse_grid_maze_name("GridMaze-NoisyTV"),
                       doctest::Contains("in 'GridMaze-NoisyTV', NoisyTV must be followed by -Action or -Cell"), Error);
  CHECK_THROWS_WITH_AS(parse_grid_maze_name("GridMaze-FarGoal-NoGoal"),
                       doctest::Contains("'GridMaze-FarGoal-NoGoal' names two goals"), Error);
  CHECK_THROWS_WITH_AS(GridMaze(parse_grid_maze_name("GridMaze-N3")),
                       doctest::Contains("GridMaze-N3: size must be in [7, 201], got 3"), Error);
}
