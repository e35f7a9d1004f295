// COPF's scoring module (docs/papers/copr.md, "COPF"): a Bradley-Terry reward
// model, -log sigmoid(s(x, y_w) - s(x, y_l)), trained on the pairs of a task's
// labelled rankings, that ranks the candidates of the task's unlabelled prompts
// so that COPF can fit those too. The authors keep it as a head on the policy;
// here it is a separate small model (reward_model.h: a per-token head summed
// over the response, fresh trunk), which keeps the policy's training untouched.
#pragma once

#include <memory>
#include <vector>

#include "algorithms/alignment/continual_tasks.h"
#include "algorithms/alignment/reward_model.h"

namespace gradlab::alignment {

struct ScorerConfig {
  RewardTrainConfig train{.epochs = 4, .batch_size = 64, .lr = 2e-3};
  RewardPooling pooling = RewardPooling::token_sum;
  Device device = Device::cpu;  // where the scorer is trained
};

// A fresh scorer (the GPT of `config` with a reward head) trained on every non-tied pair of the rankings.
std::unique_ptr<RewardModel> train_scorer(const nn::GPTConfig& config, const std::vector<Ranking>& labelled,
                                          const ScorerConfig& scorer, Generator& gen);

// Each set's responses ranked best first by the scorer; `gold` holds the scorer's scores (not r*).
std::vector<Ranking> rank_with_scorer(const RewardModel& scorer, const std::vector<Ranking>& unlabelled);

// The fraction of candidate pairs that `ranked` orders as `truth` does (same sets, same responses in any order;
// pairs tied in truth's gold are skipped): the scorer's agreement with the gold reward.
double ranking_agreement(const std::vector<Ranking>& ranked, const std::vector<Ranking>& truth);

}  // namespace gradlab::alignment
