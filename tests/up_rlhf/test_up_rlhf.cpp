// UP-RLHF in the preference world: a LoRA ensemble on a reward-model trunk,
// trained on grammar pairs, ranks held-out pairs as the gold reward does; the
// diversity term spreads the members' A; the ensemble reward for PPO-RLHF is
// Eq. 14 on hand-set member rewards with u_bar shared by copies; the KL modes;
// and a short UP-RLHF run whose logged figures obey Eq. 14.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/alignment/up_rlhf.h"
#include "tests/thread_count_guard.h"
#include "tests/preference_tokens.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using gradlab::test::pad;

namespace {

nn::GPTConfig small_config() {
  return {.vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1, .reward_head = true};
}


// Two grammar responses per prompt, labelled by the gold target_count order (no noise, ties dropped).
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

// The fraction of pairs whose chosen response the ensemble mean scores higher (labels are the gold order).
double ensemble_accuracy(const RewardEnsemble& ens, const std::vector<PreferencePair>& pairs) {
  std::vector<Tokens> x, yc, yr;
  for (const auto& p : pairs) {
    x.push_back(p.prompt);
    yc.push_back(p.chosen);
    yr.push_back(p.rejected);
  }
  const auto rc = mean(score_members(ens, x, yc), {0}).to_vector<double>();
  const auto rr = mean(score_members(ens, x, yr), {0}).to_vector<double>();
  double right = 0;
  for (size_t i = 0; i < rc.size(); ++i) right += rc[i] > rr[i];
  return right / double(rc.size());
}

// A diverse ensemble trained on grammar pairs, and its accuracy on held-out pairs before and after.
struct WorldEnsemble {
  std::shared_ptr<RewardEnsemble> ensemble;
  double accuracy_before = 0, accuracy = 0;
};

// As UP-RLHF builds it: a single reward model trained on the pairs becomes the frozen trunk, and the
// K LoRA members with their heads are trained on the same pairs (Bradley-Terry on the mean plus
// alpha times the diversity term). Every head sums per-token scores (token_sum), since target_count
// is a count of words. Smaller settings tried (d_model 16, or 512 pairs) ended between 0.55 and 0.78.
WorldEnsemble train_world_ensemble(uint64_t seed) {
  test::ThreadCountGuard threads(1);
  Generator gen(seed);
  const auto train = grammar_pairs(1536, gen), held_out = grammar_pairs(256, gen);
  nn::GPTConfig config = small_config();
  config.d_model = 32;
  RewardModel rm(config, gen, {.pooling = RewardPooling::token_sum});
  train_reward_model(rm, train, {.epochs = 4, .batch_size = 32, .lr = 3e-3}, gen);
  WorldEnsemble w;
  w.ensemble = std::make_shared<RewardEnsemble>(*rm.model, gen,
                                                RewardEnsembleOptions{.members = 3,
                                                                      .rank = 4,
                                                                      .lora_alpha = 8,
                                                                      .diversity = DiversityNorm::scale_invariant,
                                                                      .pooling = RewardPooling::token_sum});
  w.accuracy_before = ensemble_accuracy(*w.ensemble, held_out);  // B = 0: every member is the trunk
  train_reward_ensemble(*w.ensemble, train, {.epochs = 2, .batch_size = 32, .lr = 3e-3, .alpha = 0.1}, gen);
  w.accuracy = ensemble_accuracy(*w.ensemble, held_out);
  return w;
}

// Seeds 1 to 10 give held-out accuracy (trunk -> ensemble) 0.996 -> 1, 0.984 -> 1, 0.996 -> 0.996,
// 1 -> 1, 1 -> 1, 0.992 -> 0.996, 0.973 -> 1, 0.941 -> 0.969, 0.988 -> 0.996, 1 -> 1 (1024 pairs gave
// 0.81 to 1, too close to 0.8); the suite uses the first.
constexpr uint64_t kWorldSeed = 1;

// Trained once for the suite, by whichever test asks first (tests run in any order).
const WorldEnsemble& world_ensemble() {
  static const WorldEnsemble w = train_world_ensemble(kWorldSeed);
  return w;
}

double mean_of_vector(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

}  // namespace

TEST_CASE("the trained ensemble ranks held-out pairs as the gold reward does [slow]") {
  const WorldEnsemble& w = world_ensemble();
  INFO("held-out accuracy: trunk " << w.accuracy_before << ", ensemble " << w.accuracy);
  CHECK(w.accuracy >= 0.8);
}

TEST_CASE("training with alpha > 0 spreads the members' A more than alpha = 0") {
  test::ThreadCountGuard threads(1);
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
    diversity[use_alpha] = h.diversity.back();
    if (use_alpha) CHECK(h.diversity.back() < before);  // the term fell: the stacked A spread out
  }
  CHECK(diversity[1] < diversity[0]);
  CHECK_THROWS_WITH_AS(train_reward_ensemble(*std::make_unique<RewardEnsemble>(trunk, gen), {}, {}, gen),
                       doctest::Contains("train_reward_ensemble: no preference pairs"), Error);
}

