// K-FAC / EK-FAC / LinFAC influence (algorithms/influence/kfac.h) against
// explicit f64 computations on tiny models:
//   factors  A = mean a' a'^T and S = (1/N) sum D D^T from per-example,
//            per-token forward/backward passes (tokens expanded: every token a
//            term; reduced: a_n = mean_t a'_t, D_n = sum_t D_t), with the
//            empirical labels and with the model-sampled ones (the test's
//            sampled_losses records its draws, so the same targets are replayed);
//   Kronecker preconditioning = a dense solve of (S (x) A + damping I) x = vec(G)
//            (row-major vec), and EK-FAC's = a dense solve in the rotated basis;
//   EK-FAC   Lambda_ij = mean_m ((Q_S^T G_m Q_A)_ij)^2 from per-example gradients;
//   scores   sum_l <P_l, G_m,l> with G_m from one backward per example;
//   ranking  Spearman against an explicit Gauss-Newton solve for softmax regression;
// plus hook removal (after fit, score and a throw), LinFAC on a tiny GPT, the
// model-sampled losses, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "algorithms/influence/fisher_targets.h"
#include "algorithms/influence/kfac.h"
#include "algorithms/influence/linear_capture.h"
#include "algorithms/influence/metrics.h"
#include "autograd/ops.h"

using namespace gradlab;
using namespace gradlab::influence;

namespace {

constexpr DType f64 = DType::f64;

Tensor rows_tensor(const std::vector<int64_t>& rows) { return from_vector<int64_t>(rows, {int64_t(rows.size())}); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  return max(abs(a.to(f64) - b.to(f64))).item();
}
double max_abs(const Tensor& a) { return max(abs(a.to(f64))).item(); }

// x [.., f] as [T, f] rows, with a 1 appended when append_one.
Tensor token_rows(const Tensor& x, bool append_one) {
  Tensor r = x.reshape({-1, x.size(-1)});
  if (append_one) r = concat({r, ones({r.size(0), 1}, r.dtype())}, 1);
  return r;
}

// One layer's tokens for one example: a' [T, in'] and D [T, out].
struct LayerTokens {
  Tensor a, D;
};

// s1 = W1 x + b1, h = tanh(s1), s2 = W2 h (+ b2), per-example loss the sum of
// the cross-entropies of its positions. X is [N, in] (no token axis) or
// [N, T, in]; labels are X's shape without the last axis.
struct TinyNet {
  std::shared_ptr<nn::Linear> l1, l2;
  Tensor X, labels;
  int64_t N;
  std::vector<Tensor> drawn;  // the sampled targets of each row, as the last sampled_losses drew them

  TinyNet(Shape x_shape, int64_t hidden, int64_t classes, bool second_bias, uint64_t seed) {
    Generator gen(seed);
    const int64_t in = x_shape.back();
    l1 = std::make_shared<nn::Linear>(in, hidden, gen, nn::LinearOptions{.dtype = f64});
    l2 = std::make_shared<nn::Linear>(hidden, classes, gen, nn::LinearOptions{.bias = second_bias, .dtype = f64});
    X = randn(x_shape, gen, f64);
    Shape label_shape = x_shape;
    label_shape.erase(label_shape.size() - 1);
    labels = randint(0, classes, label_shape, gen);
    N = x_shape[0];
    drawn.resize(static_cast<size_t>(N));
  }
  std::vector<std::shared_ptr<nn::Linear>> layers() const { return {l1, l2}; }
  Var logits(const Tensor& x) const { return l2->forward(tanh(l1->forward(Var(x)))); }
  static Var per_example(const Var& token_losses) {
    return token_losses.dim() == 1 ? token_losses : sum(token_losses, {1});
  }

