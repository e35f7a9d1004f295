// build/bench/influence: the influence estimators' validation table. For each
// problem a model is trained (recording TracIn checkpoints), polished to a
// minimum of its mean training loss by Newton-CG, and a query is fixed (the
// loss of held-out examples). Then:
//   exact  influence (algorithms/influence/exact.h) on every training example,
//   LOO    leave-one-out retraining (leave_one_out.h) on --loo-examples of them,
//          warm-started and deterministic: Newton steps
//          theta <- theta - alpha H_keep(theta)^-1 grad L_keep(theta), the
//          solve by conjugate gradients on HVPs preconditioned with the
//          factored Hessian H* + damping I at the trained optimum, alpha
//          halved until L_keep does not rise, until |grad L_keep| < 1e-10
//          (a minimiser of the leave-one-out objective; H* only sets how fast
//          it is reached),
//   every estimator: Spearman's rho of its scores against exact (all examples)
//          and against LOO (the LOO subset), and its seconds (fit + score).
// Problems:
//   logreg  L2-regularised logistic regression (200 examples, 10 features)
//   mlp     a tanh MLP classifier (5-12-12-3, 267 params, weight decay)
//   gpt     a 1-layer nn::GPT (d_model 16, vocab 12, context 8) on a Markov
//           token corpus; influence w.r.t. the block's MLP output weight and
//           the head's weight (1216 params), the rest frozen after training
// Everything is f64. --seeds N repeats over seeds and reports the mean rho.
// --device cpu|cuda|ref: data and weights are drawn on the CPU from the seed
// (the same numbers for every device), then moved; training, polishing, exact,
// LOO and every estimator run there (Cholesky solves and eigendecompositions
// are host code inside the library).
//   build/bench/influence --threads 1 --jsonl out.jsonl
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "algorithms/influence/datainf.h"
#include "algorithms/influence/exact.h"
#include "algorithms/influence/fisher_targets.h"
#include "algorithms/influence/iterative.h"
#include "algorithms/influence/kfac.h"
#include "algorithms/influence/leave_one_out.h"
#include "algorithms/influence/metrics.h"
#include "algorithms/influence/tracin.h"
#include "algorithms/influence/training_hessian.h"
#include "autograd/ops.h"
#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "nn/gpt.h"
#include "nn/linear.h"
#include "optim/adam.h"
#include "tensor/parallel.h"

using namespace gradlab;
using namespace gradlab::bench;
using namespace gradlab::influence;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Sizes that --smoke and --quick shrink.
struct Budget {
  bool smoke = false, quick = false;
  int64_t pick(int64_t full, int64_t quick_value, int64_t smoke_value) const {
    return smoke ? smoke_value : quick ? quick_value : full;
  }
};

// A trained model with everything the estimators and the table need.
struct Setup {
  std::string name;
  Problem problem;
  QueryLoss query;
  std::vector<TracInCheckpoint> checkpoints;
  double damping = 0;              // for exact, CG, LiSSA and the LOO chord steps
  std::shared_ptr<void> keepalive;  // the model and data the closures read
};

// ---- the mean training loss and its gradient over rows, in batches ----

Tensor mean_gradient(const Problem& problem, const std::vector<int64_t>& rows) {
  Tensor total = zeros({parameter_count(problem.params)}, DType::f64, problem_device(problem));
  const int64_t n = int64_t(rows.size());
  EnableGradGuard recording;
  for (int64_t start = 0; start < n; start += problem.batch_size) {
    const int64_t end = std::min(n, start + problem.batch_size);
    const std::vector<int64_t> chunk(rows.begin() + start, rows.begin() + end);
    total = total + flat_gradient(sum(problem.example_losses(chunk)), problem.params) / double(n);
  }
  return total;
}

