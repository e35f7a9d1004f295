// The UP-RLHF experiment (docs/papers/up-rlhf.md): PPO-RLHF in the
// preference world on five rewards learned from the same noisy pairs:
//   up_rlhf        diverse LoRA ensemble, r_bar - lambda (u - u_bar)
//   single_rm      one reward model (the ensemble's trunk), with a KL sweep
//   ensemble_mean  plain LoRA ensemble (no diversity term), r_bar
//   uwo            plain ensemble, r_bar - lambda_uwo Var_k r_k
//   wco            plain ensemble, min_k r_k
// Per seed, the SFT policy, the single reward model (also the ensembles'
// frozen trunk) and both ensembles are trained once and shared by the
// methods. Reported: gold and proxy reward against sqrt(KL), peak and final
// gold and the over-optimisation gap, the AUROC with which ensemble std
// separates late-policy from SFT samples, and each reward model's ECE.
#include "algorithms/alignment/up_rlhf.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/alignment/up_rlhf_metrics.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"

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
  int64_t members = 5, rank = 4, ens_epochs = 3;
  double ens_lr = 3e-3, alpha = 0.1;
  std::string diversity = "scale_invariant";
  // RL
  std::string kl_mode = "sequence_term";
  double kl_beta = 0.01, lambda = 1.0, uwo_lambda = 1.0;
  std::vector<double> sweep;  // single_rm KL coefficients; the first equals kl_beta
  int64_t rollout = 64, eval_every = 15;
  double policy_lr = 1e-3;
  int64_t ppo_iters = 0;  // 0: by budget
};

// What a seed's methods share: trained once, copied into every run.
struct SeedAssets {
  nn::GPTConfig policy_config, rm_config;
  nn::NamedTensors sft, single_rm, plain_ensemble, diverse_ensemble;
  std::vector<Tokens> eval_prompts, sft_eval_responses;
  std::map<std::string, double> ece, accuracy;  // by reward model: single, plain, diverse
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
  ens->load_state_dict(state);
  return ens;
}

std::shared_ptr<nn::GPT> rebuild_gpt(const nn::GPTConfig& c, const nn::NamedTensors& state) {
  Generator scratch(0);
  auto gpt = std::make_shared<nn::GPT>(c, scratch);
  gpt->load_state_dict(state);
  return gpt;
}

