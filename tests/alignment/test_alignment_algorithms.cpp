// The alignment baselines: DPO, cDPO and IPO losses and gradients on
// hand-worked numbers; batching and masks; a sequence log-prob equals the sum
// of its token log-probs; the reward model learns a separable toy, and its
// pooled heads (token_sum, token_mean) reduce the per-token scores on hand;
// PPO-RLHF's per-token KL reward and GAE on hand numbers, and a short PPO run
// that raises an easy reward; the evaluation helpers.
#include <doctest/doctest.h>

#include <cmath>

#include "algorithms/alignment/dpo.h"
#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "tensor/error.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;

namespace {
Tokens pad(std::string_view text, int64_t len = 8) {
  Tokens t = pref::encode(text);
  t.resize(size_t(len), pref::kEnd);
  return t;
}
nn::GPTConfig tiny_gpt(bool value_head = false) {
  return {.vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1, .value_head = value_head};
}
struct DpoCase {
  Var pc = Var::leaf(tensor({-1.0}, {}, DType::f64)), pr = Var::leaf(tensor({-2.0}, {}, DType::f64));
  Tensor rc = tensor({-1.5}, {}, DType::f64), rr = tensor({-1.5}, {}, DType::f64);  // h = 0.5 - (-0.5) = 1
};
}  // namespace

TEST_CASE("DPO, cDPO and IPO losses and gradients on hand-worked numbers") {
  {  // DPO, beta 0.5: L = -log sigma(0.5) = 0.474077; dL/dpc = -beta sigma(-beta h) = -0.5 * 0.377541
    DpoCase c;
    const Var loss = dpo_loss(c.pc, c.pr, c.rc, c.rr, {.loss = PreferenceLoss::dpo, .beta = 0.5});
    CHECK(loss.item() == doctest::Approx(0.4740769842));
    loss.backward();
    CHECK(c.pc.grad().item() == doctest::Approx(-0.1887703344));
    CHECK(c.pr.grad().item() == doctest::Approx(0.1887703344));
  }
  {  // cDPO eps 0.1: 0.9 * 0.474077 + 0.1 * 0.974077 = 0.524077;
     // dL/dpc = -beta ((1 - eps) sigma(-beta h) - eps sigma(beta h)) = -0.5 (0.339787 - 0.062246)
    DpoCase c;
    const Var loss =
        dpo_loss(c.pc, c.pr, c.rc, c.rr, {.loss = PreferenceLoss::cdpo, .beta = 0.5, .label_smoothing = 0.1});
    CHECK(loss.item() == doctest::Approx(0.5240769842));
    loss.backward();
    CHECK(c.pc.grad().item() == doctest::Approx(-0.1387703344));
    CHECK(c.pr.grad().item() == doctest::Approx(0.1387703344));
  }
  {  // IPO beta 0.25: (h - 2)^2 = 1; dL/dpc = 2 (h - 2) = -2
    DpoCase c;
    const Var loss = dpo_loss(c.pc, c.pr, c.rc, c.rr, {.loss = PreferenceLoss::ipo, .beta = 0.25});
    CHECK(loss.item() == doctest::Approx(1.0));
    loss.backward();
    CHECK(c.pc.grad().item() == doctest::Approx(-2.0));
    CHECK(c.pr.grad().item() == doctest::Approx(2.0));
  }
  {  // A batch takes the mean; eps = 0 makes cDPO plain DPO.
    const Var pc = Var::leaf(tensor({-1.0, 0.0}, {}, DType::f64)), pr = Var::leaf(tensor({-2.0, 0.0}, {}, DType::f64));
    const Tensor rc = tensor({-1.5, 0.0}, {}, DType::f64), rr = tensor({-1.5, 0.0}, {}, DType::f64);
    const double want = (0.4740769842 + std::log(2.0)) / 2;
    CHECK(dpo_loss(pc, pr, rc, rr, {.beta = 0.5}).item() == doctest::Approx(want));
    CHECK(dpo_loss(pc, pr, rc, rr, {.loss = PreferenceLoss::cdpo, .beta = 0.5, .label_smoothing = 0}).item() ==
          doctest::Approx(want));
  }
  DpoCase c;
  CHECK_THROWS_AS(dpo_loss(c.pc, c.pr, c.rc, c.rr, {.beta = 0}), Error);
  CHECK_THROWS_AS(dpo_loss(c.pc, c.pr, c.rc, c.rr, {.loss = PreferenceLoss::cdpo, .label_smoothing = 0.5}), Error);
}

