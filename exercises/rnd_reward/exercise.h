// Exercise rnd_reward: Random Network Distillation's intrinsic reward.
#pragma once

#include "algorithms/rl/curiosity/rnd.h"

namespace gradlab::exercise {

// Per-row squared error between the predictor f^ = rnd.predictor and the
// frozen target f = rnd.target on already-normalised observations x [N, D]:
//   e_n = sum_k (f^(x_n)_k - f(x_n)_k)^2    ([N], summed over the F features)
// differentiable in the predictor's parameters only.
Var distillation_error(const rl::curiosity::RND& rnd, const Tensor& x);

}  // namespace gradlab::exercise
