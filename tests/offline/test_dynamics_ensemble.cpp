// The dynamics ensemble of MOPO/ORPO (docs/papers/orpo.md "Dynamics
// ensemble"): the Gaussian loss with soft-bounded log-variances by hand and by
// gradcheck, the full training loss's regularisers, the batched ensemble
// against K single-member models, the bootstrap rows, elite selection with a
// corrupted member, the early-stopping rule and the restored snapshots,
// learning known dynamics with predictions in the original units, the model
// step's samples and both uncertainty modes against their hand formulas, and
// the errors on bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::rl;

namespace {

std::vector<double> vals(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }
std::vector<double> vals(const Var& v) { return vals(v.value()); }

// Overwrites a parameter's values in place.
void assign(const Var& param, const Tensor& values) {
  Tensor target = param.value();
  target.copy_(values);
}

void check_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i)
    CHECK_MESSAGE(std::fabs(a[i] - b[i]) <= tol, "element ", i, ": ", a[i], " vs ", b[i]);
}

// Known dynamics: s' = s + a, r = 10 (s_0 + s_1) + 3, with s uniform in
// [-5, 5]^2 and a uniform in [-1, 1]^2, so that the targets' scales differ
// (the reward's std is about 41, the state change's about 0.58).
envs::Dataset known_dynamics(int64_t rows, uint64_t seed) {
  Generator gen(seed);
  envs::Dataset d;
  d.observations = uniform({rows, 2}, -5, 5, gen);
  d.actions = uniform({rows, 2}, -1, 1, gen);
  d.next_observations = d.observations + d.actions;
  d.rewards = sum(d.observations, {1}) * 10.0 + 3.0;
  d.terminals = zeros({rows});
  d.timeouts = zeros({rows});
  return d;
}

DynamicsEnsembleOptions small_options() {
  DynamicsEnsembleOptions o;
  o.hidden = {64, 64};
  o.weight_decay = {2.5e-5, 5e-5, 1e-4};
  return o;
}

}  // namespace

// ---------------------------------------------------------------- the loss

TEST_CASE("the ensemble Gaussian loss with soft-bounded log-variances, by hand (f64)") {
  // Bounds max_lv = 0.5, min_lv = -10 (the initial ones); K = 2 members, one
  // row, one output dim; softplus(x) = log(1 + e^x).
  //  member 0: raw = 0.5, mu = 1, y = 0
  //    a  = 0.5 - softplus(0.5 - 0.5) = 0.5 - log 2           = -0.19314718055994530
  //    lv = -10 + softplus(a + 10) = a + log(1 + e^{-(a + 10)})  = -0.19309210917770160
  //    (mu - y)^2 e^{-lv} = e^{0.1930921...}                    =  1.2129945163011469
  //    term = 1.2129945163011469 - 0.1930921091777016           =  1.0199024071234453
  //  member 1: raw = -15 (far below min_lv), mu = 0, y = 0.001
  //    a  = 0.5 - softplus(15.5) = -15 - log(1 + e^{-15.5})     = -15.000000185539118
  //    lv = -10 + softplus(-5.000000185539118)                  = -9.993284652752667
  //    (mu - y)^2 e^{-lv} = 1e-6 e^{9.993284652752667}          =  0.021879045970022288
  //    term = 0.021879045970022288 - 9.993284652752667          = -9.971405606782644
  //  loss = sum over members of the per-member means            = -8.951503199659199
  const Tensor raw = tensor({0.5, -15.0}, {2, 1, 1}, DType::f64);
  const Tensor mu = tensor({1.0, 0.0}, {2, 1, 1}, DType::f64);
  const Tensor y = tensor({0.0, 0.001}, {2, 1, 1}, DType::f64);
  const Var max_lv = full({1}, 0.5, DType::f64), min_lv = full({1}, -10.0, DType::f64);
  const Var lv = nn::soft_bound_log_var(raw, max_lv, min_lv);
  check_close(vals(lv), {-0.1930921091777016, -9.993284652752667}, 1e-12);
  CHECK(ensemble_gaussian_loss({mu, lv}, y).item() == doctest::Approx(-8.951503199659199).epsilon(1e-12));

  // Per member the rows and dims are averaged, not summed: the same row twice
  // (two rows per member) leaves the loss unchanged.
  const Tensor lv2 = concat({lv.value(), lv.value()}, 1), mu2 = concat({mu, mu}, 1), y2 = concat({y, y}, 1);
  CHECK(ensemble_gaussian_loss({mu2, lv2}, y2).item() == doctest::Approx(-8.951503199659199).epsilon(1e-12));
}