TEST_CASE("batches mask the response up to its end, and a sequence log-prob is the sum of its token log-probs") {
  const std::vector<Tokens> x = {pref::encode("tell cat happy moon"), pref::encode("ask dog sad sun")};
  const std::vector<Tokens> y = {pad("a cat .", 4), pref::encode("the dog sees sun")};
  const SequenceBatch b = make_batch(x, y);
  CHECK(b.tokens.shape() == Shape{2, 8});
  CHECK(b.response_mask.to_vector<float>() == std::vector<float>{0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1});
  CHECK(b.last_index.to_vector<int64_t>() == std::vector<int64_t>{6, 7});
  CHECK(split_responses(b.tokens, 4) == y);
  CHECK_THROWS_AS(make_batch(x, {y[0], pad("a", 5)}), Error);

  Generator gen(2);
  nn::GPT gpt({.vocab = pref::vocab_size(),
               .context = 8,
               .d_model = 8,
               .heads = 2,
               .layers = 1,
               .embedding_std = 0.5,
               .dtype = DType::f64},
              gen);
  const auto lp = gpt.sequence_logprob(b.tokens, b.response_mask);
  // By hand: log_softmax of the logits at position t - 1, read at token t, summed over the mask.
  const Tensor logits = gpt(b.tokens).value();
  const Tensor logsm = log_softmax(logits, -1);
  const auto tok = b.tokens.to_vector<int64_t>();
  const auto m = b.response_mask.to_vector<float>();
  for (int64_t r = 0; r < 2; ++r) {
    double total = 0;
    int count = 0;
    for (int64_t t = 1; t < 8; ++t) {
      if (m[size_t(r * 8 + t)] == 0) continue;
      total += logsm.select(0, r).select(0, t - 1).select(0, tok[size_t(r * 8 + t)]).item();
      ++count;
    }
    CHECK(lp.sum.value().select(0, r).item() == doctest::Approx(total).epsilon(1e-10));
    CHECK(lp.mean.value().select(0, r).item() == doctest::Approx(total / count).epsilon(1e-10));
  }
  // Tokens after the end are forced padding: changing them changes nothing.
  const SequenceBatch b2 = make_batch(x, {pref::encode("a cat . sun"), y[1]});
  CHECK(gpt.sequence_logprob(b2.tokens, b2.response_mask).sum.value().select(0, 0).item() ==
        doctest::Approx(lp.sum.value().select(0, 0).item()).epsilon(1e-12));
}

TEST_CASE("the reward model learns a separable toy") {
  // chosen: "a good NOUN ." ; rejected: "a bad NOUN ." ; held out on other nouns and prompts.
  Generator gen(4);
  auto make = [&](int64_t n, int64_t noun_lo, int64_t noun_hi) {
    std::vector<PreferencePair> pairs;
    const auto nouns = pref::words_of(pref::WordClass::noun);
    for (int64_t i = 0; i < n; ++i) {
      PreferencePair p;
      p.prompt = pref::sample_prompt(pref::Family::show, gen);
      const std::string noun = pref::word(nouns[size_t(noun_lo + pref::uniform_int(noun_hi - noun_lo, gen))]);
      p.chosen = pad("a good " + noun + " .");
      p.rejected = pad("a bad " + noun + " .");
      p.gold_chosen = 1;
      p.gold_rejected = -1;
      pairs.push_back(p);
    }
    return pairs;
  };
  const auto train = make(128, 0, 12), held_out = make(64, 12, 16);
  RewardModel rm(tiny_gpt(), gen);
  auto margin = [&] {  // mean r(chosen) - r(rejected) on the held-out pairs
    std::vector<Tokens> x, c, r;
    for (const auto& p : held_out) {
      x.push_back(p.prompt);
      c.push_back(p.chosen);
      r.push_back(p.rejected);
    }
    return mean_of(rm.score(x, c)) - mean_of(rm.score(x, r));
  };
  const double before = margin();
  const auto h = train_reward_model(rm, train, {.epochs = 6, .batch_size = 32, .lr = 3e-3}, gen);
  CHECK(h.loss.back() < 0.5 * h.loss.front());
  CHECK(h.label_accuracy.back() == 1.0);
  CHECK(accuracy_vs_gold(rm, held_out) == 1.0);
  CHECK(margin() > before + 2.0);
  const auto scores = rm.score({held_out[0].prompt, held_out[0].prompt}, {held_out[0].chosen, held_out[0].rejected});
  CHECK(scores[0] > scores[1]);
  CHECK(bradley_terry_loss(Var(tensor({2.0})), Var(tensor({1.0}))).item() ==
        doctest::Approx(std::log1p(std::exp(-1.0))).epsilon(1e-6));
}

