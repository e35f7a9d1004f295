// continual: continual preference learning in the preference world. Three tasks in sequence
// (evolving_tasks(3): A tell/target_count, B ask/ends_with, C write/brevity), each with J = 4 SFT samples
// per training prompt ranked by the task's gold reward, a 5% replay memory per finished task. Per seed,
// shared by every method: the SFT policy (every method's start) and the task stream.
//   copr           optimal-policy fit (MSE over each candidate set, moderate reward) + SFT term,
//                  Lagrangian constraints against each old task's cached P*
//   copf           batch-normalised P*, +-margin rewards, function regularisation on replay
//   sft_inorder    SFT on each task's best responses in turn
//   sft_multitask  SFT on the best responses of every task so far (upper bound)
//   dpo_replay     DPO (reference pi_{t-1}) on the ranked pairs + 5% replay
//   dpo_multitask  DPO on the ranked pairs of every task so far (not in the default list: --methods dpo_multitask)
//   ewc, l2        DPO + EWC (diagonal Fisher) / L2 to the previous weights
//   kl_replay      DPO + KL distillation to the previous model on the replayed responses
//   copr_lambda1, copr_no_fit, copr_no_constraint, copr_replay, copr_no_sft, copr_kl   COPR's ablations
//   copf_half      COPF on the first half of each task's prompts only (the other half unlabelled)
//   copf_unlabelled  the same plus the other half, ranked by COPF's scoring head trained on the first half
// After every stage, every task's normalised gold reward (0: SFT, 1: best of 4 SFT samples): the score
// matrix, then AA, AIA, FM, BWT; at the end the held-out log-prob gap log P(y_best) - log P(y_worst),
// distinct-2 of 4 samples per prompt (and pooled over all prompts) and token entropy of the samples.
//   build/bench/continual --quick                 (make reproduce's budget)
//   build/bench/continual                         (the full budget of bench/results/continual)
//   build/bench/continual --methods copr,dpo_replay --beta 0.1
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>

#include "algorithms/alignment/continual_baselines.h"
#include "algorithms/alignment/continual_metrics.h"
#include "algorithms/alignment/copf.h"
#include "algorithms/alignment/copf_scorer.h"
#include "algorithms/alignment/copr.h"
#include "algorithms/alignment/evaluation.h"
#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using bench::RunContext;
using bench::RunResult;