  Problem problem(int64_t batch_size) {
    Problem p;
    p.params = linear_params(layers());
    p.n_train = N;
    p.linear_layers = layers();
    p.batch_size = batch_size;
    p.example_losses = [this](const std::vector<int64_t>& rows) {
      const Tensor idx = rows_tensor(rows);
      return per_example(
          cross_entropy(logits(index_select(X, 0, idx)), index_select(labels, 0, idx), {.reduction = Reduction::none}));
    };
    p.sampled_losses = [this](const std::vector<int64_t>& rows, Generator& gen) {
      const Var z = logits(index_select(X, 0, rows_tensor(rows)));
      // The same draws sampled_label_losses makes, recorded for the explicit computation.
      Generator replay = gen;
      const int64_t C = z.size(-1);
      Shape target_shape = z.shape();
      target_shape.erase(target_shape.size() - 1);
      const Tensor targets =
          nn::sample_categorical(softmax(z.value().reshape({-1, C}), 1), replay).reshape(target_shape);
      for (size_t i = 0; i < rows.size(); ++i) drawn[size_t(rows[i])] = targets.select(0, int64_t(i)).clone();
      return per_example(sampled_label_losses(z, gen));
    };
    return p;
  }

  // Example n's tokens at both layers for the given targets, by a direct
  // forward and backward without hooks.
  std::vector<LayerTokens> explicit_tokens(int64_t n, const Tensor& targets) const {
    const Tensor x = X.narrow(0, n, 1);
    const Var s1 = linear(Var(x), l1->weight, l1->bias);
    s1.retain_grad();
    const Var h = tanh(s1);
    const Var s2 = linear(h, l2->weight, l2->bias);
    s2.retain_grad();
    sum(cross_entropy(s2, targets.unsqueeze(0), {.reduction = Reduction::none})).backward();
    std::vector<LayerTokens> out = {{token_rows(x, true), token_rows(s1.grad(), false)},
                                    {token_rows(h.value(), l2->bias.defined()), token_rows(s2.grad(), false)}};
    for (const Var& p : linear_params(layers())) p.zero_grad();
    return out;
  }
  Tensor targets(int64_t n, bool sampled) const { return sampled ? drawn[size_t(n)] : labels.select(0, n); }

  // A and S by their definitions, per layer.
  std::vector<std::pair<Tensor, Tensor>> explicit_factors(bool sampled, KFACTokens tokens) const {
    std::vector<std::pair<Tensor, Tensor>> out;
    for (size_t l = 0; l < 2; ++l) {
      Tensor A, S;
      double a_count = 0;
      for (int64_t n = 0; n < N; ++n) {
        const LayerTokens t = explicit_tokens(n, targets(n, sampled))[l];
        Tensor a_term, S_term;
        if (tokens == KFACTokens::expand) {
          a_term = matmul(t.a.mT(), t.a);
          S_term = matmul(t.D.mT(), t.D);
          a_count += double(t.a.size(0));
        } else {
          const Tensor an = mean(t.a, {0}, true), Dn = sum(t.D, {0}, true);
          a_term = matmul(an.mT(), an);
          S_term = matmul(Dn.mT(), Dn);
          a_count += 1;
        }
        A = A.defined() ? A + a_term : a_term;
        S = S.defined() ? S + S_term : S_term;
      }
      out.push_back({A / a_count, S / double(N)});
    }
    return out;
  }

