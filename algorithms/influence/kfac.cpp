// K-FAC / EK-FAC influence (equations in kfac.h). Per batch of rows and per
// layer, from the captured a' [B, T, in'] and D [B, T, out]:
//   expand: A += sum_tokens a' a'^T,      S += sum_tokens D D^T
//   reduce: A += sum_n a_n a_n^T,         S += sum_n D_n D_n^T
//           (a_n = mean_t a'_t, D_n = sum_t D_t)
// in the activations' dtype per batch, summed across batches in f64; then
// A /= (rows of a accumulated), S /= N. EK-FAC's second pass rotates before
// forming per-example gradients, Q_S^T G_m Q_A = sum_t (Q_S^T D_t)(Q_A^T a'_t)^T,
// so one batched matmul (per_example_linear_grads) on the rotated tokens gives
// every example's projection. Scoring needs no per-example gradient either:
//   <P, G_m> = sum_t D_t^T P a'_t = sum over (t, out) of ((a' P^T) .* D).
// Devices: the factors accumulate, the projections and the scores are
// computed on the problem's device; eigh() is host code, so each factor A, S
// crosses to the host once and its eigenvalues and eigenvectors come back
// (one crossing each); the host also reads each layer's mean eigenvalue
// (relative damping) at fit(), and the k scores once per query.
#include "algorithms/influence/kfac.h"

#include <unordered_set>

#include "algorithms/influence/linear_capture.h"
#include "autograd/ops.h"

namespace gradlab::influence {

namespace {

// Puts the params' gradients back as they were when it was made (the passes'
// backward calls accumulate into them).
class GradKeeper {
 public:
  explicit GradKeeper(const std::vector<Var>& params) : params_(params) {
    for (const Var& p : params_) saved_.push_back(p.grad());
  }
  ~GradKeeper() {
    for (size_t i = 0; i < params_.size(); ++i) {
      if (saved_[i].defined())
        params_[i].set_grad(saved_[i]);
      else
        params_[i].zero_grad();
    }
  }
  GradKeeper(const GradKeeper&) = delete;
  GradKeeper& operator=(const GradKeeper&) = delete;

 private:
  std::vector<Var> params_;
  std::vector<Tensor> saved_;
};

int64_t augmented_inputs(const nn::Linear& layer) { return layer.in_features() + (layer.bias.defined() ? 1 : 0); }

// Calls fn(rows, start) on consecutive chunks of at most batch_size rows.
template <class Fn>
void for_each_batch(const std::vector<int64_t>& rows, int64_t batch_size, Fn&& fn) {
  for (size_t start = 0; start < rows.size(); start += size_t(batch_size)) {
    const size_t end = std::min(rows.size(), start + size_t(batch_size));
    fn(std::vector<int64_t>(rows.begin() + long(start), rows.begin() + long(end)), int64_t(start));
  }
}

std::vector<int64_t> all_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = i;
  return rows;
}

// Backward of the sum of the rows' losses (sampled or empirical), so that the
// gradient captured at row i is that of example i's own loss.
void backward_losses(const Problem& problem, const std::vector<int64_t>& rows, bool sampled, Generator& gen,
                     const char* op) {
  const Var losses = sampled ? problem.sampled_losses(rows, gen) : problem.example_losses(rows);
  const char* which = sampled ? "sampled_losses" : "example_losses";
  GL_CHECK(losses.defined() && losses.dim() == 1 && losses.size(0) == int64_t(rows.size()),
           "{}: {} of {} rows should be [{}], got {}", op, which, rows.size(), rows.size(),
           losses.defined() ? losses.shape() : Shape{});
  GL_CHECK(losses.requires_grad(), "{}: {} do not depend on the parameters (no gradient)", op, which);
  sum(losses).backward();
}

// The captured input a' and output gradient D of one call as [B, T, in'] and
// [B, T, out] (D undefined when the loss did not reach the layer).
struct Tokens {
  Tensor a, D;
};
Tokens call_tokens(const LinearCapture::Call& call, const nn::Linear& layer, size_t index, int64_t rows,
                   const char* op) {
  Tokens t{as_tokens(call.input, layer.bias.defined(), op), Tensor()};
  GL_CHECK(t.a.size(0) == rows,
           "{}: layer {} saw an input of shape {} for a batch of {} rows; its first axis must be the examples'", op,
           index, call.input.shape(), rows);
  if (call.grad_output.defined()) t.D = as_tokens(call.grad_output, false, op);
  return t;
}

// x^T x in x's dtype, returned in f64.
Tensor gram(const Tensor& x) { return matmul(x.mT(), x).to(DType::f64); }

void check_kfac_problem(const Problem& problem, const KFACOptions& options, const char* op) {
  GL_CHECK(!problem.linear_layers.empty(), "{}: the problem has no linear_layers (K-FAC works on Linear layers)", op);
  GL_CHECK(options.fisher != KFACFisher::sampled || problem.sampled_losses != nullptr,
           "{}: the sampled Fisher needs Problem::sampled_losses (or use fisher = empirical)", op);
  for (size_t l = 0; l < problem.linear_layers.size(); ++l) {
    const auto& layer = problem.linear_layers[l];
    GL_CHECK(layer != nullptr, "{}: linear_layers[{}] is null", op, l);
    GL_CHECK(!layer->has_low_rank_adapter(),
             "{}: linear_layers[{}] has a low-rank adapter; K-FAC here covers plain Linear layers only", op, l);
  }
  check_problem(problem, op);
  const std::vector<Var> expected = linear_params(problem.linear_layers);
  std::unordered_set<const VarImpl*> wanted;
  for (const Var& p : expected) wanted.insert(p.impl().get());
  std::unordered_set<const VarImpl*> seen;
  for (size_t i = 0; i < problem.params.size(); ++i) {
    const VarImpl* p = problem.params[i].impl().get();
    GL_CHECK(wanted.count(p) == 1,
             "{}: params[{}] (shape {}) is not the weight or bias of any of the {} linear_layers; params must be "
             "exactly the layers' weights and biases",
             op, i, problem.params[i].shape(), problem.linear_layers.size());
    GL_CHECK(seen.insert(p).second, "{}: params[{}] appears twice", op, i);
  }
  GL_CHECK(seen.size() == wanted.size(),
           "{}: params holds {} tensors but the linear_layers have {} weights and biases; params must be exactly "
           "those",
           op, problem.params.size(), wanted.size());
}

}  // namespace

