// The alignment baselines: DPO, cDPO and IPO losses and gradients on
// hand-worked numbers, and DPO learning a toy preference (held-out implicit
// rewards); batching and masks; sequence log-probs; the reward model and its
// pooled heads; PPO-RLHF's per-token KL reward, GAE, and one update's loss,
// value loss and gradient with the sequence-level KL term on hand numbers; the
// sampled KL and entropy of a GPT whose logits are set by hand.
#include <doctest/doctest.h>

#include <cmath>

#include "algorithms/alignment/dpo.h"
#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "tensor/error.h"
#include "tests/thread_count_guard.h"
#include "tests/preference_tokens.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using gradlab::test::pad;

namespace {
nn::GPTConfig tiny_gpt(bool value_head = false) {
  return {.vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1, .value_head = value_head};
}
struct DpoCase {
  Var pc = Var::leaf(tensor({-1.0}, {}, DType::f64)), pr = Var::leaf(tensor({-2.0}, {}, DType::f64));
  Tensor rc = tensor({-1.5}, {}, DType::f64), rr = tensor({-1.5}, {}, DType::f64);  // h = 0.5 - (-0.5) = 1
};

// Pairs with chosen "a good NOUN ." and rejected "a bad NOUN ." to "show" prompts, the nouns drawn from
// words_of(noun)[noun_lo, noun_hi): held-out pairs use nouns the training pairs never saw.
std::vector<PreferencePair> good_bad_pairs(int64_t n, int64_t noun_lo, int64_t noun_hi, Generator& gen) {
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
}

// A GPT whose next-token logits are set by hand: z_after_end[v] after a "." and
// z_after_word[v] after any other token, at every position. It has no blocks;
// "." embeds to 1000 [1, -1, 0, 0] and every other word to 1000 [0, 0, 1, -1],
// which the final LayerNorm (weight 1/sqrt 2) maps to h = [1, -1, 0, 0] or
// [0, 0, 1, -1] (its eps changes them by 1e-11), so the head's columns 0 and
// 2 are the two logit vectors. A value head, when asked for, outputs 0.
std::shared_ptr<nn::GPT> logit_table_gpt(const std::vector<double>& z_after_end,
                                         const std::vector<double>& z_after_word, bool value_head = false) {
  const int64_t V = pref::vocab_size(), C = 4;
  REQUIRE(int64_t(z_after_end.size()) == V);
  REQUIRE(int64_t(z_after_word.size()) == V);
  Generator gen(0);
  auto gpt = std::make_shared<nn::GPT>(
      nn::GPTConfig{.vocab = V, .context = 12, .d_model = C, .heads = 1, .layers = 0, .value_head = value_head}, gen);
  std::vector<double> embedding(size_t(V * C), 0.0), head(size_t(V * C), 0.0);
  for (int64_t v = 0; v < V; ++v) {
    const int64_t col = v == pref::kEnd ? 0 : 2;
    embedding[size_t(v * C + col)] = 1000;
    embedding[size_t(v * C + col + 1)] = -1000;
    head[size_t(v * C + 0)] = z_after_end[size_t(v)];
    head[size_t(v * C + 2)] = z_after_word[size_t(v)];
  }
  NoGradGuard guard;
  auto set = [](const Var& parameter, const Tensor& value) {
    Tensor t = parameter.value();  // shares the parameter's storage
    t.copy_(value);
  };
  set(gpt->token_embedding->weight, from_vector(embedding, {V, C}));
  set(gpt->position_embedding->weight, zeros({12, C}));
  set(gpt->ln_f->weight, full({C}, 1 / std::sqrt(2.0)));
  set(gpt->ln_f->bias, zeros({C}));
  set(gpt->head->weight, from_vector(head, {V, C}));
  if (value_head) {
    set(gpt->value_head->weight, zeros({1, C}));
    set(gpt->value_head->bias, zeros({1}));
  }
  return gpt;
}

// Logits that are `rest` except the given values on the given words.
std::vector<double> logits_with(std::vector<std::pair<std::string, double>> set, double rest = 0.0) {
  std::vector<double> z(size_t(pref::vocab_size()), rest);
  for (const auto& [w, value] : set) z[size_t(pref::word_id(w))] = value;
  return z;
}
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
  CHECK_THROWS_WITH_AS(dpo_loss(c.pc, c.pr, c.rc, c.rr, {.beta = 0}), doctest::Contains("dpo_loss: beta"), Error);
  CHECK_THROWS_WITH_AS(dpo_loss(c.pc, c.pr, c.rc, c.rr, {.loss = PreferenceLoss::cdpo, .label_smoothing = 0.5}),
                       doctest::Contains("dpo_loss: cDPO label_smoothing"), Error);
}

