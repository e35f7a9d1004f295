// osp: online self-preferring alignment (OSP) against its baselines in the
// preference world, on 200 training prompts. Per seed, shared by every method:
// SFT on the pretraining corpus, then the policy's own judge (a scalar head on
// its trunk, or its verdict word) warm-started on 3000 gold-labelled pairs
// while the language model keeps its likelihood; that model is every method's
// start and pi_ref.
//   osp                online loop: K samples, self-judged against a baseline response, ranked pairs with
//                      soft strengths, SPCE; the judge is a scalar head on the policy's trunk
//   osp_verdict_token  the same with the policy judging by its own verdict word after a judge prompt
//   online_dpo_binary  the same loop with binary labels from the same judge (p = 1: DPO)
//   cdpo               the same loop with one constant strength (cDPO's label smoothing)
//   offline_dpo        DPO on fixed gold-labelled SFT pairs of the same 200 prompts, as many updates
//   ppo_judge          PPO-RLHF on the judge head (frozen), as many sampled responses
// After every iteration: gold win rate against SFT on held-out prompts of the training families and on an
// out-of-domain family never trained on, the mean margin beta h, distinct-2 and response length.
//   build/bench/osp --quick                           (make reproduce's budget)
//   build/bench/osp --seeds 5 --jsonl osp.jsonl       (the full budget of bench/results/osp)
//   build/bench/osp --methods osp --pairing all --baseline sft   (an ablation)
//   build/bench/osp --methods osp,online_dpo_binary --lora-rank 8 --lr 1e-3   (LoRA instead of full fine-tuning)
#include "algorithms/alignment/osp.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>

#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/sft.h"
#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using bench::RunContext;
using bench::RunResult;

