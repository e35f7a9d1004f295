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

struct DynamicsEnsembleOptions {
  int64_t members = 7, elites = 5;
  std::vector<int64_t> hidden{200, 200, 200, 200};
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
};

// What train() did.
struct DynamicsTrainReport {
  int64_t epochs = 0;
  std::vector<double> holdout_mse;  // per member, at its best epoch (the weights kept)
  std::vector<int64_t> elites;      // member indices, best first
  double elite_holdout_mse = 0;     // mean over the elites
  double seconds = 0;
};

// One model transition per row.
struct ModelStep {
  Tensor next_obs;     // [N, obs] f32: s + the sampled s' - s of a random elite
  Tensor rewards;      // [N] f32: the same member's sampled reward
  Tensor uncertainty;  // [N] f32: u(s, a) by the ensemble's mode
};

class DynamicsEnsemble {
 public:
  DynamicsEnsemble(int64_t obs_dim, int64_t act_dim, const DynamicsEnsembleOptions& options, uint64_t seed);

  // Fits the input standardisation and the ensemble on every row of data.
  DynamicsTrainReport train(const envs::Dataset& data);

  // Means and log-variances of [s' - s, r] for every member, in the original
  // (unstandardised) target units: each [K, N, obs + 1]. No gradient.
  nn::GaussianPrediction predict(const Tensor& obs, const Tensor& actions) const;
  // u(s, a) [N] by the mode asked for (or the ensemble's own).
  Tensor uncertainty(const Tensor& obs, const Tensor& actions) const;
  Tensor uncertainty(const Tensor& obs, const Tensor& actions, Uncertainty mode) const;
  // A sampled step (see ModelStep) with noise and the elite choice from gen.
  ModelStep step(const Tensor& obs, const Tensor& actions, Generator& gen) const;

  const std::vector<int64_t>& elites() const { return elites_; }
  const DynamicsEnsembleOptions& options() const { return options_; }
  nn::GaussianMLP& model() { return *model_; }

 private:
  int64_t obs_dim_, act_dim_;
  DynamicsEnsembleOptions options_;
  Generator gen_;
  std::shared_ptr<nn::GaussianMLP> model_;
  std::vector<double> input_mean_, input_std_;
  std::vector<int64_t> elites_;
};

}  // namespace gradlab::rl