  // G_m = sum_t D_t a'_t^T [out, in'] per layer.
  std::vector<Tensor> explicit_gradient(int64_t n, bool sampled) const {
    std::vector<Tensor> out;
    for (const LayerTokens& t : explicit_tokens(n, targets(n, sampled))) out.push_back(matmul(t.D.mT(), t.a));
    return out;
  }
};

// [W | b] gradients from the params' .grad after a backward.
std::vector<Tensor> param_grads(const std::vector<std::shared_ptr<nn::Linear>>& layers) {
  std::vector<Tensor> out;
  for (const auto& l : layers) {
    Tensor g = l->weight.grad().to(f64);
    if (l->bias.defined()) g = concat({g, l->bias.grad().to(f64).unsqueeze(1)}, 1);
    out.push_back(g);
  }
  return out;
}

// Solves M x = b by Gaussian elimination with partial pivoting (n x n, row-major).
std::vector<double> dense_solve(std::vector<double> M, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(M[r * n + c]) > std::fabs(M[pivot * n + c])) pivot = r;
    for (size_t k = 0; k < n; ++k) std::swap(M[c * n + k], M[pivot * n + k]);
    std::swap(b[c], b[pivot]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = M[r * n + c] / M[c * n + c];
      for (size_t k = c; k < n; ++k) M[r * n + k] -= f * M[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= M[i * n + k] * x[k];
    x[i] = s / M[i * n + i];
  }
  return x;
}

// kron(P, Q)[(i, j), (k, l)] = P[i, k] Q[j, l] as a row-major [pq, pq] vector.
std::vector<double> kron(const Tensor& P, const Tensor& Q) {
  const int64_t p = P.size(0), q = Q.size(0), n = p * q;
  const std::vector<double> Pv = P.contiguous().to_vector<double>(), Qv = Q.contiguous().to_vector<double>();
  std::vector<double> K(size_t(n * n));
  for (int64_t i = 0; i < p; ++i)
    for (int64_t j = 0; j < q; ++j)
      for (int64_t k = 0; k < p; ++k)
        for (int64_t l = 0; l < q; ++l)
          K[size_t((i * q + j) * n + k * q + l)] = Pv[size_t(i * p + k)] * Qv[size_t(j * q + l)];
  return K;
}

// Whether a forward hook of a LinearCapture is still on the layer: the hook
// refuses an input without an example axis, a plain Linear does not.
bool capture_hook_present(const nn::Linear& layer) {
  const Tensor single = zeros({layer.in_features()}, layer.weight.dtype());
  try {
    (void)layer.forward(Var(single));
  } catch (const Error&) {
    return true;
  }
  return false;
}

}  // namespace

TEST_CASE(
    "kfac: A and S of a 2-layer MLP match the per-example definitions (both Fishers; expand = reduce for [B, in])") {
  TinyNet net({10, 3}, 4, 3, true, 1);
  for (const KFACFisher fisher : {KFACFisher::empirical, KFACFisher::sampled}) {
    CAPTURE(int(fisher));
    std::vector<std::vector<KFACLayerFactors>> fitted;
    for (const KFACTokens tokens : {KFACTokens::expand, KFACTokens::reduce}) {
      KFACInfluence est({.fisher = fisher, .tokens = tokens, .seed = 7});
      est.fit(net.problem(4));  // batches of 4, 4 and 2
      const auto expected = net.explicit_factors(fisher == KFACFisher::sampled, tokens);
      for (size_t l = 0; l < 2; ++l) {
        CHECK(max_abs_diff(est.factors()[l].A, expected[l].first) < 1e-12);
        CHECK(max_abs_diff(est.factors()[l].S, expected[l].second) < 1e-12);
      }
      fitted.push_back(est.factors());
    }
    for (size_t l = 0; l < 2; ++l) {
      CHECK(max_abs_diff(fitted[0][l].A, fitted[1][l].A) < 1e-12);
      CHECK(max_abs_diff(fitted[0][l].S, fitted[1][l].S) < 1e-12);
    }
  }
}

TEST_CASE("kfac: A and S with a token axis, tokens expanded and reduced, both Fishers (a layer without bias)") {
  TinyNet net({6, 3, 2}, 4, 3, false, 2);
  for (const KFACFisher fisher : {KFACFisher::empirical, KFACFisher::sampled})
    for (const KFACTokens tokens : {KFACTokens::expand, KFACTokens::reduce}) {
      CAPTURE(int(fisher));
      CAPTURE(int(tokens));
      KFACInfluence est({.fisher = fisher, .tokens = tokens, .seed = 3});
      est.fit(net.problem(4));
      const auto expected = net.explicit_factors(fisher == KFACFisher::sampled, tokens);
      for (size_t l = 0; l < 2; ++l) {
        CHECK(est.factors()[l].A.shape() == Shape{l == 0 ? 3 : 4, l == 0 ? 3 : 4});
        CHECK(max_abs_diff(est.factors()[l].A, expected[l].first) < 1e-12);
        CHECK(max_abs_diff(est.factors()[l].S, expected[l].second) < 1e-12);
      }
      // Reduced and expanded factors differ on real sequences.
      if (tokens == KFACTokens::reduce) {
        const auto expanded = net.explicit_factors(fisher == KFACFisher::sampled, KFACTokens::expand);
        CHECK(max_abs_diff(est.factors()[0].A, expanded[0].first) > 1e-3);
      }
    }
}

