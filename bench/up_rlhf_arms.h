// The methods of build/bench/up_rlhf (bench/up_rlhf.cpp): one PPO-RLHF run
// from the seed's SFT policy on a given reward, evaluated on the held-out
// prompts as it goes (gold, proxy, KL to the SFT policy), what each run
// records (peak and final gold, the over-optimisation gap, whether it
// collapsed, the ensembles' AUROC and calibration where the policy went), and
// the three kinds of arm: on an ensemble, on the single reward model (with
// its matched-KL runs) and on the gold reward.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/alignment/ppo_rlhf.h"
#include "bench/up_rlhf_assets.h"

namespace gradlab::bench::up_rlhf_experiment {

// One policy evaluation on the held-out prompts.
struct EvalPoint {
  double gold = 0, proxy = 0, proxy_se = 0, kl = 0, kl_coef = 0;
  std::vector<Tokens> responses;
};

// PPO-RLHF from the SFT policy on `reward`, evaluated every eval_every
// iterations (and before the first) on the held-out prompts: gold, proxy
// (the reward model's unpenalised score) and sampled KL to pi_SFT.
struct PPOOutcome {
  std::vector<int64_t> iterations;
  std::vector<EvalPoint> evals;
};
using ProxyFn = std::function<std::vector<double>(const std::vector<Tokens>&, const std::vector<Tokens>&)>;

// How one PPO run handles the KL to pi_SFT: the mode, beta_1 and, when kl_target > 0, the adaptive
// controller's target (beta_1 is then its starting value).
struct KLSetting {
  KLMode mode = KLMode::sequence_term;
  double beta = 0, target = 0;
};

inline PPOOutcome run_ppo(const Settings& s, const SeedAssets& a, const RunContext& run, const RewardFn& reward,
                          const ProxyFn& proxy, const KLSetting& kl, uint64_t stream) {
  auto sft = rebuild_gpt(a.policy_config, a.sft, run.device);
  sft->freeze();
  auto policy = rebuild_gpt(a.policy_config, a.sft, run.device);
  nn::GPTConfig critic_config = a.policy_config;
  critic_config.value_head = true;
  // The arm's own stream; its forks seed the critic (0), PPO (1), the
  // evaluation samples (2) and the prompts (3).
  const Generator arm = run.stream(100 + stream);
  Generator gen = arm.fork(0);
  auto critic = std::make_shared<nn::GPT>(critic_config, gen);
  critic->to(run.device);
  critic->load_state_dict(a.sft, /*strict=*/false);  // trunk from SFT, a fresh value head
  PPORLHFConfig pc{.rollout_prompts = s.rollout, .response_len = 8, .lr = s.policy_lr};
  set_kl_mode(pc, kl.mode, kl.beta);
  pc.kl_target = kl.target;
  pc.kl_rate = s.kl_rate;
  PPORLHF ppo(policy, sft, critic, reward, pc, arm.fork(1).seed());
  const int64_t iterations = s.ppo_iters > 0 && run.budget != Budget::smoke ? s.ppo_iters : run.pick(300, 120, 3);
  const int64_t every = run.budget == Budget::smoke ? 3 : s.eval_every;
  Generator eval_gen = arm.fork(2);
  PPOOutcome out;
  auto evaluate = [&](int64_t it) {
    EvalPoint e;
    e.responses = sample_responses(*policy, a.eval_prompts, 8, eval_gen);
    e.gold = mean_of(pref::gold_rewards(pref::RewardKind::target_count, a.eval_prompts, e.responses));
    const std::vector<double> p = proxy(a.eval_prompts, e.responses);
    e.proxy = mean_of(p);
    e.proxy_se = standard_error(p);
    e.kl = sampled_kl(*policy, *sft, a.eval_prompts, e.responses);
    e.kl_coef = active_kl_coefficient(ppo.config());
    out.iterations.push_back(it);
    out.evals.push_back(std::move(e));
  };
  evaluate(0);
  Generator prompt_gen = arm.fork(3);
  for (int64_t it = 1; it <= iterations; ++it) {
    ppo.step(sample_prompts(s.rollout, prompt_gen));
    if (it % every == 0 || it == iterations) evaluate(it);
  }
  return out;
}

inline double sqrt_kl(double kl) { return std::sqrt(std::max(0.0, kl)); }

// Whether the run's proxy fell (proxy_collapsed, with two standard errors of
// the final evaluation as the noise).
inline bool collapsed(const PPOOutcome& o) {
  std::vector<double> proxy;
  for (const EvalPoint& e : o.evals) proxy.push_back(e.proxy);
  return proxy_collapsed(proxy, 2.0 * o.evals.back().proxy_se);
}

// The headline figures of one PPO outcome under a name suffix, and its
// curves when it is the run's headline (suffix empty). A collapsed run's
// figures are kept under "collapsed_" names, so the tables and claims built
// on the plain names count only the runs that did not collapse.
inline void record_outcome(RunResult& r, const PPOOutcome& o, const std::string& suffix) {
  double peak = -1e300;
  for (size_t i = 0; i < o.evals.size(); ++i) {
    const EvalPoint& e = o.evals[i];
    peak = std::max(peak, e.gold);
    if (suffix.empty()) {
      r.curve("gold_vs_sqrt_kl", sqrt_kl(e.kl), e.gold);
      r.curve("proxy_vs_sqrt_kl", sqrt_kl(e.kl), e.proxy);
      r.curve("gold", double(o.iterations[i]), e.gold);
      r.curve("proxy", double(o.iterations[i]), e.proxy);
      r.curve("kl", double(o.iterations[i]), e.kl);
    }
  }
  const bool fell = collapsed(o);
  r.metric("collapsed" + suffix, fell ? 1.0 : 0.0);
  const std::string prefix = fell ? "collapsed_" : "";
  const EvalPoint& last = o.evals.back();
  r.metric(prefix + "final_gold" + suffix, last.gold);
  r.metric(prefix + "peak_gold" + suffix, peak);
  r.metric(prefix + "overopt_gap" + suffix, peak - last.gold);           // peak - final
  r.metric(prefix + "gold_rise" + suffix, peak - o.evals.front().gold);  // peak - SFT start
  r.metric(prefix + "final_proxy" + suffix, last.proxy);
  r.metric(prefix + "final_kl" + suffix, last.kl);
  r.metric(prefix + "final_sqrt_kl" + suffix, sqrt_kl(last.kl));
  r.metric("final_kl_coef" + suffix, last.kl_coef);
}

// AUROC of each ensemble's std: late-policy samples (positives) against SFT
// samples (negatives) on the same held-out prompts.
inline void record_auroc(RunResult& r, const SeedAssets& a, const nn::GPT& trunk, const Settings& s,
                         const std::vector<Tokens>& late, const std::string& own) {
  for (const char* which : {"plain", "diverse"}) {
    const bool diverse = std::string(which) == "diverse";
    auto ens = rebuild_ensemble(trunk, ensemble_options(s, diverse), diverse ? a.diverse_ensemble : a.plain_ensemble);
    const auto u_late = ensemble_uncertainty(score_members(*ens, a.eval_prompts, late)).to_vector<double>();
    const auto u_sft =
        ensemble_uncertainty(score_members(*ens, a.eval_prompts, a.sft_eval_responses)).to_vector<double>();
    const double value = auroc(u_late, u_sft);
    r.metric(std::string("auroc_") + which, value);
    if (own == which) r.metric("auroc", value);
  }
}

// ECE and accuracy of a reward model where the policy went: pairs of the
// last policy's response and the SFT response to the same held-out prompt,
// labelled by the gold reward (gold ties dropped).
inline void record_late_calibration(RunResult& r, const SeedAssets& a, const ProxyFn& score,
                                    const std::vector<Tokens>& late) {
  const auto g_late = pref::gold_rewards(pref::RewardKind::target_count, a.eval_prompts, late);
  const auto g_sft = pref::gold_rewards(pref::RewardKind::target_count, a.eval_prompts, a.sft_eval_responses);
  const std::vector<double> r_late = score(a.eval_prompts, late), r_sft = score(a.eval_prompts, a.sft_eval_responses);
  std::vector<double> margins;
  std::vector<bool> late_preferred;
  for (size_t i = 0; i < late.size(); ++i) {
    if (g_late[i] == g_sft[i]) continue;
    margins.push_back(r_late[i] - r_sft[i]);
    late_preferred.push_back(g_late[i] > g_sft[i]);
  }
  r.metric("late_pairs", double(margins.size()));
  if (margins.empty()) return;
  const Calibration c = preference_calibration(margins, late_preferred, 15);
  r.metric("ece_late", c.ece);
  r.metric("accuracy_late", c.accuracy);
}

// A method on one of the two ensembles.
struct EnsembleArm {
  bool diverse = false;
  PenaltyOptions penalty;
  KLSetting kl;
  uint64_t stream = 0;
};

inline RunResult ensemble_method(const Settings& s, AssetCache& cache, const RunContext& run, const EnsembleArm& arm) {
  const SeedAssets& a = cache.get(run);
  RunResult r;
  auto trunk = rebuild_gpt(a.rm_config, a.single_rm, run.device);
  std::shared_ptr<const RewardEnsemble> ens =
      rebuild_ensemble(*trunk, ensemble_options(s, arm.diverse), arm.diverse ? a.diverse_ensemble : a.plain_ensemble);
  EnsembleReward reward(ens, arm.penalty);
  const ProxyFn proxy = [&](const auto& p, const auto& y) { return ensemble_mean_scores(*ens, p, y); };
  const PPOOutcome o = run_ppo(s, a, run, reward.reward_fn(), proxy, arm.kl, arm.stream);
  record_outcome(r, o, "");
  const char* which = arm.diverse ? "diverse" : "plain";
  record_auroc(r, a, *trunk, s, o.evals.back().responses, which);
  record_late_calibration(r, a, proxy, o.evals.back().responses);
  r.metric("ece", a.ece.at(which));
  r.metric("rm_accuracy", a.accuracy.at(which));
  const auto& ratios = a.diversity_ratios.at(which);
  r.metric("diversity_ratio_start", mean_of(ratios.front()));
  r.metric("diversity_ratio_end", mean_of(ratios.back()));
  if (arm.penalty.kind == PenaltyKind::uncertainty && arm.penalty.centered)
    r.metric("running_u", reward.running_uncertainty());
  return r;
}

inline RunResult single_rm_method(const Settings& s, AssetCache& cache, const RunContext& run) {
  const SeedAssets& a = cache.get(run);
  RunResult r;
  Generator scratch(0);
  RewardModel rm(a.rm_config, scratch, {.pooling = reward_pooling_from_string(s.rm_pooling), .device = run.device});
  rm.model->load_state_dict(a.single_rm);
  const nn::GPT& trunk = *rm.model;
  const ProxyFn proxy = [&](const auto& p, const auto& y) { return rm.score(p, y); };
  const KLMode mode = kl_mode_from_string(s.kl_mode);
  // The headline run: the common fixed beta_1.
  const PPOOutcome o = run_ppo(s, a, run, rm.reward_fn(), proxy, {mode, s.kl_beta, 0.0}, 100);
  record_outcome(r, o, "");
  record_auroc(r, a, trunk, s, o.evals.back().responses, "");
  record_late_calibration(r, a, proxy, o.evals.back().responses);
  // The matched-KL runs: the adaptive controller holds KL near each target.
  const std::vector<double> targets =
      run.budget == Budget::smoke ? std::vector<double>{s.kl_targets.front()} : s.kl_targets;
  for (size_t i = 0; i < targets.size(); ++i) {
    const PPOOutcome t = run_ppo(s, a, run, rm.reward_fn(), proxy, {mode, s.kl_start, targets[i]}, 101 + i);
    record_outcome(r, t, fmt::format("_t{}", i));
    for (size_t j = 0; j < t.evals.size(); ++j)
      r.curve(fmt::format("kl_target{}", i), double(t.iterations[j]), t.evals[j].kl);
  }
  r.metric("ece", a.ece.at("single"));
  r.metric("rm_accuracy", a.accuracy.at("single"));
  return r;
}

// The control: PPO on the gold reward itself (the proxy is the gold reward).
inline RunResult gold_method(const Settings& s, AssetCache& cache, const RunContext& run) {
  const SeedAssets& a = cache.get(run);
  RunResult r;
  const RewardFn gold = [](const std::vector<Tokens>& p, const std::vector<Tokens>& y) {
    return pref::gold_rewards(pref::RewardKind::target_count, p, y);
  };
  const PPOOutcome o = run_ppo(s, a, run, gold, gold, {kl_mode_from_string(s.kl_mode), s.kl_beta, 0.0}, 200);
  record_outcome(r, o, "");
  return r;
}

}  // namespace gradlab::bench::up_rlhf_experiment