double mean_loss(const Problem& problem, const std::vector<int64_t>& rows) {
  NoGradGuard no_grad;
  double total = 0;
  const int64_t n = int64_t(rows.size());
  for (int64_t start = 0; start < n; start += problem.batch_size) {
    const std::vector<int64_t> chunk(rows.begin() + start, rows.begin() + std::min(n, start + problem.batch_size));
    total += sum(problem.example_losses(chunk)).item();
  }
  return total / double(n);
}

void set_flat(const std::vector<Var>& params, const Tensor& theta) { restore(params, unflatten(theta, params)); }

// Newton-CG with Levenberg-Marquardt damping mu on the mean loss over all
// rows: solve (H + mu I) d = -grad by CG on HVPs, accept the step when the
// loss falls (mu /= 3), else retry with mu *= 10; until |grad| < tol.
double newton_polish(const Problem& problem, int max_steps, double tol) {
  const std::vector<int64_t> rows = all_rows(problem.n_train);
  double mu = 1e-3, loss = mean_loss(problem, rows);
  Tensor g = mean_gradient(problem, rows);
  for (int step = 0; step < max_steps && norm(g).item() > tol; ++step) {
    const Tensor theta = flatten(snapshot(problem.params));
    const HvpOperator H = [&](const std::vector<Tensor>& v) { return training_hvp(problem, rows, v); };
    Tensor d;
    try {
      d = flatten(conjugate_gradient(H, unflatten(-g, problem.params), mu, 300, 1e-10));
    } catch (const Error&) {  // negative curvature at this mu
      mu *= 10;
      continue;
    }
    set_flat(problem.params, theta + d);
    const double new_loss = mean_loss(problem, rows);
    if (std::isfinite(new_loss) && new_loss <= loss) {
      loss = new_loss;
      g = mean_gradient(problem, rows);
      mu = std::max(mu / 3, 1e-9);
    } else {
      set_flat(problem.params, theta);
      mu *= 10;
    }
  }
  return norm(g).item();
}

// Per-example losses with the L2 term (wd / 2) |params|^2 added to each, so
// that the mean over the training set is the training objective.
Var plus_weight_decay(const Var& losses, const std::vector<Var>& params, double wd) {
  Var sq;
  for (const Var& p : params) sq = sq.defined() ? sq + sum(p * p) : sum(p * p);
  return losses + sq * (0.5 * wd);
}

// Full-batch Adam with a cosine learning-rate decay to zero (or plain
// gradient descent at a constant rate) on the mean training loss, a TracIn
// checkpoint every `every` steps (with the learning rate of that step).
std::vector<TracInCheckpoint> train(const Problem& problem, const std::vector<Var>& trained, int steps, double lr,
                                    int every, bool adam) {
  std::vector<TracInCheckpoint> checkpoints;
  const std::vector<int64_t> rows = all_rows(problem.n_train);
  optim::Adam optimizer(trained, {.lr = lr});
  for (int step = 0; step < steps; ++step) {
    const double rate = adam ? 0.5 * lr * (1 + std::cos(M_PI * step / steps)) : lr;
    optimizer.set_lr(rate);
    if (step % every == 0) checkpoints.push_back({snapshot(problem.params), rate});
    const Var loss = mean(problem.example_losses(rows));
    optimizer.zero_grad();
    loss.backward();
    if (adam) {
      optimizer.step();
    } else {
      NoGradGuard no_grad;
      for (const Var& p : trained) {
        Tensor value = p.value();
        value.copy_(value - p.grad() * rate);
      }
    }
  }
  return checkpoints;
}