KFACInfluence::KFACInfluence(KFACOptions options) : options_(std::move(options)) {
  GL_CHECK(options_.damping > 0, "KFACInfluence: damping must be positive, got {}", options_.damping);
}

std::string KFACInfluence::name() const {
  if (!options_.name.empty()) return options_.name;
  std::string n = options_.eigen_correction ? "ekfac" : "kfac";
  if (options_.tokens == KFACTokens::reduce) n += "-reduce";
  return n;
}

void KFACInfluence::check_fitted(const char* op) const { GL_CHECK(fitted_, "{}: call fit() first", op); }

const std::vector<KFACLayerFactors>& KFACInfluence::factors() const {
  check_fitted("KFACInfluence::factors");
  return factors_;
}

void KFACInfluence::fit(const Problem& problem) {
  const char* op = "KFACInfluence::fit";
  check_kfac_problem(problem, options_, op);
  fitted_ = false;
  factors_.clear();
  problem_ = problem;
  const auto& layers = problem.linear_layers;
  const size_t L = layers.size();
  const bool sampled = options_.fisher == KFACFisher::sampled;
  const bool expand = options_.tokens == KFACTokens::expand;
  const std::vector<int64_t> rows = all_rows(problem.n_train);
  const double N = double(problem.n_train);
  const Device device = problem_device(problem);

  std::vector<Tensor> A_sum(L), S_sum(L);
  std::vector<double> a_rows(L, 0.0);
  for (size_t l = 0; l < L; ++l) {
    A_sum[l] = zeros({augmented_inputs(*layers[l]), augmented_inputs(*layers[l])}, DType::f64, device);
    S_sum[l] = zeros({layers[l]->out_features(), layers[l]->out_features()}, DType::f64, device);
  }
  {
    GradKeeper keep(problem.params);
    LinearCapture capture(layers);
    Generator gen(options_.seed);
    for_each_batch(rows, problem.batch_size, [&](const std::vector<int64_t>& batch, int64_t) {
      capture.clear();
      backward_losses(problem, batch, sampled, gen, op);
      for (size_t l = 0; l < L; ++l)
        for (const LinearCapture::Call& call : capture.calls(l)) {
          const Tokens t = call_tokens(call, *layers[l], l, int64_t(batch.size()), op);
          if (expand) {
            const Tensor a = t.a.reshape({-1, t.a.size(2)});
            A_sum[l] = A_sum[l] + gram(a);
            a_rows[l] += double(a.size(0));
            if (t.D.defined()) S_sum[l] = S_sum[l] + gram(t.D.reshape({-1, t.D.size(2)}));
          } else {
            A_sum[l] = A_sum[l] + gram(mean(t.a, {1}));
            a_rows[l] += double(t.a.size(0));
            if (t.D.defined()) S_sum[l] = S_sum[l] + gram(sum(t.D, {1}));
          }
        }
    });
  }

  factors_.resize(L);
  for (size_t l = 0; l < L; ++l) {
    GL_CHECK(a_rows[l] > 0, "{}: linear_layers[{}] was never called by the losses", op, l);
    KFACLayerFactors& f = factors_[l];
    f.A = A_sum[l] / a_rows[l];
    f.S = S_sum[l] / N;
    const Eigh ea = eigh(f.A), es = eigh(f.S);  // on the host; the results come back to f.A's device
    f.QA = ea.eigenvectors, f.QS = es.eigenvectors;
    f.lambda_A = maximum(ea.eigenvalues, 0.0), f.lambda_S = maximum(es.eigenvalues, 0.0);
    f.eigenvalues = matmul(f.lambda_S.unsqueeze(1), f.lambda_A.unsqueeze(0));  // [out, in']
  }

  if (options_.eigen_correction) {
    // Lambda^T [in', out] summed over examples, then divided by N.
    std::vector<Tensor> corrected(L);
    std::vector<Tensor> QA_cast(L), QS_cast(L);
    for (size_t l = 0; l < L; ++l)
      corrected[l] = zeros({augmented_inputs(*layers[l]), layers[l]->out_features()}, DType::f64, device);
    GradKeeper keep(problem.params);
    LinearCapture capture(layers);
    Generator gen(options_.seed);  // the same draws as the first pass
    for_each_batch(rows, problem.batch_size, [&](const std::vector<int64_t>& batch, int64_t) {
      capture.clear();
      backward_losses(problem, batch, sampled, gen, op);
      for (size_t l = 0; l < L; ++l) {
        Tensor projected;  // [B, in', out]: (Q_S^T G_m Q_A)^T per example
        for (const LinearCapture::Call& call : capture.calls(l)) {
          const Tokens t = call_tokens(call, *layers[l], l, int64_t(batch.size()), op);
          if (!t.D.defined()) continue;
          if (!QA_cast[l].defined() || QA_cast[l].dtype() != t.a.dtype()) {
            QA_cast[l] = factors_[l].QA.to(t.a.dtype());
            QS_cast[l] = factors_[l].QS.to(t.D.dtype());
          }
          const Tensor p = per_example_linear_grads(matmul(t.a, QA_cast[l]), matmul(t.D, QS_cast[l]));
          projected = projected.defined() ? projected + p : p;
        }
        if (projected.defined()) corrected[l] = corrected[l] + sum(square(projected), {0}).to(DType::f64);
      }
    });
    for (size_t l = 0; l < L; ++l) factors_[l].eigenvalues = (corrected[l] / N).mT().contiguous();
  }

  for (size_t l = 0; l < L; ++l) {
    KFACLayerFactors& f = factors_[l];
    if (options_.damping_kind == KFACDamping::absolute) {
      f.damping = options_.damping;
    } else {
      const double mean_eigenvalue = mean(f.eigenvalues).item();
      GL_CHECK(mean_eigenvalue > 0,
               "{}: linear_layers[{}] has zero curvature (no loss gradient reached its output), so relative damping "
               "is zero; use absolute damping",
               op, l);
      f.damping = options_.damping * mean_eigenvalue;
    }
  }
  fitted_ = true;
}