TEST_CASE("scoring in chunks joins the chunks in order") {
  Generator gen(13);
  nn::GPT trunk(small_config(), gen);
  RewardEnsemble ens(trunk, gen, {.members = 4, .rank = 2});
  {
    NoGradGuard guard;
    for (const auto& lora : ens.lora_modules()) {
      Tensor b = lora->B.value();
      b.copy_(randn(b.shape(), gen));
    }
  }
  std::vector<Tokens> prompts, responses;
  for (int i = 0; i < 5; ++i) {
    prompts.push_back(pref::sample_prompt(std::vector<pref::Family>{}, gen));
    responses.push_back(pref::sample_response(prompts.back(), {}, {}, gen));
  }
  const Tensor members = score_members(ens, prompts, responses, /*chunk=*/2);
  REQUIRE(members.shape() == Shape{4, 5});
  const Tensor whole = score_members(ens, prompts, responses);
  CHECK(max(abs(sub(members, whole))).item<double>() < 1e-6);
  CHECK(max(abs(sub(members, members.select(0, 0).unsqueeze(0)))).item<double>() > 1e-3);  // members differ
}

TEST_CASE("the ensemble reward is Eq. 14 on hand-set member rewards, with u_bar shared by copies") {
  // Two members whose heads ignore the hidden state (weight 0) and add biases 1 and 3 at every
  // response token, summed (token_sum): a response of n masked tokens gets member rewards n and 3 n,
  // so r_bar = 2 n and u = n (the population std of {n, 3 n}; the sample std would be n sqrt 2).
  Generator gen(13);
  nn::GPT trunk(small_config(), gen);
  auto ens = std::make_shared<RewardEnsemble>(
      trunk, gen, RewardEnsembleOptions{.members = 2, .rank = 1, .pooling = RewardPooling::token_sum});
  {
    NoGradGuard guard;
    Tensor w = ens->head_weight.value(), b = ens->head_bias.value();
    w.fill_(0);
    b.copy_(tensor({1.0, 3.0}, {2}));
  }
  const Tokens x = pref::encode("tell cat happy moon");
  const std::vector<Tokens> batch1 = {pad("."), pad("cat ."), pad("a cat .")};  // n = 1, 2, 3
  const auto members = score_members(*ens, {x, x, x}, batch1).to_vector<double>();
  CHECK(members == std::vector<double>{1, 2, 3, 3, 6, 9});

  // lambda = 0.5. Batch 1: u = 1, 2, 3, u_bar = 2; r~ = 2 n - 0.5 (n - 2) = 2.5, 4, 5.5.
  EnsembleReward reward(ens, up_rlhf_penalty(0.5));
  const std::vector<double> got1 = reward({x, x, x}, batch1);
  REQUIRE(got1.size() == 3);
  CHECK(got1[0] == doctest::Approx(2.5));
  CHECK(got1[1] == doctest::Approx(4.0));
  CHECK(got1[2] == doctest::Approx(5.5));
  CHECK(reward.running_uncertainty() == doctest::Approx(2.0));
  CHECK(reward.last_batch().samples == 3);
  CHECK(reward.last_batch().mean_reward == doctest::Approx(4.0));  // mean of r_bar = 2, 4, 6
  CHECK(reward.last_batch().uncertainty == doctest::Approx(2.0));
  CHECK(reward.last_batch().penalised == doctest::Approx(4.0));

  // Batch 2 through a copy (PPO-RLHF's RewardFn): n = 4 and 8 (no end), u = 4, 8; u_bar over all five
  // samples = (1 + 2 + 3 + 4 + 8) / 5 = 3.6; r~ = 8 - 0.5 (4 - 3.6) = 7.8 and 16 - 0.5 (8 - 3.6) = 13.8.
  const RewardFn fn = reward.reward_fn();
  const std::vector<double> got2 = fn({x, x}, {pad("a cat sees ."), pref::encode("a cat sees a dog with the moon")});
  REQUIRE(got2.size() == 2);
  CHECK(got2[0] == doctest::Approx(7.8));
  CHECK(got2[1] == doctest::Approx(13.8));
  // The original sees what the copy did.
  CHECK(reward.running_uncertainty() == doctest::Approx(3.6));
  CHECK(reward.last_batch().samples == 2);
  CHECK(reward.last_batch().mean_reward == doctest::Approx(12.0));
  CHECK(reward.last_batch().uncertainty == doctest::Approx(6.0));
  CHECK(reward.last_batch().penalised == doctest::Approx(10.8));

  // The baselines on batch 1: the plain form r_bar - 0.5 u = 1.5 n; UWO r_bar - 0.5 u^2 = 1.5, 2, 1.5;
  // WCO min_k r_k = n; the mean r_bar = 2 n.
  auto on_batch1 = [&](const PenaltyOptions& o) { return EnsembleReward(ens, o)({x, x, x}, batch1); };
  CHECK(on_batch1({.kind = PenaltyKind::uncertainty, .lambda = 0.5, .centered = false}) ==
        std::vector<double>{1.5, 3.0, 4.5});
  CHECK(on_batch1(uwo_penalty(0.5)) == std::vector<double>{1.5, 2.0, 1.5});
  CHECK(on_batch1({.kind = PenaltyKind::wco}) == std::vector<double>{1, 2, 3});
  CHECK(on_batch1({.kind = PenaltyKind::mean}) == std::vector<double>{2, 4, 6});
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
  CHECK_THROWS_WITH_AS(kl_mode_from_string("inside"), doctest::Contains("kl mode: unknown 'inside'"), Error);
  CHECK_THROWS_WITH_AS(set_kl_mode(c, KLMode::off, -1), doctest::Contains("set_kl_mode: beta"), Error);
}

