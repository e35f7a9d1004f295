// Evaluation helpers for alignment policies (see evaluation.h).
#include "algorithms/alignment/evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "tensor/error.h"

namespace gradlab::alignment {

double standard_error(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1) / double(v.size()));
}

double mean_of(const std::vector<double>& v) {
  GL_CHECK(!v.empty(), "alignment::mean_of: no values");
  return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double win_rate(const std::vector<double>& a, const std::vector<double>& b) {
  GL_CHECK(!a.empty() && a.size() == b.size(), "alignment::win_rate: {} and {} values", a.size(), b.size());
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) w += a[i] > b[i] ? 1.0 : a[i] == b[i] ? 0.5 : 0.0;  // ties count half
  return w / double(a.size());
}

double sampled_kl(const nn::GPT& policy, const nn::GPT& reference, const std::vector<Tokens>& prompts,
                  const std::vector<Tokens>& responses) {
  NoGradGuard no_grad;
  const SequenceBatch b = make_batch(prompts, responses, policy.device());
  const Tensor lp = policy.sequence_logprob(b.tokens, b.response_mask).sum.value();
  const Tensor lr = reference.sequence_logprob(b.tokens, b.response_mask).sum.value();
  return mean(sub(lp, lr)).item();  // E_{y ~ pi}[log pi(y|x) - log pi_ref(y|x)]
}

double distinct_2(const std::vector<Tokens>& responses) {
  std::set<std::pair<int64_t, int64_t>> seen;
  int64_t total = 0;
  for (const Tokens& y : responses) {
    const Tokens body = envs::preference::response_body(y);
    for (size_t t = 1; t < body.size(); ++t) {
      seen.emplace(body[t - 1], body[t]);
      ++total;
    }
  }
  return total == 0 ? 0.0 : double(seen.size()) / double(total);
}

double mean_token_entropy(const nn::GPT& policy, const std::vector<Tokens>& prompts,
                          const std::vector<Tokens>& responses) {
  NoGradGuard no_grad;
  const SequenceBatch b = make_batch(prompts, responses, policy.device());
  const int64_t T = b.tokens.size(1);
  const Tensor logits = policy.forward(b.tokens).value().slice(1, 0, T - 1);  // predicts tokens 1..T-1
  const Tensor ent = entropy(Var(logits), -1).value();                        // [B, T - 1]
  const Tensor m = b.response_mask.slice(1, 1, T);
  return sum(mul(ent, m)).item() / std::max(1.0, sum(m).item());
}

PolicyEval evaluate_policy(const nn::GPT& policy, const nn::GPT& sft, const std::vector<Tokens>& prompts,
                           envs::preference::RewardKind reward, int64_t response_len, Generator& gen,
                           const envs::preference::GoldRewardConfig& gold) {
  const std::vector<Tokens> ys = sample_responses(policy, prompts, response_len, gen);
  const std::vector<Tokens> ys_sft = sample_responses(sft, prompts, response_len, gen);
  const std::vector<double> g = envs::preference::gold_rewards(reward, prompts, ys, gold);
  const std::vector<double> g_sft = envs::preference::gold_rewards(reward, prompts, ys_sft, gold);
  PolicyEval e;
  e.gold = mean_of(g);
  e.sft_gold = mean_of(g_sft);
  e.winrate_vs_sft = win_rate(g, g_sft);
  e.kl = sampled_kl(policy, sft, prompts, ys);
  e.distinct2 = distinct_2(ys);
  e.entropy = mean_token_entropy(policy, prompts, ys);
  return e;
}

}  // namespace gradlab::alignment
