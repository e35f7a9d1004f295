// Exercise layer_norm_backward: the gradients of layer normalisation.
#pragma once

#include "tensor/fused_layers.h"

namespace gradlab::exercise {

// y = xhat * weight + bias, xhat = (x - mean) * rstd over the last axis of x
// [rows, C] (f64). From dy (x's shape) and the forward's mean, rstd [rows]:
//   g = dy * weight (dy itself when weight is undefined)
//   dx = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
//   dweight = sum over rows of dy * xhat,   dbias = sum over rows of dy     ([C])
LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& rstd);

}  // namespace gradlab::exercise
