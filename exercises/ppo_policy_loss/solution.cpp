// The library's answer to ppo_policy_loss: the policy part of PPO's loss
// (algorithms/rl/ppo.cpp).
#include "algorithms/rl/ppo.h"
#include "exercises/ppo_policy_loss/exercise.h"

namespace gradlab::exercise {

Var ppo_policy_loss(const Var& new_log_prob, const Tensor& old_log_prob, const Tensor& advantages, double clip_coef) {
  return rl::ppo_policy_loss(new_log_prob, old_log_prob, advantages, clip_coef);
}

}  // namespace gradlab::exercise