TEST_CASE("DPO learns a toy preference: held-out implicit rewards rank chosen above rejected") {
  test::ThreadCountGuard threads(1);
  Generator gen(21);
  const auto train = good_bad_pairs(128, 0, 12, gen), held_out = good_bad_pairs(64, 12, 16, gen);
  nn::GPT policy(tiny_gpt(), gen);
  const auto reference = clone_gpt(policy);
  const double beta = 0.1;
  // The fraction of held-out pairs whose implicit reward beta (log pi(y|x) - log pi_ref(y|x)) is higher
  // for the chosen response, computed here from the two models rather than read from train_dpo.
  auto implicit_accuracy = [&] {
    std::vector<Tokens> x, yc, yr;
    for (const auto& p : held_out) {
      x.push_back(p.prompt);
      yc.push_back(p.chosen);
      yr.push_back(p.rejected);
    }
    NoGradGuard no_grad;
    auto implicit_reward = [&](const std::vector<Tokens>& y) {
      const SequenceBatch b = make_batch(x, y);
      const Tensor lp = policy.sequence_logprob(b.tokens, b.response_mask).sum.value();
      const Tensor lr = reference->sequence_logprob(b.tokens, b.response_mask).sum.value();
      return mul(sub(lp, lr), beta).to(DType::f64).to_vector<double>();
    };
    const auto rc = implicit_reward(yc), rr = implicit_reward(yr);
    double right = 0;
    for (size_t i = 0; i < rc.size(); ++i) right += rc[i] > rr[i];
    return right / double(rc.size());
  };
  CHECK(implicit_accuracy() == 0.0);  // pi = pi_ref: every implicit reward is exactly 0, no pair is ranked
  const DPOHistory h =
      train_dpo(policy, *reference, train, {.beta = beta, .epochs = 4, .batch_size = 32, .lr = 3e-3}, gen);
  REQUIRE(h.loss.size() == 4);
  CHECK(h.loss.back() < h.loss.front());
  CHECK(implicit_accuracy() >= 0.9);
  CHECK_THROWS_WITH_AS(train_dpo(policy, *reference, {}, {}, gen), doctest::Contains("train_dpo: 0 pairs"), Error);
}

TEST_CASE("batches mask the response up to its end, and a sequence log-prob is the sum of its token log-probs") {
  const std::vector<Tokens> x = {pref::encode("tell cat happy moon"), pref::encode("ask dog sad sun")};
  const std::vector<Tokens> y = {pad("a cat .", 4), pref::encode("the dog sees sun")};
  const SequenceBatch b = make_batch(x, y);
  CHECK(b.tokens.shape() == Shape{2, 8});
  CHECK(b.response_mask.to_vector<float>() == std::vector<float>{0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1});
  CHECK(b.last_index.to_vector<int64_t>() == std::vector<int64_t>{6, 7});
  CHECK(split_responses(b.tokens, 4) == y);
  CHECK_THROWS_WITH_AS(make_batch(x, {y[0], pad("a", 5)}), doctest::Contains("make_batch: row 1"), Error);

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
  test::ThreadCountGuard threads(1);
  // chosen: "a good NOUN ." ; rejected: "a bad NOUN ." ; held out on other nouns and prompts.
  Generator gen(4);
  const auto train = good_bad_pairs(128, 0, 12, gen), held_out = good_bad_pairs(64, 12, 16, gen);
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
  CHECK_THROWS_WITH_AS(reward_pooling_from_string("max"), doctest::Contains("reward model: unknown pooling 'max'"),
                       Error);
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
  CHECK_THROWS_WITH_AS(gae(r, tensor({0.5, 1.0}, {1, 2}, DType::f64), mask, 1, 1),
                       doctest::Contains("gae rewards and values"), Error);
}