TEST_CASE("reward pooling: token_sum and token_mean score every response token, padding ignored") {
  Generator gen(6);
  RewardModel last(tiny_gpt(), gen), summed(tiny_gpt(), gen, {.pooling = RewardPooling::token_sum}),
      averaged(tiny_gpt(), gen, {.pooling = RewardPooling::token_mean});
  summed.model->load_state_dict(last.model->state_dict());
  averaged.model->load_state_dict(last.model->state_dict());
  const std::vector<Tokens> x = {pref::encode("tell cat happy moon"), pref::encode("ask dog sad sun")};
  const std::vector<Tokens> y = {pad("a cat ."), pref::encode("the dog sees a sun with the cat")};
  const SequenceBatch b = make_batch(x, y);
  // Hand reduction of the per-token head s_t = w . h_t + b over the response mask (rows: 3 and 8 tokens).
  const Tensor s = last.model->reward_head->forward(last.model->hidden(b.tokens)).value().squeeze(-1);
  const auto m = b.response_mask.to_vector<float>();
  const Tensor got_sum = summed.score(b).value(), got_mean = averaged.score(b).value();
  for (int64_t r = 0; r < 2; ++r) {
    double total = 0, count = 0;
    for (int64_t t = 0; t < 12; ++t) {
      total += m[size_t(r * 12 + t)] * s.select(0, r).select(0, t).item();
      count += m[size_t(r * 12 + t)];
    }
    CHECK(count == (r == 0 ? 3 : 8));
    CHECK(got_sum.select(0, r).item() == doctest::Approx(total).epsilon(1e-5));
    CHECK(got_mean.select(0, r).item() == doctest::Approx(total / count).epsilon(1e-5));
  }
  CHECK(last.score(b).value().select(0, 0).item() ==
        doctest::Approx(s.select(0, 0).select(0, 6).item()).epsilon(1e-5));  // last_token: "." at 4 + 2
  // The "." padding after the end is not scored.
  const auto a = summed.score({x[0]}, {pad("a cat .")}),
             c = summed.score({x[0]}, {pref::encode("a cat . sun moon . a")});
  CHECK(a[0] == doctest::Approx(c[0]).epsilon(1e-6));
  CHECK(reward_pooling_from_string("token_sum") == RewardPooling::token_sum);
  CHECK(std::string(reward_pooling_name(RewardPooling::token_mean)) == "token_mean");
  CHECK_THROWS_AS(reward_pooling_from_string("max"), Error);
}

TEST_CASE("PPO-RLHF per-token KL reward and GAE on hand numbers") {
  // One row, L = 3, the third token is padding after the end.
  const Tensor logp = tensor({-1.0, -2.0, -3.0}, {1, 3}, DType::f64);
  const Tensor ref = tensor({-1.5, -1.0, -3.0}, {1, 3}, DType::f64);
  const Tensor mask = tensor({1, 1, 0}, {1, 3}, DType::f64);
  // r = [-0.1 * 0.5, -0.1 * (-1) + 2, 0]
  const Tensor r = per_token_rewards(logp, ref, mask, tensor({2.0}, {}, DType::f64), 0.1);
  const auto rv = r.to_vector<double>();
  CHECK(rv[0] == doctest::Approx(-0.05));
  CHECK(rv[1] == doctest::Approx(2.1));
  CHECK(rv[2] == 0.0);
  // gamma 1, lambda 0.5, V = [0.5, 1.0, 9 (masked)]:
  // delta_1 = 2.1 - 1.0 = 1.1 = A_1; delta_0 = -0.05 + 1.0 - 0.5 = 0.45, A_0 = 0.45 + 0.5 * 1.1 = 1.0
  const Advantages a = gae(r, tensor({0.5, 1.0, 9.0}, {1, 3}, DType::f64), mask, 1.0, 0.5);
  const auto av = a.advantages.to_vector<double>(), gv = a.returns.to_vector<double>();
  CHECK(av[0] == doctest::Approx(1.0));
  CHECK(av[1] == doctest::Approx(1.1));
  CHECK(av[2] == 0.0);
  CHECK(gv[0] == doctest::Approx(1.5));
  CHECK(gv[1] == doctest::Approx(2.1));
  // gamma 0.9, lambda 1: A_1 = 2.1 - 1 = 1.1; A_0 = (-0.05 + 0.9 * 1 - 0.5) + 0.9 * 1.1 = 1.34
  const Advantages a2 = gae(r, tensor({0.5, 1.0, 0.0}, {1, 3}, DType::f64), mask, 0.9, 1.0);
  CHECK(a2.advantages.to_vector<double>()[0] == doctest::Approx(1.34));
  CHECK_THROWS_AS(gae(r, tensor({0.5, 1.0}, {1, 2}, DType::f64), mask, 1, 1), Error);
}