TEST_CASE("kfac: the Kronecker preconditioning is a dense solve of (S (x) A + damping I), also for EK-FAC's Lambda") {
  TinyNet net({8, 3, 2}, 4, 3, true, 4);
  Generator gen(11);
  for (const bool correction : {false, true}) {
    CAPTURE(correction);
    KFACInfluence est({.fisher = KFACFisher::empirical, .eigen_correction = correction, .damping = 0.05});
    est.fit(net.problem(3));
    std::vector<Tensor> G;
    for (const KFACLayerFactors& f : est.factors()) G.push_back(randn(f.eigenvalues.shape(), gen, f64));
    const std::vector<Tensor> P = est.precondition(G);
    for (size_t l = 0; l < 2; ++l) {
      const KFACLayerFactors& f = est.factors()[l];
      const int64_t out = f.S.size(0), in = f.A.size(0), n = out * in;
      std::vector<double> M;
      if (!correction) {
        M = kron(f.S, f.A);  // F ~= S (x) A on row-major vec([out, in'])
      } else {
        // (Q_S (x) Q_A) diag(vec Lambda) (Q_S (x) Q_A)^T
        const std::vector<double> Q = kron(f.QS, f.QA), lambda = f.eigenvalues.contiguous().to_vector<double>();
        M.assign(size_t(n * n), 0.0);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t k = 0; k < n; ++k) s += Q[size_t(i * n + k)] * lambda[size_t(k)] * Q[size_t(j * n + k)];
            M[size_t(i * n + j)] = s;
          }
      }
      for (int64_t i = 0; i < n; ++i) M[size_t(i * n + i)] += f.damping;
      const std::vector<double> x = dense_solve(M, G[l].contiguous().to_vector<double>());
      const Tensor expected = from_vector<double>(x, {out, in});
      CHECK(max_abs_diff(P[l], expected) < 1e-9 * std::max(1.0, max_abs(expected)));
      // Relative damping: 0.05 times the mean eigenvalue.
      CHECK(f.damping == doctest::Approx(0.05 * mean(f.eigenvalues).item()).epsilon(1e-12));
    }
  }
}

TEST_CASE(
    "ekfac: corrected eigenvalues are the mean squared per-example projections (both Fishers, expand and reduce)") {
  TinyNet net({7, 3, 2}, 4, 3, true, 5);
  for (const KFACFisher fisher : {KFACFisher::empirical, KFACFisher::sampled})
    for (const KFACTokens tokens : {KFACTokens::expand, KFACTokens::reduce}) {
      CAPTURE(int(fisher));
      CAPTURE(int(tokens));
      KFACInfluence est({.fisher = fisher, .eigen_correction = true, .tokens = tokens, .seed = 9});
      est.fit(net.problem(3));
      const bool sampled = fisher == KFACFisher::sampled;
      for (size_t l = 0; l < 2; ++l) {
        const KFACLayerFactors& f = est.factors()[l];
        Tensor lambda;
        for (int64_t n = 0; n < net.N; ++n) {
          const Tensor projected = matmul(matmul(f.QS.mT(), net.explicit_gradient(n, sampled)[l]), f.QA);
          lambda = lambda.defined() ? lambda + square(projected) : square(projected);
        }
        lambda = lambda / double(net.N);
        CHECK(max_abs_diff(f.eigenvalues, lambda) < 1e-12 * std::max(1.0, max_abs(lambda)));
      }
    }
}

