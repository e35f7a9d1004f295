// Exercise sac_temperature_loss: SAC's automatic entropy tuning.
#pragma once

#include "autograd/var.h"

namespace gradlab::exercise {

// alpha = exp(log_alpha), log_alpha a [1] or 0-d Var. Returns the scalar
//   mean over the batch of -alpha (log_prob + target_entropy),
// differentiable in log_alpha; log_prob [B] is a constant.
Var sac_temperature_loss(const Var& log_alpha, const Tensor& log_prob, double target_entropy);

}  // namespace gradlab::exercise
