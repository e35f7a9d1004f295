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
#include "algorithms/alignment/up_rlhf.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/alignment/up_rlhf_metrics.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"
#include "tensor/atomic_file.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using bench::Budget;
using bench::RunContext;
using bench::RunResult;

namespace {

struct Settings {
  // models
  int64_t d_model = 48, layers = 2, heads = 4;
  // data
  int64_t corpus = 3000, rm_pairs = 1000, test_pairs = 400, eval_prompts = 128;
  double label_noise = 0.1, bt_beta = 0.0;
  // reward models
  int64_t rm_epochs = 3;
  bool rm_trunk_from_sft = false;  // a fresh trunk overfits the noisy labels less than the SFT one
  // The gold reward counts target words, a sum over tokens: a per-token summed head represents it
  // directly (the single reward model and every ensemble member read the sequence this way).
  std::string rm_pooling = "token_sum";
  double rm_lr = 1e-3;
  // The paper's LoRA: A Gaussian-initialised; rank 8 (the rank is not in the paper; 8 is common).
  int64_t members = 5, rank = 8, ens_epochs = 3;
  std::string lora_init = "gaussian";
  double ens_lr = 3e-3, alpha = 0.1;
  std::string diversity = "scale_invariant";
  // RL. A policy learning rate of 2e-4 keeps PPO from collapsing (at 1e-3 the policy falls into one
  // repeated response within ~100 iterations, on the gold reward itself); the low beta_1 leaves room
  // for the proxy to be over-optimised within the run.
  std::string kl_mode = "sequence_term";
  double kl_beta = 0.001, lambda = 1.0, uwo_lambda = 1.0;
  std::vector<double> kl_targets;  // single_rm's adaptive-KL runs: target KL in nats
  double kl_rate = 0.5;            // the controller's gain: up to 10% per iteration
  // The adaptive runs' starting coefficient: high, so that KL approaches its target from below (from
  // beta_1 = 0.001 the controller cannot grow the coefficient before KL has overshot).
  double kl_start = 1.0;
  std::vector<double> lambda_sweep, beta_sweep;  // extra up_rlhf runs
  bool kl_in_reward_arm = false;                 // an up_rlhf run with the KL in the reward
  int64_t rollout = 64, eval_every = 20;
  double policy_lr = 2e-4;
  int64_t ppo_iters = 0;  // 0: by budget
};

// What a seed's methods share: trained once, copied into every run.
struct SeedAssets {
  nn::GPTConfig policy_config, rm_config;
  nn::NamedTensors sft, single_rm, plain_ensemble, diverse_ensemble;
  std::vector<Tokens> eval_prompts, sft_eval_responses;
  std::map<std::string, double> ece, accuracy;  // by reward model: single, plain, diverse
  // ||A||_* / ||A||_F per LoRA module, before training and after each epoch, by ensemble: plain, diverse.
  std::map<std::string, std::vector<std::vector<double>>> diversity_ratios;
};

nn::NamedTensors snapshot(const nn::Module& m) {
  nn::NamedTensors out;
  for (auto& [name, t] : m.state_dict()) out.emplace_back(name, t.clone());
  return out;
}

std::vector<Tokens> sample_prompts(int64_t n, Generator& gen) {
  std::vector<Tokens> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(pref::sample_prompt(std::vector<pref::Family>{}, gen));
  return out;
}

// Pairs of two SFT samples per prompt, labelled by Bradley-Terry on the gold
// reward with label noise (ties dropped).
std::vector<PreferencePair> sft_pairs(const nn::GPT& sft, int64_t n, const pref::LabelConfig& label, Generator& gen) {
  std::vector<PreferencePair> out;
  for (int round = 0; int64_t(out.size()) < n; ++round) {
    GL_CHECK(round < 1000, "up_rlhf: {} labelled pairs wanted, {} found in 1000 rounds of SFT samples (gold ties)", n,
             out.size());
    const std::vector<Tokens> prompts = sample_prompts(128, gen);
    const std::vector<Tokens> a = sample_responses(sft, prompts, 8, gen), b = sample_responses(sft, prompts, 8, gen);
    for (size_t i = 0; i < prompts.size() && int64_t(out.size()) < n; ++i) {
      PreferencePair p;
      if (pref::label_pair(prompts[i], a[i], b[i], label, gen, p)) out.push_back(std::move(p));
    }
  }
  return out;
}

// ECE and accuracy of a scorer on test pairs shown in a random order (a_i is
// the chosen response on a coin flip), against the test labels.
template <class Score>
std::pair<double, double> calibration_of(const Score& score, const std::vector<PreferencePair>& pairs, Generator& gen) {
  std::vector<Tokens> prompts, first, second;
  std::vector<bool> first_preferred;
  for (const auto& p : pairs) {
    const bool swap = pref::uniform01(gen) < 0.5;
    prompts.push_back(p.prompt);
    first.push_back(swap ? p.rejected : p.chosen);
    second.push_back(swap ? p.chosen : p.rejected);
    first_preferred.push_back(!swap);
  }
  const std::vector<double> ra = score(prompts, first), rb = score(prompts, second);
  std::vector<double> margins;
  for (size_t i = 0; i < ra.size(); ++i) margins.push_back(ra[i] - rb[i]);
  const Calibration c = preference_calibration(margins, first_preferred, 15);
  return {c.ece, c.accuracy};
}

std::vector<double> ensemble_mean_scores(const RewardEnsemble& ens, const std::vector<Tokens>& prompts,
                                         const std::vector<Tokens>& responses) {
  return mean(score_members(ens, prompts, responses), {0}).to_vector<double>();
}

std::unique_ptr<RewardEnsemble> rebuild_ensemble(const nn::GPT& trunk, const RewardEnsembleOptions& o,
                                                 const nn::NamedTensors& state) {
  Generator scratch(0);
  auto ens = std::make_unique<RewardEnsemble>(trunk, scratch, o);
  ens->to(trunk.device());  // built on the CPU, then beside its trunk
  ens->load_state_dict(state);
  return ens;
}

std::shared_ptr<nn::GPT> rebuild_gpt(const nn::GPTConfig& c, const nn::NamedTensors& state, Device device) {
  Generator scratch(0);
  auto gpt = std::make_shared<nn::GPT>(c, scratch);
  gpt->to(device);
  gpt->load_state_dict(state);
  return gpt;
}

RewardEnsembleOptions ensemble_options(const Settings& s, bool diverse) {
  return {.members = s.members,
          .rank = s.rank,
          .lora_alpha = 2.0 * double(s.rank),
          .lora_init = nn::lora_init_from_string(s.lora_init),
          .diversity = diverse ? diversity_norm_from_string(s.diversity) : DiversityNorm::plain,
          .pooling = reward_pooling_from_string(s.rm_pooling)};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

SeedAssets build_assets(const Settings& s, const RunContext& run) {
  SeedAssets a;
  const auto t0 = std::chrono::steady_clock::now();
  Generator gen = run.stream(1);
  a.policy_config = {
      .vocab = pref::vocab_size(), .context = 12, .d_model = s.d_model, .heads = s.heads, .layers = s.layers};
  a.rm_config = a.policy_config;
  a.rm_config.reward_head = true;
  const pref::WorldConfig world{};
  const pref::GrammarConfig grammar{};
  // SFT on the pretraining corpus gives pi_SFT = pi_ref.
  nn::GPT sft(a.policy_config, gen);
  sft.to(run.device);  // drawn on the CPU, trained on run.device
  const auto corpus = pref::make_corpus(s.corpus, {}, world, grammar, gen);
  train_sft(sft, corpus, {.steps = run.pick(1200, 500, 20), .batch_size = 64, .lr = 3e-3}, gen);
  a.sft = snapshot(sft);
  const double t_sft = seconds_since(t0);
  // Noisy pairs of SFT samples (docs/papers/up-rlhf.md miniature: 500 pairs) and held-out test pairs.
  const pref::LabelConfig label{.reward = pref::RewardKind::target_count, .noise = s.label_noise, .bt_beta = s.bt_beta};
  const int64_t n_pairs = run.pick(s.rm_pairs, s.rm_pairs, 64), n_test = run.pick(s.test_pairs, s.test_pairs, 64);
  const auto train_pairs = sft_pairs(sft, n_pairs, label, gen);
  const auto test_pairs = sft_pairs(sft, n_test, label, gen);
  // The single reward model (also the ensembles' frozen trunk): a fresh trunk by default, since
  // starting from the SFT policy made the reward model fit the flipped labels sooner (see
  // algorithms/alignment/README.md, "The reward model: what makes it accurate"); few epochs, as
  // held-out accuracy peaks early and then falls while the model memorises the label noise.
  RewardModel rm(a.rm_config, gen, {.pooling = reward_pooling_from_string(s.rm_pooling), .device = run.device});
  if (s.rm_trunk_from_sft) rm.init_trunk_from(sft);
  train_reward_model(rm, train_pairs,
                     {.epochs = run.pick(s.rm_epochs, s.rm_epochs, 1), .batch_size = 32, .lr = s.rm_lr}, gen);
  a.single_rm = snapshot(*rm.model);
  const double t_rm = seconds_since(t0);
  for (bool diverse : {false, true}) {
    RewardEnsemble ens(*rm.model, gen, ensemble_options(s, diverse));
    ens.to(run.device);
    const EnsembleTrainHistory h = train_reward_ensemble(ens, train_pairs,
                          {.epochs = run.pick(s.ens_epochs, s.ens_epochs, 1),
                           .batch_size = 32,
                           .lr = s.ens_lr,
                           .alpha = diverse ? s.alpha : 0.0},
                          gen);
    (diverse ? a.diverse_ensemble : a.plain_ensemble) = snapshot(ens);
    a.diversity_ratios[diverse ? "diverse" : "plain"] = h.diversity_ratios;
    const auto [ece, acc] =
        calibration_of([&](const auto& p, const auto& r) { return ensemble_mean_scores(ens, p, r); }, test_pairs, gen);
    a.ece[diverse ? "diverse" : "plain"] = ece;
    a.accuracy[diverse ? "diverse" : "plain"] = acc;
  }
  const auto [ece, acc] = calibration_of([&](const auto& p, const auto& r) { return rm.score(p, r); }, test_pairs, gen);
  a.ece["single"] = ece;
  a.accuracy["single"] = acc;
  a.eval_prompts = sample_prompts(run.pick(s.eval_prompts, s.eval_prompts, 32), gen);
  a.sft_eval_responses = sample_responses(sft, a.eval_prompts, 8, gen);
  fmt::print(stderr,
             "[up_rlhf] seed {} shared models in {:.1f} s (SFT {:.1f}, RM {:.1f}); RM accuracy on test labels: "
             "single {:.3f}, plain ensemble {:.3f}, diverse {:.3f}\n",
             run.seed, seconds_since(t0), t_sft, t_rm - t_sft, a.accuracy["single"], a.accuracy["plain"],
             a.accuracy["diverse"]);
  return a;
}

// Builds each seed's assets once; runs of other methods wait for them.
using AssetCache = bench::SeedCache<SeedAssets>;

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

PPOOutcome run_ppo(const Settings& s, const SeedAssets& a, const RunContext& run, const RewardFn& reward,
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

double sqrt_kl(double kl) { return std::sqrt(std::max(0.0, kl)); }

// Whether the run's proxy fell (proxy_collapsed, with two standard errors of
// the final evaluation as the noise).
bool collapsed(const PPOOutcome& o) {
  std::vector<double> proxy;
  for (const EvalPoint& e : o.evals) proxy.push_back(e.proxy);
  return proxy_collapsed(proxy, 2.0 * o.evals.back().proxy_se);
}

// The headline figures of one PPO outcome under a name suffix, and its
// curves when it is the run's headline (suffix empty). A collapsed run's
// figures are kept under "collapsed_" names, so the tables and claims built
// on the plain names count only the runs that did not collapse.
void record_outcome(RunResult& r, const PPOOutcome& o, const std::string& suffix) {
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
  r.metric(prefix + "overopt_gap" + suffix, peak - last.gold);  // peak - final
  r.metric(prefix + "gold_rise" + suffix, peak - o.evals.front().gold);  // peak - SFT start
  r.metric(prefix + "final_proxy" + suffix, last.proxy);
  r.metric(prefix + "final_kl" + suffix, last.kl);
  r.metric(prefix + "final_sqrt_kl" + suffix, sqrt_kl(last.kl));
  r.metric("final_kl_coef" + suffix, last.kl_coef);
}

// AUROC of each ensemble's std: late-policy samples (positives) against SFT
// samples (negatives) on the same held-out prompts.
void record_auroc(RunResult& r, const SeedAssets& a, const nn::GPT& trunk, const Settings& s,
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
void record_late_calibration(RunResult& r, const SeedAssets& a, const ProxyFn& score,
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

RunResult ensemble_method(const Settings& s, AssetCache& cache, const RunContext& run, const EnsembleArm& arm) {
  const SeedAssets& a = cache.get(run);
  RunResult r;
  auto trunk = rebuild_gpt(a.rm_config, a.single_rm, run.device);
  std::shared_ptr<const RewardEnsemble> ens = rebuild_ensemble(*trunk, ensemble_options(s, arm.diverse),
                                                               arm.diverse ? a.diverse_ensemble : a.plain_ensemble);
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

RunResult single_rm_method(const Settings& s, AssetCache& cache, const RunContext& run) {
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
RunResult gold_method(const Settings& s, AssetCache& cache, const RunContext& run) {
  const SeedAssets& a = cache.get(run);
  RunResult r;
  const RewardFn gold = [](const std::vector<Tokens>& p, const std::vector<Tokens>& y) {
    return pref::gold_rewards(pref::RewardKind::target_count, p, y);
  };
  const PPOOutcome o = run_ppo(s, a, run, gold, gold, {kl_mode_from_string(s.kl_mode), s.kl_beta, 0.0}, 200);
  record_outcome(r, o, "");
  return r;
}

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
      if (runs[i].metrics.count("collapsed")) fields[fmt::format("seed_{}", flags.seed + int64_t(i))] = runs[i].metrics.at("collapsed");
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