TEST_CASE("kfac: scores are sum_l <P_l, G_m,l> with per-example gradients from one backward each") {
  TinyNet net({9, 4, 2}, 5, 3, true, 6);
  Problem problem = net.problem(4);
  const QueryLoss query = [&] {
    return sum(cross_entropy(net.logits(net.X.narrow(0, 0, 2)), net.labels.narrow(0, 0, 2)));
  };
  for (const bool correction : {false, true})
    for (const KFACTokens tokens : {KFACTokens::expand, KFACTokens::reduce}) {
      KFACInfluence est({.fisher = KFACFisher::sampled, .eigen_correction = correction, .tokens = tokens});
      est.fit(problem);
      // The query gradient per layer equals the params' gradients.
      query().backward();
      const std::vector<Tensor> expected_q = param_grads(net.layers());
      for (const Var& p : problem.params) p.zero_grad();
      const std::vector<Tensor> Gq = est.layer_gradients(query);
      for (size_t l = 0; l < 2; ++l) CHECK(max_abs_diff(Gq[l], expected_q[l]) < 1e-12);
      for (const Var& p : problem.params) CHECK(!p.grad().defined());  // left as found

      const std::vector<Tensor> P = est.precondition(Gq);
      const std::vector<int64_t> rows = {8, 0, 3, 3, 5, 1, 7};  // any order, repeats, across batches
      const Tensor scores = est.score(query, rows);
      REQUIRE(scores.shape() == Shape{int64_t(rows.size())});
      CHECK(scores.dtype() == f64);
      for (size_t k = 0; k < rows.size(); ++k) {
        problem.example_losses({rows[k]}).backward();
        const std::vector<Tensor> Gm = param_grads(net.layers());
        for (const Var& p : problem.params) p.zero_grad();
        double expected = 0;
        for (size_t l = 0; l < 2; ++l) expected += sum(P[l] * Gm[l]).item();
        CHECK(scores.to_vector<double>()[k] == doctest::Approx(expected).epsilon(1e-10));
      }
      for (const Var& p : problem.params) CHECK(!p.grad().defined());
    }
}