namespace {

constexpr int64_t kResponseLen = 8;

struct Settings {
  int64_t train_prompts = 0, heldout_prompts = 0, epochs = 0, sft_epochs = 16, eval_samples = 0, J = 4;
  double lr = 5e-4, sft_lr = 1e-3, beta = 0.1, lambda_lr = 0.1, sft_coef = 1.0, copf_beta = 0.1, copf_margin = 1.0,
         copf_reg = 1.0, dpo_beta = 0.3, ewc_coef = 1.0, l2_coef = 0.01, kl_coef = 0.3, overlap = 0.0;
  double replay_fraction = 0.05;
  bool mean_logprob = false;
};

struct SeedAssets {
  std::shared_ptr<const nn::GPT> sft;
  std::vector<TaskData> stream;
  double sft_loss = 0;
};

SeedAssets build_assets(const Settings& s, const RunContext& run) {
  SeedAssets a;
  Generator gen = run.stream(1);
  const auto corpus = pref::make_corpus(run.pick(6000, 6000, 300), {}, {}, {}, gen);
  auto sft = std::make_shared<nn::GPT>(
      nn::GPTConfig{.vocab = pref::vocab_size(), .context = 4 + kResponseLen, .d_model = 64, .heads = 4, .layers = 2},
      gen);
  sft->to(run.device);  // drawn on the CPU, trained on run.device; its clones stay there
  a.sft_loss = train_sft(*sft, corpus, {.steps = run.pick(1500, 1500, 20), .batch_size = 64, .lr = 3e-3}, gen).back();
  a.sft = sft;
  Generator stream_gen = run.stream(2);
  a.stream =
      make_continual_stream(*sft,
                            {.tasks = 3,
                             .train_prompts = s.train_prompts > 0 ? s.train_prompts : run.pick(256, 256, 16),
                             .heldout_prompts = s.heldout_prompts > 0 ? s.heldout_prompts : run.pick(512, 256, 16),
                             .J = s.J,
                             .response_len = kResponseLen,
                             .overlap = s.overlap},
                            stream_gen);
  return a;
}
using AssetCache = bench::SeedCache<SeedAssets>;

// Any learner of the stream: one call per task.
using LearnFn = std::function<void(const std::vector<Ranking>&)>;

// Mean over the held-out rankings of each task (gold ties skipped) of log pi(y_best) - log pi(y_worst), averaged
// over tasks.
double logprob_gap(const nn::GPT& policy, const std::vector<TaskData>& stream, bool mean_logprob) {
  NoGradGuard no_grad;
  double total = 0;
  for (const TaskData& t : stream) {
    std::vector<int64_t> idx;
    for (size_t i = 0; i < t.heldout.size(); ++i)
      if (t.heldout[i].gold.front() > t.heldout[i].gold.back()) idx.push_back(int64_t(i));
    if (idx.empty()) continue;
    const Tensor lp = candidate_logprobs(policy, t.heldout, idx, mean_logprob).value();  // [n, J], best first
    total += mean(sub(lp.select(1, 0), lp.select(1, lp.size(1) - 1))).item();
  }
  return total / double(stream.size());
}

RunResult run_stream(const SeedAssets& a, nn::GPT& policy, const LearnFn& learn, const Settings& s,
                     const RunContext& run) {
  RunResult r;
  Generator eval_gen = run.stream(99);
  const int64_t samples = s.eval_samples > 0 ? s.eval_samples : run.pick(4, 2, 1);
  const size_t T = a.stream.size();
  ScoreMatrix score(T, std::vector<double>(T, 0.0));
  for (size_t k = 0; k < T; ++k) {
    learn(a.stream[k].train);
    double seen = 0;
    for (size_t j = 0; j < T; ++j) {
      score[k][j] = a.stream[j].normalised(task_gold(policy, a.stream[j], samples, kResponseLen, eval_gen));
      r.curve("score_" + a.stream[j].task.name + "_vs_stage", double(k + 1), score[k][j]);
      if (j <= k) seen += score[k][j];
    }
    r.curve("seen_tasks_score_vs_stage", double(k + 1), seen / double(k + 1));
  }
  for (size_t j = 0; j < T; ++j) {
    r.metric("final_" + a.stream[j].task.name, score[T - 1][j]);
    r.metric("learned_" + a.stream[j].task.name, score[j][j]);  // right after its own stage
  }
  r.metric("aa", average_accuracy(score));
  r.metric("aia", average_incremental_accuracy(score));
  r.metric("fm", forgetting_measure(score));
  r.metric("bwt", backward_transfer(score));
  r.metric("gap", logprob_gap(policy, a.stream, false));
  // Diversity per prompt: distinct-2 of 4 samples of the same prompt (prompts whose samples have no bigram are
  // skipped), averaged over every task's held-out prompts; and the token entropy of the first sample.
  std::vector<Tokens> prompts, ys;
  double d2 = 0;
  int64_t d2_prompts = 0;
  for (const TaskData& t : a.stream) {
    const auto p = t.heldout_prompts();
    std::vector<std::vector<Tokens>> samples;
    for (int k = 0; k < 4; ++k) samples.push_back(sample_responses(policy, p, kResponseLen, eval_gen));
    for (size_t i = 0; i < p.size(); ++i) {
      std::vector<Tokens> own;
      size_t bigrams = 0;
      for (const auto& sk : samples) {
        own.push_back(sk[i]);
        bigrams += std::max<size_t>(1, pref::response_body(sk[i]).size()) - 1;
      }
      if (bigrams == 0) continue;
      d2 += distinct_2(own);
      ++d2_prompts;
    }
    prompts.insert(prompts.end(), p.begin(), p.end());
    ys.insert(ys.end(), samples[0].begin(), samples[0].end());
  }
  r.metric("distinct2", d2_prompts > 0 ? d2 / double(d2_prompts) : 0.0);
  r.metric("distinct2_pooled", distinct_2(ys));
  r.metric("entropy", mean_token_entropy(policy, prompts, ys));
  r.metric("kl_vs_sft", sampled_kl(policy, *a.sft, prompts, ys));
  return r;
}

COPRConfig copr_config(const Settings& s, const RunContext& run) {
  return {.beta = s.beta,
          .sft_coef = s.sft_coef,
          .lambda_lr = s.lambda_lr,
          .mean_logprob = s.mean_logprob,
          .replay_fraction = s.replay_fraction,
          .epochs = s.epochs > 0 ? s.epochs : run.pick(4, 4, 1),
          .lr = s.lr};
}

bench::RunFn copr_method(const Settings& s, AssetCache& cache, std::function<void(COPRConfig&)> ablate) {
  return [&s, &cache, ablate](const RunContext& run) {
    const SeedAssets& a = cache.get(run);
    auto policy = clone_gpt(*a.sft);
    COPRConfig cfg = copr_config(s, run);
    if (ablate) ablate(cfg);
    COPR copr(policy, cfg, run.stream_seed(10));
    double lambda_max = 0, violation = 0;
    int64_t step = 0;  // training steps under constraints (tasks B and C)
    std::vector<std::pair<std::string, std::pair<double, double>>> trace;  // (curve, (step, value))
    RunResult r = run_stream(
        a, *policy,
        [&](const std::vector<Ranking>& d) {
          const COPRStageStats st = copr.learn_task(d);
          for (size_t k = 0; k < st.step_lambda.size(); ++k, ++step)
            for (size_t i = 0; i < st.step_lambda[k].size(); ++i) {  // task i's multiplier and violation per step
              const std::string task(1, char('A' + i));
              trace.push_back({"lambda_" + task + "_vs_step", {double(step), st.step_lambda[k][i]}});
              trace.push_back({"violation_" + task + "_vs_step", {double(step), st.step_violations[k][i]}});
            }
          for (double l : st.lambda) lambda_max = std::max(lambda_max, l);
          for (double v : st.violations) violation = std::max(violation, v);
        },
        s, run);
    for (const auto& [name, point] : trace) r.curve(name, point.first, point.second);
    r.metric("lambda_max", lambda_max);
    r.metric("violation_max", violation);
    return r;
  };
}

COPFConfig copf_config(const Settings& s, const RunContext& run) {
  return {.beta = s.copf_beta,
          .margin = s.copf_margin,
          .reg_coef = s.copf_reg,
          .mean_logprob = s.mean_logprob,
          .replay_fraction = s.replay_fraction,
          .epochs = s.epochs > 0 ? s.epochs : run.pick(4, 4, 1),
          .lr = s.lr};
}

bench::RunFn copf_method(const Settings& s, AssetCache& cache) {
  return [&s, &cache](const RunContext& run) {
    const SeedAssets& a = cache.get(run);
    auto policy = clone_gpt(*a.sft);
    COPF copf(policy, copf_config(s, run), run.stream_seed(20));
    return run_stream(
        a, *policy, [&](const std::vector<Ranking>& d) { copf.learn_task(d); }, s, run);
  };
}

// COPF with only the first half of each task's prompts labelled: `use_scorer` false trains on that half alone
// (copf_half); true also trains on the other half, ranked by a scorer trained on the labelled half
// (copf_unlabelled; the candidates are shuffled first so that the gold order cannot leak through ties).
bench::RunFn copf_half_method(const Settings& s, AssetCache& cache, bool use_scorer) {
  return [&s, &cache, use_scorer](const RunContext& run) {
    const SeedAssets& a = cache.get(run);
    auto policy = clone_gpt(*a.sft);
    COPF copf(policy, copf_config(s, run), run.stream_seed(20));
    Generator gen = run.stream(21);
    double agreement = 0;
    RunResult r = run_stream(
        a, *policy,
        [&](const std::vector<Ranking>& d) {
          const size_t half = d.size() / 2;
          std::vector<Ranking> data(d.begin(), d.begin() + std::ptrdiff_t(half));
          if (use_scorer) {
            const std::vector<Ranking> truth(d.begin() + std::ptrdiff_t(half), d.end());
            std::vector<Ranking> hidden = truth;
            for (Ranking& h : hidden) {
              std::vector<int64_t> order(h.responses.size());
              std::iota(order.begin(), order.end(), 0);
              shuffle(order, gen);
              std::vector<Tokens> shuffled;
              for (int64_t i : order) shuffled.push_back(h.responses[size_t(i)]);
              h.responses = shuffled;
              h.gold.clear();  // unlabelled
            }
            ScorerConfig sc;
            sc.train.epochs = run.pick(4, 4, 1);
            sc.device = run.device;
            const auto scorer = train_scorer(a.sft->config(), data, sc, gen);
            const std::vector<Ranking> ranked = rank_with_scorer(*scorer, hidden);
            agreement += ranking_agreement(ranked, truth) / double(a.stream.size());
            data.insert(data.end(), ranked.begin(), ranked.end());
          }
          copf.learn_task(data);
        },
        s, run);
    if (use_scorer) r.metric("scorer_agreement", agreement);
    return r;
  };
}

bench::RunFn baseline_method(const Settings& s, AssetCache& cache, ContinualBaseline method) {
  return [&s, &cache, method](const RunContext& run) {
    const SeedAssets& a = cache.get(run);
    auto policy = clone_gpt(*a.sft);
    ContinualBaselineConfig cfg;
    cfg.dpo.beta = s.dpo_beta;
    cfg.dpo.lr = s.lr;
    cfg.dpo.epochs = s.epochs > 0 ? s.epochs : run.pick(3, 3, 1);
    cfg.sft.lr = s.sft_lr;
    cfg.sft_epochs = double(run.budget == bench::Budget::smoke ? 1 : s.sft_epochs);
    cfg.replay_fraction = s.replay_fraction;
    cfg.ewc_coef = s.ewc_coef;
    cfg.l2_coef = s.l2_coef;
    cfg.kl_coef = s.kl_coef;
    ContinualBaselineLearner learner(policy, method, cfg, run.stream_seed(30 + uint64_t(method)));
    return run_stream(
        a, *policy, [&](const std::vector<Ranking>& d) { learner.learn_task(d); }, s, run);
  };
}

}  // namespace

