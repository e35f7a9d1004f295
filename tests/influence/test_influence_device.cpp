// The influence estimators on every non-CPU device present (ref always, cuda
// with a GPU): exact, CG, LiSSA, TracIn, DataInf, K-FAC, EK-FAC and EK-FAC with
// reduced tokens, fitted on a tiny f64 tanh MLP drawn on the CPU from a seed
// and moved, give the CPU's scores; and the host crossings of one score() call
// (and of K-FAC's and LiSSA's fit) on ref, counted with transfer_counts(), are
// pinned: the scores are read
// once, and nothing else crosses but what the problem's own loss uploads (its
// row indices), the scalars a solver steers by (CG's dot products; hvp()'s
// step size stays on the device) and the host-code solves (exact's Cholesky).
//
// Tolerance: the models are f64 on both sides, so the backends differ only in
// the order of their sums (ref sums in double in its own order, the cpu in
// blocked order, cuda in trees and atomics), about 1e-16 relative per op.
// A score is a few hundred such ops deep: a backward pass, a dot product of
// length P, and for exact a Cholesky solve and for CG/LiSSA a few dozen
// Hessian-vector products; the HVP is a central difference whose step
// (eps ~ 5e-6 relative) divides the rounding of two gradients, which turns
// 1e-16 into about 1e-16 / 5e-6 ~ 2e-11 per product, and K-FAC's
// eigendecompositions of well-separated spectra amplify by the inverse gap (at
// most a few hundred here). We allow 1e-9 relative to the largest score: far
// above that rounding (measured on ref: at most 1.5e-12, CG's; below 1e-13
// for the estimators without HVPs) and far below what a real difference (a
// wrong row, a stale checkpoint, a missed layer) makes. EK-FAC with reduced
// tokens is compared on a net whose reduced factors have full rank (24
// examples, in' <= 7): a rank-deficient factor has an arbitrary eigenbasis in
// its zero eigenspace, and EK-FAC's corrected eigenvalues there follow each
// backend's rounding.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "algorithms/influence/datainf.h"
#include "algorithms/influence/exact.h"
#include "algorithms/influence/iterative.h"
#include "algorithms/influence/kfac.h"
#include "algorithms/influence/tracin.h"
#include "autograd/ops.h"
#include "nn/gpt.h"
#include "tensor/backend.h"
#include "tests/devices_to_test.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::influence;

namespace {

using gradlab::testing::devices_to_test;

constexpr double kTol = 1e-9;
constexpr DType f64 = DType::f64;

// s1 = W1 x + b1, h = tanh(s1), s2 = W2 h + b2 over inputs [N, T, in], each
// example's loss the cross-entropy summed over its T positions; the query is
// the mean loss of three held-out examples. Weights and data are drawn on the
// CPU from the seed, then moved, so every device starts from the same numbers;
// the data lives on the device, so a loss uploads only its row indices.
struct TinyNet {
  static constexpr int64_t N = 24, T = 2, in = 4, hidden = 6, classes = 3;
  std::shared_ptr<nn::Linear> l1, l2;
  Tensor X, labels, Xq, yq;

