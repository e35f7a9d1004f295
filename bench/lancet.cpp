// build/bench/lancet: LANCET's miniature. A small GPT learns the preference
// world's corpus in which 10% of the sequences are "outdated": after a prompt
// about a trigger noun (cat, dog, bird, fish) the response says "cruel king".
// The undesired generations on the *seen* triggers (cat, dog) are the query;
// bird and fish are held out as unseen triggers.
//
// Phase 1, recall (cases recall/ESTIMATOR): every training sequence is scored
// for the query by each estimator of the influence library; metrics are
// precision@k and recall@k of the contaminated set, the Spearman correlation
// with leave-one-out retraining on a subset of --loo-examples sequences, the
// precision within that subset (leave-one-out's own row is the ground truth),
// and the seconds to fit and score.
//
// Phase 2, correction (cases correct/METHOD), all from the same trained model:
//   lancet        IBO on the top k of LinFAC's recall (influence weights)
//   lancet_rank, lancet_uniform   the same with rank-based or uniform weights
//   ibo_tracin    the same correction on TracIn's top k
//   ga_recalled   gradient ascent on LinFAC's top k
//   ga_random     gradient ascent on k random training sequences
//   dpo_oracle    DPO on human-corrected pairs: every contaminated sequence on
//                 a seen trigger, its response replaced by a clean one (chosen)
//                 against the outdated one (rejected)
//   none          the uncorrected model
// Utility is matched: along each correction the model is evaluated every
// --eval-every steps, and the checkpoint kept is the one with the lowest
// forbidden rate on seen-trigger prompts among those whose held-out clean
// perplexity is within --utility-tolerance of the starting model's. The
// forbidden rate on unseen triggers is measured only on that checkpoint.
//
//   build/bench/lancet --quick            (make reproduce's budget)
//   build/bench/lancet --jsonl lancet.jsonl   (the full budget of bench/results/lancet)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>

#include "algorithms/alignment/dpo.h"
#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/lancet.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/influence/datainf.h"
#include "algorithms/influence/iterative.h"
#include "algorithms/influence/kfac.h"
#include "algorithms/influence/leave_one_out.h"
#include "algorithms/influence/metrics.h"
#include "algorithms/influence/tracin.h"
#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"
#include "envs/preference/datasets.h"
#include "optim/sgd.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using bench::RunContext;
using bench::RunResult;

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  int64_t corpus = 2000;         // training sequences
  int64_t heldout = 256;         // clean held-out sequences (perplexity)
  int64_t d_model = 48, layers = 2, heads = 4;
  int64_t sft_steps = 300;       // about 10 epochs: held-out perplexity rises past that (overfitting)
  int64_t checkpoints = 5;       // TracIn's, evenly along SFT
  int64_t query_max = 64;        // undesired generations in the query
  int64_t k = 100;               // recalled sequences
  int64_t loo_examples = 200;    // the leave-one-out subset
  int64_t loo_epochs = 1;        // warm-started retraining epochs per leave-one-out run
  double loo_lr = 0.01;          // their SGD learning rate (on summed per-sequence losses)
  int64_t correction_steps = 200;
  int64_t eval_every = 5;
  int64_t eval_prompts = 128;    // per selection evaluation (seen triggers)
  int64_t final_prompts = 512;   // per final rate (seen and unseen)
  double fraction = 0.1;
  double damping = 0.1;          // relative damping of K-FAC and LinFAC
  double hvp_damping = 10;       // absolute damping of CG and LiSSA (the summed-NLL Hessian is large and indefinite)
  double utility_tolerance = 0.05;
  double correction_lr = 1e-4;
  double unlearn_weight = 1.0, kl_weight = 1.0, l2_weight = 0.0, tau = 1.0;
  double dpo_beta = 0.1, dpo_lr = 1e-4;
  InfluenceWeighting weighting = InfluenceWeighting::softmax;
  std::string lancet_estimator = "linfac-reduce";
  std::vector<std::string> estimators;
};

const pref::WorldConfig kWorld{};
const pref::InjectConfig kInject{};
const std::vector<int64_t> kSeenTriggers = {pref::word_id("cat"), pref::word_id("dog")};
const std::vector<int64_t> kUnseenTriggers = {pref::word_id("bird"), pref::word_id("fish")};
constexpr double kSFTLearningRate = 3e-3;

