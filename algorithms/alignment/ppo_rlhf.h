// PPO-RLHF (Ouyang et al. 2022; Ziegler et al. 2019; docs/papers/alignment-baselines.md
// "PPO-RLHF"): the policy samples responses to prompts; each response token t
// earns the KL-penalty reward -beta log(pi(y_t|.) / pi_ref(y_t|.)) and the last
// one also earns the sequence reward R(x, y) from any RewardFn (a gold
// reward, a reward model, a penalised ensemble); a separate critic (a GPT with
// a value head) gives V per token; GAE makes advantages; the policy takes the
// clipped surrogate and the critic the clipped value loss.
//
//   r_t = -beta (log pi_old - log pi_ref)_t + [t = last] R(x, y)
//   delta_t = r_t + gamma V_{t+1} - V_t,   A_t = delta_t + gamma lambda A_{t+1},   G_t = A_t + V_t
//   L_pi = E_t max(-rho_t A_t, -clip(rho_t, 1 - eps, 1 + eps) A_t),   rho_t = pi / pi_old
//   L_V  = 0.5 E_t max((V - G)^2, (V_old + clip(V - V_old, -eps_v, eps_v) - G)^2)
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "algorithms/alignment/sequences.h"
#include "optim/adam.h"

namespace gradlab::alignment {

struct PPORLHFConfig {
  int64_t rollout_prompts = 64;  // responses sampled per iteration
  int64_t response_len = 8;
  double kl_beta = 0.05;    // per-token KL penalty in the reward (0: none)
  double clip = 0.2;        // eps of the clipped surrogate
  double value_clip = 0.2;  // eps_v of the clipped value loss
  double gamma = 1.0;
  double lambda = 0.95;  // GAE
  int64_t epochs = 4;    // PPO epochs per rollout
  int64_t minibatch = 32;
  double lr = 3e-4;  // policy
  double critic_lr = 1e-3;
  double max_grad_norm = 1.0;
  double entropy_coef = 0.0;
  bool whiten_advantages = true;
  // Optional sequence-level KL loss outside the reward, coef * E[(log pi(y|x) - log pi_ref(y|x))^2]
  // (UP-RLHF's J_KL); 0: off.
  double squared_kl_loss_coef = 0.0;
  double temperature = 1.0;  // sampling temperature of the rollouts
  // Adaptive KL (a proportional controller, as in Ziegler et al. 2019): with kl_target > 0, after each
  // iteration the active KL coefficient (kl_beta, or squared_kl_loss_coef when it is set) is multiplied by
  //   1 + kl_rate * clip(KL / kl_target - 1, -0.2, 0.2),
  // KL being the rollout's sampled KL(pi || pi_ref) per sequence, so the coefficient grows while the policy
  // is further from the reference than the target and shrinks while it is closer. 0: a fixed coefficient.
  double kl_target = 0.0;
  double kl_rate = 0.1;
};

// The KL coefficient in use: squared_kl_loss_coef when J_KL is on, else kl_beta
// (the one the adaptive controller adapts).
double& active_kl_coefficient(PPORLHFConfig& config);
double active_kl_coefficient(const PPORLHFConfig& config);
// The adaptive controller's next coefficient (see PPORLHFConfig::kl_target).
double adapt_kl_coefficient(double coefficient, double kl, double target, double rate);

// What one iteration measured on its rollout (before the update).
struct PPOIterationStats {
  int64_t iteration = 0;
  double reward = 0;  // mean R(x, y) of the RewardFn being optimised (the proxy)
  double gold = NAN;  // mean gold reward, when a gold RewardFn was given
  double kl = 0;      // mean sum_t (log pi - log pi_ref) over response tokens: sampled KL(pi || pi_ref)
  double kl_coef = 0;  // the KL coefficient this iteration used (kl_beta, or squared_kl_loss_coef when set)
  double policy_loss = 0, value_loss = 0, entropy = 0, clip_fraction = 0;
};
using PPOCallback = std::function<void(const PPOIterationStats&)>;

// The per-token rewards [B, L] of a rollout: -beta (logp - logp_ref) on masked
// tokens, plus score[b] at each row's last masked token; 0 where mask is 0.
// logp, logp_ref, mask: [B, L]; score: [B].
Tensor per_token_rewards(const Tensor& logp, const Tensor& logp_ref, const Tensor& mask, const Tensor& score,
                         double beta);
// GAE over masked tokens [B, L] (a row's masked tokens are a prefix; V after
// the last one is 0): advantages and returns (A + V).
struct Advantages {
  Tensor advantages, returns;
};
Advantages gae(const Tensor& rewards, const Tensor& values, const Tensor& mask, double gamma, double lambda);

class PPORLHF {
 public:
  // policy: trained in place; reference: frozen; critic: a GPT with a value head, trained in place.
  PPORLHF(std::shared_ptr<nn::GPT> policy, std::shared_ptr<const nn::GPT> reference, std::shared_ptr<nn::GPT> critic,
          RewardFn reward, const PPORLHFConfig& config, uint64_t seed);
  // Optional: a gold reward logged (never optimised) in the stats.
  void set_gold(RewardFn gold) { gold_ = std::move(gold); }

  // One rollout on the prompts and config.epochs of updates.
  PPOIterationStats step(const std::vector<Tokens>& prompts);
  // `iterations` steps on prompts drawn by `sample_prompts(n)`, calling `on_iteration` after each.
  std::vector<PPOIterationStats> train(int64_t iterations,
                                       const std::function<std::vector<Tokens>(int64_t)>& sample_prompts,
                                       const PPOCallback& on_iteration = {});

  const PPORLHFConfig& config() const { return config_; }  // with the adaptive KL coefficient as it is now
  nn::GPT& policy() { return *policy_; }

 private:
  std::shared_ptr<nn::GPT> policy_;
  std::shared_ptr<const nn::GPT> reference_;
  std::shared_ptr<nn::GPT> critic_;
  RewardFn reward_, gold_;
  PPORLHFConfig config_;
  Generator gen_;
  std::unique_ptr<optim::AdamW> policy_opt_, critic_opt_;
  int64_t iteration_ = 0;
};

}  // namespace gradlab::alignment