  TinyNet(Device device, uint64_t seed) {
    Generator gen(seed);
    l1 = std::make_shared<nn::Linear>(in, hidden, gen, nn::LinearOptions{.dtype = f64});
    l2 = std::make_shared<nn::Linear>(hidden, classes, gen, nn::LinearOptions{.dtype = f64});
    X = randn({N, T, in}, gen, f64).to(device);
    labels = randint(0, classes, {N, T}, gen).to(device);
    Xq = randn({3, T, in}, gen, f64).to(device);
    yq = randint(0, classes, {3, T}, gen).to(device);
    l1->to(device);
    l2->to(device);
  }
  std::vector<std::shared_ptr<nn::Linear>> layers() const { return {l1, l2}; }
  Var losses_of(const Tensor& x, const Tensor& y) const {
    const Var logits = l2->forward(tanh(l1->forward(Var(x))));
    return sum(cross_entropy(logits, y, {.reduction = Reduction::none}), {1});
  }
  Problem problem(int64_t batch_size) const {
    return {
        .params = linear_params(layers()),
        .n_train = N,
        .example_losses =
            [this](const std::vector<int64_t>& rows) {
              const Tensor idx = from_vector(rows).to(X.device());  // the one upload of a loss call
              return losses_of(index_select(X, 0, idx), index_select(labels, 0, idx));
            },
        .sampled_losses =
            [this](const std::vector<int64_t>& rows, Generator& gen) {
              const Tensor idx = from_vector(rows).to(X.device());
              const Var logits = l2->forward(tanh(l1->forward(Var(index_select(X, 0, idx)))));
              const Tensor probs = softmax(logits.value().reshape({-1, classes}), 1);
              const Tensor targets = nn::sample_categorical(probs, gen).reshape({int64_t(rows.size()), T});
              return sum(cross_entropy(logits, targets, {.reduction = Reduction::none}), {1});
            },
        .linear_layers = layers(),
        .batch_size = batch_size,
    };
  }
  QueryLoss query() const {
    return [this] { return mean(losses_of(Xq, yq)); };
  }
};

std::vector<int64_t> all_examples() {
  std::vector<int64_t> rows(TinyNet::N);
  for (int64_t i = 0; i < TinyNet::N; ++i) rows[size_t(i)] = i;
  return rows;
}

// The estimators compared, made afresh for each device (TracIn's checkpoints
// are the net's values and a perturbed copy, on the net's device).
std::vector<std::unique_ptr<Estimator>> estimators(const TinyNet& net) {
  std::vector<std::unique_ptr<Estimator>> out;
  out.push_back(std::make_unique<ExactInfluence>(ExactOptions{.damping = 5.0}));
  out.push_back(std::make_unique<CGInfluence>(CGOptions{.damping = 5.0, .max_iters = 8}));
  out.push_back(std::make_unique<LiSSAInfluence>(LiSSAOptions{.damping = 5.0, .depth = 10, .batch_size = 12}));
  const std::vector<Tensor> now = snapshot(linear_params(net.layers()));
  std::vector<Tensor> moved;
  for (const Tensor& t : now) moved.push_back(t * 0.9);
  out.push_back(std::make_unique<TracInInfluence>(std::vector<TracInCheckpoint>{{moved, 0.1}, {now, 0.05}}));
  out.push_back(std::make_unique<DataInfInfluence>(DataInfOptions{.blocks = DataInfBlocks::per_linear}));
  out.push_back(std::make_unique<KFACInfluence>(KFACOptions{}));
  out.push_back(std::make_unique<KFACInfluence>(KFACOptions{.eigen_correction = true}));
  out.push_back(std::make_unique<KFACInfluence>(KFACOptions{.eigen_correction = true, .tokens = KFACTokens::reduce}));
  return out;
}

double max_rel_gap(const std::vector<double>& want, const std::vector<double>& got) {
  REQUIRE(want.size() == got.size());
  double gap = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    gap = std::max(gap, std::abs(want[i] - got[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return gap / scale;
}

}  // namespace

TEST_CASE("influence: every estimator gives the CPU's scores on every device") {
  test::ThreadCountGuard threads(1);
  const TinyNet cpu_net(Device::cpu, 3);
  auto cpu_estimators = estimators(cpu_net);
  std::vector<std::vector<double>> want;
  for (auto& e : cpu_estimators) {
    e->fit(cpu_net.problem(8));
    want.push_back(e->score(cpu_net.query(), all_examples()).to_vector<double>());
  }
  for (Device device : devices_to_test()) {
    CAPTURE(device);
    const TinyNet net(device, 3);
    auto device_estimators = estimators(net);
    for (size_t i = 0; i < device_estimators.size(); ++i) {
      Estimator& e = *device_estimators[i];
      CAPTURE(e.name());
      e.fit(net.problem(8));
      const Tensor scores = e.score(net.query(), all_examples());
      CHECK(scores.device() == Device::cpu);  // the contract: [k] f64 on the CPU
      CHECK(max_rel_gap(want[i], scores.to_vector<double>()) <= kTol);
    }
    // The parameters are still on the device, with their values (TracIn restored them).
    for (const Var& p : linear_params(net.layers())) CHECK(p.value().device() == device);
  }
}

TEST_CASE("influence: host crossings of one score() call on ref") {
  test::ThreadCountGuard threads(1);
  const TinyNet net(Device::ref, 3);
  const int64_t k = TinyNet::N, batch = 8;  // 24 scored rows, the training set in 3 chunks of 8
  auto all = estimators(net);
  const auto crossings = [&](Estimator& e) {
    e.fit(net.problem(batch));
    const TransferCounts before = transfer_counts();
    (void)e.score(net.query(), all_examples());
    const TransferCounts after = transfer_counts();
    return std::pair<uint64_t, uint64_t>{after.to_host - before.to_host, after.from_host - before.from_host};
  };
  // Every estimator reads its k scores once (one to_host). Every call of the
  // problem's example_losses uploads its row indices (one from_host); the
  // query's data is already on the device.
  SUBCASE("exact") {
    // to_host: g_q to the host for the Cholesky solves, then the scores. from_host: x back to the device,
    // and one loss call per scored example (example_gradients: one backward each).
    CHECK(crossings(*all[0]) == std::pair<uint64_t, uint64_t>{2, 1 + k});
  }
  SUBCASE("cg") {
    auto& cg = dynamic_cast<CGInfluence&>(*all[1]);
    const auto [to_host, from_host] = crossings(cg);
    const uint64_t iters = uint64_t(cg.last_report().iterations);
    CHECK(iters == 8);  // max_iters: tol 1e-10 is not reached in 8 iterations
    // to_host: |b| once; per iteration p.(H+lambda)p and r.r in one copy (hvp()'s step size stays on
    // the device); then the scores.
    CHECK(to_host == 1 + iters + 1);
    // from_host: per HVP chunk two gradient passes (theta +- eps v), each one loss call; then k loss calls.
    CHECK(from_host == iters * 3 * 2 + k);
  }
  SUBCASE("lissa") {
    // Depth 10 steps, each a minibatch of 12 rows = 2 chunks of 8 and 4, each chunk an HVP with 2 loss
    // calls (its step size computed on the device); then the scores (to_host) and k loss calls
    // (from_host). The minibatches are drawn on the host (no crossing).
    CHECK(crossings(*all[2]) == std::pair<uint64_t, uint64_t>{1, 10 * 2 * 2 + k});
  }
  SUBCASE("tracin") {
    // Two checkpoints, each loaded by a copy on the device, a query gradient and k example gradients.
    CHECK(crossings(*all[3]) == std::pair<uint64_t, uint64_t>{1, 2 * k});
  }
  SUBCASE("datainf") {
    // The blocks' gradients are on the device since fit(); a query is tensor ops there and k loss calls.
    CHECK(crossings(*all[4]) == std::pair<uint64_t, uint64_t>{1, k});
  }
  SUBCASE("kfac, ekfac, ekfac-reduce") {
    // The factors' eigenvectors are on the device since fit(); scoring is one batched pass, 3 batches of 8.
    for (size_t i : {5, 6, 7}) CHECK(crossings(*all[i]) == std::pair<uint64_t, uint64_t>{1, 3});
  }
}

TEST_CASE("influence: K-FAC's fit crosses once per factor each way on ref") {
  test::ThreadCountGuard threads(1);
  const TinyNet net(Device::ref, 3);
  KFACInfluence kfac;
  const TransferCounts before = transfer_counts();
  kfac.fit(net.problem(8));
  const TransferCounts after = transfer_counts();
  // 2 layers x 2 factors (A, S): each read once by eigh() (to_host) and its eigenvalues and eigenvectors
  // sent back (2 from_host); plus one read per layer of the mean eigenvalue (relative damping). The pass
  // over the data makes 3 loss calls (batches of 8), each uploading its rows.
  CHECK(after.to_host - before.to_host == 4 + 2);
  CHECK(after.from_host - before.from_host == 4 * 2 + 3);
  for (const KFACLayerFactors& f : kfac.factors()) {
    CHECK(f.A.device() == Device::ref);
    CHECK(f.QA.device() == Device::ref);
    CHECK(f.eigenvalues.device() == Device::ref);
  }
}

TEST_CASE("influence: LiSSA's power iteration reads |H v| once, after its last iteration, on ref") {
  test::ThreadCountGuard threads(1);
  const TinyNet net(Device::ref, 3);
  for (int iterations : {1, 6}) {
    CAPTURE(iterations);
    LiSSAInfluence lissa(LiSSAOptions{.damping = 5.0, .depth = 10, .power_iterations = iterations});
    const TransferCounts before = transfer_counts();
    lissa.fit(net.problem(8));
    CHECK(transfer_counts().to_host - before.to_host == 1);
  }
}
