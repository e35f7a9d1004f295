// Exercise adam_step: one Adam / AdamW update of one parameter tensor.
#pragma once

#include "tensor/optim_kernels.h"

namespace gradlab::exercise {

struct AdamState {
  Tensor param, m, v;  // after the step
};

// With t = h.step >= 1, bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, elementwise:
//   AdamW (h.decoupled): p <- p (1 - lr wd)      Adam (L2): g <- g + wd p
//   m <- beta1 m + (1 - beta1) g
//   v <- beta2 v + (1 - beta2) g^2
//   p <- p - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
// Returns new tensors; the inputs (f64, one shape) are left unchanged.
AdamState adam_step(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                    const AdamHyperparams& h);

}  // namespace gradlab::exercise
