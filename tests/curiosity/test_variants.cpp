// The curiosity variants on hand-worked and structural cases: APT's contrastive
// loss (with an f64 gradient check) and its running normalisation of k-NN
// distances, ICM's paper form (the forward loss trains the encoder) against the
// stop-gradient form, TI's snapshot weights during warm-up and its EMA target,
// the snapshot interval from a run's gradient steps, and DyMeCu's three memories.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "algorithms/rl/curiosity/apt.h"
#include "algorithms/rl/curiosity/dymecu.h"
#include "algorithms/rl/curiosity/icm.h"
#include "algorithms/rl/curiosity/knn.h"
#include "algorithms/rl/curiosity/ppo_curiosity.h"
#include "algorithms/rl/curiosity/temporal_inconsistency.h"
#include "autograd/gradcheck.h"
#include "tests/curiosity/curiosity_test_helpers.h"

using namespace gradlab;
using namespace gradlab::rl::curiosity;
using namespace gradlab::rl::curiosity::test;

namespace {

// Largest |gradient| over the parameters (0 when none has a gradient).
double max_grad(const std::vector<Var>& params) {
  double m = 0;
  for (const Var& p : params)
    if (p.grad().defined()) m = std::max(m, max(abs(p.grad())).item());
  return m;
}

const TransitionBatch kBatch = batch({0.1, 0.2, 0.3, 0.5, 0.1, 0.0, 0.9, 0.9, 0.1}, {0, 1, 1},
                                     {0.2, 0.2, 0.3, 0.5, 0.0, 0.0, 0.8, 0.9, 0.1}, 3);

}  // namespace

// ---------------------------------------------------------------- APT

TEST_CASE("APT contrastive loss: InfoNCE with the diagonal as positives, on hand-worked 2 x 2 cases") {
  const Var e = Var(tensor({1, 0, 0, 1}, {2, 2}, DType::f64));
  const Var swapped = Var(tensor({0, 1, 1, 0}, {2, 2}, DType::f64));
  // Aligned pairs, T = 1: logits I, each row -log(e / (e + 1)) = log(1 + e^-1).
  CHECK(APT::contrastive_loss(e, e, 1.0).item() == doctest::Approx(std::log1p(std::exp(-1.0))).epsilon(1e-12));
  // T = 0.5 doubles the logits: log(1 + e^-2).
  CHECK(APT::contrastive_loss(e, e, 0.5).item() == doctest::Approx(std::log1p(std::exp(-2.0))).epsilon(1e-12));
  // Positives orthogonal, negatives aligned: log(1 + e).
  CHECK(APT::contrastive_loss(e, swapped, 1.0).item() == doctest::Approx(std::log1p(std::exp(1.0))).epsilon(1e-12));
  // Scale does not matter (rows are normalised).
  CHECK(APT::contrastive_loss(e * 3.0, e * 0.5, 1.0).item() ==
        doctest::Approx(std::log1p(std::exp(-1.0))).epsilon(1e-12));
  // Gradients by central differences in f64, with respect to both embeddings.
  const GradcheckResult r =
      gradcheck([](const Vars& v) { return APT::contrastive_loss(v[0], v[1], 0.5); }, {{{4, 3}}, {{4, 3}}});
  CHECK_MESSAGE(r.ok, r.message);
  CHECK_THROWS_WITH_AS(APT::contrastive_loss(e, Var(zeros({3, 2}, DType::f64)), 1.0),
                       doctest::Contains("apt: contrastive_loss needs two [N, F] embeddings"), Error);
}

