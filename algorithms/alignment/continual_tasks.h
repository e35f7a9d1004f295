// The continual task stream of the preference world (COPR's miniature,
// docs/papers/copr.md): T sequential tasks on disjoint prompt families with
// different gold rewards (datasets.h, evolving_tasks: A tell/target_count,
// B ask/ends_with, C write/brevity), J responses per prompt sampled from the
// SFT policy and ranked best first by the task's gold reward, and held-out
// prompts on which each task's score is measured after every stage:
//   score_j = (g - g_sft,j) / (g_best,j - g_sft,j)
// with g the mean gold reward of one policy sample per held-out prompt, g_sft,j
// that of SFT samples and g_best,j the mean of the best of J SFT samples (0 is
// the SFT policy, 1 is best-of-J sampling; both measured once per stream).
// The replay memory keeps a fraction (5%) of every finished task.
#pragma once

#include <vector>

#include "algorithms/alignment/sequences.h"
#include "envs/preference/datasets.h"

namespace gradlab::alignment {

using envs::preference::Ranking;

struct StreamConfig {
  int tasks = 3;
  int64_t train_prompts = 256;    // per task
  int64_t heldout_prompts = 256;  // per task
  int64_t J = 4;                  // ranked responses per prompt
  int64_t response_len = 8;
  // Domain-incremental variant: each task draws this fraction of its prompts
  // from the other tasks' families (0: disjoint families, the task-incremental stream).
  double overlap = 0.0;
};

struct TaskData {
  envs::preference::Task task;
  std::vector<Ranking> train;    // J SFT samples per prompt, ranked best first by the task's gold reward
  std::vector<Ranking> heldout;  // the same for the held-out prompts (the log-prob gap is measured on them)
  double sft_gold = 0;           // g_sft: mean gold of the held-out SFT samples
  double best_gold = 0;          // g_best: mean over held-out prompts of the best of the J samples
  std::vector<Tokens> heldout_prompts() const;
  double normalised(double gold) const;  // (g - g_sft) / (g_best - g_sft)
};

// J samples of the policy per prompt, ranked by the gold reward (ties keep sampling order).
std::vector<Ranking> rank_policy_samples(const nn::GPT& policy, const std::vector<Tokens>& prompts,
                                         envs::preference::RewardKind reward, int64_t J, int64_t response_len,
                                         Generator& gen);

// The stream: evolving_tasks(config.tasks), each with its rankings of SFT samples.
std::vector<TaskData> make_continual_stream(const nn::GPT& sft, const StreamConfig& config, Generator& gen);

// ceil(fraction * n) distinct indices of [0, n), ascending: a task's replay memory.
std::vector<int64_t> replay_indices(int64_t n, double fraction, Generator& gen);

// Mean gold reward of `samples` policy samples per prompt under the task's reward.
double task_gold(const nn::GPT& policy, const TaskData& task, int64_t samples, int64_t response_len, Generator& gen);

}  // namespace gradlab::alignment
