// LANCET's two phases: the corpus as an influence problem and the recall of
// the training data behind an undesired output, then the influence-weighted
// correction (IBO); see lancet.h for the equations.
#include "algorithms/alignment/lancet.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "algorithms/influence/fisher_targets.h"
#include "envs/preference/datasets.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/error.h"

namespace gradlab::alignment {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

SequenceBatch batch_of(const std::vector<Sequence>& data, const std::vector<int64_t>& rows, Device device) {
  std::vector<Tokens> prompts, responses;
  prompts.reserve(rows.size());
  responses.reserve(rows.size());
  for (int64_t r : rows) {
    prompts.push_back(data[size_t(r)].prompt);
    responses.push_back(data[size_t(r)].response);
  }
  return make_batch(prompts, responses, device);
}

SequenceBatch batch_of(const std::vector<Sequence>& data, Device device) {
  std::vector<int64_t> rows(data.size());
  std::iota(rows.begin(), rows.end(), 0);
  return batch_of(data, rows, device);
}

// The response mask shifted onto the predicted positions 1..T-1: [B, T - 1].
Tensor predicted_mask(const SequenceBatch& b) {
  return b.response_mask.slice(1, 1, b.tokens.size(1)).contiguous();
}

}  // namespace

// ---- phase 1 ----

Var sequence_nll(const nn::GPT& model, const SequenceBatch& batch) {
  return -model.sequence_logprob(batch.tokens, batch.response_mask).sum;
}

influence::Problem gpt_influence_problem(const nn::GPT& model, const std::vector<Sequence>& corpus,
                                         const std::vector<std::shared_ptr<nn::Linear>>& layers,
                                         int64_t batch_size) {
  GL_CHECK(!corpus.empty() && !layers.empty() && batch_size >= 1,
           "lancet::gpt_influence_problem: {} sequences, {} layers, batch_size {}", corpus.size(), layers.size(),
           batch_size);
  influence::Problem p;
  for (const auto& layer : layers) {
    GL_CHECK(layer != nullptr, "lancet::gpt_influence_problem: a null layer");
    p.params.push_back(layer->weight);
    if (layer->bias.defined()) p.params.push_back(layer->bias);
  }
  p.n_train = int64_t(corpus.size());
  p.linear_layers = layers;
  p.batch_size = batch_size;
  const nn::GPT* m = &model;
  // The problem keeps its own copy of the corpus (a few kB per thousand sequences).
  const auto data = std::make_shared<const std::vector<Sequence>>(corpus);
  p.example_losses = [m, data](const std::vector<int64_t>& rows) { return sequence_nll(*m, batch_of(*data, rows, m->device())); };
  p.sampled_losses = [m, data](const std::vector<int64_t>& rows, Generator& gen) {
    const SequenceBatch b = batch_of(*data, rows, m->device());
    return influence::sampled_sequence_losses(*m, b.tokens, b.response_mask, gen);
  };
  return p;
}

influence::QueryLoss undesired_output_query(const nn::GPT& model, const std::vector<Tokens>& prompts,
                                            const std::vector<Tokens>& responses) {
  GL_CHECK(!prompts.empty() && prompts.size() == responses.size(),
           "lancet::undesired_output_query: {} prompts and {} responses (need at least one undesired output)",
           prompts.size(), responses.size());
  const SequenceBatch b = make_batch(prompts, responses, model.device());
  const nn::GPT* m = &model;
  return [m, b] { return mean(sequence_nll(*m, b)); };
}

std::vector<int64_t> Recall::top(int64_t k) const {
  GL_CHECK(k >= 0 && k <= int64_t(ranking.size()), "lancet::Recall::top: k = {} of {} ranked sequences", k,
           ranking.size());
  return {ranking.begin(), ranking.begin() + k};
}

Recall recall_training_data(influence::Estimator& estimator, const influence::Problem& problem,
                            const influence::QueryLoss& query) {
  Recall r;
  auto t0 = Clock::now();
  estimator.fit(problem);
  r.fit_seconds = seconds_since(t0);
  std::vector<int64_t> all(size_t(problem.n_train));
  std::iota(all.begin(), all.end(), 0);
  t0 = Clock::now();
  r.scores = estimator.score(query, all).to(DType::f64).to_vector<double>();
  r.score_seconds = seconds_since(t0);
  GL_CHECK(int64_t(r.scores.size()) == problem.n_train, "lancet::recall_training_data: {} returned {} scores for {}",
           estimator.name(), r.scores.size(), problem.n_train);
  r.ranking = all;
  // Highest score first; ties by index, so the ranking is deterministic.
  std::stable_sort(r.ranking.begin(), r.ranking.end(),
                   [&](int64_t a, int64_t b) { return r.scores[size_t(a)] > r.scores[size_t(b)]; });
  return r;
}