int run_experiment(int argc, char** argv) {
  bench::Cli cli("continual",
                 "continual preference learning over three tasks: COPR and COPF against in-order and multi-task SFT, "
                 "DPO with replay, EWC, L2 and KL distillation, with COPR's ablations");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/10, /*quick_seeds=*/3);
  const std::string all_methods =
      "copr,copf,sft_inorder,sft_multitask,dpo_replay,ewc,l2,kl_replay,copr_lambda1,copr_no_fit,copr_no_constraint,"
      "copr_replay,copr_no_sft,copr_kl,copf_half,copf_unlabelled";
  const std::string known_methods = all_methods + ",dpo_multitask";  // the default list and the optional ones
  std::string methods = all_methods;
  Settings s;
  cli.bind(methods, "--methods", "methods to run (also: dpo_multitask)");
  cli.bind(s.train_prompts, "--train-prompts", "training prompts per task (0: 256, smoke 16)", {0, 100000});
  cli.bind(s.heldout_prompts, "--heldout-prompts", "held-out prompts per task (0: 512, quick 256, smoke 16)",
           {0, 100000});
  cli.bind(s.epochs, "--epochs",
           "passes over each task's data of COPR, COPF and the DPO methods (0: 4, DPO 3, smoke 1)", {0, 1000});
  cli.bind(s.sft_epochs, "--sft-epochs", "sft_inorder, sft_multitask: passes over the data (smoke 1)", {1, 1000});
  cli.bind(s.sft_lr, "--sft-lr", "sft_inorder, sft_multitask: learning rate");
  cli.bind(s.eval_samples, "--eval-samples", "samples per held-out prompt (0: 4, quick 2, smoke 1)", {0, 100});
  cli.bind(s.lr, "--lr", "learning rate of every method");
  cli.bind(s.beta, "--beta", "COPR's beta in P* = pi_{t-1} e^{Adv/beta} / Z");
  cli.bind(s.lambda_lr, "--lambda-lr", "COPR's alpha in ln lambda <- ln lambda + alpha lambda J^C");
  cli.bind(s.sft_coef, "--sft-coef", "COPR's weight of -log pi(y_top|x)");
  cli.bind(s.copf_beta, "--copf-beta", "COPF's beta");
  cli.bind(s.copf_margin, "--copf-margin", "COPF's reward margin m");
  cli.bind(s.copf_reg, "--copf-reg", "COPF's weight of the function regulariser on replay");
  cli.bind(s.dpo_beta, "--dpo-beta", "DPO's beta (dpo_replay, ewc, l2, kl_replay)");
  cli.bind(s.ewc_coef, "--ewc-coef", "EWC's c in (c/2) sum F (theta - theta*)^2");
  cli.bind(s.l2_coef, "--l2-coef", "l2's c in c sum (theta - theta*)^2");
  cli.bind(s.kl_coef, "--kl-coef", "kl_replay's weight of the distillation KL");
  cli.bind(s.replay_fraction, "--replay-fraction", "fraction of each finished task kept for replay");
  cli.bind(s.overlap, "--overlap",
           "domain-incremental variant: fraction of each task's prompts from the other tasks' families");
  cli.bind_flag(s.mean_logprob, "--mean-logprob", "per-token mean log-probs (COPR, COPF, DPO) instead of sums");
  cli.parse(argc, argv);
  GL_CHECK(s.lr > 0 && s.beta > 0 && s.copf_beta > 0 && s.dpo_beta > 0,
           "continual: --lr {}, --beta {}, --copf-beta {} and --dpo-beta {} must be positive", s.lr, s.beta,
           s.copf_beta, s.dpo_beta);

  AssetCache cache([&s](const RunContext& run) { return build_assets(s, run); });
  const std::map<std::string, bench::RunFn> all = {
      {"copr", copr_method(s, cache, nullptr)},
      {"copf", copf_method(s, cache)},
      {"copf_half", copf_half_method(s, cache, false)},
      {"copf_unlabelled", copf_half_method(s, cache, true)},
      {"sft_inorder", baseline_method(s, cache, ContinualBaseline::sft_inorder)},
      {"sft_multitask", baseline_method(s, cache, ContinualBaseline::sft_multitask)},
      {"dpo_replay", baseline_method(s, cache, ContinualBaseline::dpo_replay)},
      {"dpo_multitask", baseline_method(s, cache, ContinualBaseline::dpo_multitask)},
      {"ewc", baseline_method(s, cache, ContinualBaseline::ewc)},
      {"l2", baseline_method(s, cache, ContinualBaseline::l2)},
      {"kl_replay", baseline_method(s, cache, ContinualBaseline::kl_replay)},
      {"copr_lambda1", copr_method(s, cache, [](COPRConfig& c) { c.constraint = ConstraintMode::fixed_lambda; })},
      {"copr_no_fit", copr_method(s, cache, [](COPRConfig& c) { c.fit_coef = 0; })},
      {"copr_no_constraint", copr_method(s, cache, [](COPRConfig& c) { c.constraint = ConstraintMode::none; })},
      {"copr_replay", copr_method(s, cache, [](COPRConfig& c) { c.constraint = ConstraintMode::replay; })},
      {"copr_no_sft", copr_method(s, cache, [](COPRConfig& c) { c.sft_coef = 0; })},
      {"copr_kl", copr_method(s, cache, [](COPRConfig& c) { c.fit = FitLoss::kl; })}};
  const std::vector<std::string> chosen = bench::split_list(methods);
  for (const std::string& m : chosen)
    GL_CHECK(all.count(m), "continual: --methods: unknown method '{}' ({})", m, known_methods);
  auto wanted = [&](const std::string& m) { return std::find(chosen.begin(), chosen.end(), m) != chosen.end(); };
  bench::Experiment ex("continual", flags);
  for (const std::string& m : bench::split_list(known_methods))
    if (wanted(m)) ex.add(m, all.at(m));
  // Each seed's SFT policy and data build as a job of their own, side by side, before the methods.
  ex.prepare("the SFT policy and task data", [&](const RunContext& run) { cache.get(run); });
  ex.run();
  ex.report({"aa", "aia", "fm", "bwt", "final_A", "final_B", "final_C", "learned_A", "learned_B", "learned_C", "gap",
             "distinct2", "distinct2_pooled", "entropy", "kl_vs_sft", "lambda_max", "violation_max", "scorer_agreement",
             "seconds"});

  // The mean score matrix of each method: row = after stage k, column = task j.
  fmt::print(
      "\nmean score matrix (rows: after stage 1..3; columns: tasks A, B, C; 0 = SFT, 1 = best of 4 SFT samples)\n");
  for (const std::string& m : ex.methods()) {
    std::map<std::string, std::map<double, std::pair<double, int>>> sums;  // task -> stage -> (sum, n)
    for (const RunResult& run : ex.runs(m))
      for (const char* task : {"A", "B", "C"})
        for (const auto& [stage, y] : run.curves.at(std::string("score_") + task + "_vs_stage")) {
          auto& cell = sums[task][stage];
          cell.first += y;
          ++cell.second;
        }
    fmt::print("{:<20}", m);
    for (double stage : {1.0, 2.0, 3.0}) {
      for (const char* task : {"A", "B", "C"}) {
        const auto& cell = sums[task][stage];
        fmt::print(" {:6.3f}", cell.first / std::max(1, cell.second));
      }
      fmt::print("  |");
    }
    fmt::print("\n");
  }

  if (wanted("copr") && wanted("dpo_replay")) {
    bench::paired_claim(ex, "COPR forgets less than DPO with replay (BWT)", "copr", "dpo_replay", "bwt");
    bench::paired_claim(ex, "COPR keeps more diversity than DPO with replay (distinct-2)", "copr", "dpo_replay",
                        "distinct2");
    bench::paired_claim(ex, "COPR's average score after the last task >= DPO with replay (AA)", "copr", "dpo_replay",
                        "aa");
  }
  if (wanted("copf") && wanted("dpo_replay"))
    bench::paired_claim(ex, "COPF forgets less than DPO with replay (BWT)", "copf", "dpo_replay", "bwt");
  if (wanted("copr") && wanted("copf")) {
    bench::paired_claim(ex, "COPR forgets no more than COPF (BWT)", "copr", "copf", "bwt");
    bench::paired_claim(ex, "COPR keeps at least COPF's diversity (distinct-2)", "copr", "copf", "distinct2");
  }
  if (wanted("copf_unlabelled") && wanted("copf_half"))
    bench::paired_claim(
        ex, "COPF learns from unlabelled prompts ranked by its scoring head (AA, half the prompts labelled)",
        "copf_unlabelled", "copf_half", "aa");
  // The paper's ablations: each part removed lowers the average score.
  for (const auto& [m, what] :
       std::vector<std::pair<std::string, std::string>>{{"copr_lambda1", "learned lambda (vs lambda = 1)"},
                                                        {"copr_no_fit", "the fit term"},
                                                        {"copr_no_constraint", "the constraints"},
                                                        {"copr_replay", "constraints rather than plain replay"},
                                                        {"copr_no_sft", "the SFT term"},
                                                        {"copr_kl", "the MSE fit rather than KL"}})
    if (wanted("copr") && wanted(m))
      bench::paired_claim(ex, "ablation: COPR's AA > " + m + " (" + what + ")", "copr", m, "aa");
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run_experiment(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
}
