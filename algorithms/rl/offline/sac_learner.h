// SAC as a learner that updates from whatever batch it is handed, with no env
// loop: the policy optimiser of MOPO (in the pessimistic model MDP), of ORPO's
// rollout policy (in the optimistic one) and the base of CQL, which adds its
// conservative penalty to the critic loss through a hook. Losses and
// networks are SAC's (algorithms/rl/sac.h, networks.h); every update trains
// both critics, the actor and the temperature, then moves the targets.
#pragma once

#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "algorithms/rl/buffers.h"
#include "algorithms/rl/networks.h"
#include "optim/adam.h"
#include "optim/step_tally.h"

namespace gradlab::rl {

struct SACLearnerOptions {
  std::vector<int64_t> hidden{256, 256};
  double actor_lr = 1e-4, critic_lr = 3e-4, alpha_lr = 1e-4;
  double gamma = 0.99, tau = 0.005;
  bool autotune = true;
  double alpha = 0.2;                                                // the fixed temperature without autotune
  double target_entropy = std::numeric_limits<double>::quiet_NaN();  // NaN: -|A|
  double log_std_min = -5, log_std_max = 2;
  // Where the networks and their optimiser state live (cpu, cuda, ref);
  // batches are moved there by the buffer that samples them.
  Device device = Device::cpu;
};

class SACLearner {
 public:
  SACLearner(int64_t obs_dim, const envs::Space& actions, const SACLearnerOptions& options, uint64_t seed);

  // A term added to the critic loss (CQL's penalty): called with the batch
  // and the learner after the TD loss is built; returns a scalar Var.
  using CriticRegulariser = std::function<Var(const ReplayBuffer::Batch& batch, SACLearner& learner)>;

  // One update. On a device it reads nothing back: the temperature stays
  // there (a 0-d tensor in the losses), the losses' finite checks are read
  // every kUpdatesPerCheck updates (on the CPU at once, before each backward
  // pass), and the update's numbers stay there until stats().
  void update(const ReplayBuffer::Batch& batch, const CriticRegulariser& regulariser = {});
  static constexpr int64_t kUpdatesPerCheck = 100;

  // What the last update measured (regulariser 0 without one), read in one copy.
  struct Stats {
    double critic_loss = 0, actor_loss = 0, alpha = 0, q_mean = 0, regulariser = 0;
  };
  Stats stats() const;

  // Actions for observations [N, obs] ([N, A], no gradient): sampled from the
  // policy, or its mean squashed (deterministic).
  Tensor act(const Tensor& obs, bool deterministic);
  std::vector<double> act(const std::vector<double>& obs, bool deterministic);

  // The temperature now (read back from the device).
  double alpha() const { return alpha_.item<double>(); }
  int64_t updates() const { return updates_; }
  Generator& policy_generator() { return policy_gen_; }
  const SACLearnerOptions& options() const { return options_; }

  Generator init_gen;  // first: the networks below draw their weights from it
  SquashedGaussianActor actor;
  QNetwork qf1, qf2, qf1_target, qf2_target;

 private:
  SACLearnerOptions options_;
  Generator policy_gen_;
  double target_entropy_;
  Var log_alpha_;
  Tensor alpha_;  // exp(log_alpha_) after the last temperature step, or the fixed alpha: 0-d f64
  // Made after the networks are on their device (their state is made there).
  std::unique_ptr<optim::Adam> q_optimizer_, actor_optimizer_, alpha_optimizer_;
  int64_t updates_ = 0;
  optim::StepTally critic_check_, actor_check_;
  Tensor last_critic_loss_, last_actor_loss_, last_q_mean_, last_regulariser_;  // 0-d, on the device
};

}  // namespace gradlab::rl
