// align_baselines: the alignment baselines in the preference world
// (docs/papers/alignment-baselines.md, "The preference world" and the baselines). Per seed:
// SFT on the pretraining corpus gives pi_ref; then
//   rm        a Bradley-Terry reward model (summed per-token head, fresh trunk) on SFT sample pairs with 10%
//             label noise: held-out accuracy vs gold
//   dpo/cdpo/ipo  preference optimisation on the same kind of pairs: gold reward, win rate vs SFT, KL, distinct-2
//   ppo_rlhf  PPO-RLHF against a last-token reward model on an SFT trunk (KL penalty 0.1): the same metrics
//   overopt   PPO against a proxy reward model trained on noisy pairs, with a tiny KL penalty and the
//             stable policy learning rate of ppo_rlhf: the gold reward peaks then falls while the proxy
//             keeps rising (gold and proxy plotted against sqrt(KL)); a run whose proxy itself falls is
//             flagged as collapsed and left out of the claim
// The gold reward is target_count (a prompt-dependent target noun, rewarded up to 2 mentions, penalised past
// them and for repeats). Every policy is evaluated on held-out prompts with one sample per prompt.
//   build/bench/align_baselines --quick                       (make reproduce's budget)
//   build/bench/align_baselines --quick --seeds 1 --methods rm --rm-pooling last_token --rm-trunk sft
//       (one reward-model recipe; rm_heldout_acc.png plots its held-out accuracy per epoch)
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "algorithms/alignment/dpo.h"
#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/alignment/up_rlhf_metrics.h"
#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using bench::RunContext;
using bench::RunFn;
using bench::RunResult;