TEST_CASE("APT reward: log(c + mean k-NN distance / running mean of all k-NN distances so far)") {
  CuriosityOptions o = tiny(2, 2, 4, 2);
  o.apt_k = 1;
  APT apt(o, 1);
  // Points 0, 1, 3 on a line, k = 1: distances 1, 1, 2; running mean 4/3 after this batch.
  const Tensor d = knn_distances(tensor({0, 0, 1, 0, 3, 0}, {3, 2}), 1);
  CHECK(vals(d) == std::vector<double>{1, 1, 2});
  const std::vector<double> r = vals(apt.normalized_knn_reward(d));
  CHECK(apt.running_mean() == doctest::Approx(4.0 / 3.0));
  CHECK(apt.running_count() == 3);
  CHECK(r[0] == doctest::Approx(std::log(1.75)).epsilon(1e-6));  // log(1 + 1 / (4/3))
  CHECK(r[1] == doctest::Approx(std::log(1.75)).epsilon(1e-6));
  CHECK(r[2] == doctest::Approx(std::log(2.5)).epsilon(1e-6));  // log(1 + 2 / (4/3))
  // A second batch, points 0 and 2: distances 2, 2; the mean of all five is 8/5.
  const std::vector<double> r2 = vals(apt.normalized_knn_reward(knn_distances(tensor({0, 0, 2, 0}, {2, 2}), 1)));
  CHECK(apt.running_mean() == doctest::Approx(1.6));
  CHECK(r2[0] == doctest::Approx(std::log(1 + 2 / 1.6)).epsilon(1e-6));
  // k = 2 averages the normalised distances: points 0, 1, 3 give means 2, 1.5, 2.5 of distances averaging 2.
  o.apt_k = 2;
  APT apt2(o, 1);
  const std::vector<double> r3 = vals(apt2.normalized_knn_reward(knn_distances(tensor({0, 0, 1, 0, 3, 0}, {3, 2}), 2)));
  CHECK(r3[0] == doctest::Approx(std::log(2.0)).epsilon(1e-6));
  CHECK(r3[1] == doctest::Approx(std::log(1.75)).epsilon(1e-6));
  CHECK(r3[2] == doctest::Approx(std::log(2.25)).epsilon(1e-6));
}

TEST_CASE("APT trains its encoder: the contrastive loss falls and the reward comes from the learned embedding") {
  CuriosityOptions o = tiny(4, 2, 16, 8);
  o.minibatches = 1;
  o.lr = 1e-2;
  APT apt(o, 3);
  Generator gen(4);
  const Tensor s = rand({32, 4}, gen);
  const TransitionBatch b{s, zeros({32}, DType::i64), s + 0.05};
  const double first = apt.update(b);
  double last = first;
  for (int i = 0; i < 30; ++i) last = apt.update(b);
  CHECK(last < first);
  CHECK(apt.trained_parameters() == (4 * 16 + 16) + (16 * 8 + 8));
  const std::vector<double> r = vals(apt.reward(b));
  CHECK(r.size() == 32);
  for (double x : r) CHECK(x > 0);  // log(1 + positive)
}

// ---------------------------------------------------------------- ICM

TEST_CASE("ICM paper form: the forward loss reaches the encoder; icm_stopgrad keeps it out") {
  for (bool through : {true, false}) {
    CAPTURE(through);
    CuriosityOptions o = tiny(3, 2, 8, 4);
    o.icm_forward_trains_encoder = through;
    ICM icm(o, 9);
    CHECK(icm.name() == (through ? "icm" : "icm_stopgrad"));
    const Var fwd = mean(icm.forward_error(kBatch));
    fwd.backward();
    if (through)
      CHECK(max_grad(icm.encoder.parameters()) > 1e-6);
    else
      CHECK(max_grad(icm.encoder.parameters()) == 0.0);
    CHECK(max_grad(icm.forward_model.parameters()) > 1e-6);
  }
  // The encoder's gradient of (1 - beta) L_inv + beta L_fwd is the weighted sum of the two.
  CuriosityOptions o = tiny(3, 2, 8, 4);
  ICM icm(o, 9);
  auto encoder_grad = [&](double w_inv, double w_fwd) {
    for (const Var& p : icm.encoder.parameters()) p.zero_grad();
    const Var phi = icm.encoder(kBatch.obs), phi_next = icm.encoder(kBatch.next_obs);
    const Var inv = cross_entropy(icm.inverse_model(concat({phi, phi_next}, 1)), kBatch.actions);
    const Var l = w_inv * inv + w_fwd * mean(icm.forward_error(phi, phi_next, kBatch.actions));
    l.backward();
    return icm.encoder.parameters()[0].grad().clone();
  };
  const Tensor both = encoder_grad(0.8, 0.2), inv = encoder_grad(0.8, 0.0), fwd = encoder_grad(0.0, 0.2);
  CHECK(max(abs(fwd)).item() > 1e-7);
  CHECK(max(abs(both - inv - fwd)).item() < 1e-6);
}

// ---------------------------------------------------------------- TI

