// Continual preference learning: COPR's optimal-policy distribution on a
// hand-worked candidate set (an added delta(x) cancels), the moderate reward's
// range and its scale's Beta(J-1, 2) mean, the MSE and KL fits' values and
// gradients (gradcheck), one Lagrangian step on hand numbers (and with the
// multipliers as tensors on cpu and ref, equal to the host's), COPF's
// batch-normalised P* and rewards, EWC's diagonal Fisher against central
// differences on a tiny f64 GPT, the L2 and EWC penalties, distillation KL,
// ranked pairs and the replay memory, AA/AIA/FM/BWT on a hand-made score
// matrix, COPR fitting P* on a small task, ranking agreement, and COPF's
// scoring head ranking unlabelled sets after learning brevity.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/alignment/continual_baselines.h"
#include "algorithms/alignment/continual_metrics.h"
#include "algorithms/alignment/copf.h"
#include "algorithms/alignment/copf_scorer.h"
#include "algorithms/alignment/copr.h"
#include "autograd/gradcheck.h"
#include "tensor/error.h"
#include "tests/thread_count_guard.h"
#include "tests/preference_tokens.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using gradlab::test::pad;

namespace {
Tensor f64(std::initializer_list<double> v, const Shape& shape) { return tensor(v, shape, DType::f64); }
nn::GPTConfig tiny_gpt(DType dtype = DType::f32) {
  return {.vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1, .dtype = dtype};
}
double log_sum_exp(const std::vector<double>& z) {
  double s = 0;
  for (double v : z) s += std::exp(v);
  return std::log(s);
}
}  // namespace

TEST_CASE("P* on a hand-worked candidate set, and an added delta(x) cancels") {
  // J = 3, best first; pi_{t-1} log-probs -1, -2, -3; r_x = 0.5 gives Adv = 0.5, 0, -0.5; beta = 0.5.
  const std::vector<double> adv = moderate_advantages(3, 0.5);
  REQUIRE(adv.size() == 3);
  CHECK(adv[0] == doctest::Approx(0.5));
  CHECK(adv[1] == doctest::Approx(0.0));
  CHECK(adv[2] == doctest::Approx(-0.5));
  const Tensor prev = f64({-1, -2, -3}, {1, 3});
  const Tensor p_star = optimal_policy_logprobs(prev, f64({0.5, 0, -0.5}, {1, 3}), 0.5);
  // z = log pi + Adv / beta = (0, -2, -4); log P* = z - log(1 + e^-2 + e^-4)
  const double lse = log_sum_exp({0, -2, -4});
  const auto got = p_star.to_vector<double>();
  CHECK(got[0] == doctest::Approx(0 - lse).epsilon(1e-12));
  CHECK(got[1] == doctest::Approx(-2 - lse).epsilon(1e-12));
  CHECK(got[2] == doctest::Approx(-4 - lse).epsilon(1e-12));
  CHECK(std::exp(got[0]) + std::exp(got[1]) + std::exp(got[2]) == doctest::Approx(1.0));
  // r = Adv + delta(x) with delta = 0.7 on every candidate, and pi scaled by a constant: the same P*
  const Tensor shifted = optimal_policy_logprobs(add(prev, 3.0), f64({1.2, 0.7, 0.2}, {1, 3}), 0.5);
  const auto s = shifted.to_vector<double>();
  for (size_t k = 0; k < 3; ++k) CHECK(s[k] == doctest::Approx(got[k]).epsilon(1e-12));
  CHECK_THROWS_AS(optimal_policy_logprobs(prev, f64({0.5, 0}, {1, 2}), 0.5), Error);
  CHECK_THROWS_AS(optimal_policy_logprobs(prev, f64({0.5, 0, -0.5}, {1, 3}), 0.0), Error);
}