std::vector<Tensor> KFACInfluence::layer_gradients(const QueryLoss& loss) const {
  const char* op = "KFACInfluence::layer_gradients";
  check_fitted(op);
  GL_CHECK(loss != nullptr, "{}: the loss function is empty", op);
  const auto& layers = problem_.linear_layers;
  std::vector<Tensor> grads;
  for (const auto& layer : layers)
    grads.push_back(zeros({layer->out_features(), augmented_inputs(*layer)}, DType::f64, problem_device(problem_)));
  GradKeeper keep(problem_.params);
  LinearCapture capture(layers);
  const Var value = loss();
  GL_CHECK(value.defined() && value.numel() == 1, "{}: the loss should have one element, got shape {}", op,
           value.defined() ? value.shape() : Shape{});
  GL_CHECK(value.requires_grad(), "{}: the loss does not depend on the parameters (no gradient)", op);
  value.backward();
  for (size_t l = 0; l < layers.size(); ++l)
    for (const LinearCapture::Call& call : capture.calls(l)) {
      if (!call.grad_output.defined()) continue;
      const Tensor a = as_tokens(call.input, layers[l]->bias.defined(), op);
      const Tensor D = as_tokens(call.grad_output, false, op);
      grads[l] =
          grads[l] + matmul(D.reshape({-1, D.size(2)}).to(DType::f64).mT(), a.reshape({-1, a.size(2)}).to(DType::f64));
    }
  return grads;
}

