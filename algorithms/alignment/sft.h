// Supervised fine-tuning (SFT): maximum likelihood of the response tokens
// given the prompt, L = -(1/N) sum_{b,t in response} log pi(y_t | x, y_<t),
// on the preference world's pretraining corpus. The result is the reference
// policy pi_ref of DPO and PPO-RLHF.
#pragma once

#include <vector>

#include "algorithms/alignment/sequences.h"
#include "dist/communicator.h"
#include "envs/preference/language.h"

namespace gradlab::alignment {

using envs::preference::Sequence;

struct SFTConfig {
  int64_t steps = 1500;
  int64_t batch_size = 64;
  double lr = 3e-3;
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;
  // Data-parallel (dist/README.md): with a communicator of N ranks, every rank
  // draws the same global batch and trains on rows rank, rank + N, ...; each
  // rank's loss is weighted by its share of the batch's response tokens, so
  // the averaged gradient is exactly the global batch's. The returned losses
  // are the global batch's.
  dist::Communicator* communicator = nullptr;
};

// Mean negative log-likelihood of the masked response tokens of the batch.
Var sft_loss(const nn::GPT& policy, const SequenceBatch& batch);
// `steps` minibatch AdamW steps on random minibatches of the corpus; returns
// the loss of each step. after_step, when given, runs after every step. On a
// device a step reads nothing back: the losses (and their finite check) are
// read every 32 steps and at the end, in one copy.
std::vector<double> train_sft(nn::GPT& policy, const std::vector<Sequence>& corpus, const SFTConfig& config,
                              Generator& gen, const AfterStep& after_step = {});

}  // namespace gradlab::alignment
