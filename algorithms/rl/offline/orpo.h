// ORPO (Zhai et al., AAAI 2024, arXiv 2401.05899), docs/papers/orpo.md:
// optimistic model rollouts for pessimistic offline policy optimisation.
// One dynamics ensemble defines two MDPs, the optimistic O-MDP (reward
// r^ + beta u) and the pessimistic P-MDP (r^ - lambda u); both labels are
// stored with every model transition. A rollout policy pi_o (SAC) is trained
// in the O-MDP on 5% real + 95% of its own rollouts D_o, so it goes where the
// model is uncertain; the output policy pi (TD3+BC) is trained in the P-MDP on
// 5% real + 45% of its own rollouts D_pi + 50% of D_o, so it may learn from the
// optimistic data without trusting it. Rollouts of both run every
// rollout_every gradient steps from dataset states into FIFO buffers of
// retain_rounds rounds. Ablations: a random pi_o, pi_o = pi (then ORPO is
// MOPO-like with TD3+BC), and beta = 0.
#pragma once

#include <memory>
#include <string>

#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "algorithms/rl/offline/offline_data.h"
#include "algorithms/rl/offline/sac_learner.h"
#include "algorithms/rl/offline/td3_bc.h"

namespace gradlab::rl {

// Who fills D_o: SAC trained in the O-MDP (ORPO), uniform actions, or the
// output policy itself (pi_o = pi).
enum class RolloutPolicy { optimistic, random, output };
RolloutPolicy parse_rollout_policy(const std::string& name);  // "optimistic" | "random" | "output"
std::string rollout_policy_name(RolloutPolicy p);

struct ORPOArgs {
  std::string exp_name = "orpo";
  uint64_t seed = 1;
  int64_t gradient_steps = 1000000;
  int64_t batch_size = 256;
  int64_t rollout_every = 1000;       // gradient steps between rollout rounds (one before the first step)
  int64_t rollout_batch = 50000;      // start states per round, for each of the two policies
  int64_t horizon = 5;                // h: the output policy's rollouts
  int64_t rollout_horizon = 5;        // h_o: the rollout policy's
  int64_t retain_rounds = 5;          // FIFO size of D_o and D_pi, in rounds
  double lambda = 1.0;                // penalty of the P-MDP
  double beta = 0.015;                // bonus of the O-MDP
  double real_fraction = 0.05;        // of both learners' batches
  double output_own_fraction = 0.45;  // D_pi's share of the output policy's batch (D_o gets the rest)
  double exploration_std = 0.1;       // the output policy's Gaussian noise in its rollouts (action-scale units)
  RolloutPolicy rollout_policy = RolloutPolicy::optimistic;
  bool normalize_states = true;
  bool clip_model_states = true;       // model states clipped into the env's observation box
  SACLearnerOptions rollout_learner;   // pi_o
  TD3BCLearnerOptions output_learner;  // pi
  DynamicsEnsembleOptions dynamics;
  int64_t eval_every = 5000;
  int64_t eval_episodes = 10;
  double progress_seconds = 2.0;
  // Where everything lives (cpu, cuda, ref): the learners' networks,
  // optimiser state and batches, the dynamics ensemble and its model
  // rollouts; it overrides the learner options' and dynamics' device (a given
  // ensemble must be there). The model buffers and the dataset's replay
  // buffer stay on the host: each rollout step's rows are read back once, and
  // a mixed batch crosses to the device once per update.
  Device device = Device::cpu;
};

// result.diagnostics: rollout_uncertainty_optimistic / _output (mean u of
// the rows D_o and D_pi received), and the rollout policy's evaluation
// return in the true env (rollout_policy_return; NaN unless SAC).
OfflineResult train_orpo(const ORPOArgs& args, const envs::Dataset& data,
                         std::shared_ptr<const DynamicsEnsemble> model = nullptr);

}  // namespace gradlab::rl