TEST_CASE("kfac: softmax regression, K-FAC and EK-FAC rank like an explicit Gauss-Newton solve") {
  // One Linear layer W' [C, d+1]: per example g_m = (p_m - e_y) a_m^T and the
  // Gauss-Newton matrix (1/N) sum_m (diag(p_m) - p_m p_m^T) (x) a_m a_m^T on
  // row-major vec(W'), solved densely with the same absolute damping. With
  // small weights the curvature diag(p) - p p^T barely varies between
  // examples, so E[.. (x) ..] ~= E[..] (x) E[..] and K-FAC is close to exact
  // (the sampled Fisher's noise remains); large weights break that (Spearman
  // about 0.85 at 3x these weights and 1.5x the inputs).
  const int64_t N = 400, d = 4, C = 3;
  Generator gen(21);
  auto layer = std::make_shared<nn::Linear>(d, C, gen, nn::LinearOptions{.dtype = f64});
  {
    NoGradGuard no_grad;
    Tensor weight = layer->weight.value();
    weight.copy_(randn({C, d}, gen, f64) * 0.3);
  }
  // Features of very different scales (and an offset), so that H is far from a multiple of I.
  const Tensor X = randn({N, d}, gen, f64) * tensor({2.0, 1.0, 0.3, 0.05}, {d}, f64) + 0.5;
  const Tensor y = randint(0, C, {N}, gen);
  const Tensor Xq = randn({1, d}, gen, f64), yq = tensor({1.0}, {1}, DType::i64);
  Problem problem;
  problem.params = linear_params({layer});
  problem.n_train = N;
  problem.linear_layers = {layer};
  problem.batch_size = 64;
  problem.example_losses = [&](const std::vector<int64_t>& rows) {
    const Tensor idx = rows_tensor(rows);
    return cross_entropy(layer->forward(Var(index_select(X, 0, idx))), index_select(y, 0, idx),
                         {.reduction = Reduction::none});
  };
  problem.sampled_losses = [&](const std::vector<int64_t>& rows, Generator& g) {
    return sampled_label_losses(layer->forward(Var(index_select(X, 0, rows_tensor(rows)))), g);
  };
  const QueryLoss query = [&] { return sum(cross_entropy(layer->forward(Var(Xq)), yq)); };

  const double damping = 1e-3;
  const int64_t in = d + 1, n = C * in;
  const Tensor A_rows = concat({X, ones({N, 1}, f64)}, 1);
  const Tensor probs =
      softmax(matmul(A_rows, concat({layer->weight.value(), layer->bias.value().unsqueeze(1)}, 1).mT()), 1);
  std::vector<double> H(size_t(n * n), 0.0);
  std::vector<std::vector<double>> g(static_cast<size_t>(N));
  for (int64_t m = 0; m < N; ++m) {
    const Tensor p = probs.select(0, m), a = A_rows.select(0, m);
    const Tensor curvature = -matmul(p.unsqueeze(1), p.unsqueeze(0)) + eye(C, C, f64) * p.unsqueeze(0);
    const std::vector<double> K = kron(curvature, matmul(a.unsqueeze(1), a.unsqueeze(0)));
    for (size_t i = 0; i < K.size(); ++i) H[i] += K[i] / double(N);
    const Tensor residual = p - one_hot(y.narrow(0, m, 1), C, f64).squeeze(0);
    g[size_t(m)] = matmul(residual.unsqueeze(1), a.unsqueeze(0)).contiguous().to_vector<double>();
  }
  for (int64_t i = 0; i < n; ++i) H[size_t(i * n + i)] += damping;
  const Tensor pq = softmax(matmul(concat({Xq, ones({1, 1}, f64)}, 1),
                                   concat({layer->weight.value(), layer->bias.value().unsqueeze(1)}, 1).mT()),
                            1)
                        .squeeze(0);
  const std::vector<double> gq =
      matmul((pq - one_hot(yq, C, f64).squeeze(0)).unsqueeze(1), concat({Xq, ones({1, 1}, f64)}, 1))
          .contiguous()
          .to_vector<double>();
  const std::vector<double> solved = dense_solve(H, gq);
  std::vector<double> exact(static_cast<size_t>(N));
  for (int64_t m = 0; m < N; ++m)
    for (int64_t i = 0; i < n; ++i) exact[size_t(m)] += solved[size_t(i)] * g[size_t(m)][size_t(i)];

  // The control: plain gradient dot products (H replaced by I) rank worse.
  std::vector<double> dot(static_cast<size_t>(N));
  for (int64_t m = 0; m < N; ++m)
    for (int64_t i = 0; i < n; ++i) dot[size_t(m)] += gq[size_t(i)] * g[size_t(m)][size_t(i)];
  const double rho_dot = spearman(dot, exact);
  MESSAGE("gradient dot products: Spearman vs Gauss-Newton ", rho_dot);
  CHECK(rho_dot < 0.9);

  std::vector<int64_t> all(static_cast<size_t>(N));
  for (int64_t m = 0; m < N; ++m) all[size_t(m)] = m;
  for (const bool correction : {false, true}) {
    KFACInfluence est({.eigen_correction = correction, .damping = damping, .damping_kind = KFACDamping::absolute});
    est.fit(problem);
    const double rho = spearman(est.score(query, all).to_vector<double>(), exact);
    MESSAGE(est.name(), ": Spearman vs Gauss-Newton ", rho);
    CHECK(rho > 0.98);
  }
}