// The Newton step H_keep^-1 g of the leave-one-out objective at the current
// parameters, by conjugate gradients on its Hessian-vector products,
// preconditioned by the factored full-data Hessian K = H* + damping I
// (which differs from H_keep by about one example's Hessian / N, so a few
// iterations suffice). Stops at |r| <= 1e-12 |g|, after 100 iterations, or
// at a direction of non-positive curvature (returning what it has; K^-1 g
// when that happens at once).
Tensor preconditioned_newton_step(const Problem& problem, const std::vector<int64_t>& keep, const Tensor& g,
                                  const ExactInfluence& preconditioner) {
  // The preconditioner's solves are host code: r goes to the host, z comes back.
  Tensor x = zeros_like(g), r = g.clone(), z = preconditioner.solve(r).to(g.device()), p = z.clone();
  double rz = sum(r * z).item();
  const double g_norm = norm(g).item();
  for (int it = 0; it < 100; ++it) {
    const Tensor Ap = training_hvp_flat(problem, keep, p);
    const double curvature = sum(p * Ap).item();
    if (!(curvature > 0)) return it == 0 ? z : x;
    const double alpha = rz / curvature;
    x = x + p * alpha;
    r = r - Ap * alpha;
    if (norm(r).item() <= 1e-12 * g_norm) break;
    z = preconditioner.solve(r).to(g.device());
    const double rz_next = sum(r * z).item();
    p = z + p * (rz_next / rz);
    rz = rz_next;
  }
  return x;
}

// ---- the problems ----

Setup make_logreg(uint64_t seed, const Budget& budget, Device device) {
  struct Data {
    Tensor X, y, Xq, yq;
    Var w, c;
  };
  auto data = std::make_shared<Data>();
  const int64_t n = budget.pick(200, 200, 40), d = budget.pick(10, 10, 4);
  const double l2 = 0.01;
  Generator gen(seed);
  const Tensor w_true = randn({d}, gen, DType::f64);
  data->X = randn({n, d}, gen, DType::f64);
  data->y = sign(matmul(data->X, w_true) + randn({n}, gen, DType::f64));
  data->Xq = randn({3, d}, gen, DType::f64);
  data->yq = sign(matmul(data->Xq, w_true) + randn({3}, gen, DType::f64));
  for (Tensor* t : {&data->X, &data->y, &data->Xq, &data->yq}) *t = t->to(device);
  data->w = Var::leaf(zeros({d}, DType::f64, device));
  data->c = Var::leaf(zeros({1}, DType::f64, device));
  Setup s;
  s.name = "logreg";
  s.keepalive = data;
  s.problem.params = {data->w, data->c};
  s.problem.n_train = n;
  s.problem.batch_size = 256;
  Data* D = data.get();
  s.problem.example_losses = [D, l2](const std::vector<int64_t>& rows) {
    const Tensor index = from_vector(rows).to(D->X.device());
    const Var margin = (matmul(Var(index_select(D->X, 0, index)), D->w) + D->c) * Var(index_select(D->y, 0, index));
    return plus_weight_decay(softplus(-margin), {D->w, D->c}, l2);
  };
  s.query = [D] { return mean(softplus(-((matmul(Var(D->Xq), D->w) + D->c) * Var(D->yq)))); };
  s.checkpoints = train(s.problem, s.problem.params, budget.pick(100, 100, 20), 0.5, 10, false);
  s.damping = 0;
  return s;
}