TEST_CASE("the moderate reward: linear in rank within [-r_x, r_x], r_x ~ Beta(J-1, 2) with mean (J-1)/(J+1)") {
  const std::vector<double> adv = moderate_advantages(4, 0.6);
  REQUIRE(adv.size() == 4);
  for (size_t k = 0; k < 4; ++k) CHECK(adv[k] == doctest::Approx(0.6 * (1.0 - 2.0 * double(k) / 3.0)));  // 0.6 .. -0.6
  CHECK(moderate_advantages(2, 0.3)[0] == doctest::Approx(0.3));                                         // pairs: +-r_x
  CHECK(moderate_advantages(2, 0.3)[1] == doctest::Approx(-0.3));
  CHECK_THROWS_AS(moderate_advantages(1, 0.5), Error);
  CHECK_THROWS_AS(moderate_advantages(4, 1.5), Error);
  Generator gen(3);
  for (int64_t J : {2, 4, 6}) {
    const int n = 20000;
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; ++i) {
      const double r = sample_moderate_scale(J, gen);
      s += r;
      s2 += r * r;
      lo = std::min(lo, r);
      hi = std::max(hi, r);
    }
    const double a = double(J - 1), b = 2, mean = s / n, var = s2 / n - mean * mean;
    const double true_var = a * b / ((a + b) * (a + b) * (a + b + 1));
    CHECK(lo >= 0);
    CHECK(hi <= 1);
    CHECK(std::abs(mean - a / (a + b)) < 4 * std::sqrt(true_var / n));  // within 4 standard errors
    CHECK(std::abs(var - true_var) < 0.1 * true_var);
  }
}

TEST_CASE("the fit: MSE of log-distributions on hand numbers, KL, and their gradients by central differences") {
  // log P_theta = log_softmax((0, 0)) = (-log 2, -log 2); log P* = (log 0.8, log 0.2)
  const Var lp = candidate_log_distribution(Var(f64({-3, -3}, {1, 2})));
  const Tensor target = f64({std::log(0.8), std::log(0.2)}, {1, 2});
  const double d0 = -std::log(2.0) - std::log(0.8), d1 = -std::log(2.0) - std::log(0.2);
  CHECK(fit_loss(lp, target).item() == doctest::Approx((d0 * d0 + d1 * d1) / 2));
  CHECK(fit_loss(lp, target, FitLoss::kl).item() ==
        doctest::Approx(0.8 * std::log(0.8 / 0.5) + 0.2 * std::log(0.2 / 0.5)));
  CHECK(fit_loss(candidate_log_distribution(Var(target)), target).item() == doctest::Approx(0.0));
  const Tensor t2 = optimal_policy_logprobs(f64({-1, -2.5, -4, -0.5, -3, -2, -1, -1}, {2, 4}),
                                            f64({0.6, 0.2, -0.2, -0.6, 0.3, 0.1, -0.1, -0.3}, {2, 4}), 0.4);
  for (FitLoss kind : {FitLoss::mse, FitLoss::kl}) {
    const GradcheckResult r =
        gradcheck_at([&](const Vars& v) { return fit_loss(candidate_log_distribution(v[0]), t2, kind); },
                     {f64({-2, -1, -3.5, -0.7, -1.2, -2.2, -0.4, -3}, {2, 4})});
    CHECK_MESSAGE(r.ok, r.message);
  }
  CHECK_THROWS_AS(fit_loss(lp, f64({0, 0, 0}, {1, 3})), Error);
}