// Prompts whose target noun is one of `nouns`, drawn by rejection.
std::vector<Tokens> trigger_prompts(const std::vector<int64_t>& nouns, int64_t n, Generator& gen) {
  std::vector<Tokens> out;
  while (int64_t(out.size()) < n) {
    Tokens p = pref::sample_prompt(std::vector<pref::Family>{}, gen);
    if (std::find(nouns.begin(), nouns.end(), p[1]) != nouns.end()) out.push_back(std::move(p));
  }
  return out;
}

std::vector<Tokens> general_prompts(int64_t n, Generator& gen) {
  std::vector<Tokens> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(pref::sample_prompt(std::vector<pref::Family>{}, gen));
  return out;
}

struct Checkpoint {
  std::vector<Tensor> values;  // every parameter of the model, in parameters() order
};

// What every method of one seed shares.
struct Assets {
  std::vector<Sequence> corpus, heldout;
  std::vector<int64_t> contaminated, contaminated_seen;  // indices into corpus
  std::shared_ptr<nn::GPT> model;
  std::vector<Checkpoint> checkpoints;  // along SFT, for TracIn
  std::vector<Tokens> query_prompts, query_responses;
  std::vector<Tokens> select_prompts, seen_prompts, unseen_prompts, diversity_prompts;
  std::vector<int64_t> loo_rows;
  double base_perplexity = 0, base_select_rate = 0;
  uint64_t seed_base = 0;  // the run's seed, for the estimators' own draws
};

// The samples that score the selection set after `step` correction steps: one
// stream per step, and step 0's is the untrained model's (common random numbers
// along a run).
Generator selection_eval_stream(const RunContext& run, int64_t step) { return run.stream(3).fork(uint64_t(step)); }

Assets build_assets(const Settings& s, const RunContext& run) {
  Assets a;
  a.seed_base = run.seed;
  Generator gen = run.stream(1);
  a.corpus = pref::make_corpus(s.corpus, {}, kWorld, pref::GrammarConfig{}, gen);
  pref::InjectConfig inject = kInject;
  inject.fraction = s.fraction;
  a.contaminated = pref::inject_outdated(a.corpus, inject, kWorld, gen);
  for (int64_t i : a.contaminated)
    if (std::count(kSeenTriggers.begin(), kSeenTriggers.end(), a.corpus[size_t(i)].prompt[1]))
      a.contaminated_seen.push_back(i);
  a.heldout = pref::make_corpus(s.heldout, {}, kWorld, pref::GrammarConfig{}, gen);

  nn::GPTConfig config{.vocab = pref::vocab_size(),
                       .context = kWorld.prompt_len + kWorld.response_len,
                       .d_model = s.d_model,
                       .heads = s.heads,
                       .layers = s.layers,
                       .seed = run.seed};
  a.model = std::make_shared<nn::GPT>(config, gen);
  a.model->to(run.device);  // drawn on the CPU; SFT and every correction run on run.device
  const int64_t every = std::max<int64_t>(1, s.sft_steps / std::max<int64_t>(1, s.checkpoints));
  train_sft(*a.model, a.corpus, {.steps = s.sft_steps, .batch_size = 64, .lr = kSFTLearningRate}, gen,
            [&](int64_t step) {
              if (step % every == 0 && int64_t(a.checkpoints.size()) < s.checkpoints)
                a.checkpoints.push_back({influence::snapshot(a.model->parameters())});
            });
  a.model->eval();

  // The query: the model's own undesired generations on seen-trigger prompts.
  const std::vector<Tokens> probe = trigger_prompts(kSeenTriggers, 4 * s.query_max, gen);
  const std::vector<Tokens> ys = sample_responses(*a.model, probe, kWorld.response_len, gen);
  for (size_t i = 0; i < ys.size() && int64_t(a.query_prompts.size()) < s.query_max; ++i)
    if (pref::contains_bigram(ys[i], inject.forbidden_bigram)) {
      a.query_prompts.push_back(probe[i]);
      a.query_responses.push_back(ys[i]);
    }
  GL_CHECK(!a.query_prompts.empty(),
           "lancet: the trained model produced no undesired generation in {} seen-trigger samples (seed {}); raise "
           "--sft-steps or --fraction",
           probe.size(), run.seed);

  a.select_prompts = trigger_prompts(kSeenTriggers, s.eval_prompts, gen);
  a.seen_prompts = trigger_prompts(kSeenTriggers, s.final_prompts, gen);
  a.unseen_prompts = trigger_prompts(kUnseenTriggers, s.final_prompts, gen);
  a.diversity_prompts = general_prompts(s.final_prompts, gen);

  std::vector<int64_t> rows(a.corpus.size());
  std::iota(rows.begin(), rows.end(), 0);
  shuffle(rows, gen);
  rows.resize(size_t(std::min<int64_t>(s.loo_examples, int64_t(rows.size()))));
  std::sort(rows.begin(), rows.end());
  a.loo_rows = rows;

  a.base_perplexity = perplexity(*a.model, a.heldout);
  Generator eval_gen = selection_eval_stream(run, 0);
  a.base_select_rate = forbidden_rate(*a.model, a.select_prompts, inject.forbidden_bigram, kWorld.response_len, eval_gen);
  return a;
}

