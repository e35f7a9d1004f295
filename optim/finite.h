// The guard every training loop runs before its backward pass: a loss that is
// NaN or infinite stops training at once with one clear line, instead of
// running on with NaN weights and writing them out as results.
//
//   check_finite_loss(loss, "PPO", iteration);   // before loss.backward()
#pragma once

#include <cstdint>
#include <string_view>

#include "autograd/var.h"

namespace gradlab::optim {

// Throws gradlab::Error "WHERE: the loss is nan at step N; lower the learning
// rate or check the inputs" when the scalar loss is not finite.
void check_finite_loss(const Var& loss, std::string_view where, int64_t step);

}  // namespace gradlab::optim