namespace {

constexpr pref::RewardKind kGold = pref::RewardKind::target_count;
constexpr int64_t kResponseLen = 8;

// The reward model of rm (flags --rm_*): per-token scores summed over the response (the gold reward
// counts target nouns, an additive quantity) on a freshly initialised trunk, 3000 pairs, 4 epochs: more
// epochs fit the label noise (the per-epoch held-out accuracy is the curve rm_heldout_acc), and an SFT
// trunk lets the model memorise the noisy pairs instead of learning the count. The recipes compared are
// in algorithms/alignment/README.md, each with its command.
struct RewardModelSettings {
  RewardPooling pooling = RewardPooling::token_sum;
  bool trunk_from_sft = false;
  int64_t pairs = 0, epochs = 0;  // 0: by budget
};
RewardModelSettings g_rm;
bool g_ppo_rm_like_rm = false;     // --ppo-rm rm
bool g_overopt_weak_proxy = false;  // --overopt-proxy weak
alignment::RewardTrainConfig reward_train(const RunContext& run) {
  return {.epochs = g_rm.epochs > 0 ? g_rm.epochs : run.pick(4, 4, 1), .batch_size = 64, .lr = 2e-3};
}
int64_t reward_pairs(const RunContext& run) { return g_rm.pairs > 0 ? g_rm.pairs : run.pick(3000, 3000, 64); }

nn::GPTConfig policy_config(bool value_head = false) {
  return {.vocab = pref::vocab_size(), .context = 12, .d_model = 64, .heads = 4, .layers = 2, .value_head = value_head};
}

std::vector<Tokens> sample_prompts(int64_t n, Generator& gen) {
  std::vector<Tokens> p;
  for (int64_t i = 0; i < n; ++i) p.push_back(pref::sample_prompt({}, gen));
  return p;
}

// SFT and the held-out prompts of one seed, computed once and shared by the methods of that seed.
struct SeedWorld {
  std::shared_ptr<nn::GPT> sft;
  std::vector<Tokens> heldout;
  double sft_final_loss = 0;
};

std::shared_ptr<const SeedWorld> build_world(const RunContext& run) {
  auto w = std::make_shared<SeedWorld>();
  Generator gen = run.stream(1);
  const auto corpus = pref::make_corpus(run.pick(6000, 4000, 300), {}, {}, {}, gen);
  w->sft = std::make_shared<nn::GPT>(policy_config(), gen);
  w->sft->to(run.device);  // drawn on the CPU, trained on run.device; its clones stay there
  const auto losses = train_sft(*w->sft, corpus, {.steps = run.pick(1500, 700, 20), .batch_size = 64, .lr = 3e-3}, gen);
  w->sft_final_loss = losses.back();
  Generator held = run.stream(2);
  w->heldout = sample_prompts(run.pick(512, 256, 32), held);
  return w;
}
bench::SeedCache<std::shared_ptr<const SeedWorld>> g_worlds(build_world);

// n labelled pairs of two SFT samples per prompt (ties in gold dropped), with label noise.
std::vector<PreferencePair> sft_pairs(const nn::GPT& sft, int64_t n, double noise, Generator& gen) {
  std::vector<PreferencePair> pairs;
  const pref::LabelConfig label{.reward = kGold, .noise = noise};
  for (int guard = 0; int64_t(pairs.size()) < n && guard < 1000; ++guard) {
    const auto x = sample_prompts(256, gen);
    const auto y1 = sample_responses(sft, x, kResponseLen, gen), y2 = sample_responses(sft, x, kResponseLen, gen);
    for (size_t i = 0; i < x.size() && int64_t(pairs.size()) < n; ++i) {
      PreferencePair p;
      if (pref::label_pair(x[i], y1[i], y2[i], label, gen, p)) pairs.push_back(std::move(p));
    }
  }
  return pairs;
}

void record_eval(RunResult& r, const PolicyEval& e) {
  r.metric("gold_reward", e.gold);
  r.metric("sft_gold_reward", e.sft_gold);
  r.metric("gold_gain_over_sft", e.gold - e.sft_gold);
  r.metric("winrate_vs_sft", e.winrate_vs_sft);
  r.metric("kl", e.kl);
  r.metric("distinct2", e.distinct2);
  r.metric("entropy", e.entropy);
}

RunResult run_rm(const RunContext& run) {
  const auto w = g_worlds.get(run);
  Generator gen = run.stream(10);
  const auto train = sft_pairs(*w->sft, reward_pairs(run), 0.10, gen);
  const auto held = sft_pairs(*w->sft, run.pick(1000, 500, 32), 0.0, gen);
  RewardModel rm(policy_config(), gen, {.pooling = g_rm.pooling, .device = run.device});
  if (g_rm.trunk_from_sft) rm.init_trunk_from(*w->sft);
  RunResult r;
  RewardTrainConfig config = reward_train(run);
  config.on_epoch = [&](int64_t epoch) { r.curve("rm_heldout_acc", double(epoch + 1), accuracy_vs_gold(rm, held)); };
  const auto h = train_reward_model(rm, train, config, gen);
  for (size_t e = 0; e < h.loss.size(); ++e) r.curve("rm_loss", double(e + 1), h.loss[e]);
  r.metric("heldout_acc", accuracy_vs_gold(rm, held));
  r.metric("train_label_acc", h.label_accuracy.back());
  r.metric("measured_label_noise", pref::measured_error_rate(train));
  r.metric("sft_loss", w->sft_final_loss);
  return r;
}

RunFn make_dpo(PreferenceLoss loss) {
  return [loss](const RunContext& run) {
    const auto w = g_worlds.get(run);
    Generator gen = run.stream(20);
    const auto pairs = sft_pairs(*w->sft, run.pick(2000, 1500, 64), 0.10, gen);
    auto policy = clone_gpt(*w->sft);
    const auto ref = clone_gpt(*w->sft);
    DPOConfig cfg{.loss = loss, .beta = 0.1, .label_smoothing = 0.1, .epochs = run.pick(4, 3, 1), .lr = 5e-4};
    if (loss == PreferenceLoss::ipo) cfg.beta = 0.5;  // IPO's margin target 1/(2 beta) = 1 nat
    const DPOHistory h = train_dpo(*policy, *ref, pairs, cfg, gen);
    RunResult r;
    for (size_t e = 0; e < h.loss.size(); ++e) r.curve("dpo_loss", double(e + 1), h.loss[e]);
    Generator eval_gen = run.stream(99);
    record_eval(r, evaluate_policy(*policy, *ref, w->heldout, kGold, kResponseLen, eval_gen));
    r.metric("train_margin", h.margin.back());
    return r;
  };
}

// Runs PPO-RLHF from SFT against `reward`, logging gold, proxy and KL per
// iteration. `arm` is the run's stream for this arm; its forks seed the
// critic (0), PPO (1) and the prompts (2).
struct PPOOutcome {
  std::vector<PPOIterationStats> history;
  std::shared_ptr<nn::GPT> policy;
};
PPOOutcome run_ppo(const SeedWorld& w, const RewardFn& reward, const PPORLHFConfig& cfg, int64_t iterations,
                   const Generator& arm) {
  Generator gen = arm.fork(0);
  auto policy = clone_gpt(*w.sft);
  const auto ref = clone_gpt(*w.sft);
  auto critic = std::make_shared<nn::GPT>(policy_config(true), gen);
  critic->to(w.sft->device());
  {  // the critic's trunk starts from SFT too
    nn::NamedTensors trunk;
    for (auto& [name, t] : w.sft->state_dict())
      if (name.rfind("head.", 0) != 0) trunk.emplace_back(name, t);
    critic->load_state_dict(trunk, false);
  }
  PPORLHF ppo(policy, ref, critic, reward, cfg, arm.fork(1).seed());
  ppo.set_gold(
      [](const std::vector<Tokens>& x, const std::vector<Tokens>& y) { return pref::gold_rewards(kGold, x, y); });
  Generator prompt_gen = arm.fork(2);
  PPOOutcome out;
  out.history = ppo.train(iterations, [&](int64_t n) { return sample_prompts(n, prompt_gen); });
  out.policy = policy;
  return out;
}

// Moving average of the last `k` values of a series (the curves are per-rollout, noisy).
std::vector<double> smooth(const std::vector<double>& v, size_t k) {
  std::vector<double> out;
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    s += v[i];
    if (i >= k) s -= v[i - k];
    out.push_back(s / double(std::min(i + 1, k)));
  }
  return out;
}

