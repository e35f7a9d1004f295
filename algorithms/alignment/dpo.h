// Direct Preference Optimisation and two variants (docs/papers/alignment-baselines.md,
// "DPO"; Rafailov et al. 2023; cDPO: Mitchell 2023; IPO: Azar et al. 2023).
// With Delta = log pi_theta(y|x) - log pi_ref(y|x) and h = Delta_w - Delta_l:
//   DPO:  L = -log sigmoid(beta h)
//   cDPO: L = -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h)   (label smoothing eps)
//   IPO:  L = (h - 1 / (2 beta))^2
// Log-probabilities are summed over the response tokens, or averaged per
// token when mean_logprob is set (the COPR/COPF convention).
#pragma once

#include <functional>
#include <vector>

#include "algorithms/alignment/sequences.h"
#include "envs/preference/datasets.h"

namespace gradlab::alignment {

using envs::preference::PreferencePair;

enum class PreferenceLoss { dpo, cdpo, ipo };
const char* preference_loss_name(PreferenceLoss l);

struct DPOConfig {
  PreferenceLoss loss = PreferenceLoss::dpo;
  double beta = 0.1;
  double label_smoothing = 0.1;  // cDPO's eps, in [0, 0.5)
  bool mean_logprob = false;
  int64_t epochs = 3;
  int64_t batch_size = 64;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
};

// The batch mean of the configured loss from policy log-probs (differentiable,
// [B]) and reference log-probs ([B], constants).
Var dpo_loss(const Var& policy_chosen, const Var& policy_rejected, const Tensor& ref_chosen, const Tensor& ref_rejected,
             const DPOConfig& config);

// log pi(y|x) of the rows (prompts, first) then (prompts, second) in one
// forward: [2B], the first B rows for `first`. Summed over the response tokens,
// or their per-token mean when mean_logprob is set. Differentiable.
Var pair_logprobs(const nn::GPT& model, const std::vector<Tokens>& prompts, const std::vector<Tokens>& first,
                  const std::vector<Tokens>& second, bool mean_logprob);

// The same without gradients, in chunks of 256 rows, as doubles: e.g. the
// frozen reference's log-probs, computed once before training.
struct PairLogprobs {
  std::vector<double> first, second;
};
PairLogprobs pair_logprobs_nograd(const nn::GPT& model, const std::vector<Tokens>& prompts,
                                  const std::vector<Tokens>& first, const std::vector<Tokens>& second,
                                  bool mean_logprob);

struct DPOHistory {
  std::vector<double> loss;             // per epoch
  std::vector<double> reward_accuracy;  // fraction of pairs with h > 0, per epoch (against the labels)
  std::vector<double> margin;           // mean beta h, per epoch
};
// An extra differentiable term added to every minibatch's loss (e.g. a
// continual-learning regulariser: EWC, L2 to the previous model, distillation).
using ExtraLoss = std::function<Var()>;
// Trains the policy on the labelled pairs against the frozen reference
// (plus `extra_loss`, when given, at every step).
DPOHistory train_dpo(nn::GPT& policy, const nn::GPT& reference, const std::vector<PreferencePair>& pairs,
                     const DPOConfig& config, Generator& gen, const ExtraLoss& extra_loss = {},
                     const AfterStep& after_step = {});

}  // namespace gradlab::alignment