TEST_CASE("the ensemble Gaussian loss through the soft bounds passes gradcheck (f64)") {
  // mean, raw log-variance, max bound, min bound, target shared by the members
  const GradcheckResult r = gradcheck(
      [](const Vars& v) { return ensemble_gaussian_loss({v[0], nn::soft_bound_log_var(v[1], v[2], v[3])}, v[4]); },
      {{{2, 3, 2}}, {{2, 3, 2}, -12, 3}, {{2}, 0, 1}, {{2}, -11, -9}, {{3, 2}}});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("DynamicsEnsemble::loss adds the per-layer weight decay and the bound penalty") {
  DynamicsEnsembleOptions o;
  o.members = 3;
  o.elites = 2;
  o.hidden = {5, 4};
  o.weight_decay = {0.1, 0.2, 0.3};
  o.bound_penalty = 0.01;
  DynamicsEnsemble ensemble(2, 1, o, 5);
  Generator gen(1);
  const Tensor x = randn({3, 6, 3}, gen), y = randn({3, 6, 3}, gen);
  const auto& layers = ensemble.model().net->layers();
  REQUIRE(layers.size() == 3);
  double decay = 0;
  for (size_t l = 0; l < 3; ++l) decay += o.weight_decay[l] * sum(square(layers[l]->weight.value())).item() / 2;
  // 3 output dims (2 state changes and the reward), bounds 0.5 and -10: 3 (0.5 + 10) = 31.5
  const double expected = ensemble_gaussian_loss(ensemble.model()(x), y).item() + decay + 0.01 * 31.5;
  CHECK(ensemble.loss(x, y).item() == doctest::Approx(expected).epsilon(1e-5));

  // The decay's gradient is wd_l W_l on each weight (and nothing on the biases).
  ensemble.model().zero_grad();
  ensemble.loss(x, y).backward();
  std::vector<Tensor> with_decay;
  for (const auto& layer : layers) with_decay.push_back(layer->weight.grad().clone());
  const Tensor bias_grad = layers[1]->bias.grad().clone();
  ensemble.model().zero_grad();
  ensemble_gaussian_loss(ensemble.model()(x), y).backward();
  for (size_t l = 0; l < 3; ++l)
    check_close(vals(with_decay[l] - layers[l]->weight.grad()), vals(layers[l]->weight.value() * o.weight_decay[l]),
                1e-6);
  check_close(vals(bias_grad), vals(layers[1]->bias.grad()), 1e-7);
}

// ---------------------------------------------------------------- batched = separate

TEST_CASE("the batched ensemble equals K single-member models with the same weights (f64)") {
  const int64_t K = 3;
  Generator gen(11);
  const nn::GaussianMLPOptions f64{.dtype = DType::f64};
  nn::GaussianMLP ensemble(K, {4, 16, 16, 3}, gen, f64);
  // bounds away from their initial values, so that they matter
  assign(ensemble.max_log_var, tensor({0.3, 0.1, -0.2}, {}, DType::f64));
  assign(ensemble.min_log_var, tensor({-3, -4, -5}, {}, DType::f64));
  std::vector<std::shared_ptr<nn::GaussianMLP>> singles;
  for (int64_t k = 0; k < K; ++k) {
    auto single = std::make_shared<nn::GaussianMLP>(1, std::vector<int64_t>{4, 16, 16, 3}, gen, f64);
    const auto& from = ensemble.net->layers();
    const auto& to = single->net->layers();
    for (size_t l = 0; l < from.size(); ++l) {
      to[l]->weight.value().select(0, 0).copy_(from[l]->weight.value().select(0, k));
      to[l]->bias.value().select(0, 0).copy_(from[l]->bias.value().select(0, k));
    }
    assign(single->max_log_var, ensemble.max_log_var.value());
    assign(single->min_log_var, ensemble.min_log_var.value());
    singles.push_back(single);
  }
  // member k's own rows [K, N, in], and rows shared by every member [N, in]
  const Tensor own = randn({K, 5, 4}, gen, DType::f64) * 2.0, shared = randn({5, 4}, gen, DType::f64) * 2.0;
  const nn::GaussianPrediction p_own = ensemble(own), p_shared = ensemble(shared);
  for (int64_t k = 0; k < K; ++k) {
    const nn::GaussianPrediction q_own = (*singles[size_t(k)])(own.select(0, k));
    const nn::GaussianPrediction q_shared = (*singles[size_t(k)])(shared);
    check_close(vals(p_own.mean.value().select(0, k)), vals(q_own.mean.value().select(0, 0)), 1e-12);
    check_close(vals(p_own.log_var.value().select(0, k)), vals(q_own.log_var.value().select(0, 0)), 1e-12);
    check_close(vals(p_shared.mean.value().select(0, k)), vals(q_shared.mean.value().select(0, 0)), 1e-12);
    check_close(vals(p_shared.log_var.value().select(0, k)), vals(q_shared.log_var.value().select(0, 0)), 1e-12);
  }
}

// ---------------------------------------------------------------- bootstrap and elites

TEST_CASE("bootstrap rows are each member's own resample; without bootstrap each member permutes all rows") {
  Generator gen(3);
  const int64_t K = 5, rows = 2000;
  const Tensor boot = member_row_indices(K, rows, true, gen);
  REQUIRE(boot.shape() == Shape{K, rows});
  REQUIRE(boot.dtype() == DType::i64);
  std::vector<std::vector<int64_t>> members;
  for (int64_t k = 0; k < K; ++k) members.push_back(boot.select(0, k).contiguous().to_vector<int64_t>());
  for (int64_t k = 0; k < K; ++k) {
    const auto& m = members[size_t(k)];
    CHECK(*std::min_element(m.begin(), m.end()) >= 0);
    CHECK(*std::max_element(m.begin(), m.end()) < rows);
    // with replacement: about 1 - 1/e = 63.2% of the rows appear (sd about 1.1% here)
    const double distinct = double(std::set<int64_t>(m.begin(), m.end()).size()) / double(rows);
    CHECK(distinct == doctest::Approx(0.632).epsilon(0.08));
    for (int64_t j = 0; j < k; ++j) CHECK(members[size_t(j)] != m);
  }
  const Tensor perms = member_row_indices(K, rows, false, gen);
  std::vector<int64_t> all(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) all[size_t(i)] = i;
  std::vector<std::vector<int64_t>> orders;
  for (int64_t k = 0; k < K; ++k) {
    std::vector<int64_t> m = perms.select(0, k).contiguous().to_vector<int64_t>();
    orders.push_back(m);
    std::sort(m.begin(), m.end());
    CHECK(m == all);
  }
  CHECK(orders[0] != orders[1]);
}

TEST_CASE("a member with corrupted weights is never an elite; elites come best first") {
  test::ThreadCountGuard one_thread(1);  // the same bits at any core count, and no OpenMP waits on a busy machine
  DynamicsEnsembleOptions o = small_options();
  o.members = 5;
  o.elites = 4;
  o.max_epochs = 3;
  DynamicsEnsemble ensemble(2, 2, o, 21);
  // member 2's mean outputs (the first obs + 1 = 3 of its 6 last-layer outputs) shifted by 1000
  Tensor bias = ensemble.model().net->layers().back()->bias.value();
  Tensor shifted = bias.select(0, 2).narrow(0, 0, 3);
  shifted.fill_(1000.0);
  const DynamicsTrainReport report = ensemble.train(known_dynamics(1500, 1));
  REQUIRE(report.elites.size() == 4);
  CHECK(std::find(report.elites.begin(), report.elites.end(), 2) == report.elites.end());
  CHECK(ensemble.elites() == report.elites);
  for (size_t i = 1; i < report.elites.size(); ++i)
    CHECK(report.holdout_mse[size_t(report.elites[i - 1])] <= report.holdout_mse[size_t(report.elites[i])]);
  CHECK(report.holdout_mse[2] > 1000.0 * report.holdout_mse[size_t(report.elites.back())]);
  double elite_mean = 0;
  for (const int64_t e : report.elites) elite_mean += report.holdout_mse[size_t(e)] / 4;
  CHECK(report.elite_holdout_mse == doctest::Approx(elite_mean));
}

// ---------------------------------------------------------------- early stopping and snapshots

TEST_CASE("early stopping: patience epochs without a large enough gain stop training, at the best snapshot") {
  test::ThreadCountGuard one_thread(1);  // the same bits at any core count, and no OpenMP waits on a busy machine
  const envs::Dataset data = known_dynamics(600, 2);
  DynamicsEnsembleOptions o = small_options();
  o.members = 3;
  o.elites = 2;
  o.patience = 3;
  o.improvement = 1e9;  // no epoch after the first (which always improves on +inf) can count as a gain
  DynamicsEnsemble stopped(2, 2, o, 8);
  const DynamicsTrainReport report = stopped.train(data);
  CHECK(report.epochs == 1 + o.patience);
  CHECK(report.holdout_rows == 120);  // min(0.2 * 600, 1000)
  CHECK(report.train_rows == 480);

  // Every member was restored to its epoch-1 weights: exactly those of the
  // same ensemble (same seed, hence the same split, bootstrap and first
  // epoch's order) trained for one epoch.
  o.max_epochs = 1;
  DynamicsEnsemble one_epoch(2, 2, o, 8);
  CHECK(one_epoch.train(data).epochs == 1);
  const auto a = stopped.model().net->parameters(), b = one_epoch.model().net->parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(vals(a[i]) == vals(b[i]));

  // max_epochs caps a run that keeps improving
  o.improvement = 0;
  o.patience = 100;
  o.max_epochs = 4;
  DynamicsEnsemble capped(2, 2, o, 8);
  CHECK(capped.train(data).epochs == 4);
}

// ---------------------------------------------------------------- learning, predict, step

TEST_CASE("the ensemble learns s' = s + a, r = 10 (s0 + s1) + 3; predict() is in the original units") {
  test::ThreadCountGuard one_thread(1);  // the same bits at any core count, and no OpenMP waits on a busy machine
  DynamicsEnsembleOptions o = small_options();
  // a coarser gain than the default 1% ends the run sooner (the default keeps
  // finding 1% gains on these exactly learnable dynamics for about 90 epochs)
  o.improvement = 0.1;
  o.patience = 3;
  o.max_epochs = 300;  // a cap far beyond where early stopping ends it
  DynamicsEnsemble ensemble(2, 2, o, 4);
  const DynamicsTrainReport report = ensemble.train(known_dynamics(2000, 3));
  CHECK(report.epochs < o.max_epochs);  // early stopping ended it
  CHECK(report.holdout_rows == 400);
  REQUIRE(report.elites.size() == 5);
  // standardised units: the targets have unit variance, so 1e-3 is 0.1% of it
  CHECK(report.elite_holdout_mse < 1e-3);
  CHECK(ensemble.target_std()[2] == doctest::Approx(10 * std::sqrt(2 * 100.0 / 12)).epsilon(0.05));

  // fresh states: each elite's mean is close to the truth in the original units
  const envs::Dataset test = known_dynamics(400, 99);
  const nn::GaussianPrediction p = ensemble.predict(test.observations, test.actions);
  REQUIRE(p.mean.shape() == Shape{7, 400, 3});
  const Tensor truth = concat({test.actions, test.rewards.unsqueeze(1)}, 1);  // [s' - s, r]
  for (const int64_t e : ensemble.elites()) {
    const Tensor err = abs(p.mean.value().select(0, e) - truth);
    CHECK(max(err.narrow(1, 0, 2)).item() < 0.1);      // the state change spans [-1, 1]
    CHECK(max(err.narrow(1, 2, 1)).item() < 2.0);      // the reward spans about [-97, 103]
    CHECK(mean(err.narrow(1, 2, 1)).item() < 0.5);
  }
  // exactly the standardised model's outputs mapped back: mu = sd mu_std + m, lv = lv_std + 2 log sd
  std::vector<double> in_mean = ensemble.input_mean(), in_std = ensemble.input_std();
  const Tensor x = (concat({test.observations, test.actions}, 1) - from_vector(in_mean).to(DType::f32)) /
                   from_vector(in_std).to(DType::f32);
  const nn::GaussianPrediction raw = ensemble.model()(x);
  std::vector<double> t_mean = ensemble.target_mean(), t_std = ensemble.target_std(), two_log_std;
  for (const double s : t_std) two_log_std.push_back(2 * std::log(s));
  check_close(vals(p.mean), vals(raw.mean.value() * from_vector(t_std).to(DType::f32) + from_vector(t_mean).to(DType::f32)),
              1e-3);
  check_close(vals(p.log_var), vals(raw.log_var.value() + from_vector(two_log_std).to(DType::f32)), 1e-4);
}

TEST_CASE("step(): s' = s + a sampled elite's change, and both uncertainty modes against their hand formulas") {
  test::ThreadCountGuard one_thread(1);  // the same bits at any core count, and no OpenMP waits on a busy machine
  DynamicsEnsembleOptions o = small_options();
  o.max_epochs = 15;
  DynamicsEnsemble ensemble(2, 2, o, 6);
  ensemble.train(known_dynamics(2000, 5));
  const int64_t K = 7, N = 300;
  const envs::Dataset test = known_dynamics(N, 77);
  const nn::GaussianPrediction p = ensemble.predict(test.observations, test.actions);
  const std::vector<double> mu = vals(p.mean), lv = vals(p.log_var);  // [K, N, 3]
  auto at = [&](const std::vector<double>& v, int64_t k, int64_t n, int64_t j) {
    return v[size_t((k * N + n) * 3 + j)];
  };
  // aleatoric (ORPO.3): max_k sqrt(sum_j e^{lv_kj}) over the 3 output dims;
  // ensemble_std (ORPO.4): sqrt(mean over the 2 state dims of the population variance over the K members)
  std::vector<double> aleatoric(static_cast<size_t>(N)), ensemble_std(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    double worst = 0, variance_sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      double sq = 0;
      for (int64_t j = 0; j < 3; ++j) sq += std::exp(at(lv, k, n, j));
      worst = std::max(worst, std::sqrt(sq));
    }
    for (int64_t j = 0; j < 2; ++j) {
      double m = 0, v = 0;
      for (int64_t k = 0; k < K; ++k) m += at(mu, k, n, j) / K;
      for (int64_t k = 0; k < K; ++k) v += (at(mu, k, n, j) - m) * (at(mu, k, n, j) - m) / K;
      variance_sum += v;
    }
    aleatoric[size_t(n)] = worst;
    ensemble_std[size_t(n)] = std::sqrt(variance_sum / 2);
  }
  const std::vector<double> u_aleatoric = vals(ensemble.uncertainty(test.observations, test.actions, Uncertainty::aleatoric));
  const std::vector<double> u_ensemble = vals(ensemble.uncertainty(test.observations, test.actions, Uncertainty::ensemble_std));
  for (int64_t n = 0; n < N; ++n) {
    CHECK(u_aleatoric[size_t(n)] == doctest::Approx(aleatoric[size_t(n)]).epsilon(1e-5));
    CHECK(u_ensemble[size_t(n)] == doctest::Approx(ensemble_std[size_t(n)]).epsilon(1e-4));
  }
  // the modes measure different things: they differ on every row here
  double smallest_gap = INFINITY;
  for (int64_t n = 0; n < N; ++n)
    smallest_gap = std::min(smallest_gap, std::fabs(u_aleatoric[size_t(n)] - u_ensemble[size_t(n)]));
  CHECK(smallest_gap > 1e-4);

  // step() reports the mode asked for
  Generator gen(5);
  CHECK(ensemble.options().uncertainty == Uncertainty::aleatoric);
  const ModelStep a = ensemble.step(test.observations, test.actions, gen);
  check_close(vals(a.uncertainty), u_aleatoric, 1e-6);
  ensemble.set_uncertainty(Uncertainty::ensemble_std);
  const ModelStep b = ensemble.step(test.observations, test.actions, gen);
  check_close(vals(b.uncertainty), u_ensemble, 1e-6);
  REQUIRE(a.next_obs.shape() == Shape{N, 2});
  REQUIRE(a.rewards.shape() == Shape{N});

  // Each row's [s' - s, r] is a draw of one elite's Gaussian: some elite puts
  // it within 6 standard deviations on all three dims.
  const std::vector<double> delta = vals(concat({a.next_obs - test.observations, a.rewards.unsqueeze(1)}, 1));
  for (int64_t n = 0; n < N; ++n) {
    bool explained = false;
    for (const int64_t e : ensemble.elites()) {
      bool all = true;
      for (int64_t j = 0; j < 3; ++j)
        all = all && std::fabs(delta[size_t(n * 3 + j)] - at(mu, e, n, j)) <= 6 * std::exp(0.5 * at(lv, e, n, j));
      explained = explained || all;
    }
    CHECK_MESSAGE(explained, "row ", n);
  }

  // One state-action pair repeated 20000 times: the sampled s' - s and r
  // average to the mean over the elites of their means (a uniform elite per
  // row), within 5 standard errors of the mixture.
  const int64_t R = 20000;
  const Tensor s = test.observations.narrow(0, 0, 1).expand({R, 2}).contiguous();
  const Tensor act = test.actions.narrow(0, 0, 1).expand({R, 2}).contiguous();
  const ModelStep many = ensemble.step(s, act, gen);
  const std::vector<double> sample_mean =
      vals(concat({mean(many.next_obs - s, {0}), mean(many.rewards, {0}, true)}, 0));
  for (int64_t j = 0; j < 3; ++j) {
    double m = 0, second = 0;
    for (const int64_t e : ensemble.elites()) {
      const double mean_e = at(mu, e, 0, j), var_e = std::exp(at(lv, e, 0, j));
      m += mean_e / 5;
      second += (var_e + mean_e * mean_e) / 5;
    }
    const double standard_error = std::sqrt((second - m * m) / double(R));
    CHECK_MESSAGE(std::fabs(sample_mean[size_t(j)] - m) <= 5 * standard_error, "dim ", j, ": ",
                  sample_mean[size_t(j)], " vs ", m);
  }
}

