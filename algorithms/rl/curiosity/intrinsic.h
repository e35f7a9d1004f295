// The common interface of gradlab's curiosity modules: an IntrinsicReward
// scores a batch of transitions (s, a, s') with a novelty bonus r^i and trains
// its own networks on such batches. PPO with curiosity (ppo_curiosity.h) calls
// reward() on each rollout, normalises it (normalization.h) and then update().
// Methods: ICM, RND, Disagreement, RE3, APT (docs/papers/rl-baselines.md), TI
// (docs/papers/temporal-inconsistency.md), DyMeCu (docs/papers/dymecu.md).
// Every module runs on the device of CuriosityOptions::device (cpu, cuda, ref).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "optim/adam.h"

namespace gradlab::rl::curiosity {

// N transitions: observations [N, D] f32, discrete actions [N] i64 in [0, A),
// next observations [N, D] f32 (the true final observation at episode ends).
struct TransitionBatch {
  Tensor obs;
  Tensor actions;
  Tensor next_obs;
  int64_t size() const { return obs.size(0); }
};

// Sizes and optimiser settings shared by every module (each module reads the
// fields it needs; the method-specific ones are grouped by method).
struct CuriosityOptions {
  int64_t obs_dim = 0;    // D
  int64_t n_actions = 0;  // A
  int64_t hidden = 64;    // width of every hidden layer
  int64_t feature_dim = 16;
  double lr = 1e-3;
  int64_t epochs = 1;       // passes over each update() batch
  int64_t minibatches = 4;  // per pass
  // ICM (docs/papers/rl-baselines.md "ICM"): loss (1 - beta) L_inv + beta L_fwd;
  // reward (eta / 2) ||f(phi(s), a) - phi(s')||^2.
  double icm_beta = 0.2;
  double icm_eta = 1.0;
  // true (the paper's form): L_fwd also trains the encoder; false ("icm_stopgrad"): phi(s), phi(s') enter the
  // forward loss with their gradients stopped, so phi is shaped by the inverse model alone.
  bool icm_forward_trains_encoder = true;
  // RND (docs/papers/rl-baselines.md): the predictor trains on this fraction of each batch;
  // observations are normalised by running statistics and clipped to +-5.
  double rnd_update_proportion = 0.25;
  bool rnd_normalize_obs = true;
  // Disagreement (docs/papers/rl-baselines.md): K forward models.
  int64_t ensemble_size = 5;
  // TI (docs/papers/temporal-inconsistency.md): K snapshots, one every snapshot_interval gradient steps;
  // variational weights w = softmax(-loss_k / T) or uniform 1/K; optional
  // Frobenius normalisation ||P||_* / (||P||_F sqrt(max(K, d))).
  int64_t ti_snapshots = 5;
  int64_t ti_snapshot_interval = 8;
  bool ti_variational = true;
  double ti_temperature = 0.1;
  bool ti_frobenius_normalize = false;
  // The target embedding g(s'): a fixed random network (false) or ("ti_ema") a BYOL-style EMA, rate
  // ti_ema_tau, of an online encoder through which the predictor sees s.
  bool ti_ema_target = false;
  double ti_ema_tau = 0.99;
  // DyMeCu (docs/papers/dymecu.md): memory EMA rate tau; reward = gap between the two
  // learners, or (memory_gap) the mean learner-vs-memory discrepancy. The memory (dymecu.h):
  // "outavg" (an EMA memory per learner, the target the average of their outputs), "own" (an EMA memory
  // per learner, each learner predicts its own), "paramavg" (one EMA of the learners' parameter average).
  double dymecu_tau = 0.99;
  bool dymecu_memory_gap = false;
  std::string dymecu_memory = "outavg";
  // RE3 and APT (docs/papers/rl-baselines.md): k of the k-nearest-neighbour distance within the batch;
  // APT's contrastive temperature and the c of log(c + d / running mean).
  int64_t apt_k = 10;
  double apt_temperature = 0.5;
  double apt_c = 1.0;
  // Where the module's networks, optimiser state and running statistics live
  // (cpu, cuda, ref); batches must be there too (check_batch says so otherwise).
  // Every method runs on every device; the host reads each one makes are
  // listed in its header.
  Device device = Device::cpu;
};

class IntrinsicReward {
 public:
  virtual ~IntrinsicReward() = default;
  virtual std::string name() const = 0;
  // The raw intrinsic reward of every transition: [N] f32, computed without a
  // graph. Not yet normalised (the trainer divides by the running std).
  virtual Tensor reward(const TransitionBatch& batch) = 0;
  // Trains the module's networks on the batch (options.epochs passes of
  // options.minibatches minibatches); returns the mean loss of the last pass.
  virtual double update(const TransitionBatch& batch) = 0;
  // The number of parameters the module trains (0 for a fixed network).
  virtual int64_t trained_parameters() const { return 0; }
};

// "icm", "icm_stopgrad", "rnd", "disagreement", "re3", "apt", "ti", "ti_uniform" (TI with uniform
// snapshot weights), "ti_ema" (TI with an EMA target), "dymecu" (output-average memory),
// "dymecu_own", "dymecu_paramavg", on options.device; throws gradlab::Error listing them for
// an unknown method, and naming the device for one that is not available here.
std::unique_ptr<IntrinsicReward> make_intrinsic_reward(const std::string& method, CuriosityOptions options,
                                                       uint64_t seed);
std::vector<std::string> intrinsic_reward_names();

// ---- helpers shared by the modules (intrinsic.cpp) ----
// [obs, one_hot(action)]: [N, D + A] f32 (actions checked by check_batch).
Tensor concat_obs_action(const Tensor& obs, const Tensor& actions, int64_t n_actions);
// Rows scaled to unit L2 norm, x / max(||x||, 1e-8): [N, d] -> [N, d].
Var normalize_rows(const Var& x);
// A random permutation of 0..n-1 split into `parts` nearly equal index tensors (i64).
std::vector<Tensor> minibatch_indices(int64_t n, int64_t parts, Generator& gen);
// The rows `index` of every tensor of the batch.
TransitionBatch select_rows(const TransitionBatch& batch, const Tensor& index);
// Checks that the batch is on options.device, its shapes, and that every action
// is in [0, A): on a device, one host read (both bounds together).
void check_batch(const TransitionBatch& batch, const CuriosityOptions& options, const std::string& who);

}  // namespace gradlab::rl::curiosity

namespace gradlab::rl::curiosity {

// The training loop every learned module shares: epochs x minibatches of
// loss(minibatch), backward, Adam step, then after_step() (TI takes its
// snapshots there, DyMeCu grows its memory).
class LearnedIntrinsicReward : public IntrinsicReward {
 public:
  double update(const TransitionBatch& batch) override;
  int64_t gradient_steps() const { return steps_; }
  int64_t trained_parameters() const override { return trained_; }

 protected:
  LearnedIntrinsicReward(CuriosityOptions options, uint64_t seed);
  // The training loss of a minibatch (a scalar with a graph to the parameters).
  virtual Var loss(const TransitionBatch& batch) = 0;
  virtual void after_step() {}
  // Builds the optimiser over these parameters (call once, at the end of the constructor).
  void set_parameters(std::vector<Var> params);

  CuriosityOptions options_;
  Generator gen_;  // initial weights, minibatch order, masks

 private:
  std::unique_ptr<optim::Adam> adam_;
  int64_t steps_ = 0, trained_ = 0;
};

}  // namespace gradlab::rl::curiosity