std::vector<Tensor> KFACInfluence::precondition(const std::vector<Tensor>& layer_grads) const {
  const char* op = "KFACInfluence::precondition";
  check_fitted(op);
  GL_CHECK(layer_grads.size() == factors_.size(), "{}: got {} gradients for {} layers", op, layer_grads.size(),
           factors_.size());
  std::vector<Tensor> out;
  for (size_t l = 0; l < factors_.size(); ++l) {
    const KFACLayerFactors& f = factors_[l];
    const Tensor& G = layer_grads[l];
    GL_CHECK(G.defined() && G.shape() == f.eigenvalues.shape(),
             "{}: the gradient of layer {} should be [out, in'] = {}, got {}", op, l, f.eigenvalues.shape(),
             G.defined() ? G.shape() : Shape{});
    const Tensor rotated = matmul(matmul(f.QS.mT(), G.to(f.QS.device()).to(DType::f64)), f.QA);
    const Tensor scaled = rotated / (f.eigenvalues + f.damping);
    out.push_back(matmul(matmul(f.QS, scaled), f.QA.mT()));
  }
  return out;
}

Tensor KFACInfluence::score(const QueryLoss& query, const std::vector<int64_t>& train_examples) {
  const char* op = "KFACInfluence::score";
  check_fitted(op);
  check_rows(problem_, train_examples, op);
  const auto& layers = problem_.linear_layers;
  const std::vector<Tensor> preconditioned = precondition(layer_gradients(query));
  std::vector<Tensor> cast(layers.size());  // preconditioned gradients in the activations' dtype
  Tensor scores = zeros({int64_t(train_examples.size())}, DType::f64, problem_device(problem_));
  GradKeeper keep(problem_.params);
  LinearCapture capture(layers);
  Generator unused(0);
  for_each_batch(train_examples, problem_.batch_size, [&](const std::vector<int64_t>& batch, int64_t start) {
    capture.clear();
    backward_losses(problem_, batch, false, unused, op);
    Tensor batch_scores = zeros({int64_t(batch.size())}, DType::f64, problem_device(problem_));
    for (size_t l = 0; l < layers.size(); ++l)
      for (const LinearCapture::Call& call : capture.calls(l)) {
        const Tokens t = call_tokens(call, *layers[l], l, int64_t(batch.size()), op);
        if (!t.D.defined()) continue;
        if (!cast[l].defined() || cast[l].dtype() != t.a.dtype()) cast[l] = preconditioned[l].to(t.a.dtype());
        const Tensor contracted = matmul(t.a, cast[l].mT()) * t.D;  // [B, T, out]: (P a'_t) .* D_t
        batch_scores = batch_scores + sum(contracted, {1, 2}).to(DType::f64);
      }
    scores.narrow(0, start, int64_t(batch.size())).copy_(batch_scores);
  });
  return scores.to(Device::cpu);
}

std::vector<std::shared_ptr<nn::Linear>> linfac_layers(const nn::GPT& model) {
  std::vector<std::shared_ptr<nn::Linear>> layers;
  for (const auto& block : model.blocks) {
    layers.push_back(block->attn->qkv);
    layers.push_back(block->attn->proj);
    layers.push_back(block->fc);
    layers.push_back(block->fc_out);
  }
  GL_CHECK(!layers.empty(), "linfac_layers: the GPT has no blocks");
  return layers;
}

std::vector<Var> linear_params(const std::vector<std::shared_ptr<nn::Linear>>& layers) {
  std::vector<Var> params;
  for (size_t l = 0; l < layers.size(); ++l) {
    GL_CHECK(layers[l] != nullptr, "linear_params: layer {} is null", l);
    params.push_back(layers[l]->weight);
    if (layers[l]->bias.defined()) params.push_back(layers[l]->bias);
  }
  return params;
}

std::unique_ptr<KFACInfluence> make_linfac(KFACTokens tokens, KFACOptions base) {
  base.eigen_correction = true;
  base.tokens = tokens;
  base.name = tokens == KFACTokens::expand ? "linfac-expand" : "linfac-reduce";
  return std::make_unique<KFACInfluence>(std::move(base));
}

}  // namespace gradlab::influence
