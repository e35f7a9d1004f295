// The probabilistic dynamics ensemble of MOPO and ORPO (docs/papers/orpo.md):
// K Gaussian MLPs (Swish) that each predict the mean and a soft-bounded
// log-variance of [s' - s, r] from the standardised (s, a), all K run as one
// batched computation (nn::GaussianMLP: one batched GEMM per layer, no loop
// over members). Training: a bootstrap sample per member, a holdout of
// min(20%, 1000) rows, Adam with per-layer weight decay and the log-variance
// bound penalty, early stopping once no member has improved its holdout MSE
// by more than 1% for `patience` epochs; the elites are the members with the
// lowest holdout MSE. A model step samples every member's Gaussian and keeps
// one random elite per row, and reports the uncertainty u(s, a) chosen.
// Everything lives on options.device (cpu, cuda, ref): the weights (made on
// the CPU from the seed, then moved), the optimiser state, the
// standardisation and the training data; random draws are made there and are
// the same numbers on every device. What crosses to the host: train() reads
// the per-member holdout MSEs once per epoch (early stopping is host control
// flow); step() reads nothing.
#pragma once

#include <string>
#include <vector>

#include "envs/datasets.h"
#include "nn/gaussian_mlp.h"

namespace gradlab::rl {

// u(s, a): aleatoric = max over members of the L2 norm of the predicted std
// (MOPO's estimate); ensemble_std = sqrt(mean over next-state dims of the
// variance of the members' means) over all members.
enum class Uncertainty { aleatoric, ensemble_std };
Uncertainty parse_uncertainty(const std::string& name);  // "aleatoric" | "ensemble_std"; throws naming the value
std::string uncertainty_name(Uncertainty u);

// The model loss of (ORPO.2) without its regularisers: per member
// mean((mu - y)^2 exp(-lv)) + mean(lv) over its rows and output dims, summed
// over the members. mean and log_var [K, N, out]; target [K, N, out] or
// [N, out] (shared by every member).
Var ensemble_gaussian_loss(const nn::GaussianPrediction& prediction, const Var& target);

// Row indices [K, rows] (i64, on `device`) each member trains on: with
// bootstrap, member k's own resample with replacement of 0..rows-1; without,
// every member sees each row once, in its own shuffled order. The same
// numbers on every device.
Tensor member_row_indices(int64_t members, int64_t rows, bool bootstrap, Generator& gen, Device device = Device::cpu);

struct DynamicsEnsembleOptions {
  int64_t members = 7, elites = 5;
  std::vector<int64_t> hidden = std::vector<int64_t>(4, 200);
  // weight decay per layer (hidden.size() + 1 values), added to the loss as wd sum w^2 / 2
  std::vector<double> weight_decay{2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4};
  double lr = 1e-3;
  int64_t batch_size = 256;
  double holdout_fraction = 0.2;
  int64_t max_holdout = 1000;
  int64_t patience = 5;  // epochs without a > improvement relative gain in any member
  double improvement = 0.01;
  int64_t max_epochs = 0;       // 0: until early stopping
  double bound_penalty = 0.01;  // weight of sum(max_log_var) - sum(min_log_var)
  bool bootstrap = true;        // each member trains on its own resample of the training rows
  Uncertainty uncertainty = Uncertainty::aleatoric;
  double progress_seconds = 0;  // > 0: a progress line on stderr that often
  // Where the networks, the optimiser state, the standardisation and the
  // training data live, and where step() runs (cpu, cuda, ref).
  Device device = Device::cpu;
};

// What train() did.
struct DynamicsTrainReport {
  int64_t epochs = 0;
  // The MSE of each member's mean over the held-out rows and every output
  // dim, in standardised target units (each target dim divided by its
  // training std, so that every dim weighs alike), at its best epoch (the
  // weights kept).
  std::vector<double> holdout_mse;
  std::vector<int64_t> elites;               // member indices, best first
  double elite_holdout_mse = 0;              // mean over the elites
  int64_t train_rows = 0, holdout_rows = 0;  // holdout 0: the training rows are evaluated instead
  double seconds = 0;
};

// One model transition per row, on the ensemble's device.
struct ModelStep {
  Tensor next_obs;     // [N, obs] f32: s + the sampled s' - s of a random elite
  Tensor rewards;      // [N] f32: the same member's sampled reward
  Tensor uncertainty;  // [N] f32: u(s, a) by the ensemble's mode
};

class DynamicsEnsemble {
 public:
  DynamicsEnsemble(int64_t obs_dim, int64_t act_dim, const DynamicsEnsembleOptions& options, uint64_t seed);

