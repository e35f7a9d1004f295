// Behaviour cloning, the simplest offline baseline: a deterministic tanh
// actor regressed onto the dataset's actions,
//   loss = mean_batch (pi(s) - a)^2,
// on states standardised with the dataset's statistics (optional, as in
// TD3+BC, docs/papers/rl-baselines.md (TD3BC.2)). It is TD3+BC's actor loss
// without the Q term (td3_bc.h, bc_weight only), so BC measures what the
// data's behaviour alone is worth.
#pragma once

#include <string>
#include <vector>

#include "algorithms/rl/offline/offline_data.h"
#include "autograd/ops.h"

namespace gradlab::rl {

// The regression loss above for pi(s) [B, A] and the data's actions [B, A].
Var bc_loss(const Var& pi, const Tensor& data_actions);

struct BCArgs {
  std::string exp_name = "bc";
  uint64_t seed = 1;
  int64_t gradient_steps = 100000;
  int64_t batch_size = 256;
  double lr = 3e-4;
  std::vector<int64_t> hidden{256, 256};
  bool normalize_states = true;
  int64_t eval_every = 5000;  // gradient steps between evaluations; 0: only the final one
  int64_t eval_episodes = 10;
  double progress_seconds = 2.0;
  Device device = Device::cpu;  // where the actor, its optimiser state and the batches live
};

// Trains the actor on the dataset alone and evaluates mu(s) in the true env
// (the env named in the dataset's metadata).
OfflineResult train_bc(const BCArgs& args, const envs::Dataset& data);

}  // namespace gradlab::rl