TEST_CASE("kfac: the forward hooks are gone after fit, after score and after a throw") {
  TinyNet net({6, 3}, 4, 2, true, 8);
  Problem problem = net.problem(4);
  {
    LinearCapture capture(net.layers());  // the probe works: a capture's hook refuses [in]
    CHECK(capture_hook_present(*net.l1));
  }
  CHECK(!capture_hook_present(*net.l1));
  KFACInfluence est({.eigen_correction = true});
  est.fit(problem);
  CHECK(!capture_hook_present(*net.l1));
  CHECK(!capture_hook_present(*net.l2));
  (void)est.score([&] { return sum(net.logits(net.X.narrow(0, 0, 1))); }, {0, 1});
  CHECK(!capture_hook_present(*net.l1));
  CHECK(!capture_hook_present(*net.l2));

  int calls = 0;
  Problem failing = problem;
  failing.sampled_losses = [&](const std::vector<int64_t>& rows, Generator& gen) {
    if (++calls == 2) throw std::runtime_error("losses failed");
    return problem.sampled_losses(rows, gen);
  };
  KFACInfluence other;
  CHECK_THROWS_AS(other.fit(failing), std::runtime_error);
  CHECK(!capture_hook_present(*net.l1));
  CHECK(!capture_hook_present(*net.l2));
  CHECK_THROWS_WITH_AS(other.score([] { return Var(); }, {0}), doctest::Contains("call fit() first"), Error);
  CHECK_THROWS_AS(est.score([&]() -> Var { throw std::runtime_error("query failed"); }, {0}), std::runtime_error);
  CHECK(!capture_hook_present(*net.l1));
  for (const Var& p : problem.params) CHECK(!p.grad().defined());
}

TEST_CASE("kfac: errors name the problem") {
  TinyNet net({6, 3}, 4, 2, true, 9);
  const Problem good = net.problem(4);
  KFACInfluence est;
  CHECK_THROWS_WITH_AS(est.factors(), doctest::Contains("call fit() first"), Error);
  CHECK_THROWS_WITH_AS(est.score([&] { return sum(net.logits(net.X)); }, {0}), doctest::Contains("call fit() first"),
                       Error);

  Problem no_layers = good;
  no_layers.linear_layers.clear();
  CHECK_THROWS_WITH_AS(est.fit(no_layers), doctest::Contains("no linear_layers"), Error);

  Problem missing_bias = good;
  missing_bias.params.pop_back();
  CHECK_THROWS_WITH_AS(est.fit(missing_bias), doctest::Contains("must be exactly"), Error);
  Problem foreign = good;
  foreign.params.push_back(Var::leaf(zeros({2}, f64)));
  CHECK_THROWS_WITH_AS(est.fit(foreign), doctest::Contains("is not the weight or bias"), Error);

  Problem no_sampler = good;
  no_sampler.sampled_losses = nullptr;
  CHECK_THROWS_WITH_AS(est.fit(no_sampler), doctest::Contains("sampled_losses"), Error);
  KFACInfluence empirical({.fisher = KFACFisher::empirical});
  CHECK_NOTHROW(empirical.fit(no_sampler));
  CHECK_THROWS_WITH_AS(empirical.score([&] { return sum(net.logits(net.X)); }, {6}), doctest::Contains("out of range"),
                       Error);
  CHECK_THROWS_WITH_AS(empirical.score([&] { return net.logits(net.X); }, {0}), doctest::Contains("one element"),
                       Error);

  Problem wrong_shape = good;
  wrong_shape.example_losses = [&](const std::vector<int64_t>& rows) { return sum(good.example_losses(rows)); };
  CHECK_THROWS_WITH_AS(empirical.fit(wrong_shape), doctest::Contains("example_losses of"), Error);

  CHECK_THROWS_WITH_AS(KFACInfluence({.damping = 0}), doctest::Contains("damping must be positive"), Error);

  Generator gen(1);
  net.l2->add_low_rank_adapter(1, 1.0, gen);
  CHECK_THROWS_WITH_AS(empirical.fit(good), doctest::Contains("low-rank adapter"), Error);
}

