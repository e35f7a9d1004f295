// Exercise dpo_loss: Direct Preference Optimisation's sigmoid loss.
#pragma once

#include "autograd/var.h"

namespace gradlab::exercise {

// h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected), per pair.
// Returns the scalar mean over the batch of -log sigmoid(beta h), differentiable
// in the two policy log-probs. All four inputs are [B]; beta > 0.
Var dpo_loss(const Var& policy_chosen, const Var& policy_rejected, const Tensor& ref_chosen, const Tensor& ref_rejected,
             double beta);

}  // namespace gradlab::exercise
