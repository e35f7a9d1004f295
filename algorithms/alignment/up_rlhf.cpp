// UP-RLHF: training the diverse reward LoRA ensemble (Eq. 12), the penalised
// ensemble reward for PPO-RLHF (Eqs. 13-14) and where the KL goes (Eq. 15).
#include "algorithms/alignment/up_rlhf.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/step_tally.h"

namespace gradlab::alignment {

EnsembleTrainHistory train_reward_ensemble(RewardEnsemble& ens, const std::vector<PreferencePair>& pairs,
                                           const EnsembleTrainConfig& c, Generator& gen) {
  GL_CHECK(!pairs.empty(), "train_reward_ensemble: no preference pairs");
  GL_CHECK(c.epochs >= 0 && c.batch_size >= 1 && c.lr > 0 && c.alpha >= 0,
           "train_reward_ensemble: epochs {}, batch_size {}, lr {}, alpha {} (need >= 0, >= 1, > 0, >= 0)", c.epochs,
           c.batch_size, c.lr, c.alpha);
  const int64_t N = int64_t(pairs.size());
  std::vector<Tokens> prompts, chosen, rejected;
  for (const auto& p : pairs) {
    prompts.push_back(p.prompt);
    chosen.push_back(p.chosen);
    rejected.push_back(p.rejected);
  }
  const Device device = ens.trunk().device();
  const SequenceBatch all_chosen = make_batch(prompts, chosen, device),
                      all_rejected = make_batch(prompts, rejected, device);
  optim::AdamW opt(ens.trainable_parameters(), {.lr = c.lr, .weight_decay = c.weight_decay});
  EnsembleTrainHistory h;
  h.diversity_ratios.push_back(ens.diversity_ratios());
  std::vector<int64_t> order(static_cast<size_t>(N));
  // The epoch's loss sum: on a device it stays there, read once an epoch.
  optim::StepTally tally("reward ensemble", all_chosen.tokens.device(), 1);
  for (int64_t e = 0; e < c.epochs; ++e) {
    std::iota(order.begin(), order.end(), 0);
    shuffle(order, gen);
    tally.reset_sums();
    for (int64_t start = 0; start < N; start += c.batch_size) {
      const std::vector<int64_t> rows(order.begin() + start, order.begin() + std::min(N, start + c.batch_size));
      const SequenceBatch bc = take_rows(all_chosen, rows), br = take_rows(all_rejected, rows);
      const Var bt = ens.bradley_terry_loss(bc, br);
      // Eq. 12: L = -log sigma(r_bar_w - r_bar_l) + alpha * (-(1/M) sum_m N(A^(m)))
      const Var loss = c.alpha > 0 ? bt + ens.diversity_term() * c.alpha : bt;
      tally.check_finite(loss, e);
      opt.zero_grad();
      loss.backward();
      if (c.max_grad_norm > 0) optim::clip_grad_norm_async(opt.params(), c.max_grad_norm);
      opt.step();
      tally.add(0, bt.value(), double(rows.size()));
    }
    tally.read();
    h.loss.push_back(tally.sum(0) / double(N));
    {
      NoGradGuard guard;
      h.diversity.push_back(ens.diversity_term().item());
    }
    h.diversity_ratios.push_back(ens.diversity_ratios());
  }
  // Training pairs the final ensemble mean orders as labelled.
  const Tensor rc = mean(score_members(ens, prompts, chosen), {0});
  const Tensor rr = mean(score_members(ens, prompts, rejected), {0});
  h.label_accuracy = mean(gt(rc, rr).to(DType::f64)).item<double>();
  return h;
}

Tensor score_members(const RewardEnsemble& ens, const std::vector<Tokens>& prompts,
                     const std::vector<Tokens>& responses, int64_t chunk) {
  GL_CHECK(!prompts.empty() && prompts.size() == responses.size() && chunk >= 1,
           "score_members: {} prompts, {} responses, chunk {}", prompts.size(), responses.size(), chunk);
  NoGradGuard guard;
  std::vector<Tensor> parts;
  for (size_t start = 0; start < prompts.size(); start += size_t(chunk)) {
    const size_t end = std::min(prompts.size(), start + size_t(chunk));
    const std::vector<Tokens> p(prompts.begin() + start, prompts.begin() + end);
    const std::vector<Tokens> r(responses.begin() + start, responses.begin() + end);
    const SequenceBatch b = make_batch(p, r, ens.trunk().device());
    parts.push_back(ens.member_rewards(b).value().to(DType::f64));
  }
  return parts.size() == 1 ? parts[0] : concat(parts, 1);
}

EnsembleReward::EnsembleReward(std::shared_ptr<const RewardEnsemble> ensemble, const PenaltyOptions& penalty)
    : state_(std::make_shared<State>(State{std::move(ensemble), PenalizedReward(penalty), {}})) {
  GL_CHECK(state_->ensemble != nullptr, "EnsembleReward: the ensemble is null");
}

std::vector<double> EnsembleReward::operator()(const std::vector<Tokens>& prompts,
                                               const std::vector<Tokens>& responses) const {
  const Tensor r = score_members(*state_->ensemble, prompts, responses);  // [K, B]
  const Tensor penalised = state_->penalty(r);
  State& s = *state_;
  s.last.mean_reward = mean(r).item<double>();
  s.last.uncertainty = mean(ensemble_uncertainty(r)).item<double>();
  s.last.penalised = mean(penalised).item<double>();
  s.last.samples = r.size(1);
  return penalised.to_vector<double>();
}

RewardFn EnsembleReward::reward_fn() const {
  EnsembleReward self = *this;  // shares the state
  return [self](const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses) {
    return self(prompts, responses);
  };
}

KLMode kl_mode_from_string(const std::string& name) {
  if (name == "token_penalty") return KLMode::token_penalty;
  if (name == "sequence_term") return KLMode::sequence_term;
  if (name == "off") return KLMode::off;
  fail("kl mode: unknown '{}' (token_penalty, sequence_term, off)", name);
}

const char* kl_mode_name(KLMode mode) {
  switch (mode) {
    case KLMode::token_penalty: return "token_penalty";
    case KLMode::sequence_term: return "sequence_term";
    case KLMode::off: return "off";
  }
  return "?";
}

void set_kl_mode(PPORLHFConfig& config, KLMode mode, double beta) {
  GL_CHECK(std::isfinite(beta) && beta >= 0, "set_kl_mode: beta must be finite and >= 0, got {}", beta);
  config.kl_beta = mode == KLMode::token_penalty ? beta : 0.0;
  // Eq. 15: J_KL = -beta_1 E[(log pi - log pi_SFT)^2], maximised, i.e. this loss minimised.
  config.squared_kl_loss_coef = mode == KLMode::sequence_term ? beta : 0.0;
}

}  // namespace gradlab::alignment
