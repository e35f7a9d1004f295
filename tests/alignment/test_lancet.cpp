// LANCET's pieces: the influence weights on hand-worked scores; the IBO loss
// on a hand-worked case (at the starting model the KL and L2 terms vanish and
// the loss is minus the weighted recalled NLL), its KL term against a direct
// computation from the logits, and its gradient against central differences
// in f64; the sequence NLLs and the problem built on them; the recall ranking from a stand-in estimator;
// gradient ascent raising the recalled sequences' NLL; and the errors.
#include <doctest/doctest.h>

#include <cmath>

#include "algorithms/alignment/lancet.h"
#include "tensor/error.h"
#include "tests/thread_count_guard.h"
#include "tests/preference_tokens.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using gradlab::test::pad;

namespace {


nn::GPTConfig tiny_gpt(DType dtype = DType::f32) {
  return {.vocab = pref::vocab_size(), .context = 12, .d_model = 8, .heads = 2, .layers = 1, .dtype = dtype};
}

std::vector<Sequence> tiny_corpus() {
  return {{pref::encode("tell cat happy moon"), pad("the cat sees a moon ."), false},
          {pref::encode("ask dog calm tree"), pad("a dog likes the tree ."), false},
          {pref::encode("tell cat bad sun"), pad("the cat sees cruel king ."), true},
          {pref::encode("show bird warm river"), pad("the bird finds a river ."), false}};
}

SequenceBatch batch_of(const std::vector<Sequence>& data) {
  std::vector<Tokens> p, r;
  for (const Sequence& s : data) {
    p.push_back(s.prompt);
    r.push_back(s.response);
  }
  return make_batch(p, r);
}

// Moves every parameter a little, so the model differs from its starting copy.
void perturb(nn::GPT& model, double scale, uint64_t seed) {
  Generator g(seed);
  NoGradGuard no_grad;
  for (const Var& p : model.parameters()) {
    Tensor v = p.value();  // shares the parameter's storage
    v.copy_(add(v, mul(randn(p.shape(), g, p.dtype()), scale)));
  }
}

// A stand-in estimator that scores example m as fixed[m].
class FixedScores : public influence::Estimator {
 public:
  explicit FixedScores(std::vector<double> s) : s_(std::move(s)) {}
  std::string name() const override { return "fixed"; }
  void fit(const influence::Problem&) override { fitted_ = true; }
  Tensor score(const influence::QueryLoss&, const std::vector<int64_t>& rows) override {
    GL_CHECK(fitted_, "fixed: score before fit");
    std::vector<double> out;
    for (int64_t r : rows) out.push_back(s_[size_t(r)]);
    return from_vector(out, {int64_t(out.size())});
  }

 private:
  std::vector<double> s_;
  bool fitted_ = false;
};

}  // namespace

TEST_CASE("influence_weights: uniform, rank and softmax on hand-worked scores") {
  const std::vector<double> u = influence_weights({3, 1, 2}, InfluenceWeighting::uniform);
  for (double w : u) CHECK(w == doctest::Approx(1.0 / 3));
  // Ranks of {5, 1, 3}: 5 first (weight 3), 3 second (2), 1 last (1); total 6.
  const std::vector<double> r = influence_weights({5, 1, 3}, InfluenceWeighting::rank);
  CHECK(r[0] == doctest::Approx(3.0 / 6));
  CHECK(r[1] == doctest::Approx(1.0 / 6));
  CHECK(r[2] == doctest::Approx(2.0 / 6));
  // {1, -1}: mean 0, s.d. 1, so with tau 1 the weights are proportional to e^1 and e^-1.
  const std::vector<double> s = influence_weights({1, -1}, InfluenceWeighting::softmax, 1.0);
  CHECK(s[0] == doctest::Approx(1 / (1 + std::exp(-2.0))));
  CHECK(s[1] == doctest::Approx(std::exp(-2.0) / (1 + std::exp(-2.0))));
  // A higher temperature flattens them; equal scores give equal weights.
  const std::vector<double> hot = influence_weights({1, -1}, InfluenceWeighting::softmax, 4.0);
  CHECK(hot[0] == doctest::Approx(1 / (1 + std::exp(-0.5))));
  const std::vector<double> flat = influence_weights({2, 2, 2}, InfluenceWeighting::softmax);
  for (double w : flat) CHECK(w == doctest::Approx(1.0 / 3));
  CHECK(influence_weighting_from_name("rank") == InfluenceWeighting::rank);
  CHECK_THROWS_AS(influence_weighting_from_name("top"), Error);
  CHECK_THROWS_AS(influence_weights({}, InfluenceWeighting::uniform), Error);
  CHECK_THROWS_AS(influence_weights({1, NAN}, InfluenceWeighting::rank), Error);
  CHECK_THROWS_AS(influence_weights({1, 2}, InfluenceWeighting::softmax, 0.0), Error);
}

