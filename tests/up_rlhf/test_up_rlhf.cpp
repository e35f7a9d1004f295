// UP-RLHF's training and reward plumbing: the ensemble's Bradley-Terry loss
// falls on labelled pairs, the diversity term (alpha > 0) spreads the stacked
// A matrices more than alpha = 0, the ensemble reward for PPO-RLHF is the
// penalty applied to the member rewards with u_bar shared by every copy, and
// the KL modes set PPO-RLHF's coefficients.
#include <doctest/doctest.h>

#include "algorithms/alignment/up_rlhf.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;

namespace {

nn::GPTConfig small_config() {
  return {.vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1, .reward_head = true};
}

std::vector<PreferencePair> grammar_pairs(int64_t n, Generator& gen) {
  const pref::LabelConfig label{.reward = pref::RewardKind::target_count};
  std::vector<PreferencePair> out;
  while (int64_t(out.size()) < n) {
    const Tokens x = pref::sample_prompt(std::vector<pref::Family>{}, gen);
    const Tokens a = pref::sample_response(x, {}, {}, gen), b = pref::sample_response(x, {}, {}, gen);
    PreferencePair p;
    if (pref::label_pair(x, a, b, label, gen, p)) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

TEST_CASE("training the ensemble lowers its loss, and alpha > 0 spreads the members' A") {
  Generator gen(11);
  nn::GPT trunk(small_config(), gen);
  const auto pairs = grammar_pairs(48, gen);
  double diversity[2];
  for (int use_alpha = 0; use_alpha < 2; ++use_alpha) {
    Generator g(12);  // the same A initialisation and minibatches for both
    RewardEnsemble ens(trunk, g, {.members = 3, .rank = 2, .diversity = DiversityNorm::scale_invariant});
    const double before = ens.diversity_term().item();
    const auto h = train_reward_ensemble(
        ens, pairs, {.epochs = 6, .batch_size = 16, .lr = 1e-2, .alpha = use_alpha ? 0.5 : 0.0}, g);
    REQUIRE(h.loss.size() == 6);
    REQUIRE(h.diversity.size() == 6);
    CHECK(h.loss.back() < h.loss.front());
    CHECK(h.label_accuracy > 0.5);
    diversity[use_alpha] = h.diversity.back();
    if (use_alpha) CHECK(h.diversity.back() < before);  // the term fell: the stacked A spread out
  }
  CHECK(diversity[1] < diversity[0]);
  CHECK_THROWS_AS(train_reward_ensemble(*std::make_unique<RewardEnsemble>(trunk, gen), {}, {}, gen), Error);
}

TEST_CASE("the ensemble reward is the penalty of the member rewards, with u_bar shared by copies") {
  Generator gen(13);
  nn::GPT trunk(small_config(), gen);
  auto ens = std::make_shared<RewardEnsemble>(trunk, gen, RewardEnsembleOptions{.members = 4, .rank = 2});
  {
    NoGradGuard guard;
    for (const auto& lora : ens->lora_modules()) {
      Tensor b = lora->B.value();
      b.copy_(randn(b.shape(), gen));
    }
  }
  std::vector<Tokens> prompts, responses;
  for (int i = 0; i < 5; ++i) {
    prompts.push_back(pref::sample_prompt(std::vector<pref::Family>{}, gen));
    responses.push_back(pref::sample_response(prompts.back(), {}, {}, gen));
  }
  const Tensor members = score_members(*ens, prompts, responses, /*chunk=*/2);  // chunks joined in order
  REQUIRE(members.shape() == Shape{4, 5});
  const Tensor whole = score_members(*ens, prompts, responses);
  CHECK(max(abs(sub(members, whole))).item<double>() < 1e-6);

  EnsembleReward reward(ens, up_rlhf_penalty(0.7));
  const RewardFn fn = reward.reward_fn();
  PenalizedReward by_hand(up_rlhf_penalty(0.7));
  const std::vector<double> expected1 = by_hand(members).to_vector<double>();
  const std::vector<double> got1 = fn(prompts, responses);
  REQUIRE(got1.size() == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(got1[i] == doctest::Approx(expected1[i]).epsilon(1e-6));
  // A second call through the object itself sees the u_bar the copy updated.
  const std::vector<double> expected2 = by_hand(members).to_vector<double>();
  const std::vector<double> got2 = reward(prompts, responses);
  for (size_t i = 0; i < 5; ++i) CHECK(got2[i] == doctest::Approx(expected2[i]).epsilon(1e-6));
  CHECK(reward.running_uncertainty() == doctest::Approx(by_hand.running_uncertainty()).epsilon(1e-6));
  CHECK(reward.last_batch().samples == 5);
  CHECK(reward.last_batch().mean_reward == doctest::Approx(mean(members).item<double>()).epsilon(1e-6));
  CHECK(reward.last_batch().uncertainty > 0);
}

TEST_CASE("KL modes: per-token penalty, sequence-level J_KL, or off") {
  PPORLHFConfig c;
  set_kl_mode(c, KLMode::token_penalty, 0.1);
  CHECK(c.kl_beta == 0.1);
  CHECK(c.squared_kl_loss_coef == 0);
  set_kl_mode(c, KLMode::sequence_term, 0.2);
  CHECK(c.kl_beta == 0);
  CHECK(c.squared_kl_loss_coef == 0.2);
  set_kl_mode(c, KLMode::off, 0.3);
  CHECK(c.kl_beta == 0);
  CHECK(c.squared_kl_loss_coef == 0);
  CHECK(kl_mode_from_string(kl_mode_name(KLMode::sequence_term)) == KLMode::sequence_term);
  CHECK_THROWS_AS(kl_mode_from_string("inside"), Error);
  CHECK_THROWS_AS(set_kl_mode(c, KLMode::off, -1), Error);
}
