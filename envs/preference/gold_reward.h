// The hidden gold rewards r*(x, y) of the preference world: deterministic
// functions of a prompt x and a response y that play the human rater. They
// read the response body (the words before the first ".").
//
//   target_count  c = count of the prompt's target noun x[1] in the body:
//                 r = min(c, cap) - over_penalty * max(0, c - cap) - repeat_penalty * (adjacent repeats)
//                 (rises to `cap` mentions, then falls: over-optimisation has somewhere to go)
//   ends_with     r = 1[body ends with the prompt's end noun x[3]] + 0.5 * 1[the response ends with "."]
//   brevity       r = 1 - len(body) / response_len, and -1 for an empty body
//   sentiment     r = clamp(sum of +1 per positive and -1 per negative adjective, a preceding "not"
//                 flipping the sign and "very" doubling it, -3, 3)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "envs/preference/language.h"

namespace gradlab::envs::preference {

enum class RewardKind { target_count, ends_with, brevity, sentiment };
inline constexpr int kRewardKinds = 4;
const char* reward_name(RewardKind k);
RewardKind reward_from_name(std::string_view name);  // throws for an unknown name

struct GoldRewardConfig {
  int64_t cap = 2;              // target_count: mentions that still earn reward
  double over_penalty = 1.0;    // target_count: cost of each mention past the cap
  double repeat_penalty = 0.5;  // target_count: cost of each word equal to the one before it
  int64_t response_len = 8;     // brevity's normaliser
};

// r*(x, y) for one prompt (4 tokens) and one response (any length; read up to its first ".").
double gold_reward(RewardKind kind, const Tokens& prompt, const Tokens& response, const GoldRewardConfig& config = {});
// The same for a batch of (prompt, response) pairs.
std::vector<double> gold_rewards(RewardKind kind, const std::vector<Tokens>& prompts,
                                 const std::vector<Tokens>& responses, const GoldRewardConfig& config = {});

}  // namespace gradlab::envs::preference
