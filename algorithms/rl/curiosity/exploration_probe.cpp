// Coverage and TV-time probes, and the success metrics of the curiosity experiments.
#include "algorithms/rl/curiosity/exploration_probe.h"

#include <map>

#include "algorithms/rl/curiosity/temporal_inconsistency.h"
#include "algorithms/rl/rl_utils.h"
#include "envs/deep_sea.h"
#include "envs/grid_maze.h"
#include "tensor/error.h"

namespace gradlab::rl::curiosity {

double ExplorationCounters::coverage() const {
  int64_t seen = 0;
  for (uint8_t v : visited) seen += v;
  return reachable_cells > 0 ? double(seen) / double(reachable_cells) : 0.0;
}

double ExplorationCounters::tv_fraction() const { return steps > 0 ? double(tv_steps) / double(steps) : 0.0; }

ExplorationProbe::ExplorationProbe(envs::EnvPtr env, std::shared_ptr<ExplorationCounters> counters)
    : Wrapper(std::move(env)), counters_(std::move(counters)) {
  GL_CHECK(counters_ != nullptr, "ExplorationProbe: counters are null");
  if (auto* g = envs::find_wrapper<envs::GridMaze>(*env_)) {
    const int64_t n = g->size();
    if (counters_->visited.empty()) {
      counters_->visited.assign(size_t(n * n), 0);
      for (int64_t y = 0; y < n; ++y)
        for (int64_t x = 0; x < n; ++x) counters_->reachable_cells += g->is_wall(x, y) ? 0 : 1;
    }
  } else if (auto* d = envs::find_wrapper<envs::DeepSea>(*env_)) {
    const int64_t n = d->size();
    if (counters_->visited.empty()) {
      counters_->visited.assign(size_t(n * n), 0);
      counters_->reachable_cells = n * (n + 1) / 2;  // row r reaches columns 0..r
    }
  } else {
    fail("ExplorationProbe: {} is neither a GridMaze nor a DeepSea", env_->name());
  }
}

void ExplorationProbe::record_cell() {
  if (auto* g = envs::find_wrapper<envs::GridMaze>(*env_)) {
    counters_->visited.at(size_t(g->cell_index())) = 1;
  } else if (auto* d = envs::find_wrapper<envs::DeepSea>(*env_)) {
    if (d->row() < d->size()) counters_->visited.at(size_t(d->row() * d->size() + d->column())) = 1;
  }
}

std::vector<double> ExplorationProbe::reset(std::optional<uint64_t> seed) {
  std::vector<double> obs = env_->reset(seed);
  record_cell();
  return obs;
}

envs::Step ExplorationProbe::step(const std::vector<double>& action) {
  envs::Step s = env_->step(action);
  record_cell();
  ++counters_->steps;
  if (auto* g = envs::find_wrapper<envs::GridMaze>(*env_)) counters_->tv_steps += g->info().tv_on ? 1 : 0;
  return s;
}

std::function<envs::EnvPtr()> probed(std::function<envs::EnvPtr()> make, std::shared_ptr<ExplorationCounters> c) {
  return [make = std::move(make), c = std::move(c)]() -> envs::EnvPtr {
    return std::make_unique<ExplorationProbe>(make(), c);
  };
}

int64_t first_success_episode(const std::vector<EpisodeRecord>& episodes, double threshold) {
  for (size_t e = 0; e < episodes.size(); ++e)
    if (episodes[e].extrinsic_return > threshold) return int64_t(e) + 1;
  return -1;
}

std::vector<std::pair<double, double>> training_success_curve(const std::vector<EpisodeRecord>& episodes,
                                                              int64_t steps, int64_t windows, double threshold) {
  GL_CHECK(steps >= 1 && windows >= 1, "training_success_curve: steps ({}) and windows ({}) must be >= 1", steps,
           windows);
  const int64_t window = std::max<int64_t>(1, steps / windows);
  std::map<int64_t, std::pair<double, double>> bins;  // window -> (successes, episodes)
  for (const EpisodeRecord& e : episodes) {
    auto& [wins, n] = bins[(e.global_step - 1) / window];
    wins += e.extrinsic_return > threshold ? 1 : 0;
    n += 1;
  }
  std::vector<std::pair<double, double>> curve;
  for (const auto& [b, wn] : bins) curve.emplace_back(double((b + 1) * window), wn.first / wn.second);
  return curve;
}

double success_rate(PPOCuriosity& agent, envs::Env& env, int64_t episodes, uint64_t seed, bool greedy,
                    double threshold) {
  GL_CHECK(episodes >= 1, "success_rate: episodes must be >= 1, got {}", episodes);
  int64_t wins = 0;
  for (int64_t e = 0; e < episodes; ++e) {
    std::vector<double> obs = env.reset(seed + uint64_t(e));
    double ret = 0;
    for (int64_t t = 0;; ++t) {
      GL_CHECK(t < 100000, "success_rate: an episode of {} ran past 100000 steps", env.name());
      const Tensor o = from_vector(obs, {1, int64_t(obs.size())}).to(DType::f32);
      const double a = agent.act(o, greedy).item();
      const envs::Step s = env.step({a});
      ret += s.reward;
      obs = s.obs;
      if (s.done()) break;
    }
    wins += ret > threshold ? 1 : 0;
  }
  return double(wins) / double(episodes);
}

}  // namespace gradlab::rl::curiosity

namespace gradlab::rl::curiosity {

CuriosityRunResult run_curiosity(PPOCuriosity& agent, const CuriosityRunSpec& spec) {
  auto counters = std::make_shared<ExplorationCounters>();
  envs::VectorEnv vec(probed(spec.make, counters), agent.args().num_envs);
  CuriosityRunResult r;
  r.train = agent.train(vec, spec.steps, derive_seed(agent.args().seed, 100));
  r.coverage = counters->coverage();
  r.tv_fraction = counters->tv_fraction();
  r.first_success_episode = first_success_episode(r.train.episodes);
  envs::EnvPtr eval_env = spec.make();
  r.success_rate = success_rate(agent, *eval_env, spec.eval_episodes, derive_seed(agent.args().seed, 200), false);
  if (const IntrinsicReward* m = agent.intrinsic()) r.curiosity_parameters = m->trained_parameters();
  if (const auto* ti = dynamic_cast<const TemporalInconsistency*>(agent.intrinsic())) {
    r.ti_snapshots_filled = ti->snapshot_count();
    r.ti_snapshots_taken = ti->snapshots_taken();
  }
  return r;
}

CuriosityRunResult run_curiosity(const CuriosityRunSpec& spec) {
  envs::EnvPtr probe_env = spec.make();
  const envs::Space& os = probe_env->observation_space();
  const envs::Space& as = probe_env->action_space();
  GL_CHECK(as.is_discrete() && !os.is_discrete(), "run_curiosity: {} needs a box observation and discrete actions",
           probe_env->name());
  PPOCuriosity agent(os.dim(), as.n, spec.args);
  return run_curiosity(agent, spec);
}

}  // namespace gradlab::rl::curiosity
