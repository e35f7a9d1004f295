// Gradient clipping, in place on the parameters' gradients. Parameters without
// a gradient are skipped. clip_grad_norm rescales all gradients together by
// their total L2 norm; clip_grad_value clamps each element.
#pragma once

#include <vector>

#include "autograd/var.h"

namespace gradlab::optim {

// norm = sqrt(sum over every gradient element of g^2), computed in f64. If
// norm > max_norm (> 0), every gradient is scaled by max_norm / (norm + 1e-6).
// Returns the norm before clipping. A non-finite norm is returned and the
// gradients are left as they are (the caller decides to skip the step).
double clip_grad_norm(const std::vector<Var>& params, double max_norm);

// Clamps every gradient element to [-clip_value, clip_value] (clip_value > 0).
void clip_grad_value(const std::vector<Var>& params, double clip_value);

}  // namespace gradlab::optim
