// UP-RLHF (docs/papers/up-rlhf.md; arXiv 2401.00243): uncertainty-penalised RLHF
// with a diverse reward LoRA ensemble. The pieces:
//   1. train_reward_ensemble: Bradley-Terry on the ensemble mean plus alpha
//      times the diversity term (Eq. 12), on the labelled pairs;
//   2. EnsembleReward: the ensemble's member rewards r [K, B] turned into the
//      reward PPO-RLHF optimises by a PenalizedReward (r_bar - beta_2 (u -
//      u_bar) for UP-RLHF; the mean, UWO and WCO for the baselines);
//   3. the KL to the SFT policy as the per-token penalty in the reward, as the
//      separate sequence-level J_KL = -beta_1 E[(log pi - log pi_SFT)^2]
//      (Eq. 15, UP-RLHF's choice), or off.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/reward_ensemble.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/up_rlhf_penalty.h"

namespace gradlab::alignment {

struct EnsembleTrainConfig {
  int64_t epochs = 10;
  int64_t batch_size = 64;
  double lr = 1e-3;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  double alpha = 0.0;  // weight of the diversity term (0: a plain LoRA ensemble)
};
struct EnsembleTrainHistory {
  std::vector<double> loss;       // mean Bradley-Terry loss per epoch
  std::vector<double> diversity;  // the diversity term after each epoch
  // ||A^(m)||_* / ||A^(m)||_F per LoRA module (RewardEnsemble::diversity_ratios): [0] before training,
  // then after each epoch.
  std::vector<std::vector<double>> diversity_ratios;
  double label_accuracy = 0;      // training pairs the final ensemble mean orders as labelled
};
// Minibatch AdamW on BT(ensemble mean) + alpha * diversity_term over the pairs.
EnsembleTrainHistory train_reward_ensemble(RewardEnsemble& ensemble, const std::vector<PreferencePair>& pairs,
                                           const EnsembleTrainConfig& config, Generator& gen);

// Member rewards [K, N] (f64, no gradients) of N (prompt, response) pairs, in chunks.
Tensor score_members(const RewardEnsemble& ensemble, const std::vector<Tokens>& prompts,
                     const std::vector<Tokens>& responses, int64_t chunk = 256);

// The penalised ensemble reward as a RewardFn for PPO-RLHF. Copies share one
// state (the penalty's running u_bar and the last batch's figures).
class EnsembleReward {
 public:
  EnsembleReward(std::shared_ptr<const RewardEnsemble> ensemble, const PenaltyOptions& penalty);
  std::vector<double> operator()(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses) const;
  RewardFn reward_fn() const;

  // Means over the last batch scored: the ensemble mean r_bar (the proxy
  // reward), the uncertainty u (std) and the penalised reward.
  struct BatchFigures {
    double mean_reward = 0, uncertainty = 0, penalised = 0;
    int64_t samples = 0;
  };
  BatchFigures last_batch() const { return state_->last; }
  double running_uncertainty() const { return state_->penalty.running_uncertainty(); }

 private:
  struct State {
    std::shared_ptr<const RewardEnsemble> ensemble;
    PenalizedReward penalty;
    BatchFigures last;
  };
  std::shared_ptr<State> state_;
};

// Where the KL to the SFT (reference) policy enters PPO-RLHF.
enum class KLMode {
  token_penalty,  // -beta log(pi / pi_ref) on every response token, inside the reward
  sequence_term,  // UP-RLHF's J_KL: beta E[(log pi(y|x) - log pi_ref(y|x))^2] added to the policy loss
  off,
};
KLMode kl_mode_from_string(const std::string& name);
const char* kl_mode_name(KLMode mode);
// Sets config.kl_beta and config.squared_kl_loss_coef for the mode.
void set_kl_mode(PPORLHFConfig& config, KLMode mode, double beta);

}  // namespace gradlab::alignment