TEST_CASE("TI warm-up: 2 of K = 4 snapshots, hand-set predictions, weights softmax(-l/T) or 1/2") {
  CuriosityOptions o = tiny(3, 2, 4, 3);
  o.ti_snapshots = 4;
  o.ti_temperature = 1.0;
  for (bool variational : {true, false}) {
    CAPTURE(variational);
    o.ti_variational = variational;
    TemporalInconsistency ti(o, 4);
    ti.take_snapshot();
    REQUIRE(ti.snapshot_count() == 2);
    // Every weight zero: each network outputs its last bias. Snapshot 0 predicts (1, 0, 0),
    // snapshot 1 (0.6, 0.8, 0); slots 2 and 3 are not filled yet (their outputs must be ignored).
    for (const Var& p : ti.snapshots.parameters()) set(p, zeros(p.shape()));
    set(ti.snapshots.layers().back()->bias, tensor({1, 0, 0, 0.6, 0.8, 0, 9, 9, 9, -9, 9, 9}, {4, 3}));
    // Target g(s') = (1, 0, 0): losses l = (0, 0.8).
    for (const Var& p : ti.target.parameters()) set(p, zeros(p.shape()));
    set(ti.target.layers().back()->bias, tensor({1, 0, 0}, {3}));
    const double w1 = variational ? 1 / (1 + std::exp(-0.8)) : 0.5, w2 = 1 - w1;
    const std::vector<double> w = vals(ti.predictions(kBatch).weights);
    REQUIRE(w.size() == 2);
    CHECK(w[0] == doctest::Approx(w1).epsilon(1e-6));
    CHECK(w[1] == doctest::Approx(w2).epsilon(1e-6));
    // P = [[w1, 0, 0], [0.6 w2, 0.8 w2, 0]]: det(P P^T) = (0.8 w1 w2)^2, so
    // ||P||_* = sqrt(tr + 2 sqrt(det)) = sqrt(w1^2 + w2^2 + 1.6 w1 w2).
    const double want = std::sqrt(w1 * w1 + w2 * w2 + 1.6 * w1 * w2);
    for (double r : vals(ti.reward(kBatch))) CHECK(r == doctest::Approx(want).epsilon(1e-5));
  }
}

