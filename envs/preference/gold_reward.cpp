// The preference world's gold rewards (see gold_reward.h for the formulas).
#include "envs/preference/gold_reward.h"

#include <algorithm>
#include <array>

#include "tensor/error.h"

namespace gradlab::envs::preference {

const char* reward_name(RewardKind k) {
  static const std::array<const char*, kRewardKinds> names = {"target_count", "ends_with", "brevity", "sentiment"};
  return names[size_t(k)];
}

RewardKind reward_from_name(std::string_view name) {
  for (int k = 0; k < kRewardKinds; ++k)
    if (name == reward_name(RewardKind(k))) return RewardKind(k);
  fail("preference: unknown gold reward '{}' (target_count, ends_with, brevity, sentiment)", name);
}

double gold_reward(RewardKind kind, const Tokens& prompt, const Tokens& response, const GoldRewardConfig& config) {
  check_prompt(prompt, "preference::gold_reward");
  for (int64_t t : response)
    GL_CHECK(t >= 0 && t < vocab_size(), "preference::gold_reward: response token {} is outside [0, {})", t,
             vocab_size());
  const Tokens body = response_body(response);
  switch (kind) {
    case RewardKind::target_count: {
      int64_t count = 0, repeats = 0;
      for (size_t t = 0; t < body.size(); ++t) {
        count += body[t] == prompt[1];
        repeats += t > 0 && body[t] == body[t - 1];
      }
      return double(std::min(count, config.cap)) -
             config.over_penalty * double(std::max<int64_t>(0, count - config.cap)) -
             config.repeat_penalty * double(repeats);
    }
    case RewardKind::ends_with:
      return (!body.empty() && body.back() == prompt[3] ? 1.0 : 0.0) + (is_terminated(response) ? 0.5 : 0.0);
    case RewardKind::brevity:
      GL_CHECK(config.response_len > 0, "preference::gold_reward: brevity needs response_len > 0, got {}",
               config.response_len);
      return body.empty() ? -1.0 : 1.0 - double(body.size()) / double(config.response_len);
    case RewardKind::sentiment: {
      static const int64_t not_ = word_id("not"), very = word_id("very");
      double score = 0;
      for (size_t t = 0; t < body.size(); ++t) {
        const WordClass c = word_class(body[t]);
        if (c != WordClass::positive && c != WordClass::negative) continue;
        double s = c == WordClass::positive ? 1.0 : -1.0;
        if (t > 0 && body[t - 1] == not_) s = -s;
        if (t > 0 && body[t - 1] == very) s *= 2;
        score += s;
      }
      return std::clamp(score, -3.0, 3.0);
    }
  }
  fail("preference::gold_reward: unknown reward kind {}", int(kind));
}

std::vector<double> gold_rewards(RewardKind kind, const std::vector<Tokens>& prompts,
                                 const std::vector<Tokens>& responses, const GoldRewardConfig& config) {
  GL_CHECK(prompts.size() == responses.size(), "preference::gold_rewards: {} prompts but {} responses", prompts.size(),
           responses.size());
  std::vector<double> r(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) r[i] = gold_reward(kind, prompts[i], responses[i], config);
  return r;
}

}  // namespace gradlab::envs::preference
