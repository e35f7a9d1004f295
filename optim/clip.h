// Gradient clipping, in place on the parameters' gradients. Parameters without
// a gradient are skipped. clip_grad_norm rescales all gradients together by
// their total L2 norm (clip_grad_norm_on_device likewise, without reading it
// back; clip_grad_norm_async picks one by device); clip_grad_value clamps
// each element.
#pragma once

#include <vector>

#include "autograd/var.h"

namespace gradlab::optim {

// norm = sqrt(sum over every gradient element of g^2), computed in f64. If
// norm > max_norm (> 0), every gradient is scaled by max_norm / (norm + 1e-6).
// Returns the norm before clipping. A non-finite norm is returned and the
// gradients are left as they are (the caller decides to skip the step).
double clip_grad_norm(const std::vector<Var>& params, double max_norm);

// clip_grad_norm without reading the norm back, for training loops on a
// device: the norm (f64, summed parameter by parameter in the same order)
// stays a 0-d tensor on the parameters' device, and every gradient is scaled
// by max_norm / (norm + 1e-6) where the norm is finite and above max_norm, by
// 1 elsewhere. The parameters must share one device. Returns the norm.
Tensor clip_grad_norm_on_device(const std::vector<Var>& params, double max_norm);

// For a training loop that runs on any device and does not read the norm:
// clip_grad_norm on the CPU (a read costs nothing there, and its numbers stay
// as they have always been), clip_grad_norm_on_device elsewhere.
void clip_grad_norm_async(const std::vector<Var>& params, double max_norm);

// Clamps every gradient element to [-clip_value, clip_value] (clip_value > 0).
void clip_grad_value(const std::vector<Var>& params, double clip_value);

}  // namespace gradlab::optim
