// MOPO (Yu et al. 2020, arXiv 2005.13239), docs/papers/rl-baselines.md
// "MOPO, MOReL, COMBO" (MOPO.1): model-based offline RL in the pessimistic
// MDP. A dynamics ensemble is fitted to the data; every rollout_every
// gradient steps, SAC's own (stochastic) policy is rolled out h steps from
// dataset states inside the model, each transition labelled with the
// penalised reward r^ - lambda u(s, a); SAC then trains on batches of 5%
// real and 95% model data. MOPO is the pessimistic baseline of ORPO.
#pragma once

#include <memory>
#include <string>

#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "algorithms/rl/offline/offline_data.h"
#include "algorithms/rl/offline/sac_learner.h"

namespace gradlab::rl {

struct MOPOArgs {
  std::string exp_name = "mopo";
  uint64_t seed = 1;
  int64_t gradient_steps = 1000000;
  int64_t batch_size = 256;
  double real_fraction = 0.05;    // of every batch; the rest is model data
  int64_t rollout_every = 1000;   // gradient steps between rollout rounds (one before the first step)
  int64_t rollout_batch = 50000;  // start states per round
  int64_t horizon = 5;            // h
  int64_t retain_rounds = 5;      // the model buffer keeps this many rounds (FIFO)
  double lambda = 1.0;            // the uncertainty penalty
  bool normalize_states = true;
  bool clip_model_states =
      true;  // model states clipped into the env's observation box   // the policy and critics see standardised states
  SACLearnerOptions learner;
  DynamicsEnsembleOptions dynamics;
  int64_t eval_every = 5000;
  int64_t eval_episodes = 10;
  double progress_seconds = 2.0;
  // Where everything lives (cpu, cuda, ref): the learners' networks,
  // optimiser state and batches, the dynamics ensemble and its model
  // rollouts; it overrides the learner options' and dynamics' device (a given
  // ensemble must be there). The model buffer and the dataset's replay buffer
  // stay on the host: each rollout step's rows are read back once, and a
  // mixed batch crosses to the device once per update.
  Device device = Device::cpu;
};

// The fitted ensemble for data: `model` when given (already trained, e.g.
// shared by several methods of one seed; it must be on options.device),
// else one trained here with `options`.
std::shared_ptr<const DynamicsEnsemble> fitted_dynamics(const envs::Dataset& data,
                                                        std::shared_ptr<const DynamicsEnsemble> model,
                                                        const DynamicsEnsembleOptions& options, uint64_t seed);

OfflineResult train_mopo(const MOPOArgs& args, const envs::Dataset& data,
                         std::shared_ptr<const DynamicsEnsemble> model = nullptr);

}  // namespace gradlab::rl