  // Fits the standardisation of the inputs and targets on the training rows
  // (those not held out) and the ensemble on them; picks the elites. Before
  // train(), the standardisation is the identity and the elites are the first
  // `elites` members. The dataset may be anywhere; it is copied to the
  // ensemble's device once.
  DynamicsTrainReport train(const envs::Dataset& data);

  // Means and log-variances of [s' - s, r] for every member, in the original
  // (unstandardised) target units: each [K, N, obs + 1]. No gradient.
  // Here and below, obs [N, obs] and actions [N, act] must be on the
  // ensemble's device (elsewhere is an error naming both devices), and the
  // results are there.
  nn::GaussianPrediction predict(const Tensor& obs, const Tensor& actions) const;
  // u(s, a) [N] by the mode asked for (or the ensemble's own).
  Tensor uncertainty(const Tensor& obs, const Tensor& actions) const;
  Tensor uncertainty(const Tensor& obs, const Tensor& actions, Uncertainty mode) const;
  // A sampled step (see ModelStep) with noise and the elite choice from gen.
  ModelStep step(const Tensor& obs, const Tensor& actions, Generator& gen) const;

  const std::vector<int64_t>& elites() const { return elites_; }
  const DynamicsEnsembleOptions& options() const { return options_; }
  Device device() const { return options_.device; }
  // The mode step() and uncertainty(obs, actions) use from now on.
  void set_uncertainty(Uncertainty mode) { options_.uncertainty = mode; }
  nn::GaussianMLP& model() { return *model_; }
  const nn::GaussianMLP& model() const { return *model_; }

  // The full training loss of (ORPO.2) on standardised inputs [K, B, in] (or
  // [B, in]) and standardised targets [K, B, obs + 1] (or [B, obs + 1]):
  // ensemble_gaussian_loss + sum_l wd_l |W_l|^2 / 2 + bound_penalty (sum
  // max_lv - sum min_lv). Differentiable in the model's parameters.
  Var loss(const Var& inputs, const Var& targets) const;
  // The standardisation train() fitted (identity before): x_std = (x - mean) / std
  // for the inputs (s, a), and the targets [s' - s, r].
  const std::vector<double>& input_mean() const { return input_mean_; }
  const std::vector<double>& input_std() const { return input_std_; }
  const std::vector<double>& target_mean() const { return target_mean_; }
  const std::vector<double>& target_std() const { return target_std_; }

 private:
  int64_t obs_dim_, act_dim_;
  DynamicsEnsembleOptions options_;
  Generator gen_;
  std::shared_ptr<nn::GaussianMLP> model_;
  std::vector<double> input_mean_, input_std_, target_mean_, target_std_;
  // on the device: [in] / [out] f32, and [elites] i64
  Tensor input_mean_t_, input_std_t_, target_mean_t_, target_std_t_, target_log_var_shift_;
  Tensor elites_t_;
  std::vector<int64_t> elites_;

  void set_standardisation(const Tensor& inputs, const Tensor& targets);
  void set_elites(std::vector<int64_t> elites);
  Tensor standardise_inputs(const Tensor& obs, const Tensor& actions, const char* where) const;
  // predict() on standardised inputs [N, in], in chunks of rows.
  nn::GaussianPrediction predict_standardised(const Tensor& x) const;
  // Per-member MSE [K] (f64, on the device) of the means on standardised (inputs, targets), NoGrad.
  Tensor member_mse(const Tensor& inputs, const Tensor& targets) const;
};

}  // namespace gradlab::rl
