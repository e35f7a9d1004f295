// Space's helpers and the registry behind make_env / env_names: one table of
// fixed names, plus the parametrised families "DeepSea-<N>" and
// "GridMaze[-options]".
#include <fmt/format.h>

#include <functional>
#include <map>

#include "envs/classic_control.h"
#include "envs/deep_sea.h"
#include "envs/grid_maze.h"
#include "envs/offline_toys.h"
#include "tensor/error.h"

namespace gradlab::envs {

Space Space::discrete_space(int64_t n) {
  GL_CHECK(n > 0, "Space::discrete_space: n must be positive, got {}", n);
  Space s;
  s.kind = Kind::discrete;
  s.n = n;
  return s;
}

Space Space::box(std::vector<double> low, std::vector<double> high) {
  GL_CHECK(low.size() == high.size(), "Space::box: {} lower bounds but {} upper bounds", low.size(), high.size());
  for (size_t i = 0; i < low.size(); ++i)
    GL_CHECK(!(low[i] > high[i]), "Space::box: low[{}] = {} exceeds high[{}] = {}", i, low[i], i, high[i]);
  Space s;
  s.kind = Kind::box;
  s.low = std::move(low);
  s.high = std::move(high);
  return s;
}

int64_t Space::dim() const { return kind == Kind::discrete ? 1 : int64_t(low.size()); }

std::string Space::str() const {
  return kind == Kind::discrete ? fmt::format("Discrete({})", n) : fmt::format("Box({})", low.size());
}

namespace {

const std::map<std::string, std::function<EnvPtr()>>& fixed_envs() {
  static const std::map<std::string, std::function<EnvPtr()>> table = {
      {"CartPole-v1", [] { return std::make_unique<CartPole>(); }},
      {"Pendulum-v1", [] { return std::make_unique<Pendulum>(); }},
      {"Acrobot-v1", [] { return std::make_unique<Acrobot>(); }},
      {"MountainCar-v0", [] { return std::make_unique<MountainCar>(false); }},
      {"MountainCarContinuous-v0", [] { return std::make_unique<MountainCar>(true); }},
      {"SquareToy", [] { return std::make_unique<SquareToy>(); }},
      {"PointMass-Run", [] { return std::make_unique<PointMass>(PointMass::Task::run); }},
      {"PointMass-Jump", [] { return std::make_unique<PointMass>(PointMass::Task::jump); }},
  };
  return table;
}

}  // namespace

std::vector<std::string> env_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : fixed_envs()) names.push_back(name);
  for (const char* n : {"DeepSea-10", "DeepSea-20", "DeepSea-30"}) names.push_back(n);
  for (const std::string& n : grid_maze_names()) names.push_back(n);
  return names;
}

EnvPtr make_env(const std::string& name) {
  if (auto it = fixed_envs().find(name); it != fixed_envs().end()) return it->second();
  if (name.starts_with("DeepSea-")) return std::make_unique<DeepSea>(parse_deep_sea_size(name));
  if (name.starts_with("GridMaze")) return std::make_unique<GridMaze>(parse_grid_maze_name(name));
  std::string known;
  for (const std::string& n : env_names()) known += (known.empty() ? "" : ", ") + n;
  fail("make_env: unknown environment '{}'; known: {} (and DeepSea-<N> for any N >= 1)", name, known);
}

}  // namespace gradlab::envs