TEST_CASE("PPO-RLHF raises an easy reward (brevity) and logs reward, gold and KL [slow]") {
  Generator gen(6);
  auto policy = std::make_shared<nn::GPT>(tiny_gpt(), gen);
  auto reference = clone_gpt(*policy);
  auto critic = std::make_shared<nn::GPT>(tiny_gpt(true), gen);
  const RewardFn brevity = [](const std::vector<Tokens>& x, const std::vector<Tokens>& y) {
    return pref::gold_rewards(pref::RewardKind::brevity, x, y);
  };
  PPORLHF ppo(policy, reference, critic, brevity,
              {.rollout_prompts = 32, .kl_beta = 0.01, .epochs = 2, .minibatch = 16, .lr = 3e-3}, 7);
  // The gold reward is logged from its own function on the same samples: here minus the reward.
  ppo.set_gold([&](const std::vector<Tokens>& x, const std::vector<Tokens>& y) {
    std::vector<double> r = brevity(x, y);
    for (double& v : r) v = -v;
    return r;
  });
  Generator prompts_gen(8);
  int64_t calls = 0;
  const auto history = ppo.train(
      20,
      [&](int64_t n) {
        std::vector<Tokens> p;
        for (int64_t i = 0; i < n; ++i) p.push_back(pref::sample_prompt({}, prompts_gen));
        return p;
      },
      [&](const PPOIterationStats&) { ++calls; });
  REQUIRE(history.size() == 20);
  CHECK(calls == 20);
  CHECK(history[0].gold == -history[0].reward);
  CHECK(history[19].gold == -history[19].reward);
  CHECK(history[0].kl == doctest::Approx(0.0).epsilon(1e-6));  // the first rollout is from pi = pi_ref
  const double first = (history[0].reward + history[1].reward) / 2,
               last = (history[18].reward + history[19].reward) / 2;
  CHECK(last > first + 0.3);
  CHECK(history.back().kl > 0.0);
}

TEST_CASE("evaluation helpers") {
  CHECK(win_rate({1, 2, 3, 0}, {0, 2, 4, -1}) == doctest::Approx((1 + 0.5 + 0 + 1) / 4.0));
  // bigrams: (a cat) (cat sees) (sees a) (a cat) -> 3 distinct of 4; the second has none past its end
  CHECK(distinct_2({pad("a cat sees a cat ."), pad("dog . a cat")}) == doctest::Approx(3.0 / 4.0));
  CHECK(distinct_2({pad(".")}) == 0.0);
  Generator gen(3);
  nn::GPT gpt(tiny_gpt(), gen);
  const std::vector<Tokens> x = {pref::sample_prompt({}, gen), pref::sample_prompt({}, gen)};
  const auto y = sample_responses(gpt, x, 8, gen);
  CHECK(y.size() == 2);
  for (const Tokens& r : y) pref::check_response(r, {}, "test");
  CHECK(sampled_kl(gpt, gpt, x, y) == doctest::Approx(0.0));
  const double h = mean_token_entropy(gpt, x, y);
  CHECK(h > 0.0);
  CHECK(h <= std::log(double(pref::vocab_size())) + 1e-6);
  Generator g2(1);
  const auto self = evaluate_policy(gpt, gpt, x, pref::RewardKind::brevity, 8, g2);
  CHECK(self.kl == doctest::Approx(0.0));
}

TEST_CASE("SFT lowers the corpus loss [slow]") {
  Generator gen(12);
  const auto corpus = pref::make_corpus(256, {}, {}, {}, gen);
  nn::GPT gpt(tiny_gpt(), gen);
  const auto losses = train_sft(gpt, corpus, {.steps = 60, .batch_size = 32, .lr = 1e-2}, gen);
  CHECK(losses.back() < 0.75 * losses.front());
}
