// LANCET: correcting a language model's behaviour through the training data
// behind it, in two phases (algorithms/alignment/LANCET.md).
//
// Phase 1, recall. The undesired behaviour is a query loss,
//   L_q(theta) = mean over undesired generations (x, y) of -log pi(y | x),
// and every training sequence z_m gets an influence score
//   I(z_m) = g_q^T H^-1 g_m                               (influence.h)
// from any estimator of the influence library; LANCET's own is LinFAC:
// EK-FAC curvature on the transformer sub-layers (kfac.h). Positive scores
// mark sequences that promote the undesired output; the top k are recalled.
//
// Phase 2, influence-driven Bregman optimisation (IBO), as gradlab
// reconstructs it: starting from the current model theta^s,
//
//   min_theta  kl_weight (1/|R|) sum_{x in R} KL(pi_theta^s(.|x) || pi_theta(.|x))
//            - unlearn_weight sum_{m recalled} w_m l(theta, z_m)
//            + (l2_weight / 2) |theta - theta^s|^2
//
// with R the training data that was not recalled (the Bregman divergence of
// the softmax outputs is this KL, taken per response token), l the per-token
// mean negative log-likelihood of a sequence's response, and weights w_m >= 0
// summing to 1 from the recall scores (softmax of I/tau, rank-based or
// uniform). Plain gradient ascent on a set of sequences is the same loop with
// kl_weight = l2_weight = 0 and uniform weights.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "algorithms/alignment/sequences.h"
#include "algorithms/influence/influence.h"
#include "nn/gpt.h"

namespace gradlab::alignment {

using envs::preference::Sequence;

// ---- phase 1: the model and its corpus as an influence problem ----

// -log pi(response | prompt) summed over each response's masked tokens: [B].
Var sequence_nll(const nn::GPT& model, const SequenceBatch& batch);

// The influence problem of `model` trained on `corpus`, with respect to the
// weights and biases of `layers` (e.g. influence::linfac_layers(model): the
// sub-layers LinFAC linearises). Its sampled losses, for the true Fisher, are
// influence::sampled_sequence_losses. It keeps a copy of the corpus; the
// model must outlive it.
influence::Problem gpt_influence_problem(const nn::GPT& model, const std::vector<Sequence>& corpus,
                                         const std::vector<std::shared_ptr<nn::Linear>>& layers,
                                         int64_t batch_size = 64);

// The query loss: the mean of -log pi(y | x) over the undesired generations
// (prompts[i], responses[i]). Throws when there are none.
influence::QueryLoss undesired_output_query(const nn::GPT& model, const std::vector<Tokens>& prompts,
                                            const std::vector<Tokens>& responses);

// Every training sequence scored for the query, and the ranking (indices,
// highest score first).
struct Recall {
  std::vector<double> scores;    // per training sequence
  std::vector<int64_t> ranking;  // all indices, by score, descending
  double fit_seconds = 0, score_seconds = 0;
  std::vector<int64_t> top(int64_t k) const;  // the first k of the ranking
};
Recall recall_training_data(influence::Estimator& estimator, const influence::Problem& problem,
                            const influence::QueryLoss& query);

// ---- phase 2: IBO ----

enum class InfluenceWeighting {
  softmax,  // w_m = exp(I_m / tau) / sum exp(I / tau), scores standardised by their spread first
  rank,     // w_m proportional to k - rank_m (the top-ranked weighs k, the last 1)
  uniform,  // w_m = 1 / k
};
const char* influence_weighting_name(InfluenceWeighting w);
InfluenceWeighting influence_weighting_from_name(const std::string& name);  // throws for an unknown name
// The weights of the recalled sequences from their scores (in recall order):
// non-negative, summing to 1.
std::vector<double> influence_weights(const std::vector<double>& recalled_scores, InfluenceWeighting weighting,
                                      double temperature = 1.0);

struct CorrectionConfig {
  double unlearn_weight = 1.0;  // on the weighted negative log-likelihood of the recalled set (ascended)
  double kl_weight = 1.0;       // on the KL to the starting model over the retained data (0: off)
  double l2_weight = 0.0;       // on |theta - theta^s|^2 / 2 (0: off)
  int64_t steps = 200;
  int64_t batch_size = 32;  // retained sequences per step (the recalled set is used whole)
  double lr = 5e-4;
  double max_grad_norm = 1.0;
};

// One step's IBO loss: `start` is the frozen starting model theta^s (its
// parameters in the same order as the model's), `retained` a minibatch of
// retained data, `recalled` the recalled sequences with their weights.
struct CorrectionLoss {
  Var total;
  // The three terms' values (before weighting): 0-d on the model's device,
  // undefined for a term whose weight is 0. Nothing is read back to build
  // them; read() brings them to the host in one copy (0 for a term off).
  Tensor kl, unlearn_nll, l2;
  struct Values {
    double kl = 0, unlearn_nll = 0, l2 = 0;
  };
  Values read() const;
};
CorrectionLoss ibo_loss(const nn::GPT& model, const nn::GPT& start, const SequenceBatch& retained,
                        const SequenceBatch& recalled, const Tensor& weights, const CorrectionConfig& config);

// Runs config.steps Adam steps of ibo_loss from the model's current values
// (its starting copy is taken here), calling after_step after each step. On a
// device a step reads nothing back: the losses' finite check is read every
// 32 steps and at the end, and gradients are clipped there.
// `retained` must be non-empty when kl_weight > 0; `recalled` and `weights`
// match in length.
void train_correction(nn::GPT& model, const std::vector<Sequence>& retained, const std::vector<Sequence>& recalled,
                      const std::vector<double>& weights, const CorrectionConfig& config, Generator& gen,
                      const AfterStep& after_step = {});

// ---- evaluation ----

// The fraction of sampled responses (one per prompt, temperature 1) whose body
// contains the bigram.
double forbidden_rate(const nn::GPT& model, const std::vector<Tokens>& prompts, const Tokens& bigram,
                      int64_t response_len, Generator& gen);
// exp of the mean per-token negative log-likelihood of the responses.
double perplexity(const nn::GPT& model, const std::vector<Sequence>& data);

}  // namespace gradlab::alignment
