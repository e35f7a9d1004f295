// COPF's scoring module: a reward model on the labelled rankings that orders
// unlabelled candidate sets (see copf_scorer.h).
#include "algorithms/alignment/copf_scorer.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "algorithms/alignment/continual_baselines.h"
#include "tensor/error.h"

namespace gradlab::alignment {

std::unique_ptr<RewardModel> train_scorer(const nn::GPTConfig& config, const std::vector<Ranking>& labelled,
                                          const ScorerConfig& scorer, Generator& gen) {
  const std::vector<PreferencePair> pairs = ranking_pairs(labelled);
  GL_CHECK(!pairs.empty(), "train_scorer: {} rankings give no non-tied pair", labelled.size());
  auto rm = std::make_unique<RewardModel>(config, gen, RewardModelOptions{.pooling = scorer.pooling, .device = scorer.device});
  train_reward_model(*rm, pairs, scorer.train, gen);  // -log sigmoid(s_w - s_l)
  return rm;
}

std::vector<Ranking> rank_with_scorer(const RewardModel& scorer, const std::vector<Ranking>& unlabelled) {
  std::vector<Tokens> x, y;
  for (const Ranking& r : unlabelled)
    for (const Tokens& response : r.responses) {
      x.push_back(r.prompt);
      y.push_back(response);
    }
  GL_CHECK(!x.empty(), "rank_with_scorer: no candidates");
  const std::vector<double> s = scorer.score(x, y);
  std::vector<Ranking> out;
  size_t k = 0;
  for (const Ranking& r : unlabelled) {
    std::vector<size_t> order(r.responses.size());
    std::iota(order.begin(), order.end(), 0);
    const size_t base = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[base + a] > s[base + b]; });
    Ranking ranked;
    ranked.prompt = r.prompt;
    for (size_t i : order) {
      ranked.responses.push_back(r.responses[i]);
      ranked.gold.push_back(s[base + i]);  // the scorer's score, best first
    }
    k += r.responses.size();
    out.push_back(std::move(ranked));
  }
  return out;
}

double ranking_agreement(const std::vector<Ranking>& ranked, const std::vector<Ranking>& truth) {
  GL_CHECK(ranked.size() == truth.size(), "ranking_agreement: {} ranked sets against {} true ones", ranked.size(),
           truth.size());
  int64_t right = 0, total = 0;
  for (size_t n = 0; n < truth.size(); ++n) {
    const Ranking& t = truth[n];
    std::map<Tokens, size_t> position;  // where each response stands in the ranked list
    for (size_t i = 0; i < ranked[n].responses.size(); ++i) position.emplace(ranked[n].responses[i], i);
    GL_CHECK(ranked[n].responses.size() == t.responses.size(),
             "ranking_agreement: set {} has {} ranked and {} true responses", n, ranked[n].responses.size(),
             t.responses.size());
    for (size_t i = 0; i < t.responses.size(); ++i)
      for (size_t j = i + 1; j < t.responses.size(); ++j) {
        if (t.gold[i] == t.gold[j]) continue;
        const auto pi = position.find(t.responses[i]), pj = position.find(t.responses[j]);
        GL_CHECK(pi != position.end() && pj != position.end(), "ranking_agreement: set {} lacks a true response", n);
        if (pi->second == pj->second) continue;  // the same response twice: no order to check
        const bool truth_first = t.gold[i] > t.gold[j];
        right += (pi->second < pj->second) == truth_first ? 1 : 0;
        ++total;
      }
  }
  return total == 0 ? 0.0 : double(right) / double(total);
}

}  // namespace gradlab::alignment
