// Exercise ppo_policy_loss (exercises/ppo_policy_loss/statement.md). Write the
// body below, then grade it with:  make exercise NAME=ppo_policy_loss
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/ppo_policy_loss/exercise.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// L = mean(max(-A rho, -A clip(rho, 1 - c, 1 + c))), rho = exp(new_log_prob - old_log_prob).
Var ppo_policy_loss(const Var& new_log_prob, const Tensor& old_log_prob, const Tensor& advantages, double clip_coef) {
  throw NotImplemented("ppo_policy_loss");
}

}  // namespace gradlab::exercise