Setup make_mlp(uint64_t seed, const Budget& budget, Device device) {
  struct Model {
    std::shared_ptr<nn::Linear> l1, l2, l3;
    Tensor X, y, Xq, yq;
    Var forward(const Var& x) const { return l3->forward(tanh(l2->forward(tanh(l1->forward(x))))); }
  };
  auto m = std::make_shared<Model>();
  const int64_t n = budget.pick(200, 200, 40), in = 5, hidden = budget.pick(12, 12, 4), classes = 3;
  const double wd = 5e-3;
  Generator gen(seed);
  const nn::LinearOptions f64{.dtype = DType::f64};
  m->l1 = std::make_shared<nn::Linear>(in, hidden, gen, f64);
  m->l2 = std::make_shared<nn::Linear>(hidden, hidden, gen, f64);
  m->l3 = std::make_shared<nn::Linear>(hidden, classes, gen, f64);
  // Three Gaussian blobs in 5-D, overlapping enough that some examples are ambiguous.
  const Tensor centres = randn({classes, in}, gen, DType::f64) * 1.5;
  auto draw = [&](int64_t count, Tensor& X, Tensor& y) {
    y = randint(0, classes, {count}, gen);
    X = index_select(centres, 0, y) + randn({count, in}, gen, DType::f64);
  };
  draw(n, m->X, m->y);
  draw(3, m->Xq, m->yq);
  for (Tensor* t : {&m->X, &m->y, &m->Xq, &m->yq}) *t = t->to(device);
  for (const auto& layer : {m->l1, m->l2, m->l3}) layer->to(device);
  Setup s;
  s.name = "mlp";
  s.keepalive = m;
  for (const auto& layer : {m->l1, m->l2, m->l3}) {
    s.problem.params.push_back(layer->weight);
    s.problem.params.push_back(layer->bias);
    s.problem.linear_layers.push_back(layer);
  }
  s.problem.n_train = n;
  s.problem.batch_size = 256;
  Model* M = m.get();
  const std::vector<Var> params = s.problem.params;
  s.problem.example_losses = [M, params, wd](const std::vector<int64_t>& rows) {
    const Tensor index = from_vector(rows).to(M->X.device());
    const Var logits = M->forward(Var(index_select(M->X, 0, index)));
    return plus_weight_decay(cross_entropy(logits, index_select(M->y, 0, index), {.reduction = Reduction::none}),
                             params, wd);
  };
  s.problem.sampled_losses = [M](const std::vector<int64_t>& rows, Generator& g) {
    return sampled_label_losses(M->forward(Var(index_select(M->X, 0, from_vector(rows).to(M->X.device())))), g);
  };
  s.query = [M] { return cross_entropy(M->forward(Var(M->Xq)), M->yq); };
  s.checkpoints = train(s.problem, s.problem.params, budget.pick(1500, 600, 50), 0.02, budget.pick(150, 60, 10), true);
  s.damping = 1e-3;
  return s;
}