namespace {

constexpr pref::RewardKind kGold = pref::RewardKind::target_count;
constexpr int64_t kResponseLen = 8;
// Training prompts come from three families; the fourth is the out-of-domain test.
const std::vector<pref::Family> kTrainFamilies = {pref::Family::tell, pref::Family::ask, pref::Family::write};
const std::vector<pref::Family> kOODFamilies = {pref::Family::show};

struct Settings {
  int64_t prompts = 200, iterations = 0, k = 8, judge_pairs = 3000, judge_epochs = 4, verdict_epochs = 8;
  double beta = 0.1, lr = 1e-4, ppo_lr = 5e-5, ppo_kl = 1.0, cdpo_strength = 0.9, lm_coef = 1.0;
  int64_t lora_rank = 0;  // 0: full fine-tuning
  double lora_alpha = 16;
  bool verdict_judge = true;  // build the verdict-word judge (osp_verdict_token is among the methods)
  Pairing pairing = Pairing::mirror;
  BaselineResponse baseline = BaselineResponse::greedy;
  RewardPooling judge_pooling = RewardPooling::token_sum;
};

int64_t iterations(const Settings& s, const RunContext& run) {
  return s.iterations > 0 ? s.iterations : run.pick(20, 10, 2);
}

// The context holds the verdict judge's prompt: a prompt and two responses.
nn::GPTConfig policy_config(bool reward_head, bool value_head = false) {
  return {.vocab = pref::vocab_size(),
          .context = 4 + 2 * kResponseLen,
          .d_model = 64,
          .heads = 4,
          .layers = 2,
          .value_head = value_head,
          .reward_head = reward_head};
}

std::vector<Tokens> sample_prompts(int64_t n, const std::vector<pref::Family>& families, Generator& gen) {
  std::vector<Tokens> p;
  for (int64_t i = 0; i < n; ++i) p.push_back(pref::sample_prompt(families, gen));
  return p;
}

// Gold-ordered pairs (ties dropped) of two SFT samples per prompt, cycling through `prompts` until n are made.
std::vector<PreferencePair> gold_pairs(const nn::GPT& sft, const std::vector<Tokens>& prompts, int64_t n,
                                       Generator& gen) {
  std::vector<PreferencePair> pairs;
  const pref::LabelConfig label{.reward = kGold};
  for (int guard = 0; int64_t(pairs.size()) < n && guard < 1000; ++guard) {
    const auto y1 = sample_responses(sft, prompts, kResponseLen, gen),
               y2 = sample_responses(sft, prompts, kResponseLen, gen);
    for (size_t i = 0; i < prompts.size() && int64_t(pairs.size()) < n; ++i) {
      PreferencePair p;
      if (pref::label_pair(prompts[i], y1[i], y2[i], label, gen, p)) pairs.push_back(std::move(p));
    }
  }
  GL_CHECK(int64_t(pairs.size()) == n, "osp: made only {} of {} gold-labelled pairs", pairs.size(), n);
  return pairs;
}

// What every method of one seed starts from.
struct SeedAssets {
  std::shared_ptr<const nn::GPT> sft;            // the win-rate opponent
  std::shared_ptr<const nn::GPT> start;          // SFT with the warm-started judge head: each method's start and pi_ref
  std::shared_ptr<const nn::GPT> start_verdict;  // SFT warm-started as a verdict-word judge (osp_verdict_token)
  std::vector<Tokens> train, heldout, ood;
  std::vector<double> sft_gold_heldout, sft_gold_ood;  // gold of one fixed SFT sample per evaluation prompt
  std::vector<PreferencePair> offline_pairs;           // offline DPO's data: gold-labelled, the training prompts
  double judge_heldout_acc = 0, verdict_judge_heldout_acc = 0, sft_loss = 0;
};

SeedAssets build_assets(const Settings& s, const RunContext& run) {
  SeedAssets a;
  Generator gen = run.stream(1);
  const auto corpus = pref::make_corpus(run.pick(6000, 4000, 300), {}, {}, {}, gen);
  auto sft = std::make_shared<nn::GPT>(policy_config(false), gen);
  sft->to(run.device);  // drawn on the CPU, trained on run.device; its clones stay there
  a.sft_loss = train_sft(*sft, corpus, {.steps = run.pick(1500, 700, 20), .batch_size = 64, .lr = 3e-3}, gen).back();
  a.sft = sft;
  Generator prompts = run.stream(2);
  a.train = sample_prompts(s.prompts, kTrainFamilies, prompts);
  a.heldout = sample_prompts(run.pick(512, 256, 16), kTrainFamilies, prompts);
  a.ood = sample_prompts(run.pick(512, 256, 16), kOODFamilies, prompts);
  Generator eval = run.stream(3);
  a.sft_gold_heldout = pref::gold_rewards(kGold, a.heldout, sample_responses(*sft, a.heldout, kResponseLen, eval));
  a.sft_gold_ood = pref::gold_rewards(kGold, a.ood, sample_responses(*sft, a.ood, kResponseLen, eval));

  // The judges: SFT's weights plus a fresh reward head, or SFT itself as a verdict-word judge, each warm-started
  // on the same gold-labelled pairs of SFT samples (prompts of the training families, not the 200 training
  // prompts themselves) with the language-model loss kept.
  Generator judge_gen = run.stream(4);
  const int64_t n_judge = run.pick(s.judge_pairs, s.judge_pairs, 32);
  const auto judge_pairs = gold_pairs(*sft, sample_prompts(n_judge, kTrainFamilies, judge_gen), n_judge, judge_gen);
  const auto held_pairs = gold_pairs(*sft, sample_prompts(run.pick(1000, 500, 32), kTrainFamilies, judge_gen),
                                     run.pick(1000, 500, 32), judge_gen);
  const JudgeWarmStartConfig warm{.epochs = run.pick(s.judge_epochs, s.judge_epochs, 1), .lm_coef = s.lm_coef};
  auto start = std::make_shared<nn::GPT>(policy_config(true), judge_gen);
  start->to(run.device);
  start->load_state_dict(sft->state_dict(), /*strict=*/false);
  const SelfJudge judge(start, {.kind = JudgeKind::head, .pooling = s.judge_pooling});
  warm_start_judge(judge, judge_pairs, corpus, warm, judge_gen);
  a.judge_heldout_acc = judge.accuracy_vs_gold(held_pairs);
  a.start = start;
  if (s.verdict_judge) {
    auto verdict = clone_gpt(*sft);
    const SelfJudge vj(verdict, {.kind = JudgeKind::verdict_token});
    JudgeWarmStartConfig verdict_warm = warm;
    verdict_warm.epochs = run.pick(s.verdict_epochs, s.verdict_epochs, 1);
    warm_start_judge(vj, judge_pairs, corpus, verdict_warm, judge_gen);
    a.verdict_judge_heldout_acc = vj.accuracy_vs_gold(held_pairs);
    a.start_verdict = verdict;
  }
  // Offline DPO's fixed data: K/2 gold-labelled pairs per training prompt (OSP's pairs per iteration).
  a.offline_pairs = gold_pairs(*sft, a.train, s.prompts * std::max<int64_t>(1, s.k / 2), judge_gen);
  return a;
}
using AssetCache = bench::SeedCache<SeedAssets>;

// The policy a method trains: a copy of its start, with LoRA adapters on every block when --lora-rank > 0
// (then only the adapters train).
std::shared_ptr<nn::GPT> trainable_copy(const Settings& s, const nn::GPT& start, const RunContext& run) {
  auto policy = clone_gpt(start);
  if (s.lora_rank > 0) {
    Generator gen = run.stream(5);
    policy->add_lora(s.lora_rank, s.lora_alpha, gen);
  }
  return policy;
}

// Win rates and sample statistics of the policy now.
struct EvalPoint {
  double winrate = 0, ood_winrate = 0, gold = 0, length = 0, distinct2 = 0, kl = 0;
};
EvalPoint evaluate(const nn::GPT& policy, const SeedAssets& a, Generator& gen) {
  EvalPoint e;
  const auto y = sample_responses(policy, a.heldout, kResponseLen, gen);
  const auto gold = pref::gold_rewards(kGold, a.heldout, y);
  e.winrate = win_rate(gold, a.sft_gold_heldout);
  e.gold = mean_of(gold);
  e.distinct2 = distinct_2(y);
  double len = 0;
  for (const Tokens& r : y) len += double(pref::response_body(r).size());
  e.length = len / double(y.size());
  e.kl = sampled_kl(policy, *a.sft, a.heldout, y);
  const auto y_ood = sample_responses(policy, a.ood, kResponseLen, gen);
  e.ood_winrate = win_rate(pref::gold_rewards(kGold, a.ood, y_ood), a.sft_gold_ood);
  return e;
}

// Evaluates the policy before the first iteration and after each call iterate(it), it = 1..iterations:
// the curves against the iteration, and the last evaluation (with the peak win rate) as final metrics.
void iterate_and_evaluate(const nn::GPT& policy, const SeedAssets& a, const RunContext& run, int64_t iterations,
                          RunResult& r, const std::function<void(int64_t)>& iterate) {
  Generator eval_gen = run.stream(99);
  double peak = -1;
  EvalPoint e;
  for (int64_t it = 0; it <= iterations; ++it) {
    if (it > 0) iterate(it);
    e = evaluate(policy, a, eval_gen);
    const double x = double(it);
    r.curve("winrate_vs_iteration", x, e.winrate);
    r.curve("ood_winrate_vs_iteration", x, e.ood_winrate);
    r.curve("length_vs_iteration", x, e.length);
    r.curve("distinct2_vs_iteration", x, e.distinct2);
    if (it == 0) r.metric("start_winrate", e.winrate);
    peak = std::max(peak, e.winrate);
  }
  r.metric("final_winrate", e.winrate);
  r.metric("peak_winrate", peak);
  r.metric("winrate_drop", peak - e.winrate);
  r.metric("ood_winrate", e.ood_winrate);
  r.metric("gold_reward", e.gold);
  r.metric("mean_length", e.length);
  r.metric("distinct2", e.distinct2);
  r.metric("kl", e.kl);
}

// OSP and the two baselines that share its loop and differ in the label: soft, binary, constant.
bench::RunFn online_method(const Settings& s, AssetCache& cache, StrengthMode mode, JudgeKind judge, uint64_t stream) {
  return [&s, &cache, mode, judge, stream](const RunContext& run) {
    const SeedAssets& a = cache.get(run);
    const auto& start = judge == JudgeKind::head ? a.start : a.start_verdict;
    auto policy = trainable_copy(s, *start, run);
    const OSPConfig cfg{.samples_per_prompt = s.k,
                        .baseline = s.baseline,
                        .pairing = s.pairing,
                        .strength = mode,
                        .constant_strength = s.cdpo_strength,
                        .beta = s.beta,
                        .response_len = kResponseLen,
                        .lr = s.lr};
    OSP osp(policy, clone_gpt(*start), a.sft, cfg, {.kind = judge, .pooling = s.judge_pooling},
            run.stream_seed(stream));
    osp.set_gold([](const auto& x, const auto& y) { return pref::gold_rewards(kGold, x, y); });
    RunResult r;
    double t_sample = 0, t_judge = 0, t_train = 0, agreement = 0;
    const int64_t n = iterations(s, run);
    iterate_and_evaluate(*policy, a, run, n, r, [&](int64_t it) {
      const OSPIterationStats st = osp.step(a.train);
      r.curve("margin_vs_iteration", double(it), st.margin);
      r.curve("judge_agreement_vs_iteration", double(it), st.judge_agreement);
      r.curve("strength_vs_iteration", double(it), st.mean_strength);
      t_sample += st.seconds_sample;
      t_judge += st.seconds_judge;
      t_train += st.seconds_train;
      agreement = st.judge_agreement;
      r.metric("final_margin", st.margin);
      r.metric("pairs_per_iteration", double(st.pairs));
    });
    r.metric("seconds_sample", t_sample / double(n));
    r.metric("seconds_judge", t_judge / double(n));
    r.metric("seconds_train", t_train / double(n));
    r.metric("seconds_per_iteration", (t_sample + t_judge + t_train) / double(n));
    r.metric("judge_agreement", agreement);
    r.metric("judge_heldout_acc", judge == JudgeKind::head ? a.judge_heldout_acc : a.verdict_judge_heldout_acc);
    return r;
  };
}

// Offline DPO: the same trainer (p = 1) on fixed gold-labelled pairs, one pass per iteration.
RunResult offline_dpo(const Settings& s, AssetCache& cache, const RunContext& run) {
  const SeedAssets& a = cache.get(run);
  auto policy = trainable_copy(s, *a.start, run);
  OSP trainer(policy, clone_gpt(*a.start), a.sft, {.beta = s.beta, .response_len = kResponseLen, .lr = s.lr},
              {.kind = JudgeKind::head, .pooling = s.judge_pooling}, run.stream_seed(40));
  std::vector<SoftPair> pairs;
  for (const PreferencePair& p : a.offline_pairs) pairs.push_back({p.prompt, p.chosen, p.rejected, 1.0});
  RunResult r;
  iterate_and_evaluate(*policy, a, run, iterations(s, run), r, [&](int64_t it) {
    OSPIterationStats st;
    trainer.train_on(pairs, &st);
    r.curve("margin_vs_iteration", double(it), st.margin);
    r.metric("final_margin", st.margin);
  });
  return r;
}

// PPO-RLHF against the frozen judge head, sampling as many responses as the online loop: K per training prompt
// per iteration, in rollouts of one response per training prompt.
RunResult ppo_judge(const Settings& s, AssetCache& cache, const RunContext& run) {
  const SeedAssets& a = cache.get(run);
  const int64_t K = s.k;
  auto policy = trainable_copy(s, *a.start, run);
  const auto judge_model = clone_gpt(*a.start);
  const RewardModel judge(judge_model, {.pooling = s.judge_pooling});
  Generator gen = run.stream(50);
  auto critic = std::make_shared<nn::GPT>(policy_config(false, true), gen);
  critic->to(run.device);
  {  // the critic's trunk starts from SFT
    nn::NamedTensors trunk;
    for (auto& [name, t] : a.sft->state_dict())
      if (name.rfind("head.", 0) != 0) trunk.emplace_back(name, t);
    critic->load_state_dict(trunk, false);
  }
  const PPORLHFConfig cfg{
      .rollout_prompts = s.prompts, .response_len = kResponseLen, .kl_beta = s.ppo_kl, .lr = s.ppo_lr};
  PPORLHF ppo(policy, clone_gpt(*a.start), critic, judge.reward_fn(), cfg, run.stream_seed(51));
  RunResult r;
  iterate_and_evaluate(*policy, a, run, iterations(s, run), r, [&](int64_t it) {
    for (int64_t k = 0; k < K; ++k) {
      const PPOIterationStats st = ppo.step(a.train);
      r.curve("judge_reward_vs_iteration", double(it - 1) + double(k + 1) / double(K), st.reward);
    }
  });
  return r;
}

}  // namespace