TEST_CASE("one Lagrangian step: lambda rises while its constraint is violated and falls while it holds") {
  LagrangeMultipliers duals{{0.0, 0.0}};
  duals.update({0.5, -0.5}, 0.1);  // ln lambda <- ln lambda + alpha lambda J^C with lambda = 1
  const auto lambda = duals.lambda();
  CHECK(lambda[0] == doctest::Approx(std::exp(0.05)));
  CHECK(lambda[1] == doctest::Approx(std::exp(-0.05)));
  CHECK(lambda[0] > 1.0);
  CHECK(lambda[1] < 1.0);
  duals.update({0.5, -0.5}, 0.1);  // the step scales with lambda itself
  CHECK(duals.log_lambda[0] == doctest::Approx(0.05 + 0.1 * std::exp(0.05) * 0.5));
  CHECK(duals.log_lambda[1] == doctest::Approx(-0.05 - 0.1 * std::exp(-0.05) * 0.5));
  CHECK_THROWS_AS(duals.update({0.5}, 0.1), Error);
  // L = (J_t + sum lambda_i J_i^C) / (1 + sum lambda_i), and its gradient in J_i^C is lambda_i / Lambda
  Var task = Var::leaf(f64({2.0}, {})), c0 = Var::leaf(f64({0.5}, {})), c1 = Var::leaf(f64({-0.5}, {}));
  const double l0 = 1.5, l1 = 0.5, Lambda = 3.0;
  const Var L = lagrangian(task, {c0, c1}, {l0, l1});
  CHECK(L.item() == doctest::Approx((2.0 + 1.5 * 0.5 - 0.5 * 0.5) / 3.0));
  L.backward();
  CHECK(task.grad().item() == doctest::Approx(1 / Lambda));
  CHECK(c0.grad().item() == doctest::Approx(l0 / Lambda));
  CHECK(c1.grad().item() == doctest::Approx(l1 / Lambda));
  CHECK_THROWS_AS(lagrangian(task, {c0}, {-1.0}), Error);
  // a lasting violation cannot overflow lambda
  LagrangeMultipliers big{{0.0}};
  for (int i = 0; i < 50; ++i) big.update({100.0}, 1.0);
  CHECK(std::isfinite(big.lambda()[0]));
  CHECK(big.lambda()[0] == doctest::Approx(kMaxLambda));
}

TEST_CASE("the Lagrangian step and loss with the multipliers as tensors equal the host's") {
  // dual_step is LagrangeMultipliers::update on a device; lagrangian takes lambda [M] there.
  for (Device d : {Device::cpu, Device::ref}) {
    CAPTURE(device_name(d));
    LagrangeMultipliers host{{0.3, -1.0, 0.0}};
    Tensor log_lambda = f64({0.3, -1.0, 0.0}, {3}).to(d);
    for (const std::vector<double>& v : {std::vector<double>{0.5, -0.5, 200.0}, {-0.2, 0.7, 300.0}}) {
      host.update(v, 0.1);
      log_lambda = dual_step(log_lambda, from_vector(v, {3}).to(d), 0.1);
    }
    const std::vector<double> got = log_lambda.to_vector<double>();
    for (size_t i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(host.log_lambda[i]).epsilon(1e-15));
    CHECK(got[2] == doctest::Approx(std::log(kMaxLambda)));  // clamped as on the host
    CHECK_THROWS_AS(dual_step(log_lambda, f64({1.0}, {1}).to(d), 0.1), Error);

    Var task = Var::leaf(f64({2.0}, {}).to(d)), c0 = Var::leaf(f64({0.5}, {}).to(d)),
        c1 = Var::leaf(f64({-0.5}, {}).to(d));
    const Var L = lagrangian(task, {c0, c1}, f64({1.5, 0.5}, {2}).to(d));
    CHECK(L.item() == doctest::Approx((2.0 + 1.5 * 0.5 - 0.5 * 0.5) / 3.0).epsilon(1e-15));
    L.backward();
    CHECK(c0.grad().item() == doctest::Approx(1.5 / 3.0));
    CHECK_THROWS_AS(lagrangian(task, {c0}, f64({1.0, 2.0}, {2}).to(d)), Error);
    // A negative multiplier: at once on cpu and ref (on cuda at the next read).
    CHECK_THROWS_AS(lagrangian(task, {c0}, f64({-1.0}, {1}).to(d)), Error);
  }
}

