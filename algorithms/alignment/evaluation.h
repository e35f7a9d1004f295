// Evaluation of alignment policies in the preference world: gold reward of
// samples, win rate against the SFT policy under r* (ties count half), a
// sampled estimate of KL(pi || pi_ref) = E_{y ~ pi}[log pi(y|x) - log pi_ref(y|x)],
// distinct-2 (distinct bigrams / all bigrams of the response bodies) and the
// mean per-token entropy of the policy on its own samples.
#pragma once

#include <vector>

#include "algorithms/alignment/sequences.h"
#include "envs/preference/gold_reward.h"

namespace gradlab::alignment {

double mean_of(const std::vector<double>& v);
// The standard error of the mean, sd / sqrt(n) (sample sd; 0 for fewer than two values).
double standard_error(const std::vector<double>& v);
// mean over i of 1[a_i > b_i] + 0.5 * 1[a_i == b_i].
double win_rate(const std::vector<double>& a, const std::vector<double>& b);
// Mean over samples of sum_t (log pi - log pi_ref)(y_t) on the response tokens; the responses should come from pi.
double sampled_kl(const nn::GPT& policy, const nn::GPT& reference, const std::vector<Tokens>& prompts,
                  const std::vector<Tokens>& responses);
// Distinct bigrams over all bigrams inside the response bodies (0 when there are none).
double distinct_2(const std::vector<Tokens>& responses);
// Mean entropy (nats) of pi(. | x, y_<t) over the masked response tokens.
double mean_token_entropy(const nn::GPT& policy, const std::vector<Tokens>& prompts,
                          const std::vector<Tokens>& responses);

struct PolicyEval {
  double gold = 0;            // mean r* of the policy's samples
  double sft_gold = 0;        // mean r* of the SFT policy's samples on the same prompts
  double winrate_vs_sft = 0;  // policy sample vs SFT sample per prompt, under r*
  double kl = 0;              // sampled KL(pi || pi_sft)
  double distinct2 = 0, entropy = 0;
};
// One sample per prompt from the policy and one from the SFT policy.
PolicyEval evaluate_policy(const nn::GPT& policy, const nn::GPT& sft, const std::vector<Tokens>& prompts,
                           envs::preference::RewardKind reward, int64_t response_len, Generator& gen,
                           const envs::preference::GoldRewardConfig& gold = {});

}  // namespace gradlab::alignment