TEST_CASE("sequence_nll is minus the summed response log-probability; the problem's sampled losses are a finite [B]") {
  test::ThreadCountGuard one(1);
  Generator gen(3);
  nn::GPT model(tiny_gpt(), gen);
  const SequenceBatch b = batch_of(tiny_corpus());
  const Tensor nll = sequence_nll(model, b).value();
  const Tensor lp = model.sequence_logprob(b.tokens, b.response_mask).sum.value();
  REQUIRE(nll.shape() == Shape{4});
  for (int64_t i = 0; i < 4; ++i) CHECK(nll.to_vector<float>()[size_t(i)] == doctest::Approx(-lp.to_vector<float>()[size_t(i)]));
  Generator draw(5);
  const influence::Problem problem = gpt_influence_problem(model, tiny_corpus(), {model.head});
  const Var sampled = problem.sampled_losses({0, 1, 2, 3}, draw);
  REQUIRE(sampled.shape() == Shape{4});
  for (float v : sampled.value().to_vector<float>()) CHECK((std::isfinite(v) && v > 0));
  sum(sampled).backward();
  CHECK(model.head->weight.grad().defined());
}

TEST_CASE("ibo_loss at the starting model: no KL, no L2, minus the weighted recalled NLL") {
  test::ThreadCountGuard one(1);
  Generator gen(1);
  nn::GPT model(tiny_gpt(), gen);
  const std::shared_ptr<nn::GPT> start = clone_gpt(model);
  const std::vector<Sequence> data = tiny_corpus();
  const SequenceBatch retained = batch_of({data[0], data[1], data[3]});
  const SequenceBatch recalled = batch_of({data[2], data[0]});
  const Tensor w = tensor({0.75, 0.25}, {2}, DType::f64);
  const CorrectionConfig c{.unlearn_weight = 2.0, .kl_weight = 1.0, .l2_weight = 3.0};
  const CorrectionLoss ibo = ibo_loss(model, *start, retained, recalled, w, c);
  const CorrectionLoss::Values loss = ibo.read();
  const std::vector<float> mean_lp = model.sequence_logprob(recalled.tokens, recalled.response_mask).mean.value().to_vector<float>();
  const double unlearn = -(0.75 * mean_lp[0] + 0.25 * mean_lp[1]);
  CHECK(loss.unlearn_nll == doctest::Approx(unlearn).epsilon(1e-5));
  CHECK(loss.kl == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(loss.l2 == doctest::Approx(0.0));
  CHECK(ibo.total.item() == doctest::Approx(-2.0 * unlearn).epsilon(1e-5));
}

TEST_CASE("ibo_loss: the KL and L2 terms of a moved model against direct computations") {
  test::ThreadCountGuard one(1);
  Generator gen(2);
  nn::GPT model(tiny_gpt(DType::f64), gen);
  const std::shared_ptr<nn::GPT> start = clone_gpt(model);
  perturb(model, 0.05, 9);
  const std::vector<Sequence> data = tiny_corpus();
  const SequenceBatch retained = batch_of(data);
  const SequenceBatch recalled = batch_of({data[2]});
  const CorrectionConfig c{.unlearn_weight = 0.5, .kl_weight = 1.5, .l2_weight = 0.1};
  const CorrectionLoss ibo = ibo_loss(model, *start, retained, recalled, tensor({1.0}, {1}, DType::f64), c);
  const CorrectionLoss::Values loss = ibo.read();
  // KL(p_start || p_model) at every masked predicted position, by hand.
  const int64_t T = retained.tokens.size(1), V = pref::vocab_size();
  const std::vector<double> ls = log_softmax(start->forward(retained.tokens).value(), 2).to_vector<double>();
  const std::vector<double> lm = log_softmax(model.forward(retained.tokens).value(), 2).to_vector<double>();
  const std::vector<float> mask = retained.response_mask.to_vector<float>();
  double kl = 0, count = 0;
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t t = 0; t + 1 < T; ++t) {
      if (mask[size_t(b * T + t + 1)] == 0) continue;  // position t predicts token t + 1
      for (int64_t v = 0; v < V; ++v) {
        const size_t i = size_t((b * T + t) * V + v);
        kl += std::exp(ls[i]) * (ls[i] - lm[i]);
      }
      count += 1;
    }
  CHECK(loss.kl == doctest::Approx(kl / count).epsilon(1e-9));
  double l2 = 0;
  const std::vector<Var> now = model.parameters(), then = start->parameters();
  for (size_t p = 0; p < now.size(); ++p) {
    const std::vector<double> a = now[p].value().to_vector<double>(), b = then[p].value().to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) l2 += (a[i] - b[i]) * (a[i] - b[i]);
  }
  CHECK(loss.l2 == doctest::Approx(l2).epsilon(1e-9));
  CHECK(ibo.total.item() ==
        doctest::Approx(-0.5 * loss.unlearn_nll + 1.5 * loss.kl + 0.05 * loss.l2).epsilon(1e-9));
}

