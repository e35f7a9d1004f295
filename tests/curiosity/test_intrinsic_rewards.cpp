// Curiosity modules on hand-worked cases: the nuclear norm by Gram matrix and
// Jacobi eigh against known matrices and the SVD, TI's bounds with unit rows,
// running normalisation against closed forms, and the ICM, RND,
// Disagreement, TI, DyMeCu and RE3 rewards on tiny hand-set networks (the
// variants ICM stop-gradient, APT, TI with an EMA target and DyMeCu's memories:
// test_variants.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "algorithms/rl/curiosity/disagreement.h"
#include "algorithms/rl/curiosity/dymecu.h"
#include "algorithms/rl/curiosity/icm.h"
#include "algorithms/rl/curiosity/normalization.h"
#include "algorithms/rl/curiosity/nuclear_norm.h"
#include "algorithms/rl/curiosity/re3.h"
#include "algorithms/rl/curiosity/rnd.h"
#include "algorithms/rl/curiosity/temporal_inconsistency.h"
#include "tests/curiosity/curiosity_test_helpers.h"

using namespace gradlab;
using namespace gradlab::rl::curiosity;
using namespace gradlab::rl::curiosity::test;

namespace {

Tensor mat(std::initializer_list<double> v, const Shape& shape) { return tensor(v, shape, DType::f64); }

}  // namespace

// ---------------------------------------------------------------- nuclear norm

TEST_CASE("nuclear norm by Gram + Jacobi on known matrices") {
  // diag(3, 4) padded: singular values 3, 4.
  CHECK(nuclear_norm_by_gram(mat({3, 0, 0, 0, 4, 0}, {2, 3})).item() == doctest::Approx(7.0).epsilon(1e-12));
  // rank one u v^T: ||u|| ||v|| = 5 * sqrt(2).
  CHECK(nuclear_norm_by_gram(mat({3, 3, 4, 4}, {2, 2})).item() == doctest::Approx(5 * std::sqrt(2.0)).epsilon(1e-12));
  // [[1, 1], [0, 1]]: singular values sqrt((3 +- sqrt 5) / 2), sum sqrt(5).
  CHECK(nuclear_norm_by_gram(mat({1, 1, 0, 1}, {2, 2})).item() == doctest::Approx(std::sqrt(5.0)).epsilon(1e-12));
  // Zero matrix: 0 (the clamp of tiny negative eigenvalues keeps it finite).
  CHECK(nuclear_norm_by_gram(zeros({3, 4}, DType::f64)).item() == 0.0);
  // A batch of random wide matrices against the one-sided Jacobi SVD.
  Generator gen(3);
  const Tensor P = randn({6, 5, 16}, gen, DType::f64);
  const std::vector<double> ours = vals(nuclear_norm_by_gram(P));
  const std::vector<double> ref = vals(sum(svd(P).S, {-1}));
  REQUIRE(ours.size() == 6);
  for (size_t i = 0; i < ours.size(); ++i) CHECK(ours[i] == doctest::Approx(ref[i]).epsilon(1e-9));
  CHECK_THROWS_WITH_AS(nuclear_norm_by_gram(zeros({4})), doctest::Contains("nuclear_norm_by_gram: expected"), Error);
}

TEST_CASE("unit-row prediction matrices: sqrt(K) when the snapshots agree, up to sqrt(K min(K, d))") {
  const int64_t K = 5;
  // K identical unit rows u: P = 1 u^T has the single singular value sqrt(K).
  const Tensor u = mat({0.6, 0.0, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0}, {1, 8});
  CHECK(nuclear_norm_by_gram(u.expand({K, 8}).contiguous()).item() == doctest::Approx(std::sqrt(5.0)).epsilon(1e-12));
  // The minimum is reached by any rank-one P: rows +-u also give sqrt(K).
  const Tensor signs = mat({1, -1, 1, -1, -1}, {K, 1});
  CHECK(nuclear_norm_by_gram(signs * u).item() == doctest::Approx(std::sqrt(5.0)).epsilon(1e-12));
  // K orthonormal rows (d >= K): every singular value 1, ||P||_* = K.
  CHECK(nuclear_norm_by_gram(eye(K, 8, DType::f64)).item() == doctest::Approx(5.0).epsilon(1e-12));
  // d < K caps the rank: rows e1, e2, e1, e2 (K = 4, d = 2) give 2 sqrt(2) = sqrt(K d), not K.
  CHECK(nuclear_norm_by_gram(mat({1, 0, 0, 1, 1, 0, 0, 1}, {4, 2})).item() ==
        doctest::Approx(std::sqrt(8.0)).epsilon(1e-12));
  // Random unit rows lie between the bounds: sqrt(K) <= ||P||_* <= sqrt(K min(K, d)), as ||P||_F = sqrt(K).
  Generator gen(11);
  Tensor P = randn({50, K, 3}, gen, DType::f64);
  P = P / sqrt(sum(square(P), {2}, true));
  for (double v : vals(nuclear_norm_by_gram(P))) {
    CHECK(v >= std::sqrt(5.0) - 1e-12);
    CHECK(v <= std::sqrt(15.0) + 1e-12);
  }
  // Row weights scale each row: identical rows w_k u give ||w||_2.
  CHECK(nuclear_norm_by_gram(mat({0.1, 0.2, 0.2, 0.4, 0.1}, {K, 1}) * u).item() ==
        doctest::Approx(std::sqrt(0.01 + 0.04 + 0.04 + 0.16 + 0.01)).epsilon(1e-12));
}

