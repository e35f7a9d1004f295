// Polyak averaging of parameters, for target networks and weight EMAs:
//   target = (1 - tau) target + tau source, elementwise, in place.
// This is also the exponential moving average: an EMA of a model's weights
// with decay d is polyak_update(ema_params, params, 1 - d) after each step.
#pragma once

#include <vector>

#include "autograd/var.h"

namespace gradlab::optim {

// tau in [0, 1] (1 copies source; 0 leaves target). The lists pair up by
// position and must match in length, shapes, dtypes (floating) and devices.
// Runs under no_grad; the target tensors' versions are bumped.
void polyak_update(const std::vector<Var>& target, const std::vector<Var>& source, double tau);

}  // namespace gradlab::optim
