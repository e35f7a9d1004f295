// The continual task stream of the preference world (see continual_tasks.h).
#include "algorithms/alignment/continual_tasks.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/alignment/evaluation.h"
#include "tensor/error.h"

namespace gradlab::alignment {

namespace pref = envs::preference;

std::vector<Tokens> TaskData::heldout_prompts() const {
  std::vector<Tokens> p;
  for (const Ranking& r : heldout) p.push_back(r.prompt);
  return p;
}

double TaskData::normalised(double gold) const {
  GL_CHECK(best_gold > sft_gold, "TaskData::normalised: task {}: best-of-J gold {} is not above the SFT gold {}",
           task.name, best_gold, sft_gold);
  return (gold - sft_gold) / (best_gold - sft_gold);  // 0: the SFT policy, 1: best-of-J sampling
}

std::vector<Ranking> rank_policy_samples(const nn::GPT& policy, const std::vector<Tokens>& prompts,
                                         pref::RewardKind reward, int64_t J, int64_t response_len, Generator& gen) {
  GL_CHECK(J >= 2 && !prompts.empty(), "rank_policy_samples: need J >= 2 and prompts, got J = {} and {} prompts", J,
           prompts.size());
  std::vector<std::vector<Tokens>> samples;
  for (int64_t j = 0; j < J; ++j) samples.push_back(sample_responses(policy, prompts, response_len, gen));
  const pref::LabelConfig label{.reward = reward, .gold = {.response_len = response_len}};
  std::vector<Ranking> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<Tokens> ys;
    for (int64_t j = 0; j < J; ++j) ys.push_back(samples[size_t(j)][i]);
    out.push_back(pref::label_ranking(prompts[i], ys, label, gen));  // sorted on r*, best first
  }
  return out;
}

namespace {
std::vector<Tokens> task_prompts(const std::vector<pref::Task>& tasks, size_t t, int64_t n, double overlap,
                                 Generator& gen) {
  std::vector<pref::Family> others;
  for (size_t k = 0; k < tasks.size(); ++k)
    if (k != t) others.insert(others.end(), tasks[k].families.begin(), tasks[k].families.end());
  std::vector<Tokens> p;
  for (int64_t i = 0; i < n; ++i) {
    const bool borrowed = overlap > 0 && !others.empty() && pref::uniform01(gen) < overlap;
    p.push_back(pref::sample_prompt(borrowed ? others : tasks[t].families, gen));
  }
  return p;
}
}  // namespace

std::vector<TaskData> make_continual_stream(const nn::GPT& sft, const StreamConfig& c, Generator& gen) {
  GL_CHECK(c.tasks >= 1 && c.tasks <= 4 && c.train_prompts >= 1 && c.heldout_prompts >= 1,
           "make_continual_stream: tasks {} (1..4), train_prompts {}, heldout_prompts {}", c.tasks, c.train_prompts,
           c.heldout_prompts);
  GL_CHECK(c.overlap >= 0 && c.overlap < 1, "make_continual_stream: overlap must be in [0, 1), got {}", c.overlap);
  const std::vector<pref::Task> tasks = pref::evolving_tasks(c.tasks);
  std::vector<TaskData> out;
  for (size_t t = 0; t < tasks.size(); ++t) {
    TaskData d;
    d.task = tasks[t];
    d.train = rank_policy_samples(sft, task_prompts(tasks, t, c.train_prompts, c.overlap, gen), d.task.reward, c.J,
                                  c.response_len, gen);
    d.heldout = rank_policy_samples(sft, task_prompts(tasks, t, c.heldout_prompts, c.overlap, gen), d.task.reward, c.J,
                                    c.response_len, gen);
    double all = 0, best = 0;
    for (const Ranking& r : d.heldout) {
      all += std::accumulate(r.gold.begin(), r.gold.end(), 0.0) / double(r.gold.size());
      best += r.gold.front();  // ranked best first
    }
    d.sft_gold = all / double(d.heldout.size());
    d.best_gold = best / double(d.heldout.size());
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<int64_t> replay_indices(int64_t n, double fraction, Generator& gen) {
  GL_CHECK(n >= 0 && fraction >= 0 && fraction <= 1, "replay_indices: n {} and fraction {} (in [0, 1])", n, fraction);
  const int64_t k = std::min<int64_t>(n, int64_t(std::ceil(fraction * double(n))));
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  shuffle(all, gen);
  all.resize(size_t(k));
  std::sort(all.begin(), all.end());
  return all;
}

double task_gold(const nn::GPT& policy, const TaskData& task, int64_t samples, int64_t response_len, Generator& gen) {
  GL_CHECK(samples >= 1, "task_gold: samples must be >= 1, got {}", samples);
  const std::vector<Tokens> prompts = task.heldout_prompts();
  double total = 0;
  for (int64_t s = 0; s < samples; ++s)
    total += mean_of(pref::gold_rewards(task.task.reward, prompts, sample_responses(policy, prompts, response_len, gen),
                                        {.response_len = response_len}));
  return total / double(samples);
}

}  // namespace gradlab::alignment
