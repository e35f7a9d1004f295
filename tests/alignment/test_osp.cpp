// OSP (algorithms/alignment/osp.h): SPCE equals DPO at p = 1 and cDPO at a
// constant p on hand-worked numbers, its gradient by gradcheck, sigma(h) = p
// at its optimum on a one-pair toy; the strength formula and ranked pairing
// on hand-made lists; one online iteration's pairs and labels; the judge's
// warm start reaching a held-out accuracy far above chance ([slow]); errors.
#include <doctest/doctest.h>

#include <cmath>

#include "algorithms/alignment/dpo.h"
#include "algorithms/alignment/osp.h"
#include "algorithms/alignment/sft.h"
#include "autograd/gradcheck.h"
#include "optim/sgd.h"
#include "tensor/error.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;

namespace {

Tensor f64(std::vector<double> v) {
  const int64_t n = int64_t(v.size());
  return from_vector(v, {n});
}

// Two pairs: log-ratios (better - worse) h = 1 and h = -2.
struct Case {
  Var pb = Var::leaf(f64({-1.0, -3.0})), pw = Var::leaf(f64({-2.0, -1.5}));
  Tensor rb = f64({-1.5, -2.0}), rw = f64({-1.5, -2.5});  // h = (0.5) - (-0.5) = 1;  (-1) - (1) = -2
};

nn::GPTConfig tiny_gpt(bool reward_head) {
  return {
      .vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1, .reward_head = reward_head};
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

TEST_CASE("SPCE on hand-worked numbers: DPO at p = 1, cDPO at a constant p") {
  const double beta = 0.5;
  {  // p = 1: L = mean(-log sigma(0.5), -log sigma(-1)) = mean(0.474077, 1.313262) = 0.893670
    Case c;
    const Var loss = spce_loss(c.pb, c.pw, c.rb, c.rw, f64({1.0, 1.0}), beta);
    CHECK(loss.item() == doctest::Approx(0.8936693));
    const Var dpo = dpo_loss(c.pb, c.pw, c.rb, c.rw, {.loss = PreferenceLoss::dpo, .beta = beta});
    CHECK(loss.item() == doctest::Approx(dpo.item()).epsilon(1e-12));
    // dL/dpb_0 = -(1/2) beta sigma(-beta h_0) = -0.25 * 0.377541 = -0.094385
    loss.backward();
    CHECK(c.pb.grad().to_vector<double>()[0] == doctest::Approx(-0.0943852));
  }
  {  // p = 0.9 everywhere is cDPO with eps 0.1
    Case c;
    const Var loss = spce_loss(c.pb, c.pw, c.rb, c.rw, f64({0.9, 0.9}), beta);
    const Var cdpo =
        dpo_loss(c.pb, c.pw, c.rb, c.rw, {.loss = PreferenceLoss::cdpo, .beta = beta, .label_smoothing = 0.1});
    CHECK(loss.item() == doctest::Approx(cdpo.item()).epsilon(1e-12));
    // by hand: pair 0: 0.9 * 0.474077 + 0.1 * 0.974077 = 0.524077; pair 1: 0.9 * 1.313262 + 0.1 * 0.313262 = 1.213262
    CHECK(loss.item() == doctest::Approx((0.5240770 + 1.2132617) / 2));
  }
  {  // p = 0.5 is indifferent: the loss is log 2 + |z|/2-ish, lowest at h = 0; its gradient at h = 0 vanishes
    Var pb = Var::leaf(f64({-1.0})), pw = Var::leaf(f64({-1.0}));
    const Var loss = spce_loss(pb, pw, f64({-1.0}), f64({-1.0}), f64({0.5}), beta);
    CHECK(loss.item() == doctest::Approx(std::log(2.0)));
    loss.backward();
    CHECK(pb.grad().item() == doctest::Approx(0.0));
  }
}

TEST_CASE("SPCE's gradient by central differences") {
  const Tensor rb = f64({-1.5, -2.0, -0.3}), rw = f64({-1.5, -2.5, -0.9}), p = f64({0.7, 0.95, 0.55});
  const GradcheckResult r = gradcheck_at([&](const Vars& v) { return spce_loss(v[0], v[1], rb, rw, p, 0.3); },
                                         {f64({-1.0, -3.0, -0.2}), f64({-2.0, -1.5, -0.7})});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("SPCE's optimum on one pair is sigma(beta h) = p: the margin stays finite") {
  for (const double p : {0.6, 0.8, 0.95}) {
    Var logp_better = Var::leaf(f64({-2.0}));  // the policy's one free number; the worse response's is fixed
    optim::SGD opt({logp_better}, {.lr = 1.0});
    const double beta = 0.5;
    for (int step = 0; step < 3000; ++step) {
      const Var loss = spce_loss(logp_better, Var(f64({-2.0})), f64({-2.0}), f64({-2.0}), f64({p}), beta);
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
    const double h = logp_better.value().item() + 2.0;
    CHECK(sigmoid(beta * h) == doctest::Approx(p).epsilon(1e-4));
  }
}

TEST_CASE("the strength formula and ranked pairing on hand-made lists") {
  CHECK(pair_strength(0.5, 0.5) == doctest::Approx(0.5));
  CHECK(pair_strength(0.75, 0.5) == doctest::Approx(0.75));  // sigma(log 3 - 0)
  // sigma(logit 0.9 - logit 0.2) = sigma(2.197225 + 1.386294) = 0.972973
  CHECK(pair_strength(0.9, 0.2) == doctest::Approx(0.9729730));
  CHECK(pair_strength(0.2, 0.9) == doctest::Approx(1 - 0.9729730));
  CHECK(pair_strength(1.0, 0.0) < 1.0);  // clamped: a finite label even from a certain judge

  // Scores by index: 0.2, 0.9, 0.5, 0.7 -> ranks (best first) 1, 3, 2, 0.
  const std::vector<double> s = {0.2, 0.9, 0.5, 0.7};
  const auto mirror = ranked_pairs(s, Pairing::mirror);
  REQUIRE(mirror.size() == 2);
  CHECK(mirror[0].better == 1);  // rank 1 with rank 4
  CHECK(mirror[0].worse == 0);
  CHECK(mirror[0].strength == doctest::Approx(0.9729730));
  CHECK(mirror[1].better == 3);  // rank 2 with rank 3
  CHECK(mirror[1].worse == 2);
  CHECK(mirror[1].strength == doctest::Approx(sigmoid(std::log(0.7 / 0.3) - 0.0)));
  const auto all = ranked_pairs(s, Pairing::all);
  REQUIRE(all.size() == 6);
  for (const RankedPair& p : all) {
    CHECK(s[size_t(p.better)] >= s[size_t(p.worse)]);
    CHECK(p.strength >= 0.5);
  }
  // An odd K leaves the median unpaired; ties keep their input order.
  const auto odd = ranked_pairs({0.5, 0.5, 0.5}, Pairing::mirror);
  REQUIRE(odd.size() == 1);
  CHECK(odd[0].better == 0);
  CHECK(odd[0].worse == 2);
  CHECK(odd[0].strength == doctest::Approx(0.5));

  CHECK_THROWS_WITH_AS(ranked_pairs({0.3}, Pairing::mirror),
                       doctest::Contains("ranked_pairs: need at least 2 scored responses, got 1"), Error);
  CHECK_THROWS_WITH_AS(ranked_pairs({0.3, NAN}, Pairing::all), doctest::Contains("ranked_pairs: a score is not finite"),
                       Error);
  CHECK_THROWS_WITH_AS(pairing_from_string("ring"), doctest::Contains("unknown pairing 'ring' (mirror, all)"), Error);
  CHECK_THROWS_WITH_AS(baseline_from_string("best"), doctest::Contains("unknown baseline response 'best'"), Error);
  CHECK_THROWS_WITH_AS(strength_from_string("hard"), doctest::Contains("unknown strength 'hard'"), Error);
}

TEST_CASE("spce_loss rejects bad shapes, strengths and beta") {
  Case c;
  CHECK_THROWS_WITH_AS(spce_loss(c.pb, c.pw, c.rb, c.rw, f64({1.0}), 0.5),
                       doctest::Contains("spce_loss: expected five [B] tensors"), Error);
  CHECK_THROWS_WITH_AS(spce_loss(c.pb, c.pw, c.rb, c.rw, f64({1.0, 1.2}), 0.5),
                       doctest::Contains("spce_loss: strengths must lie in [0, 1], got [1, 1.2]"), Error);
  CHECK_THROWS_WITH_AS(spce_loss(c.pb, c.pw, c.rb, c.rw, f64({1.0, 1.0}), 0.0),
                       doctest::Contains("spce_loss: beta must be positive, got 0"), Error);
  // On a device the strengths are counted there, not read back (ref raises at once).
  auto on_ref = [](const Tensor& t) { return t.to(Device::ref); };
  auto ref_loss = [&](const Tensor& p) {
    return spce_loss(Var(on_ref(c.pb.value())), Var(on_ref(c.pw.value())), on_ref(c.rb), on_ref(c.rw), on_ref(p), 0.5);
  };
  CHECK_THROWS_WITH_AS(ref_loss(f64({-0.1, 1.2})), "spce_loss: strengths outside [0, 1] (or NaN) (2 found)", Error);
  CHECK_THROWS_WITH_AS(ref_loss(f64({NAN, 0.5})), "spce_loss: strengths outside [0, 1] (or NaN) (1 found)", Error);
  CHECK(ref_loss(f64({0.0, 1.0})).item() ==
        doctest::Approx(spce_loss(c.pb, c.pw, c.rb, c.rw, f64({0.0, 1.0}), 0.5).item()).epsilon(1e-12));
}

TEST_CASE("one OSP iteration: K samples per prompt, mirrored pairs ordered by the self-judge, labels by mode") {
  test::ThreadCountGuard threads(1);
  Generator gen(5);
  auto policy = std::make_shared<nn::GPT>(tiny_gpt(true), gen);
  const auto reference = clone_gpt(*policy);
  std::vector<Tokens> prompts;
  for (int i = 0; i < 3; ++i) prompts.push_back(pref::sample_prompt({}, gen));
  for (StrengthMode mode : {StrengthMode::soft, StrengthMode::binary, StrengthMode::constant}) {
    OSP osp(policy, reference, nullptr,
            {.samples_per_prompt = 4, .strength = mode, .constant_strength = 0.8, .lr = 1e-3},
            {.pooling = RewardPooling::token_sum}, 7);
    osp.set_gold([](const auto& x, const auto& y) { return pref::gold_rewards(pref::RewardKind::target_count, x, y); });
    OSPIterationStats st;
    const auto pairs = osp.make_pairs(prompts, &st);
    REQUIRE(pairs.size() == 6);  // 3 prompts x K/2
    CHECK(st.pairs == 6);
    for (size_t i = 0; i < pairs.size(); ++i) {
      CHECK(pairs[i].prompt == prompts[i / 2]);
      CHECK(pairs[i].better.size() == 8);
      // The head judge's logit of "better over worse" is r(x, better) - r(x, worse) >= 0: the judge's own order.
      const double d =
          osp.judge().preference_logit({pairs[i].prompt}, {pairs[i].better}, {pairs[i].worse}).value().item();
      CHECK(d >= -1e-6);
      if (mode == StrengthMode::soft) {
        CHECK(pairs[i].strength >= 0.5);
        CHECK(pairs[i].strength == doctest::Approx(sigmoid(d)).epsilon(1e-5));  // with a head, the baseline cancels
      }
      if (mode == StrengthMode::binary) CHECK(pairs[i].strength == 1.0);
      if (mode == StrengthMode::constant) CHECK(pairs[i].strength == 0.8);
    }
    const Tensor before = policy->state_dict()[1].second.clone();
    osp.train_on(pairs, &st);
    CHECK(std::isfinite(st.loss));
    CHECK(st.seconds_train >= 0);
    CHECK(max(abs(sub(policy->state_dict()[1].second, before))).item() > 0);  // it trained
  }
  CHECK_THROWS_WITH_AS(OSP(policy, reference, nullptr, {.samples_per_prompt = 1}, {}, 1),
                       doctest::Contains("OSP: samples_per_prompt (K) must be at least 2, got 1"), Error);
  CHECK_THROWS_WITH_AS(OSP(policy, reference, nullptr, {.baseline = BaselineResponse::sft}, {}, 1),
                       doctest::Contains("OSP: the sft baseline response needs the SFT policy"), Error);
  auto headless = std::make_shared<nn::GPT>(tiny_gpt(false), gen);
  CHECK_THROWS_WITH_AS(OSP(headless, reference, nullptr, {}, {}, 1),
                       doctest::Contains("SelfJudge: the head judge needs a GPT with a reward head"), Error);
}

TEST_CASE("the verdict-word judge reads good minus bad after [x, a, b], and averages both orders") {
  test::ThreadCountGuard threads(1);
  Generator gen(9);
  auto model = std::make_shared<nn::GPT>(
      nn::GPTConfig{.vocab = pref::vocab_size(), .context = 20, .d_model = 16, .heads = 2, .layers = 1}, gen);
  const SelfJudge judge(model, {.kind = JudgeKind::verdict_token});
  const Tokens x = pref::encode("tell cat happy moon");
  Tokens a = pref::encode("the cat sees a cat ."), b = pref::encode("a dog .");
  a.resize(8, pref::kEnd);
  b.resize(8, pref::kEnd);
  // By hand: the logits after the 20-token judge prompt, "good" minus "bad".
  Tokens row = x;
  row.insert(row.end(), a.begin(), a.end());
  row.insert(row.end(), b.begin(), b.end());
  const Tensor logits = model->forward(from_vector(row, {1, 20})).value().to(DType::f64);
  const auto last = logits.select(1, 19).to_vector<double>();
  const double d_ab = last[size_t(pref::word_id("good"))] - last[size_t(pref::word_id("bad"))];
  CHECK(judge.preference_logit({x}, {a}, {b}).value().item() == doctest::Approx(d_ab).epsilon(1e-5));
  const double d_ba = judge.preference_logit({x}, {b}, {a}).value().item();
  CHECK(judge.win_probability({x}, {a}, {b})[0] == doctest::Approx(0.5 * (sigmoid(d_ab) + sigmoid(-d_ba))));
  // A context too short for the judge prompt is named.
  auto short_model = std::make_shared<nn::GPT>(
      nn::GPTConfig{.vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1}, gen);
  CHECK_THROWS_WITH_AS(SelfJudge(short_model, {.kind = JudgeKind::verdict_token}).preference_logit({x}, {a}, {b}),
                       doctest::Contains("SelfJudge: the judge prompt has 20 tokens, the model's context is 12"),
                       Error);
  CHECK_THROWS_WITH_AS(judge_kind_from_string("oracle"), doctest::Contains("unknown kind 'oracle'"), Error);
}

TEST_CASE("the judge's warm start orders held-out pairs far above chance and keeps the language model [slow]") {
  test::ThreadCountGuard threads(1);
  Generator gen(11);
  const auto corpus = pref::make_corpus(2000, {}, {}, {}, gen);
  // The experiment's model size (a 16-wide one-layer trunk does not learn the count from these pairs).
  nn::GPTConfig config{.vocab = pref::vocab_size(), .context = 12, .d_model = 64, .heads = 4, .layers = 2};
  nn::GPT sft(config, gen);
  train_sft(sft, corpus, {.steps = 300, .batch_size = 64, .lr = 3e-3}, gen);
  config.reward_head = true;
  auto model = std::make_shared<nn::GPT>(config, gen);
  model->load_state_dict(sft.state_dict(), /*strict=*/false);
  const SelfJudge judge(model, {.kind = JudgeKind::head, .pooling = RewardPooling::token_sum});
  // Gold-ordered pairs of corpus responses.
  auto pairs = [&](int64_t n) {
    return pref::make_pair_dataset(n, {}, {}, {}, {.reward = pref::RewardKind::target_count}, gen);
  };
  const auto train = pairs(2000), held = pairs(400);
  Generator lm_gen(3);
  std::vector<Tokens> x, y;
  for (int i = 0; i < 256; ++i) {
    const auto& s = corpus[size_t(pref::uniform_int(int64_t(corpus.size()), lm_gen))];
    x.push_back(s.prompt);
    y.push_back(s.response);
  }
  const SequenceBatch lm_batch = make_batch(x, y);
  const double lm_before = sft_loss(*model, lm_batch).item();
  const double acc_before = judge.accuracy_vs_gold(held);
  const auto h = warm_start_judge(judge, train, corpus, {.epochs = 4, .lm_coef = 1.0}, gen);
  const double acc = judge.accuracy_vs_gold(held);
  MESSAGE("held-out accuracy ", acc_before, " -> ", acc, "; BT loss ", h.judge_loss.front(), " -> ",
          h.judge_loss.back());
  CHECK(acc >= 0.8);  // chance is 0.5
  CHECK(h.judge_loss.back() < h.judge_loss.front());
  CHECK(sft_loss(*model, lm_batch).item() < lm_before + 0.1);  // the language model is kept
}