TEST_CASE("one PPO-RLHF update with both KL terms: surrogate, value loss and gradient on hand numbers") {
  // The policy puts logit ln 3 on "cat", 0 on "." and -50 on every other word: pi(cat) = 3/4,
  // pi(.) = 1/4 (the rest e^-50). The reference is uniform over the 47 words and the critic says
  // V = 0. Rollouts sample at temperature 0.01, so the one response is "cat cat" (2 masked tokens),
  // scored at temperature 1 as PPO-RLHF does:
  //   Delta = log pi(cat) - log pi_ref(cat) = ln(0.75 * 47) = ln 35.25 = 3.5624655 per token
  //   rewards (R = 1, beta = 0.1): r_0 = -beta Delta, r_1 = -beta Delta + 1
  //   GAE with V = 0, gamma = lambda = 1: A_1 = 1 - beta Delta = 0.6437534, A_0 = 1 - 2 beta Delta = 0.2875069
  //   policy loss at rho = 1: -(A_0 + A_1) / 2 = -1 + 1.5 beta Delta = -0.4656302
  //   value loss: 0.5 (A_0^2 + A_1^2) / 2 = 0.1242697
  //   J_KL (coef c = 0.05) = c (sum_t log pi/pi_ref)^2 = c (2 Delta)^2: d/dlogp_t = 4 c Delta
  //   dLoss/dlogp_t = -A_t / 2 + 4 c Delta; dlogp_t/dz_cat = 1 - 3/4, dlogp_t/dz_. = -1/4
  //   dLoss/dW[cat, 2] = (1/4) sum_t dLoss/dlogp_t = (-1 + 1.5 beta Delta + 8 c Delta) / 4 = 0.2398390
  // (W[v, 2] is the head weight that multiplies h_2 = 1 after a word; W[v, 3] meets h_3 = -1.)
  const double delta = std::log(35.25), beta = 0.1, coef = 0.05;
  const double a0 = 1 - 2 * beta * delta, a1 = 1 - beta * delta;
  CHECK(delta == doctest::Approx(3.5624655293));
  CHECK(a0 == doctest::Approx(0.2875068941));
  CHECK(a1 == doctest::Approx(0.6437534471));
  const std::vector<double> flat(size_t(pref::vocab_size()), 0.0);
  auto policy = logit_table_gpt(flat, logits_with({{".", 0.0}, {"cat", std::log(3.0)}}, -50.0));
  auto reference = logit_table_gpt(flat, flat);
  auto critic = logit_table_gpt(flat, flat, /*value_head=*/true);
  std::vector<Tokens> seen;
  const RewardFn reward = [&](const std::vector<Tokens>& x, const std::vector<Tokens>& y) {
    seen = y;
    return std::vector<double>(x.size(), 1.0);
  };
  PPORLHF ppo(policy, reference, critic, reward,
              {.rollout_prompts = 1,
               .response_len = 2,
               .kl_beta = beta,
               .gamma = 1.0,
               .lambda = 1.0,
               .epochs = 1,
               .minibatch = 1,
               .max_grad_norm = 0,  // the gradient is read after the step: no clipping may scale it
               .whiten_advantages = false,
               .squared_kl_loss_coef = coef,
               .temperature = 0.01},
              3);
  const PPOIterationStats st = ppo.step({pref::encode("tell dog happy moon")});
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0] == pref::encode("cat cat"));
  CHECK(st.reward == 1.0);
  CHECK(st.kl == doctest::Approx(2 * delta));  // sum over the 2 tokens of log pi - log pi_ref
  CHECK(st.policy_loss == doctest::Approx(-1 + 1.5 * beta * delta));
  CHECK(st.policy_loss == doctest::Approx(-0.4656301706));
  CHECK(st.value_loss == doctest::Approx(0.5 * (a0 * a0 + a1 * a1) / 2));
  CHECK(st.value_loss == doctest::Approx(0.1242696787));
  // The update left the gradient of the whole loss (surrogate + J_KL) at the old parameters in the head.
  const double g = (-1 + 1.5 * beta * delta + 8 * coef * delta) / 4;
  CHECK(g == doctest::Approx(0.2398390103));
  const Tensor grad = policy->head->weight.grad().to(DType::f64);
  const int64_t cat = pref::word_id("cat"), end = pref::kEnd;
  CHECK(grad.select(0, cat).select(0, 2).item() == doctest::Approx(g));
  CHECK(grad.select(0, cat).select(0, 3).item() == doctest::Approx(-g));
  CHECK(grad.select(0, end).select(0, 2).item() == doctest::Approx(-g));
  CHECK(grad.select(0, end).select(0, 3).item() == doctest::Approx(g));
  // Words of probability e^-50 and the after-"." columns (no masked token follows a ".") get nothing.
  CHECK(max(abs(grad.select(1, 0))).item() < 1e-6);
  CHECK(std::abs(grad.select(0, pref::word_id("dog")).select(0, 2).item()) < 1e-6);
}