void record_ppo_curves(RunResult& r, const std::vector<PPOIterationStats>& h) {
  std::vector<double> gold, proxy, kl;
  for (const auto& s : h) {
    gold.push_back(s.gold);
    proxy.push_back(s.reward);
    kl.push_back(std::max(0.0, s.kl));
  }
  const auto g = smooth(gold, 8), p = smooth(proxy, 8), k = smooth(kl, 8);
  for (size_t i = 0; i < h.size(); ++i) {
    r.curve("gold_vs_iteration", double(i), g[i]);
    r.curve("proxy_vs_iteration", double(i), p[i]);
    r.curve("kl_vs_iteration", double(i), k[i]);
    r.curve("gold_vs_sqrt_kl", std::sqrt(k[i]), g[i]);
    r.curve("proxy_vs_sqrt_kl", std::sqrt(k[i]), p[i]);
  }
}

RunResult run_ppo_rlhf(const RunContext& run) {
  const auto w = g_worlds.get(run);
  Generator gen = run.stream(30);
  // The first reward-model recipe (last-token head, SFT trunk, many epochs; ~0.66-0.75 held-out accuracy):
  // PPO against rm's summed-head model (0.96) rose faster in gold (1.22 at iteration 30 on seed 1, --quick)
  // but then over-optimised it (0.77 at the end, proxy still rising: the sum extrapolates past the gold
  // reward's cap of 2 mentions), so this baseline keeps the recipe its recorded figures used.
  // --ppo-rm rm swaps in the rm case's recipe (summed head, fresh trunk), the trial described above.
  std::unique_ptr<RewardModel> rm_ptr;
  if (g_ppo_rm_like_rm) {
    const auto pairs = sft_pairs(*w->sft, reward_pairs(run), 0.10, gen);
    rm_ptr = std::make_unique<RewardModel>(policy_config(), gen,
                                           RewardModelOptions{.pooling = g_rm.pooling, .device = run.device});
    if (g_rm.trunk_from_sft) rm_ptr->init_trunk_from(*w->sft);
    train_reward_model(*rm_ptr, pairs, reward_train(run), gen);
  } else {
    const auto pairs = sft_pairs(*w->sft, run.pick(3000, 1500, 64), 0.10, gen);
    rm_ptr = std::make_unique<RewardModel>(policy_config(), gen, RewardModelOptions{.device = run.device});
    rm_ptr->init_trunk_from(*w->sft);
    train_reward_model(*rm_ptr, pairs, {.epochs = run.pick(25, 10, 1), .batch_size = 64, .lr = 2e-3}, gen);
  }
  RewardModel& rm = *rm_ptr;
  const PPORLHFConfig cfg{.rollout_prompts = 64, .response_len = kResponseLen, .kl_beta = 0.1, .lr = 2e-4};
  const auto out = run_ppo(*w, rm.reward_fn(), cfg, run.pick(150, 50, 3), run.stream(31));
  RunResult r;
  record_ppo_curves(r, out.history);
  Generator eval_gen = run.stream(99);
  record_eval(r, evaluate_policy(*out.policy, *w->sft, w->heldout, kGold, kResponseLen, eval_gen));
  return r;
}

