// Exercise ppo_policy_loss: PPO's clipped surrogate objective, negated.
#pragma once

#include "autograd/var.h"

namespace gradlab::exercise {

// rho = exp(new_log_prob - old_log_prob). Returns the scalar
//   mean over the batch of max(-A rho, -A clip(rho, 1 - c, 1 + c)),
// differentiable in new_log_prob. All three inputs are [B]; c = clip_coef > 0.
Var ppo_policy_loss(const Var& new_log_prob, const Tensor& old_log_prob, const Tensor& advantages, double clip_coef);

}  // namespace gradlab::exercise