// ---------------------------------------------------------------- normalisation

TEST_CASE("RunningMeanStd merges batches like the statistics of their union") {
  RunningMeanStd rms = rnd_running_stats(2, 1e-12);
  rms.update_batch(mat({1, 10, 2, 20, 3, 30}, {3, 2}));
  rms.update_batch(mat({5, 50}, {1, 2}));
  // Values 1, 2, 3, 5: mean 2.75, population variance 2.1875; second feature x10.
  CHECK(rms.mean[0] == doctest::Approx(2.75).epsilon(1e-9));
  CHECK(rms.var[0] == doctest::Approx(2.1875).epsilon(1e-9));
  CHECK(rms.mean[1] == doctest::Approx(27.5).epsilon(1e-9));
  CHECK(rms.var[1] == doctest::Approx(218.75).epsilon(1e-9));
  CHECK(rms.count == doctest::Approx(4.0));
  // The default prior (mean 0, var 1, count 1e-4) is merged exactly like a batch.
  RunningMeanStd prior = rnd_running_stats(1);
  prior.update_batch(mat({2.0, 4.0}, {2}));
  const double eps = 1e-4, n = 2, m = 3, v = 1, total = eps + n;
  CHECK(prior.mean[0] == doctest::Approx(m * n / total).epsilon(1e-12));
  CHECK(prior.var[0] == doctest::Approx((eps * 1 + n * v + m * m * eps * n / total) / total).epsilon(1e-12));
  const std::vector<double> z = vals(rms.normalize(tensor({2.75, 27.5, 100, -100}, {2, 2}), 5.0));
  CHECK(z[0] == doctest::Approx(0.0));
  CHECK(z[1] == doctest::Approx(0.0));
  CHECK(z[2] == doctest::Approx(5.0));   // clipped
  CHECK(z[3] == doctest::Approx(-5.0));  // clipped
  CHECK_THROWS_WITH_AS(rms.update_batch(zeros({3, 3})), doctest::Contains("RunningMeanStd::update"), Error);
  // RND's batch arithmetic and the env wrappers' (Gymnasium's) differ only by rounding.
  envs::RunningMeanStd gym(2, 1e-12);
  gym.update_batch(mat({1, 10, 2, 20, 3, 30}, {3, 2}));
  gym.update_batch(mat({5, 50}, {1, 2}));
  for (size_t j = 0; j < 2; ++j) {
    CHECK(gym.mean[j] == doctest::Approx(rms.mean[j]).epsilon(1e-14));
    CHECK(gym.var[j] == doctest::Approx(rms.var[j]).epsilon(1e-14));
  }
}

TEST_CASE("intrinsic rewards are divided by the running std of the non-episodic discounted return") {
  // T = 3 steps, E = 2 envs, gamma 0.5. Env 0: r = 1, 2, 4 -> R = 1, 2.5, 5.25;
  // env 1: r = 0, 0, 2 -> R = 0, 0, 2. Nothing resets R (non-episodic).
  std::vector<double> r = {1, 0, 2, 0, 4, 2};
  RewardForwardFilter filter(2, 0.5);
  RunningMeanStd stats = rnd_running_stats(1, 1e-12);
  const double std = normalize_intrinsic_rewards(r, 3, 2, filter, stats);
  const std::vector<double> R = {1, 0, 2.5, 0, 5.25, 2};
  double m = 0, v = 0;
  for (double x : R) m += x / 6;
  for (double x : R) v += (x - m) * (x - m) / 6;
  CHECK(std == doctest::Approx(std::sqrt(v)).epsilon(1e-6));
  CHECK(r[4] == doctest::Approx(4 / std::sqrt(v)).epsilon(1e-6));
  CHECK(filter.returns()[0] == doctest::Approx(5.25));
  CHECK(filter.returns()[1] == doctest::Approx(2.0));
  std::vector<double> wrong = {1, 2, 3};
  CHECK_THROWS_WITH_AS(normalize_intrinsic_rewards(wrong, 2, 2, filter, stats),
                       doctest::Contains("normalize_intrinsic_rewards"), Error);
}