RunResult run_overopt(const RunContext& run) {
  const auto w = g_worlds.get(run);
  Generator gen = run.stream(40);
  // The proxy. "good" (the default): a summed per-token head on a fresh trunk, 1000 pairs with 10% label
  // noise, 3 epochs, accurate on SFT samples, so PPO first raises the gold reward; it rarely sees more than
  // two target nouns, so it extrapolates "more is better" past the gold reward's cap. "weak" (the earlier
  // proxy): a last-token head on the SFT trunk from 200 pairs with 20% noise, 10 epochs; with it the gold
  // reward barely rose above its start before falling.
  std::unique_ptr<RewardModel> proxy_ptr;
  if (g_overopt_weak_proxy) {
    const auto pairs = sft_pairs(*w->sft, run.pick(200, 200, 32), 0.20, gen);
    proxy_ptr = std::make_unique<RewardModel>(policy_config(), gen, RewardModelOptions{.device = run.device});
    proxy_ptr->init_trunk_from(*w->sft);
    train_reward_model(*proxy_ptr, pairs, {.epochs = run.pick(10, 10, 1), .batch_size = 32, .lr = 1e-3}, gen);
  } else {
    const auto pairs = sft_pairs(*w->sft, run.pick(1000, 1000, 32), 0.10, gen);
    proxy_ptr = std::make_unique<RewardModel>(policy_config(), gen,
                                              RewardModelOptions{.pooling = RewardPooling::token_sum, .device = run.device});
    train_reward_model(*proxy_ptr, pairs, {.epochs = run.pick(3, 3, 1), .batch_size = 32, .lr = 1e-3}, gen);
  }
  RewardModel& proxy = *proxy_ptr;
  // The policy learning rate of ppo_rlhf (2e-4): at 1e-3 the policy fell into a few repeated responses
  // (token entropy 0.05-0.2, distinct-2 under 0.04), a collapse rather than over-optimisation.
  const PPORLHFConfig cfg{.rollout_prompts = 64, .response_len = kResponseLen, .kl_beta = 0.002, .lr = 2e-4};
  const auto out = run_ppo(*w, proxy.reward_fn(), cfg, run.pick(300, 150, 3), run.stream(41));
  RunResult r;
  record_ppo_curves(r, out.history);
  std::vector<double> gold, proxy_r;
  for (const auto& s : out.history) {
    gold.push_back(s.gold);
    proxy_r.push_back(s.reward);
  }
  const auto g = smooth(gold, 8), p = smooth(proxy_r, 8);
  const size_t peak = size_t(std::max_element(g.begin(), g.end()) - g.begin());
  // Drop from the peak, relative to the peak's value: 0.5 = the final gold is half the peak's. (A peak at the
  // first iteration counts too: the gold reward then only fell.)
  r.metric("gold_peak", g[peak]);
  r.metric("gold_final", g.back());
  r.metric("gold_start", g.front());
  r.metric("gold_drop_from_peak", std::abs(g[peak]) > 1e-9 ? (g[peak] - g.back()) / std::abs(g[peak]) : 0.0);
  r.metric("proxy_rise_after_gold_peak", p.back() - p[peak]);
  r.metric("kl_final", out.history.back().kl);
  // Collapsed: the smoothed proxy ends more than half its gain below its peak (alignment::proxy_collapsed),
  // the noise being two standard errors of the last window of the raw proxy.
  const size_t window = std::min<size_t>(8, proxy_r.size());
  const double se = standard_error(std::vector<double>(proxy_r.end() - window, proxy_r.end()));
  r.metric("collapsed", proxy_collapsed(p, 2.0 * se) ? 1.0 : 0.0);
  Generator eval_gen = run.stream(99);
  record_eval(r, evaluate_policy(*out.policy, *w->sft, w->heldout, kGold, kResponseLen, eval_gen));
  return r;
}

}  // namespace