Setup make_gpt(uint64_t seed, const Budget& budget, Device device) {
  struct Model {
    std::unique_ptr<nn::GPT> gpt;
    Tensor tokens, query_tokens;  // [n, T], [q, T] i64
  };
  auto m = std::make_shared<Model>();
  nn::GPTConfig config;
  config.vocab = 12;
  config.context = 8;
  config.d_model = budget.pick(16, 8, 8);
  config.heads = 2;
  config.layers = 1;
  config.dtype = DType::f64;
  config.seed = seed;
  Generator gen(seed);
  m->gpt = std::make_unique<nn::GPT>(config, gen);
  const int64_t n = budget.pick(64, 48, 16), T = config.context, V = config.vocab;
  // A Markov chain: each token goes to one favourite successor w.p. 0.6, a
  // second w.p. 0.25, and anywhere w.p. 0.15.
  const std::vector<int64_t> first = randint(0, V, {V}, gen).to_vector<int64_t>();
  const std::vector<int64_t> second = randint(0, V, {V}, gen).to_vector<int64_t>();
  auto sequences = [&](int64_t count) {
    const std::vector<double> u = rand({count, T}, gen, DType::f64).to_vector<double>();
    const std::vector<int64_t> any = randint(0, V, {count, T}, gen).to_vector<int64_t>();
    std::vector<int64_t> out(size_t(count * T));
    for (int64_t b = 0; b < count; ++b) {
      out[size_t(b * T)] = any[size_t(b * T)];
      for (int64_t t = 1; t < T; ++t) {
        const size_t i = size_t(b * T + t);
        const int64_t prev = out[i - 1];
        out[i] = u[i] < 0.6 ? first[size_t(prev)] : u[i] < 0.85 ? second[size_t(prev)] : any[i];
      }
    }
    return from_vector(out, {count, T});
  };
  m->tokens = sequences(n).to(device);
  m->query_tokens = sequences(2).to(device);
  m->gpt->to(device);
  Setup s;
  s.name = "gpt";
  s.keepalive = m;
  nn::GPT* G = m.get()->gpt.get();
  // The influence weights: each block's MLP output projection and the head.
  // (Attention's q and k weights enter the loss through their product, whose
  // saddles keep Newton polishing from reaching a clean minimum.)
  for (const auto& block : G->blocks) s.problem.linear_layers.push_back(block->fc_out);
  s.problem.linear_layers.push_back(G->head);
  s.problem.params = linear_params(s.problem.linear_layers);  // fc_out's weight and bias, the head's weight
  s.problem.n_train = n;
  s.problem.batch_size = 64;
  const double wd = 0.1;
  const std::vector<Var> params = s.problem.params;
  // A sequence's loss: its next-token negative log-likelihoods summed.
  auto sequence_losses = [G](const Tensor& idx) {
    const int64_t len = idx.size(1);
    const Var logits = slice(G->forward(idx), 1, 0, len - 1);
    const Tensor targets = idx.slice(1, 1, len).contiguous();
    return sum(cross_entropy(logits, targets, {.reduction = Reduction::none}), {1});
  };
  Model* M = m.get();
  s.problem.example_losses = [M, params, wd, sequence_losses](const std::vector<int64_t>& rows) {
    return plus_weight_decay(sequence_losses(index_select(M->tokens, 0, from_vector(rows).to(M->tokens.device()))),
                             params, wd);
  };
  s.problem.sampled_losses = [M, G](const std::vector<int64_t>& rows, Generator& g) {
    const Tensor idx = index_select(M->tokens, 0, from_vector(rows).to(M->tokens.device()));
    return sampled_sequence_losses(*G, idx, ones(idx.shape(), DType::f32, idx.device()), g);  // every next token counts
  };
  s.query = [M, sequence_losses] { return mean(sequence_losses(M->query_tokens)); };
  // Train every parameter (weight decay on the influence weights only), then freeze the rest.
  s.checkpoints =
      train(s.problem, G->parameters(), budget.pick(1000, 600, 300), 0.03, budget.pick(100, 60, 30), true);
  std::vector<const VarImpl*> kept;
  for (const Var& p : params) kept.push_back(p.impl().get());
  for (const Var& p : G->parameters())
    if (std::find(kept.begin(), kept.end(), p.impl().get()) == kept.end()) p.requires_grad_(false);
  s.damping = 1e-3;
  return s;
}

// ---- the estimators ----

struct EstimatorSettings {
  const Setup& setup;
  Budget budget;
  uint64_t seed;
};
struct NamedEstimator {
  std::string name;
  std::function<std::unique_ptr<Estimator>(const EstimatorSettings&)> make;
};

// Every estimator the table compares, by name (--estimators picks among them);
// a new estimator is one more entry here. K-FAC and EK-FAC (kfac.h) work on
// the problem's linear_layers (set for mlp and gpt; logreg has none, so they
// are skipped there), with the true (model-sampled) Fisher and relative damping.
bool needs_linear_layers(const std::string& name) { return name.find("kfac") != std::string::npos; }

std::unique_ptr<Estimator> make_kfac(const EstimatorSettings& s, bool eigen_correction, KFACTokens tokens) {
  KFACOptions o;
  o.eigen_correction = eigen_correction;
  o.tokens = tokens;
  o.seed = s.seed;
  return std::make_unique<KFACInfluence>(o);
}