// ---------------------------------------------------------------- hand-set networks

TEST_CASE("ICM reward is (eta/2) ||f(phi(s), a) - phi(s')||^2 on a hand-set network") {
  CuriosityOptions o = tiny(2, 2, 2, 2);
  o.icm_eta = 2.0;
  ICM icm(o, 1);
  // phi(s) = relu(relu(s)) = s for s >= 0; f(phi, a) = phi + one_hot(a).
  set(icm.encoder.layers()[0]->weight, eye(2));
  set(icm.encoder.layers()[0]->bias, zeros({2}));
  set(icm.encoder.layers()[1]->weight, eye(2));
  set(icm.encoder.layers()[1]->bias, zeros({2}));
  set(icm.forward_model.layers()[0]->weight, tensor({1, 0, 1, 0, 0, 1, 0, 1}, {2, 4}));
  set(icm.forward_model.layers()[0]->bias, zeros({2}));
  set(icm.forward_model.layers()[1]->weight, eye(2));
  set(icm.forward_model.layers()[1]->bias, zeros({2}));
  // (0.2, 0.3) -a0-> (1.2, 0.3): predicted exactly, 0. (0, 0) -a1-> (1, 0):
  // predicted (0, 1), error 2, times eta/2 = 1: 2. (1, 1) -a0-> (0, 0): (2, 1), 5 -> 5.
  const auto b = batch({0.2, 0.3, 0, 0, 1, 1}, {0, 1, 0}, {1.2, 0.3, 1, 0, 0, 0}, 2);
  const std::vector<double> r = vals(icm.reward(b));
  CHECK(r[0] == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(r[1] == doctest::Approx(2.0).epsilon(1e-6));
  CHECK(r[2] == doctest::Approx(5.0).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(icm.reward(batch({0, 0}, {2}, {0, 0}, 2)), doctest::Contains("icm: actions must be in [0, 2)"),
                       Error);  // action out of range
}

TEST_CASE("RND reward is ||f^(s') - f(s')||^2 on a hand-set network") {
  CuriosityOptions o = tiny(2, 3, 2, 2);
  o.rnd_normalize_obs = false;
  RND rnd(o, 2);
  // Target f(x) = relu(relu(x)); predictor all zero: r = ||relu(s')||^2.
  set(rnd.target.layers()[0]->weight, eye(2));
  set(rnd.target.layers()[0]->bias, zeros({2}));
  set(rnd.target.layers()[1]->weight, eye(2));
  set(rnd.target.layers()[1]->bias, zeros({2}));
  for (const Var& p : rnd.predictor.parameters()) set(p, zeros(p.shape()));
  const auto b = batch({9, 9, 9, 9}, {0, 2}, {3, 4, -1, 2}, 2);
  const std::vector<double> r = vals(rnd.reward(b));
  CHECK(r[0] == doctest::Approx(25.0));
  CHECK(r[1] == doctest::Approx(4.0));
  // The target never trains.
  CHECK(!rnd.target.parameters()[0].requires_grad());
}

TEST_CASE("Disagreement reward is the members' unbiased variance, averaged over dims") {
  CuriosityOptions o = tiny(2, 2, 3, 4);
  o.ensemble_size = 2;
  Disagreement dis(o, 3);
  // Zero weights everywhere; the last biases make member 0 predict (0, 0) and member 1 (2, 4).
  for (const Var& p : dis.models.parameters()) set(p, zeros(p.shape()));
  set(dis.models.layers().back()->bias, tensor({0, 0, 2, 4}, {2, 2}));
  // Var over 2 members (n - 1 = 1): (0, 2) -> 2, (0, 4) -> 8; mean 5 for every transition.
  const std::vector<double> r = vals(dis.reward(batch({0, 1, 5, 5}, {0, 1}, {0, 0, 0, 0}, 2)));
  CHECK(r[0] == doctest::Approx(5.0));
  CHECK(r[1] == doctest::Approx(5.0));
}

TEST_CASE("TI reward: agreeing snapshots give the minimum, sqrt(k) w for w = 1/k over the k snapshots so far") {
  CuriosityOptions o = tiny(3, 2, 8, 6);
  o.ti_snapshots = 4;
  const auto b =
      batch({0.1, 0.2, 0.3, 0.5, 0.1, 0.0, 0.9, 0.9, 0.1}, {0, 1, 1}, {0.2, 0.2, 0.3, 0.5, 0.0, 0.0, 0.8, 0.9, 0.1}, 3);
  for (bool variational : {true, false}) {
    o.ti_variational = variational;
    TemporalInconsistency ti(o, 4);
    REQUIRE(ti.snapshot_count() == 1);
    // One snapshot (warm-up, k = 1 of K = 4): w = 1 in both branches (softmax of one loss; uniform 1/k),
    // so ||P||_* = 1.
    for (double r : vals(ti.reward(b))) CHECK(r == doctest::Approx(1.0).epsilon(1e-5));
    // Two equal snapshots of four: w = (1/2, 1/2) in both branches, identical unit rows -> sqrt(2)/2.
    ti.take_snapshot();
    REQUIRE(ti.snapshot_count() == 2);
    for (double w : vals(ti.predictions(b).weights)) CHECK(w == doctest::Approx(0.5).epsilon(1e-6));
    for (double r : vals(ti.reward(b))) CHECK(r == doctest::Approx(std::sqrt(2.0) / 2).epsilon(1e-5));
    // K copies of the same weights: identical unit rows with w = 1/K (equal losses) -> sqrt(K)/K.
    for (int i = 0; i < 2; ++i) ti.take_snapshot();
    REQUIRE(ti.snapshot_count() == 4);
    const auto p = ti.predictions(b);
    for (double w : vals(p.weights)) CHECK(w == doctest::Approx(0.25).epsilon(1e-6));
    for (double r : vals(ti.reward(b))) CHECK(r == doctest::Approx(0.5).epsilon(1e-5));
    // The FIFO never grows past K.
    ti.take_snapshot();
    CHECK(ti.snapshot_count() == 4);
  }
  // The Frobenius-normalised variant of agreeing rows: 1 / sqrt(max(K, d)) = 1/sqrt(6).
  o.ti_variational = true;
  o.ti_frobenius_normalize = true;
  TemporalInconsistency ti(o, 4);
  for (int i = 0; i < 3; ++i) ti.take_snapshot();
  for (double r : vals(ti.reward(b))) CHECK(r == doctest::Approx(1 / std::sqrt(6.0)).epsilon(1e-5));
}

TEST_CASE("TI: training moves the snapshots apart and the reward rises above its minimum") {
  CuriosityOptions o = tiny(3, 2, 16, 6);
  o.ti_snapshots = 4;
  o.ti_snapshot_interval = 1;
  o.minibatches = 1;
  o.lr = 1e-2;
  TemporalInconsistency ti(o, 5);
  Generator gen(6);
  const TransitionBatch b{rand({32, 3}, gen), randint(0, 2, {32}, gen), rand({32, 3}, gen)};
  for (int i = 0; i < 3; ++i) ti.update(b);
  CHECK(ti.snapshot_count() == 4);
  for (double r : vals(ti.reward(b))) CHECK(r > 0.5 + 1e-4);  // above sqrt(K)/K: the snapshots disagree
}

TEST_CASE("DyMeCu (paramavg): identical learners have no gap; the memory grows by EMA of their average") {
  CuriosityOptions o = tiny(3, 2, 8, 4);
  o.dymecu_memory = "paramavg";
  DyMeCu dy(o, 7);
  const auto b = batch({0.1, 0.2, 0.3, 0.5, 0.1, 0.0}, {0, 1}, {0.2, 0.2, 0.3, 0.5, 0.0, 0.0}, 3);
  // Different initialisations: a positive gap, at most 4 (unit vectors).
  for (double r : vals(dy.reward(b))) {
    CHECK(r > 1e-4);
    CHECK(r <= 4.0 + 1e-6);
  }
  // The memory started at (theta_1 + theta_2) / 2.
  const Tensor xi0 = dy.memory.parameters()[0].value().clone();
  const Tensor t1 = dy.encoder1.parameters()[0].value(), t2 = dy.encoder2.parameters()[0].value();
  CHECK(max(abs(xi0 - (t1 + t2) * 0.5)).item() < 1e-6);
  // Learner 2 := learner 1: the learner gap is exactly 0.
  const auto p1 = dy.encoder1.parameters(), p2 = dy.encoder2.parameters();
  for (size_t i = 0; i < p1.size(); ++i) set(p2[i], p1[i].value());
  const auto q1 = dy.predictor1.parameters(), q2 = dy.predictor2.parameters();
  for (size_t i = 0; i < q1.size(); ++i) set(q2[i], q1[i].value());
  for (double r : vals(dy.reward(b))) CHECK(r == doctest::Approx(0.0).epsilon(1e-9));
  // grow_memory(tau): xi <- tau xi + (1 - tau) theta_1 (both learners now equal).
  dy.grow_memory(0.75);
  CHECK(max(abs(dy.memory.parameters()[0].value() - (xi0 * 0.75 + t1 * 0.25))).item() < 1e-6);
  // The memory-gap reading: mean_k ||n(q_k) - n(z_xi(s'))||^2, here both k alike.
  o.dymecu_memory_gap = true;
  DyMeCu dm(o, 7);
  const Tensor m = dm.memory_target(1, b);
  CHECK(max(abs(dm.memory_target(2, b) - m)).item() == 0.0);  // one memory for both learners
  const Tensor q = dm.prediction(1, b).value(), qq = dm.prediction(2, b).value();
  const std::vector<double> expect = vals((sum(square(q - m), {1}) + sum(square(qq - m), {1})) * 0.5);
  const std::vector<double> got = vals(dm.reward(b));
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expect[i]).epsilon(1e-6));
}

