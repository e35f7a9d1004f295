// CQL(H) for continuous actions (Kumar et al. 2020, arXiv 2006.04779),
// docs/papers/rl-baselines.md "CQL": SAC (sac_learner.h) whose critic loss
// gets the conservative penalty (CQL.1) through SACLearner's regulariser
// hook. For each critic Q_j the penalty pushes down a soft maximum of Q over
// all actions, log ∫ exp Q(s, a) da, and pushes up Q on the data's actions:
//   gap_j = mean_s [ L_j(s) - Q_j(s, a_data) ]
//   penalty = alpha (gap_1 + gap_2)                       (fixed alpha, 5 by default)
//   penalty = alpha' ((gap_1 - tau) + (gap_2 - tau))      (Lagrangian variant)
// where L_j(s) is the importance-sampled estimate (CQL.2) of log ∫ exp Q_j(s, a) da:
// with N actions from each of three proposals, all evaluated at s,
//   a_u ~ Uniform(action box), density 1 / vol (vol = prod_k (high_k - low_k)),
//   a_p ~ pi(. | s),  log density log pi(a_p | s),
//   a_n ~ pi(. | s'), log density log pi(a_n | s')
// (SAC's squashed actions: log pi includes the tanh and scale corrections),
//   L(s) = logsumexp over the 3N samples of
//            [ Q(s, a_u) - log(1 / vol),  Q(s, a_p) - log pi(a_p | s),  Q(s, a_n) - log pi(a_n | s') ]
//          - log(3N),
// i.e. the log of the mean of the importance weights exp(Q) / proposal; each
// third is an unbiased estimate of ∫ exp Q, so their mean is too, and L is
// consistent as N grows (the log makes it biased low for finite N). The
// CQL authors' code omits the - log(3N), a constant that changes no gradient;
// gradlab keeps it so that L is an estimate of the log-integral itself.
// The sampled actions and their log densities are constants: the penalty's
// gradient reaches the critics only.
//
// The Lagrangian variant learns alpha' = clamp(exp(log alpha'), 0, 1e6) with
// Adam on loss_alpha' = -alpha' (mean_j gap_j - tau) (gaps held constant):
// alpha' grows while the gap exceeds the threshold tau and shrinks below it.
#pragma once

#include <string>

#include "algorithms/rl/offline/offline_data.h"
#include "algorithms/rl/offline/sac_learner.h"
#include "autograd/ops.h"
#include "optim/adam.h"
#include "optim/step_tally.h"

namespace gradlab::rl {

// L(s) above, for one critic: q_uniform, q_policy and q_next_policy [B, N]
// hold Q(s, .) at the three proposals' samples, log_policy and
// log_next_policy [B, N] their log densities, log_uniform_density the
// uniform's (-log vol). Returns [B]. The log densities carry no gradient.
Var cql_importance_sampled_logsumexp(const Var& q_uniform, double log_uniform_density, const Var& q_policy,
                                     const Tensor& log_policy, const Var& q_next_policy, const Tensor& log_next_policy);

// gap = mean_s [ L(s) - Q(s, a_data) ] for L [B] and Q(s, a_data) [B] (CQL.1).
Var cql_gap(const Var& logsumexp, const Var& q_data);

// loss_alpha' = -clamp(exp(log_alpha'), 0, alpha_prime_max) (gap - target_gap),
// for the leaf log_alpha' ([1]) and the gap as a constant: one f64 value on
// log_alpha''s device (nothing is read back; a non-finite gap shows as a
// non-finite loss), or a host number (checked finite at once).
Var cql_alpha_prime_loss(const Var& log_alpha_prime, const Tensor& gap, double target_gap,
                         double alpha_prime_max = 1e6);
Var cql_alpha_prime_loss(const Var& log_alpha_prime, double gap, double target_gap, double alpha_prime_max = 1e6);

struct CQLOptions {
  int64_t num_samples = 10;  // N actions per proposal and state
  double alpha = 5.0;        // the fixed penalty weight
  bool lagrangian = false;   // learn alpha' instead
  double target_gap = 10.0;  // tau, the Lagrangian's threshold
  double alpha_prime_init = 1.0;
  double alpha_prime_lr = 3e-4;
  double alpha_prime_max = 1e6;
  Device device = Device::cpu;  // where alpha' lives: the learner's (train_cql sets it from CQLArgs::device)
};

// The penalty as a SACLearner::CriticRegulariser: call it with the batch and
// the learner (update(batch, std::ref(penalty)) or a lambda). In the
// Lagrangian variant each call also takes one Adam step on log alpha' (with
// the gaps of this batch) before weighting the penalty by the previous alpha';
// on a device that step reads nothing back (alpha' and the gaps stay there).
class CQLPenalty {
 public:
  CQLPenalty(const envs::Space& actions, const CQLOptions& options, uint64_t seed);

  Var operator()(const ReplayBuffer::Batch& batch, SACLearner& learner);

  // One Adam step of the Lagrangian on the mean gap; returns the new alpha'.
  double lagrange_step(double mean_gap);

  // alpha' in the Lagrangian variant, else the fixed alpha.
  double weight() const;
  // The last call's gaps (per critic) and mean L(s) (per critic); 0 before
  // the first call. They stay on the device until asked for (one read each).
  double last_gap1() const { return read_or_zero(gap1_); }
  double last_gap2() const { return read_or_zero(gap2_); }
  double last_logsumexp1() const { return read_or_zero(lse1_); }
  double last_logsumexp2() const { return read_or_zero(lse2_); }
  const CQLOptions& options() const { return options_; }

 private:
  CQLOptions options_;
  std::vector<double> low_, high_;
  double log_uniform_density_;
  Generator gen_;
  Var log_alpha_prime_;
  optim::Adam alpha_prime_optimizer_;
  Tensor gap1_, gap2_, lse1_, lse2_;  // 0-d, on the device
  int64_t lagrange_steps_ = 0;
  optim::StepTally alpha_prime_check_;  // the Lagrangian's losses, read every 100 steps on a device

  // One Adam step of the Lagrangian on the mean gap (0-d f64 on the device),
  // without reading alpha' back.
  void lagrange_update(const Tensor& mean_gap);
  // alpha' = clamp(exp(log alpha'), 0, alpha_prime_max): 0-d f64 on the device.
  Tensor alpha_prime() const;
  static double read_or_zero(const Tensor& t) { return t.defined() ? t.item() : 0.0; }
};

// The offline baseline: CQL on the dataset alone. The learner's defaults are
// the CQL paper's: policy lr 1e-4, critic lr 3e-4, SAC's automatic temperature.
struct CQLArgs {
  std::string exp_name = "cql";
  uint64_t seed = 1;
  int64_t gradient_steps = 1000000;
  int64_t batch_size = 256;
  bool normalize_states = false;
  SACLearnerOptions learner;
  CQLOptions cql;
  int64_t eval_every = 5000;  // gradient steps between evaluations; 0: only the final one
  int64_t eval_episodes = 10;
  double progress_seconds = 2.0;
  // Where the learners' networks, optimiser state and batches live (cpu,
  // cuda, ref): it overrides the learner options' device.
  Device device = Device::cpu;
};

// Trains on the dataset and evaluates the deterministic policy tanh(mean) in
// the true env (the env named in the dataset's metadata).
OfflineResult train_cql(const CQLArgs& args, const envs::Dataset& data);

}  // namespace gradlab::rl
