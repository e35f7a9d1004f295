// Tensor-level entries of the optimiser kernels: one fused Adam (or AdamW)
// step over a whole list of parameters, and the squared norm of a list of
// gradients, each checked here and dispatched once to the device's kernel.
// optim/adam.cpp calls adam_step_ once per step(), optim/clip.cpp sum_squares
// once per clip.
#pragma once

#include <span>

#include "tensor/backend.h"

namespace gradlab {

// For every i, on each element, with t = h.step and bc_k = 1 - beta_k^t:
//   AdamW (h.decoupled): p = p (1 - lr wd)        Adam: g = g + wd p
//   m = beta1 m + (1 - beta1) g
//   v = beta2 v + (1 - beta2) g^2
//   p = p - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
// params[i], m[i], v[i] are updated in place (their versions bumped) and must
// be contiguous; grads[i] may have any strides. All four of one shape, one
// floating dtype and one device; dtypes may differ between i. Checks
// 0 <= beta < 1, lr, eps, weight_decay >= 0, step >= 1.
void adam_step_(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
                std::span<const Tensor> v, const AdamHyperparams& h);

// sum over the list, in order, of sum(square(x.to(DType::f64))): an f64 0-d
// tensor on the tensors' device (the CPU for an empty list), the same bits as
// that composite (with 0 added first). The CPU reads each f32 tensor once, with
// no f64 copy. Tensors of any floating dtype and strides, on one device.
Tensor sum_squares(std::span<const Tensor> xs);

}  // namespace gradlab