TEST_CASE("mean and standard error of the mean on hand numbers") {
  // 1, 2, 3, 6: mean 3, sample variance (4 + 1 + 0 + 9) / 3 = 14/3, standard error sqrt(14/3 / 4).
  CHECK(mean_of({1, 2, 3, 6}) == 3.0);
  CHECK(standard_error({1, 2, 3, 6}) == doctest::Approx(std::sqrt(14.0 / 12.0)));
  CHECK(standard_error({5}) == 0.0);
  CHECK_THROWS_WITH_AS(mean_of({}), doctest::Contains("alignment::mean_of: no values"), Error);
}

TEST_CASE("the adaptive KL controller on hand numbers, and inside PPO-RLHF") {
  // coef (1 + rate clip(KL / target - 1, -0.2, 0.2)): KL 9 against 10 is 10% under the target,
  // so the coefficient shrinks by rate * 0.1; KL 15 is 50% over, clipped to 20%.
  CHECK(adapt_kl_coefficient(0.1, 9, 10, 0.1) == doctest::Approx(0.1 * (1 - 0.01)));
  CHECK(adapt_kl_coefficient(0.1, 15, 10, 0.1) == doctest::Approx(0.1 * (1 + 0.02)));
  CHECK(adapt_kl_coefficient(0.1, 0, 10, 0.5) == doctest::Approx(0.1 * (1 - 0.1)));
  CHECK(adapt_kl_coefficient(0.1, 10, 10, 0.5) == 0.1);
  CHECK_THROWS_WITH_AS(adapt_kl_coefficient(0.1, 1, 0, 0.1), doctest::Contains("adapt_kl_coefficient"), Error);
  // In PPO-RLHF the rollout uses the coefficient it started the iteration with, and the next
  // iteration's follows from the rollout's KL: here "cat cat" with KL 2 ln 35.25 = 7.12 against a
  // target of 2 (over by more than 20%), so J_KL's coefficient grows by rate * 0.2.
  const std::vector<double> flat(size_t(pref::vocab_size()), 0.0);
  auto policy = logit_table_gpt(flat, logits_with({{".", 0.0}, {"cat", std::log(3.0)}}, -50.0));
  auto reference = logit_table_gpt(flat, flat);
  auto critic = logit_table_gpt(flat, flat, /*value_head=*/true);
  const RewardFn reward = [](const std::vector<Tokens>& x, const std::vector<Tokens>&) {
    return std::vector<double>(x.size(), 1.0);
  };
  PPORLHF ppo(policy, reference, critic, reward,
              {.rollout_prompts = 1,
               .response_len = 2,
               .kl_beta = 0,
               .epochs = 0,
               .squared_kl_loss_coef = 0.05,
               .temperature = 0.01,
               .kl_target = 2.0,
               .kl_rate = 0.5},
              3);
  const PPOIterationStats st = ppo.step({pref::encode("tell dog happy moon")});
  CHECK(st.kl == doctest::Approx(2 * std::log(35.25)));
  CHECK(st.kl_coef == 0.05);
  CHECK(ppo.config().squared_kl_loss_coef == doctest::Approx(0.05 * 1.1));
  CHECK(ppo.config().kl_beta == 0);
  CHECK(active_kl_coefficient(ppo.config()) == ppo.config().squared_kl_loss_coef);
  CHECK(active_kl_coefficient(PPORLHFConfig{.kl_beta = 0.3}) == 0.3);  // no J_KL: the in-reward beta
  // A target needs a coefficient to adapt.
  CHECK_THROWS_WITH_AS(PPORLHF(policy, reference, critic, reward, {.kl_beta = 0, .kl_target = 2.0}, 1),
                       doctest::Contains("kl_target 2 needs a positive starting KL coefficient"), Error);
}