// ---- phase 2 ----

const char* influence_weighting_name(InfluenceWeighting w) {
  switch (w) {
    case InfluenceWeighting::softmax: return "softmax";
    case InfluenceWeighting::rank: return "rank";
    case InfluenceWeighting::uniform: return "uniform";
  }
  return "?";
}

InfluenceWeighting influence_weighting_from_name(const std::string& name) {
  for (InfluenceWeighting w : {InfluenceWeighting::softmax, InfluenceWeighting::rank, InfluenceWeighting::uniform})
    if (name == influence_weighting_name(w)) return w;
  throw Error(fmt::format("lancet: unknown influence weighting '{}' (softmax, rank or uniform)", name));
}

std::vector<double> influence_weights(const std::vector<double>& scores, InfluenceWeighting weighting,
                                      double temperature) {
  const size_t k = scores.size();
  GL_CHECK(k > 0, "lancet::influence_weights: no recalled scores");
  GL_CHECK(temperature > 0 && std::isfinite(temperature), "lancet::influence_weights: temperature {} must be > 0",
           temperature);
  for (double s : scores) GL_CHECK(std::isfinite(s), "lancet::influence_weights: a score is {}", s);
  std::vector<double> w(k);
  switch (weighting) {
    case InfluenceWeighting::uniform: std::fill(w.begin(), w.end(), 1.0); break;
    case InfluenceWeighting::rank: {
      // Scores come in recall order; rank by value all the same, so any order works.
      std::vector<size_t> order(k);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
      for (size_t r = 0; r < k; ++r) w[order[r]] = double(k - r);
      break;
    }
    case InfluenceWeighting::softmax: {
      // Scores have arbitrary units (H^-1 scales them), so standardise by their
      // spread first: tau is then in standard deviations.
      const double mu = std::accumulate(scores.begin(), scores.end(), 0.0) / double(k);
      double var = 0;
      for (double s : scores) var += (s - mu) * (s - mu);
      const double sd = std::sqrt(var / double(k));
      const double top = *std::max_element(scores.begin(), scores.end());
      for (size_t i = 0; i < k; ++i) w[i] = sd > 0 ? std::exp((scores[i] - top) / (sd * temperature)) : 1.0;
      break;
    }
  }
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& x : w) x /= total;
  return w;
}

CorrectionLoss::Values CorrectionLoss::read() const {
  std::vector<Tensor> parts;
  for (const Tensor& t : {kl, unlearn_nll, l2})
    parts.push_back(t.defined() ? t.reshape({1}).to(DType::f64) : zeros({1}, DType::f64, total.value().device()));
  const std::vector<double> v = concat(parts).to_vector<double>();
  return {.kl = v[0], .unlearn_nll = v[1], .l2 = v[2]};
}

CorrectionLoss ibo_loss(const nn::GPT& model, const nn::GPT& start, const SequenceBatch& retained,
                        const SequenceBatch& recalled, const Tensor& weights, const CorrectionConfig& c) {
  GL_CHECK(weights.defined() && weights.dim() == 1 && weights.size(0) == recalled.size(),
           "lancet::ibo_loss: weights {} for {} recalled sequences", weights.defined() ? weights.shape() : Shape{},
           recalled.size());
  CorrectionLoss out;
  // The unlearning term: sum_m w_m l(theta, z_m), l the per-token mean NLL.
  const Var nll = -model.sequence_logprob(recalled.tokens, recalled.response_mask).mean;  // [k]
  const Var unlearn = sum(nll * Var(weights.to(nll.dtype())));
  out.unlearn_nll = unlearn.value();
  Var total = -(c.unlearn_weight * unlearn);
  if (c.kl_weight > 0) {
    GL_CHECK(retained.size() > 0, "lancet::ibo_loss: kl_weight {} needs retained data", c.kl_weight);
    // KL(pi_start || pi_theta) per response token, averaged over those tokens.
    const int64_t T = retained.tokens.size(1);
    Tensor p_start, entropy_start;
    {
      NoGradGuard no_grad;
      const Tensor logp = log_softmax(slice(start.forward(retained.tokens), 1, 0, T - 1).value(), 2);
      p_start = exp(logp);
      entropy_start = sum(mul(p_start, logp), {2});  // sum_v p log p: [B, T - 1]
    }
    const Var logq = log_softmax(slice(model.forward(retained.tokens), 1, 0, T - 1), 2);
    const Var kl_tok = Var(entropy_start) - sum(Var(p_start) * logq, {2});  // [B, T - 1]
    const Tensor mask = predicted_mask(retained).to(kl_tok.dtype());
    // 1 / max(1, tokens), in f64 as a host number would be, then in the loss's dtype.
    const Tensor inv_tokens =
        div(ones({}, DType::f64, mask.device()), maximum(sum(mask).to(DType::f64), 1.0)).to(kl_tok.dtype());
    const Var kl = sum(kl_tok * Var(mask)) * Var(inv_tokens);
    out.kl = kl.value();
    total = total + c.kl_weight * kl;
  }
  if (c.l2_weight > 0) {
    const std::vector<Var> then = start.parameters();
    const std::vector<Var> all_now = model.parameters();
    GL_CHECK(all_now.size() == then.size(), "lancet::ibo_loss: the starting model has {} parameters, the model {}",
             then.size(), all_now.size());
    Var l2;
    for (size_t i = 0; i < all_now.size(); ++i) {
      if (!all_now[i].requires_grad()) continue;
      const Var d = sum(square(all_now[i] - Var(then[i].value())));
      l2 = l2.defined() ? l2 + d : d;
    }
    if (l2.defined()) {
      out.l2 = l2.value();
      total = total + 0.5 * c.l2_weight * l2;
    }
  }
  out.total = total;
  return out;
}