TEST_CASE("UP-RLHF end to end: PPO-RLHF on the penalised ensemble, its logged figures checked [slow]") {
  const WorldEnsemble& w = world_ensemble();
  test::ThreadCountGuard threads(1);
  Generator gen(31);
  nn::GPTConfig policy_config = small_config();
  policy_config.reward_head = false;
  auto policy = std::make_shared<nn::GPT>(policy_config, gen);
  train_sft(*policy, pref::make_corpus(512, {}, {}, {}, gen), {.steps = 60, .batch_size = 32, .lr = 1e-2}, gen);
  const auto reference = clone_gpt(*policy);
  nn::GPTConfig critic_config = policy_config;
  critic_config.value_head = true;
  auto critic = std::make_shared<nn::GPT>(critic_config, gen);
  critic->load_state_dict(policy->state_dict(), /*strict=*/false);

  const double lambda = 0.5;
  EnsembleReward reward(w.ensemble, up_rlhf_penalty(lambda));
  PPORLHFConfig pc{.rollout_prompts = 32, .epochs = 2, .minibatch = 16, .lr = 3e-3};
  set_kl_mode(pc, KLMode::sequence_term, 0.01);  // UP-RLHF's J_KL, outside the reward
  // What PPO-RLHF asked the ensemble reward for, and what it got back.
  std::vector<Tokens> seen_x, seen_y;
  std::vector<double> seen_reward;
  const RewardFn penalised = reward.reward_fn();
  const RewardFn recorded = [&](const std::vector<Tokens>& x, const std::vector<Tokens>& y) {
    seen_x = x;
    seen_y = y;
    seen_reward = penalised(x, y);
    return seen_reward;
  };
  PPORLHF ppo(policy, reference, critic, recorded, pc, 5);
  ppo.set_gold([](const std::vector<Tokens>& x, const std::vector<Tokens>& y) {
    return pref::gold_rewards(pref::RewardKind::target_count, x, y);
  });
  Generator prompts_gen(8);
  std::vector<double> batch_uncertainty;
  const int64_t iterations = 12;
  const auto history = ppo.train(
      iterations,
      [&](int64_t n) {
        std::vector<Tokens> p;
        for (int64_t i = 0; i < n; ++i) p.push_back(pref::sample_prompt(std::vector<pref::Family>{}, prompts_gen));
        return p;
      },
      [&](const PPOIterationStats& st) {
        const EnsembleReward::BatchFigures last = reward.last_batch();
        CHECK(last.samples == 32);
        REQUIRE(seen_reward.size() == 32);
        // Each sample's reward is Eq. 14 on its member rewards [K = 3, 32], reduced here by hand:
        // r_bar - lambda (u - u_bar), u the population std over the members.
        const Tensor members = score_members(*w.ensemble, seen_x, seen_y);
        REQUIRE(members.shape() == Shape{3, 32});
        const std::vector<double> r = members.to_vector<double>();
        double worst = 0, mean_u = 0;
        for (size_t b = 0; b < 32; ++b) {
          const double r_bar = (r[b] + r[32 + b] + r[64 + b]) / 3;
          double var = 0;
          for (size_t k = 0; k < 3; ++k) var += (r[32 * k + b] - r_bar) * (r[32 * k + b] - r_bar) / 3;
          const double u = std::sqrt(var);
          mean_u += u / 32;
          worst = std::max(worst, std::abs(seen_reward[b] - (r_bar - lambda * (u - reward.running_uncertainty()))));
        }
        CHECK(worst < 1e-9);
        CHECK(last.uncertainty == doctest::Approx(mean_u).epsilon(1e-9));
        CHECK(std::isfinite(last.mean_reward));
        CHECK(last.uncertainty > 0);  // three trained members never agree exactly
        batch_uncertainty.push_back(last.uncertainty);
        // The reward PPO-RLHF logged is the mean of the penalised rewards it optimised ...
        CHECK(st.reward == doctest::Approx(last.penalised).epsilon(1e-12));
        // ... Eq. 14 averaged over the batch: mean r_bar - lambda (mean u - u_bar) ...
        CHECK(last.penalised ==
              doctest::Approx(last.mean_reward - lambda * (last.uncertainty - reward.running_uncertainty()))
                  .epsilon(1e-9));
        // ... with u_bar the mean u over every sample so far (equal batches: the mean of batch means).
        CHECK(reward.running_uncertainty() == doctest::Approx(mean_of_vector(batch_uncertainty)).epsilon(1e-9));
        // target_count is at most 2 (two mentions); it is the gold, logged and never optimised.
        CHECK(st.gold <= 2.0);
        CHECK(std::isfinite(st.kl));
      });
  REQUIRE(history.size() == size_t(iterations));
  // KL(pi || pi_ref) starts at 0 (the first rollout is from pi = pi_ref), is positive from then on
  // (0.16 to 1.09 in this run) and grows: the last four rollouts average more than the first four.
  CHECK(history[0].kl == doctest::Approx(0.0).epsilon(1e-6));
  double early = 0, late = 0;
  for (int64_t i = 0; i < iterations; ++i) {
    if (i > 0) CHECK(history[size_t(i)].kl > 0.0);
    if (i < 4) early += history[size_t(i)].kl / 4;
    if (i >= iterations - 4) late += history[size_t(i)].kl / 4;
  }
  CHECK(late > early + 0.3);
  // On fresh samples of 256 prompts the policy has moved well away from pi_ref (1.66 nats here).
  std::vector<Tokens> x;
  for (int i = 0; i < 256; ++i) x.push_back(pref::sample_prompt(std::vector<pref::Family>{}, prompts_gen));
  const auto y = sample_responses(*policy, x, 8, gen);
  const double kl = sampled_kl(*policy, *reference, x, y);
  CHECK(std::isfinite(kl));
  CHECK(kl > 0.5);
}