TEST_CASE("kfac: names; LinFAC on a tiny GPT scores like per-example gradients; model-sampled sequence losses") {
  CHECK(KFACInfluence().name() == "kfac");
  CHECK(KFACInfluence({.tokens = KFACTokens::reduce}).name() == "kfac-reduce");
  CHECK(KFACInfluence({.eigen_correction = true}).name() == "ekfac");
  CHECK(KFACInfluence({.eigen_correction = true, .tokens = KFACTokens::reduce}).name() == "ekfac-reduce");
  CHECK(make_linfac(KFACTokens::expand)->name() == "linfac-expand");
  CHECK(make_linfac(KFACTokens::reduce)->name() == "linfac-reduce");
  CHECK(make_linfac(KFACTokens::reduce)->options().eigen_correction);

  Generator gen(31);
  nn::GPT gpt({.vocab = 11, .context = 6, .d_model = 8, .heads = 2, .layers = 2, .dtype = f64}, gen);
  const auto layers = linfac_layers(gpt);
  REQUIRE(layers.size() == 8);
  CHECK(layers[0] == gpt.blocks[0]->attn->qkv);
  CHECK(layers[3] == gpt.blocks[0]->fc_out);
  CHECK(linear_params(layers).size() == 16);

  const int64_t N = 10, T = 6;
  const Tensor tokens = randint(0, 11, {N, T}, gen);
  Tensor mask = zeros({N, T}, f64);
  mask.narrow(1, 3, 3).fill_(1.0);

  // Sampled sequence losses: [B], reproducible from the generator, zero without response tokens.
  Generator g1(5), g2(5);
  const Var s1 = sampled_sequence_losses(gpt, tokens, mask, g1), s2 = sampled_sequence_losses(gpt, tokens, mask, g2);
  CHECK(s1.shape() == Shape{N});
  CHECK(max_abs_diff(s1.value(), s2.value()) == 0);
  CHECK(min(s1.value()).item() > 0);
  Generator g3(5);
  CHECK(max_abs(sampled_sequence_losses(gpt, tokens, zeros({N, T}, f64), g3).value()) == 0);
  CHECK_THROWS_WITH_AS(sampled_sequence_losses(gpt, tokens, zeros({N, T - 1}, f64), g3),
                       doctest::Contains("response_mask"), Error);

  Problem problem;
  problem.params = linear_params(layers);
  problem.n_train = N;
  problem.linear_layers = layers;
  problem.batch_size = 4;
  problem.example_losses = [&](const std::vector<int64_t>& rows) {
    const Tensor idx = rows_tensor(rows);
    return -gpt.sequence_logprob(index_select(tokens, 0, idx), index_select(mask, 0, idx)).sum;
  };
  problem.sampled_losses = [&](const std::vector<int64_t>& rows, Generator& g) {
    const Tensor idx = rows_tensor(rows);
    return sampled_sequence_losses(gpt, index_select(tokens, 0, idx), index_select(mask, 0, idx), g);
  };
  const Tensor query_tokens = randint(0, 11, {2, T}, gen);
  const QueryLoss query = [&] { return mean(-gpt.sequence_logprob(query_tokens, mask.narrow(0, 0, 2)).sum); };
  for (const KFACTokens mode : {KFACTokens::expand, KFACTokens::reduce}) {
    auto linfac = make_linfac(mode);
    linfac->fit(problem);
    const std::vector<Tensor> P = linfac->precondition(linfac->layer_gradients(query));
    const Tensor scores = linfac->score(query, {0, 4, 9});
    const std::vector<int64_t> rows = {0, 4, 9};
    for (size_t k = 0; k < 3; ++k) {
      for (const Var& p : gpt.parameters()) p.zero_grad();
      problem.example_losses({rows[k]}).backward();
      const std::vector<Tensor> Gm = param_grads(layers);
      double expected = 0;
      for (size_t l = 0; l < layers.size(); ++l) expected += sum(P[l] * Gm[l]).item();
      CHECK(scores.to_vector<double>()[k] == doctest::Approx(expected).epsilon(1e-9));
    }
  }
}