void train_correction(nn::GPT& model, const std::vector<Sequence>& retained, const std::vector<Sequence>& recalled,
                      const std::vector<double>& weights, const CorrectionConfig& c, Generator& gen,
                      const AfterStep& after_step) {
  GL_CHECK(!recalled.empty() && recalled.size() == weights.size(),
           "lancet::train_correction: {} recalled sequences and {} weights", recalled.size(), weights.size());
  GL_CHECK(c.kl_weight == 0 || !retained.empty(), "lancet::train_correction: kl_weight {} needs retained data",
           c.kl_weight);
  GL_CHECK(c.steps >= 0 && c.batch_size >= 1 && c.lr > 0 && c.unlearn_weight >= 0 && c.kl_weight >= 0 &&
               c.l2_weight >= 0,
           "lancet::train_correction: steps {}, batch_size {}, lr {}, weights unlearn {} kl {} l2 {}", c.steps,
           c.batch_size, c.lr, c.unlearn_weight, c.kl_weight, c.l2_weight);
  const std::shared_ptr<nn::GPT> start = clone_gpt(model);
  start->eval();
  const SequenceBatch recalled_batch = batch_of(recalled, model.device());
  const Tensor w = from_vector(weights, {int64_t(weights.size())}).to(model.device());
  optim::AdamW opt(model.trainable_parameters(), {.lr = c.lr, .weight_decay = 0.0});
  constexpr int64_t kStepsPerRead = 32;  // on a device, the finite checks are read this often
  optim::StepTally tally("LANCET correction", model.device());
  for (int64_t step = 0; step < c.steps; ++step) {
    SequenceBatch retained_batch;
    if (c.kl_weight > 0) {
      std::vector<int64_t> rows(size_t(c.batch_size));
      for (int64_t& r : rows) r = envs::preference::uniform_int(int64_t(retained.size()), gen);
      retained_batch = batch_of(retained, rows, model.device());
    }
    const CorrectionLoss loss = ibo_loss(model, *start, retained_batch, recalled_batch, w, c);
    tally.check_finite(loss.total, step);
    opt.zero_grad();
    loss.total.backward();
    if (c.max_grad_norm > 0) optim::clip_grad_norm_async(opt.params(), c.max_grad_norm);
    opt.step();
    if ((step + 1) % kStepsPerRead == 0 || step + 1 == c.steps) tally.read();
    if (after_step) after_step(step + 1);
  }
}

// ---- evaluation ----

double forbidden_rate(const nn::GPT& model, const std::vector<Tokens>& prompts, const Tokens& bigram,
                      int64_t response_len, Generator& gen) {
  GL_CHECK(!prompts.empty(), "lancet::forbidden_rate: no prompts");
  const std::vector<Tokens> ys = sample_responses(model, prompts, response_len, gen);
  int64_t hits = 0;
  for (const Tokens& y : ys) hits += envs::preference::contains_bigram(y, bigram) ? 1 : 0;
  return double(hits) / double(ys.size());
}

double perplexity(const nn::GPT& model, const std::vector<Sequence>& data) {
  GL_CHECK(!data.empty(), "lancet::perplexity: no sequences");
  NoGradGuard no_grad;
  double nll = 0, tokens = 0;
  for (size_t s = 0; s < data.size(); s += 256) {
    std::vector<int64_t> rows;
    for (size_t i = s; i < std::min(data.size(), s + 256); ++i) rows.push_back(int64_t(i));
    const SequenceBatch b = batch_of(data, rows, model.device());
    nll += sum(sequence_nll(model, b).value()).item();
    tokens += sum(predicted_mask(b)).item();
  }
  return std::exp(nll / std::max(1.0, tokens));
}

}  // namespace gradlab::alignment
