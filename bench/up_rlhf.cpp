// The UP-RLHF experiment (docs/papers/up-rlhf.md): PPO-RLHF in the
// preference world on rewards learned from the same noisy pairs. The 2x2 that
// separates the paper's two ideas, and the baselines:
//   up_rlhf        diverse LoRA ensemble, r_bar - lambda (u - u_bar)   (diversity on,  penalty on)
//   diverse_mean   diverse LoRA ensemble, r_bar                        (diversity on,  penalty off)
//   plain_penalty  plain LoRA ensemble,   r_bar - lambda (u - u_bar)   (diversity off, penalty on)
//   ensemble_mean  plain LoRA ensemble,   r_bar                        (diversity off, penalty off)
//   single_rm      one reward model (the ensembles' trunk), at the common KL
//                  coefficient and under an adaptive KL controller at each
//                  target of --kl-targets (the matched-KL comparison)
//   uwo            plain ensemble, r_bar - lambda_uwo Var_k r_k
//   wco            plain ensemble, min_k r_k
//   gold           the gold reward itself (the control: PPO is stable here)
// and, by flag, UP-RLHF's sweeps over lambda and beta_1 and the KL taken
// inside the reward instead of the separate J_KL term.
// Per seed, the SFT policy, the single reward model (also the ensembles'
// frozen trunk) and both ensembles are trained once and shared by the
// methods. Reported: gold and proxy reward against sqrt(KL), peak and final
// gold and the over-optimisation gap, whether a run collapsed (its proxy
// fell: counted apart, never averaged in), the AUROC with which ensemble std
// separates late-policy from SFT samples, and the reward models' ECE on test
// pairs and on (late policy, SFT) pairs.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "bench/common/experiment.h"
#include "bench/up_rlhf_arms.h"
#include "tensor/atomic_file.h"

using namespace gradlab;
using namespace gradlab::bench::up_rlhf_experiment;
using bench::Budget;
using bench::RunContext;
using bench::RunResult;

namespace {

// The single RM's (sqrt KL, final gold) points that did not collapse: the
// adaptive-KL runs and the headline run.
std::vector<std::pair<double, double>> single_rm_points(const RunResult& single) {
  std::vector<std::pair<double, double>> pts;
  auto add = [&](const std::string& suffix) {
    auto k = single.metrics.find("final_sqrt_kl" + suffix);
    if (k != single.metrics.end()) pts.emplace_back(k->second, single.metrics.at("final_gold" + suffix));
  };
  add("");
  for (int i = 0; single.metrics.count(fmt::format("collapsed_t{}", i)); ++i) add(fmt::format("_t{}", i));
  std::sort(pts.begin(), pts.end());
  return pts;
}

// The value of a metric in run i of a method, when that run recorded it.
std::optional<double> metric_of(const bench::Experiment& ex, const std::string& method, size_t i,
                                const std::string& metric) {
  const auto& runs = ex.runs(method);
  if (i >= runs.size()) return std::nullopt;
  auto it = runs[i].metrics.find(metric);
  if (it == runs[i].metrics.end()) return std::nullopt;
  return it->second;
}

// Per-seed differences a - b of a metric over the seeds where both runs recorded it (neither collapsed).
bench::Stat paired_stat(const bench::Experiment& ex, const std::string& a, const std::string& b,
                        const std::string& metric) {
  std::vector<double> d;
  for (size_t i = 0; i < ex.runs(a).size(); ++i) {
    const auto va = metric_of(ex, a, i, metric), vb = metric_of(ex, b, i, metric);
    if (va && vb) d.push_back(*va - *vb);
  }
  return bench::stat_of(d);
}

// How many of a method's runs collapsed, and "n/runs" for a claim's text.
int collapsed_runs(const bench::Experiment& ex, const std::string& method) {
  int n = 0;
  for (const auto& r : ex.runs(method)) n += r.metrics.count("collapsed") && r.metrics.at("collapsed") > 0;
  return n;
}
std::string collapsed_count(const bench::Experiment& ex, const std::string& method) {
  return fmt::format("{}/{}", collapsed_runs(ex, method), ex.runs(method).size());
}

std::string number_text(double v) { return fmt::format("{:g}", v); }

}  // namespace