RewardEnsembleOptions ensemble_options(const Settings& s, bool diverse) {
  return {.members = s.members,
          .rank = s.rank,
          .lora_alpha = 2.0 * double(s.rank),
          .diversity = diverse ? diversity_norm_from_string(s.diversity) : DiversityNorm::plain,
          .pooling = reward_pooling_from_string(s.rm_pooling)};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

SeedAssets build_assets(const Settings& s, const RunContext& run) {
  SeedAssets a;
  const auto t0 = std::chrono::steady_clock::now();
  Generator gen(run.seed * 7919 + 11);
  a.policy_config = {
      .vocab = pref::vocab_size(), .context = 12, .d_model = s.d_model, .heads = s.heads, .layers = s.layers};
  a.rm_config = a.policy_config;
  a.rm_config.reward_head = true;
  const pref::WorldConfig world{};
  const pref::GrammarConfig grammar{};
  // SFT on the pretraining corpus gives pi_SFT = pi_ref.
  nn::GPT sft(a.policy_config, gen);
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
  RewardModel rm(a.rm_config, gen, {.pooling = reward_pooling_from_string(s.rm_pooling)});
  if (s.rm_trunk_from_sft) rm.init_trunk_from(sft);
  train_reward_model(rm, train_pairs,
                     {.epochs = run.pick(s.rm_epochs, s.rm_epochs, 1), .batch_size = 32, .lr = s.rm_lr}, gen);
  a.single_rm = snapshot(*rm.model);
  const double t_rm = seconds_since(t0);
  for (bool diverse : {false, true}) {
    RewardEnsemble ens(*rm.model, gen, ensemble_options(s, diverse));
    train_reward_ensemble(ens, train_pairs,
                          {.epochs = run.pick(s.ens_epochs, s.ens_epochs, 1),
                           .batch_size = 32,
                           .lr = s.ens_lr,
                           .alpha = diverse ? s.alpha : 0.0},
                          gen);
    (diverse ? a.diverse_ensemble : a.plain_ensemble) = snapshot(ens);
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
  double gold = 0, proxy = 0, kl = 0;
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

PPOOutcome run_ppo(const Settings& s, const SeedAssets& a, const RunContext& run, const RewardFn& reward,
                   const ProxyFn& proxy, double kl_beta, uint64_t stream) {
  auto sft = rebuild_gpt(a.policy_config, a.sft);
  sft->freeze();
  auto policy = rebuild_gpt(a.policy_config, a.sft);
  nn::GPTConfig critic_config = a.policy_config;
  critic_config.value_head = true;
  Generator gen(run.seed * 104729 + stream);
  auto critic = std::make_shared<nn::GPT>(critic_config, gen);
  critic->load_state_dict(a.sft, /*strict=*/false);  // trunk from SFT, a fresh value head
  PPORLHFConfig pc{.rollout_prompts = s.rollout, .response_len = 8, .lr = s.policy_lr};
  set_kl_mode(pc, kl_mode_from_string(s.kl_mode), kl_beta);
  PPORLHF ppo(policy, sft, critic, reward, pc, run.seed * 31 + stream);
  const int64_t iterations = s.ppo_iters > 0 && run.budget != Budget::smoke ? s.ppo_iters : run.pick(150, 60, 3);
  const int64_t every = run.budget == Budget::smoke ? 3 : s.eval_every;
  Generator eval_gen(run.seed * 613 + stream);
  PPOOutcome out;
  auto evaluate = [&](int64_t it) {
    EvalPoint e;
    e.responses = sample_responses(*policy, a.eval_prompts, 8, eval_gen);
    e.gold = mean_of(pref::gold_rewards(pref::RewardKind::target_count, a.eval_prompts, e.responses));
    e.proxy = mean_of(proxy(a.eval_prompts, e.responses));
    e.kl = sampled_kl(*policy, *sft, a.eval_prompts, e.responses);
    out.iterations.push_back(it);
    out.evals.push_back(std::move(e));
  };
  evaluate(0);
  Generator prompt_gen(run.seed * 15485863 + stream);
  for (int64_t it = 1; it <= iterations; ++it) {
    ppo.step(sample_prompts(s.rollout, prompt_gen));
    if (it % every == 0 || it == iterations) evaluate(it);
  }
  return out;
}

double sqrt_kl(double kl) { return std::sqrt(std::max(0.0, kl)); }

// Curves and the gold figures of one PPO outcome, with a name suffix.
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
  const EvalPoint& last = o.evals.back();
  r.metric("final_gold" + suffix, last.gold);
  r.metric("peak_gold" + suffix, peak);
  r.metric("overopt_gap" + suffix, peak - last.gold);  // peak - final
  r.metric("final_proxy" + suffix, last.proxy);
  r.metric("final_kl" + suffix, last.kl);
  r.metric("final_sqrt_kl" + suffix, sqrt_kl(last.kl));
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

RunResult ensemble_method(const Settings& s, AssetCache& cache, const RunContext& run, bool diverse,
                          const PenaltyOptions& penalty, uint64_t stream) {
  const SeedAssets& a = cache.get(run);
  RunResult r;
  auto trunk = rebuild_gpt(a.rm_config, a.single_rm);
  std::shared_ptr<const RewardEnsemble> ens =
      rebuild_ensemble(*trunk, ensemble_options(s, diverse), diverse ? a.diverse_ensemble : a.plain_ensemble);
  EnsembleReward reward(ens, penalty);
  const ProxyFn proxy = [&](const auto& p, const auto& y) { return ensemble_mean_scores(*ens, p, y); };
  const PPOOutcome o = run_ppo(s, a, run, reward.reward_fn(), proxy, s.kl_beta, stream);
  record_outcome(r, o, "");
  const char* which = diverse ? "diverse" : "plain";
  record_auroc(r, a, *trunk, s, o.evals.back().responses, which);
  r.metric("ece", a.ece.at(which));
  r.metric("rm_accuracy", a.accuracy.at(which));
  if (penalty.kind == PenaltyKind::uncertainty && penalty.centered) r.metric("running_u", reward.running_uncertainty());
  return r;
}

RunResult single_rm_method(const Settings& s, AssetCache& cache, const RunContext& run) {
  const SeedAssets& a = cache.get(run);
  RunResult r;
  Generator scratch(0);
  RewardModel rm(a.rm_config, scratch, {.pooling = reward_pooling_from_string(s.rm_pooling)});
  rm.model->load_state_dict(a.single_rm);
  const nn::GPT& trunk = *rm.model;
  const ProxyFn proxy = [&](const auto& p, const auto& y) { return rm.score(p, y); };
  const std::vector<double> betas = run.budget == Budget::smoke ? std::vector<double>{s.sweep[0]} : s.sweep;
  for (size_t i = 0; i < betas.size(); ++i) {
    const PPOOutcome o = run_ppo(s, a, run, rm.reward_fn(), proxy, betas[i], 100 + i);
    record_outcome(r, o, fmt::format("_b{}", i));  // the sweep, for matching KL
    if (i == 0) {
      record_outcome(r, o, "");  // the headline single_rm run: the same beta as the other methods
      record_auroc(r, a, trunk, s, o.evals.back().responses, "");
    }
  }
  r.metric("ece", a.ece.at("single"));
  r.metric("rm_accuracy", a.accuracy.at("single"));
  return r;
}

// The single RM's final gold at a given sqrt(KL), from its sweep's final
// points (piecewise linear in sqrt KL, held constant beyond the ends).
double matched_gold(const RunResult& single, double x) {
  std::vector<std::pair<double, double>> pts;
  for (int i = 0;; ++i) {
    auto k = single.metrics.find(fmt::format("final_sqrt_kl_b{}", i));
    if (k == single.metrics.end()) break;
    pts.emplace_back(k->second, single.metrics.at(fmt::format("final_gold_b{}", i)));
  }
  GL_CHECK(!pts.empty(), "up_rlhf: the single-RM run recorded no sweep points");
  std::sort(pts.begin(), pts.end());
  return bench::interpolate(pts, x);
}

}  // namespace

// The experiment; main() below turns any error into a message and exit code 1.
int run_experiment(int argc, char** argv) {
  bench::Cli cli("up_rlhf", "UP-RLHF: diverse reward LoRA ensembles and uncertainty-penalised RLHF");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/5, /*quick_seeds=*/3);
  Settings s;
  auto& d_model = cli.integer("--d-model", s.d_model, "width of the policy and reward GPTs", {1, 65536});
  auto& members = cli.integer("--members", s.members, "K, LoRA members of the ensembles", {1, 1024});
  auto& rank = cli.integer("--rank", s.rank, "LoRA rank r", {1, 65536});
  auto& alpha = cli.real("--alpha", s.alpha, "weight of the diversity term (the diverse ensemble)");
  auto& diversity = cli.text("--diversity", s.diversity, "diversity norm: plain, scale_invariant, upstream");
  auto& kl_mode = cli.text("--kl-mode", s.kl_mode, "KL to pi_SFT: token_penalty, sequence_term (J_KL), off");
  auto& kl_beta = cli.real("--kl-beta", s.kl_beta, "beta_1 of every method (and the sweep's first point)");
  auto& sweep = cli.text("--kl-sweep", "0.01,0.001,0.05", "single_rm's KL coefficients (first = --kl-beta's role)");
  auto& lambda = cli.real("--lambda", s.lambda, "beta_2 of UP-RLHF's penalty r_bar - beta_2 (u - u_bar)");
  auto& uwo_lambda = cli.real("--uwo-lambda", s.uwo_lambda, "lambda of UWO, r_bar - lambda Var");
  auto& noise = cli.real("--label-noise", s.label_noise, "label flip probability of the preference pairs");
  auto& bt_beta = cli.real("--bt-beta", s.bt_beta, "Bradley-Terry inverse temperature of the labels (0: gold order)");
  auto& rm_pairs =
      cli.integer("--rm-pairs", s.rm_pairs, "labelled SFT-sample pairs the reward models learn from", {0, INT64_MAX});
  auto& rm_epochs = cli.integer("--rm-epochs", s.rm_epochs, "epochs of the single reward model", {0, INT64_MAX});
  auto& rm_lr = cli.real("--rm-lr", s.rm_lr, "learning rate of the single reward model");
  auto& rm_trunk = cli.text("--rm-trunk", "fresh", "the reward model's trunk at the start: fresh or sft");
  auto& rm_pooling = cli.text("--rm-pooling", s.rm_pooling,
                              "where every reward head reads the response: token_sum, token_mean or last_token");
  auto& ens_epochs = cli.integer("--ens-epochs", s.ens_epochs, "epochs of each LoRA ensemble", {1, INT64_MAX});
  auto& ens_lr = cli.real("--ens-lr", s.ens_lr, "learning rate of the LoRA ensembles");
  auto& ppo_iters =
      cli.integer("--ppo-iters", 0, "PPO iterations (0: by budget, 150 full / 60 quick / 3 smoke)", {0, INT64_MAX});
  auto& policy_lr = cli.real("--policy-lr", s.policy_lr, "PPO policy learning rate");
  auto& methods = cli.text("--methods", "up_rlhf,single_rm,ensemble_mean,uwo,wco", "methods to run");
  cli.parse(argc, argv);
  s.d_model = d_model;
  s.members = members;
  s.rank = rank;
  s.alpha = alpha;
  s.diversity = diversity;
  s.kl_mode = kl_mode;
  s.kl_beta = kl_beta;
  s.lambda = lambda;
  s.uwo_lambda = uwo_lambda;
  s.label_noise = noise;
  s.bt_beta = bt_beta;
  s.rm_epochs = rm_epochs;
  s.rm_pairs = rm_pairs;
  s.rm_lr = rm_lr;
  GL_CHECK(rm_trunk == "fresh" || rm_trunk == "sft", "up_rlhf: --rm-trunk must be fresh or sft, got '{}'", rm_trunk);
  s.rm_trunk_from_sft = rm_trunk == "sft";
  s.rm_pooling = rm_pooling;
  reward_pooling_from_string(s.rm_pooling);  // validate before any work
  s.ens_epochs = ens_epochs;
  s.ens_lr = ens_lr;
  s.ppo_iters = ppo_iters;
  s.policy_lr = policy_lr;
  s.sweep = bench::parse_real_list(sweep, "--kl-sweep");
  GL_CHECK(!s.sweep.empty(), "up_rlhf: --kl-sweep is empty");
  GL_CHECK(s.sweep[0] == s.kl_beta,
           "up_rlhf: --kl-sweep must start with --kl-beta ({}), the single RM's headline run, got {}", s.kl_beta,
           s.sweep[0]);
  diversity_norm_from_string(s.diversity);  // validate flags before any work
  kl_mode_from_string(s.kl_mode);

  bench::Experiment ex("up_rlhf", flags);
  AssetCache cache([&s](const RunContext& run) { return build_assets(s, run); });
  const std::vector<std::string> chosen = bench::split_list(methods);
  for (const std::string& m : chosen)
    GL_CHECK(m == "up_rlhf" || m == "single_rm" || m == "ensemble_mean" || m == "uwo" || m == "wco",
             "up_rlhf: --methods: unknown method '{}' (up_rlhf, single_rm, ensemble_mean, uwo, wco)", m);
  auto wanted = [&](const std::string& m) { return std::find(chosen.begin(), chosen.end(), m) != chosen.end(); };
  if (wanted("up_rlhf"))
    ex.add("up_rlhf",
           [&](const RunContext& run) { return ensemble_method(s, cache, run, true, up_rlhf_penalty(s.lambda), 1); });
  if (wanted("single_rm")) ex.add("single_rm", [&](const RunContext& run) { return single_rm_method(s, cache, run); });
  if (wanted("ensemble_mean"))
    ex.add("ensemble_mean", [&](const RunContext& run) {
      return ensemble_method(s, cache, run, false, {.kind = PenaltyKind::mean}, 2);
    });
  if (wanted("uwo"))
    ex.add("uwo",
           [&](const RunContext& run) { return ensemble_method(s, cache, run, false, uwo_penalty(s.uwo_lambda), 3); });
  if (wanted("wco"))
    ex.add("wco",
           [&](const RunContext& run) { return ensemble_method(s, cache, run, false, {.kind = PenaltyKind::wco}, 4); });
  ex.run();
  ex.report({"final_gold", "peak_gold", "overopt_gap", "final_proxy", "final_sqrt_kl", "auroc", "auroc_diverse",
             "auroc_plain", "ece", "rm_accuracy"});
  ex.plot("gold_vs_sqrt_kl", "gold_vs_sqrt_kl", "sqrt KL(pi || pi_SFT)", "gold reward");
  ex.plot("proxy_vs_sqrt_kl", "proxy_vs_sqrt_kl", "sqrt KL(pi || pi_SFT)", "proxy reward (RM mean)");

  // Claim 1: UP-RLHF vs the single RM at matched KL, and the over-optimisation gap.
  if (wanted("up_rlhf") && wanted("single_rm")) {
    const auto& up = ex.runs("up_rlhf");
    const auto& single = ex.runs("single_rm");
    std::vector<double> diff;
    int wins = 0;
    for (size_t i = 0; i < up.size() && i < single.size(); ++i) {
      const double m = matched_gold(single[i], up[i].metrics.at("final_sqrt_kl"));
      diff.push_back(up[i].metrics.at("final_gold") - m);
      wins += diff.back() > 0;
    }
    const bench::Stat d = bench::stat_of(diff);
    const bench::Stat gap_up = ex.stat("up_rlhf", "overopt_gap"), gap_single = ex.stat("single_rm", "overopt_gap");
    // Two parts by the verdict rule over seeds: the matched-KL gold difference above zero, and the single RM's
    // over-optimisation gap above UP-RLHF's (paired by seed).
    const bench::Stat gap_diff = bench::stat_of(bench::paired_differences(gap_single.values, gap_up.values));
    ex.claim(
        "UP-RLHF keeps a higher final gold reward than the single RM at matched KL with a smaller "
        "over-optimisation gap",
        bench::all_of({bench::paired_verdict(d), bench::paired_verdict(gap_diff)}),
        fmt::format("final gold minus the single RM's at matched sqrt KL: {} ({}/{} seeds > 0); "
                    "gap up_rlhf {} vs single_rm {}",
                    bench::format_stat(d, 3), wins, diff.size(), bench::format_stat(gap_up, 3),
                    bench::format_stat(gap_single, 3)));
  }
  // Claim 2: the diverse ensemble's std separates late-policy from SFT samples better. A seed's methods
  // share its two ensembles, so the runs of one seed are averaged first: one difference per seed.
  {
    std::map<size_t, std::pair<double, int>> per_seed;  // seed index -> (sum, count)
    for (const std::string& m : ex.methods()) {
      const auto& runs = ex.runs(m);
      for (size_t i = 0; i < runs.size(); ++i)
        if (runs[i].metrics.count("auroc_diverse")) {
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
                           "runs): {} (n={}){}",
                           bench::format_stat(d, 3), d.n, own));
    }
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