// ---------------------------------------------------------------- errors

TEST_CASE("bad options and bad input give clear errors") {
  DynamicsEnsembleOptions o = small_options();
  o.elites = 8;
  CHECK_THROWS_WITH_AS(DynamicsEnsemble(2, 2, o, 0), "DynamicsEnsemble: elites must be in [1, members = 7], got 8",
                       Error);
  o = small_options();
  o.weight_decay = {1e-4, 1e-4};
  CHECK_THROWS_WITH_AS(DynamicsEnsemble(2, 2, o, 0),
                       "DynamicsEnsemble: weight_decay needs one value per layer, hidden.size() + 1 = 3, got 2", Error);
  o = small_options();
  o.holdout_fraction = 1.0;
  CHECK_THROWS_AS(DynamicsEnsemble(2, 2, o, 0), Error);
  CHECK_THROWS_WITH_AS(parse_uncertainty("epistemic"),
                       "unknown uncertainty 'epistemic': expected 'aleatoric' or 'ensemble_std'", Error);
  CHECK(parse_uncertainty(uncertainty_name(Uncertainty::ensemble_std)) == Uncertainty::ensemble_std);

  DynamicsEnsemble ensemble(2, 2, small_options(), 0);
  CHECK_THROWS_WITH_AS(ensemble.train(envs::Dataset{}), "DynamicsEnsemble::train: the dataset is empty", Error);
  envs::Dataset wrong = known_dynamics(50, 1);
  wrong.actions = zeros({50, 3});
  CHECK_THROWS_WITH_AS(ensemble.train(wrong),
                       "DynamicsEnsemble::train: actions of shape [50, 3] should be [50, 2] (act_dim 2)", Error);
  envs::Dataset nan_data = known_dynamics(50, 1);
  nan_data.rewards = full({50}, NAN);
  CHECK_THROWS_WITH_AS(ensemble.train(nan_data), "DynamicsEnsemble::train: the dataset holds NaN or infinite values",
                       Error);
  CHECK_THROWS_WITH_AS(ensemble.predict(zeros({4, 3}), zeros({4, 2})),
                       "DynamicsEnsemble::predict: obs of shape [4, 3] should be [N, 2]", Error);
  Generator gen(0);
  CHECK_THROWS_WITH_AS(ensemble.step(zeros({4, 2}), zeros({5, 2}), gen),
                       "DynamicsEnsemble::step: actions of shape [5, 2] should be [4, 2] (obs [4, 2])", Error);
}