TEST_CASE("ibo_loss: the gradient against central differences in f64") {
  test::ThreadCountGuard one(1);
  Generator gen(4);
  nn::GPT model(tiny_gpt(DType::f64), gen);
  const std::shared_ptr<nn::GPT> start = clone_gpt(model);
  perturb(model, 0.05, 10);
  const std::vector<Sequence> data = tiny_corpus();
  const SequenceBatch retained = batch_of({data[0], data[3]});
  const SequenceBatch recalled = batch_of({data[2], data[1]});
  const Tensor w = tensor({0.6, 0.4}, {2}, DType::f64);
  const CorrectionConfig c{.unlearn_weight = 0.7, .kl_weight = 1.3, .l2_weight = 0.2};
  const std::vector<Var> params = model.parameters();
  for (const Var& p : params) p.zero_grad();
  ibo_loss(model, *start, retained, recalled, w, c).total.backward();
  int checked = 0;
  for (const Var& p : params) {
    // Three elements of every parameter: first, middle and last.
    const int64_t n = p.numel();
    for (int64_t i : {int64_t(0), n / 2, n - 1}) {
      Tensor flat = p.value().reshape({n});
      const double x0 = flat.to_vector<double>()[size_t(i)];
      const auto set = [&](double x) {
        NoGradGuard no_grad;
        flat.narrow(0, i, 1).fill_(x);
      };
      const double h = 1e-6;
      set(x0 + h);
      const double up = ibo_loss(model, *start, retained, recalled, w, c).total.item();
      set(x0 - h);
      const double down = ibo_loss(model, *start, retained, recalled, w, c).total.item();
      set(x0);
      const double numeric = (up - down) / (2 * h);
      const double analytic = p.grad().reshape({n}).to_vector<double>()[size_t(i)];
      CHECK(analytic == doctest::Approx(numeric).epsilon(1e-5).scale(1e-7));
      ++checked;
    }
  }
  CHECK(checked == 3 * int(params.size()));
}