std::vector<NamedEstimator> estimator_factories() {
  return {
      {"exact",
       [](const EstimatorSettings& s) { return std::make_unique<ExactInfluence>(ExactOptions{.damping = s.setup.damping}); }},
      {"cg",
       [](const EstimatorSettings& s) {
         return std::make_unique<CGInfluence>(CGOptions{
             .damping = s.setup.damping, .max_iters = int(s.budget.pick(500, 200, 20)), .tol = 1e-8});
       }},
      {"lissa",
       [](const EstimatorSettings& s) {
         return std::make_unique<LiSSAInfluence>(LiSSAOptions{.damping = s.setup.damping,
                                                              .depth = int(s.budget.pick(1000, 300, 20)),
                                                              .repeats = 1,
                                                              .batch_size = std::max<int64_t>(1, s.setup.problem.n_train / 4),
                                                              .seed = s.seed});
       }},
      {"tracin", [](const EstimatorSettings& s) { return std::make_unique<TracInInfluence>(s.setup.checkpoints); }},
      {"datainf", [](const EstimatorSettings&) { return std::make_unique<DataInfInfluence>(DataInfOptions{}); }},
      {"kfac", [](const EstimatorSettings& s) { return make_kfac(s, false, KFACTokens::expand); }},
      {"ekfac", [](const EstimatorSettings& s) { return make_kfac(s, true, KFACTokens::expand); }},
      {"ekfac-reduce", [](const EstimatorSettings& s) { return make_kfac(s, true, KFACTokens::reduce); }},
  };
}

// ---- one problem, one seed ----

struct Row {
  double rho_exact = NAN, rho_loo = NAN, seconds = 0;
};

std::map<std::string, Row> run_problem(Setup& setup, const std::vector<NamedEstimator>& estimators,
                                       const Budget& budget, uint64_t seed, int64_t loo_examples, bool verbose) {
  auto clock = std::chrono::steady_clock::now();
  const double grad_norm = newton_polish(setup.problem, 100, 1e-11);
  if (verbose)
    std::printf("%s: P = %lld, N = %lld, trained and polished to |grad L| = %.1e (%.1fs)\n", setup.name.c_str(),
                (long long)parameter_count(setup.problem.params), (long long)setup.problem.n_train, grad_norm,
                seconds_since(clock));
  const std::vector<int64_t> rows = all_rows(setup.problem.n_train);
  std::map<std::string, Row> out;

  // The reference: exact influence, also the chord-Newton preconditioner of LOO.
  auto exact_clock = std::chrono::steady_clock::now();
  ExactInfluence exact({.damping = setup.damping});
  exact.fit(setup.problem);
  const std::vector<double> reference = exact.score(setup.query, rows).to_vector<double>();
  const double exact_seconds = seconds_since(exact_clock);

  // Leave-one-out on an evenly spread subset.
  const int64_t k = std::min(loo_examples, setup.problem.n_train);
  std::vector<int64_t> loo_rows;
  for (int64_t i = 0; i < k; ++i) loo_rows.push_back(i * setup.problem.n_train / k);
  double worst_grad = 0;
  const Retrain retrain = [&](const std::vector<int64_t>& keep) {
    Tensor g = mean_gradient(setup.problem, keep);
    double loss = mean_loss(setup.problem, keep);
    for (int it = 0; it < 30 && norm(g).item() >= 1e-10; ++it) {
      const Tensor theta = flatten(snapshot(setup.problem.params));
      const Tensor step = preconditioned_newton_step(setup.problem, keep, g, exact);
      // Backtracking: halve the step until the leave-one-out loss does not rise.
      double alpha = 1, new_loss = NAN;
      for (int halving = 0; halving < 30; ++halving, alpha /= 2) {
        set_flat(setup.problem.params, theta - step * alpha);
        new_loss = mean_loss(setup.problem, keep);
        if (new_loss <= loss) break;
      }
      loss = new_loss;
      g = mean_gradient(setup.problem, keep);
    }
    worst_grad = std::max(worst_grad, norm(g).item());
  };
  auto loo_clock = std::chrono::steady_clock::now();
  const std::vector<double> loo = leave_one_out(setup.problem, retrain, setup.query, loo_rows).to_vector<double>();
  const double loo_seconds = seconds_since(loo_clock);
  std::vector<double> reference_on_loo;
  for (int64_t r : loo_rows) reference_on_loo.push_back(reference[size_t(r)]);
  double ratio = 0;  // median of LOO / (exact / N): 1 when they agree in magnitude
  {
    std::vector<double> ratios;
    for (size_t i = 0; i < loo.size(); ++i)
      if (reference_on_loo[i] != 0) ratios.push_back(loo[i] * double(setup.problem.n_train) / reference_on_loo[i]);
    if (!ratios.empty()) {
      std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
      ratio = ratios[ratios.size() / 2];
    }
  }
  if (verbose)
    std::printf("%s: exact %.2fs; LOO on %lld examples %.2fs (|grad| <= %.1e after retraining), median LOO / "
                "(exact/N) = %.3f\n",
                setup.name.c_str(), exact_seconds, (long long)k, loo_seconds, worst_grad, ratio);
  out["loo"] = {.rho_exact = k >= 2 ? spearman(loo, reference_on_loo) : NAN, .rho_loo = 1, .seconds = loo_seconds};

  for (const NamedEstimator& named : estimators) {
    Row row;
    if (named.name == "exact") {
      row = {.rho_exact = 1, .rho_loo = k >= 2 ? spearman(reference_on_loo, loo) : NAN, .seconds = exact_seconds};
    } else if (needs_linear_layers(named.name) && setup.problem.linear_layers.empty()) {
      continue;  // no Linear layers to factor (logistic regression): shown as "-"
    } else {
      const auto start = std::chrono::steady_clock::now();
      std::unique_ptr<Estimator> estimator = named.make({setup, budget, seed});
      estimator->fit(setup.problem);
      const std::vector<double> scores = estimator->score(setup.query, rows).to_vector<double>();
      row.seconds = seconds_since(start);
      row.rho_exact = spearman(scores, reference);
      std::vector<double> on_loo;
      for (int64_t r : loo_rows) on_loo.push_back(scores[size_t(r)]);
      row.rho_loo = k >= 2 ? spearman(on_loo, loo) : NAN;
    }
    out[named.name] = row;
  }
  if (verbose) std::printf("%s: done in %.1fs\n", setup.name.c_str(), seconds_since(clock));
  return out;
}

