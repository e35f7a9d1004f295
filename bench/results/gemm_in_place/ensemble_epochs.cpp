// The dynamics ensemble's training alone, for profiles: orpo_d4rl's model
// (7 members, 4 hidden layers of 64, Swish) on the Pendulum-v1 dataset level
// argv[1] (default medium, 50,000 rows, seed 0) for argv[2] epochs (default
// 100), a progress line per epoch on stderr. Linked against build/libgradlab.a
// with --whole-archive (README.md has the command).
#include <cstdio>
#include <cstdlib>

#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "envs/datasets.h"

using namespace gradlab;

int main(int argc, char** argv) {
  const char* level = argc > 1 ? argv[1] : "medium";
  const envs::Dataset data = envs::build_dataset("Pendulum-v1", level, 50000, 0);
  rl::DynamicsEnsembleOptions options;
  options.hidden = std::vector<int64_t>(4, 64);
  options.max_epochs = argc > 2 ? std::atoi(argv[2]) : 100;
  options.progress_seconds = 1e-9;  // every epoch
  rl::DynamicsEnsemble model(3, 1, options, 12345);
  const rl::DynamicsTrainReport report = model.train(data);
  std::printf("epochs %lld, elite holdout mse %g\n", (long long)report.epochs, report.elite_holdout_mse);
  return 0;
}
