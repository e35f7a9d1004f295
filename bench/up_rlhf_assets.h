// What build/bench/up_rlhf trains once per seed and shares among its
// methods (bench/up_rlhf.cpp): the settings, then the SFT policy, the single
// reward model (also the ensembles' frozen trunk), the plain and the diverse
// LoRA ensembles, their calibration on test pairs and the held-out prompts
// every method is evaluated on.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/alignment/evaluation.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/alignment/up_rlhf.h"
#include "algorithms/alignment/up_rlhf_metrics.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"

namespace gradlab::bench::up_rlhf_experiment {

using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;

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

inline nn::NamedTensors snapshot(const nn::Module& m) {
  nn::NamedTensors out;
  for (auto& [name, t] : m.state_dict()) out.emplace_back(name, t.clone());
  return out;
}

inline std::vector<Tokens> sample_prompts(int64_t n, Generator& gen) {
  std::vector<Tokens> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(pref::sample_prompt(std::vector<pref::Family>{}, gen));
  return out;
}

// Pairs of two SFT samples per prompt, labelled by Bradley-Terry on the gold
// reward with label noise (ties dropped).
inline std::vector<PreferencePair> sft_pairs(const nn::GPT& sft, int64_t n, const pref::LabelConfig& label,
                                             Generator& gen) {
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
inline std::pair<double, double> calibration_of(const Score& score, const std::vector<PreferencePair>& pairs,
                                                Generator& gen) {
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

inline std::vector<double> ensemble_mean_scores(const RewardEnsemble& ens, const std::vector<Tokens>& prompts,
                                                const std::vector<Tokens>& responses) {
  return mean(score_members(ens, prompts, responses), {0}).to_vector<double>();
}

inline std::unique_ptr<RewardEnsemble> rebuild_ensemble(const nn::GPT& trunk, const RewardEnsembleOptions& o,
                                                        const nn::NamedTensors& state) {
  Generator scratch(0);
  auto ens = std::make_unique<RewardEnsemble>(trunk, scratch, o);
  ens->to(trunk.device());  // built on the CPU, then beside its trunk
  ens->load_state_dict(state);
  return ens;
}

inline std::shared_ptr<nn::GPT> rebuild_gpt(const nn::GPTConfig& c, const nn::NamedTensors& state, Device device) {
  Generator scratch(0);
  auto gpt = std::make_shared<nn::GPT>(c, scratch);
  gpt->to(device);
  gpt->load_state_dict(state);
  return gpt;
}

inline RewardEnsembleOptions ensemble_options(const Settings& s, bool diverse) {
  return {.members = s.members,
          .rank = s.rank,
          .lora_alpha = 2.0 * double(s.rank),
          .lora_init = nn::lora_init_from_string(s.lora_init),
          .diversity = diverse ? diversity_norm_from_string(s.diversity) : DiversityNorm::plain,
          .pooling = reward_pooling_from_string(s.rm_pooling)};
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline SeedAssets build_assets(const Settings& s, const RunContext& run) {
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

}  // namespace gradlab::bench::up_rlhf_experiment