struct Args {
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t seeds = 1;
  int64_t loo_examples = 60;
  std::string problems = "logreg,mlp,gpt";
  std::string estimators = "exact,cg,lissa,tracin,datainf,kfac,ekfac,ekfac-reduce";
  std::string jsonl;
  bool quick = false;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("influence",
          "Influence estimators against exact influence and leave-one-out retraining: Spearman's rho and seconds, on "
          "logistic regression, a tanh MLP and a tiny GPT.");
  Args args;
  cli.bind(args.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(args.seed, "--seed", "first seed (data, model, minibatches)", {0, INT64_MAX});
  cli.bind(args.seeds, "--seeds", "seeds to repeat over (seed, seed+1, ...); the table shows mean rho", {1, 1000});
  cli.bind(args.loo_examples, "--loo-examples", "training examples retrained without (quick: 30, smoke: 5)",
           {2, 1 << 20});
  cli.bind(args.problems, "--problems", "problems to run (logreg, mlp, gpt)");
  cli.bind(args.estimators, "--estimators",
           "estimators to compare (exact, cg, lissa, tracin, datainf, kfac, ekfac, ekfac-reduce)");
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.quick, "--quick", "smaller models, fewer training steps and LOO examples (tens of seconds)");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run to check that the binary works (a few seconds)");
  Device device = Device::cpu;
  cli.bind(device, "--device", "where the models train and the estimators compute (cpu, cuda, ref)");
  cli.parse(argc, argv);
  try {
    set_num_threads(int(args.threads));
    const Budget budget{.smoke = args.smoke, .quick = args.quick};
    args.loo_examples =
        cli.budget_default<int64_t>(args.smoke || args.quick, "--loo-examples", args.loo_examples, args.smoke ? 5 : 30);

    std::vector<NamedEstimator> chosen;
    const std::vector<NamedEstimator> all = estimator_factories();
    for (const std::string& name : split_list(args.estimators)) {
      const auto it = std::find_if(all.begin(), all.end(), [&](const NamedEstimator& e) { return e.name == name; });
      GL_CHECK(it != all.end(), "--estimators: unknown estimator '{}' (known: exact, cg, lissa, tracin, datainf, kfac, ekfac, "
               "ekfac-reduce)",
               name);
      chosen.push_back(*it);
    }
    const std::map<std::string, std::function<Setup(uint64_t, const Budget&, Device)>> makers = {
        {"logreg", make_logreg}, {"mlp", make_mlp}, {"gpt", make_gpt}};
    std::vector<std::string> problems = split_list(args.problems);
    for (const std::string& p : problems)
      GL_CHECK(makers.count(p), "--problems: unknown problem '{}' (known: logreg, mlp, gpt)", p);

    std::printf("influence: problems %s, estimators %s, %lld seed(s) from %lld, %lld LOO examples, %lld "
                "thread(s)%s%s\n",
                args.problems.c_str(), args.estimators.c_str(), (long long)args.seeds, (long long)args.seed,
                (long long)args.loo_examples, (long long)args.threads,
                args.smoke   ? ", smoke"
                : args.quick ? ", quick"
                             : "",
                device == Device::cpu ? "" : fmt::format(", on {}", device_name(device)).c_str());
    Jsonl out(args.jsonl);
    Table table({"problem", "estimator", "rho vs exact", "rho vs LOO", "seconds"});
    for (const std::string& problem : problems) {
      std::map<std::string, std::vector<Row>> per_seed;
      for (int64_t s = 0; s < args.seeds; ++s) {
        Setup setup = makers.at(problem)(uint64_t(args.seed + s), budget, device);
        for (const auto& [name, row] :
             run_problem(setup, chosen, budget, uint64_t(args.seed + s), args.loo_examples, true))
          per_seed[name].push_back(row);
      }
      std::vector<std::string> names = {"loo"};
      for (const NamedEstimator& e : chosen) names.push_back(e.name);
      for (const std::string& name : names) {
        if (!per_seed.count(name)) {  // not applicable to this problem (K-FAC without Linear layers)
          table.row({problem, name, "-", "-", "-"});
          continue;
        }
        const std::vector<Row>& rows = per_seed.at(name);
        Row mean_row{.rho_exact = 0, .rho_loo = 0, .seconds = 0};
        for (const Row& r : rows) {
          mean_row.rho_exact += r.rho_exact / double(rows.size());
          mean_row.rho_loo += r.rho_loo / double(rows.size());
          mean_row.seconds += r.seconds / double(rows.size());
        }
        const std::string label = name == "loo" ? "leave-one-out" : name;
        table.row({problem, label, fmt::format("{:.3f}", mean_row.rho_exact),
                   name == "loo" ? "-" : fmt::format("{:.3f}", mean_row.rho_loo), fmt::format("{:.3f}", mean_row.seconds)});
        for (const auto& [metric, value, unit] :
             {std::tuple<std::string, double, std::string>{"spearman_vs_exact", mean_row.rho_exact, "rho"},
              {"spearman_vs_loo", mean_row.rho_loo, "rho"},
              {"seconds", mean_row.seconds, "s"}}) {
          if (name == "loo" && metric == "spearman_vs_loo") continue;
          Jsonl::Record rec{.bench = "influence",
                            .case_name = name + "/" + problem,
                            .metric = metric,
                            .value = value,
                            .unit = unit,
                            .threads = int(args.threads)};
          rec.extra["seeds"] = std::to_string(args.seeds);
          rec.extra["seed"] = std::to_string(args.seed);
          rec.extra["loo_examples"] = std::to_string(args.loo_examples);
          rec.extra["budget"] = args.smoke ? "smoke" : args.quick ? "quick" : "full";
          if (device != Device::cpu) rec.extra["device"] = std::string(device_name(device));
          out.write(rec);
        }
      }
    }
    std::fputs(table.str().c_str(), stdout);
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (bad_alloc)
    std::fprintf(stderr, "influence: %s\n", e.what());
    return 1;
  }
  return 0;
}