// The experiment; main() below turns any error into a message and exit code 1.
int run_experiment(int argc, char** argv) {
  bench::Cli cli("align_baselines",
                 "SFT, reward model, DPO (cDPO, IPO) and PPO-RLHF in the preference world, and "
                 "reward over-optimisation against a proxy reward model");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/3, /*quick_seeds=*/3);
  std::string methods = "rm,dpo,cdpo,ipo,ppo_rlhf,overopt";
  // The choices by name: checked, then turned into g_rm, g_ppo_rm_like_rm and g_overopt_weak_proxy.
  std::string rm_pooling = "token_sum", rm_trunk = "fresh", ppo_rm = "first", overopt_proxy = "good";
  cli.bind(methods, "--methods", "methods to run");
  cli.bind(rm_pooling, "--rm-pooling", "rm: where the head reads: token_sum, token_mean, last_token");
  cli.bind(rm_trunk, "--rm-trunk", "rm: the trunk at the start: fresh or sft");
  cli.bind(g_rm.pairs, "--rm-pairs", "rm: labelled training pairs (0: 3000, 64 at --smoke)", {0, INT64_MAX});
  cli.bind(g_rm.epochs, "--rm-epochs", "rm: training epochs (0: 4, 1 at --smoke)", {0, INT64_MAX});
  cli.bind(ppo_rm, "--ppo-rm",
           "ppo_rlhf's reward model: first (last-token head on the SFT trunk, the recorded recipe) "
           "or rm (the rm case's recipe and flags)");
  cli.bind(overopt_proxy, "--overopt-proxy",
           "overopt's proxy reward model: good (summed head, 1000 pairs) or weak (last-token "
           "head on the SFT trunk, 200 pairs with 20% noise)");
  cli.parse(argc, argv);
  GL_CHECK(ppo_rm == "first" || ppo_rm == "rm", "--ppo-rm must be first or rm, got '{}'", ppo_rm);
  GL_CHECK(overopt_proxy == "good" || overopt_proxy == "weak", "--overopt-proxy must be good or weak, got '{}'",
           overopt_proxy);
  g_overopt_weak_proxy = overopt_proxy == "weak";
  g_ppo_rm_like_rm = ppo_rm == "rm";
  GL_CHECK(rm_trunk == "fresh" || rm_trunk == "sft", "--rm-trunk must be fresh or sft, got '{}'", rm_trunk);
  GL_CHECK(g_rm.pairs >= 0 && g_rm.epochs >= 0, "--rm-pairs and --rm-epochs must be >= 0, got {} and {}", g_rm.pairs,
           g_rm.epochs);
  g_rm.pooling = reward_pooling_from_string(rm_pooling);
  g_rm.trunk_from_sft = rm_trunk == "sft";
  const std::map<std::string, RunFn> all = {{"rm", run_rm},
                                            {"dpo", make_dpo(PreferenceLoss::dpo)},
                                            {"cdpo", make_dpo(PreferenceLoss::cdpo)},
                                            {"ipo", make_dpo(PreferenceLoss::ipo)},
                                            {"ppo_rlhf", run_ppo_rlhf},
                                            {"overopt", run_overopt}};
  const std::vector<std::string> chosen = bench::split_list(methods);
  for (const std::string& m : chosen)
    GL_CHECK(all.count(m), "--methods: unknown method '{}' (rm, dpo, cdpo, ipo, ppo_rlhf, overopt)", m);
  auto wanted = [&](const std::string& m) { return std::find(chosen.begin(), chosen.end(), m) != chosen.end(); };
  bench::Experiment ex("align_baselines", flags);
  for (const char* m : {"rm", "dpo", "cdpo", "ipo", "ppo_rlhf", "overopt"})
    if (wanted(m)) ex.add(m, all.at(m));
  // Each seed's SFT policy builds as a job of its own, side by side, before the methods.
  ex.prepare("the SFT policy", [](const RunContext& run) { g_worlds.get(run); });
  ex.run();
  ex.report({"heldout_acc", "winrate_vs_sft", "gold_reward", "sft_gold_reward", "kl", "distinct2", "entropy",
             "gold_drop_from_peak", "gold_peak", "gold_final", "proxy_rise_after_gold_peak", "measured_label_noise",
             "seconds"});
  std::vector<std::string> rl_runs;
  for (const char* m : {"overopt", "ppo_rlhf"})
    if (wanted(m)) rl_runs.push_back(m);
  if (!rl_runs.empty()) {
    ex.plot("gold_vs_sqrt_kl", "overopt_gold_vs_sqrt_kl", "sqrt(KL(pi || pi_sft)) [sqrt nats]", "gold reward", rl_runs);
    ex.plot("proxy_vs_sqrt_kl", "overopt_proxy_vs_sqrt_kl", "sqrt(KL(pi || pi_sft)) [sqrt nats]",
            "reward being optimised (proxy RM)", rl_runs);
  }

  // Every claim by the paired-interval rule over seeds (bench::paired_verdict): a threshold claim on the
  // per-seed values minus the threshold, a gain on the per-seed gains.
  using bench::paired_verdict;
  using bench::stat_of;
  if (wanted("rm")) {
    const bench::Stat acc = ex.stat("rm", "heldout_acc");
    ex.claim("reward model: >= 85% held-out accuracy against gold, trained with 10% label noise",
             paired_verdict(stat_of(bench::minus(acc.values, 0.85))),
             fmt::format("heldout_acc {} (seeds: {})", bench::format_stat(acc, 3),
                         bench::seed_values(ex, "rm", "heldout_acc")));
  }
  if (wanted("dpo")) {
    const bench::Stat win = ex.stat("dpo", "winrate_vs_sft");
    ex.claim("DPO: win rate against SFT >= 70% under the gold reward",
             paired_verdict(stat_of(bench::minus(win.values, 0.70))),
             fmt::format("winrate_vs_sft {} (seeds: {})", bench::format_stat(win, 3),
                         bench::seed_values(ex, "dpo", "winrate_vs_sft")));
  }
  if (wanted("ppo_rlhf")) {
    ex.claim(
        "PPO-RLHF raises the gold reward over SFT", paired_verdict(ex.stat("ppo_rlhf", "gold_gain_over_sft")),
        fmt::format("gold {} vs SFT {} (gain per seed: {})", bench::format_stat(ex.stat("ppo_rlhf", "gold_reward"), 3),
                    bench::format_stat(ex.stat("ppo_rlhf", "sft_gold_reward"), 3),
                    bench::seed_values(ex, "ppo_rlhf", "gold_gain_over_sft")));
  }
  if (wanted("overopt")) {
    // Three parts, each over seeds: the gold reward first rises above its start (the peak is not the start),
    // then falls by >= 10% of the peak, while the proxy keeps rising after the gold peak.
    // Runs whose proxy collapsed are left out (counted in the result text).
    std::vector<double> drops, rises, peak, start, final_gold;
    int collapsed = 0;
    for (const auto& r : ex.runs("overopt")) {
      if (r.metrics.at("collapsed") > 0) {
        ++collapsed;
        continue;
      }
      drops.push_back(r.metrics.at("gold_drop_from_peak"));
      rises.push_back(r.metrics.at("proxy_rise_after_gold_peak"));
      peak.push_back(r.metrics.at("gold_peak"));
      start.push_back(r.metrics.at("gold_start"));
      final_gold.push_back(r.metrics.at("gold_final"));
    }
    const bench::Stat drop = stat_of(drops), rise = stat_of(rises);
    const bench::Verdict v =
        bench::all_of({paired_verdict(stat_of(bench::paired_differences(peak, start))),
                       paired_verdict(stat_of(bench::minus(drop.values, 0.10))), paired_verdict(rise)});
    ex.claim(
        "over-optimisation: the gold reward rises, peaks, then drops >= 10% while the proxy reward rises", v,
        fmt::format("gold start {} -> peak {} -> final {}; drop from peak {} (seeds: {}); proxy change after the gold "
                    "peak {}",
                    bench::format_stat(stat_of(start), 3), bench::format_stat(stat_of(peak), 3),
                    bench::format_stat(stat_of(final_gold), 3), bench::format_stat(drop, 3),
                    bench::seed_values(ex, "overopt", "gold_drop_from_peak"), bench::format_stat(rise, 3)) +
            fmt::format("; collapsed runs (proxy fell, left out) {}/{}", collapsed, ex.runs("overopt").size()));
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