// The experiment; main() below turns any error into a message and exit code 1.
int run_experiment(int argc, char** argv) {
  bench::Cli cli("up_rlhf", "UP-RLHF: diverse reward LoRA ensembles and uncertainty-penalised RLHF");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/5, /*quick_seeds=*/3);
  Settings s;
  std::string rm_trunk = "fresh", kl_targets = "3,10,30", lambda_sweep, beta_sweep;
  std::string methods = "up_rlhf,single_rm,ensemble_mean,diverse_mean,plain_penalty,uwo,wco,gold";
  cli.bind(s.d_model, "--d-model", "width of the policy and reward GPTs", {1, 65536});
  cli.bind(s.members, "--members", "K, LoRA members of the ensembles", {1, 1024});
  cli.bind(s.rank, "--rank", "LoRA rank r", {1, 65536});
  cli.bind(s.lora_init, "--lora-init", "how each LoRA A starts: gaussian (N(0, 1/r^2)) or uniform");
  cli.bind(s.alpha, "--alpha", "weight of the diversity term (the diverse ensemble)");
  cli.bind(s.diversity, "--diversity", "diversity norm: plain, scale_invariant, upstream");
  cli.bind(s.kl_mode, "--kl-mode", "KL to pi_SFT: token_penalty, sequence_term (J_KL), off");
  cli.bind(s.kl_beta, "--kl-beta", "beta_1 of every method");
  cli.bind(kl_targets, "--kl-targets",
           "single_rm's adaptive-KL runs: target KL(pi || pi_SFT) in nats, comma-separated");
  cli.bind(s.kl_rate, "--kl-rate", "gain of the adaptive KL controller");
  cli.bind(s.kl_start, "--kl-start", "the adaptive KL runs' starting coefficient");
  cli.bind(s.lambda, "--lambda", "beta_2 of UP-RLHF's penalty r_bar - beta_2 (u - u_bar)");
  cli.bind(s.uwo_lambda, "--uwo-lambda", "lambda of UWO, r_bar - lambda Var");
  cli.bind(lambda_sweep, "--lambda-sweep", "extra up_rlhf runs at these beta_2 values (methods up_rlhf/lambda=X)");
  cli.bind(beta_sweep, "--beta-sweep", "extra up_rlhf runs at these beta_1 values, 0 included (up_rlhf/beta1=X)");
  cli.bind(s.kl_in_reward_arm, "--kl-in-reward-arm",
           "an extra up_rlhf run with the KL inside the reward (up_rlhf/kl_in_reward)");
  cli.bind(s.label_noise, "--label-noise", "label flip probability of the preference pairs");
  cli.bind(s.bt_beta, "--bt-beta", "Bradley-Terry inverse temperature of the labels (0: gold order)");
  cli.bind(s.rm_pairs, "--rm-pairs", "labelled SFT-sample pairs the reward models learn from", {0, INT64_MAX});
  cli.bind(s.rm_epochs, "--rm-epochs", "epochs of the single reward model", {0, INT64_MAX});
  cli.bind(s.rm_lr, "--rm-lr", "learning rate of the single reward model");
  cli.bind(rm_trunk, "--rm-trunk", "the reward model's trunk at the start: fresh or sft");
  cli.bind(s.rm_pooling, "--rm-pooling",
           "where every reward head reads the response: token_sum, token_mean or last_token");
  cli.bind(s.ens_epochs, "--ens-epochs", "epochs of each LoRA ensemble", {1, INT64_MAX});
  cli.bind(s.ens_lr, "--ens-lr", "learning rate of the LoRA ensembles");
  cli.bind(s.ppo_iters, "--ppo-iters", "PPO iterations (0: by budget, 300 full / 120 quick / 3 smoke)", {0, INT64_MAX});
  cli.bind(s.eval_every, "--eval-every", "PPO iterations between evaluations", {1, INT64_MAX});
  cli.bind(s.policy_lr, "--policy-lr", "PPO policy learning rate");
  cli.bind(methods, "--methods", "methods to run (the sweep flags add their own)");
  cli.parse(argc, argv);
  // Validate every choice before any work.
  nn::lora_init_from_string(s.lora_init);
  GL_CHECK(s.kl_start > 0 && s.kl_rate > 0, "up_rlhf: --kl-start ({}) and --kl-rate ({}) must be > 0", s.kl_start,
           s.kl_rate);
  GL_CHECK(rm_trunk == "fresh" || rm_trunk == "sft", "up_rlhf: --rm-trunk must be fresh or sft, got '{}'", rm_trunk);
  s.rm_trunk_from_sft = rm_trunk == "sft";
  reward_pooling_from_string(s.rm_pooling);
  s.kl_targets = bench::parse_real_list(kl_targets, "--kl-targets");
  GL_CHECK(!s.kl_targets.empty(), "up_rlhf: --kl-targets is empty");
  for (double t : s.kl_targets) GL_CHECK(t > 0, "up_rlhf: --kl-targets must be positive, got {}", t);
  if (!lambda_sweep.empty()) s.lambda_sweep = bench::parse_real_list(lambda_sweep, "--lambda-sweep");
  if (!beta_sweep.empty()) s.beta_sweep = bench::parse_real_list(beta_sweep, "--beta-sweep");
  for (double b : s.beta_sweep) GL_CHECK(b >= 0, "up_rlhf: --beta-sweep values must be >= 0, got {}", b);
  diversity_norm_from_string(s.diversity);
  const KLMode mode = kl_mode_from_string(s.kl_mode);

  bench::Experiment ex("up_rlhf", flags);
  std::mutex diversity_mutex;
  std::map<uint64_t, std::string> diversity_rows;  // by seed: seeds build side by side, the file lists them in order
  AssetCache cache([&](const RunContext& run) {
    SeedAssets assets = build_assets(s, run);
    std::string rows;
    for (const auto& [which, epochs] : assets.diversity_ratios)
      for (size_t e = 0; e < epochs.size(); ++e)
        for (size_t m = 0; m < epochs[e].size(); ++m)
          rows += fmt::format("{},{},{},{},{}\n", run.seed, which, e, m, epochs[e][m]);
    std::lock_guard<std::mutex> lock(diversity_mutex);
    diversity_rows[run.seed] = rows;
    return assets;
  });
  const std::vector<std::string> known = {"up_rlhf",       "single_rm", "ensemble_mean", "diverse_mean",
                                          "plain_penalty", "uwo",       "wco",           "gold"};
  const std::vector<std::string> chosen = bench::split_list(methods);
  for (const std::string& m : chosen)
    GL_CHECK(std::find(known.begin(), known.end(), m) != known.end(),
             "up_rlhf: --methods: unknown method '{}' (up_rlhf, single_rm, ensemble_mean, diverse_mean, "
             "plain_penalty, uwo, wco, gold)",
             m);
  auto wanted = [&](const std::string& m) { return std::find(chosen.begin(), chosen.end(), m) != chosen.end(); };
  GL_CHECK(mode != KLMode::off || !wanted("single_rm"),
           "up_rlhf: --kl-mode off leaves single_rm's adaptive KL runs nothing to adapt");
  const KLSetting common{mode, s.kl_beta, 0.0};
  auto add_arm = [&](const std::string& name, const EnsembleArm& arm) {
    ex.add(name, [&s, &cache, arm](const RunContext& run) { return ensemble_method(s, cache, run, arm); });
  };
  const PenaltyOptions none{.kind = PenaltyKind::mean};
  if (wanted("up_rlhf")) add_arm("up_rlhf", {true, up_rlhf_penalty(s.lambda), common, 1});
  if (wanted("single_rm")) ex.add("single_rm", [&](const RunContext& run) { return single_rm_method(s, cache, run); });
  if (wanted("ensemble_mean")) add_arm("ensemble_mean", {false, none, common, 2});
  if (wanted("diverse_mean")) add_arm("diverse_mean", {true, none, common, 5});
  if (wanted("plain_penalty")) add_arm("plain_penalty", {false, up_rlhf_penalty(s.lambda), common, 6});
  if (wanted("uwo")) add_arm("uwo", {false, uwo_penalty(s.uwo_lambda), common, 3});
  if (wanted("wco")) add_arm("wco", {false, {.kind = PenaltyKind::wco}, common, 4});
  if (wanted("gold")) ex.add("gold", [&](const RunContext& run) { return gold_method(s, cache, run); });
  for (size_t i = 0; i < s.lambda_sweep.size(); ++i)
    add_arm("up_rlhf/lambda=" + number_text(s.lambda_sweep[i]),
            {true, up_rlhf_penalty(s.lambda_sweep[i]), common, 10 + i});
  for (size_t i = 0; i < s.beta_sweep.size(); ++i)
    add_arm("up_rlhf/beta1=" + number_text(s.beta_sweep[i]),
            {true, up_rlhf_penalty(s.lambda), {mode, s.beta_sweep[i], 0.0}, 30 + i});
  if (s.kl_in_reward_arm)
    add_arm("up_rlhf/kl_in_reward", {true, up_rlhf_penalty(s.lambda), {KLMode::token_penalty, s.kl_beta, 0.0}, 50});
  // Each seed's SFT policy and reward models build as a job of their own, side by side, before the arms.
  ex.prepare("the SFT policy and reward models", [&](const RunContext& run) { cache.get(run); });
  ex.run();
  std::string diversity_csv = "seed,ensemble,epoch,module,ratio\n";
  for (const auto& [seed, rows] : diversity_rows) diversity_csv += rows;
  write_file_atomic(ex.out_dir() + "/diversity.csv", diversity_csv);
  // The collapse flag per seed in the JSONL (also a column of the table: the share of runs that collapsed).
  bench::Experiment::ExtraFields extra;
  for (const std::string& m : ex.methods()) {
    auto& fields = extra[{m, "collapsed"}];
    const auto& runs = ex.runs(m);
    for (size_t i = 0; i < runs.size(); ++i)
      if (runs[i].metrics.count("collapsed"))
        fields[fmt::format("seed_{}", flags.seed + int64_t(i))] = runs[i].metrics.at("collapsed");
  }
  ex.report({"collapsed", "final_gold", "peak_gold", "gold_rise", "overopt_gap", "final_proxy", "final_sqrt_kl",
             "auroc", "auroc_diverse", "auroc_plain", "ece", "ece_late", "accuracy_late", "rm_accuracy",
             "diversity_ratio_start", "diversity_ratio_end"},
            extra);
  ex.plot("gold_vs_sqrt_kl", "gold_vs_sqrt_kl", "sqrt KL(pi || pi_SFT)", "gold reward");
  ex.plot("proxy_vs_sqrt_kl", "proxy_vs_sqrt_kl", "sqrt KL(pi || pi_SFT)", "proxy reward (RM mean)");
  for (const std::string& m : ex.methods())
    if (collapsed_runs(ex, m) > 0)
      fmt::print("{}: {} runs collapsed (proxy fell); they are left out of the table's figures and the claims\n", m,
                 collapsed_count(ex, m));

  // Claim 1: UP-RLHF vs the single RM at matched KL, and the over-optimisation gap.
  if (wanted("up_rlhf") && wanted("single_rm")) {
    const auto& up = ex.runs("up_rlhf");
    const auto& single = ex.runs("single_rm");
    std::vector<double> diff;
    int wins = 0, inside = 0;
    for (size_t i = 0; i < up.size() && i < single.size(); ++i) {
      const auto x = metric_of(ex, "up_rlhf", i, "final_sqrt_kl");
      const auto pts = single_rm_points(single[i]);
      if (!x || pts.empty()) continue;
      diff.push_back(*metric_of(ex, "up_rlhf", i, "final_gold") - bench::interpolate(pts, *x));
      wins += diff.back() > 0;
      inside += *x >= pts.front().first && *x <= pts.back().first;
    }
    const bench::Stat d = bench::stat_of(diff);
    // The single RM's over-optimisation gap above UP-RLHF's, paired by seed.
    const bench::Stat gap_diff = paired_stat(ex, "single_rm", "up_rlhf", "overopt_gap");
    ex.claim(
        "UP-RLHF keeps a higher final gold reward than the single RM at matched KL with a smaller "
        "over-optimisation gap",
        bench::all_of({bench::paired_verdict(d), bench::paired_verdict(gap_diff)}),
        fmt::format("final gold minus the single RM's at matched sqrt KL (interpolated along its adaptive-KL runs): "
                    "{} ({}/{} seeds > 0; {} inside the single RM's KL range); gap single_rm - up_rlhf {}; "
                    "collapsed runs up_rlhf {}, single_rm {}",
                    bench::format_stat(d, 3), wins, diff.size(), inside, bench::format_stat(gap_diff, 3),
                    collapsed_count(ex, "up_rlhf"), collapsed_count(ex, "single_rm")));
  }
  // Claim 2: the diverse ensemble's std separates late-policy from SFT samples better. A seed's methods
  // share its two ensembles, so the runs of one seed are averaged first: one difference per seed.
  {
    std::map<size_t, std::pair<double, int>> per_seed;  // seed index -> (sum, count)
    for (const std::string& m : ex.methods()) {
      const auto& runs = ex.runs(m);
      for (size_t i = 0; i < runs.size(); ++i)
        if (runs[i].metrics.count("auroc_diverse") && !runs[i].metrics.count("collapsed_final_gold")) {
          per_seed[i].first += runs[i].metrics.at("auroc_diverse") - runs[i].metrics.at("auroc_plain");
          per_seed[i].second += 1;
        }
    }
    std::vector<double> diff;
    for (const auto& [seed, sum_count] : per_seed) diff.push_back(sum_count.first / sum_count.second);
    if (!diff.empty()) {
      const bench::Stat d = bench::stat_of(diff);
      std::string own;
      if (wanted("up_rlhf") && wanted("ensemble_mean"))
        own = fmt::format("; each method's own ensemble: up_rlhf {} vs ensemble_mean {}",
                          bench::format_stat(ex.stat("up_rlhf", "auroc"), 3),
                          bench::format_stat(ex.stat("ensemble_mean", "auroc"), 3));
      ex.claim("diversity raises the AUROC over the non-diverse ensemble", bench::paired_verdict(d),
               fmt::format("AUROC(diverse) - AUROC(plain) on the same late-policy samples, per seed (mean of its "
                           "runs that did not collapse): {} (n={}){}",
                           bench::format_stat(d, 3), d.n, own));
    }
  }
  // The 2x2: each of the paper's two ideas on its own, by final gold (paired by seed, collapsed runs out).
  auto gold_claim = [&](const std::string& text, const std::string& a, const std::string& b) {
    if (!wanted(a) || !wanted(b)) return;
    const bench::Stat d = paired_stat(ex, a, b, "final_gold");
    ex.claim(text, bench::paired_verdict(d),
             fmt::format("final gold {} - {}: {} (n={}); collapsed runs {} {}, {} {}", a, b, bench::format_stat(d, 3),
                         d.n, a, collapsed_count(ex, a), b, collapsed_count(ex, b)));
  };
  gold_claim("the uncertainty penalty raises the final gold reward (diverse ensemble)", "up_rlhf", "diverse_mean");
  gold_claim("the uncertainty penalty raises the final gold reward (plain ensemble)", "plain_penalty", "ensemble_mean");
  gold_claim("the diversity term raises the final gold reward under the penalty", "up_rlhf", "plain_penalty");
  gold_claim("UP-RLHF ends with a higher gold reward than UWO", "up_rlhf", "uwo");
  gold_claim("UP-RLHF ends with a higher gold reward than WCO", "up_rlhf", "wco");
  // The set-up itself: without a penalty the gold reward first rises above SFT, then falls.
  if (wanted("single_rm")) {
    const bench::Stat rise = bench::stat_of(ex.values("single_rm", "gold_rise"));
    const bench::Stat fall = bench::stat_of(ex.values("single_rm", "overopt_gap"));
    ex.claim("without a penalty the gold reward peaks and then falls (single RM, over-optimisation)",
             bench::all_of({bench::paired_verdict(rise), bench::paired_verdict(fall)}),
             fmt::format("single_rm peak gold - SFT start {}, peak - final {} (n={}; collapsed runs {})",
                         bench::format_stat(rise, 3), bench::format_stat(fall, 3), fall.n,
                         collapsed_count(ex, "single_rm")));
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
