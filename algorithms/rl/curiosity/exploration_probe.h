// Measuring exploration on the grid tasks (docs/papers/environments.md): ExplorationProbe is an
// env wrapper that records, for GridMaze and DeepSea, which cells the agent
// has visited (state coverage) and how many steps it spent with the noisy TV
// on (the NoisyTV "fraction of time on the TV"), before the vector env's
// auto-reset can hide the last step. All probes of one run share one
// ExplorationCounters. Also: the episode/evaluation helpers the curiosity
// experiments share (episodes to first reward, success rate).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "algorithms/rl/curiosity/ppo_curiosity.h"
#include "envs/wrappers.h"

namespace gradlab::rl::curiosity {

struct ExplorationCounters {
  std::vector<uint8_t> visited;  // per cell index
  int64_t reachable_cells = 0;   // the denominator of coverage
  int64_t steps = 0, tv_steps = 0;
  double coverage() const;     // distinct visited cells / reachable cells
  double tv_fraction() const;  // tv_steps / steps
};

class ExplorationProbe : public envs::Wrapper {
 public:
  // env must be (or wrap) a GridMaze or a DeepSea.
  ExplorationProbe(envs::EnvPtr env, std::shared_ptr<ExplorationCounters> counters);
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) override;
  envs::Step step(const std::vector<double>& action) override;

 private:
  void record_cell();
  std::shared_ptr<ExplorationCounters> counters_;
};

// A factory of probed envs for VectorEnv.
std::function<envs::EnvPtr()> probed(std::function<envs::EnvPtr()> make, std::shared_ptr<ExplorationCounters> counters);

// 1-based index of the first training episode whose extrinsic return exceeds
// `threshold`; -1 when none did.
int64_t first_success_episode(const std::vector<EpisodeRecord>& episodes, double threshold = 0.5);

// The learning curve of a training run of `steps` environment steps: in each
// of `windows` equal windows of steps, the fraction of the training episodes
// ending there whose extrinsic return exceeds `threshold`, as (the window's
// last step, fraction) pairs; windows in which no episode ended are left out.
std::vector<std::pair<double, double>> training_success_curve(const std::vector<EpisodeRecord>& episodes,
                                                              int64_t steps, int64_t windows = 10,
                                                              double threshold = 0.5);

// Fraction of `episodes` evaluation episodes (policy actions sampled, or
// greedy) whose return exceeds `threshold`; env episode e is reset with seed + e.
double success_rate(PPOCuriosity& agent, envs::Env& env, int64_t episodes, uint64_t seed, bool greedy,
                    double threshold = 0.5);

}  // namespace gradlab::rl::curiosity

namespace gradlab::rl::curiosity {

// One training run of PPO (+ curiosity) on probed envs, with the metrics the
// curiosity experiments report.
struct CuriosityRunSpec {
  PPOCuriosityArgs args;               // method, seed, sizes, coefficients
  std::function<envs::EnvPtr()> make;  // the task's env
  int64_t steps = 20000;               // environment steps
  int64_t eval_episodes = 20;
};
struct CuriosityRunResult {
  TrainStats train;
  double coverage = 0, tv_fraction = 0, success_rate = 0;
  int64_t first_success_episode = -1;  // -1: never
  int64_t curiosity_parameters = 0;    // trained by the intrinsic module (0: none or fixed)
  int64_t ti_snapshots_filled = -1;    // TI: snapshots in the FIFO at the end (-1: not TI)
  int64_t ti_snapshots_taken = -1;     // TI: snapshots taken in all (the initial one included)
};
CuriosityRunResult run_curiosity(const CuriosityRunSpec& spec);
// The same on an existing agent (pre-training, then fine-tuning).
CuriosityRunResult run_curiosity(PPOCuriosity& agent, const CuriosityRunSpec& spec);

}  // namespace gradlab::rl::curiosity