int run_experiment(int argc, char** argv) {
  bench::Cli cli("osp",
                 "online self-preferring alignment (SPCE on self-judged soft preference strengths) against online DPO "
                 "with binary labels, cDPO, offline DPO and PPO on the judge, in the preference world");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/5, /*quick_seeds=*/3);
  std::string methods = "osp,osp_verdict_token,online_dpo_binary,cdpo,offline_dpo,ppo_judge";
  std::string pairing = "mirror", baseline = "greedy", judge_pooling = "token_sum";  // Settings' enums, by name
  Settings s;
  cli.bind(methods, "--methods", "methods to run");
  cli.bind(s.prompts, "--prompts", "training prompts", {1, 100000});
  cli.bind(s.iterations, "--iterations", "online iterations (0: 20, quick 10, smoke 2)", {0, 100000});
  cli.bind(s.k, "--k", "samples per prompt K (smoke: 4)", {2, 64});
  cli.bind(s.beta, "--beta", "beta of h = beta [log-ratio(better) - log-ratio(worse)]");
  cli.bind(s.lr, "--lr", "policy learning rate (SPCE and DPO)");
  cli.bind(s.ppo_lr, "--ppo-lr", "ppo_judge: policy learning rate");
  cli.bind(s.ppo_kl, "--ppo-kl", "ppo_judge: per-token KL penalty beta in the reward");
  cli.bind(pairing, "--pairing", "ranked pairing: mirror (rank i with K+1-i) or all (every i<j)");
  cli.bind(baseline, "--baseline", "the response judged against: greedy, sample or sft");
  cli.bind(s.cdpo_strength, "--cdpo-strength", "cdpo: the constant strength 1 - eps, in [0.5, 1]");
  cli.bind(s.judge_pairs, "--judge-pairs", "gold-labelled pairs of the judge's warm start", {1, 1000000});
  cli.bind(s.judge_epochs, "--judge-epochs", "epochs of the head judge's warm start", {1, 1000});
  cli.bind(s.verdict_epochs, "--verdict-epochs", "epochs of the verdict-word judge's warm start", {1, 1000});
  cli.bind(judge_pooling, "--judge-pooling", "judge head: token_sum, token_mean, last_token");
  cli.bind(s.lm_coef, "--lm-coef", "weight of the language-model loss during the judge's warm start");
  cli.bind(s.lora_rank, "--lora-rank",
           "LoRA adapters of this rank on every block, only they train (0: full fine-tuning)", {0, 1024});
  cli.bind(s.lora_alpha, "--lora-alpha", "LoRA's alpha (the adapter's scale is alpha / rank)");
  cli.parse(argc, argv);
  GL_CHECK(s.lora_alpha > 0, "osp: --lora-alpha must be positive, got {}", s.lora_alpha);
  GL_CHECK(s.beta > 0 && s.lr > 0 && s.ppo_lr > 0, "osp: --beta, --lr and --ppo-lr must be positive, got {}, {} and {}",
           s.beta, s.lr, s.ppo_lr);
  GL_CHECK(s.cdpo_strength >= 0.5 && s.cdpo_strength <= 1, "osp: --cdpo-strength must be in [0.5, 1], got {}",
           s.cdpo_strength);
  GL_CHECK(s.lm_coef >= 0 && s.ppo_kl >= 0, "osp: --lm-coef and --ppo-kl must be >= 0, got {} and {}", s.lm_coef,
           s.ppo_kl);
  s.pairing = pairing_from_string(pairing);
  s.baseline = baseline_from_string(baseline);
  s.judge_pooling = reward_pooling_from_string(judge_pooling);
  s.prompts = cli.budget_default<int64_t>(flags.smoke, "--prompts", s.prompts, 16);
  s.k = cli.budget_default<int64_t>(flags.smoke, "--k", s.k, 4);

  AssetCache cache([&s](const RunContext& run) { return build_assets(s, run); });
  const std::map<std::string, bench::RunFn> all = {
      {"osp", online_method(s, cache, StrengthMode::soft, JudgeKind::head, 10)},
      {"osp_verdict_token", online_method(s, cache, StrengthMode::soft, JudgeKind::verdict_token, 60)},
      {"online_dpo_binary", online_method(s, cache, StrengthMode::binary, JudgeKind::head, 20)},
      {"cdpo", online_method(s, cache, StrengthMode::constant, JudgeKind::head, 30)},
      {"offline_dpo", [&](const RunContext& run) { return offline_dpo(s, cache, run); }},
      {"ppo_judge", [&](const RunContext& run) { return ppo_judge(s, cache, run); }}};
  const std::vector<std::string> chosen = bench::split_list(methods);
  for (const std::string& m : chosen)
    GL_CHECK(all.count(m),
             "osp: --methods: unknown method '{}' (osp, osp_verdict_token, online_dpo_binary, cdpo, offline_dpo, "
             "ppo_judge)",
             m);
  auto wanted = [&](const std::string& m) { return std::find(chosen.begin(), chosen.end(), m) != chosen.end(); };
  s.verdict_judge = wanted("osp_verdict_token");
  bench::Experiment ex("osp", flags);
  for (const char* m : {"osp", "osp_verdict_token", "online_dpo_binary", "cdpo", "offline_dpo", "ppo_judge"})
    if (wanted(m)) ex.add(m, all.at(m));
  // Each seed's starting policies and judge build as a job of their own, side by side, before the methods.
  ex.prepare("the starting policies and judge", [&](const RunContext& run) { cache.get(run); });
  ex.run();
  ex.report({"final_winrate", "peak_winrate", "winrate_drop", "ood_winrate", "start_winrate", "gold_reward",
             "final_margin", "distinct2", "mean_length", "kl", "judge_heldout_acc", "judge_agreement",
             "seconds_per_iteration", "seconds_sample", "seconds_judge", "seconds_train", "seconds"});
  ex.plot("winrate_vs_iteration", "winrate", "online iteration", "gold win rate against SFT (held-out prompts)");
  ex.plot("ood_winrate_vs_iteration", "ood_winrate", "online iteration",
          "gold win rate against SFT (out-of-domain family)");
  ex.plot("margin_vs_iteration", "margin", "online iteration", "mean margin beta h of the iteration's pairs");
  ex.plot("judge_agreement_vs_iteration", "judge_agreement", "online iteration",
          "pairs the self-judge orders as the gold reward does");

  for (const char* m : {"osp", "osp_verdict_token"}) {
    if (!wanted(m)) continue;
    // The paper's headline: a 95% win rate over the base model from 200 prompts.
    const bench::Stat w = ex.stat(m, "final_winrate");
    std::vector<double> above;
    for (double v : w.values) above.push_back(v - 0.95);
    ex.claim(fmt::format("{} reaches a 95% gold win rate over the SFT model with 200 training prompts",
                         std::string(m) == "osp" ? "OSP" : "OSP (verdict-word judge)"),
             bench::paired_verdict(bench::stat_of(above)),
             fmt::format("final win rate {} (seeds: {}); peak {}; start {}", bench::format_stat(w, 3),
                         bench::seed_values(ex, m, "final_winrate"), bench::format_stat(ex.stat(m, "peak_winrate"), 3),
                         bench::format_stat(ex.stat(m, "start_winrate"), 3)));
  }
  if (wanted("osp") && wanted("online_dpo_binary")) {
    bench::paired_claim(ex, "OSP's final win rate >= online DPO with the judge's binary labels", "osp",
                        "online_dpo_binary", "final_winrate");
    bench::paired_claim(ex, "binary labels peak then degrade more than soft strengths (peak minus final win rate)",
                        "online_dpo_binary", "osp", "winrate_drop");
    bench::paired_claim(ex, "out of domain: OSP's win rate >= online DPO with binary labels", "osp",
                        "online_dpo_binary", "ood_winrate");
  }
  if (wanted("osp") && wanted("offline_dpo")) {
    bench::paired_claim(ex, "OSP's final win rate >= offline DPO on the same 200 prompts", "osp", "offline_dpo",
                        "final_winrate");
    bench::paired_claim(ex, "out of domain: OSP's win rate >= offline DPO", "osp", "offline_dpo", "ood_winrate");
  }
  if (wanted("osp") && wanted("ppo_judge")) {
    bench::paired_claim(ex, "OSP's final win rate >= PPO on the judge head", "osp", "ppo_judge", "final_winrate");
    bench::paired_claim(ex, "out of domain: OSP's win rate >= PPO on the judge head", "osp", "ppo_judge",
                        "ood_winrate");
  }
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
