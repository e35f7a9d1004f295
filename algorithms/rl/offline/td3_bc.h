// TD3+BC (Fujimoto & Gu 2021, arXiv 2106.06860), docs/papers/rl-baselines.md
// "TD3+BC": TD3 whose actor also regresses onto the data's actions,
//   actor loss = -(alpha / mean|Q1(s, pi(s))|) mean Q1(s, pi(s)) + mean (pi(s) - a)^2,
// with alpha = 2.5 and states standardised with the dataset's statistics.
// TD3BCLearner updates from any batch (ORPO's output policy uses it on
// mixed real and model data); train_td3_bc is the offline baseline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/rl/buffers.h"
#include "algorithms/rl/networks.h"
#include "algorithms/rl/offline/offline_data.h"
#include "optim/adam.h"
#include "optim/step_tally.h"

namespace gradlab::rl {

// The actor loss above for Q1(s, pi(s)) [B], pi(s) [B, A] and the data's
// actions [B, A]; the weight alpha / mean|Q| is a constant (no gradient).
// bc_weight scales the regression term (1 in TD3+BC; 0 gives TD3's actor).
Var td3bc_actor_loss(const Var& q_pi, const Var& pi, const Tensor& data_actions, double alpha, double bc_weight = 1.0);

struct TD3BCLearnerOptions {
  std::vector<int64_t> hidden{256, 256};
  double actor_lr = 3e-4, critic_lr = 3e-4;
  double gamma = 0.99, tau = 0.005;
  double policy_noise = 0.2, noise_clip = 0.5;  // in units of the action scale
  int64_t policy_frequency = 2;
  double alpha = 2.5;
  double bc_weight = 1.0;
  // Where the networks and their optimiser state live (cpu, cuda, ref);
  // batches are moved there by the buffer that samples them.
  Device device = Device::cpu;
};

class TD3BCLearner {
 public:
  TD3BCLearner(int64_t obs_dim, const envs::Space& actions, const TD3BCLearnerOptions& options, uint64_t seed);

  // One step: both critics towards the smoothed clipped double-Q target; every
  // policy_frequency-th call also the actor and the three targets. On a device
  // it reads nothing back: the losses' finite checks are read every
  // kUpdatesPerCheck updates (on the CPU at once, before each backward pass),
  // and the step's numbers stay there until stats().
  void update(const ReplayBuffer::Batch& batch);
  static constexpr int64_t kUpdatesPerCheck = 100;

  // What the last update measured, read in one copy.
  struct Stats {
    double critic_loss = 0, actor_loss = 0, q_mean = 0;  // actor_loss NaN on steps without an actor update
  };
  Stats stats() const;

  // mu(s) for observations [N, obs] (no gradient), and mu(s) + N(0, std
  // scale) clipped into the box (the exploratory output policy of ORPO).
  Tensor act(const Tensor& obs) const;
  std::vector<double> act(const std::vector<double>& obs) const;
  Tensor act_noisy(const Tensor& obs, double std, Generator& gen) const;

  int64_t updates() const { return updates_; }

  Generator init_gen;  // first: the networks below draw their weights from it
  DeterministicActor actor, actor_target;
  QNetwork qf1, qf2, qf1_target, qf2_target;

 private:
  TD3BCLearnerOptions options_;
  std::vector<double> scale_, low_, high_;
  Generator noise_gen_;
  // Made after the networks are on their device (their state is made there).
  std::unique_ptr<optim::Adam> q_optimizer_, actor_optimizer_;
  int64_t updates_ = 0;
  optim::StepTally critic_check_, actor_check_;
  Tensor last_critic_loss_, last_actor_loss_, last_q_mean_;  // 0-d, on the device; no actor loss on a critic-only step
};

// The offline baseline: TD3+BC on the dataset alone.
struct TD3BCArgs {
  std::string exp_name = "td3_bc";
  uint64_t seed = 1;
  int64_t gradient_steps = 1000000;
  int64_t batch_size = 256;
  bool normalize_states = true;
  TD3BCLearnerOptions learner;
  int64_t eval_every = 5000;  // gradient steps between evaluations; 0: only the final one
  int64_t eval_episodes = 10;
  double progress_seconds = 2.0;
  // Where the learners' networks, optimiser state and batches live (cpu,
  // cuda, ref): it overrides the learner options' device.
  Device device = Device::cpu;
};

OfflineResult train_td3_bc(const TD3BCArgs& args, const envs::Dataset& data);

}  // namespace gradlab::rl