TEST_CASE("recall_training_data ranks every sequence by score, highest first, ties by index") {
  test::ThreadCountGuard one(1);
  Generator gen(6);
  nn::GPT model(tiny_gpt(), gen);
  const std::vector<Sequence> data = tiny_corpus();
  const influence::Problem problem =
      gpt_influence_problem(model, data, {model.blocks[0]->fc, model.blocks[0]->fc_out});
  CHECK(problem.n_train == 4);
  CHECK(problem.params.size() == 4);  // two weights, two biases
  FixedScores est({0.5, 2.0, 0.5, -1.0});
  const influence::QueryLoss query = undesired_output_query(model, {data[2].prompt}, {data[2].response});
  CHECK(std::isfinite(query().item()));
  const Recall r = recall_training_data(est, problem, query);
  CHECK(r.ranking == std::vector<int64_t>{1, 0, 2, 3});
  CHECK(r.top(2) == std::vector<int64_t>{1, 0});
  CHECK_THROWS_AS(r.top(5), Error);
  CHECK_THROWS_AS(undesired_output_query(model, {}, {}), Error);
  CHECK_THROWS_AS(gpt_influence_problem(model, {}, {model.blocks[0]->fc}), Error);
}

TEST_CASE("train_correction: gradient ascent raises the recalled NLL; IBO's KL keeps the rest close") {
  test::ThreadCountGuard one(1);
  Generator gen(7);
  nn::GPT ga_model(tiny_gpt(), gen);
  const std::shared_ptr<nn::GPT> ibo_model = clone_gpt(ga_model);
  const std::vector<Sequence> data = tiny_corpus();
  const std::vector<Sequence> recalled = {data[2]}, retained = {data[0], data[1], data[3]};
  const SequenceBatch rb = batch_of(recalled), keep = batch_of(retained);
  const double before = sequence_nll(ga_model, rb).item();
  const double keep_before = sum(sequence_nll(ga_model, keep)).item();
  int64_t calls = 0;
  const CorrectionConfig ga{.kl_weight = 0, .l2_weight = 0, .steps = 20, .lr = 1e-2};
  train_correction(ga_model, {}, recalled, {1.0}, ga, gen, [&](int64_t step) { calls = step; });
  CHECK(calls == 20);
  CHECK(sequence_nll(ga_model, rb).item() > before + 1.0);
  CorrectionConfig ibo = ga;
  ibo.kl_weight = 10.0;
  ibo.batch_size = 3;
  train_correction(*ibo_model, retained, recalled, {1.0}, ibo, gen);
  CHECK(sequence_nll(*ibo_model, rb).item() > before);
  // The retained data moves less under IBO than under plain ascent.
  const double ga_drift = std::abs(sum(sequence_nll(ga_model, keep)).item() - keep_before);
  const double ibo_drift = std::abs(sum(sequence_nll(*ibo_model, keep)).item() - keep_before);
  CHECK(ibo_drift < ga_drift);
  CHECK_THROWS_AS(train_correction(ga_model, {}, recalled, {0.5, 0.5}, ga, gen), Error);
  CHECK_THROWS_AS(train_correction(ga_model, {}, recalled, {1.0}, ibo, gen), Error);  // KL without retained data
  CHECK_THROWS_AS(train_correction(ga_model, retained, {}, {}, ga, gen), Error);
}

TEST_CASE("forbidden_rate and perplexity") {
  test::ThreadCountGuard one(1);
  Generator gen(8);
  nn::GPT model(tiny_gpt(), gen);
  const std::vector<Sequence> data = tiny_corpus();
  const double rate = forbidden_rate(model, {data[0].prompt, data[1].prompt}, pref::encode("cruel king"), 8, gen);
  CHECK((rate >= 0 && rate <= 1));
  // An untrained model is near uniform over 47 tokens: perplexity near 47.
  const double ppl = perplexity(model, data);
  CHECK((ppl > 20 && ppl < 100));
  CHECK_THROWS_AS(perplexity(model, {}), Error);
  CHECK_THROWS_AS(forbidden_rate(model, {}, pref::encode("cruel king"), 8, gen), Error);
}