TEST_CASE("TI with an EMA target: g starts at the online encoder and follows it by EMA; snapshots hold e and h") {
  CuriosityOptions o = tiny(3, 2, 8, 4);
  o.ti_ema_target = true;
  o.ti_ema_tau = 0.5;
  o.ti_snapshots = 3;
  o.ti_snapshot_interval = 1;
  o.minibatches = 1;
  o.lr = 1e-2;
  TemporalInconsistency ti(o, 5);
  CHECK(ti.name() == "ti_ema");
  const Tensor g0 = ti.target.parameters()[0].value().clone();
  CHECK(max(abs(g0 - ti.encoder.parameters()[0].value())).item() == 0.0);
  // One snapshot of the current (e, h): all agree, the minimum sqrt(1) = 1.
  for (double r : vals(ti.reward(kBatch))) CHECK(r == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(ti.trained_parameters() == (3 * 8 + 8) + (8 * 4 + 4) + ((4 + 2) * 8 + 8) + (8 * 4 + 4));
  ti.update(kBatch);  // one step: e moves, g <- (g + e) / 2, a snapshot
  const Tensor e1 = ti.encoder.parameters()[0].value();
  CHECK(max(abs(e1 - g0)).item() > 0);
  CHECK(max(abs(ti.target.parameters()[0].value() - (g0 + e1) * 0.5)).item() < 1e-6);
  CHECK(ti.snapshot_count() == 2);
  CHECK(ti.snapshots_taken() == 2);
  // The newest snapshot predicts what the online network predicts.
  const Tensor online = normalize_rows(ti.predict(kBatch)).value();
  const Tensor snap = ti.predictions(kBatch).P;  // [N, 2, d], row k = w_k n(f_k)
  const Tensor w = ti.predictions(kBatch).weights;
  CHECK(max(abs(snap.select(1, 1) * (1.0 / w.select(0, 1).item()) - online)).item() < 1e-5);
}

TEST_CASE("the snapshot interval from a run's gradient steps fills the FIFO in the first third") {
  rl::curiosity::PPOCuriosityArgs a;  // 8 envs x 64 steps, the module's 1 epoch x 4 minibatches
  // DeepSea's 60k steps: 118 rollouts (rounded up) x 4 = 472 gradient steps; M = floor(472 / 12) = 39.
  CHECK(curiosity_gradient_steps(a, 60000) == 472);
  CHECK(ti_interval_for(472, 5) == 39);
  CHECK(4 * 39 <= 472 / 3);  // K - 1 = 4 intervals after the initial snapshot
  CHECK(curiosity_gradient_steps(a, 100000) == 784);
  CHECK(ti_interval_for(784, 5, 0.25) == 196);
  CHECK(ti_interval_for(3, 5) == 1);  // never below one step
  CHECK_THROWS_WITH_AS(ti_interval_for(100, 1), doctest::Contains("snapshots (K) must be >= 2"), Error);
  CHECK_THROWS_WITH_AS(ti_interval_for(100, 5, 1.5), doctest::Contains("fraction must be in [0, 1]"), Error);
}

// ---------------------------------------------------------------- DyMeCu

TEST_CASE("DyMeCu memories: outavg shares the average of two EMA memories' outputs, own keeps one per learner") {
  for (const std::string memory : {"outavg", "own"}) {
    CAPTURE(memory);
    CuriosityOptions o = tiny(3, 2, 8, 4);
    o.dymecu_memory = memory;
    DyMeCu dy(o, 7);
    CHECK(dy.name() == (memory == "outavg" ? "dymecu" : "dymecu_own"));
    // Each memory starts at its own learner (not at the average of unaligned units).
    const auto xi1 = dy.memory.parameters(), xi2 = dy.memory2.parameters();
    const auto t1 = dy.encoder1.parameters(), t2 = dy.encoder2.parameters();
    for (size_t i = 0; i < xi1.size(); ++i) {
      CHECK(max(abs(xi1[i].value() - t1[i].value())).item() == 0.0);
      CHECK(max(abs(xi2[i].value() - t2[i].value())).item() == 0.0);
    }
    const Tensor z1 = normalize_rows(dy.encoder1(kBatch.next_obs)).value();
    const Tensor z2 = normalize_rows(dy.encoder2(kBatch.next_obs)).value();
    const Tensor avg = normalize_rows(Var((dy.encoder1(kBatch.next_obs).value() + dy.encoder2(kBatch.next_obs).value()) * 0.5)).value();
    if (memory == "outavg") {
      CHECK(max(abs(dy.memory_target(1, kBatch) - avg)).item() < 1e-6);
      CHECK(max(abs(dy.memory_target(2, kBatch) - avg)).item() < 1e-6);
    } else {
      CHECK(max(abs(dy.memory_target(1, kBatch) - z1)).item() < 1e-6);
      CHECK(max(abs(dy.memory_target(2, kBatch) - z2)).item() < 1e-6);
    }
    // grow_memory(tau) after the learners move: xi_k <- tau xi_k + (1 - tau) theta_k.
    const Tensor x10 = xi1[0].value().clone(), x20 = xi2[0].value().clone();
    set(t1[0], t1[0].value() + 1.0);
    set(t2[0], t2[0].value() - 1.0);
    dy.grow_memory(0.75);
    CHECK(max(abs(xi1[0].value() - (x10 * 0.75 + t1[0].value() * 0.25))).item() < 1e-6);
    CHECK(max(abs(xi2[0].value() - (x20 * 0.75 + t2[0].value() * 0.25))).item() < 1e-6);
    // The learner-gap reward: ||n(q_1) - n(q_2)||^2, 0 once learner 2 := learner 1.
    const Tensor q1 = dy.prediction(1, kBatch).value(), q2 = dy.prediction(2, kBatch).value();
    const std::vector<double> want = vals(sum(square(q1 - q2), {1})), got = vals(dy.reward(kBatch));
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
    const auto p1 = dy.encoder1.parameters(), p2 = dy.encoder2.parameters();
    for (size_t i = 0; i < p1.size(); ++i) set(p2[i], p1[i].value());
    const auto r1 = dy.predictor1.parameters(), r2 = dy.predictor2.parameters();
    for (size_t i = 0; i < r1.size(); ++i) set(r2[i], r1[i].value());
    for (double r : vals(dy.reward(kBatch))) CHECK(r == doctest::Approx(0.0).epsilon(1e-9));
  }
  // The memory-gap reading compares each learner with its own target.
  CuriosityOptions o = tiny(3, 2, 8, 4);
  o.dymecu_memory = "own";
  o.dymecu_memory_gap = true;
  DyMeCu dm(o, 7);
  const Tensor q1 = dm.prediction(1, kBatch).value(), q2 = dm.prediction(2, kBatch).value();
  const std::vector<double> want =
      vals((sum(square(q1 - dm.memory_target(1, kBatch)), {1}) + sum(square(q2 - dm.memory_target(2, kBatch)), {1})) * 0.5);
  const std::vector<double> got = vals(dm.reward(kBatch));
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
  o.dymecu_memory = "mean";
  CHECK_THROWS_WITH_AS(DyMeCu(o, 7), doctest::Contains("dymecu: memory must be outavg, own or paramavg"), Error);
}