TEST_CASE("RE3 reward is log(1 + mean k-NN distance) within the batch") {
  // Points 0, 1, 3 on a line, k = 1: nearest distances 1, 1, 2.
  const std::vector<double> r = vals(RE3::knn_reward(tensor({0, 0, 1, 0, 3, 0}, {3, 2}), 1));
  CHECK(r[0] == doctest::Approx(std::log(2.0)));
  CHECK(r[1] == doctest::Approx(std::log(2.0)));
  CHECK(r[2] == doctest::Approx(std::log(3.0)));
  // k = 2: means (1 + 3)/2, (1 + 2)/2, (2 + 3)/2.
  const std::vector<double> r2 = vals(RE3::knn_reward(tensor({0, 0, 1, 0, 3, 0}, {3, 2}), 2));
  CHECK(r2[0] == doctest::Approx(std::log(3.0)));
  CHECK(r2[1] == doctest::Approx(std::log(2.5)));
  CHECK(r2[2] == doctest::Approx(std::log(3.5)));
}

// ---------------------------------------------------------------- learning

TEST_CASE("each learned module: familiar transitions end up less curious than novel ones [slow]") {
  for (const std::string method : {"icm", "icm_stopgrad", "rnd", "disagreement", "ti", "ti_uniform", "ti_ema",
                                   "dymecu", "dymecu_own", "dymecu_paramavg"}) {
    CAPTURE(method);
    CuriosityOptions o = tiny(4, 3, 32, 8);
    o.ti_snapshot_interval = 4;
    o.epochs = 2;
    auto module = make_intrinsic_reward(method, o, 21);
    Generator gen(22);
    // Familiar: states in [0, 0.3]^4 moving by +0.05 under action 0. Novel: states near 1, other actions.
    const Tensor s = rand({128, 4}, gen) * 0.3;
    const TransitionBatch familiar{s, zeros({128}, DType::i64), s + 0.05};
    const Tensor s2 = rand({128, 4}, gen) * 0.3 + 0.7;
    const TransitionBatch novel{s2, full({128}, 2, DType::i64), s2 - 0.05};
    module->reward(familiar);  // RND seeds its observation statistics here
    const double first_loss = module->update(familiar);
    double loss = first_loss;
    for (int i = 0; i < 60; ++i) loss = module->update(familiar);
    CHECK(loss < first_loss);
    if (method.rfind("ti", 0) == 0) {
      // TI rewards where the predictor has recently changed: train on the novel
      // transitions for 16 steps (4 snapshots), then novel rows disagree over time.
      module->update(novel);
      module->update(novel);
    }
    const double r_familiar = mean(module->reward(familiar)).item();
    const double r_novel = mean(module->reward(novel)).item();
    CHECK_MESSAGE(r_familiar < r_novel, method, ": familiar ", r_familiar, " novel ", r_novel);
  }
  CHECK_THROWS_WITH_AS(make_intrinsic_reward("count", tiny(2, 2, 4, 4), 0),
                       doctest::Contains("make_intrinsic_reward: unknown method 'count'"), Error);
}
