// Exercise bradley_terry_loss: the reward model's pairwise preference loss.
#pragma once

#include "autograd/var.h"

namespace gradlab::exercise {

// Returns the scalar mean over the batch of -log sigmoid(r_chosen - r_rejected),
// differentiable in both; the two rewards are [B].
Var bradley_terry_loss(const Var& r_chosen, const Var& r_rejected);

}  // namespace gradlab::exercise