TEST_CASE("sampled KL and mean token entropy of a GPT with hand-set logits") {
  // After a word the policy gives "." logit ln 46 and every other word 0: pi(.) = 46/92 = 1/2 and
  // 1/92 each for the other 46. After a "." it gives "." logit ln 138: pi(.) = 3/4, the rest 1/184.
  // The reference is uniform, 1/47. Every masked response token follows a word (the prompt's last
  // noun or a word before the first "."), so only the after-word table enters; the "." padding
  // after the end, predicted from ".", would change both figures if it were counted.
  auto policy = logit_table_gpt(logits_with({{".", std::log(138.0)}}), logits_with({{".", std::log(46.0)}}));
  auto reference = logit_table_gpt(logits_with({}), logits_with({}));
  const std::vector<Tokens> x = {pref::encode("tell cat happy moon"), pref::encode("ask dog sad sun")};
  const std::vector<Tokens> y = {pad("a cat ."), pad(".")};
  // KL: "a cat ." scores 2 ln((1/92) / (1/47)) + ln((1/2) / (1/47)) = 2 ln(47/92) + ln 23.5 = 1.8137185;
  // "." alone scores ln 23.5 = 3.1570004; the mean over the two samples is 2.4853594.
  CHECK(sampled_kl(*policy, *reference, x, y) == doctest::Approx(2.4853594458));
  CHECK(sampled_kl(*policy, *reference, x, y) ==
        doctest::Approx((2 * std::log(47.0 / 92) + 2 * std::log(23.5)) / 2).epsilon(1e-6));
  CHECK(sampled_kl(*reference, *policy, x, y) == doctest::Approx(-2.4853594458));  // the estimator's sign
  // Entropy after a word: -(1/2) ln(1/2) - 46 (1/92) ln(1/92) = (1/2) ln 184 = 2.6074679 at each of the
  // 4 masked tokens; the after-"." table's (3/4) ln(4/3) + (1/4) ln 184 = 1.5194955 never enters.
  CHECK(mean_token_entropy(*policy, x, y) == doctest::Approx(2.6074678788));
  CHECK(mean_token_entropy(*reference, x, y) == doctest::Approx(std::log(47.0)));  // uniform: ln 47 = 3.8501476
  // A response that runs to the last token: 8 masked tokens, all after words.
  const std::vector<Tokens> long_y = {pref::encode("a cat sees a dog with the moon"), pad("a .")};
  CHECK(mean_token_entropy(*policy, x, long_y) == doctest::Approx(0.5 * std::log(184.0)));
  CHECK(sampled_kl(*policy, *reference, x, long_y) ==
        doctest::Approx((8 * std::log(47.0 / 92) + std::log(47.0 / 92) + std::log(23.5)) / 2));
}

TEST_CASE("PPO-RLHF raises an easy reward (brevity) and logs reward, gold and KL [slow]") {
  test::ThreadCountGuard threads(1);
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
  // The sampled KL grows from 0 as the policy leaves pi_ref (0.29 over the first four rollouts, 3.2
  // over the last four in this run).
  double early = 0, late = 0;
  for (int i = 0; i < 4; ++i) {
    early += history[size_t(i)].kl / 4;
    late += history[size_t(16 + i)].kl / 4;
  }
  CHECK(late > early + 1.0);
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
  Generator g2(1);
  const auto self = evaluate_policy(gpt, gpt, x, pref::RewardKind::brevity, 8, g2);
  CHECK(self.kl == doctest::Approx(0.0));
  // On its own samples, the hand-set policy of the KL and entropy test has entropy (1/2) ln 184 at
  // every masked token (each follows a word), whatever it sampled.
  auto table = logit_table_gpt(logits_with({{".", std::log(138.0)}}), logits_with({{".", std::log(46.0)}}));
  const auto on_table = evaluate_policy(*table, *table, x, pref::RewardKind::brevity, 8, g2);
  CHECK(on_table.entropy == doctest::Approx(0.5 * std::log(184.0)));
  CHECK(on_table.kl == doctest::Approx(0.0));
}

TEST_CASE("the thread-count guard pins the count and gives the old one back") {
  const int before = num_threads();
  {
    test::ThreadCountGuard outer(3);
    CHECK(num_threads() == 3);
    {
      test::ThreadCountGuard inner(1);
      CHECK(num_threads() == 1);
    }
    CHECK(num_threads() == 3);
  }
  CHECK(num_threads() == before);
}

TEST_CASE("SFT lowers the corpus loss [slow]") {
  test::ThreadCountGuard threads(1);
  Generator gen(12);
  const auto corpus = pref::make_corpus(256, {}, {}, {}, gen);
  nn::GPT gpt(tiny_gpt(), gen);
  const auto losses = train_sft(gpt, corpus, {.steps = 60, .batch_size = 32, .lr = 1e-2}, gen);
  CHECK(losses.back() < 0.75 * losses.front());
}
