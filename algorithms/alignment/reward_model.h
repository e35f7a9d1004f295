// A Bradley-Terry reward model: the GPT trunk with a scalar head (docs/papers/alignment-baselines.md,
// "Bradley-Terry reward model"; Ouyang et al. 2022):
//   P(y_w > y_l | x) = sigmoid(r(x, y_w) - r(x, y_l)),  loss = -log sigmoid(r_w - r_l).
// The head reads the response's last token (the usual choice) or, by option,
// scores every response token and sums (or averages) the scores. Its trunk
// usually starts from the SFT policy's weights.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/alignment/sequences.h"
#include "dist/communicator.h"
#include "envs/preference/datasets.h"

namespace gradlab::alignment {

using envs::preference::PreferencePair;

// -log sigmoid(r_chosen - r_rejected), averaged over the batch [B] -> scalar.
Var bradley_terry_loss(const Var& r_chosen, const Var& r_rejected);

// Where the scalar head reads the sequence. The GPT's reward head (d_model -> 1)
// is used in every case; only the pooling over positions differs.
enum class RewardPooling {
  last_token,  // r = w . h_last + b at the response's last token (up to and including its first ".")
  token_sum,   // r = sum over response tokens t of (w . h_t + b): an additive score, e.g. a count of
               // wanted words, is a sum of per-token scores, which this head represents directly
  token_mean,  // the same per-token scores averaged over the response tokens
};
RewardPooling reward_pooling_from_string(const std::string& name);  // "last_token", "token_sum", "token_mean"
const char* reward_pooling_name(RewardPooling pooling);

struct RewardModelOptions {
  RewardPooling pooling = RewardPooling::last_token;
  // Where a model built from a config lives (a shared GPT stays where it is).
  Device device = Device::cpu;
};

class RewardModel {
 public:
  // The GPT of `config` with reward_head forced on (and value_head off).
  RewardModel(nn::GPTConfig config, Generator& gen, RewardModelOptions options = {});
  // A reward model reading an existing GPT's reward head (which it must have), sharing its weights: e.g. a
  // policy that judges its own samples.
  explicit RewardModel(std::shared_ptr<nn::GPT> shared_model, RewardModelOptions options = {});
  // Copies the trunk (embeddings, blocks, final LayerNorm) of a policy of the same shape; the head stays fresh.
  void init_trunk_from(const nn::GPT& policy);

  Var score(const SequenceBatch& batch) const;  // [B], differentiable
  // Scores without gradients, in chunks of `chunk` rows.
  std::vector<double> score(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses,
                            int64_t chunk = 512) const;
  // This model as a RewardFn (it must outlive the function).
  RewardFn reward_fn() const;

  std::shared_ptr<nn::GPT> model;
  RewardModelOptions options;
};

struct RewardTrainConfig {
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  // Called after every epoch with the epoch's index (from 0), e.g. to log held-out accuracy; the model is in
  // training mode during the call.
  std::function<void(int64_t epoch)> on_epoch = nullptr;
  // Data-parallel (dist/README.md): with a communicator of N ranks, every rank
  // shuffles alike and scores pairs rank, rank + N, ... of each minibatch,
  // its loss weighted by its share of the minibatch, so the averaged gradient
  // is exactly the minibatch's; the history is the global one.
  dist::Communicator* communicator = nullptr;
};
struct RewardTrainHistory {
  std::vector<double> loss;            // mean BT loss per epoch
  std::vector<double> label_accuracy;  // fraction of training pairs ordered as labelled, per epoch
};
// Minibatch AdamW on the Bradley-Terry loss over the labelled pairs (noisy labels as given).
RewardTrainHistory train_reward_model(RewardModel& rm, const std::vector<PreferencePair>& pairs,
                                      const RewardTrainConfig& config, Generator& gen);

// The fraction of pairs the model orders as the gold reward does (pairs with
// equal gold reward are skipped): held-out accuracy against gold.
double accuracy_vs_gold(const RewardModel& rm, const std::vector<PreferencePair>& pairs);

}  // namespace gradlab::alignment