TEST_CASE("COPF: P* normalised over the batch, margin and sorted Gaussian rewards, the function regulariser") {
  const Tensor ls = batch_optimal_logprobs(f64({-1, -2, -1.5}, {3}), f64({1, -1, 1}, {3}), 0.5);
  const double lse = log_sum_exp({1, -4, 0.5});  // l_ref + r / beta
  const auto v = ls.to_vector<double>();
  CHECK(v[0] == doctest::Approx(1 - lse));
  CHECK(v[1] == doctest::Approx(-4 - lse));
  CHECK(v[2] == doctest::Approx(0.5 - lse));
  Generator gen(1);
  const auto m = copf_rewards(2, COPFReward::margin, 0.7, 1.0, gen);
  CHECK(m[0] == doctest::Approx(0.7));
  CHECK(m[1] == doctest::Approx(-0.7));
  const auto g = copf_rewards(5, COPFReward::gaussian, 1.0, 2.0, gen);
  for (size_t k = 1; k < g.size(); ++k) CHECK(g[k - 1] >= g[k]);  // sorted: the best gets the largest
  CHECK(function_regulariser(Var(f64({-1, -2}, {2})), f64({-1.5, -1}, {2})).item() ==
        doctest::Approx((0.25 + 1.0) / 2));
  CHECK(batch_fit_loss(Var(f64({-1, -2, -1.5}, {3})), ls).item() > 0);
  const GradcheckResult r =
      gradcheck_at([&](const Vars& x) { return batch_fit_loss(x[0], ls); }, {f64({-0.5, -2.2, -1.1}, {3})});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("EWC's diagonal Fisher on a tiny model equals the mean squared central-difference gradient") {
  test::ThreadCountGuard threads(1);
  Generator gen(7);
  nn::GPT model(tiny_gpt(DType::f64), gen);
  const std::vector<Tokens> x = {pref::encode("tell cat happy moon"), pref::encode("ask dog sad sun"),
                                 pref::encode("write bird warm tree")};
  const std::vector<Tokens> y = {pad("the cat sees a moon ."), pad("a dog ."), pad("the warm bird sings .")};
  const std::vector<Tensor> fisher = diagonal_fisher(model, x, y, /*mean_logprob=*/false);
  const std::vector<Var> params = model.trainable_parameters();
  REQUIRE(fisher.size() == params.size());
  auto logprob = [&](size_t n) {
    NoGradGuard no_grad;
    const SequenceBatch b = make_batch({x[n]}, {y[n]});
    return model.sequence_logprob(b.tokens, b.response_mask).sum.item();
  };
  int checked = 0;
  for (size_t k = 0; k < params.size(); k += 3) {  // a few elements of every third parameter
    double* w = params[k].value().data<double>();
    const double* f = fisher[k].data<double>();
    for (int64_t e : {int64_t(0), params[k].numel() / 2, params[k].numel() - 1}) {
      const double h = 1e-5, saved = w[e];
      double explicit_f = 0;
      for (size_t n = 0; n < x.size(); ++n) {
        w[e] = saved + h;
        const double up = logprob(n);
        w[e] = saved - h;
        const double down = logprob(n);
        w[e] = saved;
        const double g = (up - down) / (2 * h);
        explicit_f += g * g / double(x.size());  // F = (1/N) sum_n g_n^2
      }
      CHECK(f[e] == doctest::Approx(explicit_f).epsilon(1e-6).scale(1e-8));
      ++checked;
    }
  }
  CHECK(checked >= 9);
  // the penalties on hand numbers
  const std::vector<Var> p = {Var::leaf(f64({1, 2}, {2}))};
  CHECK(l2_penalty(p, {f64({0, 0}, {2})}).item() == doctest::Approx(5.0));
  CHECK(ewc_penalty(p, {f64({0, 1}, {2})}, {f64({3, 0.5}, {2})}).item() == doctest::Approx(3 * 1 + 0.5 * 1));
  CHECK_THROWS_AS(diagonal_fisher(model, x, {y[0]}, false), Error);
}

TEST_CASE("distillation KL vanishes against the same model and is positive against another") {
  Generator gen(2);
  nn::GPT a(tiny_gpt(), gen), b(tiny_gpt(), gen);
  const SequenceBatch batch = make_batch({pref::encode("tell cat happy moon")}, {pad("the cat sees a moon .")});
  CHECK(distillation_kl(a, a, batch).item() == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(distillation_kl(a, b, batch).item() > 1e-4);
}

TEST_CASE("ranked pairs skip ties; the replay memory keeps ceil(5%) distinct tasks' rankings") {
  Ranking r;
  r.prompt = pref::encode("tell cat happy moon");
  r.responses = {pad("a cat cat ."), pad("a cat ."), pad("a dog ."), pad("a sun .")};
  r.gold = {2, 1, 0, 0};
  const auto pairs = ranking_pairs({r});
  CHECK(pairs.size() == 5);  // 6 pairs minus the tie
  for (const auto& p : pairs) CHECK(p.gold_chosen > p.gold_rejected);
  CHECK(top_responses({r}).front().response == r.responses.front());
  Generator gen(4);
  const auto keep = replay_indices(256, 0.05, gen);
  CHECK(keep.size() == 13);
  for (size_t i = 1; i < keep.size(); ++i) CHECK(keep[i - 1] < keep[i]);
  CHECK(keep.back() < 256);
  CHECK(replay_indices(10, 0.0, gen).empty());
}

TEST_CASE("AA, AIA, FM and BWT on a hand-made score matrix") {
  ScoreMatrix a = {{0.8, 0.1, 0.0}, {0.6, 0.9, 0.2}, {0.5, 0.7, 0.9}};
  CHECK(average_accuracy(a) == doctest::Approx(0.7));               // (0.5 + 0.7 + 0.9) / 3
  CHECK(average_incremental_accuracy(a) == doctest::Approx(0.75));  // (0.8 + 0.75 + 0.7) / 3
  CHECK(backward_transfer(a) == doctest::Approx(-0.25));            // ((0.5 - 0.8) + (0.7 - 0.9)) / 2
  CHECK(forgetting_measure(a) == doctest::Approx(0.25));            // ((0.8 - 0.5) + (0.9 - 0.7)) / 2
  a[1][0] = 0.95;  // task 0 peaked after stage 1: FM counts the peak, BWT only the score right after learning it
  CHECK(forgetting_measure(a) == doctest::Approx((0.45 + 0.2) / 2));
  CHECK(backward_transfer(a) == doctest::Approx(-0.25));
  CHECK(average_accuracy({{0.4}}) == doctest::Approx(0.4));
  CHECK_THROWS_AS(backward_transfer({{0.4}}), Error);
  CHECK_THROWS_AS(average_accuracy({{0.1, 0.2}, {0.3}}), Error);
}

TEST_CASE("COPR fits P* on a small task and keeps a 5% memory with thresholds on the next") {
  test::ThreadCountGuard threads(1);
  Generator gen(11);
  auto policy = std::make_shared<nn::GPT>(tiny_gpt(), gen);
  std::vector<Ranking> task;
  for (int i = 0; i < 24; ++i) {
    const Tokens x = pref::sample_prompt(pref::Family::tell, gen);
    Ranking r;
    r.prompt = x;
    for (int j = 0; j < 4; ++j) r.responses.push_back(pref::sample_response(x, {}, {}, gen));
    r.gold = {3, 2, 1, 0};
    task.push_back(r);
  }
  // The same targets (same weights, same seed: the same r_x draws) fitted for 1 pass and for 30.
  const COPRConfig one{.beta = 0.5, .sft_coef = 0.0, .epochs = 1, .batch_size = 8, .lr = 3e-3};
  COPRConfig many = one;
  many.epochs = 30;
  COPR short_run(clone_gpt(*policy), one, 5);
  const double first = short_run.learn_task(task).fit;  // the mean over the first pass
  COPR long_run(policy, many, 5);
  const COPRStageStats st = long_run.learn_task(task);
  CHECK(st.fit < 0.25 * first);
  CHECK(st.thresholds.empty());     // no old task yet
  CHECK(long_run.memories() == 1);  // ceil(0.05 * 24) = 2 sets of this task
  // The next task measures d_0 at its start and reports lambda_0 and J_0^C.
  const COPRStageStats st2 = long_run.learn_task(std::vector<Ranking>(task.begin(), task.begin() + 8));
  REQUIRE(st2.thresholds.size() == 1);
  CHECK(st2.thresholds[0] >= 0);
  CHECK(st2.lambda.size() == 1);
  CHECK(st2.violations.size() == 1);
  CHECK(st2.step_lambda.size() == 30);  // 30 passes of one minibatch
  CHECK(long_run.memories() == 2);
}

TEST_CASE("ranking agreement on hand-made sets: the true order 1, reversed 0, ties skipped") {
  Ranking truth;
  truth.prompt = pref::encode("write cat happy moon");
  truth.responses = {pad("a cat ."), pad("a warm cat ."), pad("the cat sees a moon ."), pad("the cat sees the dog .")};
  truth.gold = {3, 2, 1, 1};  // the last two tie
  Ranking same = truth, reversed = truth;
  std::reverse(reversed.responses.begin(), reversed.responses.end());
  CHECK(ranking_agreement({same}, {truth}) == doctest::Approx(1.0));
  CHECK(ranking_agreement({reversed}, {truth}) == doctest::Approx(0.0));
  Ranking one_swap = truth;
  std::swap(one_swap.responses[0], one_swap.responses[1]);  // 1 of the 5 non-tied pairs wrong
  CHECK(ranking_agreement({one_swap}, {truth}) == doctest::Approx(0.8));
  CHECK_THROWS_AS(ranking_agreement({same, same}, {truth}), Error);
}

TEST_CASE("COPF's scoring head learns brevity from labelled sets and ranks unlabelled ones") {
  test::ThreadCountGuard threads(1);
  Generator gen(21);
  const std::vector<std::string> bodies = {"a cat", "a warm cat", "the warm cat sees", "the warm cat sees a moon"};
  auto make = [&](int n) {
    std::vector<Ranking> sets;
    for (int i = 0; i < n; ++i) {
      Ranking r;
      r.prompt = pref::sample_prompt(pref::Family::write, gen);
      for (size_t j = 0; j < bodies.size(); ++j) {  // shorter is better (brevity); nouns vary so no word gives it away
        Tokens y = pref::encode(bodies[j]);
        for (int64_t& t : y)
          if (t == pref::word_id("cat")) t = pref::words_of(pref::WordClass::noun)[size_t(pref::uniform_int(16, gen))];
        y.push_back(pref::kEnd);
        y.resize(8, pref::kEnd);
        r.responses.push_back(y);
        r.gold.push_back(double(bodies.size() - j));
      }
      sets.push_back(r);
    }
    return sets;
  };
  const std::vector<Ranking> labelled = make(48), truth = make(16);
  std::vector<Ranking> hidden = truth;
  for (Ranking& h : hidden) {
    std::reverse(h.responses.begin(), h.responses.end());
    h.gold.clear();
  }
  ScorerConfig sc;
  sc.train.epochs = 6;
  const auto scorer = train_scorer(tiny_gpt(), labelled, sc, gen);
  const std::vector<Ranking> ranked = rank_with_scorer(*scorer, hidden);
  REQUIRE(ranked.size() == truth.size());
  for (const Ranking& r : ranked) {
    CHECK(r.responses.size() == 4);
    for (size_t k = 1; k < r.gold.size(); ++k) CHECK(r.gold[k - 1] >= r.gold[k]);  // best first by score
  }
  CHECK(ranking_agreement(ranked, truth) > 0.9);
}