// Leave-one-out on the subset: warm-started SGD epochs over the corpus in a
// fixed order per epoch, skipping the left-out sequence, so that two runs
// differ only by that sequence.
struct LooResult {
  std::vector<double> scores;  // per loo_rows entry
  double seconds = 0;
};

LooResult leave_one_out_scores(const Settings& s, const Assets& a, const RunContext& run) {
  const auto t0 = Clock::now();
  const std::shared_ptr<nn::GPT> model = clone_gpt(*a.model);
  model->to(Device::cpu);  // leave-one-out retraining (the ground truth) runs on a CPU copy, whatever --device
  model->eval();
    const influence::Problem problem =
      gpt_influence_problem(*model, a.corpus, influence::linfac_layers(*model));
  const influence::QueryLoss query = undesired_output_query(*model, a.query_prompts, a.query_responses);
  std::vector<std::vector<int64_t>> orders;
  Generator gen = run.stream(2);
  for (int64_t e = 0; e < s.loo_epochs; ++e) {
    std::vector<int64_t> order(a.corpus.size());
    std::iota(order.begin(), order.end(), 0);
    shuffle(order, gen);
    orders.push_back(order);
  }
  constexpr int64_t kBatch = 64;
  const auto retrain = [&](const std::vector<int64_t>& keep) {
    std::vector<char> kept(a.corpus.size(), 0);
    for (int64_t r : keep) kept[size_t(r)] = 1;
    // Only the problem's parameters move (leave_one_out restores exactly those between runs).
    optim::SGD opt(problem.params, {.lr = s.loo_lr});
    for (const auto& order : orders)
      for (size_t b = 0; b < order.size(); b += kBatch) {
        std::vector<int64_t> rows;
        for (size_t i = b; i < std::min(order.size(), b + kBatch); ++i)
          if (kept[size_t(order[i])]) rows.push_back(order[i]);
        if (rows.empty()) continue;
        // A fixed divisor, so that leaving a sequence out changes no other sequence's weight.
        const Var loss = sum(problem.example_losses(rows)) * (1.0 / double(kBatch));
        opt.zero_grad();
        loss.backward();
        opt.step();
      }
  };
  LooResult r;
  r.scores = influence::leave_one_out(problem, retrain, query, a.loo_rows).to_vector<double>();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

// One estimator, built for a fresh copy of the model.
std::unique_ptr<influence::Estimator> make_estimator(const std::string& name, const Settings& s, const Assets& a,
                                                     nn::GPT& model) {
  if (name == "kfac" || name == "kfac-reduce") {  // K-FAC's eigenvalues, no EK-FAC correction
    influence::KFACOptions o;
    o.tokens = name == "kfac-reduce" ? influence::KFACTokens::reduce : influence::KFACTokens::expand;
    o.damping = s.damping;
    o.seed = a.seed_base;
    return std::make_unique<influence::KFACInfluence>(o);
  }
  if (name == "linfac-expand" || name == "linfac-reduce") {
    influence::KFACOptions o;
    o.damping = s.damping;
    o.seed = a.seed_base;
    return influence::make_linfac(
        name == "linfac-reduce" ? influence::KFACTokens::reduce : influence::KFACTokens::expand, o);
  }
  if (name == "tracin") {
    std::vector<influence::TracInCheckpoint> cps;
    const std::vector<Var> all = model.parameters();
    const std::vector<Var> sub = influence::linear_params(influence::linfac_layers(model));
    for (const Checkpoint& c : a.checkpoints) {
      // The checkpoint's values of the problem's parameters (the sub-layers' weights and biases).
      influence::TracInCheckpoint cp;
      cp.learning_rate = kSFTLearningRate;
      for (const Var& p : sub)
        for (size_t i = 0; i < all.size(); ++i)
          if (all[i].impl() == p.impl()) cp.values.push_back(c.values[i]);
      cps.push_back(cp);
    }
    return std::make_unique<influence::TracInInfluence>(cps);
  }
  if (name == "datainf") return std::make_unique<influence::DataInfInfluence>();
  if (name == "cg") {  // on a subsample's Hessian, damped (the GPT's Hessian is not positive definite)
    influence::CGOptions o;
    o.damping = s.hvp_damping;
    o.max_iters = 50;
    o.tol = 1e-4;
    o.subsample = std::min<int64_t>(256, int64_t(a.corpus.size()));
    o.seed = a.seed_base;
    return std::make_unique<influence::CGInfluence>(o);
  }
  if (name == "lissa") {
    influence::LiSSAOptions o;
    o.damping = s.hvp_damping;
    o.depth = 100;
    o.batch_size = 64;
    o.seed = a.seed_base;
    return std::make_unique<influence::LiSSAInfluence>(o);
  }
  throw Error(fmt::format("lancet: unknown estimator '{}'", name));
}

// The layers each estimator works on: LinFAC the transformer sub-layers, the
// others the same sub-layers so that their scores are comparable.
influence::Problem problem_for(const std::string& /*estimator*/, nn::GPT& model, const Assets& a) {
  return gpt_influence_problem(model, a.corpus, influence::linfac_layers(model));
}

struct RecallOut {
  Recall recall;
  std::string failure;  // the estimator's error, when it could not score (e.g. CG on an indefinite Hessian)
};

using AssetCache = bench::SeedCache<Assets>;
using RecallCache = bench::SeedCache<RecallOut>;
using LooCache = bench::SeedCache<LooResult>;

RunResult recall_method(const std::string& estimator, const Settings& s, AssetCache& assets, RecallCache& cache,
                        LooCache& loo, const RunContext& run) {
  const Assets& a = assets.get(run);
  const RecallOut& got = cache.get(run);
  RunResult out;
  out.metric("failed", got.failure.empty() ? 0.0 : 1.0);
  if (!got.failure.empty()) return out;
  const Recall& r = got.recall;
  std::vector<int64_t> ids(r.scores.size());
  std::iota(ids.begin(), ids.end(), 0);
  out.metric("precision_at_k", influence::precision_at_k(r.scores, ids, a.contaminated, s.k));
  out.metric("recall_at_k", influence::recall_at_k(r.scores, ids, a.contaminated, s.k));
  out.metric("precision_at_k_seen", influence::precision_at_k(r.scores, ids, a.contaminated_seen, s.k));
  out.metric("fit_seconds", r.fit_seconds);
  out.metric("score_seconds", r.score_seconds);
  // Against leave-one-out on the subset.
  const LooResult& l = loo.get(run);
  std::vector<double> sub;
  for (int64_t i : a.loo_rows) sub.push_back(r.scores[size_t(i)]);
  out.metric("spearman_vs_loo", influence::spearman(sub, l.scores));
  std::vector<int64_t> sub_contaminated;
  for (int64_t i : a.loo_rows)
    if (std::binary_search(a.contaminated.begin(), a.contaminated.end(), i)) sub_contaminated.push_back(i);
  const int64_t kk = std::max<int64_t>(1, int64_t(sub_contaminated.size()));
  out.metric("subset_precision", influence::precision_at_k(sub, a.loo_rows, sub_contaminated, kk));
  (void)estimator;
  return out;
}

RunResult loo_method(const Settings& s, AssetCache& assets, LooCache& loo, const RunContext& run) {
  (void)s;
  const Assets& a = assets.get(run);
  const LooResult& l = loo.get(run);
  std::vector<int64_t> sub_contaminated;
  for (int64_t i : a.loo_rows)
    if (std::binary_search(a.contaminated.begin(), a.contaminated.end(), i)) sub_contaminated.push_back(i);
  const int64_t kk = std::max<int64_t>(1, int64_t(sub_contaminated.size()));
  RunResult out;
  out.metric("subset_precision", influence::precision_at_k(l.scores, a.loo_rows, sub_contaminated, kk));
  out.metric("spearman_vs_loo", 1.0);
  out.metric("fit_seconds", l.seconds);
  return out;
}

// ---- phase 2 ----

enum class Correction { lancet, lancet_rank, lancet_uniform, ibo_tracin, ga_recalled, ga_random, dpo_oracle, none };

struct Selected {
  int64_t step = 0;
  double select_rate = 1e9;
  std::vector<Tensor> values;
};

RunResult correct_method(Correction method, const Settings& s, AssetCache& assets,
                         std::map<std::string, std::unique_ptr<RecallCache>>& recalls, const RunContext& run) {
  const Assets& a = assets.get(run);
  const std::shared_ptr<nn::GPT> model = clone_gpt(*a.model);
  model->eval();
  const std::vector<Var> params = model->parameters();
  Generator gen = run.stream(4), eval_gen = run.stream(5);
  const Tokens& bigram = kInject.forbidden_bigram;
  RunResult out;
  Selected best{0, a.base_select_rate, influence::snapshot(params)};
  const double budget = a.base_perplexity * (1 + s.utility_tolerance);
  const auto evaluate = [&](int64_t step) {
    if (step % s.eval_every != 0) return;
    const double ppl = perplexity(*model, a.heldout);
    out.curve("perplexity", double(step), ppl);
    if (ppl > budget) return;
    Generator g = selection_eval_stream(run, step);
    const double rate = forbidden_rate(*model, a.select_prompts, bigram, kWorld.response_len, g);
    out.curve("seen_rate_within_budget", double(step), rate);
    if (rate < best.select_rate) best = {step, rate, influence::snapshot(params)};
  };

  // The recalled set of an influence-driven method.
  const auto recalled_by = [&](const std::string& estimator) {
    const RecallOut& got = recalls.at(estimator)->get(run);
    GL_CHECK(got.failure.empty(), "lancet: {} recalls nothing: {}", estimator, got.failure);
    const Recall& r = got.recall;
    const std::vector<int64_t> top = r.top(s.k);
    std::vector<Sequence> seqs;
    std::vector<double> scores;
    for (int64_t i : top) {
      seqs.push_back(a.corpus[size_t(i)]);
      scores.push_back(r.scores[size_t(i)]);
    }
    int64_t hits = 0;
    for (int64_t i : top) hits += std::binary_search(a.contaminated.begin(), a.contaminated.end(), i) ? 1 : 0;
    out.metric("recalled_contaminated", double(hits) / double(top.size()));
    return std::make_pair(seqs, scores);
  };
  const auto retained_except = [&](const std::vector<int64_t>& drop) {
    std::set<int64_t> d(drop.begin(), drop.end());
    std::vector<Sequence> keep;
    for (size_t i = 0; i < a.corpus.size(); ++i)
      if (!d.count(int64_t(i))) keep.push_back(a.corpus[i]);
    return keep;
  };

  CorrectionConfig ibo{.unlearn_weight = s.unlearn_weight,
                       .kl_weight = s.kl_weight,
                       .l2_weight = s.l2_weight,
                       .steps = s.correction_steps,
                       .lr = s.correction_lr};
  CorrectionConfig ga = ibo;
  ga.kl_weight = 0;
  ga.l2_weight = 0;
  switch (method) {
    case Correction::lancet:
    case Correction::lancet_rank:
    case Correction::lancet_uniform:
    case Correction::ibo_tracin: {
      const std::string est = method == Correction::ibo_tracin ? "tracin" : s.lancet_estimator;
      const InfluenceWeighting weighting = method == Correction::lancet_rank      ? InfluenceWeighting::rank
                                           : method == Correction::lancet_uniform ? InfluenceWeighting::uniform
                                                                                  : s.weighting;
      const auto [seqs, scores] = recalled_by(est);
      const Recall& r = recalls.at(est)->get(run).recall;
      train_correction(*model, retained_except(r.top(s.k)), seqs, influence_weights(scores, weighting, s.tau), ibo,
                       gen, evaluate);
      break;
    }
    case Correction::ga_recalled: {
      const auto [seqs, scores] = recalled_by(s.lancet_estimator);
      train_correction(*model, {}, seqs, influence_weights(scores, InfluenceWeighting::uniform), ga, gen, evaluate);
      break;
    }
    case Correction::ga_random: {
      std::vector<int64_t> rows(a.corpus.size());
      std::iota(rows.begin(), rows.end(), 0);
      shuffle(rows, gen);
      std::vector<Sequence> seqs;
      for (int64_t i = 0; i < s.k; ++i) seqs.push_back(a.corpus[size_t(rows[size_t(i)])]);
      train_correction(*model, {}, seqs, std::vector<double>(seqs.size(), 1.0 / double(seqs.size())), ga, gen,
                       evaluate);
      break;
    }
    case Correction::dpo_oracle: {
      std::vector<pref::PreferencePair> pairs;
      for (int64_t i : a.contaminated_seen) {
        const Sequence& q = a.corpus[size_t(i)];
        Tokens clean;
        do clean = pref::sample_response(q.prompt, kWorld, pref::GrammarConfig{}, gen);
        while (pref::contains_bigram(clean, bigram));
        pairs.push_back({.prompt = q.prompt, .chosen = clean, .rejected = q.response});
      }
      const std::shared_ptr<nn::GPT> reference = clone_gpt(*a.model);
      reference->eval();
      const int64_t batch = 16, per_epoch = (int64_t(pairs.size()) + batch - 1) / batch;
      DPOConfig c{.beta = s.dpo_beta,
                  .label_smoothing = 0.0,
                  .epochs = std::max<int64_t>(1, (s.correction_steps + per_epoch - 1) / per_epoch),
                  .batch_size = batch,
                  .lr = s.dpo_lr};
      train_dpo(*model, *reference, pairs, c, gen, {}, evaluate);
      out.metric("oracle_pairs", double(pairs.size()));
      break;
    }
    case Correction::none: break;
  }
  influence::restore(params, best.values);
  model->eval();
  out.metric("selected_step", double(best.step));
  out.metric("seen_rate", forbidden_rate(*model, a.seen_prompts, bigram, kWorld.response_len, eval_gen));
  out.metric("unseen_rate", forbidden_rate(*model, a.unseen_prompts, bigram, kWorld.response_len, eval_gen));
  out.metric("perplexity", perplexity(*model, a.heldout));
  out.metric("distinct2", distinct_2(sample_responses(*model, a.diversity_prompts, kWorld.response_len, eval_gen)));
  return out;
}

int run_experiment(int argc, char** argv) {
  bench::Cli cli("lancet",
                 "LANCET's miniature: recall of outdated training data by influence estimators, then their correction");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/5, /*quick_seeds=*/3);
  Settings s;
  std::string weighting = "softmax", estimators = "linfac-reduce,linfac-expand,kfac,tracin,datainf,lissa,cg";
  std::string methods = "lancet,lancet_rank,lancet_uniform,ibo_tracin,ga_recalled,ga_random,dpo_oracle,none";
  cli.bind(s.corpus, "--corpus", "training sequences", {50, 1000000});
  cli.bind(s.d_model, "--d-model", "GPT width", {8, 4096});
  cli.bind(s.sft_steps, "--sft-steps", "training steps of the GPT", {1, 10000000});
  cli.bind(s.k, "--k", "recalled sequences (and k of precision@k, recall@k)", {1, 1000000});
  cli.bind(s.loo_examples, "--loo-examples", "sequences scored by leave-one-out", {2, 1000000});
  cli.bind(s.loo_epochs, "--loo-epochs", "warm-started epochs per leave-one-out run", {1, 1000});
  cli.bind(s.loo_lr, "--loo-lr", "SGD learning rate of the leave-one-out retraining");
  cli.bind(s.correction_steps, "--correction-steps", "optimiser steps of each correction", {1, 10000000});
  cli.bind(s.eval_every, "--eval-every", "steps between utility-matching evaluations", {1, 10000000});
  cli.bind(s.final_prompts, "--final-prompts", "prompts per final forbidden rate", {1, 1000000});
  cli.bind(s.damping, "--damping", "K-FAC and LinFAC: damping relative to the mean eigenvalue");
  cli.bind(s.hvp_damping, "--hvp-damping", "CG and LiSSA: damping added to the Hessian");
  cli.bind(s.utility_tolerance, "--utility-tolerance",
           "allowed relative rise of held-out perplexity (matched utility)");
  cli.bind(s.correction_lr, "--correction-lr", "learning rate of IBO and gradient ascent");
  cli.bind(s.dpo_lr, "--dpo-lr", "learning rate of the DPO oracle");
  cli.bind(s.dpo_beta, "--dpo-beta", "beta of the DPO oracle");
  cli.bind(s.kl_weight, "--kl-weight", "IBO: weight of the KL to the starting model");
  cli.bind(s.l2_weight, "--l2-weight", "IBO: weight of the L2 proximal term");
  cli.bind(s.tau, "--tau", "IBO: softmax temperature of the influence weights (in score s.d.)");
  cli.bind(weighting, "--weighting", "IBO's influence weights: softmax, rank or uniform");
  cli.bind(s.lancet_estimator, "--lancet-estimator", "the estimator behind LANCET's recall");
  cli.bind(estimators, "--estimators",
           "phase-1 estimators (linfac-reduce and linfac-expand: EK-FAC on the sub-layers; "
           "kfac, kfac-reduce: without the eigenvalue correction; tracin, datainf, lissa, cg)");
  cli.bind(methods, "--methods",
           "phase-2 corrections (lancet_rank, lancet_uniform: IBO with rank-based or uniform weights)");
  cli.parse(argc, argv);
  GL_CHECK(s.dpo_lr > 0 && s.dpo_beta > 0, "lancet: --dpo-lr {} and --dpo-beta {} must be > 0", s.dpo_lr, s.dpo_beta);
  GL_CHECK(s.loo_lr > 0, "lancet: --loo-lr must be > 0, got {}", s.loo_lr);
  GL_CHECK(s.hvp_damping > 0, "lancet: --hvp-damping must be > 0, got {}", s.hvp_damping);
  GL_CHECK(s.damping > 0 && s.utility_tolerance >= 0 && s.correction_lr > 0 && s.kl_weight >= 0 && s.l2_weight >= 0 &&
               s.tau > 0,
           "lancet: --damping {}, --correction-lr {} and --tau {} must be > 0; --utility-tolerance {}, --kl-weight {} "
           "and --l2-weight {} >= 0",
           s.damping, s.correction_lr, s.tau, s.utility_tolerance, s.kl_weight, s.l2_weight);
  const bool smoke = flags.smoke, quick = flags.quick;
  s.corpus = cli.budget_default<int64_t>(smoke, "--corpus",
                                         cli.budget_default<int64_t>(quick, "--corpus", s.corpus, 1000), 300);
  s.d_model = cli.budget_default<int64_t>(smoke, "--d-model", s.d_model, 16);
  s.layers = smoke ? 1 : s.layers;
  s.sft_steps = cli.budget_default<int64_t>(smoke, "--sft-steps",
                                            cli.budget_default<int64_t>(quick, "--sft-steps", s.sft_steps, 120), 300);
  s.k = cli.budget_default<int64_t>(smoke, "--k", cli.budget_default<int64_t>(quick, "--k", s.k, 50), 10);
  s.loo_examples = cli.budget_default<int64_t>(
      smoke, "--loo-examples", cli.budget_default<int64_t>(quick, "--loo-examples", s.loo_examples, 60), 6);
  s.correction_steps =
      cli.budget_default<int64_t>(smoke, "--correction-steps",
                                  cli.budget_default<int64_t>(quick, "--correction-steps", s.correction_steps, 100), 4);
  s.eval_every = cli.budget_default<int64_t>(smoke, "--eval-every", s.eval_every, 2);
  s.final_prompts = cli.budget_default<int64_t>(smoke, "--final-prompts", s.final_prompts, 16);
  s.eval_prompts = smoke ? 16 : s.eval_prompts;
  s.heldout = smoke ? 32 : s.heldout;
  s.query_max = smoke ? 8 : s.query_max;
  s.checkpoints = smoke ? 2 : s.checkpoints;
  s.weighting = influence_weighting_from_name(weighting);
  s.estimators = bench::split_list(estimators);
  GL_CHECK(s.k <= s.corpus && s.loo_examples <= s.corpus, "lancet: --k {} and --loo-examples {} must be <= --corpus {}",
           s.k, s.loo_examples, s.corpus);

  const std::map<std::string, Correction> all_methods = {
      {"lancet", Correction::lancet},           {"lancet_rank", Correction::lancet_rank},
      {"lancet_uniform", Correction::lancet_uniform}, {"ibo_tracin", Correction::ibo_tracin},
      {"ga_recalled", Correction::ga_recalled}, {"ga_random", Correction::ga_random},
      {"dpo_oracle", Correction::dpo_oracle},   {"none", Correction::none}};
  const std::vector<std::string> chosen = bench::split_list(methods);
  for (const std::string& m : chosen)
    GL_CHECK(all_methods.count(m), "lancet: --methods: unknown method '{}' (lancet, lancet_rank, lancet_uniform, "
                                   "ibo_tracin, ga_recalled, ga_random, dpo_oracle, none)", m);

  AssetCache assets([&s](const RunContext& run) { return build_assets(s, run); });
  LooCache loo_cache([&](const RunContext& run) { return leave_one_out_scores(s, assets.get(run), run); });
  // Every estimator a recall or correction needs, each with its per-seed cache.
  std::vector<std::string> needed = s.estimators;
  for (const std::string& m : chosen) {
    if (m.rfind("lancet", 0) == 0 || m == "ga_recalled") needed.push_back(s.lancet_estimator);
    if (m == "ibo_tracin") needed.push_back("tracin");
  }
  std::map<std::string, std::unique_ptr<RecallCache>> recalls;
  for (const std::string& e : needed) {
    if (recalls.count(e)) continue;
    recalls[e] = std::make_unique<RecallCache>([&s, &assets, e](const RunContext& run) {
      const Assets& a = assets.get(run);
      const std::shared_ptr<nn::GPT> model = clone_gpt(*a.model);
      // Recall scores the model where it is (--device): the estimators compute on the model's device.
      model->eval();
      const influence::Problem problem = problem_for(e, *model, a);
      const std::unique_ptr<influence::Estimator> est = make_estimator(e, s, a, *model);
      const influence::QueryLoss query = undesired_output_query(*model, a.query_prompts, a.query_responses);
      try {
        return RecallOut{recall_training_data(*est, problem, query), ""};
      } catch (const Error& err) {
        // Reported as a failed estimator rather than stopping the experiment.
        fmt::print(stderr, "[lancet] {} failed on seed {}: {}\n", e, run.seed, err.what());
        return RecallOut{Recall{}, err.what()};
      }
    });
  }

  bench::Experiment ex("lancet", flags);
  ex.add("recall/loo", [&](const RunContext& run) { return loo_method(s, assets, loo_cache, run); });
  for (const std::string& e : s.estimators)
    ex.add("recall/" + e, [&, e](const RunContext& run) {
      return recall_method(e, s, assets, *recalls.at(e), loo_cache, run);
    });
  for (const std::string& m : chosen)
    ex.add("correct/" + m, [&, m](const RunContext& run) {
      return correct_method(all_methods.at(m), s, assets, recalls, run);
    });
  // What the methods share builds per seed as jobs of their own, side by side, before them: the
  // trained model and corpus, then leave-one-out and each estimator's recall (which need them).
  ex.prepare("the model and corpus", [&](const RunContext& run) { assets.get(run); });
  ex.prepare("leave-one-out", [&](const RunContext& run) { loo_cache.get(run); });
  for (const auto& [e, recall] : recalls)
    ex.prepare("the " + e + " recall", [&cache = *recall](const RunContext& run) { cache.get(run); });
  ex.run();
  ex.report({"precision_at_k", "recall_at_k", "precision_at_k_seen", "subset_precision", "spearman_vs_loo",
             "fit_seconds", "score_seconds", "seen_rate", "unseen_rate", "perplexity", "distinct2", "selected_step",
             "recalled_contaminated", "failed", "seconds"});

  // Phase 1: LinFAC / EK-FAC recall at least as precise as TracIn and DataInf.
  const auto has = [&](const std::string& m) {
    return std::find(ex.methods().begin(), ex.methods().end(), m) != ex.methods().end();
  };
  for (const char* ours : {"recall/linfac-reduce", "recall/linfac-expand"})
    for (const char* theirs : {"recall/tracin", "recall/datainf"})
      if (has(ours) && has(theirs))
        bench::paired_claim(ex, fmt::format("{} recalls the contaminated data more precisely than {} (precision@{})",
                                            std::string(ours).substr(7), std::string(theirs).substr(7), s.k),
                            ours, theirs, "precision_at_k");
  // Phase 2: LANCET's forbidden rate on unseen triggers below each baseline's (lower is better).
  for (const char* base : {"correct/ga_recalled", "correct/ga_random", "correct/dpo_oracle", "correct/ibo_tracin"})
    if (has("correct/lancet") && has(base))
      bench::paired_claim(ex,
                          fmt::format("LANCET's forbidden rate on unseen triggers is below {}'s at matched utility "
                                      "(IBO reconstructed)",
                                      std::string(base).substr(8)),
                          base, "correct/lancet", "unseen_rate");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_experiment(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
}
